/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosArchiverStream: the body of a fusion stream that survives a
 * dropped connection. Only whole records are handed out; when the body
 * fails or ends inside a record, the stream is asked for again and the
 * records already handed out are skipped, so the reader sees one stream
 * with nothing repeated.
 *
 * Range streams are byte-exact copies of the archive (only other
 * recipients' key records are left out), so the second answer replays the
 * first: it is asked from a little before the last DATA record handed out
 * (the anchor: DATA records are unique by stream, period and counter,
 * SEALs by segment), the replay is skipped up to the anchor, then the
 * records handed out after the anchor are skipped by their hashes.
 * Inserting records instead would break the seals: FILE_HEADER and
 * STREAM are sealed.
 *
 * A live stream cannot be replayed: it is asked for again and its DATA
 * records that were already handed out are dropped; what was sent while
 * disconnected is missing, as the reader will report. A live stream that
 * the archiver ends (it stops, the camera pauses) is asked for again too,
 * until several tries bring nothing new.
 *
 * If the data is not framed as records (it always is from an archiver),
 * it is passed through and not resumed. The plain (not resumable) stream
 * is this stream passing everything through.
 */
#define G_LOG_DOMAIN "custos-archiver-client"

#include "config.h"

#include <string.h>

#include "custos-archiver-private.h"
#include "custos-i18n-private.h"
#include "custos-record.h"

#define CHUNK (64 * 1024)
#define MAX_TRIES 5 /* reconnections in a row without a new record */
#define RETRY_DELAY_MS 1000
#define REPLAY_MARGIN_US (2 * G_USEC_PER_SEC)

#define CUSTOS_TYPE_ARCHIVER_STREAM (custos_archiver_stream_get_type ())
G_DECLARE_FINAL_TYPE (CustosArchiverStream, custos_archiver_stream, CUSTOS, ARCHIVER_STREAM,
                      GInputStream)

typedef enum
{
  ANCHOR_NONE,
  ANCHOR_DATA,
  ANCHOR_SEAL,
} AnchorType;

typedef struct
{
  AnchorType type;
  guint8     stream;
  guint32    period;
  guint32    counter; /* DATA counter, or SEAL segment */
} Anchor;

typedef struct
{
  guint32  period;
  guint32  counter;
  gboolean seen;
} LastPacket;

struct _CustosArchiverStream
{
  GInputStream parent_instance;

  CustosArchiverClient    *client;
  GInputStream            *body; /* NULL: to be asked for again */
  char                    *camera_id;
  gint64                   from_us;
  gint64                   to_us;
  CustosArchiverStreamKind kind;
  gint64                   live_edge_us; /* of the first answer; G_MININT64: unknown */

  GByteArray *in;  /* bytes of an incomplete record */
  GByteArray *out; /* whole records not read yet */
  gsize       out_pos;
  gboolean    passthrough;
  gboolean    eof;

  /* What was handed out */
  Anchor     anchor;
  GArray    *tail; /* guint64 hashes of records after the anchor */
  guint32    period_ms;
  gint64     origin_us[256];
  LastPacket last[256];
  guint64    file_header_hash;
  gint64     last_data_us;

  /* Resuming */
  gboolean replaying; /* skipping what was handed out */
  gboolean anchor_found;
  guint    tail_pos;
  guint    tries;
};

G_DEFINE_FINAL_TYPE (CustosArchiverStream, custos_archiver_stream, G_TYPE_INPUT_STREAM)

static gboolean
is_live (CustosArchiverStream *self)
{
  return self->to_us == CUSTOS_ARCHIVER_LIVE;
}

static guint64
record_hash (const guint8 *rec, gsize len)
{
  guint64 h = 0xcbf29ce484222325ULL ^ len;

  for (gsize i = 0; i < len; i++)
    h = (h ^ rec[i]) * 0x100000001b3ULL;
  return h;
}

static gint32
read_i32 (const guint8 *p)
{
  return (gint32) custos_read_u32 (p);
}

/* Records handed out are noted, to find the place again. */
static void
note_record (CustosArchiverStream *self, const guint8 *rec, gsize len)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;
  gsize         body_len = len - CUSTOS_RECORD_HEADER_LEN;
  guint8        type = rec[1];
  guint64       hash;

  if (type == CUSTOS_RECORD_FILE_HEADER && body_len >= 40)
    {
      self->period_ms = custos_read_u32 (body + 36);
      self->file_header_hash = record_hash (rec, len);
    }
  else if (type == CUSTOS_RECORD_STREAM && body_len >= 12)
    self->origin_us[body[0]] = (gint64) custos_read_u64 (body + 4);
  if (type == CUSTOS_RECORD_DATA && body_len >= CUSTOS_DATA_PREFIX_LEN)
    {
      guint8 stream = body[0];

      self->anchor =
          (Anchor){ ANCHOR_DATA, stream, custos_read_u32 (body + 4), custos_read_u24 (body + 1) };
      self->last[stream] = (LastPacket){ self->anchor.period, self->anchor.counter, TRUE };
      self->last_data_us = self->origin_us[stream] + custos_data_time_us (self->anchor.period,
                                                                          self->period_ms,
                                                                          read_i32 (body + 8));
      g_array_set_size (self->tail, 0);
      return;
    }
  if (type == CUSTOS_RECORD_SEAL && body_len >= 4)
    {
      self->anchor = (Anchor){ ANCHOR_SEAL, 0, 0, custos_read_u32 (body) };
      g_array_set_size (self->tail, 0);
      return;
    }
  hash = record_hash (rec, len);
  g_array_append_val (self->tail, hash);
}

