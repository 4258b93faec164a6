/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayer on cameras of the real custos-archiver (TLS on 127.0.0.1,
 * a client certificate from the test CA), in a real window under Xvfb:
 * live video, a seek into the archive (the stream is asked for again from
 * that time), back to live, an encrypted camera without the key (the
 * locked page) that plays once the key provider is set, and the archiver
 * going away (the tile says so).
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <adwaita.h>
#include <gst/gst.h>

#include "archiver-test-util.h"
#include "custos-archiver-client.h"
#include "custos-local-key-provider.h"
#include "custos-player.h"
#include "custos-reader.h"
#include "custos-utc.h"
#include "custos-video-paintable.h"

#define S G_USEC_PER_SEC
#define FRAME 100000      /* 10 fps */
#define GUARD_US (40 * S) /* a hang guard, not a timing check */

static const char cameras[] =
    "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
    "[camera gate]\nname=Gate\n"
    "source=videotestsrc is-live=true pattern=smpte ! "
    "video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=true\n"
    "[camera hall]\nname=Hall\n"
    "source=videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=false\n"
    /* Sync points every 2 s (sync-ms), not once per key period or file. */
    "period-ms=20000\nepoch-ms=60000\nfile-seconds=60\n";

static TestArchiver *archiver;
static TestClient   *alice;

typedef struct
{
  GtkWidget            *window;
  CustosPlayer         *player;
  CustosArchiverClient *client;
  CustosKeyProvider    *provider;
  guint                 frames;
} Fixture;

static void
on_first_frame (CustosPlayer *player, Fixture *fx)
{
  fx->frames++;
}

static void
set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert =
      g_tls_certificate_new_from_files (alice->cert_path, alice->key_path, &error);
  CustosLocalKeyProvider *provider = custos_local_key_provider_new ();

  g_assert_no_error (error);
  fx->client = custos_archiver_client_new (archiver->base_url, &error);
  g_assert_no_error (error);
  g_assert_true (custos_archiver_client_set_ca_file (fx->client, test_pki_ca_cert (), &error));
  custos_archiver_client_set_client_certificate (fx->client, cert);
  custos_local_key_provider_add_key (provider, alice->key_path, alice->cert_path, NULL, &error);
  g_assert_no_error (error);
  fx->provider = CUSTOS_KEY_PROVIDER (provider);
  fx->player = custos_player_new ();
  g_signal_connect (fx->player, "first-frame", G_CALLBACK (on_first_frame), fx);
  fx->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fx->window), 640, 480);
  gtk_window_set_child (GTK_WINDOW (fx->window), GTK_WIDGET (fx->player));
  gtk_window_present (GTK_WINDOW (fx->window));
}

static void
tear_down (Fixture *fx, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fx->window));
  for (int i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
  g_clear_object (&fx->client);
  g_clear_object (&fx->provider);
}

typedef gboolean (*Condition) (Fixture *fx, gconstpointer data);

static void
wait_for (Fixture *fx, Condition condition, gconstpointer data, const char *what)
{
  gint64 deadline = g_get_monotonic_time () + GUARD_US;

  while (!condition (fx, data))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("gave up waiting for %s (state %d, status “%s”)", what,
                 custos_player_get_state (fx->player),
                 custos_player_get_status_description (fx->player)
                     ? custos_player_get_status_description (fx->player)
                     : "");
      g_usleep (1000);
    }
}

static gboolean
frames_at_least (Fixture *fx, gconstpointer data)
{
  return fx->frames >= GPOINTER_TO_UINT (data);
}

static void
wait_frame (Fixture *fx)
{
  wait_for (fx, frames_at_least, GUINT_TO_POINTER (fx->frames + 1), "a painted frame");
}

static gboolean
state_is (Fixture *fx, gconstpointer data)
{
  return custos_player_get_state (fx->player) == (CustosPlayerState) GPOINTER_TO_INT (data);
}

/* Recorded data seconds before now (from the archiver's list, not from
 * what was played). */
static gboolean
recorded_before (Fixture *fx, gconstpointer data)
{
  return custos_timeline_model_is_recorded (custos_player_get_timeline_model (fx->player),
                                            g_get_real_time () - GPOINTER_TO_INT (data) * S);
}

