/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The archiver records two test cameras (one encrypted with audio, one
 * not) and serves them over HTTPS with client certificates. One archiver
 * runs for the whole program; the tests run in order against it:
 * the API, a range fetched and decrypted by an enrolled client and
 * compared with what is on disk, who is refused and why, hostile
 * requests, live latency, an expired certificate that never gets keys,
 * and enrolment and revocation while recording.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "custos-test-fusion.h"
#include "archiver-test-util.h"
#include "custos-test-util.h"

#define PERIOD_MS 2000
#define FPS       15

static const char cameras[] =
  "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
  "[camera gate]\nname=Gate\n"
  "source=videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1\n"
  "audio=audiotestsrc is-live=true wave=ticks\nencrypted=true\n"
  "[camera hall]\nname=Hall\n"
  "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
  "encrypted=false\n";

static TestArchiver *archiver;
static TestClient *alice;    /* enrolled from the start */
static TestClient *bob;      /* enrolled while recording (RSA) */
static TestClient *mallory;  /* enrolled, then revoked while recording */
static TestClient *eve;      /* enrolled, but expired long ago */
static TestClient *stranger; /* issued by the CA, never enrolled */

/* A recorded span of the camera at least `seconds` long, sealed. */
static void
wait_for_recording (const char *camera,
                    gint64      seconds,
                    gint64     *from_us,
                    gint64     *to_us)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  g_autofree char *path = g_strdup_printf ("/api/v1/cameras/%s/ranges", camera);
  gint64 deadline = g_get_monotonic_time () + (seconds + 15) * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      guint status;
      g_autoptr (JsonNode) node = test_get_json (session, archiver, path, &status);
      JsonArray *ranges = json_object_get_array_member (json_node_get_object (node), "ranges");

      g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
      if (json_array_get_length (ranges) > 0)
        {
          JsonObject *r = json_array_get_object_element (ranges, 0);

          *from_us = json_object_get_int_member (r, "from_us");
          *to_us = json_object_get_int_member (r, "to_us");
          if (*to_us - *from_us >= seconds * G_USEC_PER_SEC)
            return;
        }
      g_usleep (200 * 1000);
    }
  g_error ("camera %s did not record %" G_GINT64_FORMAT " s", camera, seconds);
}

static GBytes *
fetch_range (TestClient *client,
             const char *camera,
             gint64      from_us,
             gint64      to_us,
             guint      *status)
{
  g_autoptr (SoupSession) session = test_session_new (client);
  g_autofree char *from = test_iso (from_us);
  g_autofree char *to = test_iso (to_us);
  g_autofree char *path = g_strdup_printf ("/api/v1/cameras/%s/stream?from=%s&to=%s", camera,
                                           from, to);

  return test_get (session, archiver, path, status);
}

static char *
reason_of (GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                   NULL))
    return NULL;
  o = json_node_get_object (json_parser_get_root (parser));
  return g_strdup (json_object_get_string_member_with_default (o, "reason", NULL));
}

/* Everything on disk for a camera, read with client's key. */
static GPtrArray *
read_disk (const char *camera,
           TestClient *client)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, camera, TRUE);
  GPtrArray *reads = g_ptr_array_new_with_free_func ((GDestroyNotify) test_read_free);

  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (reads, test_read_file (files->pdata[i], client));
  return reads;
}

/* Tests */

