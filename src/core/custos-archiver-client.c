/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The archiver client. Trust is decided by us, in the message's
 * "accept-certificate": the session has the configured CA as its only
 * database (or none at all), so that any certificate the CA does not
 * vouch for comes to that signal, where a pinned fingerprint may still
 * accept it. The certificate seen is checked once more when the answer
 * arrives, so that a reused or unvalidated connection can never slip
 * through.
 *
 * Settings that change trust or identity drop the session: its kept-alive
 * connections were set up under the old ones.
 */
#define G_LOG_DOMAIN "custos-archiver-client"

#include "config.h"

#include <string.h>

#include "custos-archiver-private.h"
#include "custos-i18n-private.h"
#include "custos-utc.h"

#define API_PREFIX "/api/v1/"
#define MAX_ERROR_BODY (64 * 1024)
#define MAX_JSON_BODY (8 * 1024 * 1024)
#define TRUST_KEY "custos-trust"
#define IO_TIMEOUT_S 60
/* Connections to the archiver at once (libsoup's default is 2). */
#define MAX_CONNECTIONS 12

typedef enum
{
  TRUST_UNDECIDED,
  TRUST_ACCEPTED,
  TRUST_UNTRUSTED, /* no CA nor pin, or the CA does not vouch for it */
  TRUST_CHANGED,   /* the pin does not match */
} Trust;

struct _CustosArchiverClient
{
  GObject parent_instance;

  char            *base_url; /* without a trailing slash */
  SoupSession     *session;  /* made when first needed */
  GTlsDatabase    *ca;
  char            *ca_path;
  char            *pin; /* 64 lowercase hex digits */
  GTlsCertificate *client_cert;
  GTlsCertificate *peer_cert;
  char            *peer_fingerprint;
  GHashTable      *protected_cameras; /* ids of cameras whose own streams are protected */
};

G_DEFINE_FINAL_TYPE (CustosArchiverClient, custos_archiver_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (custos - archiver - client - error - quark, custos_archiver_client_error)

static void
custos_archiver_client_finalize (GObject *object)
{
  CustosArchiverClient *self = CUSTOS_ARCHIVER_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_object (&self->ca);
  g_clear_object (&self->client_cert);
  g_clear_object (&self->peer_cert);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->ca_path, g_free);
  g_clear_pointer (&self->pin, g_free);
  g_clear_pointer (&self->peer_fingerprint, g_free);
  g_clear_pointer (&self->protected_cameras, g_hash_table_unref);
  G_OBJECT_CLASS (custos_archiver_client_parent_class)->finalize (object);
}

static void
custos_archiver_client_class_init (CustosArchiverClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_archiver_client_finalize;
}

static void
custos_archiver_client_init (CustosArchiverClient *self)
{
  self->protected_cameras = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

CustosArchiverClient *
custos_archiver_client_new (const char *base_url, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  CustosArchiverClient *self;
  g_autofree char      *text = NULL;
  gsize                 len;

  g_return_val_if_fail (base_url != NULL, NULL);

  uri = g_uri_parse (base_url, G_URI_FLAGS_NONE, NULL);
  /* HTTPS only: the archiver is always authenticated. */
  if (uri == NULL || g_uri_get_host (uri) == NULL ||
      g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_query (uri) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not an archiver address (https://host:port)"), base_url);
      return NULL;
    }
  text = g_strdup (base_url);
  len = strlen (text);
  while (len > 0 && text[len - 1] == '/')
    text[--len] = '\0';
  self = g_object_new (CUSTOS_TYPE_ARCHIVER_CLIENT, NULL);
  self->base_url = g_steal_pointer (&text);
  return self;
}

const char *
custos_archiver_client_get_base_url (CustosArchiverClient *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), NULL);

  return self->base_url;
}

/* Trust */

static void
drop_session (CustosArchiverClient *self)
{
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
}

