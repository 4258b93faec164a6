/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosVideoSink ("custosvideosink"): decoded video frames into a
 * CustosVideoPaintable, since Debian 12 has no gtk4paintablesink.
 *
 *   ... ! avdec_h264 ! videoconvert ! custosvideosink
 *
 * It takes video/x-raw in RGBA or BGRA (custos_video_sink_bin_new() puts a
 * videoconvert in front for anything else). Each frame becomes a
 * GdkMemoryTexture that shares the buffer's memory; the streaming thread
 * only keeps the newest frame and schedules an idle on the default main
 * context, where the paintable is updated: GTK is never touched from a
 * streaming thread, and a slow main loop drops frames instead of queueing
 * them. Timing is the base sink's (sync to the clock).
 */
#pragma once

#include <gst/video/gstvideosink.h>

#include "custos-video-paintable.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_VIDEO_SINK (custos_video_sink_get_type ())

G_DECLARE_FINAL_TYPE (CustosVideoSink, custos_video_sink, CUSTOS, VIDEO_SINK, GstVideoSink)

/* Makes "custosvideosink" known to gst_element_factory_make() and
 * gst_parse_launch(); call after gst_init(). */
gboolean              custos_video_sink_register      (void);
GstElement           *custos_video_sink_new           (void);
/* The "paintable" property: use it on the main thread. */
CustosVideoPaintable *custos_video_sink_get_paintable (CustosVideoSink  *self);
/* videoconvert ! custosvideosink in a bin with one sink pad: any raw
 * video in. sink (optional) gets the sink inside, owned by the bin. */
GstElement           *custos_video_sink_bin_new       (CustosVideoSink **sink);

G_END_DECLS
