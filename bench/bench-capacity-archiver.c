/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Capacity cost of encryption, measured as an archiver's capacity is (not
 * a test: it prints figures).
 *
 *   CUSTOS_ARCHIVER=…/custos-archiver bench-capacity-archiver CAMERAS WINDOW-SECONDS ROUNDS
 *
 * Encodes 10 s of 1080p30 H.264 at 4 Mbit/s once and repeats it into a
 * Matroska clip long enough for a round. Each round starts four real
 * custos-archiver processes at once (TLS server up, enrolment folder
 * watched), one per configuration: plaintext, and encrypted to 1, 5 and
 * 20 enrolled certificates. Each records CAMERAS cameras, each
 * "source=filesrc location=CLIP ! matroskademux", encode=none: the
 * per-camera pipeline of custos-camera-source (demuxer, h264parse, an
 * appsink that plays in real time), the recording thread, CustosWriter,
 * and the segment files in the storage folder (written, fdatasync'd at
 * each seal).
 *
 * Once every camera has written for a while, each process's CPU time (all
 * threads, user and system, /proc/PID/stat) is taken over WINDOW-SECONDS
 * of wall time: CPU per camera-second = CPU / (CAMERAS × window). The
 * archivers run side by side so that the load of a shared machine weighs
 * on all four alike: per configuration, the output has the best round
 * and the median over the rounds of its CPU divided by plaintext's in
 * the same round. Output: "name value" lines; bench/run turns them into
 * percentages.
 *
 * Needs the test PKI helpers (tests/archiver) for the CA, the server,
 * signer and client certificates, made with the openssl CLI.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <glib/gstdio.h>
#include <gst/app/app.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver-test-util.h"
#include "bench-clip.h"

#define CLIP_SECONDS 10
#define WARMUP_S 6
#define MAX_CERTS 20
#define N_CONFIGS G_N_ELEMENTS (recipient_counts)

static const guint recipient_counts[] = { 0, 1, 5, MAX_CERTS };

typedef struct
{
  guint      cameras;
  guint      window_s;
  guint      rounds;
  char      *clip;
  GPtrArray *clients; /* TestClient */
  guint      run;
} Bench;

typedef struct
{
  double  cpu_s;
  double  wall_s;
  guint64 bytes; /* written to the cameras' files during the window */
  guint   slow;  /* cameras that wrote less than half of what they get */
  double  ratio; /* CPU against plaintext's in the same round, median */
} Result;

/* The clip */

static GstElement *
launch (const char *description)
{
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);

  if (pipeline == NULL)
    g_error ("%s", error->message);
  return pipeline;
}

static GPtrArray *
encode_units (void)
{
  g_autofree char *source = bench_clip_snow (CLIP_SECONDS * 30);
  g_autofree char *description =
      bench_clip_description (source, "speed-preset=ultrafast threads=2");
  g_autoptr (GstElement) pipeline = launch (description);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_sample_unref);
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    g_ptr_array_add (samples, sample);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return samples;
}

/* The 10 s encoded once, repeated with advancing timestamps (no second
 * encode), muxed into Matroska as a camera's recording would be. */
static void
make_clip (Bench *bench, guint seconds, double *mbit_s)
{
  g_autoptr (GPtrArray) samples = encode_units ();
  g_autofree char *description =
      g_strdup_printf ("appsrc name=src format=time ! h264parse ! matroskamux ! "
                       "filesink location=\"%s\"",
                       bench->clip);
  g_autoptr (GstElement) pipeline = launch (description);
  g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) message = NULL;
  guint   repeats = (seconds + CLIP_SECONDS - 1) / CLIP_SECONDS;
  guint64 bytes = 0;

  g_object_set (src, "caps", gst_sample_get_caps (samples->pdata[0]), NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint r = 0; r < repeats; r++)
    for (guint i = 0; i < samples->len; i++)
      {
        GstBuffer   *buffer = gst_buffer_copy (gst_sample_get_buffer (samples->pdata[i]));
        GstClockTime shift = (GstClockTime) r * CLIP_SECONDS * GST_SECOND;

        GST_BUFFER_PTS (buffer) += shift;
        if (GST_BUFFER_DTS_IS_VALID (buffer))
          GST_BUFFER_DTS (buffer) += shift;
        if (r == 0)
          bytes += gst_buffer_get_size (buffer);
        gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
      }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  message =
      gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    g_error ("cannot write the clip");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  *mbit_s = bytes * 8.0 / CLIP_SECONDS / 1e6;
}

