/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <string.h>

#include "custos-archiver-util.h"
#include "custos-camera.h"
#include "custos-camera-source.h"
#include "custos-capture-stream.h"
#include "custos-privacy-feed.h"
#include "custos-reader.h"
#include "custos-record-filter.h"
#include "custos-writer.h"

#define RECORDING_GROUP       "recording"
#define WAIT_US               (100 * G_TIME_SPAN_MILLISECOND)
#define SYNC_INTERVAL_US      G_USEC_PER_SEC
#define SETTLE_US             (2 * G_USEC_PER_SEC)
#define MAX_BACKOFF_S         30
#define HEALTHY_SESSION_US    (10 * G_USEC_PER_SEC)
/* A privacy-protected stream's packets must carry times near the
 * archiver's clock: the protector works on the live stream. */
#define MAX_FEED_SKEW_US      (600 * G_USEC_PER_SEC)
#define MAX_FEED_STREAMS      8
#define STALE_FEED_US         (3 * G_USEC_PER_SEC)
#define PRIVACY_SUFFIX        ".privacy"

typedef enum
{
  SESSION_RUNNING,        /* not ended */
  SESSION_STOPPED,        /* stop was requested */
  SESSION_NO_RECIPIENTS,  /* fail closed */
  SESSION_FAILED,
} SessionEnd;

typedef struct
{
  guint                id;
  CustosCameraLiveFunc func;
  gpointer             user_data;
} Subscriber;

typedef struct
{
  CustosStreamKind kind;
  char            *caps;
} StreamNote;

struct _CustosCamera
{
  GObject            parent_instance;

  /* Configuration: fixed once started. */
  char              *id;
  char              *name;
  char              *source;
  char              *uri;
  char              *audio;
  char              *metadata;
  CustosSourceSpec   spec;
  gboolean           encrypted;
  gboolean           privacy;
  guint              period_ms;
  guint              epoch_ms;
  guint              seal_ms;
  guint              sync_ms;
  guint              file_seconds;
  gint64             start_timeout_us;
  gint64             max_age_us;
  guint64            max_bytes;
  CustosStorage     *storage;
  EVP_PKEY          *signer_key;
  GPtrArray         *signer_chain;
  GThread           *thread;
  /* An encrypted camera's privacy-protected recording (privacy-stream=true),
   * a camera of its own fed by a Privacy Protector instead of a source. */
  CustosCamera      *privacy_stream;
  gboolean           fed;

  /* Shared with the recording thread, under lock. */
  GMutex             lock;
  GCond              cond;
  gboolean           stopping;
  gboolean           wake;
  GPtrArray         *recipients;      /* CustosCertificate */
  guint              recipients_serial;
  char              *no_recipient_reason;
  CustosCameraState  state;
  char              *reason;
  gint64             state_since_us;
  gint64             last_packet_us;
  guint64            packets;
  guint              n_writer_recipients;
  GArray            *stream_notes;    /* StreamNote */
  CustosPrivacyFeed *feed;            /* fed: the upload being recorded */

  /* The open file and live clients, under live_lock. */
  GMutex             live_lock;
  GPtrArray         *subscribers;     /* Subscriber */
  guint              next_subscriber;
  CustosSegmentFile *file;
  guint64            file_sync_offset;
  gint64             file_first_us;   /* sealed range of the open file */
  gint64             file_last_us;
  gint64             live_edge_us;    /* the last packet written to the open file */
};

/* The recording thread's own state for one run of the pipeline. */
typedef struct
{
  CustosCamera       *camera;
  CustosCameraSource *source;
  CustosWriter       *writer;
  GOutputStream      *capture;
  GPtrArray          *streams;        /* CustosSourceStream, what the writer gets */
  CustosSegmentFile  *file;
  gint64              file_start_us;
  GPtrArray          *recipients;     /* what the writer encrypts to */
  guint               recipients_serial;
  gint64              started_at;
} Session;

G_DEFINE_FINAL_TYPE (CustosCamera, custos_camera, G_TYPE_OBJECT)

const char *
custos_camera_state_to_string (CustosCameraState state)
{
  switch (state)
    {
    case CUSTOS_CAMERA_IDLE:
      return "idle";
    case CUSTOS_CAMERA_STARTING:
      return "starting";
    case CUSTOS_CAMERA_RECORDING:
      return "recording";
    case CUSTOS_CAMERA_STOPPED:
      return "stopped";
    case CUSTOS_CAMERA_FAILED:
      return "failed";
    default:
      return "unknown";
    }
}

static void
stream_note_clear (StreamNote *note)
{
  g_free (note->caps);
}

static void
custos_camera_finalize (GObject *object)
{
  CustosCamera *self = CUSTOS_CAMERA (object);

  g_assert (self->thread == NULL);
  g_free (self->id);
  g_free (self->name);
  g_free (self->source);
  g_free (self->uri);
  g_free (self->audio);
  g_free (self->metadata);
  g_clear_object (&self->storage);
  g_clear_pointer (&self->signer_key, EVP_PKEY_free);
  g_clear_pointer (&self->signer_chain, g_ptr_array_unref);
  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  g_clear_object (&self->privacy_stream);
  g_clear_object (&self->feed);
  g_free (self->no_recipient_reason);
  g_free (self->reason);
  g_array_unref (self->stream_notes);
  g_ptr_array_unref (self->subscribers);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->live_lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (custos_camera_parent_class)->finalize (object);
}

static void
custos_camera_class_init (CustosCameraClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_camera_finalize;
}