static void
test_api (void)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  g_autoptr (JsonNode) cameras_node = NULL;
  g_autoptr (JsonNode) health = NULL;
  JsonArray *list, *certs;
  guint status;

  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 15000));
  g_assert_true (test_archiver_wait_state (archiver, "hall", "recording", 15000));
  cameras_node = test_get_json (session, archiver, "/api/v1/cameras", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  list = json_object_get_array_member (json_node_get_object (cameras_node), "cameras");
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "id"),
                   ==, "gate");
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (list, 0),
                                                 "encrypted"));
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (list, 1),
                                                  "encrypted"));
  g_assert_true (json_object_has_member (json_array_get_object_element (list, 0), "privacy"));

  health = test_get_json (session, archiver, "/api/v1/health", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  certs = json_object_get_array_member (json_node_get_object (health), "certificates");
  g_assert_cmpuint (json_array_get_length (certs), ==, 3);
  for (guint i = 0; i < json_array_get_length (certs); i++)
    {
      JsonObject *c = json_array_get_object_element (certs, i);
      const char *fp = json_object_get_string_member (c, "fingerprint");
      const char *state = json_object_get_string_member (c, "state");

      g_assert_nonnull (json_object_get_string_member (c, "not_after"));
      g_assert_cmpstr (state, ==, g_str_equal (fp, eve->fingerprint) ? "expired" : "valid");
    }
  /* Two valid recipients: the expired one is not encrypted to. */
  g_assert_cmpint (json_object_get_int_member (test_find_camera (health, "gate"), "recipients"),
                   ==, 2);
}

static void
test_range (void)
{
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) cameras_body = NULL;
  g_autoptr (TestRead) wire = NULL;
  g_autoptr (GPtrArray) disk = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *path = NULL;
  gint64 first_us, last_us, from_us, to_us;
  guint status, compared = 0, disk_video = 0, wire_video = 0;

  wait_for_recording ("gate", 6, &first_us, &last_us);
  from_us = first_us + G_USEC_PER_SEC;
  to_us = from_us + 4 * G_USEC_PER_SEC;
  from = test_iso (from_us);
  to = test_iso (to_us);
  path = g_strdup_printf ("/api/v1/cameras/gate/stream?from=%s&to=%s", from, to);

  /* A first request on the connection, so that the stream request comes
   * on a kept-alive one (libsoup then has no peer certificate for it). */
  cameras_body = test_get (session, archiver, "/api/v1/cameras", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  body = test_get (session, archiver, path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  wire = test_read_fusion (body, alice);
  g_test_message ("range %s – %s: %" G_GSIZE_FORMAT " bytes, %u packets, %u video",
                  from, to, g_bytes_get_size (body), wire->packets, wire->video);
  g_assert_cmpuint (wire->packets, >, 0);
  g_assert_cmpuint (wire->ok, ==, wire->packets);
  g_assert_cmpuint (wire->altered, ==, 0);
  g_assert_cmpuint (wire->missing, ==, 0);
  g_assert_cmpuint (wire->unsigned_packets, ==, 0);
  /* Every packet and every descriptor (FILE_HEADER, STREAM) verified. */
  g_assert_cmpuint (wire->verified, >=, wire->packets);
  g_assert_cmpint (wire->first_us, <=, from_us);
  g_assert_cmpint (wire->last_us, >=, to_us - 200000);
  /* Only alice's key records: mallory is a recipient on disk, not here. */
  g_assert_true (test_fusion_has_recipient (body, alice->fingerprint));
  g_assert_false (test_fusion_has_recipient (body, mallory->fingerprint));

  /* The same packets, byte for byte, as the files on disk hold. */
  disk = read_disk ("gate", alice);
  for (guint i = 0; i < disk->len; i++)
    {
      TestRead *r = disk->pdata[i];
      GHashTableIter iter;
      const char *key, *hash;

      g_hash_table_iter_init (&iter, r->payloads);
      while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &hash))
        {
          gint64 t = g_ascii_strtoll (strchr (key, ':') + 1, NULL, 10);

          if (t < from_us || t > to_us)
            continue;
          g_assert_cmpstr (g_hash_table_lookup (wire->payloads, key), ==, hash);
          compared++;
          disk_video += g_str_has_prefix (key, "0:");
        }
    }
  for (guint i = 0; i < wire->video_pts->len; i++)
    {
      gint64 t = g_array_index (wire->video_pts, gint64, i);

      wire_video += t >= from_us && t <= to_us;
    }
  g_test_message ("compared %u packets with the files; %u video frames in 4 s", compared,
                  wire_video);
  g_assert_cmpuint (wire_video, ==, disk_video);
  g_assert_cmpuint (wire_video, >=, 4 * FPS - 3);
  g_assert_cmpuint (wire_video, <=, 4 * FPS + 1);
}

