/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <string.h>

#include "custos-archiver-util.h"
#include "custos-camera.h"
#include "custos-server.h"
#include "custos-stream-response.h"

#define API_PREFIX      "/api/v1/"
#define MAX_PATH        512
#define MAX_QUERY       1024
#define CLIENT_KEY      "custos-client-certificate"
#define RANGE_GAP_US    (2 * G_USEC_PER_SEC)
#define HEADER_TIMER_KEY "custos-header-timer"
#define FEED_KEY        "custos-privacy-feed"
#define DISCARDED_KEY   "custos-discarded-bytes"
/* A request body nobody reads (any but a privacy upload) is cut off here. */
#define MAX_DISCARDED   (64 * 1024)

struct _CustosServer
{
  GObject             parent_instance;

  SoupServer         *soup;
  GTlsDatabase       *client_ca;
  GHashTable         *cameras;    /* id -> CustosCamera */
  GPtrArray          *camera_order;
  CustosStorage      *storage;
  CustosEnrolment    *enrolment;
  CustosServerLimits  limits;
  GPtrArray          *responses;  /* CustosStreamResponse being sent */
  guint               watchdog_id;
  guint               in_flight;
  GHashTable         *messages;   /* SoupServerMessage alive (weak) */
  GPtrArray          *protectors; /* GBytes, SHA-256 of privacy protectors' certificates */
  GTlsCertificate    *certificate; /* set: instead of the certificate and key files */
  guint               port;
};

/* A stream request waiting for its response to be prepared. */
typedef struct
{
  CustosServer         *server;
  SoupServerMessage    *msg;
  CustosStreamResponse *response;
  gulong                finished_id;
  gboolean              gone;
} Pending;

G_DEFINE_FINAL_TYPE (CustosServer, custos_server, G_TYPE_OBJECT)

static void on_message_gone (gpointer  user_data,
                             GObject  *where_the_message_was);

void
custos_server_limits_init (CustosServerLimits *limits)
{
  limits->max_streams = 32;
  limits->max_requests = 256;
  limits->max_range_us = (gint64) 24 * 3600 * G_USEC_PER_SEC;
  limits->idle_timeout_s = 30;
  limits->live_queue_bytes = 32 * 1024 * 1024;
  limits->privacy_queue_bytes = 8 * 1024 * 1024;
}

static void
custos_server_dispose (GObject *object)
{
  CustosServer *self = CUSTOS_SERVER (object);

  GHashTableIter iter;
  gpointer msg;

  custos_server_stop (self);
  g_clear_object (&self->soup);
  g_hash_table_iter_init (&iter, self->messages);
  while (g_hash_table_iter_next (&iter, &msg, NULL))
    g_object_weak_unref (msg, on_message_gone, self);
  g_hash_table_remove_all (self->messages);
  G_OBJECT_CLASS (custos_server_parent_class)->dispose (object);
}

static void
custos_server_finalize (GObject *object)
{
  CustosServer *self = CUSTOS_SERVER (object);

  g_clear_object (&self->client_ca);
  g_clear_pointer (&self->cameras, g_hash_table_unref);
  g_clear_pointer (&self->camera_order, g_ptr_array_unref);
  g_clear_pointer (&self->responses, g_ptr_array_unref);
  g_clear_pointer (&self->messages, g_hash_table_unref);
  g_clear_pointer (&self->protectors, g_ptr_array_unref);
  g_clear_object (&self->certificate);
  g_clear_object (&self->storage);
  g_clear_object (&self->enrolment);
  G_OBJECT_CLASS (custos_server_parent_class)->finalize (object);
}

static void
custos_server_class_init (CustosServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = custos_server_dispose;
  object_class->finalize = custos_server_finalize;
}

static void
custos_server_init (CustosServer *self)
{
  self->cameras = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->responses = g_ptr_array_new_with_free_func (g_object_unref);
  self->messages = g_hash_table_new (NULL, NULL);
  self->protectors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  custos_server_limits_init (&self->limits);
}