gboolean
custos_archiver_client_set_ca_file (CustosArchiverClient *self, const char *path, GError **error)
{
  g_autoptr (GTlsDatabase) db = NULL;
  g_autofree char *absolute = NULL;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), FALSE);

  if (path != NULL)
    {
      /* GTlsFileDatabase wants an absolute path. */
      absolute = g_canonicalize_filename (path, NULL);
      if ((db = g_tls_file_database_new (absolute, error)) == NULL)
        {
          g_prefix_error (error, _ ("CA file %s: "), path);
          return FALSE;
        }
    }
  g_set_object (&self->ca, db);
  g_free (self->ca_path);
  self->ca_path = g_steal_pointer (&absolute);
  drop_session (self);
  return TRUE;
}

static char *
normalize_fingerprint (const char *hex)
{
  GString *out = g_string_sized_new (64);

  for (const char *p = hex; *p != '\0'; p++)
    {
      if (*p == ':' || *p == ' ')
        continue;
      if (!g_ascii_isxdigit (*p) || out->len == 64)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_c (out, g_ascii_tolower (*p));
    }
  if (out->len != 64)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

gboolean
custos_archiver_client_set_pinned_fingerprint (CustosArchiverClient *self, const char *hex,
                                               GError **error)
{
  char *pin = NULL;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), FALSE);

  if (hex != NULL && (pin = normalize_fingerprint (hex)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not a SHA-256 fingerprint (64 hex digits)"), hex);
      return FALSE;
    }
  g_free (self->pin);
  self->pin = pin;
  drop_session (self);
  return TRUE;
}

static char *
certificate_fingerprint (GTlsCertificate *cert)
{
  g_autoptr (GByteArray) der = NULL;

  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

const char *
custos_archiver_client_get_peer_fingerprint (CustosArchiverClient *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), NULL);

  return self->peer_fingerprint;
}

GTlsCertificate *
custos_archiver_client_dup_peer_certificate (CustosArchiverClient *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), NULL);

  return self->peer_cert ? g_object_ref (self->peer_cert) : NULL;
}

void
custos_archiver_client_set_client_certificate (CustosArchiverClient *self, GTlsCertificate *cert)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));
  g_return_if_fail (cert == NULL || G_IS_TLS_CERTIFICATE (cert));

  if (g_set_object (&self->client_cert, cert))
    drop_session (self);
}

GTlsCertificate *
custos_archiver_client_get_client_certificate (CustosArchiverClient *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self), NULL);

  return self->client_cert;
}

static void
remember_peer (CustosArchiverClient *self, GTlsCertificate *peer)
{
  char *fingerprint;

  if (peer == NULL || peer == self->peer_cert ||
      (fingerprint = certificate_fingerprint (peer)) == NULL)
    return;
  g_set_object (&self->peer_cert, peer);
  g_free (self->peer_fingerprint);
  self->peer_fingerprint = fingerprint;
}

/* Only certificates the session's database does not vouch for come here. */
static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *peer, GTlsCertificateFlags errors,
                       CustosArchiverClient *self)
{
  Trust trust;

  remember_peer (self, peer);
  if (self->ca != NULL)
    trust = TRUST_UNTRUSTED;
  else if (self->pin == NULL)
    trust = TRUST_UNTRUSTED;
  else if (g_strcmp0 (self->peer_fingerprint, self->pin) == 0)
    trust = TRUST_ACCEPTED;
  else
    trust = TRUST_CHANGED;
  g_object_set_data (G_OBJECT (msg), TRUST_KEY, GINT_TO_POINTER (trust));
  if (trust != TRUST_ACCEPTED)
    g_debug ("refused the archiver's certificate (flags 0x%x)", errors);
  return trust == TRUST_ACCEPTED;
}

static void
set_trust_error (CustosArchiverClient *self, Trust trust, GError **error)
{
  const char *seen = self->peer_fingerprint ? self->peer_fingerprint : "?";

  if (trust == TRUST_CHANGED)
    g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                 CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED,
                 _ ("The archiver’s certificate has changed: it is %s, the pinned one is %s"), seen,
                 self->pin);
  else if (self->ca != NULL)
    g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED,
                 _ ("The archiver’s certificate (SHA-256 %s) is not valid for %s under the CA %s"),
                 seen, self->base_url, self->ca_path);
  else
    g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED,
                 _ ("The archiver’s certificate is not trusted: no CA and no fingerprint are set. "
                    "Its SHA-256 fingerprint is %s"),
                 seen);
}