static void
custos_camera_init (CustosCamera *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->live_lock);
  g_cond_init (&self->cond);
  self->recipients = g_ptr_array_new_with_free_func (g_object_unref);
  self->subscribers = g_ptr_array_new_with_free_func (g_free);
  self->stream_notes = g_array_new (FALSE, TRUE, sizeof (StreamNote));
  g_array_set_clear_func (self->stream_notes, (GDestroyNotify) stream_note_clear);
  self->file_first_us = CUSTOS_ARCHIVER_NO_TIME;
  self->file_last_us = CUSTOS_ARCHIVER_NO_TIME;
  self->live_edge_us = CUSTOS_ARCHIVER_NO_TIME;
  self->last_packet_us = CUSTOS_ARCHIVER_NO_TIME;
}

/* Configuration */

/* The camera's own group if it sets key, else the [recording] defaults. */
static const char *
group_with_key (GKeyFile   *config,
                const char *group,
                const char *key)
{
  return g_key_file_has_key (config, group, key, NULL) ? group : RECORDING_GROUP;
}

static guint
get_uint (GKeyFile   *config,
          const char *group,
          const char *key,
          guint       fallback)
{
  g_autoptr (GError) error = NULL;
  guint64 value = g_key_file_get_uint64 (config, group_with_key (config, group, key), key, &error);

  return error != NULL || value > G_MAXUINT ? fallback : (guint) value;
}

static double
get_double (GKeyFile   *config,
            const char *group,
            const char *key,
            double      fallback)
{
  g_autoptr (GError) error = NULL;
  double value = g_key_file_get_double (config, group_with_key (config, group, key), key, &error);

  return error != NULL || value < 0 ? fallback : value;
}

static gboolean
get_boolean (GKeyFile   *config,
             const char *group,
             const char *key,
             gboolean    fallback)
{
  g_autoptr (GError) error = NULL;
  gboolean value = g_key_file_get_boolean (config, group, key, &error);

  return error != NULL ? fallback : value;
}

static char *
get_string (GKeyFile   *config,
            const char *group,
            const char *key)
{
  char *value = g_key_file_get_string (config, group, key, NULL);

  if (value != NULL && *g_strstrip (value) == '\0')
    g_clear_pointer (&value, g_free);
  return value;
}

static gboolean
check_intervals (CustosCamera  *self,
                 GError       **error)
{
  if (self->period_ms < CUSTOS_MIN_PERIOD_MS || self->period_ms > CUSTOS_MAX_PERIOD_MS ||
      self->epoch_ms < self->period_ms || self->epoch_ms > CUSTOS_MAX_EPOCH_MS ||
      self->epoch_ms % self->period_ms != 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("Camera %s: period-ms must be %u…%u and epoch-ms a multiple of it up to %u"),
                   self->id, CUSTOS_MIN_PERIOD_MS, CUSTOS_MAX_PERIOD_MS, CUSTOS_MAX_EPOCH_MS);
      return FALSE;
    }
  return TRUE;
}

static void
read_source (CustosCamera *self,
             GKeyFile     *config,
             const char   *group)
{
  g_autofree char *encode = get_string (config, group, "encode");

  self->source = get_string (config, group, "source");
  self->uri = get_string (config, group, "uri");
  self->audio = get_string (config, group, "audio");
  self->metadata = get_string (config, group, "metadata");
  self->spec.source = self->source;
  self->spec.uri = self->source ? NULL : self->uri;
  self->spec.audio = self->audio;
  self->spec.metadata = self->metadata;
  self->spec.encode = encode == NULL || g_str_equal (encode, "h264");
  self->spec.framerate = get_uint (config, group, "framerate", 15);
  self->spec.width = get_uint (config, group, "width", 0);
  self->spec.height = get_uint (config, group, "height", 0);
  self->spec.bitrate_kbps = get_uint (config, group, "bitrate", 1024);
  self->spec.keyframe_ms = get_uint (config, group, "keyframe-ms", 500);
}

/* The recording a Privacy Protector feeds: plaintext, flagged
 * privacy-protected, sealed by the archiver like every file; the same
 * intervals and retention as the original. Its id cannot clash with a
 * configured camera's, since ids have no '.'. */
static CustosCamera *
new_privacy_stream (CustosCamera *original)
{
  CustosCamera *self = g_object_new (CUSTOS_TYPE_CAMERA, NULL);

  self->id = g_strconcat (original->id, PRIVACY_SUFFIX, NULL);
  self->name = g_strdup_printf (_("%s (privacy-protected)"), original->name);
  self->fed = TRUE;
  self->encrypted = FALSE;
  self->privacy = TRUE;
  self->period_ms = original->period_ms;
  self->epoch_ms = original->epoch_ms;
  self->seal_ms = original->seal_ms;
  self->sync_ms = original->sync_ms;
  self->file_seconds = original->file_seconds;
  self->start_timeout_us = original->start_timeout_us;
  self->max_age_us = original->max_age_us;
  self->max_bytes = original->max_bytes;
  return self;
}

CustosCamera *
custos_camera_new_from_config (GKeyFile    *config,
                               const char  *group,
                               GError     **error)
{
  g_autoptr (CustosCamera) self = g_object_new (CUSTOS_TYPE_CAMERA, NULL);
  const char *id = g_str_has_prefix (group, "camera ") ? group + strlen ("camera ") : group;
  guint max_age_h;
  double max_mb;

  if (!custos_archiver_id_is_valid (id))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("[%s]: a camera id is 1 to 64 letters, digits, '-' or '_'"), group);
      return NULL;
    }
  self->id = g_strdup (id);
  self->name = get_string (config, group, "name");
  if (self->name == NULL)
    self->name = g_strdup (id);
  read_source (self, config, group);
  if (self->source == NULL && self->uri == NULL)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _("Camera %s has neither source= nor uri="), id);
      return NULL;
    }
  self->encrypted = get_boolean (config, group, "encrypted", TRUE);
  self->privacy = get_boolean (config, group, "privacy", FALSE);
  self->period_ms = get_uint (config, group, "period-ms", CUSTOS_DEFAULT_PERIOD_MS);
  self->epoch_ms = get_uint (config, group, "epoch-ms", CUSTOS_DEFAULT_EPOCH_MS);
  self->seal_ms = get_uint (config, group, "seal-ms", 500);
  self->sync_ms = get_uint (config, group, "sync-ms", 2000);
  self->file_seconds = MAX (get_uint (config, group, "file-seconds", 300), 1);
  self->start_timeout_us = (gint64) MAX (get_uint (config, group, "start-timeout", 15), 1) *
                           G_USEC_PER_SEC;
  max_age_h = get_uint (config, group, "retention-hours", 24 * 30);
  self->max_age_us = (gint64) get_uint (config, group, "retention-seconds", max_age_h * 3600) *
                     G_USEC_PER_SEC;
  max_mb = get_double (config, group, "retention-mb", 0);
  self->max_bytes = max_mb > 0 ? (guint64) (max_mb * 1024 * 1024) : 0;
  if (!check_intervals (self, error))
    return NULL;
  if (get_boolean (config, group, "privacy-stream", FALSE))
    self->privacy_stream = new_privacy_stream (self);
  return g_steal_pointer (&self);
}

