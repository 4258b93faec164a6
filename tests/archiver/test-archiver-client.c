/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosArchiverClient against the real archiver: cameras, ranges and
 * health; a range stream that decrypts with the enrolled client's key and
 * is byte for byte what another HTTP client gets; trust by CA, by pinned
 * fingerprint (checked against `openssl x509 -fingerprint -sha256`), and
 * refused without either or with a changed certificate; refusals with the
 * archiver's reason; and a stream that resumes when a proxy in between
 * cuts the connection in the middle of it.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

static const char cameras[] =
    "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
    "[camera gate]\nname=Gate\n"
    "source=videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=320,height=240,framerate=15/1\n"
    "encrypted=true\nprivacy-stream=true\n"
    "[camera hall]\nname=Hall\n"
    "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=false\n";

static TestArchiver *archiver;
static TestClient   *alice;    /* enrolled */
static TestClient   *mallory;  /* enrolled and revoked */
static TestClient   *stranger; /* issued by the CA, never enrolled */

/* Async calls, waited for in the main context */

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static CustosArchiverClient *
client_new (TestClient *who, gboolean with_ca)
{
  g_autoptr (GError) error = NULL;
  CustosArchiverClient *client = custos_archiver_client_new (archiver->base_url, &error);

  g_assert_no_error (error);
  if (with_ca)
    {
      custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error);
      g_assert_no_error (error);
    }
  if (who != NULL)
    {
      g_autoptr (GTlsCertificate) cert =
          g_tls_certificate_new_from_files (who->cert_path, who->key_path, &error);

      g_assert_no_error (error);
      custos_archiver_client_set_client_certificate (client, cert);
    }
  return client;
}

static GPtrArray *
list_cameras (CustosArchiverClient *client, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_archiver_client_list_cameras_async (client, NULL, on_done, &result);
  return custos_archiver_client_list_cameras_finish (client, wait_for (&result), error);
}

static GArray *
get_ranges (CustosArchiverClient *client, const char *camera, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_archiver_client_get_ranges_async (client, camera, NULL, on_done, &result);
  return custos_archiver_client_get_ranges_finish (client, wait_for (&result), error);
}

static GInputStream *
open_stream (CustosArchiverClient *client, const char *camera, gint64 from_us, gint64 to_us,
             gboolean resumable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  if (resumable)
    {
      custos_archiver_client_open_resumable_stream_async (
          client, camera, from_us, to_us, CUSTOS_ARCHIVER_STREAM_ORIGINAL, NULL, on_done, &result);
      return custos_archiver_client_open_resumable_stream_finish (client, wait_for (&result),
                                                                  error);
    }
  custos_archiver_client_open_stream_async (
      client, camera, from_us, to_us, CUSTOS_ARCHIVER_STREAM_ORIGINAL, NULL, on_done, &result);
  return custos_archiver_client_open_stream_finish (client, wait_for (&result), error);
}

/* The whole body, read asynchronously (or synchronously) to its end. */
static GBytes *
read_all (GInputStream *input, gboolean async, GError **error)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GAsyncResult) result = NULL;
  gssize n;

  if (async)
    {
      g_output_stream_splice_async (out, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                    G_PRIORITY_DEFAULT, NULL, on_done, &result);
      n = g_output_stream_splice_finish (out, wait_for (&result), error);
    }
  else
    n = g_output_stream_splice (out, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error);
  if (n < 0)
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* A recorded span of gate at least `seconds` long, through the client. */
static void
wait_for_recording (gint64 seconds, gint64 *from_us, gint64 *to_us)
{
  g_autoptr (CustosArchiverClient) client = client_new (NULL, TRUE);
  gint64 deadline = g_get_monotonic_time () + (seconds + 15) * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) ranges = get_ranges (client, "gate", &error);

      g_assert_no_error (error);
      if (ranges->len > 0)
        {
          CustosTimeRange *r = &g_array_index (ranges, CustosTimeRange, 0);

          *from_us = r->from_us;
          *to_us = r->to_us;
          if (r->to_us - r->from_us >= seconds * G_USEC_PER_SEC)
            return;
        }
      g_usleep (200 * 1000);
    }
  g_error ("gate did not record %" G_GINT64_FORMAT " s", seconds);
}