/* The answer came over a connection we trust: checked again, since a
 * database that vouches for a certificate never asks. */
static gboolean
check_peer (CustosArchiverClient *self, SoupMessage *msg, GError **error)
{
  GTlsCertificate *peer = soup_message_get_tls_peer_certificate (msg);

  remember_peer (self, peer);
  if (peer == NULL)
    {
      set_trust_error (self, TRUST_UNTRUSTED, error);
      return FALSE;
    }
  if (self->ca != NULL)
    return TRUE; /* the CA validated it, or accept-certificate refused it */
  if (self->pin == NULL)
    {
      set_trust_error (self, TRUST_UNTRUSTED, error);
      return FALSE;
    }
  if (g_strcmp0 (self->peer_fingerprint, self->pin) != 0)
    {
      set_trust_error (self, TRUST_CHANGED, error);
      return FALSE;
    }
  return TRUE;
}

/* PKCS#11 */

static char *
escape_pin (const char *pin)
{
  return g_uri_escape_bytes ((const guint8 *) pin, strlen (pin), NULL);
}

static void
wipe_string (char *s)
{
  if (s != NULL)
    {
      memset (s, 0, strlen (s));
      g_free (s);
    }
}

GTlsCertificate *
custos_archiver_client_certificate_new_from_pkcs11 (const char *uri, const char *pin,
                                                    GError **error)
{
  g_autofree char *cert_uri = NULL;
  char            *escaped = NULL;
  char            *key_uri = NULL;
  GTlsCertificate *cert;

  g_return_val_if_fail (uri != NULL, NULL);

  if (!g_str_has_prefix (uri, "pkcs11:") || strchr (uri, '?') != NULL ||
      strstr (uri, "type=") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not a PKCS#11 URI of a token object without type and query, e.g. "
                      "“pkcs11:token=Custos;id=%%01”"),
                   uri);
      return NULL;
    }
  /* GnuTLS looks objects up by id or label only. */
  if (strstr (uri, "id=") == NULL && strstr (uri, "object=") == NULL)
    {
      g_set_error (
          error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          _ ("The PKCS#11 URI “%s” names no object: add its id or label, e.g. “%s;id=%%01”"), uri,
          uri);
      return NULL;
    }
  cert_uri = g_strdup_printf ("%s;type=cert", uri);
  if (pin != NULL)
    {
      escaped = escape_pin (pin);
      key_uri = g_strdup_printf ("%s;type=private?pin-value=%s", uri, escaped);
    }
  else
    key_uri = g_strdup_printf ("%s;type=private", uri);
  cert = g_tls_certificate_new_from_pkcs11_uris (cert_uri, key_uri, error);
  wipe_string (escaped);
  wipe_string (key_uri);
  return cert;
}

/* Requests */

static SoupSession *
get_session (CustosArchiverClient *self)
{
  if (self->session == NULL)
    {
      g_autofree char *agent = g_strdup_printf ("custos/%s", PACKAGE_VERSION);

      /* No database but the CA: everything else is ours to judge. A live
       * stream holds its connection for as long as it plays, and libsoup
       * allows two per host: a grid of four cameras of one archiver, the
       * paused player behind it, an export and the camera list need more. */
      self->session = soup_session_new_with_options ("tls-database", self->ca, "user-agent", agent,
                                                     "timeout", IO_TIMEOUT_S, "max-conns-per-host",
                                                     MAX_CONNECTIONS, "max-conns", MAX_CONNECTIONS,
                                                     NULL);
    }
  return self->session;
}