const char *
custos_camera_get_id (CustosCamera *self)
{
  return self->id;
}

const char *
custos_camera_get_name (CustosCamera *self)
{
  return self->name;
}

gboolean
custos_camera_get_encrypted (CustosCamera *self)
{
  return self->encrypted;
}

gboolean
custos_camera_get_privacy (CustosCamera *self)
{
  return self->privacy;
}

gint64
custos_camera_get_max_age_us (CustosCamera *self)
{
  return self->max_age_us;
}

guint64
custos_camera_get_max_bytes (CustosCamera *self)
{
  return self->max_bytes;
}

CustosCamera *
custos_camera_get_privacy_stream (CustosCamera *self)
{
  return self->privacy_stream;
}

void
custos_camera_set_storage (CustosCamera  *self,
                           CustosStorage *storage)
{
  g_return_if_fail (self->thread == NULL);
  g_set_object (&self->storage, storage);
  if (self->privacy_stream != NULL)
    custos_camera_set_storage (self->privacy_stream, storage);
}

void
custos_camera_set_signer (CustosCamera *self,
                          EVP_PKEY     *key,
                          GPtrArray    *chain)
{
  g_return_if_fail (self->thread == NULL);
  EVP_PKEY_up_ref (key);
  g_clear_pointer (&self->signer_key, EVP_PKEY_free);
  self->signer_key = key;
  g_clear_pointer (&self->signer_chain, g_ptr_array_unref);
  self->signer_chain = g_ptr_array_ref (chain);
  if (self->privacy_stream != NULL)
    custos_camera_set_signer (self->privacy_stream, key, chain);
}

void
custos_camera_set_recipients (CustosCamera *self,
                              GPtrArray    *certs,
                              const char   *reason)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_set_size (self->recipients, 0);
  for (guint i = 0; i < certs->len; i++)
    g_ptr_array_add (self->recipients, g_object_ref (certs->pdata[i]));
  g_free (self->no_recipient_reason);
  self->no_recipient_reason = g_strdup (reason);
  self->recipients_serial++;
  self->wake = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* State */

static void
set_state (CustosCamera      *self,
           CustosCameraState  state,
           const char        *reason)
{
  gboolean changed;

  g_mutex_lock (&self->lock);
  changed = self->state != state || g_strcmp0 (self->reason, reason) != 0;
  if (changed)
    {
      self->state = state;
      g_free (self->reason);
      self->reason = g_strdup (reason);
      self->state_since_us = g_get_real_time ();
    }
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  if (reason != NULL)
    g_message (_("Camera %s: %s: %s"), self->id, custos_camera_state_to_string (state), reason);
  else
    g_message (_("Camera %s: %s"), self->id, custos_camera_state_to_string (state));
}

CustosCameraState
custos_camera_get_state (CustosCamera  *self,
                         char         **reason)
{
  CustosCameraState state;

  g_mutex_lock (&self->lock);
  state = self->state;
  if (reason != NULL)
    *reason = g_strdup (self->reason);
  g_mutex_unlock (&self->lock);
  return state;
}

static void
wake_up (gpointer user_data)
{
  CustosCamera *self = user_data;

  g_mutex_lock (&self->lock);
  self->wake = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Waits for a packet, a new set of recipients or a stop, at most timeout_us. */
static void
wait_for_work (CustosCamera *self,
               gint64        timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  g_mutex_lock (&self->lock);
  while (!self->wake && !self->stopping)
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  self->wake = FALSE;
  g_mutex_unlock (&self->lock);
}

static gboolean
is_stopping (CustosCamera *self)
{
  gboolean stopping;

  g_mutex_lock (&self->lock);
  stopping = self->stopping;
  g_mutex_unlock (&self->lock);
  return stopping;
}

/* The recipients the camera should encrypt to now; NULL when it has none
 * and is encrypted (with the reason). */
static GPtrArray *
dup_recipients (CustosCamera  *self,
                guint         *serial,
                char         **reason)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func (g_object_unref);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->recipients->len; i++)
    g_ptr_array_add (copy, g_object_ref (self->recipients->pdata[i]));
  *serial = self->recipients_serial;
  if (reason != NULL)
    *reason = g_strdup (self->no_recipient_reason ? self->no_recipient_reason
                                                  : _("no valid certificate is enrolled"));
  g_mutex_unlock (&self->lock);
  if (self->encrypted && copy->len == 0)
    g_clear_pointer (&copy, g_ptr_array_unref);
  return copy;
}

static guint
recipients_serial (CustosCamera *self)
{
  guint serial;

  g_mutex_lock (&self->lock);
  serial = self->recipients_serial;
  g_mutex_unlock (&self->lock);
  return serial;
}

/* The writer's output */

/* Notes sync points and seals in what the writer produced; TRUE when a
 * seal is among them. Called with live_lock held. */