/* One round: the four configurations at once */

static char *
camera_groups (Bench *bench, guint n_recipients)
{
  GString *s = g_string_new ("[recording]\nperiod-ms=60000\nepoch-ms=3600000\n"
                             "seal-ms=500\nfile-seconds=300\nstart-timeout=30\n");

  for (guint c = 0; c < bench->cameras; c++)
    g_string_append_printf (s,
                            "[camera c%u]\nsource=filesrc location=\"%s\" ! matroskademux\n"
                            "encode=none\nencrypted=%s\n",
                            c, bench->clip, n_recipients > 0 ? "true" : "false");
  return g_string_free (s, FALSE);
}

/* Bytes in the cameras' files (the open .part files grow as they write). */
static guint64
camera_bytes (TestArchiver *archiver, guint camera)
{
  g_autofree char *id = g_strdup_printf ("c%u", camera);
  g_autoptr (GPtrArray) files = test_camera_files (archiver, id, TRUE);
  guint64 total = 0;

  for (guint i = 0; i < files->len; i++)
    {
      GStatBuf st;

      if (g_stat (files->pdata[i], &st) == 0)
        total += st.st_size;
    }
  return total;
}

/* CPU seconds (user and system, every thread, living or ended) a process
 * has used, from /proc/PID/stat. */
static double
process_cpu_s (TestArchiver *archiver)
{
  const char      *pid = g_subprocess_get_identifier (archiver->process);
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid ? pid : "0");
  g_autofree char *text = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (after_name = strrchr (text, ')')) == NULL)
    g_error ("custos-archiver is not running (%s)", path);
  /* After "pid (comm)": state is field 3, utime 14, stime 15. */
  fields = g_strsplit (after_name + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    g_error ("cannot read %s", path);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         sysconf (_SC_CLK_TCK);
}

/* A run's storage is a few hundred MB: gone before the next one. */
static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
}

static TestArchiver *
start_archiver (Bench *bench, guint round, guint n_recipients)
{
  g_autofree char *name = g_strdup_printf ("round-%u-config-%u", round, n_recipients);
  g_autofree char *cameras = camera_groups (bench, n_recipients);
  TestArchiver    *t = test_archiver_new (name, "enrolment-rescan=30", cameras);

  for (guint i = 0; i < n_recipients; i++)
    test_archiver_enrol (t, bench->clients->pdata[i]);
  test_archiver_start (t);
  return t;
}

/* Every configuration's archiver at once, so that whatever else the
 * machine does weighs on all of them alike; they start in another
 * order each round. */
static void
run_round (Bench *bench, guint round, double mbit_s, Result *results)
{
  TestArchiver       *t[N_CONFIGS];
  double              cpu0[N_CONFIGS], expected, wall_s;
  g_autofree guint64 *before = g_new0 (guint64, N_CONFIGS * bench->cameras);
  gint64              wall0;

  for (guint k = 0; k < N_CONFIGS; k++)
    {
      guint i = (k + round) % N_CONFIGS;

      t[i] = start_archiver (bench, round, recipient_counts[i]);
    }
  g_usleep (WARMUP_S * G_USEC_PER_SEC);
  for (guint i = 0; i < N_CONFIGS; i++)
    for (guint c = 0; c < bench->cameras; c++)
      before[i * bench->cameras + c] = camera_bytes (t[i], c);
  wall0 = g_get_monotonic_time ();
  for (guint i = 0; i < N_CONFIGS; i++)
    cpu0[i] = process_cpu_s (t[i]);
  g_usleep ((gulong) bench->window_s * G_USEC_PER_SEC);
  for (guint i = 0; i < N_CONFIGS; i++)
    results[i].cpu_s = process_cpu_s (t[i]) - cpu0[i];
  wall_s = (g_get_monotonic_time () - wall0) / 1e6;
  /* What each camera should have written: its bitrate over the window. */
  expected = mbit_s * 1e6 / 8 * wall_s;
  for (guint i = 0; i < N_CONFIGS; i++)
    {
      results[i].wall_s = wall_s;
      results[i].bytes = 0;
      results[i].slow = 0;
      for (guint c = 0; c < bench->cameras; c++)
        {
          guint64 wrote = camera_bytes (t[i], c) - before[i * bench->cameras + c];

          results[i].bytes += wrote;
          if (wrote < expected / 2)
            results[i].slow++;
        }
      test_archiver_stop (t[i]);
      remove_tree (t[i]->dir);
      test_archiver_free (t[i]);
    }
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (GArray *values)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, values->len / 2);
}

