/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include "custos-capture-stream.h"

struct _CustosCaptureStream
{
  GOutputStream  parent_instance;
  GByteArray    *buffer;
};

G_DEFINE_FINAL_TYPE (CustosCaptureStream, custos_capture_stream, G_TYPE_OUTPUT_STREAM)

static gssize
custos_capture_stream_write (GOutputStream  *stream,
                             const void     *data,
                             gsize           count,
                             GCancellable   *cancellable,
                             GError        **error)
{
  CustosCaptureStream *self = CUSTOS_CAPTURE_STREAM (stream);

  g_byte_array_append (self->buffer, data, count);
  return (gssize) count;
}

static void
custos_capture_stream_finalize (GObject *object)
{
  CustosCaptureStream *self = CUSTOS_CAPTURE_STREAM (object);

  g_clear_pointer (&self->buffer, g_byte_array_unref);
  G_OBJECT_CLASS (custos_capture_stream_parent_class)->finalize (object);
}

static void
custos_capture_stream_class_init (CustosCaptureStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_capture_stream_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = custos_capture_stream_write;
}

static void
custos_capture_stream_init (CustosCaptureStream *self)
{
  self->buffer = g_byte_array_new ();
}

GOutputStream *
custos_capture_stream_new (void)
{
  return g_object_new (CUSTOS_TYPE_CAPTURE_STREAM, NULL);
}

GBytes *
custos_capture_stream_take (CustosCaptureStream *self)
{
  GByteArray *full;

  g_return_val_if_fail (CUSTOS_IS_CAPTURE_STREAM (self), NULL);

  if (self->buffer->len == 0)
    return NULL;
  full = g_steal_pointer (&self->buffer);
  self->buffer = g_byte_array_sized_new (MIN (full->len, 256 * 1024));
  return g_byte_array_free_to_bytes (full);
}