CustosServer *
custos_server_new (GPtrArray                *cameras,
                   CustosStorage            *storage,
                   CustosEnrolment          *enrolment,
                   const CustosServerLimits *limits)
{
  CustosServer *self = g_object_new (CUSTOS_TYPE_SERVER, NULL);

  self->camera_order = g_ptr_array_ref (cameras);
  for (guint i = 0; i < cameras->len; i++)
    g_hash_table_insert (self->cameras, (gpointer) custos_camera_get_id (cameras->pdata[i]),
                         g_object_ref (cameras->pdata[i]));
  self->storage = g_object_ref (storage);
  self->enrolment = g_object_ref (enrolment);
  if (limits != NULL)
    self->limits = *limits;
  return self;
}

void
custos_server_set_certificate (CustosServer    *self,
                               GTlsCertificate *certificate)
{
  g_set_object (&self->certificate, certificate);
}

void
custos_server_add_privacy_protector (CustosServer *self,
                                     const guint8  fingerprint[32])
{
  g_ptr_array_add (self->protectors, g_bytes_new (fingerprint, 32));
}

guint
custos_server_get_port (CustosServer *self)
{
  return self->port;
}

guint
custos_server_get_n_streams (CustosServer *self)
{
  return self->responses->len;
}

/* Replies */

static void
reply_json (SoupServerMessage *msg,
            guint              status,
            JsonBuilder       *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize len;
  char *text;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, &len);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_TAKE,
                                    text, len);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
}

static void
reply_error (SoupServerMessage *msg,
             guint              status,
             const char        *reason)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, soup_status_get_phrase (status));
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  json_builder_end_object (b);
  reply_json (msg, status, b);
}

/* Client identity */

static CustosCertificate *
certificate_from_tls (GTlsCertificate *tls)
{
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GBytes) bytes = NULL;

  g_object_get (tls, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  bytes = g_bytes_new (der->data, der->len);
  return custos_certificate_new_from_der (bytes, NULL);
}

/* The client's certificate: from the message on the connection's first
 * request, kept on the connection's socket for the next ones. */
static CustosCertificate *
client_certificate (SoupServerMessage *msg)
{
  GTlsCertificate *tls = soup_server_message_get_tls_peer_certificate (msg);
  GSocket *socket = soup_server_message_get_socket (msg);
  CustosCertificate *cert;

  if (socket == NULL)
    return NULL;
  cert = g_object_get_data (G_OBJECT (socket), CLIENT_KEY);
  if (cert == NULL && tls != NULL && (cert = certificate_from_tls (tls)) != NULL)
    g_object_set_data_full (G_OBJECT (socket), CLIENT_KEY, cert, g_object_unref);
  return cert;
}

