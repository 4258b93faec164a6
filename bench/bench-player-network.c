/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Viewer benchmark over the network (not a test: it prints figures), in a
 * real window (run under Xvfb): the real custos-archiver ($CUSTOS_ARCHIVER)
 * on 127.0.0.1 with TLS and a client certificate, two live test cameras
 * (640x360 25 fps H.264, keyframe every second), one plaintext (as a
 * privacy-protected stream is: no key needed) and one encrypted (opened
 * with the enrolled client's key file).
 *
 *   bench-player-network RUNS
 *
 * For each camera: time from custos_player_open_camera() to the first
 * painted frame, live, and of a seek into the archive 5 s back. Output:
 * "name value" lines.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <adwaita.h>
#include <stdlib.h>

#include "archiver-test-util.h"
#include "custos-archiver-client.h"
#include "custos-local-key-provider.h"
#include "custos-player.h"

#define GUARD_US (60 * G_USEC_PER_SEC)

static const char cameras[] =
    "[recording]\nperiod-ms=60000\nepoch-ms=3600000\nseal-ms=2000\nkeyframe-ms=1000\n"
    "file-seconds=60\n"
    "[camera plain]\nname=Plain\n"
    "source=videotestsrc is-live=true pattern=smpte ! "
    "video/x-raw,width=640,height=360,framerate=25/1\n"
    "encrypted=false\n"
    "[camera enc]\nname=Encrypted\n"
    "source=videotestsrc is-live=true pattern=smpte ! "
    "video/x-raw,width=640,height=360,framerate=25/1\n"
    "encrypted=true\n";

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

static double
wait_painted_ms (gint64 t0)
{
  guint  want = painted + 1;
  gint64 deadline = g_get_monotonic_time () + GUARD_US;

  while (painted < want)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > deadline)
        g_error ("no frame was painted within a minute");
    }
  return (g_get_monotonic_time () - t0) / 1000.0;
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
  g_print ("%s_max_ms %.1f\n", name, g_array_index (ms, double, ms->len - 1));
}

static void
measure (CustosArchiverClient *client, CustosKeyProvider *provider, const char *camera, guint runs)
{
  g_autoptr (GArray) live = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) archive = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *live_name = g_strdup_printf ("%s_live", camera);
  g_autofree char *archive_name = g_strdup_printf ("%s_archive", camera);

  for (guint i = 0; i < runs; i++)
    {
      CustosPlayer *player = custos_player_new ();
      GtkWidget    *window = gtk_window_new ();
      gint64        t0;
      double        ms;

      gtk_window_set_default_size (GTK_WINDOW (window), 1280, 760);
      gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (player));
      gtk_window_present (GTK_WINDOW (window));
      while (!gtk_widget_get_mapped (GTK_WIDGET (player)))
        g_main_context_iteration (NULL, TRUE);
      g_signal_connect (player, "first-frame", G_CALLBACK (on_first_frame), NULL);
      if (provider != NULL)
        custos_player_set_key_provider (player, provider, NULL);
      t0 = g_get_monotonic_time ();
      custos_player_open_camera (player, client, camera, NULL, FALSE);
      ms = wait_painted_ms (t0);
      g_array_append_val (live, ms);
      t0 = g_get_monotonic_time ();
      custos_player_seek_utc (player, g_get_real_time () - 5 * G_USEC_PER_SEC);
      ms = wait_painted_ms (t0);
      g_array_append_val (archive, ms);
      gtk_window_destroy (GTK_WINDOW (window));
      for (int j = 0; j < 100; j++)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (1000);
        }
    }
  print_stats (live_name, live);
  print_stats (archive_name, archive);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (CustosArchiverClient) client = NULL;
  g_autoptr (CustosLocalKeyProvider) provider = NULL;
  TestArchiver *archiver;
  TestClient   *bench;
  guint         runs = argc > 1 ? atoi (argv[1]) : 5;

  gst_init (&argc, &argv);
  if (!gtk_init_check ())
    g_error ("no display (run under xvfb-run)");
  adw_init ();
  g_timeout_add (100, tick, NULL);
  test_pki_init ();
  bench = test_client_new ("bench", "ec:P-256", 0, 0);
  archiver = test_archiver_new ("bench", NULL, cameras);
  test_archiver_enrol (archiver, bench);
  test_archiver_start (archiver);
  if (!test_archiver_wait_state (archiver, "enc", "recording", 30000))
    g_error ("the archiver's camera did not start recording");
  /* Some archive to seek into. */
  g_usleep (8 * G_USEC_PER_SEC);

  cert = g_tls_certificate_new_from_files (bench->cert_path, bench->key_path, &error);
  g_assert_no_error (error);
  client = custos_archiver_client_new (archiver->base_url, &error);
  g_assert_no_error (error);
  custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);
  provider = custos_local_key_provider_new ();
  custos_local_key_provider_add_key (provider, bench->key_path, bench->cert_path, NULL, &error);
  g_assert_no_error (error);

  measure (client, NULL, "plain", runs);
  measure (client, CUSTOS_KEY_PROVIDER (provider), "enc", runs);
  test_archiver_free (archiver);
  test_client_free (bench);
  return 0;
}
