/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "gstcustospullstream.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_pull_stream_debug);
#define GST_CAT_DEFAULT gst_custos_pull_stream_debug

/* A pull larger than this is split: filesrc allocates what is asked. */
#define MAX_PULL (1024 * 1024)

struct _GstCustosPullStream
{
  GInputStream  parent_instance;

  GstPad       *sinkpad;
  guint64       offset;
  GstFlowReturn flow;
};

static void gst_custos_pull_stream_seekable_init (GSeekableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GstCustosPullStream, gst_custos_pull_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_SEEKABLE,
                                                      gst_custos_pull_stream_seekable_init)
                               GST_DEBUG_CATEGORY_INIT (gst_custos_pull_stream_debug,
                                                        "custospullstream", 0,
                                                        "Custos pull-mode input stream"))

static void
set_flow_error (GstCustosPullStream *self,
                GstFlowReturn        flow,
                GError             **error)
{
  self->flow = flow;
  /* Flushing is how a seek or a state change interrupts the reader. */
  if (flow == GST_FLOW_FLUSHING)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "flushing");
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("reading from upstream failed: %s"),
                 gst_flow_get_name (flow));
}

static gssize
gst_custos_pull_stream_read (GInputStream *stream,
                             void         *buffer,
                             gsize         count,
                             GCancellable *cancellable,
                             GError      **error)
{
  GstCustosPullStream *self = GST_CUSTOS_PULL_STREAM (stream);
  g_autoptr (GstBuffer) buf = NULL;
  GstFlowReturn flow;
  gsize n;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  if (count == 0)
    return 0;
  flow = gst_pad_pull_range (self->sinkpad, self->offset, MIN (count, MAX_PULL), &buf);
  if (flow == GST_FLOW_EOS)
    return 0;
  if (flow != GST_FLOW_OK)
    {
      set_flow_error (self, flow, error);
      return -1;
    }
  n = gst_buffer_extract (buf, 0, buffer, MIN (count, gst_buffer_get_size (buf)));
  self->offset += n;
  return n;
}

static void
gst_custos_pull_stream_dispose (GObject *object)
{
  GstCustosPullStream *self = GST_CUSTOS_PULL_STREAM (object);

  gst_clear_object (&self->sinkpad);
  G_OBJECT_CLASS (gst_custos_pull_stream_parent_class)->dispose (object);
}

static void
gst_custos_pull_stream_class_init (GstCustosPullStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = gst_custos_pull_stream_dispose;
  G_INPUT_STREAM_CLASS (klass)->read_fn = gst_custos_pull_stream_read;
}

static void
gst_custos_pull_stream_init (GstCustosPullStream *self)
{
  self->flow = GST_FLOW_OK;
}

/* GSeekable */

static goffset
gst_custos_pull_stream_tell (GSeekable *seekable)
{
  return GST_CUSTOS_PULL_STREAM (seekable)->offset;
}

static gboolean
gst_custos_pull_stream_can_seek (GSeekable *seekable)
{
  return TRUE;
}

static gboolean
get_size (GstCustosPullStream *self,
          gint64              *size,
          GError             **error)
{
  if (gst_pad_peer_query_duration (self->sinkpad, GST_FORMAT_BYTES, size) && *size >= 0)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _ ("upstream does not know its size"));
  return FALSE;
}

static gboolean
gst_custos_pull_stream_seek (GSeekable    *seekable,
                             goffset       offset,
                             GSeekType     type,
                             GCancellable *cancellable,
                             GError      **error)
{
  GstCustosPullStream *self = GST_CUSTOS_PULL_STREAM (seekable);
  gint64 base = 0;

  switch (type)
    {
    case G_SEEK_CUR:
      base = self->offset;
      break;
    case G_SEEK_END:
      if (!get_size (self, &base, error))
        return FALSE;
      break;
    case G_SEEK_SET:
    default:
      break;
    }
  if (base + offset < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("seek before the start of the data"));
      return FALSE;
    }
  self->offset = base + offset;
  return TRUE;
}

static gboolean
gst_custos_pull_stream_can_truncate (GSeekable *seekable)
{
  return FALSE;
}

static gboolean
gst_custos_pull_stream_truncate (GSeekable    *seekable,
                                 goffset       offset,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _ ("cannot truncate an input"));
  return FALSE;
}

static void
gst_custos_pull_stream_seekable_init (GSeekableIface *iface)
{
  iface->tell = gst_custos_pull_stream_tell;
  iface->can_seek = gst_custos_pull_stream_can_seek;
  iface->seek = gst_custos_pull_stream_seek;
  iface->can_truncate = gst_custos_pull_stream_can_truncate;
  iface->truncate_fn = gst_custos_pull_stream_truncate;
}

/* API */

GInputStream *
gst_custos_pull_stream_new (GstPad *sinkpad)
{
  GstCustosPullStream *self;

  g_return_val_if_fail (GST_IS_PAD (sinkpad), NULL);

  self = g_object_new (GST_TYPE_CUSTOS_PULL_STREAM, NULL);
  self->sinkpad = gst_object_ref (sinkpad);
  return G_INPUT_STREAM (self);
}

GstFlowReturn
gst_custos_pull_stream_get_flow (GstCustosPullStream *self)
{
  g_return_val_if_fail (GST_IS_CUSTOS_PULL_STREAM (self), GST_FLOW_ERROR);
  return self->flow;
}