static void
expect_refused (TestClient *client,
                const char *camera,
                const char *reason_part)
{
  gint64 now = g_get_real_time ();
  guint status;
  g_autoptr (GBytes) body = fetch_range (client, camera, now - 4 * G_USEC_PER_SEC,
                                         now - 2 * G_USEC_PER_SEC, &status);
  g_autofree char *reason = body ? reason_of (body) : NULL;

  g_test_message ("%s: %u %s", client ? client->name : "no certificate", status, reason);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_nonnull (strstr (reason, reason_part));
}

static void
test_who_gets_what (void)
{
  g_autofree char *rogue_cert = NULL;
  g_autofree char *rogue_key = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (TestRead) plain_read = NULL;
  gint64 first_us, last_us;
  guint status;

  /* A camera without encryption: anyone with TLS, no certificate. */
  wait_for_recording ("hall", 3, &first_us, &last_us);
  plain = fetch_range (NULL, "hall", first_us, last_us, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  plain_read = test_read_fusion (plain, NULL);
  g_assert_cmpuint (plain_read->packets, >, 0);
  g_assert_cmpuint (plain_read->ok, ==, plain_read->packets);

  expect_refused (NULL, "gate", "needs an enrolled client certificate");
  expect_refused (stranger, "gate", "not enrolled");
  expect_refused (eve, "gate", "expired");

  /* A certificate from another CA does not get through the handshake. */
  custos_test_make_cert ("ec:P-256", "rogue", &rogue_cert, &rogue_key);
  {
    TestClient rogue = { (char *) "rogue", rogue_cert, rogue_key, NULL, NULL };
    g_autoptr (SoupSession) session = test_session_new (&rogue);
    g_autoptr (GBytes) body = test_get (session, archiver, "/api/v1/cameras", &status);

    g_assert_cmpuint (status, ==, 0);
  }
}

static guint
raw_request (const char *request,
             gsize       len)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GSocketConnectable) identity = g_network_address_new ("127.0.0.1", archiver->port);
  g_autoptr (GTlsDatabase) db = g_tls_file_database_new (archiver->ca_cert, NULL);
  g_autoptr (GError) error = NULL;
  char reply[64] = { 0 };
  gssize n;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", archiver->port, NULL, &error);
  g_assert_no_error (error);
  tls = g_tls_client_connection_new (G_IO_STREAM (conn), identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), db);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    return 0;
  g_output_stream_write_all (g_io_stream_get_output_stream (tls), request, len, NULL, NULL, NULL);
  n = g_input_stream_read (g_io_stream_get_input_stream (tls), reply, sizeof reply - 1, NULL,
                           NULL);
  if (n > 12 && g_str_has_prefix (reply, "HTTP/1."))
    return (guint) g_ascii_strtoull (reply + 9, NULL, 10);
  return 0;
}

/* TLS 1.2 at least: an older handshake gets nowhere. */
static gboolean
handshake_with (const char *version)
{
  g_autofree char *connect = g_strdup_printf ("127.0.0.1:%u", archiver->port);
  const char *argv[] = { "openssl", "s_client", version, "-cipher", "DEFAULT@SECLEVEL=0",
                         "-connect", connect, "-CAfile", archiver->ca_cert, NULL };
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;

  custos_test_try_run (argv, empty, &out, &err);
  text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  return strstr (text, "Cipher is (NONE)") == NULL && strstr (text, "Cipher is ") != NULL;
}