static gboolean
on_accept_certificate (SoupServerMessage   *msg,
                       GTlsCertificate     *peer,
                       GTlsCertificateFlags errors,
                       CustosServer        *self)
{
  g_autoptr (GError) error = NULL;
  GTlsCertificateFlags flags;

  flags = g_tls_database_verify_chain (self->client_ca, peer,
                                       G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT, NULL, NULL,
                                       G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  /* Dates are judged per request, so that the client learns why. */
  flags &= ~(G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED);
  if (error != NULL || flags != 0)
    {
      g_message (_("Refused a client certificate that does not chain to the client CA "
                   "(flags 0x%x%s%s)"), flags, error ? ": " : "", error ? error->message : "");
      return FALSE;
    }
  return TRUE;
}

/* Waiting for a request's headers is timed per connection (its socket):
 * libsoup 3.2 may drop the message it announced for a connection without
 * "finished" (after the TLS handshake), but the socket stays as long as
 * the connection. Shutting the socket down under libsoup makes its
 * pending read fail, which ends the connection the normal way. */
typedef struct
{
  GWeakRef socket;
  guint    id;
} HeaderTimer;

static void
header_timer_free (HeaderTimer *timer)
{
  g_clear_handle_id (&timer->id, g_source_remove);
  g_weak_ref_clear (&timer->socket);
  g_free (timer);
}

static gboolean
on_header_timeout (gpointer user_data)
{
  HeaderTimer *timer = user_data;
  g_autoptr (GSocket) socket = g_weak_ref_get (&timer->socket);

  timer->id = 0;
  if (socket != NULL)
    {
      g_debug ("no request in time: closing the connection");
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
      /* Frees the timer. */
      g_object_set_data (G_OBJECT (socket), HEADER_TIMER_KEY, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
on_got_headers (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket != NULL)
    g_object_set_data (G_OBJECT (socket), HEADER_TIMER_KEY, NULL);
}

static void
start_header_timer (CustosServer      *self,
                    SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  HeaderTimer *timer;

  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), NULL);
  if (socket == NULL)
    return;
  timer = g_new0 (HeaderTimer, 1);
  g_weak_ref_init (&timer->socket, socket);
  timer->id = g_timeout_add_seconds (self->limits.idle_timeout_s, on_header_timeout, timer);
  g_object_set_data_full (G_OBJECT (socket), HEADER_TIMER_KEY, timer,
                          (GDestroyNotify) header_timer_free);
}

/* Requests are counted while their message lives, since "finished" does
 * not come for every one of them. */
static void
on_message_gone (gpointer  user_data,
                 GObject  *where_the_message_was)
{
  CustosServer *self = user_data;

  self->in_flight--;
  g_hash_table_remove (self->messages, where_the_message_was);
}

static void
close_connection (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

static void
on_request_chunk (SoupServerMessage *msg,
                  GBytes            *chunk,
                  CustosServer      *self)
{
  CustosPrivacyFeed *feed = g_object_get_data (G_OBJECT (msg), FEED_KEY);
  gsize discarded;

  if (feed != NULL)
    {
      if (!custos_privacy_feed_push (feed, chunk))
        {
          g_autofree char *problem = custos_privacy_feed_dup_problem (feed);

          g_message (_("Closed a privacy upload: %s"), problem ? problem : _("it is over"));
          close_connection (msg);
        }
      return;
    }
  discarded = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), DISCARDED_KEY));
  discarded += g_bytes_get_size (chunk);
  g_object_set_data (G_OBJECT (msg), DISCARDED_KEY, GSIZE_TO_POINTER (discarded));
  if (discarded > MAX_DISCARDED)
    close_connection (msg);
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg,
                    CustosServer      *self)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  self->in_flight++;
  g_hash_table_add (self->messages, msg);
  g_object_weak_ref (G_OBJECT (msg), on_message_gone, self);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate), self);
  /* No body is kept in memory: a privacy upload goes to its feed as it
   * comes, any other is counted and cut off. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_request_chunk), self);
  /* A client that connects and says nothing is cut off: during the TLS
   * handshake by the socket's timeout, after it (a kept-alive connection,
   * or headers sent a byte at a time) by the header timer. */
  if (socket != NULL)
    g_socket_set_timeout (socket, self->limits.idle_timeout_s);
  start_header_timer (self, msg);
}

/* JSON of cameras */

static void
add_time (JsonBuilder *b,
          const char  *member,
          gint64       us)
{
  g_autofree char *text = custos_archiver_format_time (us);

  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, text);
}

static void
handle_cameras (CustosServer      *self,
                SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cameras");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->camera_order->len; i++)
    custos_camera_build_json (self->camera_order->pdata[i], b, FALSE);
  json_builder_end_array (b);
  json_builder_end_object (b);
  reply_json (msg, SOUP_STATUS_OK, b);
}

static void
handle_camera (CustosServer      *self,
               SoupServerMessage *msg,
               CustosCamera      *camera)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  custos_camera_build_json (camera, b, FALSE);
  reply_json (msg, SOUP_STATUS_OK, b);
}

/* Contiguous recordings: files closer than RANGE_GAP_US join. */
static void
add_range (JsonBuilder *b,
           gint64       first_us,
           gint64       last_us)
{
  json_builder_begin_object (b);
  add_time (b, "from", first_us);
  add_time (b, "to", last_us);
  json_builder_set_member_name (b, "from_us");
  json_builder_add_int_value (b, first_us);
  json_builder_set_member_name (b, "to_us");
  json_builder_add_int_value (b, last_us);
  json_builder_end_object (b);
}