static gboolean
note_records (CustosCamera *self,
              GBytes       *bytes,
              guint64       file_offset)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  CustosRecordView view;
  gboolean sealed = FALSE;
  gsize pos = 0;

  while (custos_record_walk_next (data, len, &pos, &view, NULL, NULL))
    {
      gint64 start_us, end_us;
      CustosDataRecord d;

      if (view.type == CUSTOS_RECORD_FILE_HEADER)
        self->file_sync_offset = file_offset + view.offset;
      /* Stream time is UTC here (utc_origin 0). */
      else if (view.type == CUSTOS_RECORD_DATA &&
               custos_data_record_parse (view.flags, view.body, view.length, &d, NULL))
        self->live_edge_us = custos_data_time_us (d.period, self->period_ms, d.pts_offset);
      else if (custos_record_seal_times (&view, &start_us, &end_us))
        {
          if (self->file_first_us == CUSTOS_ARCHIVER_NO_TIME)
            self->file_first_us = start_us;
          self->file_last_us = end_us;
          sealed = TRUE;
        }
    }
  return sealed;
}

static void
publish (CustosCamera *self,
         GBytes       *bytes)
{
  for (guint i = 0; i < self->subscribers->len; i++)
    {
      Subscriber *s = self->subscribers->pdata[i];

      s->func (bytes, s->user_data);
    }
}

/* Appends what the writer wrote to the file and hands it to live
 * clients, in one step for both so that a client subscribing in between
 * gets every byte once. Syncs after a seal and at least every second. */
static gboolean
flush_writer (Session  *session,
              GError  **error)
{
  CustosCamera *self = session->camera;
  g_autoptr (GBytes) bytes = custos_capture_stream_take (CUSTOS_CAPTURE_STREAM (session->capture));
  gboolean sealed = FALSE;
  gboolean ok = TRUE;
  gint64 dirty;

  if (bytes != NULL)
    {
      g_mutex_lock (&self->live_lock);
      sealed = note_records (self, bytes, custos_segment_file_get_size (session->file));
      ok = custos_segment_file_append (session->file, g_bytes_get_data (bytes, NULL),
                                       g_bytes_get_size (bytes), error);
      if (ok)
        publish (self, bytes);
      g_mutex_unlock (&self->live_lock);
    }
  dirty = custos_segment_file_get_dirty_since (session->file);
  if (ok && (sealed || (dirty != 0 && g_get_monotonic_time () - dirty >= SYNC_INTERVAL_US)))
    ok = custos_segment_file_sync (session->file, error);
  return ok;
}

/* Files */

static void
add_recipients (Session   *session,
                GPtrArray *certs)
{
  for (guint i = 0; i < certs->len; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!custos_writer_add_recipient (session->writer, certs->pdata[i], FALSE, &error))
        g_warning (_("Camera %s: not encrypting to a certificate: %s"), session->camera->id,
                   error->message);
    }
}

static gboolean
add_streams (Session  *session,
             GError  **error)
{
  CustosCamera *self = session->camera;
  GPtrArray *streams = session->streams;
  CustosStreamFlags flags = (self->encrypted ? CUSTOS_STREAM_FLAG_ENCRYPTED : 0) |
                            (self->privacy ? CUSTOS_STREAM_FLAG_PRIVACY : 0);

  for (guint i = 0; i < streams->len; i++)
    {
      CustosSourceStream *s = streams->pdata[i];

      /* utc_origin 0: stream time is UTC, the same clock for all streams. */
      if (custos_writer_add_stream (session->writer, s->kind, flags, s->caps, s->name, 0,
                                    error) < 0)
        return FALSE;
    }
  return TRUE;
}

/* For the API: how many recipients the open writer encrypts to. */
static void
note_writer_recipients (Session *session)
{
  CustosCamera *self = session->camera;

  g_mutex_lock (&self->lock);
  self->n_writer_recipients = self->encrypted ? session->recipients->len : 0;
  g_mutex_unlock (&self->lock);
}

static gboolean
open_file (Session  *session,
           gint64    start_us,
           GError  **error)
{
  CustosCamera *self = session->camera;
  CustosSegmentFile *file = custos_storage_begin_segment (self->storage, self->id, start_us,
                                                          error);

  if (file == NULL)
    return FALSE;
  session->file = file;
  session->file_start_us = start_us;
  session->capture = custos_capture_stream_new ();
  session->writer = custos_writer_new (session->capture, self->name);
  custos_writer_set_intervals (session->writer, self->period_ms, self->epoch_ms, self->seal_ms);
  custos_writer_set_sync_interval (session->writer, self->sync_ms);
  custos_writer_set_indexed (session->writer, TRUE);
  if (!custos_writer_set_signer (session->writer, self->signer_key, self->signer_chain, error) ||
      !add_streams (session, error))
    return FALSE;
  if (self->encrypted)
    add_recipients (session, session->recipients);
  g_mutex_lock (&self->live_lock);
  self->file = file;
  self->file_sync_offset = 0;
  self->live_edge_us = CUSTOS_ARCHIVER_NO_TIME;
  self->file_first_us = CUSTOS_ARCHIVER_NO_TIME;
  self->file_last_us = CUSTOS_ARCHIVER_NO_TIME;
  g_mutex_unlock (&self->live_lock);
  note_writer_recipients (session);
  return TRUE;
}

/* Seals the last segment, writes the index and table of contents, and
 * moves the file into place. A file with nothing sealed is dropped. */
