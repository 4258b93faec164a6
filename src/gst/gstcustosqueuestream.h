/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstCustosQueueStream: a blocking GInputStream over a bounded queue of
 * buffers. A push-mode element feeds it from chain() while CustosReader
 * reads from it in the element's own streaming task; reads wait for data,
 * pushes wait for room, and flushing wakes both.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CUSTOS_QUEUE_STREAM (gst_custos_queue_stream_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosQueueStream, gst_custos_queue_stream, GST, CUSTOS_QUEUE_STREAM,
                      GInputStream)

/* max_bytes: pushes block while more than this waits to be read. */
GstCustosQueueStream *gst_custos_queue_stream_new          (gsize                 max_bytes);
/* Takes the buffer; GST_FLOW_FLUSHING while flushing, GST_FLOW_EOS after
 * the end was pushed. */
GstFlowReturn         gst_custos_queue_stream_push         (GstCustosQueueStream *self,
                                                            GstBuffer            *buffer);
/* Reads return 0 once the queued data is consumed. */
void                  gst_custos_queue_stream_push_eos     (GstCustosQueueStream *self);
/* Flushing drops what is queued and makes reads fail with
 * G_IO_ERROR_CANCELLED; clearing it starts afresh (no data, no EOS). */
void                  gst_custos_queue_stream_set_flushing (GstCustosQueueStream *self,
                                                            gboolean              flushing);

G_END_DECLS