static void
handle_ranges (CustosServer      *self,
               SoupServerMessage *msg,
               CustosCamera      *camera)
{
  g_autoptr (GPtrArray) files = custos_storage_dup_segments (self->storage,
                                                              custos_camera_get_id (camera));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gint64 first = CUSTOS_ARCHIVER_NO_TIME, last = CUSTOS_ARCHIVER_NO_TIME;
  gint64 cur_first, cur_last;
  CustosSegmentInfo current = { NULL };

  if (custos_camera_get_current_range (camera, &cur_first, &cur_last))
    {
      current.first_us = cur_first;
      current.last_us = cur_last;
      g_ptr_array_add (files, custos_segment_info_copy (&current));
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "camera");
  json_builder_add_string_value (b, custos_camera_get_id (camera));
  json_builder_set_member_name (b, "ranges");
  json_builder_begin_array (b);
  for (guint i = 0; i < files->len; i++)
    {
      CustosSegmentInfo *f = files->pdata[i];

      if (first != CUSTOS_ARCHIVER_NO_TIME && f->first_us - last > RANGE_GAP_US)
        {
          add_range (b, first, last);
          first = CUSTOS_ARCHIVER_NO_TIME;
        }
      if (first == CUSTOS_ARCHIVER_NO_TIME)
        first = f->first_us;
      last = MAX (last, f->last_us);
    }
  if (first != CUSTOS_ARCHIVER_NO_TIME)
    add_range (b, first, last);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "files");
  json_builder_add_int_value (b, files->len);
  json_builder_end_object (b);
  reply_json (msg, SOUP_STATUS_OK, b);
}

static void
build_storage_json (CustosServer *self,
                    JsonBuilder  *b)
{
  guint64 total = 0;
  guint files = 0;

  for (guint i = 0; i < self->camera_order->len; i++)
    {
      guint n;
      guint64 bytes;

      CustosCamera *camera = self->camera_order->pdata[i];
      CustosCamera *privacy = custos_camera_get_privacy_stream (camera);

      custos_storage_get_usage (self->storage, custos_camera_get_id (camera), &n, &bytes);
      files += n;
      total += bytes;
      if (privacy != NULL)
        {
          custos_storage_get_usage (self->storage, custos_camera_get_id (privacy), &n, &bytes);
          files += n;
          total += bytes;
        }
    }
  json_builder_set_member_name (b, "storage");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "root");
  json_builder_add_string_value (b, custos_storage_get_root (self->storage));
  json_builder_set_member_name (b, "files");
  json_builder_add_int_value (b, files);
  json_builder_set_member_name (b, "bytes");
  json_builder_add_int_value (b, (gint64) total);
  json_builder_end_object (b);
}

static void
handle_health (CustosServer      *self,
               SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gboolean all_recording = TRUE;

  for (guint i = 0; i < self->camera_order->len; i++)
    if (custos_camera_get_state (self->camera_order->pdata[i], NULL) != CUSTOS_CAMERA_RECORDING)
      all_recording = FALSE;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, all_recording ? "ok" : "degraded");
  add_time (b, "time", g_get_real_time ());
  json_builder_set_member_name (b, "cameras");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->camera_order->len; i++)
    custos_camera_build_json (self->camera_order->pdata[i], b, TRUE);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "certificates");
  custos_enrolment_build_json (self->enrolment, b);
  build_storage_json (self, b);
  json_builder_set_member_name (b, "streams");
  json_builder_add_int_value (b, self->responses->len);
  json_builder_end_object (b);
  reply_json (msg, SOUP_STATUS_OK, b);
}

/* Streams */

/* Who may have this camera's stream, and which key records they get.
 * NULL when allowed (*recipient_id may stay NULL), else why not. */
static char *
authorize_stream (CustosServer       *self,
                  SoupServerMessage  *msg,
                  CustosCamera       *camera,
                  const guint8      **recipient_id)
{
  CustosCertificate *cert = client_certificate (msg);
  const guint8 *fingerprint = cert ? custos_certificate_get_fingerprint (cert) : NULL;

  *recipient_id = fingerprint;
  if (!custos_camera_get_encrypted (camera) || custos_camera_get_privacy (camera))
    return NULL;
  if (cert == NULL)
    return g_strdup (_("the original stream of an encrypted camera needs an enrolled client "
                       "certificate"));
  return custos_enrolment_check_client (self->enrolment, fingerprint);
}