static gboolean
close_file (Session  *session,
            GError  **error)
{
  CustosCamera *self = session->camera;
  g_autoptr (CustosWriter) writer = g_steal_pointer (&session->writer);
  g_autoptr (GOutputStream) capture = NULL;
  CustosSegmentFile *file;
  gint64 first_us, last_us;
  gboolean ok;

  if (writer == NULL)
    return TRUE;
  ok = custos_writer_close (writer, error) && flush_writer (session, error);
  capture = g_steal_pointer (&session->capture);
  file = g_steal_pointer (&session->file);
  g_mutex_lock (&self->live_lock);
  first_us = self->file_first_us;
  last_us = self->file_last_us;
  g_mutex_unlock (&self->live_lock);
  /* Into the index before it stops being the open file, so a range
   * request never misses it (one that sees it twice drops the copy).
   * Nothing sealed: left as .part, which the next start removes. */
  if (ok && first_us != CUSTOS_ARCHIVER_NO_TIME)
    ok = custos_storage_finish_segment (self->storage, self->id, file, first_us, last_us, error);
  g_mutex_lock (&self->live_lock);
  self->file = NULL;
  g_mutex_unlock (&self->live_lock);
  custos_segment_file_free (file);
  return ok;
}

/* Closes the open file and lets go of what the session holds. A file
 * that cannot be closed is only logged: the session is over anyway. */
static void
end_session (Session *session)
{
  g_autoptr (GError) error = NULL;

  if (!close_file (session, &error))
    g_warning (_("Camera %s: %s"), session->camera->id, error->message);
  g_clear_pointer (&session->source, custos_camera_source_free);
  g_clear_pointer (&session->recipients, g_ptr_array_unref);
}

/* Recording */

/* One packet into the open file: a new file at the first video keyframe
 * after file-seconds. */
static gboolean
write_data (Session       *session,
            guint          stream,
            gint64         pts_us,
            gint64         dts_us,
            gboolean       keyframe,
            const guint8  *data,
            gsize          len,
            GError       **error)
{
  CustosCamera *self = session->camera;
  gboolean video_key = stream == 0 && keyframe;

  if (session->writer != NULL && video_key &&
      pts_us - session->file_start_us >= (gint64) self->file_seconds * G_USEC_PER_SEC &&
      !close_file (session, error))
    return FALSE;
  if (session->writer == NULL && !open_file (session, pts_us, error))
    return FALSE;
  if (!custos_writer_write_packet (session->writer, stream, pts_us, dts_us, keyframe, data, len,
                                   error) ||
      !flush_writer (session, error))
    return FALSE;
  g_mutex_lock (&self->lock);
  self->last_packet_us = pts_us;
  self->packets++;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
write_packet (Session            *session,
              CustosSourcePacket *packet,
              GError            **error)
{
  GstBuffer *buffer = gst_sample_get_buffer (packet->sample);
  GstMapInfo map;
  gboolean ok;

  if (buffer == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return TRUE;
  ok = write_data (session, packet->stream, packet->pts_us, packet->dts_us, packet->keyframe,
                   map.data, map.size, error);
  gst_buffer_unmap (buffer, &map);
  return ok;
}

static gboolean
contains_cert (GPtrArray         *certs,
               CustosCertificate *cert)
{
  for (guint i = 0; i < certs->len; i++)
    if (custos_certificate_equal (certs->pdata[i], cert))
      return TRUE;
  return FALSE;
}

/* Applies a new set of recipients to the open writer. FALSE when an
 * encrypted camera has none left: it must stop now. */
static gboolean
update_recipients (Session  *session,
                   char    **reason)
{
  CustosCamera *self = session->camera;
  g_autoptr (GPtrArray) fresh = dup_recipients (self, &session->recipients_serial, reason);

  if (fresh == NULL)
    return FALSE;
  if (session->writer != NULL && self->encrypted)
    {
      g_autoptr (GPtrArray) added = g_ptr_array_new ();

      for (guint i = 0; i < session->recipients->len; i++)
        if (!contains_cert (fresh, session->recipients->pdata[i]))
          custos_writer_remove_recipient (session->writer, session->recipients->pdata[i]);
      for (guint i = 0; i < fresh->len; i++)
        if (!contains_cert (session->recipients, fresh->pdata[i]))
          g_ptr_array_add (added, fresh->pdata[i]);
      add_recipients (session, added);
    }
  g_ptr_array_unref (session->recipients);
  session->recipients = g_steal_pointer (&fresh);
  note_writer_recipients (session);
  return TRUE;
}

static void
note_streams (CustosCamera *self,
              GPtrArray    *streams)
{
  g_mutex_lock (&self->lock);
  g_array_set_size (self->stream_notes, 0);
  for (guint i = 0; i < streams->len; i++)
    {
      CustosSourceStream *s = streams->pdata[i];
      StreamNote note = { s->kind, g_strdup (s->caps) };

      g_array_append_val (self->stream_notes, note);
    }
  g_mutex_unlock (&self->lock);
}

/* Starts the pipeline and waits for the video's first keyframe. */
static SessionEnd
start_source (Session  *session,
              char    **reason,
              GError  **error)
{
  CustosCamera *self = session->camera;
  gint64 deadline = g_get_monotonic_time () + self->start_timeout_us;

  session->source = custos_camera_source_new (&self->spec, wake_up, self, error);
  if (session->source == NULL || !custos_camera_source_play (session->source, error))
    return SESSION_FAILED;
  while (!custos_camera_source_probe (session->source, SETTLE_US, error))
    {
      if (error != NULL && *error != NULL)
        return SESSION_FAILED;
      if (is_stopping (self))
        return SESSION_STOPPED;
      if (recipients_serial (self) != session->recipients_serial &&
          !update_recipients (session, reason))
        return SESSION_NO_RECIPIENTS;
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("no video keyframe from the source within %u s"),
                       (guint) (self->start_timeout_us / G_USEC_PER_SEC));
          return SESSION_FAILED;
        }
      wait_for_work (self, WAIT_US);
    }
  session->streams = custos_camera_source_get_streams (session->source);
  note_streams (self, session->streams);
  return SESSION_RUNNING;
}