static gboolean
is_anchor (CustosArchiverStream *self, const guint8 *rec, gsize len)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;
  gsize         body_len = len - CUSTOS_RECORD_HEADER_LEN;

  if (self->anchor.type == ANCHOR_DATA)
    return rec[1] == CUSTOS_RECORD_DATA && body_len >= CUSTOS_DATA_PREFIX_LEN &&
           body[0] == self->anchor.stream && custos_read_u32 (body + 4) == self->anchor.period &&
           custos_read_u24 (body + 1) == self->anchor.counter;
  return rec[1] == CUSTOS_RECORD_SEAL && body_len >= 4 &&
         custos_read_u32 (body) == self->anchor.counter;
}

/* Live: only DATA records already handed out are dropped. */
static gboolean
live_is_new (CustosArchiverStream *self, const guint8 *rec, gsize len)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;
  LastPacket   *last;
  guint32       period, counter;

  /* A new recording (the archiver restarted) counts its packets anew. */
  if (rec[1] == CUSTOS_RECORD_FILE_HEADER && record_hash (rec, len) != self->file_header_hash)
    memset (self->last, 0, sizeof self->last);
  if (rec[1] != CUSTOS_RECORD_DATA || len - CUSTOS_RECORD_HEADER_LEN < CUSTOS_DATA_PREFIX_LEN)
    return TRUE;
  last = &self->last[body[0]];
  period = custos_read_u32 (body + 4);
  counter = custos_read_u24 (body + 1);
  return !last->seen || period > last->period ||
         (period == last->period && counter > last->counter);
}

/* Range: is this record of the replay new? */
static gboolean
replay_is_new (CustosArchiverStream *self, const guint8 *rec, gsize len)
{
  if (!self->anchor_found)
    {
      if (self->anchor.type == ANCHOR_NONE)
        self->anchor_found = TRUE;
      else
        {
          self->anchor_found = is_anchor (self, rec, len);
          return FALSE;
        }
    }
  if (self->tail_pos < self->tail->len &&
      g_array_index (self->tail, guint64, self->tail_pos) == record_hash (rec, len))
    {
      self->tail_pos++;
      return FALSE;
    }
  self->replaying = FALSE;
  g_debug ("resumed: %s, then %u records after it skipped",
           self->anchor.type == ANCHOR_NONE ? "nothing to find"
                                            : "found the last record handed out",
           self->tail_pos);
  return TRUE;
}

