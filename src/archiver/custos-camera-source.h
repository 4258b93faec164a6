/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCameraSource: the GStreamer half of a camera. It builds one
 * pipeline from the camera's configuration, ending in one appsink per
 * elementary stream (video always; audio and metadata where the source
 * has them), and hands out encoded packets with UTC timestamps.
 *
 * Video is H.264 byte-stream in access units with SPS/PPS at every
 * keyframe (h264parse config-interval=-1), so every file and every
 * segment decodes on its own: either the source's own H.264 passed
 * through, or raw video encoded with x264enc tune=zerolatency at the
 * configured frame rate and keyframe interval. Audio is passed through
 * or encoded to Opus; metadata is passed through.
 *
 * One video packet is one picture: a unit that starts with a slice other
 * than its picture's first (some RTSP servers repeat SPS/PPS before every
 * IDR slice, which makes h264parse cut the picture in two) is joined to
 * the one before it. Each video unit is therefore handed out once the
 * next has come: one frame of latency.
 *
 * Timestamps: the UTC of running time 0 is taken from the wall clock and
 * the pipeline clock when the first packet arrives; a packet's UTC is
 * that plus its running time, so all streams share one clock.
 *
 * Not thread-safe; the camera's recording thread drives it. The wake
 * function is called from streaming threads whenever a packet is ready.
 */
#pragma once

#include <gst/gst.h>

#include "custos-format.h"

G_BEGIN_DECLS

typedef struct
{
  const char *source;       /* gst-launch description of the video source */
  const char *uri;          /* or a URI (rtsp://, file://, http://) */
  const char *audio;        /* gst-launch description of an audio source, or NULL */
  const char *metadata;     /* gst-launch description producing metadata, or NULL */
  gboolean    encode;       /* encode to H.264 (and Opus) instead of passing through */
  guint       framerate;    /* when encoding */
  guint       width;        /* when encoding; 0 keeps the source's size */
  guint       height;
  guint       bitrate_kbps;
  guint       keyframe_ms;  /* keyframe interval when encoding */
} CustosSourceSpec;

typedef struct
{
  CustosStreamKind kind;
  char            *caps;
  const char      *name;
} CustosSourceStream;

typedef struct
{
  guint      stream;        /* index into the streams array */
  gint64     pts_us;        /* UTC */
  gint64     dts_us;
  gboolean   keyframe;
  GstSample *sample;        /* owned */
} CustosSourcePacket;

typedef void (*CustosSourceWakeFunc) (gpointer user_data);

typedef struct _CustosCameraSource CustosCameraSource;

/* The pipeline description a spec makes (for logs and tests). */
char               *custos_camera_source_describe (const CustosSourceSpec *spec);
CustosCameraSource *custos_camera_source_new      (const CustosSourceSpec *spec,
                                                   CustosSourceWakeFunc    wake,
                                                   gpointer                wake_data,
                                                   GError                **error);
void                custos_camera_source_free     (CustosCameraSource     *self);
gboolean            custos_camera_source_play     (CustosCameraSource     *self,
                                                   GError                **error);
/* Pulls the first packets. TRUE once the streams are known: the video's
 * first keyframe has come, and every other configured stream has sent a
 * packet or has had settle_us to do so. FALSE (error unset) to call again
 * after the next wake; FALSE with error on a pipeline error. */
gboolean            custos_camera_source_probe    (CustosCameraSource     *self,
                                                   gint64                  settle_us,
                                                   GError                **error);
/* CustosSourceStream of the recorded streams, video first. */
GPtrArray          *custos_camera_source_get_streams (CustosCameraSource  *self);
/* The next packet without waiting: FALSE when none is ready (error
 * unset) or on an error or the end of the source (error set). */
gboolean            custos_camera_source_pull     (CustosCameraSource     *self,
                                                   CustosSourcePacket     *packet,
                                                   GError                **error);
void                custos_source_packet_clear    (CustosSourcePacket     *packet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosCameraSource, custos_camera_source_free)

G_END_DECLS
