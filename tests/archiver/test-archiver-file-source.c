/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A camera that plays a Matroska file (source=filesrc ! matroskademux,
 * encode=none) of H.264 with B-frames, recorded by the real archiver.
 * Matroska stores no decode times, so the archiver makes them: the
 * recorded file must hold every frame of the clip once, with decode
 * times that strictly increase and never come after their frame's
 * presentation time, and presentation times one frame apart once sorted.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gio/gio.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

#define N_FRAMES 60 /* 2 s at 30 fps */
#define FRAME_US (G_USEC_PER_SEC / 30)

static void
make_clip (const char *path)
{
  g_autofree char *location = g_strdup_printf ("location=%s", path);
  const char      *argv[] = { "gst-launch-1.0",
                              "-q",
                              "videotestsrc",
                              "num-buffers=" G_STRINGIFY (N_FRAMES),
                              "pattern=ball",
                              "!",
                              "video/x-raw,width=160,height=120,framerate=30/1,format=I420",
                              "!",
                              "x264enc",
                              "threads=1",
                              "bframes=2",
                              "b-pyramid=false",
                              "key-int-max=30",
                              "speed-preset=superfast",
                              "!",
                              "h264parse",
                              "!",
                              "matroskamux",
                              "!",
                              "filesink",
                              location,
                              NULL };
  g_autoptr (GBytes) unused = custos_test_run (argv, NULL);
}

static int
compare_int64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
test_mkv_b_frames (void)
{
  g_autofree char *clip = NULL;
  g_autofree char *cameras = NULL;
  g_autoptr (TestArchiver) archiver = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInputStream) input = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GArray) pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  CustosPacket *packet;
  gint64        last_dts = G_MININT64;
  guint         back = 0;

  /* Makes the tests' own TMPDIR too. */
  test_pki_init ();
  clip = g_build_filename (custos_test_tmpdir (), "clip.mkv", NULL);
  make_clip (clip);
  cameras = g_strdup_printf ("[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\n"
                             "[camera film]\nname=Film\n"
                             "source=filesrc location=\"%s\" ! matroskademux\n"
                             "encode=none\nencrypted=false\n",
                             clip);
  archiver = test_archiver_new ("file-source", NULL, cameras);
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "film", "recording", 20000));
  /* The clip plays in real time, then the source ends. */
  g_assert_true (test_archiver_wait_state (archiver, "film", "failed", 20000));
  test_archiver_stop (archiver);

  /* The first file is the clip's first playing. */
  files = test_camera_files (archiver, "film", FALSE);
  g_assert_cmpuint (files->len, >=, 1);
  file = g_file_new_for_path (files->pdata[0]);
  input = g_file_read (file, NULL, &error);
  g_assert_no_error (error);
  reader = custos_reader_new (G_INPUT_STREAM (input));
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      g_assert_cmpint (packet->status, ==, CUSTOS_PACKET_OK);
      if (packet->stream == 0)
        {
          if (pts->len > 0)
            back += packet->pts_us < g_array_index (pts, gint64, pts->len - 1);
          if (packet->dts_us <= last_dts || packet->dts_us > packet->pts_us)
            g_error ("video packet %u: DTS %" G_GINT64_FORMAT " after DTS %" G_GINT64_FORMAT
                     " with PTS %" G_GINT64_FORMAT,
                     pts->len, packet->dts_us, last_dts, packet->pts_us);
          last_dts = packet->dts_us;
          g_array_append_val (pts, packet->pts_us);
        }
      custos_packet_unref (packet);
    }
  g_assert_no_error (error);

  g_assert_cmpuint (pts->len, ==, N_FRAMES);
  /* Recorded in decode order, with the clip's reordering. */
  g_assert_cmpuint (back, >, 0);
  g_array_sort (pts, compare_int64);
  for (guint i = 1; i < pts->len; i++)
    {
      gint64 step = g_array_index (pts, gint64, i) - g_array_index (pts, gint64, i - 1);

      /* Matroska keeps milliseconds. */
      g_assert_cmpint (ABS (step - FRAME_US), <=, 1000);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archiver/file-source/mkv-b-frames", test_mkv_b_frames);
  return g_test_run ();
}