/* The fingerprint as openssl prints it, in the client's form. */
static char *
openssl_fingerprint (const char *cert_path)
{
  g_autoptr (GBytes) out =
      custos_test_openssl ("x509", "-in", cert_path, "-noout", "-fingerprint", "-sha256", NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  const char      *eq = strchr (text, '=');
  GString         *hex = g_string_new (NULL);

  g_assert_nonnull (eq);
  for (const char *p = eq + 1; *p; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (hex, g_ascii_tolower (*p));
  g_assert_cmpuint (hex->len, ==, 64);
  return g_string_free (hex, FALSE);
}

static char *
server_cert_path (void)
{
  g_autofree char *dir = g_path_get_dirname (test_pki_ca_cert ());

  return g_build_filename (dir, "server.cert.pem", NULL);
}

/* Tests */

static void
test_cameras (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (NULL, TRUE);
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonObject) health = NULL;
  g_autoptr (GError) error = NULL;
  CustosCameraInfo *gate, *hall;

  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 15000));
  g_assert_true (test_archiver_wait_state (archiver, "hall", "recording", 15000));
  list = list_cameras (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  gate = list->pdata[0];
  hall = list->pdata[1];
  g_assert_cmpstr (custos_camera_info_get_id (gate), ==, "gate");
  g_assert_cmpstr (custos_camera_info_get_name (gate), ==, "Gate");
  g_assert_true (custos_camera_info_get_encrypted (gate));
  /* privacy-stream=true: a privacy-protected recording can be asked for. */
  g_assert_true (custos_camera_info_get_privacy (gate));
  g_assert_true (custos_camera_info_get_recording (gate));
  g_assert_cmpstr (custos_camera_info_get_state (gate), ==, "recording");
  g_assert_cmpint (custos_camera_info_get_last_packet_us (gate), >,
                   g_get_real_time () - 10 * G_USEC_PER_SEC);
  g_assert_cmpstr (custos_camera_info_get_id (hall), ==, "hall");
  g_assert_false (custos_camera_info_get_encrypted (hall));
  g_assert_false (custos_camera_info_get_privacy (hall));

  custos_archiver_client_get_health_async (client, NULL, on_done, &result);
  health = custos_archiver_client_get_health_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (health, "status"), ==, "ok");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (health, "cameras")), ==,
                    2);
}

static void
test_ranges_and_errors (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (NULL, TRUE);
  g_autoptr (GArray) ranges = NULL;
  g_autoptr (GError) error = NULL;
  gint64 from_us, to_us;

  wait_for_recording (3, &from_us, &to_us);
  ranges = get_ranges (client, "gate", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranges->len, >=, 1);
  g_assert_cmpint (g_array_index (ranges, CustosTimeRange, 0).from_us, ==, from_us);
  g_assert_cmpint (g_array_index (ranges, CustosTimeRange, 0).to_us, >=, to_us);

  g_clear_pointer (&ranges, g_array_unref);
  ranges = get_ranges (client, "nowhere", &error);
  g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no such camera"));
  g_clear_error (&error);

  ranges = get_ranges (client, "../etc", &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The privacy-protected recording has its own ranges: none, while no
   * Privacy Protector publishes it. */
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GArray) privacy = NULL;

    custos_archiver_client_get_stream_ranges_async (client, "gate", CUSTOS_ARCHIVER_STREAM_PRIVACY,
                                                    NULL, on_done, &result);
    privacy = custos_archiver_client_get_ranges_finish (client, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (privacy->len, ==, 0);
  }
  /* hall has none at all. */
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GInputStream) input = NULL;
    gint64 now = g_get_real_time ();

    custos_archiver_client_open_stream_async (client, "hall", now - 3 * G_USEC_PER_SEC, now,
                                              CUSTOS_ARCHIVER_STREAM_PRIVACY, NULL, on_done,
                                              &result);
    input = custos_archiver_client_open_stream_finish (client, wait_for (&result), &error);
    g_assert_null (input);
    g_test_message ("%s", error->message);
    g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "privacy"));
  }
}