static gboolean
parse_range (CustosServer      *self,
             GHashTable        *query,
             gint64            *from_us,
             gint64            *to_us,
             char             **problem)
{
  const char *from = query ? g_hash_table_lookup (query, "from") : NULL;
  const char *to = query ? g_hash_table_lookup (query, "to") : NULL;

  if (from == NULL || to == NULL)
    *problem = g_strdup (_("a stream needs from= and to= (ISO 8601), or live=1"));
  else if (!custos_archiver_parse_time (from, from_us) || !custos_archiver_parse_time (to, to_us))
    *problem = g_strdup (_("from= and to= must be ISO 8601 times, e.g. 2025-01-15T10:00:00Z"));
  else if (*to_us < *from_us)
    *problem = g_strdup (_("to= is before from="));
  else if (*to_us - *from_us > self->limits.max_range_us)
    *problem = g_strdup_printf (_("the range is longer than the %" PRId64 " s allowed"),
                                self->limits.max_range_us / G_USEC_PER_SEC);
  else
    return TRUE;
  return FALSE;
}

static void
response_done (CustosStreamResponse *response,
               gpointer              user_data)
{
  CustosServer *self = user_data;

  g_debug ("stream finished after %" G_GUINT64_FORMAT " bytes",
           custos_stream_response_get_bytes_sent (response));
  g_ptr_array_remove (self->responses, response);
  g_object_unref (self);
}

static void
pending_gone (SoupServerMessage *msg,
              Pending           *pending)
{
  pending->gone = TRUE;
}

static void
pending_free (Pending *pending)
{
  g_signal_handler_disconnect (pending->msg, pending->finished_id);
  g_object_unref (pending->msg);
  g_object_unref (pending->response);
  g_object_unref (pending->server);
  g_free (pending);
}

static void
prepared (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Pending *pending = user_data;
  CustosServer *self = pending->server;
  g_autoptr (GError) error = NULL;

  if (!custos_stream_response_prepare_finish (pending->response, result, &error))
    {
      if (!pending->gone)
        {
          reply_error (pending->msg, g_error_matches (error, CUSTOS_STREAM_RESPONSE_ERROR,
                                                      CUSTOS_STREAM_RESPONSE_ERROR_NO_DATA)
                                     ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                       error->message);
          soup_server_message_unpause (pending->msg);
        }
    }
  else if (pending->gone)
    custos_stream_response_close (pending->response);
  else
    {
      g_ptr_array_add (self->responses, g_object_ref (pending->response));
      custos_stream_response_start (pending->response, pending->msg, response_done,
                                    g_object_ref (self));
      soup_server_message_unpause (pending->msg);
    }
  pending_free (pending);
}

static void
handle_stream (CustosServer      *self,
               SoupServerMessage *msg,
               CustosCamera      *camera,
               GHashTable        *query)
{
  const guint8 *recipient_id = NULL;
  g_autofree char *refused = authorize_stream (self, msg, camera, &recipient_id);
  g_autofree char *problem = NULL;
  gboolean live = query && g_strcmp0 (g_hash_table_lookup (query, "live"), "1") == 0;
  gint64 from_us = 0, to_us = 0;
  Pending *pending;

  if (refused != NULL)
    {
      reply_error (msg, SOUP_STATUS_FORBIDDEN, refused);
      return;
    }
  if (!live && !parse_range (self, query, &from_us, &to_us, &problem))
    {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, problem);
      return;
    }
  if (self->responses->len >= self->limits.max_streams)
    {
      reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
                     _("too many streams are being served; try again later"));
      return;
    }
  pending = g_new0 (Pending, 1);
  pending->server = g_object_ref (self);
  pending->msg = g_object_ref (msg);
  pending->response = live ? custos_stream_response_new_live (camera, recipient_id,
                                                              self->limits.live_queue_bytes)
                           : custos_stream_response_new_range (camera, self->storage, from_us,
                                                               to_us, recipient_id);
  pending->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (pending_gone), pending);
  soup_server_message_pause (msg);
  custos_stream_response_prepare_async (pending->response, NULL, prepared, pending);
}

/* Privacy uploads */

