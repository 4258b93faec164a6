/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos-archiver-client.h"
#include "custos-archiver-util.h"
#include "custos-record-filter.h"
#include "custos-segment-map.h"
#include "custos-stream-response.h"

#define CONTENT_TYPE "application/x-custos-fusion"
#define READ_CHUNK   (256 * 1024)
/* Bytes handed to libsoup and not yet written to the client. */
#define HIGH_WATER   (512 * 1024)

typedef struct
{
  int     fd;
  guint64 pos;
  guint64 end;
} Piece;

struct _CustosStreamResponse
{
  GObject                  parent_instance;

  CustosCamera            *camera;
  CustosStorage           *storage;
  gint64                   from_us;
  gint64                   to_us;
  gboolean                 live;
  gsize                    max_queue;
  CustosRecordFilter      *filter;
  GMainContext            *context;

  GArray                  *pieces;      /* Piece */
  guint                    piece;       /* the one being read */
  gboolean                 filling;     /* a read runs in a thread */

  SoupServerMessage       *msg;
  CustosStreamResponseDone done;
  gpointer                 done_data;
  GQueue                   in_flight;   /* sizes of chunks libsoup has not written */
  gsize                    outstanding;
  gint64                   last_progress;
  gint64                   last_data;     /* for live: when records last came */
  gint64                   live_edge_us;  /* for live: the backlog's newest packet */
  guint64                  bytes_sent;
  gboolean                 ended;
  gboolean                 finished;

  /* Live: filled by the camera's recording thread. */
  GMutex                   lock;
  guint                    subscription;
  GQueue                   queue;       /* GBytes */
  gsize                    queued;
  gboolean                 overflow;
  gboolean                 wake_pending;
};

G_DEFINE_FINAL_TYPE (CustosStreamResponse, custos_stream_response, G_TYPE_OBJECT)
G_DEFINE_QUARK (custos-stream-response-error-quark, custos_stream_response_error)

static void produce (CustosStreamResponse *self);

static void
close_pieces (CustosStreamResponse *self)
{
  for (guint i = 0; i < self->pieces->len; i++)
    {
      Piece *p = &g_array_index (self->pieces, Piece, i);

      if (p->fd >= 0)
        close (p->fd);
      p->fd = -1;
    }
  self->piece = self->pieces->len;
}

static void
unsubscribe (CustosStreamResponse *self)
{
  if (self->subscription != 0)
    custos_camera_unsubscribe (self->camera, self->subscription);
  self->subscription = 0;
}

static void
custos_stream_response_finalize (GObject *object)
{
  CustosStreamResponse *self = CUSTOS_STREAM_RESPONSE (object);

  unsubscribe (self);
  close_pieces (self);
  g_array_unref (self->pieces);
  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  g_queue_clear (&self->in_flight);
  g_clear_pointer (&self->filter, custos_record_filter_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->msg);
  g_clear_object (&self->camera);
  g_clear_object (&self->storage);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (custos_stream_response_parent_class)->finalize (object);
}

static void
custos_stream_response_class_init (CustosStreamResponseClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_stream_response_finalize;
}

static void
custos_stream_response_init (CustosStreamResponse *self)
{
  g_mutex_init (&self->lock);
  self->pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
  self->context = g_main_context_ref_thread_default ();
}

CustosStreamResponse *
custos_stream_response_new_range (CustosCamera  *camera,
                                  CustosStorage *storage,
                                  gint64         from_us,
                                  gint64         to_us,
                                  const guint8  *recipient_id)
{
  CustosStreamResponse *self = g_object_new (CUSTOS_TYPE_STREAM_RESPONSE, NULL);

  self->camera = g_object_ref (camera);
  self->storage = g_object_ref (storage);
  self->from_us = from_us;
  self->to_us = to_us;
  self->filter = custos_record_filter_new (recipient_id);
  return self;
}

CustosStreamResponse *
custos_stream_response_new_live (CustosCamera *camera,
                                 const guint8 *recipient_id,
                                 gsize         max_queue)
{
  CustosStreamResponse *self = g_object_new (CUSTOS_TYPE_STREAM_RESPONSE, NULL);

  self->camera = g_object_ref (camera);
  self->live = TRUE;
  self->max_queue = max_queue;
  self->filter = custos_record_filter_new (recipient_id);
  return self;
}