static GdkTexture *
texture (Fixture *fx)
{
  return custos_video_paintable_get_texture (
      CUSTOS_VIDEO_PAINTABLE (custos_player_get_paintable (fx->player)));
}

/* The rate of the segment the video sink plays. */
static double
sink_rate (Fixture *fx)
{
  GstElement *pipeline = custos_player_get_pipeline (fx->player);
  g_autoptr (GstElement) bin = gst_bin_get_by_name (GST_BIN (pipeline), "videosinkbin");
  g_autoptr (GstIterator) sinks = gst_bin_iterate_sinks (GST_BIN (bin));
  GValue item = G_VALUE_INIT;
  g_autoptr (GstPad) pad = NULL;
  g_autoptr (GstEvent) event = NULL;
  const GstSegment *segment;

  g_assert_cmpint (gst_iterator_next (sinks, &item), ==, GST_ITERATOR_OK);
  pad = gst_element_get_static_pad (g_value_get_object (&item), "sink");
  g_value_unset (&item);
  event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  g_assert_nonnull (event);
  gst_event_parse_segment (event, &segment);
  return segment->rate;
}

static void
test_live_archive_live (Fixture *fx, gconstpointer data)
{
  gint64 now, target, shown;

  custos_player_set_key_provider (fx->player, fx->provider, NULL);
  custos_player_open_camera (fx->player, fx->client, "gate", "Gate", FALSE);
  g_assert_true (custos_player_get_live (fx->player));
  wait_frame (fx);
  g_assert_nonnull (texture (fx));
  g_assert_cmpint (gdk_texture_get_width (texture (fx)), ==, 160);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PLAYING);
  now = g_get_real_time ();
  g_assert_cmpint (ABS (custos_player_get_position_utc (fx->player) - now), <, 5 * S);
  g_assert_cmpstr (custos_player_get_title (fx->player), ==, "Gate");
  /* The archiver's recorded ranges are on the timeline. */
  wait_for (fx, recorded_before, GINT_TO_POINTER (3), "the recorded ranges");

  /* Into the archive: two seconds ago, asked for again from there. */
  target = now - 2 * S;
  custos_player_seek_utc (fx->player, target);
  g_assert_false (custos_player_get_live (fx->player));
  wait_frame (fx);
  shown = custos_player_get_position_utc (fx->player);
  g_test_message ("asked for %" G_GINT64_FORMAT ", shown %" G_GINT64_FORMAT, target, shown);
  g_assert_cmpint (shown, >, target - 2 * FRAME);
  g_assert_cmpint (shown, <, target + 3 * S);

  /* Twice as fast: asked again from where it is, the sink plays at 2×. */
  custos_player_set_rate (fx->player, 2.0);
  wait_frame (fx);
  g_assert_cmpfloat (sink_rate (fx), ==, 2.0);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), >=, shown - FRAME);

  custos_player_go_live (fx->player);
  g_assert_true (custos_player_get_live (fx->player));
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), >, shown);
}

static void
test_locked_camera (Fixture *fx, gconstpointer data)
{
  custos_player_open_camera (fx->player, fx->client, "gate", "Gate", FALSE);
  wait_for (fx, state_is, GINT_TO_POINTER (CUSTOS_PLAYER_STATE_LOCKED), "the locked page");
  g_assert_nonnull (strstr (custos_player_get_status_description (fx->player),
                            "Insert the smart card enrolled for it, or add its key file."));
  g_assert_null (texture (fx));
  custos_player_set_key_provider (fx->player, fx->provider, NULL);
  wait_frame (fx);
  g_assert_nonnull (texture (fx));
  g_assert_null (custos_player_get_status_title (fx->player));
}

static void
test_plain_camera (Fixture *fx, gconstpointer data)
{
  custos_player_open_camera (fx->player, fx->client, "hall", NULL, FALSE);
  wait_frame (fx);
  g_assert_nonnull (texture (fx));
  g_assert_cmpstr (custos_player_get_title (fx->player), ==, "hall");
}