static void
take_record (CustosArchiverStream *self, const guint8 *rec, gsize len)
{
  if (self->replaying)
    {
      if (is_live (self) ? !live_is_new (self, rec, len) : !replay_is_new (self, rec, len))
        return;
    }
  note_record (self, rec, len);
  g_byte_array_append (self->out, rec, len);
  self->tries = 0;
}

/* Whole records move from in to out. */
static void
process_input (CustosArchiverStream *self)
{
  gsize pos = 0;

  while (!self->passthrough && self->in->len - pos >= CUSTOS_RECORD_HEADER_LEN)
    {
      const guint8 *rec = self->in->data + pos;
      gsize         len;

      if (rec[0] != CUSTOS_RECORD_SYNC)
        {
          g_debug ("not framed as records at a record boundary: passed through as it is");
          self->passthrough = TRUE;
          break;
        }
      len = CUSTOS_RECORD_HEADER_LEN + custos_read_u24 (rec + 3);
      if (self->in->len - pos < len)
        break;
      take_record (self, rec, len);
      pos += len;
    }
  g_byte_array_remove_range (self->in, 0, pos);
  if (self->passthrough)
    {
      g_byte_array_append (self->out, self->in->data, self->in->len);
      g_byte_array_set_size (self->in, 0);
    }
}

static gssize
copy_out (CustosArchiverStream *self, void *buffer, gsize count)
{
  gsize n = MIN (count, self->out->len - self->out_pos);

  memcpy (buffer, self->out->data + self->out_pos, n);
  self->out_pos += n;
  if (self->out_pos == self->out->len)
    {
      g_byte_array_set_size (self->out, 0);
      self->out_pos = 0;
    }
  return n;
}

/* The body ended (error NULL) or failed. FALSE with error: give up. */
static gboolean
body_ended (CustosArchiverStream *self, GError **error)
{
  gboolean complete = *error == NULL;
  /* The replay came back to where the stream had ended. */
  gboolean caught_up =
      self->replaying && !is_live (self) && self->anchor_found && self->tail_pos == self->tail->len;

  g_clear_object (&self->body);
  /* A live stream ends when the archiver stops or the camera pauses: it
   * is asked for again, until tries bring nothing new. */
  if (complete && is_live (self) && !self->passthrough && self->tries < MAX_TRIES)
    {
      g_debug ("the live stream ended: asking again");
      g_byte_array_set_size (self->in, 0);
      return TRUE;
    }
  if (complete && self->in->len == 0 && (!self->replaying || is_live (self) || caught_up))
    {
      self->eof = TRUE;
      return TRUE;
    }
  if (complete && caught_up)
    {
      /* The same incomplete record twice: it is what the archiver has (a
       * recording cut short), handed out as it is. */
      g_byte_array_append (self->out, self->in->data, self->in->len);
      g_byte_array_set_size (self->in, 0);
      self->eof = TRUE;
      return TRUE;
    }
  if (complete && self->replaying && self->in->len == 0)
    {
      g_set_error_literal (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                           CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                           _ ("The archiver’s stream changed: it could not be resumed where it "
                              "broke off"));
      return FALSE;
    }
  if (self->passthrough || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  if (*error != NULL)
    g_debug ("the stream broke off (%s): resuming", (*error)->message);
  else
    g_debug ("the stream ended inside a record: resuming");
  g_clear_error (error);
  g_byte_array_set_size (self->in, 0);
  return TRUE;
}

static char *
resume_path (CustosArchiverStream *self)
{
  gint64 from_us = self->from_us;

  if (!is_live (self) && self->anchor.type != ANCHOR_NONE && self->period_ms != 0)
    from_us = CLAMP (self->last_data_us - REPLAY_MARGIN_US, self->from_us, self->to_us);
  return _custos_archiver_client_stream_path (self->client, self->camera_id, from_us, self->to_us,
                                              self->kind);
}

static void
start_replay (CustosArchiverStream *self, GInputStream *body)
{
  self->body = body;
  self->replaying = TRUE;
  self->anchor_found = FALSE;
  self->tail_pos = 0;
}

/* Whether the failure to ask again is worth another try. */
static gboolean
may_retry (CustosArchiverStream *self, GError *error)
{
  return self->tries < MAX_TRIES && g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                                                     CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE);
}

