/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bounded load: 20 clients at once for 5 s (15 fetching ranges over and
 * over, 5 following the live stream), while the camera records. Every
 * request is served and decrypts completely, the live clients get data
 * to the end, and the recording has no gap. Then the stream limit: one
 * stream more than max-streams is refused with 503 and a reason.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

#define N_RANGE_CLIENTS 15
#define N_LIVE_CLIENTS  5
#define LOAD_SECONDS    5
#define MAX_STREAMS     25
#define FPS             15

static const char cameras[] =
  "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
  "[camera lot]\nname=Parking lot\n"
  "source=videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1\n"
  "audio=audiotestsrc is-live=true wave=ticks\nencrypted=true\n";

static TestArchiver *archiver;
static TestClient *alice;
static gint64 recorded_from_us;

typedef struct
{
  guint   requests;
  guint   failures;
  guint64 bytes;
  guint   packets;
  GArray *latencies;   /* gint64 µs per request */
  gint64  last_live_us;
} ClientResult;

static gpointer
range_client (gpointer data)
{
  ClientResult *result = data;
  g_autoptr (SoupSession) session = test_session_new (alice);
  gint64 deadline = g_get_monotonic_time () + LOAD_SECONDS * G_USEC_PER_SEC;
  guint32 seed = g_random_int ();

  result->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  while (g_get_monotonic_time () < deadline)
    {
      /* A 2 s range somewhere in what is recorded and sealed. */
      gint64 span = g_get_real_time () - 1500000 - recorded_from_us - 2 * G_USEC_PER_SEC;
      gint64 from_us = recorded_from_us + (gint64) ((seed = seed * 1103515245 + 12345) % 1000) *
                                          MAX (span, 0) / 1000;
      g_autofree char *from = test_iso (from_us);
      g_autofree char *to = test_iso (from_us + 2 * G_USEC_PER_SEC);
      g_autofree char *path = g_strdup_printf ("/api/v1/cameras/lot/stream?from=%s&to=%s", from,
                                               to);
      gint64 start = g_get_monotonic_time ();
      guint status;
      g_autoptr (GBytes) body = test_get (session, archiver, path, &status);
      gint64 latency = g_get_monotonic_time () - start;

      result->requests++;
      g_array_append_val (result->latencies, latency);
      if (status != SOUP_STATUS_OK)
        {
          g_test_message ("range %s: status %u", from, status);
          result->failures++;
          continue;
        }
      {
        g_autoptr (TestRead) r = test_read_fusion (body, alice);

        result->bytes += g_bytes_get_size (body);
        result->packets += r->packets;
        if (r->packets == 0 || r->ok != r->packets || r->video < 2 * FPS - 2)
          {
            g_test_message ("range %s: %u packets, %u decrypted, %u video", from, r->packets,
                            r->ok, r->video);
            result->failures++;
          }
      }
    }
  return NULL;
}

static gpointer
live_client (gpointer data)
{
  ClientResult *result = data;
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autofree char *url = g_strconcat (archiver->base_url, "/api/v1/cameras/lot/stream?live=1",
                                      NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GTlsCertificate) cert = g_tls_certificate_new_from_files (alice->cert_path,
                                                                       alice->key_path, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + LOAD_SECONDS * G_USEC_PER_SEC;

  result->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  custos_local_key_provider_add_key (provider, alice->key_path, alice->cert_path, NULL, NULL);
  soup_message_set_tls_client_certificate (msg, cert);
  input = soup_session_send (session, msg, NULL, &error);
  result->requests++;
  if (input == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      result->failures++;
      return NULL;
    }
  reader = custos_reader_new (input);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (CustosPacket) packet = custos_reader_next_packet (reader, NULL, &error);

      if (packet == NULL)
        {
          result->failures++;
          break;
        }
      result->packets++;
      result->failures += packet->status != CUSTOS_PACKET_OK;
      result->last_live_us = MAX (result->last_live_us, packet->utc_us);
    }
  return NULL;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* No gap in the recorded video across the load. */
static gint64
largest_video_gap (gint64 from_us,
                   gint64 to_us)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, "lot", TRUE);
  g_autoptr (GArray) pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 gap = 0;

  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (TestRead) r = test_read_file (files->pdata[i], alice);

      for (guint j = 0; j < r->video_pts->len; j++)
        {
          gint64 t = g_array_index (r->video_pts, gint64, j);

          if (t >= from_us && t <= to_us)
            g_array_append_val (pts, t);
        }
    }
  g_array_sort (pts, compare_int64);
  for (guint i = 1; i < pts->len; i++)
    gap = MAX (gap, g_array_index (pts, gint64, i) - g_array_index (pts, gint64, i - 1));
  g_assert_cmpuint (pts->len, >, (to_us - from_us) / G_USEC_PER_SEC * FPS * 9 / 10);
  return gap;
}

