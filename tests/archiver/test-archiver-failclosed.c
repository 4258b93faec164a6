/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fail closed: an encrypted camera records only while a valid certificate
 * is enrolled. When the last one expires, recording stops at once, the
 * open file is finished, and /health says why; an unencrypted camera goes
 * on. A certificate enrolled afterwards starts it again. An archiver
 * whose only enrolled certificate expired long ago never records the
 * encrypted camera at all.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

static const char cameras[] =
  "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\n"
  "[camera vault]\nname=Vault\n"
  "source=videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=15/1\n"
  "encrypted=true\n"
  "[camera yard]\nname=Yard\n"
  "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
  "encrypted=false\n";

static JsonObject *
health_camera (TestArchiver *archiver,
               const char   *camera,
               JsonNode    **keep)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  guint status;

  *keep = test_get_json (session, archiver, "/api/v1/health", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  return test_find_camera (*keep, camera);
}

static void
test_expiry_stops_recording (void)
{
  gint64 now = g_get_real_time ();
  /* Expires 6 s from now (validity has a one-second resolution). */
  gint64 expiry = (now / G_USEC_PER_SEC + 6) * G_USEC_PER_SEC;
  g_autoptr (TestClient) dora = test_client_new ("dora", "ec:P-256", 0, expiry);
  g_autoptr (TestClient) alice = test_client_new ("alice", "ec:P-256", 0, 0);
  g_autoptr (TestArchiver) archiver = test_archiver_new ("expiry", NULL, cameras);
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (TestRead) last = NULL;
  JsonObject *vault;
  const char *reason;

  test_archiver_enrol (archiver, dora);
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "vault", "recording", 15000));

  /* Within about a second of the expiry, not a key period later. */
  g_assert_true (test_archiver_wait_state (archiver, "vault", "stopped",
                                           (expiry - g_get_real_time ()) / 1000 + 3000));
  g_test_message ("stopped %.2f s after the certificate expired",
                  (g_get_real_time () - expiry) / 1e6);
  vault = health_camera (archiver, "vault", &health);
  reason = json_object_get_string_member (vault, "reason");
  g_test_message ("vault: %s", reason);
  g_assert_nonnull (strstr (reason, "expired"));
  g_assert_nonnull (strstr (reason, "CN=dora"));
  g_assert_cmpstr (json_object_get_string_member (test_find_camera (health, "yard"), "state"), ==,
                   "recording");
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (
                       json_object_get_array_member (json_node_get_object (health),
                                                     "certificates"), 0), "state"),
                   ==, "expired");

  /* The file was finished, and nothing was recorded after the expiry. */
  files = test_camera_files (archiver, "vault", TRUE);
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_true (g_str_has_suffix (files->pdata[0], ".fusion"));
  last = test_read_file (files->pdata[0], dora);
  g_test_message ("last packet %.2f s after the expiry", (last->last_us - expiry) / 1e6);
  g_assert_cmpuint (last->ok, ==, last->packets);
  g_assert_cmpint (last->last_us, <=, expiry + 300000);
  g_assert_cmpint (last->last_us, >=, expiry - 2000000);

  /* A valid certificate: recording starts again by itself. */
  test_archiver_enrol (archiver, alice);
  g_assert_true (test_archiver_wait_state (archiver, "vault", "recording", 10000));
  test_archiver_stop (archiver);
}

static void
test_expired_from_the_start (void)
{
  gint64 now = g_get_real_time ();
  g_autoptr (TestClient) eve = test_client_new ("eve", "ec:P-256",
                                                now - (gint64) 400 * 86400 * G_USEC_PER_SEC,
                                                now - (gint64) 30 * 86400 * G_USEC_PER_SEC);
  g_autoptr (TestArchiver) archiver = test_archiver_new ("expired", NULL, cameras);
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (GPtrArray) files = NULL;
  JsonObject *vault;

  test_archiver_enrol (archiver, eve);
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "yard", "recording", 15000));
  g_usleep (1500 * 1000);
  vault = health_camera (archiver, "vault", &health);
  g_test_message ("vault: %s: %s", json_object_get_string_member (vault, "state"),
                  json_object_get_string_member (vault, "reason"));
  g_assert_cmpstr (json_object_get_string_member (vault, "state"), ==, "stopped");
  g_assert_nonnull (strstr (json_object_get_string_member (vault, "reason"), "expired"));
  files = test_camera_files (archiver, "vault", TRUE);
  g_assert_cmpuint (files->len, ==, 0);
  test_archiver_stop (archiver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archiver/fail-closed/expiry", test_expiry_stops_recording);
  g_test_add_func ("/archiver/fail-closed/expired-from-the-start", test_expired_from_the_start);
  return g_test_run ();
}