static void
test_range_stream (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (alice, TRUE);
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) reference = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *path = NULL;
  gint64           first_us, last_us, from_us, to_us;
  guint            status;

  wait_for_recording (6, &first_us, &last_us);
  from_us = first_us + G_USEC_PER_SEC;
  to_us = from_us + 4 * G_USEC_PER_SEC;
  input = open_stream (client, "gate", from_us, to_us, FALSE, &error);
  g_assert_no_error (error);
  body = read_all (input, TRUE, &error);
  g_assert_no_error (error);
  read = test_read_fusion (body, alice);
  g_test_message ("%" G_GSIZE_FORMAT " bytes, %u packets, %u video", g_bytes_get_size (body),
                  read->packets, read->video);
  g_assert_cmpuint (read->packets, >, 0);
  g_assert_cmpuint (read->ok, ==, read->packets);
  g_assert_cmpuint (read->altered, ==, 0);
  g_assert_cmpuint (read->missing, ==, 0);
  g_assert_cmpint (read->first_us, <=, from_us);
  g_assert_cmpint (read->last_us, >=, to_us - 200000);
  g_assert_true (test_fusion_has_recipient (body, alice->fingerprint));

  /* What another HTTP client gets for the same request, byte for byte. */
  from = test_iso (from_us);
  to = test_iso (to_us);
  path = g_strdup_printf ("/api/v1/cameras/gate/stream?from=%s&to=%s", from, to);
  reference = test_get (session, archiver, path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_true (g_bytes_equal (body, reference));

  /* The unencrypted camera needs no client certificate. */
  {
    g_autoptr (CustosArchiverClient) anonymous = client_new (NULL, TRUE);
    g_autoptr (GInputStream) plain_input = NULL;
    g_autoptr (GBytes) plain = NULL;
    g_autoptr (TestRead) plain_read = NULL;

    plain_input = open_stream (anonymous, "hall", from_us, to_us, FALSE, &error);
    g_assert_no_error (error);
    plain = read_all (plain_input, FALSE, &error);
    g_assert_no_error (error);
    plain_read = test_read_fusion (plain, NULL);
    g_assert_cmpuint (plain_read->packets, >, 0);
    g_assert_cmpuint (plain_read->ok, ==, plain_read->packets);
  }
}

static void
test_trust (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (NULL, FALSE);
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) peer = NULL;
  g_autofree char *cert_path = server_cert_path ();
  g_autofree char *expected = openssl_fingerprint (cert_path);
  g_autofree char *wrong = NULL;
  g_autofree char *colons = NULL;

  /* Neither CA nor pin: refused, and the certificate is shown. */
  g_assert_null (custos_archiver_client_get_peer_fingerprint (client));
  list = list_cameras (client, &error);
  g_assert_null (list);
  g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED);
  g_test_message ("%s", error->message);
  g_assert_cmpstr (custos_archiver_client_get_peer_fingerprint (client), ==, expected);
  g_assert_nonnull (strstr (error->message, expected));
  peer = custos_archiver_client_dup_peer_certificate (client);
  g_assert_nonnull (peer);
  g_clear_error (&error);

  /* Pinned (as openssl prints it, with colons and in capitals): accepted. */
  colons = g_ascii_strup (expected, -1);
  {
    GString *s = g_string_new (NULL);

    for (guint i = 0; i < 64; i += 2)
      g_string_append_printf (s, "%s%.2s", i ? ":" : "", colons + i);
    g_free (colons);
    colons = g_string_free (s, FALSE);
  }
  g_assert_true (custos_archiver_client_set_pinned_fingerprint (client, colons, &error));
  g_assert_no_error (error);
  list = list_cameras (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A pin that no longer matches names both fingerprints. */
  wrong = g_strdup (expected);
  wrong[10] = wrong[10] == '0' ? '1' : '0';
  g_assert_true (custos_archiver_client_set_pinned_fingerprint (client, wrong, NULL));
  list = list_cameras (client, &error);
  g_assert_null (list);
  g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                  CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_nonnull (strstr (error->message, wrong));
  g_clear_error (&error);

  /* Not a fingerprint at all. */
  g_assert_false (custos_archiver_client_set_pinned_fingerprint (client, "abcd", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A CA that did not issue the archiver's certificate: refused, even
   * with the right pin (the CA is what is checked when set). */
  g_assert_true (custos_archiver_client_set_pinned_fingerprint (client, expected, NULL));
  g_assert_true (custos_archiver_client_set_ca_file (client, alice->cert_path, &error));
  list = list_cameras (client, &error);
  g_assert_null (list);
  g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* The right CA. */
  g_assert_true (custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error));
  list = list_cameras (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
}

static void
expect_refused (TestClient *who, int code, const char *reason_part)
{
  g_autoptr (CustosArchiverClient) client = client_new (who, TRUE);
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time ();

  input = open_stream (client, "gate", now - 4 * G_USEC_PER_SEC, now - 2 * G_USEC_PER_SEC, FALSE,
                       &error);
  g_assert_null (input);
  g_test_message ("%s: %s", who ? who->name : "no certificate", error->message);
  g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR, code);
  g_assert_nonnull (strstr (error->message, reason_part));
}

static void
test_refused (void)
{
  expect_refused (stranger, CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN, "is not enrolled");
  expect_refused (mallory, CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN, "is revoked");
  /* No client certificate for an encrypted camera's original stream. */
  expect_refused (NULL, CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN,
                  "needs an enrolled client certificate");
}

/* A TCP proxy in front of the archiver that cuts its first connection
 * after `cut_after` bytes from the archiver: the client's TLS connection
 * breaks in the middle of the body, as with a network failure. It runs in
 * a thread of its own, so that the client may read synchronously. */

typedef struct
{
  GSocketService *service;
  GMainContext   *context;
  GMainLoop      *loop;
  GThread        *thread;
  guint           port;
  guint64         cut_after;
  guint           connections;
} Proxy;

typedef struct
{
  Proxy             *proxy;
  GSocketConnection *down;
  GSocketConnection *up;
  guint64            sent;
  guint64            limit; /* G_MAXUINT64: none */
  gboolean           closed;
} Pipe;

typedef struct
{
  Pipe          *pipe;
  GInputStream  *from;
  GOutputStream *to;
  gboolean       counted;
  guint8         buf[16384];
} Pump;

static void
pipe_cut (Pipe *pipe)
{
  if (pipe->closed)
    return;
  pipe->closed = TRUE;
  g_socket_close (g_socket_connection_get_socket (pipe->down), NULL);
  g_socket_close (g_socket_connection_get_socket (pipe->up), NULL);
}

static void
pump_read (Pump *pump);

static void
pump_written (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Pump *pump = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL) ||
      pump->pipe->closed || (pump->counted && pump->pipe->sent >= pump->pipe->limit))
    {
      pipe_cut (pump->pipe);
      return; /* the pump and pipe stay allocated: a test's worth of bytes */
    }
  pump_read (pump);
}