static gboolean
is_protector (CustosServer *self,
              const guint8 *fingerprint)
{
  for (guint i = 0; i < self->protectors->len; i++)
    if (memcmp (g_bytes_get_data (self->protectors->pdata[i], NULL), fingerprint, 32) == 0)
      return TRUE;
  return FALSE;
}

/* NULL when the client may publish privacy-protected streams, else why not. */
static char *
authorize_protector (CustosServer      *self,
                     SoupServerMessage *msg)
{
  CustosCertificate *cert = client_certificate (msg);
  g_autofree char *hex = NULL;

  if (cert == NULL)
    return g_strdup (_("publishing a privacy-protected stream needs the client certificate of "
                       "a privacy protector"));
  if (!is_protector (self, custos_certificate_get_fingerprint (cert)))
    {
      hex = custos_certificate_dup_fingerprint_hex (cert);
      return g_strdup_printf (_("the certificate %s is not a privacy protector of this archiver "
                                "(privacy-protectors= in its configuration)"), hex);
    }
  return custos_enrolment_check_client (self->enrolment, custos_certificate_get_fingerprint (cert));
}

static void
refuse_early (SoupServerMessage *msg,
              guint              status,
              const char        *reason)
{
  /* The body, if the client sends it anyway, is not read for long. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  reply_error (msg, status, reason);
}

static void
on_upload_finished (SoupServerMessage *msg,
                    CustosPrivacyFeed *feed)
{
  /* Ignored when the body was complete: the rest is still recorded. */
  custos_privacy_feed_abort (feed, _("the privacy protector's connection dropped"));
}

/* PUT /api/v1/cameras/ID/privacy, decided once its headers are in and
 * before any of its body is read (a client sending "Expect: 100-continue"
 * gets a refusal without sending anything). */
static void
start_upload (CustosServer      *self,
              SoupServerMessage *msg,
              const char        *camera_id)
{
  g_autofree char *refused = authorize_protector (self, msg);
  g_autoptr (CustosPrivacyFeed) feed = NULL;
  CustosCamera *camera = NULL;
  CustosCamera *privacy;

  if (refused != NULL)
    {
      refuse_early (msg, SOUP_STATUS_FORBIDDEN, refused);
      return;
    }
  if (custos_archiver_id_is_valid (camera_id))
    camera = g_hash_table_lookup (self->cameras, camera_id);
  if (camera == NULL)
    {
      refuse_early (msg, SOUP_STATUS_NOT_FOUND, _("no such camera"));
      return;
    }
  if ((privacy = custos_camera_get_privacy_stream (camera)) == NULL)
    {
      refuse_early (msg, SOUP_STATUS_NOT_FOUND,
                    _("this camera has no privacy-protected stream (privacy-stream=true)"));
      return;
    }
  feed = custos_privacy_feed_new (self->limits.privacy_queue_bytes);
  if (!custos_camera_attach_feed (privacy, feed, &refused))
    {
      refuse_early (msg, SOUP_STATUS_CONFLICT, refused);
      return;
    }
  g_object_set_data_full (G_OBJECT (msg), FEED_KEY, g_object_ref (feed), g_object_unref);
  g_signal_connect_object (msg, "finished", G_CALLBACK (on_upload_finished), feed, 0);
  g_message (_("Camera %s: a privacy protector is publishing"), camera_id);
}

/* PUT's path: the camera id, or NULL when it is not .../cameras/ID/privacy. */
static char *
upload_camera (const char *path)
{
  g_auto (GStrv) parts = NULL;

  if (path == NULL || strlen (path) > MAX_PATH || !g_str_has_prefix (path, API_PREFIX))
    return NULL;
  parts = g_strsplit (path + strlen (API_PREFIX), "/", 5);
  if (g_strv_length (parts) != 3 || !g_str_equal (parts[0], "cameras") ||
      !g_str_equal (parts[2], "privacy"))
    return NULL;
  return g_strdup (parts[1]);
}

/* Every request once its headers are read: anything but GET and the
 * privacy upload is refused before its body is read. */
