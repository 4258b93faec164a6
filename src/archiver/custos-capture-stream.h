/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCaptureStream: the output stream a camera's CustosWriter writes
 * to. It only collects the bytes; after each packet the camera takes
 * them (whole records, since the writer writes whole records) and sends
 * them to the segment file and to live clients. Not thread-safe: the
 * writer and the taker are the camera's recording thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_CAPTURE_STREAM (custos_capture_stream_get_type ())

G_DECLARE_FINAL_TYPE (CustosCaptureStream, custos_capture_stream, CUSTOS, CAPTURE_STREAM,
                      GOutputStream)

GOutputStream *custos_capture_stream_new  (void);
/* What was written since the last call; NULL when nothing was. */
GBytes        *custos_capture_stream_take (CustosCaptureStream *self);

G_END_DECLS
