/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Viewer benchmarks (not tests: they print figures), in a real window
 * (run under Xvfb):
 *
 *   bench-player first-frame FILE RUNS [KEY CERT]
 *       time from opening FILE in a new CustosPlayer to its first painted
 *       frame ("first-frame"), the first run (cold: plugins, decoder) and
 *       the median of the others
 *   bench-player seek FILE KEY CERT RUNS
 *       latency of seeks to random times inside FILE (paused, accurate:
 *       seek to painted frame), of one-frame steps back, and of the
 *       keyframe seeks dragging the timeline makes (scrub)
 *   bench-player grid-rss FILE KEY CERT SECONDS
 *       resident memory of a 4-tile CustosGrid playing FILE in every tile
 *
 * Output: "name value" lines; bench/run prints them against the targets.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <adwaita.h>
#include <stdlib.h>

#include "custos-grid.h"
#include "custos-local-key-provider.h"
#include "custos-player.h"

#define GUARD_US (60 * G_USEC_PER_SEC)

static guint painted;

/* Wakes the main loop up now and then, so that the guards are checked. */
static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
on_first_frame (gpointer object, gpointer user_data)
{
  painted++;
}

static void
wait_painted (guint want)
{
  gint64 deadline = g_get_monotonic_time () + GUARD_US;

  while (painted < want)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > deadline)
        g_error ("no frame was painted within a minute");
    }
}

static void
spin (gint64 us)
{
  gint64 until = g_get_monotonic_time () + us;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static CustosKeyProvider *
provider_new (const char *key, const char *cert)
{
  CustosLocalKeyProvider *provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  if (!custos_local_key_provider_add_key (provider, key, cert, NULL, &error))
    g_error ("%s", error->message);
  return CUSTOS_KEY_PROVIDER (provider);
}

static GtkWidget *
window_with (GtkWidget *child)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 760);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_mapped (child))
    g_main_context_iteration (NULL, TRUE);
  return window;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
print_stats (const char *name, GArray *ms)
{
  g_array_sort (ms, compare_doubles);
  g_print ("%s_median_ms %.1f\n", name, g_array_index (ms, double, ms->len / 2));
  g_print ("%s_p90_ms %.1f\n", name, g_array_index (ms, double, ms->len * 9 / 10));
  g_print ("%s_max_ms %.1f\n", name, g_array_index (ms, double, ms->len - 1));
  g_print ("%s_runs %u\n", name, ms->len);
}

static void
first_frame (char **argv, int argc)
{
  g_autoptr (GFile) file = g_file_new_for_path (argv[0]);
  g_autoptr (CustosKeyProvider) provider = argc >= 4 ? provider_new (argv[2], argv[3]) : NULL;
  g_autoptr (GArray) warm = g_array_new (FALSE, FALSE, sizeof (double));
  guint runs = atoi (argv[1]);

  for (guint i = 0; i < runs; i++)
    {
      CustosPlayer *player = custos_player_new ();
      GtkWidget    *window = window_with (GTK_WIDGET (player));
      gint64        t0;
      double        ms;

      g_signal_connect (player, "first-frame", G_CALLBACK (on_first_frame), NULL);
      if (provider != NULL)
        custos_player_set_key_provider (player, provider, NULL);
      t0 = g_get_monotonic_time ();
      custos_player_open_file (player, file);
      wait_painted (painted + 1);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      if (i == 0)
        g_print ("cold_ms %.1f\n", ms);
      else
        g_array_append_val (warm, ms);
      gtk_window_destroy (GTK_WINDOW (window));
      spin (100000);
    }
  if (warm->len > 0)
    print_stats ("warm", warm);
}

