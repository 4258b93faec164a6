/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kill -9 while recording, then start again: what was written is kept,
 * the interrupted file is cut after its last sealed segment and renamed,
 * at most about a second is lost, every seal still verifies, and the
 * camera records on.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

static const char cameras[] =
  "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=3\n"
  "[camera dock]\nname=Dock\n"
  "source=videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1\n"
  "audio=audiotestsrc is-live=true wave=ticks\nencrypted=true\n";

static void
test_kill_and_restart (void)
{
  g_autoptr (TestClient) alice = test_client_new ("alice", "ec:P-256", 0, 0);
  g_autoptr (TestArchiver) archiver = test_archiver_new ("crash", NULL, cameras);
  g_autoptr (SoupSession) session = test_session_new (NULL);
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (JsonNode) ranges = NULL;
  g_autofree char *log = NULL;
  gint64 first_us = G_MAXINT64, last_us = G_MININT64, killed_us;
  guint parts = 0, status;
  guint64 packets = 0;

  test_archiver_enrol (archiver, alice);
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "dock", "recording", 15000));
  /* Past the first file (3 s), into the second, at any point of a
   * segment (they are half a second long). */
  g_usleep (4200 * 1000 + g_random_int_range (0, 600 * 1000));
  killed_us = g_get_real_time ();
  test_archiver_kill (archiver);

  before = test_camera_files (archiver, "dock", TRUE);
  for (guint i = 0; i < before->len; i++)
    parts += g_str_has_suffix (before->pdata[i], ".part");
  g_assert_cmpuint (parts, ==, 1);

  test_archiver_start (archiver);
  g_file_get_contents (archiver->log_path, &log, NULL, NULL);
  g_assert_nonnull (strstr (log, "recovered after an interruption"));

  /* Everything from before the crash, whole and verified. */
  after = test_camera_files (archiver, "dock", TRUE);
  for (guint i = 0; i < after->len; i++)
    {
      const char *path = after->pdata[i];
      g_autoptr (TestRead) r = NULL;
      g_autofree char *from = NULL;
      g_autofree char *to = NULL;

      if (g_str_has_suffix (path, ".part"))
        continue;
      r = test_read_file (path, alice);
      from = test_iso (r->first_us);
      to = test_iso (r->last_us);
      g_test_message ("%s: %u packets, %s to %s", path, r->packets, from, to);
      g_assert_cmpuint (r->ok, ==, r->packets);
      g_assert_cmpuint (r->altered + r->missing + r->unsigned_packets + r->damaged, ==, 0);
      if (r->first_us < killed_us)
        {
          first_us = MIN (first_us, r->first_us);
          last_us = MAX (last_us, r->last_us);
          packets += r->packets;
        }
    }
  g_test_message ("kept %" G_GUINT64_FORMAT " packets; lost %.0f ms before the kill",
                  packets, (killed_us - last_us) / 1000.0);
  g_print ("# kill -9: lost the last %.0f ms\n", (killed_us - last_us) / 1000.0);
  g_assert_cmpint (killed_us - first_us, >, 4 * G_USEC_PER_SEC);
  g_assert_cmpint (killed_us - last_us, <=, G_USEC_PER_SEC);

  /* The archive's index and ranges have it, and recording goes on. */
  g_assert_true (test_archiver_wait_state (archiver, "dock", "recording", 15000));
  ranges = test_get_json (session, archiver, "/api/v1/cameras/dock/ranges", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  {
    JsonArray *list = json_object_get_array_member (json_node_get_object (ranges), "ranges");
    JsonObject *r0 = json_array_get_object_element (list, 0);

    g_assert_cmpint (json_object_get_int_member (r0, "from_us"), ==, first_us);
  }
  test_archiver_stop (archiver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archiver/crash/kill-and-restart", test_kill_and_restart);
  return g_test_run ();
}
