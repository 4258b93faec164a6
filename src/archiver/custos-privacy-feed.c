/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-privacy-feed.h"

struct _CustosPrivacyFeed
{
  GInputStream parent_instance;

  GMutex   lock;
  GCond    cond;
  GQueue   queue;  /* GBytes */
  gsize    offset; /* into the head of the queue */
  gsize    queued;
  gsize    max_queue;
  guint64  bytes; /* pushed in all */
  gint64   last_push_us; /* monotonic: when bytes last came (or the start) */
  gboolean ended;
  char    *problem; /* aborted, and why */
};

G_DEFINE_FINAL_TYPE (CustosPrivacyFeed, custos_privacy_feed, G_TYPE_INPUT_STREAM)

static gssize
custos_privacy_feed_read (GInputStream *stream, void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
  CustosPrivacyFeed *self = CUSTOS_PRIVACY_FEED (stream);
  gsize              done = 0;

  g_mutex_lock (&self->lock);
  while (self->problem == NULL && !self->ended && self->queued == 0 &&
         !g_cancellable_is_cancelled (cancellable))
    g_cond_wait (&self->cond, &self->lock);
  if (self->problem != NULL || g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           self->problem ? self->problem : _ ("the upload was cancelled"));
      g_mutex_unlock (&self->lock);
      return -1;
    }
  while (done < count && self->queued > 0)
    {
      GBytes       *head = g_queue_peek_head (&self->queue);
      gsize         len;
      const guint8 *data = g_bytes_get_data (head, &len);
      gsize         n = MIN (count - done, len - self->offset);

      memcpy ((guint8 *) buffer + done, data + self->offset, n);
      done += n;
      self->offset += n;
      self->queued -= n;
      if (self->offset == len)
        {
          g_bytes_unref (g_queue_pop_head (&self->queue));
          self->offset = 0;
        }
    }
  g_mutex_unlock (&self->lock);
  return (gssize) done;
}

static gboolean
custos_privacy_feed_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
custos_privacy_feed_finalize (GObject *object)
{
  CustosPrivacyFeed *self = CUSTOS_PRIVACY_FEED (object);

  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  g_free (self->problem);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (custos_privacy_feed_parent_class)->finalize (object);
}

static void
custos_privacy_feed_class_init (CustosPrivacyFeedClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = custos_privacy_feed_finalize;
  stream_class->read_fn = custos_privacy_feed_read;
  stream_class->close_fn = custos_privacy_feed_close;
}

static void
custos_privacy_feed_init (CustosPrivacyFeed *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

CustosPrivacyFeed *
custos_privacy_feed_new (gsize max_queue)
{
  CustosPrivacyFeed *self = g_object_new (CUSTOS_TYPE_PRIVACY_FEED, NULL);

  self->max_queue = max_queue;
  self->last_push_us = g_get_monotonic_time ();
  return self;
}

gboolean
custos_privacy_feed_push (CustosPrivacyFeed *self, GBytes *bytes)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  if (self->problem == NULL && !self->ended &&
      self->queued + g_bytes_get_size (bytes) > self->max_queue)
    self->problem = g_strdup_printf (_ ("the privacy protector sent more than %zu KiB ahead of "
                                        "what the archiver could store"),
                                     self->max_queue / 1024);
  ok = self->problem == NULL && !self->ended;
  if (ok && g_bytes_get_size (bytes) > 0)
    {
      g_queue_push_tail (&self->queue, g_bytes_ref (bytes));
      self->queued += g_bytes_get_size (bytes);
      self->bytes += g_bytes_get_size (bytes);
      self->last_push_us = g_get_monotonic_time ();
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return ok;
}

void
custos_privacy_feed_end (CustosPrivacyFeed *self)
{
  g_mutex_lock (&self->lock);
  self->ended = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
custos_privacy_feed_abort (CustosPrivacyFeed *self, const char *reason)
{
  g_mutex_lock (&self->lock);
  /* A complete body is read to its end, whatever happens after. */
  if (self->problem == NULL && !self->ended)
    self->problem = g_strdup (reason);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

char *
custos_privacy_feed_dup_problem (CustosPrivacyFeed *self)
{
  char *problem;

  g_mutex_lock (&self->lock);
  problem = g_strdup (self->problem);
  g_mutex_unlock (&self->lock);
  return problem;
}

guint64
custos_privacy_feed_get_bytes (CustosPrivacyFeed *self)
{
  guint64 bytes;

  g_mutex_lock (&self->lock);
  bytes = self->bytes;
  g_mutex_unlock (&self->lock);
  return bytes;
}

gint64
custos_privacy_feed_get_silence_us (CustosPrivacyFeed *self)
{
  gint64 since;

  g_mutex_lock (&self->lock);
  since = g_get_monotonic_time () - self->last_push_us;
  g_mutex_unlock (&self->lock);
  return since;
}