static SessionEnd
record (Session  *session,
        char    **reason,
        GError  **error)
{
  CustosCamera *self = session->camera;

  set_state (self, CUSTOS_CAMERA_RECORDING, NULL);
  for (;;)
    {
      CustosSourcePacket packet = { 0 };
      gboolean ok = TRUE;

      while (ok && custos_camera_source_pull (session->source, &packet, error))
        {
          ok = write_packet (session, &packet, error);
          custos_source_packet_clear (&packet);
        }
      if (!ok || (error != NULL && *error != NULL))
        return SESSION_FAILED;
      if (session->file != NULL && !flush_writer (session, error))
        return SESSION_FAILED;
      if (is_stopping (self))
        return SESSION_STOPPED;
      if (recipients_serial (self) != session->recipients_serial &&
          !update_recipients (session, reason))
        return SESSION_NO_RECIPIENTS;
      wait_for_work (self, WAIT_US);
    }
}

static SessionEnd
run_session (CustosCamera  *self,
             gboolean      *healthy,
             char         **reason,
             GError       **error)
{
  Session session = { self };
  SessionEnd end;

  session.started_at = g_get_monotonic_time ();
  session.recipients = dup_recipients (self, &session.recipients_serial, reason);
  if (session.recipients == NULL)
    return SESSION_NO_RECIPIENTS;
  set_state (self, CUSTOS_CAMERA_STARTING, NULL);
  end = start_source (&session, reason, error);
  if (end == SESSION_RUNNING)
    end = record (&session, reason, error);
  end_session (&session);
  /* A source that ran well for a while and then failed starts over fast. */
  *healthy = g_get_monotonic_time () - session.started_at > HEALTHY_SESSION_US;
  return end;
}

static void
sleep_unless_stopped (CustosCamera *self,
                      gint64        us)
{
  gint64 deadline = g_get_monotonic_time () + us;

  g_mutex_lock (&self->lock);
  while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, deadline))
    ;
  g_mutex_unlock (&self->lock);
}

/* Fail closed: wait, not recording, until a valid certificate is enrolled. */
static void
wait_for_recipients (CustosCamera *self,
                     const char   *reason)
{
  set_state (self, CUSTOS_CAMERA_STOPPED, reason);
  g_mutex_lock (&self->lock);
  while (!self->stopping && self->recipients->len == 0)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}

static gpointer
camera_thread (gpointer user_data)
{
  CustosCamera *self = user_data;
  guint backoff_s = 1;

  while (!is_stopping (self))
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *reason = NULL;
      g_autofree char *why = NULL;
      gboolean healthy = FALSE;

      switch (run_session (self, &healthy, &reason, &error))
        {
        case SESSION_NO_RECIPIENTS:
          wait_for_recipients (self, reason);
          break;
        case SESSION_FAILED:
          if (healthy)
            backoff_s = 1;
          why = g_strdup_printf (_("%s; retrying in %u s"),
                                 error ? error->message : _("the source stopped"), backoff_s);
          set_state (self, CUSTOS_CAMERA_FAILED, why);
          sleep_unless_stopped (self, (gint64) backoff_s * G_USEC_PER_SEC);
          backoff_s = MIN (backoff_s * 2, MAX_BACKOFF_S);
          break;
        case SESSION_RUNNING:
        case SESSION_STOPPED:
        default:
          break;
        }
    }
  set_state (self, CUSTOS_CAMERA_STOPPED, _("the archiver is stopping"));
  return NULL;
}

/* Privacy-protected recordings: fed by a Privacy Protector's upload */

/* The streams of the upload, from its STREAM records: plaintext, video
 * first. map: upload stream id -> writer stream. */
static GPtrArray *
feed_streams (CustosReader  *reader,
              int            map[256],
              GError       **error)
{
  GPtrArray *infos = custos_reader_get_streams (reader);
  g_autoptr (GPtrArray) streams = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < infos->len && streams->len < MAX_FEED_STREAMS; i++)
    {
      CustosStreamInfo *info = infos->pdata[i];
      CustosSourceStream *s;

      if (info->flags & CUSTOS_STREAM_FLAG_ENCRYPTED)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               _("a privacy-protected stream must not be encrypted"));
          return NULL;
        }
      if (streams->len == 0 && info->kind != CUSTOS_STREAM_KIND_VIDEO)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               _("the first stream of a privacy-protected stream must be video"));
          return NULL;
        }
      s = g_new0 (CustosSourceStream, 1);
      s->kind = info->kind;
      s->caps = info->caps;   /* the reader's, alive as long as it is */
      s->name = info->name;
      map[info->id] = (int) streams->len;
      g_ptr_array_add (streams, s);
    }
  if (streams->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("the upload declares no stream"));
      return NULL;
    }
  return g_steal_pointer (&streams);
}

/* One packet of the upload, at its own UTC (the original's clock, since
 * the protector keeps it), into the archiver's writer. */
static gboolean
feed_packet (Session       *session,
             CustosReader  *reader,
             CustosPacket  *packet,
             int            map[256],
             GPtrArray    **streams,
             GError       **error)
{
  CustosCamera *self = session->camera;
  gint64 shift = packet->utc_us - packet->pts_us;
  gint64 dts = packet->dts_us == CUSTOS_NO_TIMESTAMP ? CUSTOS_NO_TIMESTAMP
                                                     : packet->dts_us + shift;
  gboolean keyframe = (packet->flags & CUSTOS_DATA_FLAG_KEYFRAME) != 0;
  gsize len;
  const guint8 *data;

  if (packet->status != CUSTOS_PACKET_OK || packet->payload == NULL)
    return TRUE;
  if (ABS (packet->utc_us - g_get_real_time ()) > MAX_FEED_SKEW_US)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("a packet's time is more than %u s away from the archiver's clock"),
                   (guint) (MAX_FEED_SKEW_US / G_USEC_PER_SEC));
      return FALSE;
    }
  if (*streams == NULL)
    {
      if ((*streams = feed_streams (reader, map, error)) == NULL)
        return FALSE;
      session->streams = *streams;
      note_streams (self, *streams);
    }
  if (map[packet->stream] < 0)
    return TRUE;
  /* A file begins at a video keyframe. */
  if (session->writer == NULL && !(map[packet->stream] == 0 && keyframe))
    return TRUE;
  data = g_bytes_get_data (packet->payload, &len);
  if (!write_data (session, map[packet->stream], packet->utc_us, dts, keyframe, data, len, error))
    return FALSE;
  set_state (self, CUSTOS_CAMERA_RECORDING, NULL);
  return TRUE;
}

