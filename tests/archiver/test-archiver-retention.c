/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Retention: with one-second files, files older than retention-seconds
 * and the oldest files beyond retention-mb are removed while recording;
 * the archiver's index and ranges follow, and the open file is never
 * touched.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

static const char cameras[] =
  "[recording]\nperiod-ms=1000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=1\n"
  "[camera old]\nname=Old\n"
  "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
  "encrypted=false\nretention-seconds=3\n"
  "[camera big]\nname=Big\n"
  "source=videotestsrc is-live=true pattern=snow ! video/x-raw,width=320,height=240,framerate=15/1\n"
  "encrypted=false\nretention-mb=0.25\n";

static void
test_retention (void)
{
  g_autoptr (TestArchiver) archiver = test_archiver_new ("retention", "retention-interval=1\n",
                                                         cameras);
  g_autoptr (SoupSession) session = test_session_new (NULL);
  g_autoptr (GPtrArray) old_files = NULL;
  g_autoptr (GPtrArray) big_files = NULL;
  g_autoptr (JsonNode) ranges = NULL;
  guint64 big_bytes = 0;
  gint64 now;
  guint status;

  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "old", "recording", 15000));
  g_usleep (8 * G_USEC_PER_SEC);
  now = g_get_real_time ();

  old_files = test_camera_files (archiver, "old", FALSE);
  g_assert_cmpuint (old_files->len, >, 0);
  for (guint i = 0; i < old_files->len; i++)
    {
      g_autoptr (TestRead) r = test_read_file (old_files->pdata[i], NULL);

      /* retention-seconds, plus a file's length and a retention interval. */
      g_assert_cmpint (now - r->last_us, <, 3 * G_USEC_PER_SEC + 2500000);
    }
  ranges = test_get_json (session, archiver, "/api/v1/cameras/old/ranges", &status);
  g_assert_cmpint (now - json_object_get_int_member (
                     json_array_get_object_element (
                       json_object_get_array_member (json_node_get_object (ranges), "ranges"),
                       0), "from_us"), <, 3 * G_USEC_PER_SEC + 2500000);

  big_files = test_camera_files (archiver, "big", FALSE);
  for (guint i = 0; i < big_files->len; i++)
    {
      GStatBuf st;

      g_assert_cmpint (g_stat (big_files->pdata[i], &st), ==, 0);
      big_bytes += st.st_size;
    }
  g_test_message ("old: %u files left; big: %u files, %" G_GUINT64_FORMAT " bytes",
                  old_files->len, big_files->len, big_bytes);
  g_assert_cmpuint (big_bytes, <=, 256 * 1024 + 128 * 1024);
  g_assert_true (test_archiver_wait_state (archiver, "big", "recording", 1000));
  test_archiver_stop (archiver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archiver/retention", test_retention);
  return g_test_run ();
}