/* None at first, then 1, 2, 4, 8 s: an archiver that restarts is back
 * within that. */
static guint
retry_delay_ms (CustosArchiverStream *self)
{
  return self->tries <= 1 ? 0 : RETRY_DELAY_MS << MIN (self->tries - 2, 3);
}

static gboolean
reconnect_sync (CustosArchiverStream *self, GCancellable *cancellable, GError **error)
{
  for (;;)
    {
      g_autofree char *path = resume_path (self);
      g_autoptr (GError) local = NULL;
      GInputStream *body;

      self->tries++;
      g_usleep (retry_delay_ms (self) * 1000);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      body = _custos_archiver_client_send (self->client, path, cancellable, &local);
      if (body != NULL)
        {
          start_replay (self, body);
          return TRUE;
        }
      if (!may_retry (self, local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
}

static gssize
custos_archiver_stream_read (GInputStream *stream, void *buffer, gsize count,
                             GCancellable *cancellable, GError **error)
{
  CustosArchiverStream *self = CUSTOS_ARCHIVER_STREAM (stream);
  guint8                chunk[CHUNK];

  for (;;)
    {
      GError *local = NULL;
      gssize  n;

      if (self->out->len > 0 || count == 0)
        return copy_out (self, buffer, count);
      if (self->eof)
        return 0;
      if (self->body == NULL && !reconnect_sync (self, cancellable, error))
        return -1;
      n = g_input_stream_read (self->body, chunk, sizeof chunk, cancellable, &local);
      if (n > 0)
        {
          g_byte_array_append (self->in, chunk, n);
          process_input (self);
          continue;
        }
      if (!body_ended (self, &local))
        {
          _custos_archiver_client_map_read_error (&local);
          g_propagate_error (error, local);
          return -1;
        }
    }
}

/* Asynchronous reads: the same steps with callbacks. */

typedef struct
{
  void *buffer;
  gsize count;
} ReadOp;

static void
async_step (GTask *task);

static void
chunk_read (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask                *task = user_data;
  CustosArchiverStream *self = g_task_get_source_object (task);
  GError               *error = NULL;
  g_autoptr (GBytes) chunk =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);

  if (chunk != NULL && g_bytes_get_size (chunk) > 0)
    {
      g_byte_array_append (self->in, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
      process_input (self);
    }
  else if (!body_ended (self, &error))
    {
      _custos_archiver_client_map_read_error (&error);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  async_step (task);
}

static void
reconnect_async (GTask *task);

static void
resumed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask                *task = user_data;
  CustosArchiverStream *self = g_task_get_source_object (task);
  GError               *error = NULL;
  GInputStream         *body = _custos_archiver_client_send_finish (self->client, result, &error);

  if (body != NULL)
    {
      start_replay (self, body);
      async_step (task);
    }
  else if (may_retry (self, error))
    {
      g_error_free (error);
      reconnect_async (task);
    }
  else
    {
      g_task_return_error (task, error);
      g_object_unref (task);
    }
}

static gboolean
retry_now (gpointer user_data)
{
  GTask                *task = user_data;
  CustosArchiverStream *self = g_task_get_source_object (task);
  g_autofree char      *path = resume_path (self);

  _custos_archiver_client_send_async (self->client, path, g_task_get_cancellable (task), resumed,
                                      task);
  return G_SOURCE_REMOVE;
}

static void
reconnect_async (GTask *task)
{
  CustosArchiverStream *self = g_task_get_source_object (task);
  g_autoptr (GSource) source = NULL;

  self->tries++;
  source = g_timeout_source_new (retry_delay_ms (self));
  g_source_set_callback (source, retry_now, task, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
}

static void
async_step (GTask *task)
{
  CustosArchiverStream *self = g_task_get_source_object (task);
  ReadOp               *op = g_task_get_task_data (task);

  if (self->out->len > 0 || op->count == 0)
    g_task_return_int (task, copy_out (self, op->buffer, op->count));
  else if (self->eof)
    g_task_return_int (task, 0);
  else if (g_task_return_error_if_cancelled (task))
    ;
  else if (self->body == NULL)
    {
      reconnect_async (task);
      return;
    }
  else
    {
      g_input_stream_read_bytes_async (self->body, CHUNK, g_task_get_priority (task),
                                       g_task_get_cancellable (task), chunk_read, task);
      return;
    }
  g_object_unref (task);
}

static void
custos_archiver_stream_read_async (GInputStream *stream, void *buffer, gsize count, int io_priority,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  GTask  *task = g_task_new (stream, cancellable, callback, user_data);
  ReadOp *op = g_new0 (ReadOp, 1);

  g_task_set_source_tag (task, custos_archiver_stream_read_async);
  g_task_set_priority (task, io_priority);
  op->buffer = buffer;
  op->count = count;
  g_task_set_task_data (task, op, g_free);
  async_step (task);
}

static gssize
custos_archiver_stream_read_finish (GInputStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

static gboolean
custos_archiver_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  CustosArchiverStream *self = CUSTOS_ARCHIVER_STREAM (stream);

  if (self->body != NULL)
    g_input_stream_close (self->body, cancellable, NULL);
  g_clear_object (&self->body);
  return TRUE;
}

static void
custos_archiver_stream_finalize (GObject *object)
{
  CustosArchiverStream *self = CUSTOS_ARCHIVER_STREAM (object);

  g_clear_object (&self->body);
  g_clear_object (&self->client);
  g_free (self->camera_id);
  g_byte_array_unref (self->in);
  g_byte_array_unref (self->out);
  g_array_unref (self->tail);
  G_OBJECT_CLASS (custos_archiver_stream_parent_class)->finalize (object);
}

static void
custos_archiver_stream_class_init (CustosArchiverStreamClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = custos_archiver_stream_finalize;
  stream_class->read_fn = custos_archiver_stream_read;
  stream_class->read_async = custos_archiver_stream_read_async;
  stream_class->read_finish = custos_archiver_stream_read_finish;
  stream_class->close_fn = custos_archiver_stream_close;
}

static void
custos_archiver_stream_init (CustosArchiverStream *self)
{
  self->in = g_byte_array_new ();
  self->out = g_byte_array_new ();
  self->tail = g_array_new (FALSE, FALSE, sizeof (guint64));
}

GInputStream *
_custos_archiver_stream_new (CustosArchiverClient *client, GInputStream *first_body,
                             const char *camera_id, gint64 from_us, gint64 to_us,
                             CustosArchiverStreamKind kind, gboolean resumable)
{
  CustosArchiverStream *self = g_object_new (CUSTOS_TYPE_ARCHIVER_STREAM, NULL);

  /* Not resumable: the bytes as they come, read errors in our domain. */
  self->passthrough = !resumable;

  self->client = g_object_ref (client);
  self->body = g_object_ref (first_body);
  self->camera_id = g_strdup (camera_id);
  self->from_us = from_us;
  self->to_us = to_us;
  self->kind = kind;
  self->live_edge_us = _custos_archiver_body_get_live_edge (first_body);
  return G_INPUT_STREAM (self);
}

gint64
custos_archiver_stream_get_live_edge (GInputStream *stream)
{
  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), G_MININT64);

  if (!CUSTOS_IS_ARCHIVER_STREAM (stream))
    return G_MININT64;
  return CUSTOS_ARCHIVER_STREAM (stream)->live_edge_us;
}