static void
test_tls_versions (void)
{
  g_assert_false (handshake_with ("-tls1"));
  g_assert_false (handshake_with ("-tls1_1"));
  g_assert_true (handshake_with ("-tls1_2"));
  g_assert_true (handshake_with ("-tls1_3"));
}

static void
test_hostile (void)
{
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autofree char *long_path = NULL;
  g_autofree char *huge = NULL;
  static const struct
  {
    const char *path;
    guint       status;
  } cases[] = {
    { "/api/v1/cameras/../../../etc/passwd", SOUP_STATUS_NOT_FOUND },
    /* libsoup itself may refuse these (400) before we see them (404). */
    { "/api/v1/cameras/%2e%2e%2fstorage/ranges", 0 },
    { "/api/v1/cameras/gate%00/ranges", 0 },
    { "/api/v1/cameras/nosuch/stream?live=1", SOUP_STATUS_NOT_FOUND },
    { "/api/v1/cameras/gate/ranges/x/y", SOUP_STATUS_NOT_FOUND },
    { "/api/v1/", SOUP_STATUS_NOT_FOUND },
    { "/", SOUP_STATUS_NOT_FOUND },
    { "/api/v1/cameras/gate/stream", SOUP_STATUS_BAD_REQUEST },
    { "/api/v1/cameras/gate/stream?from=yesterday&to=now", SOUP_STATUS_BAD_REQUEST },
    { "/api/v1/cameras/gate/stream?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
      SOUP_STATUS_BAD_REQUEST },
    /* Longer than max-range-hours. */
    { "/api/v1/cameras/gate/stream?from=1970-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
      SOUP_STATUS_BAD_REQUEST },
    /* Nothing recorded then. */
    { "/api/v1/cameras/gate/stream?from=2001-01-01T00:00:00Z&to=2001-01-01T00:10:00Z",
      SOUP_STATUS_NOT_FOUND },
    { "/api/v1/cameras/gate/stream?from=%ff%fe&to=%00", SOUP_STATUS_BAD_REQUEST },
  };
  guint status;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) body = test_get (session, archiver, cases[i].path, &status);

      g_test_message ("%s -> %u", cases[i].path, status);
      if (cases[i].status != 0)
        g_assert_cmpuint (status, ==, cases[i].status);
      else
        g_assert_true (status == SOUP_STATUS_BAD_REQUEST || status == SOUP_STATUS_NOT_FOUND);
    }
  /* Not GET. */
  {
    g_autofree char *url = g_strconcat (archiver->base_url, "/api/v1/cameras", NULL);
    g_autoptr (SoupMessage) msg = soup_message_new ("DELETE", url);
    g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);

    g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  }
  /* Raw junk and an oversized request line: an error or a closed
   * connection, and the archiver carries on. */
  status = raw_request ("\x16\x03junk\r\n\r\n", 10);
  g_assert_true (status == 0 || status >= 400);
  long_path = g_strnfill (100000, 'a');
  huge = g_strdup_printf ("GET /api/v1/%s HTTP/1.1\r\nHost: x\r\n\r\n", long_path);
  status = raw_request (huge, strlen (huge));
  g_assert_true (status == 0 || status >= 400);
  g_assert_true (test_archiver_is_running (archiver));
  g_assert_nonnull (test_get (session, archiver, "/api/v1/health", &status));
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
}

typedef struct
{
  gint64 subscribed_us;
  GArray *latencies;   /* gint64 µs, packets recorded after subscribing */
  guint   ok;
  guint   packets;
} LiveResult;