static void
pump_got (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Pump  *pump = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (n <= 0 || pump->pipe->closed)
    {
      pipe_cut (pump->pipe);
      return;
    }
  if (pump->counted)
    {
      n = MIN ((guint64) n, pump->pipe->limit - pump->pipe->sent);
      pump->pipe->sent += n;
    }
  g_output_stream_write_all_async (pump->to, pump->buf, n, G_PRIORITY_DEFAULT, NULL, pump_written,
                                   pump);
}

static void
pump_read (Pump *pump)
{
  g_input_stream_read_async (pump->from, pump->buf, sizeof pump->buf, G_PRIORITY_DEFAULT, NULL,
                             pump_got, pump);
}

static void
pump_start (Pipe *pipe, GIOStream *from, GIOStream *to, gboolean counted)
{
  Pump *pump = g_new0 (Pump, 1);

  pump->pipe = pipe;
  pump->from = g_io_stream_get_input_stream (from);
  pump->to = g_io_stream_get_output_stream (to);
  pump->counted = counted;
  pump_read (pump);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, Proxy *proxy)
{
  g_autoptr (GSocketClient) connector = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Pipe *pipe = g_new0 (Pipe, 1);

  pipe->proxy = proxy;
  pipe->down = g_object_ref (connection);
  pipe->up = g_socket_client_connect_to_host (connector, "127.0.0.1", archiver->port, NULL, &error);
  if (pipe->up == NULL)
    {
      /* The archiver is away (restarting): the client sees a drop. */
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_object_unref (pipe->down);
      g_free (pipe);
      return TRUE;
    }
  pipe->limit = g_atomic_int_add (&proxy->connections, 1) == 0 ? proxy->cut_after : G_MAXUINT64;
  pump_start (pipe, G_IO_STREAM (pipe->down), G_IO_STREAM (pipe->up), FALSE);
  pump_start (pipe, G_IO_STREAM (pipe->up), G_IO_STREAM (pipe->down), TRUE);
  return TRUE;
}