static SoupMessage *
message_new (CustosArchiverClient *self, const char *path_and_query, GError **error)
{
  g_autofree char *url = g_strconcat (self->base_url, API_PREFIX, path_and_query, NULL);
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  SoupMessage *msg;

  if (uri == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _ ("“%s” is not a valid URL"),
                   url);
      return NULL;
    }
  msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  g_signal_connect_object (msg, "accept-certificate", G_CALLBACK (on_accept_certificate), self, 0);
  if (self->client_cert != NULL)
    soup_message_set_tls_client_certificate (msg, self->client_cert);
  return msg;
}

/* An error of soup_session_send(), in our domain. */
static void
map_send_error (CustosArchiverClient *self, SoupMessage *msg, GError **error)
{
  Trust   trust = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), TRUST_KEY));
  GError *original = *error;

  if (g_error_matches (original, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      original->domain == CUSTOS_ARCHIVER_CLIENT_ERROR)
    return;
  *error = NULL;
  if (trust == TRUST_UNTRUSTED || trust == TRUST_CHANGED)
    set_trust_error (self, trust, error);
  else if (g_error_matches (original, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED) ||
           (self->client_cert != NULL && original->domain == G_TLS_ERROR))
    g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                 CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_REQUIRED,
                 self->client_cert != NULL
                     ? _ ("The archiver wanted the client certificate, which could not be used "
                          "(a wrong PIN, or a key that does not match): %s")
                     : _ ("The archiver wants a client certificate: %s"),
                 original->message);
  else
    g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE,
                 _ ("Cannot reach the archiver at %s: %s"), self->base_url, original->message);
  g_error_free (original);
}

void
_custos_archiver_client_map_read_error (GError **error)
{
  GError *original = *error;

  if (original == NULL || g_error_matches (original, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      original->domain == CUSTOS_ARCHIVER_CLIENT_ERROR)
    return;
  *error = NULL;
  g_set_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE,
               _ ("The connection to the archiver broke: %s"), original->message);
  g_error_free (original);
}

/* A refusal, with the archiver's {"reason": …} when it gives one. */
static GError *
status_error (SoupMessage *msg, GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  guint       status = soup_message_get_status (msg);
  const char *reason = NULL;
  int         code;

  if (body != NULL &&
      json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                  NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    reason = json_object_get_string_member_with_default (
        json_node_get_object (json_parser_get_root (parser)), "reason", NULL);
  switch (status)
    {
    case SOUP_STATUS_BAD_REQUEST:
      code = CUSTOS_ARCHIVER_CLIENT_ERROR_BAD_REQUEST;
      break;
    case SOUP_STATUS_FORBIDDEN:
      code = CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN;
      break;
    case SOUP_STATUS_NOT_FOUND:
      code = CUSTOS_ARCHIVER_CLIENT_ERROR_NOT_FOUND;
      break;
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
      code = CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE;
      break;
    default:
      code = CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL;
    }
  if (reason != NULL)
    /* Translators: the HTTP status, its reason phrase, and the archiver's explanation. */
    return g_error_new (CUSTOS_ARCHIVER_CLIENT_ERROR, code, _ ("The archiver answered %u %s: %s"),
                        status, soup_message_get_reason_phrase (msg), reason);
  /* Translators: the HTTP status and its reason phrase, e.g. "404 Not Found". */
  return g_error_new (CUSTOS_ARCHIVER_CLIENT_ERROR, code, _ ("The archiver answered %u %s"),
                      status, soup_message_get_reason_phrase (msg));
}

/* libsoup cancels a message's GCancellable when its session is dropped
 * (new trust or client certificate): each request has its own, linked to
 * the caller's, so a caller's cancellable is cancelled only by the caller.
 * The request then fails with G_IO_ERROR_CANCELLED while the caller's
 * cancellable is not, and the caller may simply ask again. */
typedef struct
{
  SoupMessage  *msg;
  GInputStream *body;
  GCancellable *caller;
  GCancellable *own;
  gulong        linked;
} Send;

static void
send_free (Send *send)
{
  if (send->caller != NULL)
    g_cancellable_disconnect (send->caller, send->linked);
  g_clear_object (&send->caller);
  g_clear_object (&send->own);
  g_clear_object (&send->msg);
  g_clear_object (&send->body);
  g_free (send);
}

static void
cancel_own (GCancellable *caller, gpointer own)
{
  g_cancellable_cancel (own);
}

static GCancellable *
send_link_cancellable (Send *send, GCancellable *caller)
{
  send->own = g_cancellable_new ();
  if (caller != NULL)
    {
      send->caller = g_object_ref (caller);
      send->linked = g_cancellable_connect (caller, G_CALLBACK (cancel_own), send->own, NULL);
    }
  return send->own;
}

static void
error_body_read (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Send *send = g_task_get_task_data (task);
  g_autoptr (GBytes) body =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  g_task_return_error (task, status_error (send->msg, body));
}

static GQuark
live_edge_quark (void)
{
  return g_quark_from_static_string ("custos-live-edge");
}

static void
keep_live_edge (SoupMessage *msg, GInputStream *body)
{
  const char *text = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                   CUSTOS_ARCHIVER_LIVE_EDGE_HEADER);
  gint64 utc_us;

  if (custos_utc_parse (text, &utc_us))
    g_object_set_qdata_full (G_OBJECT (body), live_edge_quark (), g_memdup2 (&utc_us, sizeof utc_us),
                             g_free);
}