static gboolean
record_feed (CustosCamera       *self,
             CustosPrivacyFeed  *feed,
             GError            **error)
{
  Session session = { self };
  g_autoptr (CustosReader) reader = custos_reader_new (G_INPUT_STREAM (feed));
  g_autoptr (GPtrArray) streams = NULL;
  int map[256];
  gboolean ok = TRUE;
  CustosPacket *packet;

  memset (map, 0xff, sizeof map);
  /* The archiver seals what it stores; the upload's own seals (if any)
   * are not what anyone checks later. */
  custos_reader_set_verify (reader, FALSE);
  session.recipients = g_ptr_array_new_with_free_func (g_object_unref);
  set_state (self, CUSTOS_CAMERA_STARTING, _("a privacy protector is publishing"));
  while (ok && (packet = custos_reader_next_packet (reader, NULL, error)) != NULL)
    {
      ok = feed_packet (&session, reader, packet, map, &streams, error);
      custos_packet_unref (packet);
    }
  if (error != NULL && *error != NULL)
    ok = FALSE;
  end_session (&session);
  return ok;
}

/* Waits for an upload; NULL when stopping. problem: why the last one
 * ended badly, kept in the state's reason for the API. */
static CustosPrivacyFeed *
wait_for_feed (CustosCamera *self,
               const char   *problem)
{
  CustosPrivacyFeed *feed = NULL;
  g_autofree char *reason =
    problem ? g_strdup_printf (_("no privacy protector is publishing (the last upload ended: %s)"),
                               problem)
            : g_strdup (_("no privacy protector is publishing"));

  set_state (self, CUSTOS_CAMERA_STOPPED, reason);
  g_mutex_lock (&self->lock);
  while (!self->stopping && self->feed == NULL)
    g_cond_wait (&self->cond, &self->lock);
  if (!self->stopping)
    feed = g_object_ref (self->feed);
  g_mutex_unlock (&self->lock);
  return feed;
}

static gpointer
feed_thread (gpointer user_data)
{
  CustosCamera *self = user_data;
  CustosPrivacyFeed *feed;
  g_autofree char *problem = NULL;

  while ((feed = wait_for_feed (self, problem)) != NULL)
    {
      g_autoptr (GError) error = NULL;

      g_clear_pointer (&problem, g_free);
      if (!record_feed (self, feed, &error))
        {
          problem = g_strdup (error ? error->message : _("unknown error"));
          g_message (_("Camera %s: the privacy protector's upload ended: %s"), self->id,
                     error ? error->message : _("unknown error"));
          custos_privacy_feed_abort (feed, error ? error->message : _("unknown error"));
        }
      else
        custos_privacy_feed_abort (feed, _("the upload is over"));
      g_mutex_lock (&self->lock);
      if (self->feed == feed)
        g_clear_object (&self->feed);
      g_mutex_unlock (&self->lock);
      g_object_unref (feed);
    }
  set_state (self, CUSTOS_CAMERA_STOPPED, _("the archiver is stopping"));
  return NULL;
}

/* With the lock. An upload that has sent nothing for STALE_FEED_US is
 * taken for dead: a publishing protector sends every frame as it comes,
 * but a connection dropped on the way (a cable, a NAT) can look open to
 * the archiver for minutes, and the protector's reconnection would be
 * refused until then. A second protector while one really publishes is
 * still refused. */
static void
drop_stale_feed (CustosCamera *self)
{
  gint64 silence;
  g_autofree char *why = NULL;

  if (self->feed == NULL || (silence = custos_privacy_feed_get_silence_us (self->feed)) < STALE_FEED_US)
    return;
  why = g_strdup_printf (_("nothing came for %" PRId64 " s and a new upload began"),
                         silence / G_USEC_PER_SEC);
  g_message (_("Camera %s: the privacy protector's upload was silent for %" PRId64
               " s; a new upload replaces it"),
             self->id, silence / G_USEC_PER_SEC);
  /* The recording thread holds its own reference and ends that upload. */
  custos_privacy_feed_abort (self->feed, why);
  g_clear_object (&self->feed);
}

gboolean
custos_camera_attach_feed (CustosCamera       *self,
                           CustosPrivacyFeed  *feed,
                           char              **reason)
{
  gboolean ok;

  g_return_val_if_fail (self->fed, FALSE);
  g_mutex_lock (&self->lock);
  drop_stale_feed (self);
  ok = self->feed == NULL && !self->stopping && self->thread != NULL;
  if (ok)
    {
      self->feed = g_object_ref (feed);
      g_cond_broadcast (&self->cond);
    }
  else if (reason != NULL)
    *reason = g_strdup (self->feed != NULL
                          ? _("a privacy protector is already publishing this camera")
                          : _("the privacy-protected recording is not running"));
  g_mutex_unlock (&self->lock);
  return ok;
}

void
custos_camera_start (CustosCamera *self)
{
  g_return_if_fail (self->thread == NULL);
  g_return_if_fail (self->storage != NULL && self->signer_key != NULL);

  self->stopping = FALSE;
  self->thread = g_thread_new (self->id, self->fed ? feed_thread : camera_thread, self);
  if (self->privacy_stream != NULL)
    custos_camera_start (self->privacy_stream);
}