static gpointer
proxy_thread (gpointer user_data)
{
  Proxy *proxy = user_data;
  g_autoptr (GError) error = NULL;
  guint port;

  g_main_context_push_thread_default (proxy->context);
  proxy->service = g_socket_service_new ();
  port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (proxy->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (proxy->service, "incoming", G_CALLBACK (on_incoming), proxy);
  g_socket_service_start (proxy->service);
  g_atomic_int_set (&proxy->port, port);
  g_main_loop_run (proxy->loop);
  g_socket_service_stop (proxy->service);
  g_socket_listener_close (G_SOCKET_LISTENER (proxy->service));
  g_clear_object (&proxy->service);
  g_main_context_pop_thread_default (proxy->context);
  return NULL;
}

static void
proxy_start (Proxy *proxy, guint64 cut_after)
{
  proxy->cut_after = cut_after;
  proxy->context = g_main_context_new ();
  proxy->loop = g_main_loop_new (proxy->context, FALSE);
  proxy->thread = g_thread_new ("proxy", proxy_thread, proxy);
  while (g_atomic_int_get (&proxy->port) == 0)
    g_usleep (1000);
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
proxy_stop (Proxy *proxy)
{
  g_main_context_invoke (proxy->context, quit_loop, proxy->loop);
  g_thread_join (proxy->thread);
  g_main_loop_unref (proxy->loop);
  g_main_context_unref (proxy->context);
}

static void
check_resumed (gboolean async, guint64 cut_after)
{
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autoptr (CustosArchiverClient) client = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) reference = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  gint64 first_us, last_us, from_us, to_us;
  guint  status;
  Proxy  proxy = { NULL };

  wait_for_recording (8, &first_us, &last_us);
  from_us = first_us + G_USEC_PER_SEC;
  to_us = from_us + 6 * G_USEC_PER_SEC;
  proxy_start (&proxy, cut_after);
  url = g_strdup_printf ("https://127.0.0.1:%u", proxy.port);
  client = custos_archiver_client_new (url, &error);
  g_assert_no_error (error);
  g_assert_true (custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error));
  cert = g_tls_certificate_new_from_files (alice->cert_path, alice->key_path, &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);

  /* The plain stream breaks off where the proxy cuts it. */
  input = open_stream (client, "gate", from_us, to_us, FALSE, &error);
  g_assert_no_error (error);
  body = read_all (input, async, &error);
  if (body != NULL)
    g_test_message ("plain stream: ended after %" G_GSIZE_FORMAT " bytes", g_bytes_get_size (body));
  else
    {
      g_test_message ("plain stream: %s", error->message);
      g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                      CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE);
    }
  g_assert_true (body == NULL || g_bytes_get_size (body) < cut_after);
  g_clear_error (&error);
  g_clear_pointer (&body, g_bytes_unref);
  g_clear_object (&input);

  /* The resumable one goes on, on a new connection. */
  g_atomic_int_set (&proxy.connections, 0);
  input = open_stream (client, "gate", from_us, to_us, TRUE, &error);
  g_assert_no_error (error);
  body = read_all (input, async, &error);
  g_assert_no_error (error);
  g_test_message ("resumable stream: %" G_GSIZE_FORMAT " bytes over %u connections",
                  g_bytes_get_size (body), proxy.connections);
  g_assert_cmpuint (proxy.connections, >=, 2);

  /* Nothing repeated, nothing missing: the same bytes as an unbroken
   * request, every packet decrypts and every seal verifies. */
  from = test_iso (from_us);
  to = test_iso (to_us);
  path = g_strdup_printf ("/api/v1/cameras/gate/stream?from=%s&to=%s", from, to);
  reference = test_get (session, archiver, path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (g_bytes_get_size (body), ==, g_bytes_get_size (reference));
  g_assert_true (g_bytes_equal (body, reference));
  read = test_read_fusion (body, alice);
  g_assert_cmpuint (read->packets, >, 0);
  g_assert_cmpuint (read->ok, ==, read->packets);
  g_assert_cmpuint (read->missing, ==, 0);
  g_assert_cmpuint (read->damaged, ==, 0);

  proxy_stop (&proxy);
}

/* custos-cli fetch, ported to the client */

static int
run_cli (char **err_out, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  va_list          args;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CUSTOS_CLI"));
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  proc =
      g_subprocess_newv ((const char *const *) argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, err_out, &error);
  g_assert_no_error (error);
  g_test_message ("custos-cli %s: exit %d: %s", first, g_subprocess_get_exit_status (proc),
                  *err_out);
  return g_subprocess_get_exit_status (proc);
}