gint64
_custos_archiver_body_get_live_edge (GInputStream *body)
{
  gint64 *edge = g_object_get_qdata (G_OBJECT (body), live_edge_quark ());

  return edge ? *edge : G_MININT64;
}

static void
sent (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CustosArchiverClient *self = g_task_get_source_object (task);
  Send                 *send = g_task_get_task_data (task);
  GError               *error = NULL;

  send->body = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (send->body == NULL)
    {
      map_send_error (self, send->msg, &error);
      g_task_return_error (task, error);
      return;
    }
  if (!check_peer (self, send->msg, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (soup_message_get_status (send->msg) != SOUP_STATUS_OK)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      g_input_stream_read_bytes_async (send->body, MAX_ERROR_BODY, G_PRIORITY_DEFAULT, cancellable,
                                       error_body_read, g_steal_pointer (&task));
      return;
    }
  keep_live_edge (send->msg, send->body);
  g_task_return_pointer (task, g_steal_pointer (&send->body), g_object_unref);
}

void
_custos_archiver_client_send_async (CustosArchiverClient *self, const char *path_and_query,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  Send   *send = g_new0 (Send, 1);

  g_task_set_source_tag (task, _custos_archiver_client_send_async);
  g_task_set_task_data (task, send, (GDestroyNotify) send_free);
  if ((send->msg = message_new (self, path_and_query, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  soup_session_send_async (get_session (self), send->msg, G_PRIORITY_DEFAULT,
                           send_link_cancellable (send, cancellable), sent,
                           g_steal_pointer (&task));
}

GInputStream *
_custos_archiver_client_send_finish (CustosArchiverClient *self, GAsyncResult *result,
                                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

GInputStream *
_custos_archiver_client_send (CustosArchiverClient *self, const char *path_and_query,
                              GCancellable *cancellable, GError **error)
{
  g_autoptr (SoupMessage) msg = message_new (self, path_and_query, error);
  g_autoptr (GInputStream) body = NULL;
  g_autoptr (GBytes) text = NULL;

  if (msg == NULL)
    return NULL;
  body = soup_session_send (get_session (self), msg, cancellable, error);
  if (body == NULL)
    {
      map_send_error (self, msg, error);
      return NULL;
    }
  if (!check_peer (self, msg, error))
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      text = g_input_stream_read_bytes (body, MAX_ERROR_BODY, cancellable, NULL);
      g_propagate_error (error, status_error (msg, text));
      return NULL;
    }
  keep_live_edge (msg, body);
  return g_steal_pointer (&body);
}

/* JSON requests: the body is read in chunks up to MAX_JSON_BODY, then
 * parsed; the task returns the root object. */

typedef struct
{
  GInputStream *body;
  GByteArray   *data;
} ReadJson;

static void
read_json_free (ReadJson *read)
{
  g_clear_object (&read->body);
  g_clear_pointer (&read->data, g_byte_array_unref);
  g_free (read);
}

static void
parse_json (GTask *task, GByteArray *data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) parse_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, (const char *) data->data, data->len, &parse_error) ||
      !JSON_NODE_HOLDS_OBJECT ((root = json_parser_get_root (parser))))
    {
      if (parse_error != NULL)
        g_task_return_new_error (task, CUSTOS_ARCHIVER_CLIENT_ERROR,
                                 CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                                 _ ("The archiver’s answer is not a JSON object: %s"),
                                 parse_error->message);
      else
        g_task_return_new_error (task, CUSTOS_ARCHIVER_CLIENT_ERROR,
                                 CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                                 _ ("The archiver’s answer is not a JSON object"));
      return;
    }
  g_task_return_pointer (task, json_object_ref (json_node_get_object (root)),
                         (GDestroyNotify) json_object_unref);
}

static void
json_chunk_read (GObject *object, GAsyncResult *result, gpointer user_data);

static void
read_next_chunk (GTask *task)
{
  ReadJson *read = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (read->body, 64 * 1024, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), json_chunk_read, task);
}

