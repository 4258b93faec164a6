/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli create --input on a Matroska file with B-frames, exported to
 * MP4, checked as a user would with ffprobe and ffmpeg: Matroska stores
 * no decode times, so the recorder makes them; the export must have every
 * frame of the source, its duration, decode times that strictly increase
 * and never come after their frame's presentation time, and pictures that
 * decode to the source's, frame for frame.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gst/gst.h>

#include <string.h>

#include "custos-test-cli.h"
#include "custos-test-util.h"

#define N_FRAMES 60 /* 2 s at 30 fps */
#define FRAME_S (1.0 / 30)

/* Lines of a tool's output, the empty last one left out. */
static GStrv
run_lines (const char *const *argv)
{
  g_autofree char *text = custos_test_run_output (argv);

  return g_strsplit (g_strstrip (text), "\n", -1);
}

/* In this process: a sanitized build's plugin path is no place for an
 * unsanitized gst-launch-1.0. */
static void
make_source (const char *path)
{
  g_autofree char *description = g_strdup_printf (
      "videotestsrc num-buffers=%u pattern=ball ! "
      "video/x-raw,width=320,height=240,framerate=30/1,format=I420 ! "
      "x264enc threads=1 bframes=2 b-pyramid=false key-int-max=30 speed-preset=superfast ! "
      "h264parse ! matroskamux ! filesink name=sink",
      N_FRAMES);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) message = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "location", path, NULL);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
}

static double
duration_s (const char *path)
{
  const char      *argv[] = { "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                              "csv=p=0", path, NULL };
  g_autofree char *text = custos_test_run_output (argv);

  return g_ascii_strtod (text, NULL);
}

/* "pts,dts" of each video packet in file order (decode order); ffprobe
 * prints N/A for a time the file does not have. */
static GStrv
packet_times (const char *path)
{
  const char *argv[] = {
    "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,dts", "-of",
    "csv=p=0", path, NULL
  };

  return run_lines (argv);
}

/* MD5 of each decoded frame, in the order ffmpeg outputs them. */
static GPtrArray *
frame_md5s (const char *path)
{
  const char *argv[] = { "ffmpeg", "-v", "error",    "-i", path, "-map",
                         "0:v",    "-f", "framemd5", "-",  NULL };
  g_auto (GStrv) lines = run_lines (argv);
  GPtrArray *md5s = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *comma = strrchr (lines[i], ',');

      if (lines[i][0] != '#' && comma != NULL)
        g_ptr_array_add (md5s, g_strdup (g_strstrip (comma + 1)));
    }
  return md5s;
}

/* The source really reorders: some PTS in decode order go back. */
static void
assert_has_b_frames (const char *path)
{
  g_auto (GStrv) packets = packet_times (path);
  gint64 previous = G_MININT64;
  guint  back = 0;

  for (guint i = 0; packets[i] != NULL; i++)
    {
      gint64 pts = g_ascii_strtoll (packets[i], NULL, 10);

      back += pts < previous;
      previous = pts;
    }
  g_assert_cmpuint (back, >, 0);
}

static void
assert_decode_times (const char *path)
{
  g_auto (GStrv) packets = packet_times (path);
  gint64 previous = G_MININT64;

  g_assert_cmpuint (g_strv_length (packets), ==, N_FRAMES);
  for (guint i = 0; packets[i] != NULL; i++)
    {
      g_auto (GStrv) times = g_strsplit (packets[i], ",", 2);
      gint64 pts, dts;

      g_assert_cmpuint (g_strv_length (times), ==, 2);
      if (g_str_equal (times[0], "N/A") || g_str_equal (times[1], "N/A"))
        g_error ("packet %u has no time: %s", i, packets[i]);
      pts = g_ascii_strtoll (times[0], NULL, 10);
      dts = g_ascii_strtoll (times[1], NULL, 10);
      if (dts <= previous || dts > pts)
        g_error ("packet %u: DTS %" G_GINT64_FORMAT " after DTS %" G_GINT64_FORMAT
                 " with PTS %" G_GINT64_FORMAT,
                 i, dts, previous, pts);
      previous = dts;
    }
}

static void
test_create_mkv_b_frames (void)
{
  g_autofree char *mkv = custos_test_tmp_path ("b-frames.mkv");
  g_autofree char *fusion = custos_test_tmp_path ("b-frames.fusion");
  g_autofree char *mp4 = custos_test_tmp_path ("b-frames.mp4");
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autoptr (CustosCliResult) create = NULL;
  g_autoptr (CustosCliResult) export = NULL;
  g_autoptr (GPtrArray) source_md5s = NULL;
  g_autoptr (GPtrArray) export_md5s = NULL;

  if (!custos_test_have_program ("ffmpeg") || !custos_test_have_program ("ffprobe"))
    {
      g_test_skip ("ffmpeg and ffprobe are needed to check exports independently");
      return;
    }
  custos_test_make_cert ("ec:P-256", "b-frames", &cert, &key);
  make_source (mkv);
  assert_has_b_frames (mkv);
  g_assert_cmpuint (custos_test_video_frames (mkv, NULL), ==, N_FRAMES);

  create =
      custos_test_cli_run ("create", "-q", "-o", fusion, "--input", mkv, "--recipient", cert, NULL);
  custos_test_cli_assert_status (create, 0);
  export =
      custos_test_cli_run ("export", "-q", "--key", key, "--cert", cert, "-o", mp4, fusion, NULL);
  custos_test_cli_assert_status (export, 0);

  g_assert_cmpuint (custos_test_video_frames (mp4, NULL), ==, N_FRAMES);
  assert_decode_times (mp4);
  source_md5s = frame_md5s (mkv);
  export_md5s = frame_md5s (mp4);
  g_assert_cmpuint (export_md5s->len, ==, source_md5s->len);
  for (guint i = 0; i < source_md5s->len; i++)
    g_assert_cmpstr (export_md5s->pdata[i], ==, source_md5s->pdata[i]);
  g_assert_cmpfloat_with_epsilon (duration_s (mp4), duration_s (mkv), FRAME_S);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);

  g_test_add_func ("/cli/create/mkv-b-frames", test_create_mkv_b_frames);

  return g_test_run ();
}