static void
seek (char **argv)
{
  g_autoptr (GFile) file = g_file_new_for_path (argv[0]);
  g_autoptr (CustosKeyProvider) provider = provider_new (argv[1], argv[2]);
  g_autoptr (GArray) seeks = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) steps = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) scrubs = g_array_new (FALSE, FALSE, sizeof (double));
  guint         runs = atoi (argv[3]);
  CustosPlayer *player = custos_player_new ();
  GtkWidget    *window = window_with (GTK_WIDGET (player));
  GRand        *rand = g_rand_new_with_seed (42);
  gint64        start, span;

  g_signal_connect (player, "first-frame", G_CALLBACK (on_first_frame), NULL);
  custos_player_set_key_provider (player, provider, NULL);
  custos_player_open_file (player, file);
  wait_painted (painted + 1);
  custos_player_pause (player);
  start = custos_player_get_position_utc (player);
  /* The file's end is known only once read: the caller gives an hour. */
  span = G_TIME_SPAN_HOUR - 2 * G_USEC_PER_SEC;
  for (guint i = 0; i < runs; i++)
    {
      gint64 target = start + g_rand_int_range (rand, 0, (gint32) (span / 1000)) * 1000LL;
      gint64 t0 = g_get_monotonic_time ();
      double ms;

      custos_player_seek_utc (player, target);
      wait_painted (painted + 1);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (seeks, ms);
      t0 = g_get_monotonic_time ();
      custos_player_step (player, -1);
      wait_painted (painted + 1);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (steps, ms);
    }
  for (guint i = 0; i < runs; i++)
    {
      gint64 target = start + g_rand_int_range (rand, 0, (gint32) (span / 1000)) * 1000LL;
      gint64 t0 = g_get_monotonic_time ();
      double ms;

      custos_player_scrub_utc (player, target);
      wait_painted (painted + 1);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (scrubs, ms);
    }
  print_stats ("seek", seeks);
  print_stats ("step_back", steps);
  print_stats ("scrub", scrubs);
  g_rand_free (rand);
  gtk_window_destroy (GTK_WINDOW (window));
}

static gint64
status_kib (const char *field)
{
  g_autofree char *status = NULL;
  const char      *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, field)) == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen (field) + 1, NULL, 10);
}

static void
grid_rss (char **argv)
{
  g_autoptr (GFile) file = g_file_new_for_path (argv[0]);
  g_autoptr (CustosKeyProvider) provider = provider_new (argv[1], argv[2]);
  guint       seconds = atoi (argv[3]);
  CustosGrid *grid;
  GtkWidget  *window;
  gint64      before, peak = 0;

  spin (200000);
  before = status_kib ("VmRSS:");
  grid = custos_grid_new ();
  window = window_with (GTK_WIDGET (grid));
  custos_grid_set_key_provider (grid, provider, NULL);
  g_signal_connect (grid, "first-frame", G_CALLBACK (on_first_frame), NULL);
  for (guint i = 0; i < CUSTOS_GRID_MAX_TILES; i++)
    custos_player_open_file (custos_grid_add_tile (grid), file);
  wait_painted (painted + 1);
  for (guint i = 0; i < seconds * 4; i++)
    {
      spin (250000);
      peak = MAX (peak, status_kib ("VmRSS:"));
    }
  g_print ("rss_before_kib %" G_GINT64_FORMAT "\n", before);
  g_print ("rss_grid_peak_kib %" G_GINT64_FORMAT "\n", peak);
  g_print ("hwm_kib %" G_GINT64_FORMAT "\n", status_kib ("VmHWM:"));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (!gtk_init_check ())
    g_error ("no display (run under xvfb-run)");
  adw_init ();
  g_timeout_add (100, tick, NULL);
  if (argc >= 4 && g_str_equal (argv[1], "first-frame"))
    first_frame (argv + 2, argc - 2);
  else if (argc == 6 && g_str_equal (argv[1], "seek"))
    seek (argv + 2);
  else if (argc == 6 && g_str_equal (argv[1], "grid-rss"))
    grid_rss (argv + 2);
  else
    {
      g_printerr ("usage: bench-player first-frame FILE RUNS [KEY CERT]\n"
                  "       bench-player seek FILE KEY CERT RUNS\n"
                  "       bench-player grid-rss FILE KEY CERT SECONDS\n");
      return 2;
    }
  return 0;
}