/* Per configuration: the best round, and the median over the rounds of
 * its CPU against plaintext's in the same round (the load of the machine
 * cancels out of that ratio). */
static void
measure (Bench *bench, double mbit_s, Result *best)
{
  GArray *ratios[N_CONFIGS];

  for (guint i = 0; i < N_CONFIGS; i++)
    {
      best[i].cpu_s = G_MAXDOUBLE;
      ratios[i] = g_array_new (FALSE, FALSE, sizeof (double));
    }
  for (guint r = 0; r < bench->rounds; r++)
    {
      Result results[N_CONFIGS];

      run_round (bench, r, mbit_s, results);
      for (guint i = 0; i < N_CONFIGS; i++)
        {
          double ratio = results[i].cpu_s / MAX (results[0].cpu_s, 1e-9);

          g_printerr ("round %u config %u: %.3f s CPU over %.2f s, %u cameras behind, "
                      "%.4f of plaintext\n",
                      r, recipient_counts[i], results[i].cpu_s, results[i].wall_s, results[i].slow,
                      ratio);
          g_array_append_val (ratios[i], ratio);
          if (results[i].cpu_s / results[i].wall_s < best[i].cpu_s / MAX (best[i].wall_s, 1e-9))
            best[i] = results[i];
        }
    }
  for (guint i = 0; i < N_CONFIGS; i++)
    {
      best[i].ratio = median (ratios[i]);
      g_array_unref (ratios[i]);
    }
}

int
main (int argc, char **argv)
{
  Bench            bench = { 0 };
  Result           best[N_CONFIGS];
  g_autofree char *dir = NULL;
  double           mbit_s;
  gint64           t0;

  gst_init (&argc, &argv);
  if (argc != 4 || g_getenv ("CUSTOS_ARCHIVER") == NULL)
    {
      g_printerr ("usage: CUSTOS_ARCHIVER=PATH bench-capacity-archiver CAMERAS WINDOW-SECONDS "
                  "ROUNDS\n");
      return 1;
    }
  bench.cameras = CLAMP (atoi (argv[1]), 1, 256);
  bench.window_s = CLAMP (atoi (argv[2]), 2, 3600);
  bench.rounds = CLAMP (atoi (argv[3]), 1, 100);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  test_pki_init ();
  bench.clients = g_ptr_array_new_with_free_func ((GDestroyNotify) test_client_free);
  for (guint i = 0; i < MAX_CERTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("operator-%u", i + 1);

      g_ptr_array_add (bench.clients, test_client_new (name, "rsa:2048", 0, 0));
    }
  dir = g_build_filename (g_get_tmp_dir (), "custos-capacity-clip-XXXXXX", NULL);
  if (g_mkdtemp (dir) == NULL)
    g_error ("cannot make a folder in %s", g_get_tmp_dir ());
  bench.clip = g_build_filename (dir, "clip.mkv", NULL);
  t0 = g_get_monotonic_time ();
  /* Long enough for the warm-up, the window and a slow start. */
  make_clip (&bench, WARMUP_S + bench.window_s + 30, &mbit_s);
  g_print ("encode_s %.2f\nmbit_s %.3f\ncameras %u\nwindow_s %u\nrounds %u\n",
           (g_get_monotonic_time () - t0) / 1e6, mbit_s, bench.cameras, bench.window_s,
           bench.rounds);
  measure (&bench, mbit_s, best);
  for (guint i = 0; i < N_CONFIGS; i++)
    if (best[i].cpu_s != G_MAXDOUBLE)
      g_print ("config %u cpu_s %.4f wall_s %.4f mbyte %.1f slow %u ratio %.5f\n",
               recipient_counts[i], best[i].cpu_s, best[i].wall_s, best[i].bytes / 1e6,
               best[i].slow, best[i].ratio);
  g_unlink (bench.clip);
  g_rmdir (dir);
  g_free (bench.clip);
  g_ptr_array_unref (bench.clients);
  return 0;
}