static void
json_chunk_read (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ReadJson *read = g_task_get_task_data (task);
  GError   *error = NULL;
  g_autoptr (GBytes) chunk =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);

  if (chunk == NULL)
    {
      _custos_archiver_client_map_read_error (&error);
      g_task_return_error (task, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      parse_json (task, read->data);
      return;
    }
  g_byte_array_append (read->data, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  if (read->data->len > MAX_JSON_BODY)
    {
      g_task_return_new_error (task, CUSTOS_ARCHIVER_CLIENT_ERROR,
                               CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                               _ ("The archiver’s answer is too long"));
      return;
    }
  read_next_chunk (g_steal_pointer (&task));
}

static void
json_body_opened (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError       *error = NULL;
  GInputStream *body =
      _custos_archiver_client_send_finish (CUSTOS_ARCHIVER_CLIENT (object), result, &error);
  ReadJson *read;

  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  read = g_new0 (ReadJson, 1);
  read->body = body;
  read->data = g_byte_array_new ();
  g_task_set_task_data (task, read, (GDestroyNotify) read_json_free);
  read_next_chunk (g_steal_pointer (&task));
}

/* The inner task returns a JsonObject to the outer callback. */
static void
get_json_async (CustosArchiverClient *self, const char *path, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, get_json_async);
  _custos_archiver_client_send_async (self, path, cancellable, json_body_opened, task);
}

static JsonObject *
get_json_finish (CustosArchiverClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
camera_id_is_valid (const char *id, GError **error)
{
  gsize    len = id ? strlen (id) : 0;
  gboolean valid = len > 0 && len <= 64;

  for (gsize i = 0; valid && i < len; i++)
    valid = g_ascii_isalnum (id[i]) || id[i] == '-' || id[i] == '_';
  if (!valid)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _ ("“%s” is not a camera id (1–64 of A–Z, a–z, 0–9, - and _)"), id ? id : "");
  return valid;
}

/* The privacy-protected recording of a camera is ?privacy=1 on its own
 * routes; a camera whose own streams are the protected ones (as the
 * camera list says) is asked for as it is. */
static gboolean
privacy_query (CustosArchiverClient *self, const char *camera_id, CustosArchiverStreamKind kind)
{
  return kind == CUSTOS_ARCHIVER_STREAM_PRIVACY &&
         !g_hash_table_contains (self->protected_cameras, camera_id);
}

/* Cameras */