static void
test_twenty_clients (void)
{
  ClientResult results[N_RANGE_CLIENTS + N_LIVE_CLIENTS] = { { 0 } };
  GThread *threads[N_RANGE_CLIENTS + N_LIVE_CLIENTS];
  g_autoptr (GArray) latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint requests = 0, failures = 0, packets = 0;
  guint64 bytes = 0;
  gint64 load_start, load_end, gap;
  double seconds;

  g_assert_true (test_archiver_wait_state (archiver, "lot", "recording", 15000));
  recorded_from_us = g_get_real_time () + G_USEC_PER_SEC;
  g_usleep (5 * G_USEC_PER_SEC);

  load_start = g_get_real_time ();
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("client", i < N_RANGE_CLIENTS ? range_client : live_client,
                               &results[i]);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  load_end = g_get_real_time ();
  seconds = (load_end - load_start) / 1e6;

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      requests += results[i].requests;
      failures += results[i].failures;
      bytes += results[i].bytes;
      packets += results[i].packets;
      g_array_append_vals (latencies, results[i].latencies->data, results[i].latencies->len);
      if (i >= N_RANGE_CLIENTS)
        {
          g_test_message ("live client %u: %u packets, last %.2f s before the end", i,
                          results[i].packets, (load_end - results[i].last_live_us) / 1e6);
          g_assert_cmpint (load_end - results[i].last_live_us, <, 1500000);
        }
      g_array_unref (results[i].latencies);
    }
  g_array_sort (latencies, compare_int64);
  g_print ("# load: %u clients for %.1f s: %u requests (%.1f/s), %.1f MiB, %u packets decrypted, "
           "%u failures; range request latency p50 %.0f ms, p95 %.0f ms, max %.0f ms\n",
           N_RANGE_CLIENTS + N_LIVE_CLIENTS, seconds, requests, requests / seconds,
           bytes / 1048576.0, packets, failures,
           g_array_index (latencies, gint64, latencies->len / 2) / 1000.0,
           g_array_index (latencies, gint64, latencies->len * 95 / 100) / 1000.0,
           g_array_index (latencies, gint64, latencies->len - 1) / 1000.0);
  g_assert_cmpuint (failures, ==, 0);
  g_assert_cmpuint (requests, >=, N_RANGE_CLIENTS + N_LIVE_CLIENTS);

  /* Nothing lost while serving: the recording of the load has no gap. */
  g_usleep (1500 * 1000);
  gap = largest_video_gap (load_start, load_end);
  g_print ("# load: largest gap in the recorded video %.0f ms (%d fps)\n", gap / 1000.0, FPS);
  g_assert_cmpint (gap, <, 3 * G_USEC_PER_SEC / FPS);
  g_assert_true (test_archiver_wait_state (archiver, "lot", "recording", 1000));
}

static void
test_stream_limit (void)
{
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (SoupSession) extra = test_session_new (alice);
  g_autoptr (GBytes) body = NULL;
  guint status;

  for (guint i = 0; i < MAX_STREAMS; i++)
    {
      SoupSession *session = test_session_new (alice);
      g_autofree char *url = g_strconcat (archiver->base_url,
                                          "/api/v1/cameras/lot/stream?live=1", NULL);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
      GInputStream *input;

      soup_message_set_tls_client_certificate (msg, g_object_get_data (G_OBJECT (session),
                                                                       "client-cert"));
      input = soup_session_send (session, msg, NULL, NULL);
      g_assert_nonnull (input);
      g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
      g_ptr_array_add (inputs, input);
      g_ptr_array_add (sessions, session);
    }
  body = test_get (extra, archiver, "/api/v1/cameras/lot/stream?live=1", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
  g_assert_nonnull (strstr (g_bytes_get_data (body, NULL), "too many streams"));
  /* The API itself still answers. */
  g_clear_pointer (&body, g_bytes_unref);
  body = test_get (extra, archiver, "/api/v1/health", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *extra = g_strdup_printf ("max-streams=%u\n", MAX_STREAMS);
  int result;

  g_test_init (&argc, &argv, NULL);
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  archiver = test_archiver_new ("load", extra, cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_start (archiver);
  g_test_add_func ("/archiver/load/twenty-clients", test_twenty_clients);
  g_test_add_func ("/archiver/load/stream-limit", test_stream_limit);
  result = g_test_run ();
  test_archiver_stop (archiver);
  g_clear_pointer (&archiver, test_archiver_free);
  g_clear_pointer (&alice, test_client_free);
  return result;
}
