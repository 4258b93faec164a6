/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstCustosPullStream: a seekable GInputStream that reads by pulling
 * ranges from a sink pad in pull mode, so that CustosReader can seek
 * through a file's index while an element drives it.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CUSTOS_PULL_STREAM (gst_custos_pull_stream_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosPullStream, gst_custos_pull_stream, GST, CUSTOS_PULL_STREAM,
                      GInputStream)

GInputStream  *gst_custos_pull_stream_new      (GstPad              *sinkpad);
/* The flow return of the last pull that failed (GST_FLOW_OK if none). */
GstFlowReturn  gst_custos_pull_stream_get_flow (GstCustosPullStream *self);

G_END_DECLS