static void
cameras_got (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CustosArchiverClient *self = CUSTOS_ARCHIVER_CLIENT (object);
  GError               *error = NULL;
  g_autoptr (JsonObject) root = get_json_finish (self, result, &error);
  g_autoptr (GPtrArray) cameras = NULL;
  JsonNode  *list;
  JsonArray *array;

  if (root == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  list = json_object_get_member (root, "cameras");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_task_return_new_error (task, CUSTOS_ARCHIVER_CLIENT_ERROR,
                               CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                               _ ("The archiver’s camera list has no “cameras” array"));
      return;
    }
  array = json_node_get_array (list);
  cameras = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_camera_info_unref);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode         *node = json_array_get_element (array, i);
      CustosCameraInfo *info;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      if ((info = _custos_camera_info_new_from_json (json_node_get_object (node), &error)) == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      if (_custos_camera_info_get_protected (info))
        g_hash_table_add (self->protected_cameras, g_strdup (custos_camera_info_get_id (info)));
      else
        g_hash_table_remove (self->protected_cameras, custos_camera_info_get_id (info));
      g_ptr_array_add (cameras, info);
    }
  g_task_return_pointer (task, g_steal_pointer (&cameras), (GDestroyNotify) g_ptr_array_unref);
}

void
custos_archiver_client_list_cameras_async (CustosArchiverClient *self, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_archiver_client_list_cameras_async);
  get_json_async (self, "cameras", cancellable, cameras_got, task);
}

GPtrArray *
custos_archiver_client_list_cameras_finish (CustosArchiverClient *self, GAsyncResult *result,
                                            GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Ranges */

static gboolean
get_int (JsonObject *object, const char *member, gint64 *value)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

static GArray *
parse_ranges (JsonObject *root, GError **error)
{
  JsonNode *list = json_object_get_member (root, "ranges");
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (CustosTimeRange));
  JsonArray *array;

  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    goto bad;
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode       *node = json_array_get_element (array, i);
      CustosTimeRange range;

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !get_int (json_node_get_object (node), "from_us", &range.from_us) ||
          !get_int (json_node_get_object (node), "to_us", &range.to_us) ||
          range.to_us < range.from_us)
        goto bad;
      g_array_append_val (ranges, range);
    }
  return g_steal_pointer (&ranges);

bad:
  g_set_error_literal (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                       _ ("The archiver’s list of ranges is not valid"));
  return NULL;
}

static void
ranges_got (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  g_autoptr (JsonObject) root = get_json_finish (CUSTOS_ARCHIVER_CLIENT (object), result, &error);
  GArray *ranges;

  if (root == NULL || (ranges = parse_ranges (root, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, ranges, (GDestroyNotify) g_array_unref);
}

void
custos_archiver_client_get_ranges_async (CustosArchiverClient *self, const char *camera_id,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  custos_archiver_client_get_stream_ranges_async (self, camera_id, CUSTOS_ARCHIVER_STREAM_ORIGINAL,
                                                  cancellable, callback, user_data);
}

void
custos_archiver_client_get_stream_ranges_async (CustosArchiverClient *self, const char *camera_id,
                                                CustosArchiverStreamKind kind,
                                                GCancellable            *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *path = NULL;
  GTask           *task;
  GError          *error = NULL;

  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_archiver_client_get_ranges_async);
  if (!camera_id_is_valid (camera_id, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  path = g_strdup_printf ("cameras/%s/ranges%s", camera_id,
                          privacy_query (self, camera_id, kind) ? "?privacy=1" : "");
  get_json_async (self, path, cancellable, ranges_got, task);
}

GArray *
custos_archiver_client_get_ranges_finish (CustosArchiverClient *self, GAsyncResult *result,
                                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Health */

static void
health_got (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError     *error = NULL;
  JsonObject *root = get_json_finish (CUSTOS_ARCHIVER_CLIENT (object), result, &error);

  if (root == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, root, (GDestroyNotify) json_object_unref);
}

void
custos_archiver_client_get_health_async (CustosArchiverClient *self, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_archiver_client_get_health_async);
  get_json_async (self, "health", cancellable, health_got, task);
}

JsonObject *
custos_archiver_client_get_health_finish (CustosArchiverClient *self, GAsyncResult *result,
                                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Streams */

char *
_custos_archiver_format_time (gint64 utc_us)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *base = NULL;
  gint64           seconds = utc_us / G_USEC_PER_SEC - (utc_us % G_USEC_PER_SEC < 0);

  dt = g_date_time_new_from_unix_utc (seconds);
  if (dt == NULL)
    return NULL;
  base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", base, (int) (utc_us - seconds * G_USEC_PER_SEC));
}

char *
_custos_archiver_client_stream_path (CustosArchiverClient *self, const char *camera_id,
                                     gint64 from_us, gint64 to_us, CustosArchiverStreamKind kind)
{
  GString *path = g_string_new (NULL);

  g_string_append_printf (path, "cameras/%s/stream?", camera_id);
  if (to_us == CUSTOS_ARCHIVER_LIVE)
    g_string_append (path, "live=1");
  else
    {
      g_autofree char *from = _custos_archiver_format_time (from_us);
      g_autofree char *to = _custos_archiver_format_time (to_us);

      g_string_append_printf (path, "from=%s&to=%s", from, to);
    }
  if (privacy_query (self, camera_id, kind))
    g_string_append (path, "&privacy=1");
  return g_string_free (path, FALSE);
}

static gboolean
check_stream_args (const char *camera_id, gint64 from_us, gint64 to_us, GError **error)
{
  if (!camera_id_is_valid (camera_id, error))
    return FALSE;
  if (to_us != CUSTOS_ARCHIVER_LIVE && to_us < from_us)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("The end of the range is before its start"));
      return FALSE;
    }
  if (to_us != CUSTOS_ARCHIVER_LIVE &&
      (from_us < 0 || to_us >= (gint64) 253402300800 * G_USEC_PER_SEC))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("The range is outside the years 1970–9999"));
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  char                    *camera_id;
  gint64                   from_us;
  gint64                   to_us;
  CustosArchiverStreamKind kind;
  gboolean                 resumable;
} OpenStream;