static void
handle_early (SoupServer        *soup,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *unused,
              gpointer           user_data)
{
  CustosServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *camera_id = NULL;

  if (g_strcmp0 (method, SOUP_METHOD_GET) == 0)
    return;
  if (g_strcmp0 (method, SOUP_METHOD_PUT) == 0 && (camera_id = upload_camera (path)) != NULL)
    {
      start_upload (self, msg, camera_id);
      return;
    }
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                "GET, PUT");
  refuse_early (msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
                _("only GET, and PUT of a privacy-protected stream, are supported"));
}

/* The upload's body is complete: what is queued is still recorded. */
static void
finish_upload (SoupServerMessage *msg)
{
  CustosPrivacyFeed *feed = g_object_get_data (G_OBJECT (msg), FEED_KEY);
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (feed == NULL)
    {
      reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, _("only GET is supported"));
      return;
    }
  custos_privacy_feed_end (feed);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "received");
  json_builder_add_int_value (b, (gint64) custos_privacy_feed_get_bytes (feed));
  json_builder_end_object (b);
  reply_json (msg, SOUP_STATUS_OK, b);
}

/* Routing */

static void
route_camera (CustosServer      *self,
              SoupServerMessage *msg,
              char             **parts,
              GHashTable        *query)
{
  CustosCamera *camera = NULL;
  gboolean privacy = query && g_strcmp0 (g_hash_table_lookup (query, "privacy"), "1") == 0;

  if (custos_archiver_id_is_valid (parts[0]))
    camera = g_hash_table_lookup (self->cameras, parts[0]);
  if (camera == NULL)
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such camera"));
      return;
    }
  if (parts[1] == NULL)
    {
      handle_camera (self, msg, camera);
      return;
    }
  if (parts[2] != NULL)
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such resource"));
      return;
    }
  /* ?privacy=1: the privacy-protected recording, which needs no certificate. */
  if (privacy && (camera = custos_camera_get_privacy_stream (camera)) == NULL)
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND,
                   _("this camera has no privacy-protected stream"));
      return;
    }
  if (g_str_equal (parts[1], "ranges"))
    {
      handle_ranges (self, msg, camera);
      return;
    }
  if (g_str_equal (parts[1], "stream"))
    {
      handle_stream (self, msg, camera, query);
      return;
    }
  reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such resource"));
}

static void
route (CustosServer      *self,
       SoupServerMessage *msg,
       const char        *path,
       GHashTable        *query)
{
  g_auto (GStrv) parts = NULL;

  if (!g_str_has_prefix (path, API_PREFIX))
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such resource"));
      return;
    }
  parts = g_strsplit (path + strlen (API_PREFIX), "/", 5);
  if (parts[0] == NULL)
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such resource"));
      return;
    }
  if (g_str_equal (parts[0], "cameras") && parts[1] == NULL)
    {
      handle_cameras (self, msg);
      return;
    }
  if (g_str_equal (parts[0], "health") && parts[1] == NULL)
    {
      handle_health (self, msg);
      return;
    }
  if (g_str_equal (parts[0], "cameras"))
    {
      route_camera (self, msg, parts + 1, query);
      return;
    }
  reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such resource"));
}

static void
handle_request (SoupServer        *soup,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *unused,
                gpointer           user_data)
{
  CustosServer *self = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  const char *raw_query = g_uri_get_query (uri);
  g_autoptr (GHashTable) query = NULL;
  CustosCertificate *cert = client_certificate (msg);

  if (g_strcmp0 (soup_server_message_get_method (msg), SOUP_METHOD_GET) != 0)
    {
      /* Only an upload accepted by handle_early() gets here. */
      finish_upload (msg);
      return;
    }
  if (self->in_flight > self->limits.max_requests)
    {
      reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, _("too many requests"));
      return;
    }
  if (path == NULL || strlen (path) > MAX_PATH || (raw_query && strlen (raw_query) > MAX_QUERY))
    {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, _("the request is too long"));
      return;
    }
  if (cert != NULL && custos_enrolment_is_revoked (self->enrolment,
                                                   custos_certificate_get_fingerprint (cert)))
    {
      g_autofree char *hex = custos_certificate_dup_fingerprint_hex (cert);
      g_autofree char *reason = g_strdup_printf (_("the certificate %s is revoked"), hex);

      {
        reply_error (msg, SOUP_STATUS_FORBIDDEN, reason);
        return;
      }
    }
  if (raw_query != NULL)
    query = soup_form_decode (raw_query);
  route (self, msg, path, query);
}