static void
test_cli_fetch (void)
{
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autoptr (GBytes) reference = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = server_cert_path ();
  g_autofree char *fingerprint = openssl_fingerprint (cert_path);
  g_autofree char *output = g_build_filename (archiver->dir, "fetched.fusion", NULL);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *wrong = g_strdup (fingerprint);
  gint64           first_us, last_us;
  gsize            len;
  guint            status;

  wait_for_recording (4, &first_us, &last_us);
  from = test_iso (first_us + G_USEC_PER_SEC);
  to = test_iso (first_us + 3 * G_USEC_PER_SEC);
  path = g_strdup_printf ("/api/v1/cameras/gate/stream?from=%s&to=%s", from, to);
  url = g_strconcat (archiver->base_url, path, NULL);
  reference = test_get (session, archiver, path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);

  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&err, "fetch", url, "--ca", test_pki_ca_cert (), "--key",
                              alice->key_path, "--cert", alice->cert_path, "-o", output, NULL),
                     ==, 0);
    g_file_get_contents (output, &contents, &len, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (contents, len, g_bytes_get_data (reference, NULL),
                     g_bytes_get_size (reference));
    g_remove (output);
  }
  {
    /* No trust given: refused, with the fingerprint to compare. */
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&err, "fetch", url, "--key", alice->key_path, "--cert",
                              alice->cert_path, "-o", output, NULL),
                     ==, 2);
    g_assert_nonnull (strstr (err, fingerprint));
    g_assert_nonnull (strstr (err, "--pin-fingerprint"));
    g_assert_false (g_file_test (output, G_FILE_TEST_EXISTS));
  }
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&err, "fetch", url, "--pin-fingerprint", fingerprint, "--key",
                              alice->key_path, "--cert", alice->cert_path, "-o", output, "-q",
                              NULL),
                     ==, 0);
    g_free (contents);
    g_file_get_contents (output, &contents, &len, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (contents, len, g_bytes_get_data (reference, NULL),
                     g_bytes_get_size (reference));
  }
  {
    g_autofree char *err = NULL;

    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    g_assert_cmpint (run_cli (&err, "fetch", url, "--pin-fingerprint", wrong, "-o", output, NULL),
                     ==, 2);
    g_assert_nonnull (strstr (err, "changed"));
    g_assert_nonnull (strstr (err, wrong));
  }
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&err, "fetch", url, "--ca", test_pki_ca_cert (), "--key",
                              stranger->key_path, "--cert", stranger->cert_path, "-o", output,
                              NULL),
                     ==, 5);
    g_assert_nonnull (strstr (err, "is not enrolled"));
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *cameras_url = g_strconcat (archiver->base_url, "/api/v1/cameras", NULL);

    g_assert_cmpint (
        run_cli (&err, "fetch", cameras_url, "--ca", test_pki_ca_cert (), "-o", output, NULL), ==,
        1);
    g_assert_nonnull (strstr (err, "not the URL of an archiver's stream"));
  }
}

/* A key on a PKCS#11 token (SoftHSM) with a certificate from the test CA */

static char *softhsm_conf;

