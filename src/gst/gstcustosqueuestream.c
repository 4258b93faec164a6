/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gst/base/base.h>

#include "gstcustosqueuestream.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_queue_stream_debug);
#define GST_CAT_DEFAULT gst_custos_queue_stream_debug

struct _GstCustosQueueStream
{
  GInputStream  parent_instance;

  GMutex        lock;
  GCond         cond;     /* data, room, EOS or flushing */
  GstAdapter   *adapter;
  gsize         max_bytes;
  gboolean      eos;
  gboolean      flushing;
};

G_DEFINE_FINAL_TYPE_WITH_CODE (GstCustosQueueStream, gst_custos_queue_stream, G_TYPE_INPUT_STREAM,
                               GST_DEBUG_CATEGORY_INIT (gst_custos_queue_stream_debug,
                                                        "custosqueuestream", 0,
                                                        "Custos push-mode input stream"))

static void
on_cancelled (GCancellable         *cancellable,
              GstCustosQueueStream *self)
{
  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* With the lock held: waits until there is something to read or a reason
 * to stop; FALSE with error set for the latter. */
static gboolean
wait_for_data (GstCustosQueueStream *self,
               GCancellable         *cancellable,
               GError              **error)
{
  while (gst_adapter_available (self->adapter) == 0 && !self->eos && !self->flushing &&
         !g_cancellable_is_cancelled (cancellable))
    g_cond_wait (&self->cond, &self->lock);
  if (self->flushing)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "flushing");
      return FALSE;
    }
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static gssize
gst_custos_queue_stream_read (GInputStream *stream,
                              void         *buffer,
                              gsize         count,
                              GCancellable *cancellable,
                              GError      **error)
{
  GstCustosQueueStream *self = GST_CUSTOS_QUEUE_STREAM (stream);
  gulong handler = 0;
  gssize n = -1;

  /* Connected outside the lock: the callback runs at once if already cancelled. */
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), self, NULL);
  g_mutex_lock (&self->lock);
  if (wait_for_data (self, cancellable, error))
    {
      n = MIN (count, gst_adapter_available (self->adapter));
      if (n > 0)
        {
          gst_adapter_copy (self->adapter, buffer, 0, n);
          gst_adapter_flush (self->adapter, n);
          g_cond_broadcast (&self->cond);
        }
    }
  g_mutex_unlock (&self->lock);
  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  return n;
}

static void
gst_custos_queue_stream_finalize (GObject *object)
{
  GstCustosQueueStream *self = GST_CUSTOS_QUEUE_STREAM (object);

  g_clear_object (&self->adapter);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_custos_queue_stream_parent_class)->finalize (object);
}

static void
gst_custos_queue_stream_class_init (GstCustosQueueStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_custos_queue_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = gst_custos_queue_stream_read;
}

static void
gst_custos_queue_stream_init (GstCustosQueueStream *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->adapter = gst_adapter_new ();
}

GstCustosQueueStream *
gst_custos_queue_stream_new (gsize max_bytes)
{
  GstCustosQueueStream *self = g_object_new (GST_TYPE_CUSTOS_QUEUE_STREAM, NULL);

  self->max_bytes = max_bytes;
  return self;
}

GstFlowReturn
gst_custos_queue_stream_push (GstCustosQueueStream *self,
                              GstBuffer            *buffer)
{
  GstFlowReturn flow = GST_FLOW_OK;

  g_return_val_if_fail (GST_IS_CUSTOS_QUEUE_STREAM (self), GST_FLOW_ERROR);

  g_mutex_lock (&self->lock);
  /* Backpressure: the reader is slower than the network only for a while. */
  while (gst_adapter_available (self->adapter) > self->max_bytes && !self->flushing)
    g_cond_wait (&self->cond, &self->lock);
  if (self->flushing)
    flow = GST_FLOW_FLUSHING;
  else if (self->eos)
    flow = GST_FLOW_EOS;
  if (flow == GST_FLOW_OK)
    {
      gst_adapter_push (self->adapter, buffer);
      g_cond_broadcast (&self->cond);
    }
  else
    gst_buffer_unref (buffer);
  g_mutex_unlock (&self->lock);
  return flow;
}

void
gst_custos_queue_stream_push_eos (GstCustosQueueStream *self)
{
  g_return_if_fail (GST_IS_CUSTOS_QUEUE_STREAM (self));

  g_mutex_lock (&self->lock);
  self->eos = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
gst_custos_queue_stream_set_flushing (GstCustosQueueStream *self,
                                      gboolean              flushing)
{
  g_return_if_fail (GST_IS_CUSTOS_QUEUE_STREAM (self));

  g_mutex_lock (&self->lock);
  self->flushing = flushing;
  gst_adapter_clear (self->adapter);
  self->eos = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}