/* Last: it stops the archiver. */
static void
test_archiver_gone (Fixture *fx, gconstpointer data)
{
  custos_player_open_camera (fx->player, fx->client, "hall", "Hall", FALSE);
  wait_frame (fx);
  test_archiver_stop (archiver);
  wait_for (fx, state_is, GINT_TO_POINTER (CUSTOS_PLAYER_STATE_ERROR), "the error page");
  g_test_message ("%s: %s", custos_player_get_status_title (fx->player),
                  custos_player_get_status_description (fx->player));
  g_assert_nonnull (custos_player_get_status_description (fx->player));
  /* Asking again names the problem too. */
  custos_player_open_camera (fx->player, fx->client, "hall", "Hall", FALSE);
  wait_for (fx, state_is, GINT_TO_POINTER (CUSTOS_PLAYER_STATE_ERROR), "the error page");
  g_test_message ("%s: %s", custos_player_get_status_title (fx->player),
                  custos_player_get_status_description (fx->player));
}

/* What the archiver answers a live request for hall with now: the time
 * of the first packet (where its backlog begins, at a sync point) and the
 * live edge it names. */
static void
live_answer (gint64 *first_us, gint64 *edge_us)
{
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autofree char *url = g_strconcat (archiver->base_url, "/api/v1/cameras/hall/stream?live=1",
                                      NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (CustosPacket) packet = NULL;
  g_autoptr (GError) error = NULL;

  input = soup_session_send (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  g_assert_true (custos_utc_parse (soup_message_headers_get_one (
                                      soup_message_get_response_headers (msg),
                                      CUSTOS_ARCHIVER_LIVE_EDGE_HEADER),
                                  edge_us));
  reader = custos_reader_new (input);
  packet = custos_reader_next_packet (reader, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (packet);
  *first_us = packet->utc_us;
}

/* A live stream begins at the archiver's last sync point, seconds back;
 * the player decodes that backlog (its seals need it) but shows from the
 * newest frame, so live is live from the first frame, not seconds late. */
static void
test_live_from_the_edge (Fixture *fx, gconstpointer data)
{
  gint64 first_us = 0, edge_us = 0, shown;
  gint64 deadline = g_get_monotonic_time () + GUARD_US;

  /* Wait for a backlog of more than a second. */
  do
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      live_answer (&first_us, &edge_us);
      g_assert_cmpint (edge_us, >=, first_us);
      g_assert_cmpint (edge_us, <=, g_get_real_time ());
      /* The backlog begins at the last sync point: about sync-ms back at
       * most (a segment's worth more), however long the key period. */
      g_assert_cmpint (edge_us - first_us, <, 3500000);
    }
  while (edge_us - first_us < 1200000);
  custos_player_open_camera (fx->player, fx->client, "hall", NULL, FALSE);
  wait_frame (fx);
  shown = custos_player_get_position_utc (fx->player);
  g_test_message ("backlog from %" G_GINT64_FORMAT ", edge %" G_GINT64_FORMAT ", first shown %"
                  G_GINT64_FORMAT, first_us, edge_us, shown);
  g_assert_cmpint (shown, >=, edge_us - FRAME);
}

static void
test_no_display (void)
{
  g_test_skip ("no display: GTK cannot open DISPLAY (install xvfb and reconfigure)");
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_add_func ("/display/player-network/no-display", test_no_display);
      return g_test_run ();
    }
  adw_init ();
  test_pki_init ();
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  archiver = test_archiver_new ("player", NULL, cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 20000));
  /* A few seconds of archive to seek into. */
  g_usleep (4 * S);

  g_test_add ("/display/player-network/live-archive-live", Fixture, NULL, set_up,
              test_live_archive_live, tear_down);
  g_test_add ("/display/player-network/live-from-the-edge", Fixture, NULL, set_up,
              test_live_from_the_edge, tear_down);
  g_test_add ("/display/player-network/locked-camera", Fixture, NULL, set_up, test_locked_camera,
              tear_down);
  g_test_add ("/display/player-network/plain-camera", Fixture, NULL, set_up, test_plain_camera,
              tear_down);
  g_test_add ("/display/player-network/archiver-gone", Fixture, NULL, set_up, test_archiver_gone,
              tear_down);
  ret = g_test_run ();
  test_archiver_free (archiver);
  test_client_free (alice);
  return ret;
}