static void
read_live (TestClient *client,
           gint64      seconds,
           LiveResult *result)
{
  g_autoptr (SoupSession) session = test_session_new (client);
  g_autofree char *url = g_strconcat (archiver->base_url, "/api/v1/cameras/gate/stream?live=1",
                                      NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (CustosLocalKeyProvider) provider =
      custos_test_provider (client->cert_path, client->key_path);
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  gint64 end_us;

  soup_message_set_tls_client_certificate (msg, g_tls_certificate_new_from_files (
                                                  client->cert_path, client->key_path, NULL));
  result->subscribed_us = g_get_real_time ();
  input = soup_session_send (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  reader = custos_reader_new (input);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  result->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  end_us = result->subscribed_us + seconds * G_USEC_PER_SEC;
  while (g_get_real_time () < end_us)
    {
      g_autoptr (CustosPacket) packet = custos_reader_next_packet (reader, NULL, &error);
      gint64 latency;

      g_assert_no_error (error);
      g_assert_nonnull (packet);
      result->packets++;
      result->ok += packet->status == CUSTOS_PACKET_OK;
      /* Audio and video are captured at their PTS; what came from the
       * backlog (the file since its last sync point) is not live. */
      if (packet->utc_us < result->subscribed_us + 500000)
        continue;
      latency = g_get_real_time () - packet->utc_us;
      g_array_append_val (result->latencies, latency);
    }
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
test_live (void)
{
  LiveResult live = { 0 };
  gint64 median, p95, max;
  guint n;

  read_live (alice, 3, &live);
  n = live.latencies->len;
  g_assert_cmpuint (n, >, 2 * FPS);
  g_array_sort (live.latencies, compare_int64);
  median = g_array_index (live.latencies, gint64, n / 2);
  p95 = g_array_index (live.latencies, gint64, n * 95 / 100);
  max = g_array_index (live.latencies, gint64, n - 1);
  g_test_message ("live: %u packets (%u decrypted), latency from capture: median %.0f ms, "
                  "p95 %.0f ms, max %.0f ms", live.packets, live.ok, median / 1000.0,
                  p95 / 1000.0, max / 1000.0);
  g_print ("# live latency (capture to client): median %.0f ms, p95 %.0f ms, max %.0f ms\n",
           median / 1000.0, p95 / 1000.0, max / 1000.0);
  g_assert_cmpuint (live.ok, ==, live.packets);
  g_assert_cmpint (max, <, G_USEC_PER_SEC);
  g_array_unref (live.latencies);
}

static void
test_expired_never_gets_keys (void)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, "gate", TRUE);

  g_assert_cmpuint (files->len, >, 0);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *contents = NULL;
      gsize len;
      g_autoptr (GBytes) bytes = NULL;

      g_assert_true (g_file_get_contents (files->pdata[i], &contents, &len, NULL));
      bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
      g_assert_false (test_fusion_has_recipient (bytes, eve->fingerprint));
      g_assert_true (test_fusion_has_recipient (bytes, alice->fingerprint));
    }
}

/* Packets of the camera's files recorded before / after a time that the
 * client can or cannot open. */
static void
count_around (TestClient *client,
              gint64      t_us,
              gint64      margin_us,
              guint      *ok_before,
              guint      *locked_before,
              guint      *ok_after,
              guint      *locked_after)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, "gate", TRUE);

  *ok_before = *locked_before = *ok_after = *locked_after = 0;
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (GFile) file = g_file_new_for_path (files->pdata[i]);
      g_autoptr (GFileInputStream) input = g_file_read (file, NULL, NULL);
      g_autoptr (CustosReader) reader = custos_reader_new (G_INPUT_STREAM (input));
      g_autoptr (CustosLocalKeyProvider) provider =
          custos_test_provider (client->cert_path, client->key_path);
      CustosPacket *packet;

      custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
      while ((packet = custos_reader_next_packet (reader, NULL, NULL)) != NULL)
        {
          gboolean ok = packet->status == CUSTOS_PACKET_OK;

          if (packet->utc_us < t_us)
            ok ? (*ok_before)++ : (*locked_before)++;
          else if (packet->utc_us > t_us + margin_us)
            ok ? (*ok_after)++ : (*locked_after)++;
          custos_packet_unref (packet);
        }
    }
}

