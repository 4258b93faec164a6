/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstCustosWriteStream: a GOutputStream that turns what CustosWriter
 * writes into GstBuffers. Writes are collected; each flush hands them to
 * the element as one buffer, so a packet and the key records before it
 * leave together.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CUSTOS_WRITE_STREAM (gst_custos_write_stream_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosWriteStream, gst_custos_write_stream, GST, CUSTOS_WRITE_STREAM,
                      GOutputStream)

/* Takes the buffer (its OFFSET and OFFSET_END are set). */
typedef GstFlowReturn (*GstCustosWriteFunc) (GstBuffer *buffer,
                                             gpointer   user_data);

GOutputStream *gst_custos_write_stream_new      (GstCustosWriteFunc    func,
                                                 gpointer              user_data);
/* The flow return of the last buffer handed on that failed (GST_FLOW_OK if none). */
GstFlowReturn  gst_custos_write_stream_get_flow (GstCustosWriteStream *self);

G_END_DECLS
