/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "gstcustoswritestream.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_write_stream_debug);
#define GST_CAT_DEFAULT gst_custos_write_stream_debug

struct _GstCustosWriteStream
{
  GOutputStream      parent_instance;

  GstCustosWriteFunc func;
  gpointer           user_data;
  GByteArray        *pending;
  guint64            offset;   /* of the first pending byte */
  GstFlowReturn      flow;
};

G_DEFINE_FINAL_TYPE_WITH_CODE (GstCustosWriteStream, gst_custos_write_stream, G_TYPE_OUTPUT_STREAM,
                               GST_DEBUG_CATEGORY_INIT (gst_custos_write_stream_debug,
                                                        "custoswritestream", 0,
                                                        "Custos output stream"))

static gboolean
check_flow (GstCustosWriteStream *self,
            GError              **error)
{
  if (self->flow == GST_FLOW_OK)
    return TRUE;
  g_set_error (error, G_IO_ERROR, self->flow == GST_FLOW_FLUSHING ? G_IO_ERROR_CANCELLED
                                                                  : G_IO_ERROR_BROKEN_PIPE,
               _ ("downstream refused the data: %s"), gst_flow_get_name (self->flow));
  return FALSE;
}

static gssize
gst_custos_write_stream_write (GOutputStream *stream,
                               const void    *buffer,
                               gsize          count,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GstCustosWriteStream *self = GST_CUSTOS_WRITE_STREAM (stream);

  if (!check_flow (self, error))
    return -1;
  g_byte_array_append (self->pending, buffer, count);
  return count;
}

static gboolean
gst_custos_write_stream_flush (GOutputStream *stream,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GstCustosWriteStream *self = GST_CUSTOS_WRITE_STREAM (stream);
  g_autoptr (GBytes) bytes = NULL;
  GstBuffer *buffer;
  gsize len = self->pending->len;

  if (!check_flow (self, error))
    return FALSE;
  if (len == 0)
    return TRUE;
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&self->pending));
  self->pending = g_byte_array_new ();
  buffer = gst_buffer_new_wrapped_bytes (bytes);
  GST_BUFFER_OFFSET (buffer) = self->offset;
  GST_BUFFER_OFFSET_END (buffer) = self->offset + len;
  self->offset += len;
  self->flow = self->func (buffer, self->user_data);
  return check_flow (self, error);
}

static gboolean
gst_custos_write_stream_close (GOutputStream *stream,
                               GCancellable  *cancellable,
                               GError       **error)
{
  return gst_custos_write_stream_flush (stream, cancellable, error);
}

static void
gst_custos_write_stream_finalize (GObject *object)
{
  GstCustosWriteStream *self = GST_CUSTOS_WRITE_STREAM (object);

  g_clear_pointer (&self->pending, g_byte_array_unref);
  G_OBJECT_CLASS (gst_custos_write_stream_parent_class)->finalize (object);
}

static void
gst_custos_write_stream_class_init (GstCustosWriteStreamClass *klass)
{
  GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = gst_custos_write_stream_finalize;
  stream_class->write_fn = gst_custos_write_stream_write;
  stream_class->flush = gst_custos_write_stream_flush;
  stream_class->close_fn = gst_custos_write_stream_close;
}

static void
gst_custos_write_stream_init (GstCustosWriteStream *self)
{
  self->pending = g_byte_array_new ();
  self->flow = GST_FLOW_OK;
}

GOutputStream *
gst_custos_write_stream_new (GstCustosWriteFunc func,
                             gpointer           user_data)
{
  GstCustosWriteStream *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (GST_TYPE_CUSTOS_WRITE_STREAM, NULL);
  self->func = func;
  self->user_data = user_data;
  return G_OUTPUT_STREAM (self);
}

GstFlowReturn
gst_custos_write_stream_get_flow (GstCustosWriteStream *self)
{
  g_return_val_if_fail (GST_IS_CUSTOS_WRITE_STREAM (self), GST_FLOW_ERROR);
  return self->flow;
}