static void
test_pkcs11 (void)
{
  const char      *module = "/usr/lib/softhsm/libsofthsm2.so";
  g_autofree char *dir = g_build_filename (archiver->dir, "card", NULL);
  g_autofree char *pki = g_path_get_dirname (test_pki_ca_cert ());
  g_autofree char *ca_key = g_build_filename (pki, "ca.key.pem", NULL);
  g_autofree char *pub_der = g_build_filename (dir, "pub.der", NULL);
  g_autofree char *pub_pem = g_build_filename (dir, "pub.pem", NULL);
  g_autofree char *throwaway = g_build_filename (dir, "throwaway.key", NULL);
  g_autofree char *csr = g_build_filename (dir, "card.csr", NULL);
  g_autofree char *cert_der = g_build_filename (dir, "card.der", NULL);
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GTlsCertificate) wrong = NULL;
  g_autoptr (CustosArchiverClient) client = client_new (NULL, TRUE);
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;

  if (softhsm_conf == NULL || !g_file_test (module, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("SoftHSM is not installed");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  custos_test_run_args ("softhsm2-util", "--init-token", "--free", "--label", "client-card",
                        "--pin", "1234", "--so-pin", "5678", NULL);
  custos_test_run_args ("pkcs11-tool", "--module", module, "--token-label", "client-card",
                        "--login", "--pin", "1234", "--keypairgen", "--key-type", "EC:prime256v1",
                        "--id", "01", "--label", "card", NULL);
  custos_test_run_args ("pkcs11-tool", "--module", module, "--token-label", "client-card",
                        "--read-object", "--type", "pubkey", "--id", "01", "-o", pub_der, NULL);
  g_bytes_unref (custos_test_openssl ("pkey", "-pubin", "-inform", "DER", "-in", pub_der, "-out",
                                      pub_pem, NULL));
  g_bytes_unref (custos_test_openssl ("req", "-new", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", throwaway,
                                      "-subj", "/CN=card", "-out", csr, NULL));
  g_bytes_unref (custos_test_openssl (
      "x509", "-req", "-in", csr, "-CA", test_pki_ca_cert (), "-CAkey", ca_key, "-force_pubkey",
      pub_pem, "-days", "30", "-set_serial", "4242", "-outform", "DER", "-out", cert_der, NULL));
  custos_test_run_args ("pkcs11-tool", "--module", module, "--token-label", "client-card",
                        "--login", "--pin", "1234", "--write-object", cert_der, "--type", "cert",
                        "--id", "01", "--label", "card", NULL);

  /* Bad URIs are refused before the card is touched. */
  g_assert_null (custos_archiver_client_certificate_new_from_pkcs11 ("pkcs11:token=client-card",
                                                                     "1234", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The right PIN: the handshake is signed on the card. */
  cert = custos_archiver_client_certificate_new_from_pkcs11 ("pkcs11:token=client-card;id=%01",
                                                             "1234", &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);
  list = list_cameras (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A wrong PIN: the archiver asked for the certificate, which could not
   * be used. */
  wrong = custos_archiver_client_certificate_new_from_pkcs11 ("pkcs11:token=client-card;id=%01",
                                                              "9999", &error);
  if (wrong == NULL)
    g_assert_nonnull (error);
  else
    {
      custos_archiver_client_set_client_certificate (client, wrong);
      list = list_cameras (client, &error);
      g_assert_null (list);
      g_test_message ("%s", error->message);
      g_assert_error (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                      CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_REQUIRED);
    }
}

static void
test_resume_async (void)
{
  /* In the middle of the data. */
  check_resumed (TRUE, 60000);
}

static void
test_resume_sync (void)
{
  /* After some DATA records (TLS records carry up to 16 KiB). */
  check_resumed (FALSE, 30000);
}

static void
test_resume_early (void)
{
  /* Before a whole record arrived: asked again from the start. */
  check_resumed (TRUE, 3500);
}

/* A live stream cut in the middle goes on with what comes next: no packet
 * twice, time only going forward. */
static void
test_resume_live (void)
{
  g_autoptr (CustosArchiverClient) client = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) body = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  Proxy            proxy = { NULL };

  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 15000));
  proxy_start (&proxy, 30000);
  url = g_strdup_printf ("https://127.0.0.1:%u", proxy.port);
  client = custos_archiver_client_new (url, &error);
  g_assert_no_error (error);
  g_assert_true (custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error));
  cert = g_tls_certificate_new_from_files (alice->cert_path, alice->key_path, &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);

  input = open_stream (client, "gate", 0, CUSTOS_ARCHIVER_LIVE, TRUE, &error);
  g_assert_no_error (error);
  while (data->len < 90000)
    {
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GBytes) chunk = NULL;

      g_input_stream_read_bytes_async (input, 16384, G_PRIORITY_DEFAULT, NULL, on_done, &result);
      chunk = g_input_stream_read_bytes_finish (input, wait_for (&result), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (chunk), >, 0);
      g_byte_array_append (data, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
    }
  g_input_stream_close (input, NULL, NULL);
  g_test_message ("live: %u bytes over %u connections", data->len, proxy.connections);
  g_assert_cmpuint (proxy.connections, >=, 2);

  body = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  read = test_read_fusion (body, alice);
  g_test_message ("%u packets, %u video, %" G_GUINT64_FORMAT " missing", read->packets, read->video,
                  read->missing);
  g_assert_cmpuint (read->video, >, 30);
  g_assert_cmpuint (read->ok, ==, read->packets);
  g_assert_cmpuint (read->altered, ==, 0);
  for (guint i = 1; i < read->video_pts->len; i++)
    g_assert_cmpint (g_array_index (read->video_pts, gint64, i), >,
                     g_array_index (read->video_pts, gint64, i - 1));
  proxy_stop (&proxy);
}