static void
test_enrolment_and_revocation (void)
{
  g_autoptr (SoupSession) session = test_session_new (mallory);
  g_autoptr (GBytes) body = NULL;
  g_autofree char *reason = NULL;
  guint ok_before, locked_before, ok_after, locked_after, status;
  /* Acts from the next key period; keys are announced up to a period early. */
  gint64 margin = 2 * PERIOD_MS * 1000 + 500000;
  gint64 t_us;

  t_us = g_get_real_time ();
  test_archiver_enrol (archiver, bob);
  test_archiver_revoke (archiver, mallory);
  g_usleep (1500 * 1000);

  body = test_get (session, archiver, "/api/v1/cameras", &status);
  reason = reason_of (body);
  g_test_message ("mallory after revocation: %u %s", status, reason);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_nonnull (strstr (reason, "revoked"));

  /* Let the next periods be recorded and sealed. */
  g_usleep ((margin + 2 * G_USEC_PER_SEC));
  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 1000));

  count_around (bob, t_us, margin, &ok_before, &locked_before, &ok_after, &locked_after);
  g_test_message ("bob (enrolled later): before %u ok / %u locked, after %u ok / %u locked",
                  ok_before, locked_before, ok_after, locked_after);
  g_assert_cmpuint (ok_before, ==, 0);
  g_assert_cmpuint (locked_before, >, 0);
  g_assert_cmpuint (ok_after, >, 0);
  g_assert_cmpuint (locked_after, ==, 0);

  count_around (mallory, t_us, margin, &ok_before, &locked_before, &ok_after, &locked_after);
  g_test_message ("mallory (revoked): before %u ok / %u locked, after %u ok / %u locked",
                  ok_before, locked_before, ok_after, locked_after);
  g_assert_cmpuint (ok_before, >, 0);
  g_assert_cmpuint (ok_after, ==, 0);
  g_assert_cmpuint (locked_after, >, 0);

  count_around (alice, t_us, margin, &ok_before, &locked_before, &ok_after, &locked_after);
  g_assert_cmpuint (locked_before + locked_after, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  gint64 now, result;

  g_test_init (&argc, &argv, NULL);
  now = g_get_real_time ();
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  bob = test_client_new ("bob", "rsa:2048", 0, 0);
  mallory = test_client_new ("mallory", "ec:P-256", 0, 0);
  stranger = test_client_new ("stranger", "ec:P-256", 0, 0);
  eve = test_client_new ("eve", "ec:P-256", now - (gint64) 400 * 86400 * G_USEC_PER_SEC,
                         now - (gint64) 30 * 86400 * G_USEC_PER_SEC);
  archiver = test_archiver_new ("serve", "max-range-hours=1\nidle-timeout=5\n", cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_enrol (archiver, mallory);
  test_archiver_enrol (archiver, eve);
  test_archiver_start (archiver);

  g_test_add_func ("/archiver/api", test_api);
  g_test_add_func ("/archiver/range", test_range);
  g_test_add_func ("/archiver/who-gets-what", test_who_gets_what);
  g_test_add_func ("/archiver/hostile", test_hostile);
  g_test_add_func ("/archiver/tls-versions", test_tls_versions);
  g_test_add_func ("/archiver/live", test_live);
  g_test_add_func ("/archiver/expired-never-gets-keys", test_expired_never_gets_keys);
  g_test_add_func ("/archiver/enrolment-and-revocation", test_enrolment_and_revocation);
  result = g_test_run ();

  test_archiver_stop (archiver);
  g_clear_pointer (&archiver, test_archiver_free);
  g_clear_pointer (&alice, test_client_free);
  g_clear_pointer (&bob, test_client_free);
  g_clear_pointer (&mallory, test_client_free);
  g_clear_pointer (&stranger, test_client_free);
  g_clear_pointer (&eve, test_client_free);
  return (int) result;
}