void
custos_camera_stop (CustosCamera *self)
{
  if (self->thread == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  /* A recording thread blocked reading an upload wakes up. */
  if (self->feed != NULL)
    custos_privacy_feed_abort (self->feed, _("the archiver is stopping"));
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (g_steal_pointer (&self->thread));
  if (self->privacy_stream != NULL)
    custos_camera_stop (self->privacy_stream);
}

/* Live clients */

guint
custos_camera_subscribe (CustosCamera        *self,
                         CustosCameraLiveFunc func,
                         gpointer             user_data,
                         int                 *backlog_fd,
                         guint64             *backlog_start,
                         guint64             *backlog_end,
                         gint64              *live_edge_us)
{
  Subscriber *s = g_new0 (Subscriber, 1);

  g_mutex_lock (&self->live_lock);
  s->id = ++self->next_subscriber;
  s->func = func;
  s->user_data = user_data;
  g_ptr_array_add (self->subscribers, s);
  *backlog_fd = self->file ? custos_segment_file_open_reader (self->file, NULL) : -1;
  *backlog_start = self->file_sync_offset;
  *backlog_end = self->file ? custos_segment_file_get_size (self->file) : 0;
  *live_edge_us = self->file ? self->live_edge_us : CUSTOS_ARCHIVER_NO_TIME;
  g_mutex_unlock (&self->live_lock);
  return s->id;
}

void
custos_camera_unsubscribe (CustosCamera *self,
                           guint         id)
{
  g_mutex_lock (&self->live_lock);
  for (guint i = 0; i < self->subscribers->len; i++)
    if (((Subscriber *) self->subscribers->pdata[i])->id == id)
      {
        g_ptr_array_remove_index (self->subscribers, i);
        break;
      }
  g_mutex_unlock (&self->live_lock);
}

int
custos_camera_open_current (CustosCamera *self,
                            guint64      *size)
{
  int fd = -1;

  g_mutex_lock (&self->live_lock);
  if (self->file != NULL)
    {
      fd = custos_segment_file_open_reader (self->file, NULL);
      *size = custos_segment_file_get_size (self->file);
    }
  g_mutex_unlock (&self->live_lock);
  return fd;
}

gboolean
custos_camera_get_current_range (CustosCamera *self,
                                 gint64       *first_us,
                                 gint64       *last_us)
{
  gboolean have;

  g_mutex_lock (&self->live_lock);
  have = self->file != NULL && self->file_first_us != CUSTOS_ARCHIVER_NO_TIME;
  *first_us = self->file_first_us;
  *last_us = self->file_last_us;
  g_mutex_unlock (&self->live_lock);
  return have;
}

/* JSON */

static void
add_string (JsonBuilder *b,
            const char  *member,
            const char  *value)
{
  json_builder_set_member_name (b, member);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* null for a time there is none of */
static void
add_time (JsonBuilder *b,
          const char  *member,
          gint64       us)
{
  g_autofree char *text = custos_archiver_format_time (us);

  add_string (b, member, text);
}

static void
add_boolean (JsonBuilder *b,
             const char  *member,
             gboolean     value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_boolean_value (b, value);
}

static void
build_streams_json (CustosCamera *self,
                    JsonBuilder  *b)
{
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->stream_notes->len; i++)
    {
      StreamNote *note = &g_array_index (self->stream_notes, StreamNote, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, i);
      add_string (b, "kind", custos_stream_kind_to_string (note->kind));
      add_string (b, "caps", note->caps);
      add_boolean (b, "encrypted", self->encrypted);
      add_boolean (b, "privacy_protected", self->privacy);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* "privacy": a privacy-protected stream of this camera can be asked for
 * (?privacy=1, no certificate needed); "privacy_stream": its recording,
 * and whether a Privacy Protector is publishing it now ("live"). */
static void
build_privacy_json (CustosCamera *self,
                    JsonBuilder  *b)
{
  CustosCamera *p = self->privacy_stream;
  g_autofree char *stream = NULL;
  g_autofree char *ranges = NULL;

  add_boolean (b, "privacy", p != NULL);
  add_boolean (b, "privacy_protected", self->privacy);
  json_builder_set_member_name (b, "privacy_stream");
  if (p == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  stream = g_strdup_printf ("/api/v1/cameras/%s/stream?privacy=1", self->id);
  ranges = g_strdup_printf ("/api/v1/cameras/%s/ranges?privacy=1", self->id);
  json_builder_begin_object (b);
  add_string (b, "name", p->name);
  g_mutex_lock (&p->lock);
  add_boolean (b, "live", p->state == CUSTOS_CAMERA_RECORDING);
  add_string (b, "state", custos_camera_state_to_string (p->state));
  add_string (b, "reason", p->reason);
  add_time (b, "since", p->state_since_us);
  add_time (b, "last_packet", p->last_packet_us);
  g_mutex_unlock (&p->lock);
  add_string (b, "stream", stream);
  add_string (b, "ranges", ranges);
  json_builder_end_object (b);
}

void
custos_camera_build_json (CustosCamera *self,
                          JsonBuilder  *b,
                          gboolean      health)
{
  json_builder_begin_object (b);
  add_string (b, "id", self->id);
  add_string (b, "name", self->name);
  add_boolean (b, "encrypted", self->encrypted);
  build_privacy_json (self, b);
  g_mutex_lock (&self->lock);
  add_string (b, "state", custos_camera_state_to_string (self->state));
  add_string (b, "reason", self->reason);
  add_time (b, "since", self->state_since_us);
  add_time (b, "last_packet", self->last_packet_us);
  if (health)
    {
      json_builder_set_member_name (b, "packets");
      json_builder_add_int_value (b, (gint64) self->packets);
      json_builder_set_member_name (b, "recipients");
      json_builder_add_int_value (b, self->n_writer_recipients);
    }
  build_streams_json (self, b);
  g_mutex_unlock (&self->lock);
  json_builder_end_object (b);
}