/* The archiver stops in the middle of a live stream and starts again: the
 * stream goes on once it is back. */
static void
test_restart_live (void)
{
  g_autoptr (CustosArchiverClient) client = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) body = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  gsize            before = 0;
  Proxy            proxy = { NULL };

  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 15000));
  /* The proxy only keeps the client's address while the port changes. */
  proxy_start (&proxy, G_MAXUINT64);
  url = g_strdup_printf ("https://127.0.0.1:%u", proxy.port);
  client = custos_archiver_client_new (url, &error);
  g_assert_no_error (error);
  g_assert_true (custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error));
  cert = g_tls_certificate_new_from_files (alice->cert_path, alice->key_path, &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);

  input = open_stream (client, "gate", 0, CUSTOS_ARCHIVER_LIVE, TRUE, &error);
  g_assert_no_error (error);
  while (data->len < 100000)
    {
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GBytes) chunk = NULL;

      if (before == 0 && data->len >= 30000)
        {
          before = data->len;
          test_archiver_stop (archiver);
          test_archiver_start (archiver);
          g_test_message ("archiver restarted after %" G_GSIZE_FORMAT " bytes", before);
        }
      g_input_stream_read_bytes_async (input, 16384, G_PRIORITY_DEFAULT, NULL, on_done, &result);
      chunk = g_input_stream_read_bytes_finish (input, wait_for (&result), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (chunk), >, 0);
      g_byte_array_append (data, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
    }
  g_input_stream_close (input, NULL, NULL);
  g_test_message ("live: %u bytes over %u connections", data->len, proxy.connections);
  g_assert_cmpuint (proxy.connections, >=, 2);

  body = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  read = test_read_fusion (body, alice);
  g_test_message ("%u packets, %u video, %" G_GUINT64_FORMAT " missing", read->packets, read->video,
                  read->missing);
  g_assert_cmpuint (read->ok, ==, read->packets);
  g_assert_cmpuint (read->altered, ==, 0);
  /* Video from after the restart. */
  g_assert_cmpint (read->last_us, >, g_get_real_time () - 5 * G_USEC_PER_SEC);
  for (guint i = 1; i < read->video_pts->len; i++)
    g_assert_cmpint (g_array_index (read->video_pts, gint64, i), >,
                     g_array_index (read->video_pts, gint64, i - 1));
  proxy_stop (&proxy);
}

int
main (int argc, char *argv[])
{
  int result;

  g_test_init (&argc, &argv, NULL);
  /* Before anything loads p11-kit modules in this process. */
  if (g_file_test ("/usr/lib/softhsm/libsofthsm2.so", G_FILE_TEST_EXISTS))
    softhsm_conf = custos_test_softhsm_setup ();
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  mallory = test_client_new ("mallory", "ec:P-256", 0, 0);
  stranger = test_client_new ("stranger", "ec:P-256", 0, 0);
  archiver = test_archiver_new ("client", NULL, cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_enrol (archiver, mallory);
  test_archiver_revoke (archiver, mallory);
  test_archiver_start (archiver);

  g_test_add_func ("/archiver-client/cameras", test_cameras);
  g_test_add_func ("/archiver-client/ranges", test_ranges_and_errors);
  g_test_add_func ("/archiver-client/range-stream", test_range_stream);
  g_test_add_func ("/archiver-client/trust", test_trust);
  g_test_add_func ("/archiver-client/refused", test_refused);
  g_test_add_func ("/archiver-client/cli-fetch", test_cli_fetch);
  g_test_add_func ("/archiver-client/pkcs11", test_pkcs11);
  g_test_add_func ("/archiver-client/resume-async", test_resume_async);
  g_test_add_func ("/archiver-client/resume-sync", test_resume_sync);
  g_test_add_func ("/archiver-client/resume-early", test_resume_early);
  g_test_add_func ("/archiver-client/resume-live", test_resume_live);
  g_test_add_func ("/archiver-client/restart-live", test_restart_live);
  result = g_test_run ();

  test_archiver_stop (archiver);
  g_clear_pointer (&archiver, test_archiver_free);
  g_clear_pointer (&alice, test_client_free);
  g_clear_pointer (&mallory, test_client_free);
  g_clear_pointer (&stranger, test_client_free);
  g_free (softhsm_conf);
  return result;
}