/* A client that stops reading a stream holds a slot and its files: it
 * is cut off after idle-timeout seconds without progress. */
static gboolean
watch_streams (gpointer user_data)
{
  CustosServer *self = user_data;
  gint64 timeout_us = (gint64) self->limits.idle_timeout_s * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < self->responses->len; i++)
    {
      CustosStreamResponse *response = self->responses->pdata[i];

      if (custos_stream_response_is_stalled (response, now, timeout_us))
        {
          g_message (_("A client stopped reading its stream for %u s: disconnected"),
                     self->limits.idle_timeout_s);
          custos_stream_response_abort (response);
        }
      /* A live stream of a camera that stopped recording ends, rather than
       * hold its slot forever; the client can ask again. */
      else if (custos_stream_response_is_idle (response, now, timeout_us))
        custos_stream_response_close (response);
    }
  return G_SOURCE_CONTINUE;
}

/* Listening */

static gboolean
load_tls (CustosServer  *self,
          const char    *cert_file,
          const char    *key_file,
          const char    *client_ca_file,
          GError       **error)
{
  g_autoptr (GTlsCertificate) cert =
    self->certificate ? g_object_ref (self->certificate)
                      : g_tls_certificate_new_from_files (cert_file, key_file, error);
  /* GTlsFileDatabase wants an absolute path. */
  g_autofree char *ca_path = g_canonicalize_filename (client_ca_file, NULL);

  if (cert == NULL)
    {
      g_prefix_error (error, _("Server certificate %s: "), cert_file);
      return FALSE;
    }
  self->client_ca = g_tls_file_database_new (ca_path, error);
  if (self->client_ca == NULL)
    {
      g_prefix_error (error, _("Client CA %s: "), ca_path);
      return FALSE;
    }
  self->soup = g_object_new (SOUP_TYPE_SERVER,
                             "server-header", "custos-archiver/" PACKAGE_VERSION,
                             "tls-certificate", cert,
                             "tls-database", self->client_ca,
                             "tls-auth-mode", G_TLS_AUTHENTICATION_REQUESTED,
                             NULL);
  return TRUE;
}

static guint
listening_port (SoupServer *soup)
{
  GSList *listeners = soup_server_get_listeners (soup);
  guint port = 0;

  for (GSList *l = listeners; l != NULL && port == 0; l = l->next)
    {
      g_autoptr (GSocketAddress) address = g_socket_get_local_address (l->data, NULL);

      if (G_IS_INET_SOCKET_ADDRESS (address))
        port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
    }
  g_slist_free (listeners);
  return port;
}

gboolean
custos_server_listen (CustosServer  *self,
                      const char    *address,
                      guint          port,
                      const char    *cert_file,
                      const char    *key_file,
                      const char    *client_ca_file,
                      GError       **error)
{
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr (GSocketAddress) socket_address = NULL;

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%s is not an IP address"), address);
      return FALSE;
    }
  if (!load_tls (self, cert_file, key_file, client_ca_file, error))
    return FALSE;
  soup_server_add_early_handler (self->soup, NULL, handle_early, self, NULL);
  soup_server_add_handler (self->soup, NULL, handle_request, self, NULL);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (on_request_started), self);
  socket_address = g_inet_socket_address_new (inet, port);
  if (!soup_server_listen (self->soup, socket_address, SOUP_SERVER_LISTEN_HTTPS, error))
    return FALSE;
  self->port = listening_port (self->soup);
  self->watchdog_id = g_timeout_add_seconds (1, watch_streams, self);
  return TRUE;
}

void
custos_server_stop (CustosServer *self)
{
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_autoptr (GPtrArray) responses = g_ptr_array_copy (self->responses, (GCopyFunc) g_object_ref,
                                                      NULL);

  g_ptr_array_set_free_func (responses, g_object_unref);
  for (guint i = 0; i < responses->len; i++)
    custos_stream_response_close (responses->pdata[i]);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
}