guint64
custos_stream_response_get_bytes_sent (CustosStreamResponse *self)
{
  return self->bytes_sent;
}

/* Planning a range (in a thread) */

static gboolean
same_file (int a,
           int b)
{
  struct stat sa, sb;

  return a >= 0 && b >= 0 && fstat (a, &sa) == 0 && fstat (b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Adds the spans of one file that the range needs; takes the descriptor. */
static void
plan_file (CustosStreamResponse *self,
           int                   fd,
           GArray               *spans)
{
  gboolean first_file = self->pieces->len == 0;
  guint a, b;

  if (spans == NULL ||
      !custos_segment_map_select (spans, self->from_us, self->to_us, !first_file, &a, &b))
    {
      close (fd);
      return;
    }
  {
    Piece piece = { fd, g_array_index (spans, CustosSegmentSpan, a).start,
                    g_array_index (spans, CustosSegmentSpan, b).end };

    g_array_append_val (self->pieces, piece);
  }
}

static void
plan_finished_file (CustosStreamResponse    *self,
                    const CustosSegmentInfo *info,
                    int                      current_fd)
{
  g_autoptr (GArray) spans = NULL;
  g_autoptr (GError) error = NULL;
  int fd;

  if (info->last_us < self->from_us || info->first_us > self->to_us)
    return;
  /* Retention may remove it meanwhile: once open, it stays readable. */
  if ((fd = g_open (info->path, O_RDONLY | O_CLOEXEC, 0)) < 0)
    return;
  /* Finished while we looked: it is also the open file we hold. */
  if (same_file (fd, current_fd))
    {
      close (fd);
      return;
    }
  spans = custos_segment_map_read (fd, &error);
  if (spans == NULL)
    g_warning (_("Cannot read %s: %s"), info->path, error->message);
  plan_file (self, fd, spans);
}

static void
plan_range (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  CustosStreamResponse *self = source_object;
  g_autoptr (GPtrArray) files = NULL;
  guint64 current_size = 0;
  int current_fd;

  /* The open file first: a file finished after this shows in both. */
  current_fd = custos_camera_open_current (self->camera, &current_size);
  files = custos_storage_dup_segments (self->storage, custos_camera_get_id (self->camera));
  for (guint i = 0; i < files->len; i++)
    plan_finished_file (self, files->pdata[i], current_fd);
  if (current_fd >= 0)
    {
      g_autoptr (GArray) spans = custos_segment_map_scan (current_fd, current_size, NULL, NULL);

      plan_file (self, current_fd, spans);
    }
  if (self->pieces->len == 0)
    {
      g_task_return_new_error (task, CUSTOS_STREAM_RESPONSE_ERROR,
                               CUSTOS_STREAM_RESPONSE_ERROR_NO_DATA,
                               _("nothing is recorded in this range"));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Live */

static gboolean
wake_from_camera (gpointer user_data)
{
  CustosStreamResponse *self = user_data;

  g_mutex_lock (&self->lock);
  self->wake_pending = FALSE;
  g_mutex_unlock (&self->lock);
  produce (self);
  return G_SOURCE_REMOVE;
}

/* The camera's recording thread: queue, and wake the main loop once. */
static void
on_live_records (GBytes   *records,
                 gpointer  user_data)
{
  CustosStreamResponse *self = user_data;
  gboolean wake;

  g_mutex_lock (&self->lock);
  if (!self->overflow)
    {
      g_queue_push_tail (&self->queue, g_bytes_ref (records));
      self->queued += g_bytes_get_size (records);
      self->overflow = self->queued > self->max_queue;
    }
  wake = !self->wake_pending;
  self->wake_pending = TRUE;
  g_mutex_unlock (&self->lock);
  if (wake)
    {
      g_autoptr (GSource) source = g_idle_source_new ();

      g_source_set_callback (source, wake_from_camera, g_object_ref (self), g_object_unref);
      g_source_attach (source, self->context);
    }
}

static void
subscribe (CustosStreamResponse *self)
{
  Piece backlog = { -1, 0, 0 };

  self->subscription = custos_camera_subscribe (self->camera, on_live_records, self,
                                                &backlog.fd, &backlog.pos, &backlog.end,
                                                &self->live_edge_us);
  if (backlog.fd >= 0)
    g_array_append_val (self->pieces, backlog);
}

void
custos_stream_response_prepare_async (CustosStreamResponse *self,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, custos_stream_response_prepare_async);
  if (self->live)
    {
      subscribe (self);
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_run_in_thread (task, plan_range);
}

gboolean
custos_stream_response_prepare_finish (CustosStreamResponse  *self,
                                       GAsyncResult          *result,
                                       GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Reading files (in a thread) */

static gssize
read_at (int      fd,
         guint8  *buf,
         gsize    len,
         guint64  offset)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = pread (fd, buf + done, len - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -1 : (gssize) done;
      done += n;
    }
  return (gssize) done;
}

/* The next filtered chunk of the current piece: whole records only. */
static GBytes *
read_piece (CustosStreamResponse  *self,
            Piece                 *piece,
            GError               **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize want = MIN (READ_CHUNK, piece->end - piece->pos);

  while (out->len == 0 && piece->pos < piece->end)
    {
      g_autofree guint8 *buf = g_malloc (want);
      gssize got = read_at (piece->fd, buf, want, piece->pos);
      gssize used;
      gsize need = 0;

      if (got <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                       got < 0 ? g_strerror (errno) : "the file is shorter than its index says");
          return NULL;
        }
      used = custos_record_filter_apply (self->filter, buf, got, out, &need, error);
      if (used < 0)
        return NULL;
      if (used == 0 && (need <= (gsize) got || piece->pos + need > piece->end))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "a record runs past the end of its segment");
          return NULL;
        }
      piece->pos += used;
      /* A record bigger than the buffer: read it whole next time. */
      want = used == 0 ? need : MIN (READ_CHUNK, piece->end - piece->pos);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
fill_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  CustosStreamResponse *self = source_object;
  Piece *piece = &g_array_index (self->pieces, Piece, self->piece);
  GError *error = NULL;
  GBytes *bytes = read_piece (self, piece, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/* Writing to the client (main thread) */

static void
append (CustosStreamResponse *self,
        GBytes               *bytes)
{
  gsize len = g_bytes_get_size (bytes);

  if (len == 0 || self->ended || self->msg == NULL)
    return;
  soup_message_body_append_bytes (soup_server_message_get_response_body (self->msg), bytes);
  g_queue_push_tail (&self->in_flight, GSIZE_TO_POINTER (len));
  self->outstanding += len;
  self->last_data = g_get_monotonic_time ();
  self->bytes_sent += len;
  soup_server_message_unpause (self->msg);
}

static void
end_body (CustosStreamResponse *self)
{
  if (self->ended || self->msg == NULL)
    return;
  self->ended = TRUE;
  soup_message_body_complete (soup_server_message_get_response_body (self->msg));
  soup_server_message_unpause (self->msg);
}

static void
fill_done (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  CustosStreamResponse *self = CUSTOS_STREAM_RESPONSE (object);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_task_propagate_pointer (G_TASK (result), &error);

  self->filling = FALSE;
  if (self->finished)
    {
      close_pieces (self);
      return;
    }
  if (bytes == NULL)
    {
      g_warning (_("Camera %s: stream ended early: %s"), custos_camera_get_id (self->camera),
                 error->message);
      close_pieces (self);
      unsubscribe (self);
      self->live = FALSE;
      end_body (self);
      return;
    }
  append (self, bytes);
  produce (self);
}

static void
start_fill (CustosStreamResponse *self)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, fill_done, NULL);
  Piece *piece = &g_array_index (self->pieces, Piece, self->piece);

  if (piece->pos >= piece->end)
    {
      close (piece->fd);
      piece->fd = -1;
      self->piece++;
      produce (self);
      return;
    }
  self->filling = TRUE;
  g_task_set_source_tag (task, start_fill);
  g_task_run_in_thread (task, fill_in_thread);
}

static void
drain_live_queue (CustosStreamResponse *self)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gboolean overflow;
  GBytes *bytes;

  g_mutex_lock (&self->lock);
  overflow = self->overflow;
  while (out->len < HIGH_WATER && (bytes = g_queue_pop_head (&self->queue)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);

      self->queued -= len;
      g_mutex_unlock (&self->lock);
      /* The camera sends whole records; a bad one ends the stream. */
      if (custos_record_filter_apply (self->filter, data, len, out, NULL, NULL) < 0)
        overflow = TRUE;
      g_bytes_unref (bytes);
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  if (overflow)
    {
      g_message (_("Camera %s: a live client fell too far behind and was dropped"),
                 custos_camera_get_id (self->camera));
      unsubscribe (self);
      self->live = FALSE;
      end_body (self);
      return;
    }
  if (out->len > 0)
    {
      g_autoptr (GBytes) chunk = g_byte_array_free_to_bytes (g_steal_pointer (&out));

      append (self, chunk);
    }
}

static void
produce (CustosStreamResponse *self)
{
  if (self->finished || self->ended || self->filling || self->msg == NULL ||
      self->outstanding >= HIGH_WATER)
    return;
  if (self->piece < self->pieces->len)
    start_fill (self);
  else if (self->live)
    drain_live_queue (self);
  else
    end_body (self);
}

static void
on_wrote_chunk (SoupServerMessage    *msg,
                CustosStreamResponse *self)
{
  gsize len = GPOINTER_TO_SIZE (g_queue_pop_head (&self->in_flight));

  self->outstanding -= MIN (len, self->outstanding);
  self->last_progress = g_get_monotonic_time ();
  produce (self);
}

static void
on_finished (SoupServerMessage    *msg,
             CustosStreamResponse *self)
{
  g_autoptr (CustosStreamResponse) keep = g_object_ref (self);

  if (self->finished)
    return;
  self->finished = TRUE;
  unsubscribe (self);
  if (!self->filling)
    close_pieces (self);
  g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_object (&self->msg);
  if (self->done != NULL)
    self->done (self, self->done_data);
}

void
custos_stream_response_start (CustosStreamResponse    *self,
                              SoupServerMessage       *msg,
                              CustosStreamResponseDone done,
                              gpointer                 user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  self->msg = g_object_ref (msg);
  self->last_progress = self->last_data = g_get_monotonic_time ();
  self->done = done;
  self->done_data = user_data;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, CONTENT_TYPE, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "X-Custos-Camera", custos_camera_get_id (self->camera));
  if (self->live && self->live_edge_us != CUSTOS_ARCHIVER_NO_TIME)
    {
      g_autofree char *edge = custos_archiver_format_time (self->live_edge_us);

      /* The stream begins at a sync point, seconds back; live is here. */
      if (edge != NULL)
        soup_message_headers_replace (headers, CUSTOS_ARCHIVER_LIVE_EDGE_HEADER, edge);
    }
  /* Written chunks are freed, not kept for the message's lifetime. */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (on_wrote_chunk), self);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), self);
  /* The message keeps the response alive as long as it lives. */
  g_object_set_data_full (G_OBJECT (msg), "custos-stream-response", g_object_ref (self),
                          g_object_unref);
  produce (self);
}

gboolean
custos_stream_response_is_stalled (CustosStreamResponse *self,
                                   gint64                now_us,
                                   gint64                timeout_us)
{
  return self->msg != NULL && self->outstanding > 0 && now_us - self->last_progress > timeout_us;
}

gboolean
custos_stream_response_is_idle (CustosStreamResponse *self,
                                gint64                now_us,
                                gint64                timeout_us)
{
  return self->msg != NULL && self->live && !self->ended && now_us - self->last_data > timeout_us;
}

void
custos_stream_response_abort (CustosStreamResponse *self)
{
  GSocket *socket = self->msg ? soup_server_message_get_socket (self->msg) : NULL;

  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

void
custos_stream_response_close (CustosStreamResponse *self)
{
  unsubscribe (self);
  self->live = FALSE;
  if (!self->filling)
    close_pieces (self);
  end_body (self);
}