static void
open_stream_free (OpenStream *open)
{
  g_free (open->camera_id);
  g_free (open);
}

static void
stream_opened (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  OpenStream *o = g_task_get_task_data (task);
  GError     *error = NULL;
  g_autoptr (GInputStream) body =
      _custos_archiver_client_send_finish (CUSTOS_ARCHIVER_CLIENT (object), result, &error);

  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task,
                         _custos_archiver_stream_new (CUSTOS_ARCHIVER_CLIENT (object), body,
                                                      o->camera_id, o->from_us, o->to_us, o->kind,
                                                      o->resumable),
                         g_object_unref);
}

static void
open_stream (CustosArchiverClient *self, const char *camera_id, gint64 from_us, gint64 to_us,
             CustosArchiverStreamKind kind, gboolean resumable, GTask *task)
{
  g_autofree char *path = NULL;
  GError          *error = NULL;
  OpenStream      *o = g_new0 (OpenStream, 1);

  o->camera_id = g_strdup (camera_id);
  o->from_us = from_us;
  o->to_us = to_us;
  o->kind = kind;
  o->resumable = resumable;
  g_task_set_task_data (task, o, (GDestroyNotify) open_stream_free);

  if (!check_stream_args (camera_id, from_us, to_us, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  path = _custos_archiver_client_stream_path (self, camera_id, from_us, to_us, kind);
  _custos_archiver_client_send_async (self, path, g_task_get_cancellable (task), stream_opened,
                                      task);
}

void
custos_archiver_client_open_stream_async (CustosArchiverClient *self, const char *camera_id,
                                          gint64 from_us, gint64 to_us,
                                          CustosArchiverStreamKind kind, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_archiver_client_open_stream_async);
  open_stream (self, camera_id, from_us, to_us, kind, FALSE, task);
}

GInputStream *
custos_archiver_client_open_stream_finish (CustosArchiverClient *self, GAsyncResult *result,
                                           GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
custos_archiver_client_open_resumable_stream_async (CustosArchiverClient *self,
                                                    const char *camera_id, gint64 from_us,
                                                    gint64 to_us, CustosArchiverStreamKind kind,
                                                    GCancellable       *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer            user_data)
{
  GTask *task;

  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_archiver_client_open_resumable_stream_async);
  open_stream (self, camera_id, from_us, to_us, kind, TRUE, task);
}

GInputStream *
custos_archiver_client_open_resumable_stream_finish (CustosArchiverClient *self,
                                                     GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
