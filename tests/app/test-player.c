/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayer and CustosGrid in a real window (under Xvfb), playing real
 * fusion files that custosmux wrote from videotestsrc through x264enc:
 * the picture shows the source's colour bars, seeks land on the frame at
 * the time asked for, frame steps move by one frame either way, a tile
 * without the key says what is needed and plays once the key provider is
 * set, a snapshot is a PNG with its UTC, bad input names the problem, and
 * the tiles of a grid show the same time within one frame.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <adwaita.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "custos-grid.h"
#include "custos-local-key-provider.h"
#include "custos-player-bar.h"
#include "custos-player.h"
#include "custos-timeline.h"
#include "custos-test-util.h"
#include "custos-video-paintable.h"

#define S G_USEC_PER_SEC
#define FRAME 40000                             /* 25 fps */
#define N_FRAMES 250                            /* 10 s */
#define T0 G_GINT64_CONSTANT (1795293240000000) /* 2026-11-21T20:34:00Z */
#define T1 (T0 + S + 10000)                     /* the second file: 10 ms out of phase */
#define GUARD_US (30 * S)                       /* a hang guard, not a timing check */

static char      *cert_path, *key_path;
static char      *file_a, *file_b, *file_plain, *file_moving;
static GstSample *source_bars;

/* Files */

static void
run_to_eos (GstElement *pipeline)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) msg = NULL;

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      g_error ("making a test file: %s", error->message);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

/* 10 s of colour bars, H.264, keyframe every second, written by custosmux.
 * source: videotestsrc's properties (bars moving sideways tell frames apart). */
static char *
make_fusion_from (const char *name, gint64 start_utc, gboolean encrypted, const char *source)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);
  g_autofree char *description =
      g_strdup_printf ("videotestsrc num-buffers=%d %s ! "
                       "video/x-raw,width=320,height=240,framerate=25/1,format=I420 ! "
                       "x264enc threads=1 key-int-max=25 bframes=0 speed-preset=superfast ! "
                       "video/x-h264,stream-format=byte-stream,alignment=au ! "
                       "custosmux name=mux camera-name=\"Gate\" ! filesink name=out",
                       N_FRAMES, source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) mux = NULL;
  g_autoptr (GstElement) out = NULL;
  const char *recipients[] = { cert_path, NULL };

  g_assert_no_error (error);
  mux = gst_bin_get_by_name (GST_BIN (pipeline), "mux");
  out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_object_set (mux, "start-utc", start_utc, "encrypted", encrypted, NULL);
  if (encrypted)
    g_object_set (mux, "recipients", recipients, NULL);
  g_object_set (out, "location", path, NULL);
  run_to_eos (pipeline);
  return g_steal_pointer (&path);
}

static char *
make_fusion (const char *name, gint64 start_utc, gboolean encrypted)
{
  return make_fusion_from (name, start_utc, encrypted, "pattern=smpte");
}

static GstSample *
pull_source_bars (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline =
      gst_parse_launch ("videotestsrc num-buffers=1 pattern=smpte ! "
                        "video/x-raw,width=320,height=240,format=I420 ! videoconvert ! "
                        "video/x-raw,format=RGBA ! appsink name=sink",
                        &error);
  g_autoptr (GstElement) sink = NULL;
  GstSample *sample = NULL;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_signal_emit_by_name (sink, "pull-sample", &sample);
  g_assert_nonnull (sample);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return sample;
}

static CustosKeyProvider *
key_provider (void)
{
  CustosLocalKeyProvider *provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  custos_local_key_provider_add_key (provider, key_path, cert_path, NULL, &error);
  g_assert_no_error (error);
  return CUSTOS_KEY_PROVIDER (provider);
}

/* Fixture: a window with one player, or a grid */

typedef struct
{
  GtkWidget    *window;
  CustosPlayer *player;
  CustosGrid   *grid;
  guint         frames; /* "first-frame" emissions */
} Fixture;

static void
on_first_frame (gpointer object, Fixture *fx)
{
  fx->frames++;
}

static void
present (Fixture *fx, GtkWidget *child)
{
  fx->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fx->window), 800, 600);
  gtk_window_set_child (GTK_WINDOW (fx->window), child);
  gtk_window_present (GTK_WINDOW (fx->window));
}

static void
player_set_up (Fixture *fx, gconstpointer data)
{
  fx->player = custos_player_new ();
  g_signal_connect (fx->player, "first-frame", G_CALLBACK (on_first_frame), fx);
  present (fx, GTK_WIDGET (fx->player));
}

static void
grid_set_up (Fixture *fx, gconstpointer data)
{
  fx->grid = custos_grid_new ();
  present (fx, GTK_WIDGET (fx->grid));
}

static void
tear_down (Fixture *fx, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fx->window));
  for (int i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
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
                 fx->player ? custos_player_get_state (fx->player) : -1,
                 fx->player && custos_player_get_status_description (fx->player)
                     ? custos_player_get_status_description (fx->player)
                     : "");
      g_usleep (500);
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
  guint want = fx->frames + 1;

  wait_for (fx, frames_at_least, GUINT_TO_POINTER (want), "a painted frame");
}

static gboolean
state_is (Fixture *fx, gconstpointer data)
{
  return custos_player_get_state (fx->player) == (CustosPlayerState) GPOINTER_TO_INT (data);
}

static void
open_and_pause (Fixture *fx, const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);

  custos_player_open_file (fx->player, file);
  wait_frame (fx);
  custos_player_pause (fx->player);
}

/* Pixels */

typedef struct
{
  int r, g, b;
} Rgb;

static Rgb
texture_rgb (GdkTexture *texture, int x, int y)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_malloc ((gsize) width * height * 4);
  const guint8      *p;

  /* Cairo's layout: B G R A in memory. */
  gdk_texture_download (texture, data, width * 4);
  p = data + ((gsize) y * width + x) * 4;
  return (Rgb){ p[2], p[1], p[0] };
}

static Rgb
source_rgb (int x, int y)
{
  GstVideoInfo  info;
  GstVideoFrame frame;
  const guint8 *p;
  Rgb           rgb;

  g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (source_bars)));
  g_assert_true (
      gst_video_frame_map (&frame, &info, gst_sample_get_buffer (source_bars), GST_MAP_READ));
  p = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
      y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) + 4 * x;
  rgb = (Rgb){ p[0], p[1], p[2] };
  gst_video_frame_unmap (&frame);
  return rgb;
}

/* In the middle of each of the seven bars, the colour of the source. */
static void
assert_bars (CustosPlayer *player)
{
  GdkTexture *texture = custos_video_paintable_get_texture (
      CUSTOS_VIDEO_PAINTABLE (custos_player_get_paintable (player)));

  g_assert_nonnull (texture);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 320);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 240);
  for (int bar = 0; bar < 7; bar++)
    {
      int x = (2 * bar + 1) * 320 / 14, y = 60;
      Rgb got = texture_rgb (texture, x, y), want = source_rgb (x, y);

      g_test_message ("bar %d: %d %d %d, source %d %d %d", bar, got.r, got.g, got.b, want.r, want.g,
                      want.b);
      g_assert_cmpint (ABS (got.r - want.r), <=, 24);
      g_assert_cmpint (ABS (got.g - want.g), <=, 24);
      g_assert_cmpint (ABS (got.b - want.b), <=, 24);
    }
}

static GtkWidget *
find_picture (GtkWidget *widget)
{
  if (GTK_IS_PICTURE (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_picture (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* What the window's own renderer draws of the picture (the tests run with
 * GSK_RENDERER=cairo, where the paintable draws from the frame's pixels):
 * the same bars, where GtkPicture fits the 320×240 frame. */
static void
assert_drawn_bars (CustosPlayer *player)
{
  GtkWidget   *picture = find_picture (GTK_WIDGET (player));
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (picture));
  g_autoptr (GdkPaintable) observer = gtk_widget_paintable_new (picture);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) drawn = NULL;
  int    width = gtk_widget_get_width (picture), height = gtk_widget_get_height (picture);
  double scale = MIN (width / 320.0, height / 240.0);
  double x0 = (width - 320 * scale) / 2, y0 = (height - 240 * scale) / 2;

  g_assert_nonnull (picture);
  g_test_message ("renderer %s, picture %d×%d", G_OBJECT_TYPE_NAME (renderer), width, height);
  g_assert_cmpint (width, >, 0);
  gdk_paintable_snapshot (observer, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  drawn = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  for (int bar = 0; bar < 7; bar++)
    {
      int x = (2 * bar + 1) * 320 / 14, y = 60;
      Rgb got = texture_rgb (drawn, (int) (x0 + x * scale), (int) (y0 + y * scale));
      Rgb want = source_rgb (x, y);

      g_test_message ("drawn bar %d: %d %d %d, source %d %d %d", bar, got.r, got.g, got.b, want.r,
                      want.g, want.b);
      g_assert_cmpint (ABS (got.r - want.r), <=, 24);
      g_assert_cmpint (ABS (got.g - want.g), <=, 24);
      g_assert_cmpint (ABS (got.b - want.b), <=, 24);
    }
}

/* With CUSTOS_TEST_SCREENSHOTS=DIR, what the window shows goes to
 * DIR/NAME.png, for a person to look at. */
static void
screenshot (Fixture *fx, const char *name)
{
  const char *dir = g_getenv ("CUSTOS_TEST_SCREENSHOTS");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) argv = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  gint64 until = g_get_monotonic_time () + 300000;

  if (dir == NULL)
    return;
  /* Let the window draw what the test just did. */
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  path = g_strdup_printf ("%s/%s.png", dir, name);
  argv = g_strsplit ("import -window root", " ", -1);
  g_strv_builder_addv (builder, (const char **) argv);
  g_strv_builder_add (builder, path);
  g_clear_pointer (&argv, g_strfreev);
  argv = g_strv_builder_end (builder);
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, &error))
    g_test_message ("no screenshot: %s", error->message);
}

/* Tests: one player */

static gboolean
recorded_to_end (Fixture *fx, gconstpointer data)
{
  CustosTimelineModel *model = custos_player_get_timeline_model (fx->player);

  return custos_timeline_model_is_recorded (model, T0) &&
         custos_timeline_model_is_recorded (model, T0 + (N_FRAMES - 1) * FRAME) &&
         !custos_timeline_model_is_recorded (model, T0 + N_FRAMES * FRAME);
}

static gboolean
position_beyond (Fixture *fx, gconstpointer data)
{
  return custos_player_get_position_utc (fx->player) > *(const gint64 *) data + 5 * FRAME;
}

static void
test_plays_bars (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  g_autoptr (GFile) file = g_file_new_for_path (file_a);
  GtkWidget *picture;
  gint64     position;

  custos_player_set_key_provider (fx->player, provider, NULL);
  custos_player_open_file (fx->player, file);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_LOADING);
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PLAYING);
  g_assert_null (custos_player_get_status_title (fx->player));
  position = custos_player_get_position_utc (fx->player);
  g_assert_cmpint (position, >=, T0);
  g_assert_cmpint (position, <, T0 + N_FRAMES * FRAME);
  g_assert_cmpint ((position - T0) % FRAME, ==, 0);
  g_assert_cmpint (custos_player_get_frame_duration (fx->player), ==, FRAME);
  assert_bars (fx->player);
  /* The whole file is on the timeline, not only what was played. */
  wait_for (fx, recorded_to_end, NULL, "the file's range on the timeline");
  /* What the window draws is that paintable. */
  picture = gtk_widget_get_first_child (GTK_WIDGET (fx->player));
  g_assert_nonnull (picture);
  assert_drawn_bars (fx->player);
  g_assert_cmpstr (custos_player_get_title (fx->player), ==, "a.fusion");
  /* It plays on. */
  wait_for (fx, position_beyond, &position, "playback to go on");
  custos_player_pause (fx->player);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PAUSED);
  screenshot (fx, "player-paused");
}

static void
seek_and_wait (Fixture *fx, gint64 utc)
{
  custos_player_seek_utc (fx->player, utc);
  wait_frame (fx);
}

static void
step_and_wait (Fixture *fx, int frames)
{
  custos_player_step (fx->player, frames);
  wait_frame (fx);
}

static void
test_seek_and_step (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();

  custos_player_set_key_provider (fx->player, provider, NULL);
  open_and_pause (fx, file_a);
  /* 3.5 s is inside frame 87 (3.48 s … 3.52 s): that frame is shown. */
  seek_and_wait (fx, T0 + 3 * S + 500000);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 87 * FRAME);
  assert_bars (fx->player);
  step_and_wait (fx, 1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 88 * FRAME);
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 87 * FRAME);
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 86 * FRAME);
  /* Back over a keyframe (frame 75 at 3 s). */
  seek_and_wait (fx, T0 + 75 * FRAME + 1000);
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 74 * FRAME);
  step_and_wait (fx, 2);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 76 * FRAME);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PAUSED);
  /* A rate change keeps the place. */
  custos_player_set_rate (fx->player, 4);
  wait_frame (fx);
  g_assert_cmpfloat (custos_player_get_rate (fx->player), ==, 4);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 76 * FRAME);
  custos_player_set_rate (fx->player, 100);
  g_assert_cmpfloat (custos_player_get_rate (fx->player), ==, CUSTOS_PLAYER_MAX_RATE);
}

static GtkWidget *
find_child (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_child (c, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkGesture *
find_drag (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_DRAG (c))
        return GTK_GESTURE (c);
    }
  return NULL;
}

/* A click on the timeline, and a drag along it, take the player there:
 * the timeline's own drag gesture is driven as GTK would drive it (Xvfb
 * has no pointer to click with), and the frame shown is the one at the
 * place clicked. */
static void
test_timeline_click (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  GtkWidget  *timeline;
  GtkGesture *drag;
  gint64      start, end, want;
  double      width;

  custos_player_set_key_provider (fx->player, provider, NULL);
  open_and_pause (fx, file_a);
  timeline = find_child (GTK_WIDGET (fx->player), CUSTOS_TYPE_TIMELINE);
  g_assert_nonnull (timeline);
  drag = find_drag (timeline);
  g_assert_nonnull (drag);
  custos_timeline_get_view (CUSTOS_TIMELINE (timeline), &start, &end);
  width = gtk_widget_get_width (timeline);
  g_assert_cmpfloat (width, >, 100);

  /* Click at a quarter of the view. */
  want = start + (gint64) (0.25 * (double) (end - start));
  g_signal_emit_by_name (drag, "drag-begin", 0.25 * width, 5.0);
  wait_frame (fx);
  g_assert_cmpint (ABS (custos_player_get_position_utc (fx->player) - want), <, FRAME);
  assert_bars (fx->player);

  /* Dragged on to three quarters and let go: the exact frame there. */
  want = start + (gint64) (0.75 * (double) (end - start));
  g_signal_emit_by_name (drag, "drag-end", 0.5 * width, 0.0);
  wait_frame (fx);
  g_assert_cmpint (ABS (custos_player_get_position_utc (fx->player) - want), <, FRAME);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PAUSED);
}

static GBytes *
shown_pixels (Fixture *fx)
{
  GdkTexture *texture = custos_video_paintable_get_texture (
      CUSTOS_VIDEO_PAINTABLE (custos_player_get_paintable (fx->player)));
  int         width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  guint8     *data = g_malloc ((gsize) width * height * 4);

  gdk_texture_download (texture, data, width * 4);
  return g_bytes_new_take (data, (gsize) width * height * 4);
}

static double
mean_difference (GBytes *a, GBytes *b)
{
  gsize         size, other;
  const guint8 *p = g_bytes_get_data (a, &size), *q = g_bytes_get_data (b, &other);
  guint64       sum = 0;

  g_assert_cmpuint (size, ==, other);
  for (gsize i = 0; i < size; i++)
    sum += ABS (p[i] - q[i]);
  return (double) sum / size;
}

/* Steps back right after a seek show the frames decoded on the way to it
 * (kept, not decoded again): each must be the very frame a seek to it
 * shows. The bars move 4 pixels a frame, so neighbours differ. */
static void
test_step_back_exact (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  g_autoptr (GBytes) at_87 = NULL;
  g_autoptr (GBytes) back_86 = NULL;
  g_autoptr (GBytes) again_86 = NULL;
  g_autoptr (GBytes) again_87 = NULL;
  g_autoptr (GBytes) sought_86 = NULL;
  g_autoptr (GBytes) back_85 = NULL;
  g_autoptr (GBytes) sought_85 = NULL;

  custos_player_set_key_provider (fx->player, provider, NULL);
  open_and_pause (fx, file_moving);
  seek_and_wait (fx, T0 + 87 * FRAME + FRAME / 2);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 87 * FRAME);
  at_87 = shown_pixels (fx);
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 86 * FRAME);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PAUSED);
  back_86 = shown_pixels (fx);
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 85 * FRAME);
  back_85 = shown_pixels (fx);
  step_and_wait (fx, 1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 86 * FRAME);
  again_86 = shown_pixels (fx);
  step_and_wait (fx, 1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 87 * FRAME);
  again_87 = shown_pixels (fx);
  /* On past the seek's frame: the pipeline is where the picture is. */
  step_and_wait (fx, 1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 88 * FRAME);
  g_test_message ("86 vs 87: %.2f", mean_difference (back_86, at_87));
  g_assert_cmpfloat (mean_difference (back_86, at_87), >, 2.0);
  g_assert_cmpfloat (mean_difference (back_85, back_86), >, 2.0);
  g_assert_cmpfloat (mean_difference (again_86, back_86), <, 0.5);
  g_assert_cmpfloat (mean_difference (again_87, at_87), <, 0.5);
  /* The same frames decoded from the keyframe by a seek. */
  seek_and_wait (fx, T0 + 86 * FRAME + FRAME / 2);
  sought_86 = shown_pixels (fx);
  seek_and_wait (fx, T0 + 85 * FRAME + FRAME / 2);
  sought_85 = shown_pixels (fx);
  g_test_message ("kept 86 vs sought 86: %.2f", mean_difference (back_86, sought_86));
  g_assert_cmpfloat (mean_difference (back_86, sought_86), <, 0.5);
  g_assert_cmpfloat (mean_difference (back_85, sought_85), <, 0.5);
  /* Playing from a kept frame plays on from there. */
  step_and_wait (fx, -1);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 84 * FRAME);
  custos_player_play (fx->player);
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), >=, T0 + 84 * FRAME);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), <, T0 + 87 * FRAME);
  custos_player_pause (fx->player);
}

static void
test_locked (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  g_autoptr (GFile) file = g_file_new_for_path (file_a);
  CustosVideoPaintable *paintable;

  custos_player_open_file (fx->player, file);
  wait_for (fx, state_is, GINT_TO_POINTER (CUSTOS_PLAYER_STATE_LOCKED), "the locked page");
  g_assert_cmpstr (custos_player_get_status_title (fx->player), ==, "Locked");
  g_assert_nonnull (strstr (custos_player_get_status_description (fx->player),
                            "This camera is encrypted. Insert the smart card enrolled for it, "
                            "or add its key file."));
  paintable = CUSTOS_VIDEO_PAINTABLE (custos_player_get_paintable (fx->player));
  g_assert_null (custos_video_paintable_get_texture (paintable));
  g_assert_true (
      custos_timeline_model_is_locked (custos_player_get_timeline_model (fx->player), T0 + FRAME));
  /* The key comes: the same tile plays. */
  custos_player_set_key_provider (fx->player, provider, NULL);
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_PLAYING);
  g_assert_null (custos_player_get_status_title (fx->player));
  assert_bars (fx->player);
  g_assert_false (
      custos_timeline_model_is_locked (custos_player_get_timeline_model (fx->player), T0 + FRAME));
}

/* Without a seal the video is shown, and said to be not signed. */
static gboolean
has_verdict (Fixture *fx, gconstpointer data)
{
  CustosTimelineModel *model = custos_player_get_timeline_model (fx->player);

  return custos_timeline_model_get_verdict_at (model, T0 + 5 * FRAME) != CUSTOS_TIMELINE_UNKNOWN;
}

static void
test_plain_not_signed (Fixture *fx, gconstpointer data)
{
  open_and_pause (fx, file_plain);
  custos_player_play (fx->player);
  wait_for (fx, has_verdict, NULL, "a verification verdict");
  g_assert_cmpint (custos_timeline_model_get_verdict_at (
                       custos_player_get_timeline_model (fx->player), T0 + 5 * FRAME),
                   ==, CUSTOS_TIMELINE_NOT_SIGNED);
  g_assert_true (custos_timeline_model_is_recorded (custos_player_get_timeline_model (fx->player),
                                                    T0 + 5 * FRAME));
  assert_bars (fx->player);
  screenshot (fx, "player-not-signed");
}

static void
on_snapshot (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
not_null (Fixture *fx, gconstpointer data)
{
  return *(gpointer *) data != NULL;
}

static gboolean
contains (const char *haystack, gsize size, const char *needle, gsize needle_len)
{
  for (gsize i = 0; i + needle_len <= size; i++)
    if (memcmp (haystack + i, needle, needle_len) == 0)
      return TRUE;
  return FALSE;
}

static void
test_snapshot (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) png = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  const char *expected = "tEXtCreation Time\0002026-11-21T20:34:02.080Z";
  gint64      utc = 0;
  gsize       size;
  const char *bytes;

  custos_player_set_key_provider (fx->player, provider, NULL);
  open_and_pause (fx, file_a);
  seek_and_wait (fx, T0 + 52 * FRAME);
  custos_player_snapshot_async (fx->player, NULL, on_snapshot, &result);
  wait_for (fx, not_null, &result, "the snapshot");
  png = custos_player_snapshot_finish (fx->player, result, &utc, &error);
  g_assert_no_error (error);
  g_assert_cmpint (utc, ==, T0 + 52 * FRAME);
  bytes = g_bytes_get_data (png, &size);
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_true (contains (bytes, size, expected,
                           strlen ("tEXtCreation Time") + 1 + strlen ("2026-11-21T20:34:02.080Z")));
  g_assert_true (contains (bytes, size, "tEXtTitle\0a.fusion", 18));
  texture = gdk_texture_new_from_bytes (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 320);
}

/* Tests: the timeline alone, zoomed and panned */

static void
timeline_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosTimelineModel) model = custos_timeline_model_new ();
  GtkWidget *timeline = custos_timeline_new ();

  /* Ten seconds recorded. */
  custos_timeline_model_add_recorded (model, T0, T0 + 10 * S);
  custos_timeline_set_model (CUSTOS_TIMELINE (timeline), model);
  present (fx, timeline);
}

static gboolean
timeline_allocated (Fixture *fx, gconstpointer data)
{
  return gtk_widget_get_width (gtk_window_get_child (GTK_WINDOW (fx->window))) > 100;
}

static CustosTimeline *
shown_timeline (Fixture *fx)
{
  wait_for (fx, timeline_allocated, NULL, "the timeline's size");
  return CUSTOS_TIMELINE (gtk_window_get_child (GTK_WINDOW (fx->window)));
}

static GtkEventController *
find_controller (GtkWidget *widget, GType type)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        return GTK_EVENT_CONTROLLER (c);
    }
  g_error ("no %s on the %s", g_type_name (type), G_OBJECT_TYPE_NAME (widget));
}

/* One wheel step with the pointer at x. Xvfb has no pointer or wheel to
 * scroll with and GTK 4 cannot make input events, so the timeline's own
 * controllers get the signals GTK would emit for them: the pointer's
 * motion to x, then the scroll ("scroll" with dx, dy; up is dy < 0). */
static void
scroll_at (CustosTimeline *timeline, double x, double dx, double dy)
{
  GtkWidget *widget = GTK_WIDGET (timeline);
  gboolean   handled = FALSE;

  g_signal_emit_by_name (find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_MOTION), "motion", x,
                         20.0);
  g_signal_emit_by_name (find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_SCROLL), "scroll", dx,
                         dy, &handled);
  g_assert_true (handled);
}

/* The time drawn at x, from the view the timeline reports. */
static double
time_at (CustosTimeline *timeline, double x)
{
  gint64 start, end;

  custos_timeline_get_view (timeline, &start, &end);
  return start + x / gtk_widget_get_width (GTK_WIDGET (timeline)) * (double) (end - start);
}

/* Where the time t is drawn, in pixels. */
static double
x_of (CustosTimeline *timeline, double t)
{
  gint64 start, end;

  custos_timeline_get_view (timeline, &start, &end);
  return (t - start) / (double) (end - start) * gtk_widget_get_width (GTK_WIDGET (timeline));
}

static gint64
view_span (CustosTimeline *timeline)
{
  gint64 start, end;

  custos_timeline_get_view (timeline, &start, &end);
  return end - start;
}

/* Scrolling up narrows the view around the pointer, down widens it: the
 * time under the pointer stays under it (within a pixel) either way. */
static void
test_timeline_zoom (Fixture *fx, gconstpointer data)
{
  CustosTimeline *timeline = shown_timeline (fx);
  double          width = gtk_widget_get_width (GTK_WIDGET (timeline));
  gint64          start, end, before_start, before_end;
  double          x = 0.3 * width, t;

  /* Before any scroll it shows what is recorded. */
  custos_timeline_get_view (timeline, &before_start, &before_end);
  g_assert_cmpint (before_start, ==, T0);
  g_assert_cmpint (before_end, ==, T0 + 10 * S);

  t = time_at (timeline, x);
  scroll_at (timeline, x, 0, -1);
  custos_timeline_get_view (timeline, &start, &end);
  g_test_message ("zoomed in at %.0f px: %" G_GINT64_FORMAT " … %" G_GINT64_FORMAT, x, start - T0,
                  end - T0);
  g_assert_cmpint (start, >, before_start);
  g_assert_cmpint (end, <, before_end);
  g_assert_cmpfloat (ABS (x_of (timeline, t) - x), <, 1.0);

  /* Two more steps in, at another place: narrower still, same rule. */
  x = 0.8 * width;
  t = time_at (timeline, x);
  before_end = view_span (timeline);
  scroll_at (timeline, x, 0, -1);
  scroll_at (timeline, x, 0, -1);
  g_assert_cmpint (view_span (timeline), <, before_end);
  g_assert_cmpfloat (ABS (x_of (timeline, t) - x), <, 1.0);

  /* Down widens it again around the pointer, back to the span it had. */
  x = 0.5 * width;
  t = time_at (timeline, x);
  for (int i = 0; i < 3; i++)
    {
      gint64 span = view_span (timeline);

      scroll_at (timeline, x, 0, 1);
      g_assert_cmpint (view_span (timeline), >, span);
      g_assert_cmpfloat (ABS (x_of (timeline, t) - x), <, 1.0);
    }
  g_assert_cmpint (ABS (view_span (timeline) - 10 * S), <=, 10);

  /* However far in, half a second stays visible, still around the pointer. */
  x = 0.25 * width;
  t = time_at (timeline, x);
  for (int i = 0; i < 40; i++)
    scroll_at (timeline, x, 0, -1);
  g_assert_cmpint (view_span (timeline), ==, S / 2);
  g_assert_cmpfloat (ABS (x_of (timeline, t) - x), <, 1.0);
}

/* A horizontal scroll moves the view by a tenth of it, later to the
 * right, earlier to the left, keeping its span. */
static void
test_timeline_pan (Fixture *fx, gconstpointer data)
{
  CustosTimeline *timeline = shown_timeline (fx);
  double          width = gtk_widget_get_width (GTK_WIDGET (timeline));
  gint64          start, end;

  scroll_at (timeline, width / 2, 1, 0);
  custos_timeline_get_view (timeline, &start, &end);
  g_assert_cmpint (start, ==, T0 + S);
  g_assert_cmpint (end, ==, T0 + 11 * S);
  scroll_at (timeline, width / 4, -1, 0);
  scroll_at (timeline, width / 4, -1, 0);
  custos_timeline_get_view (timeline, &start, &end);
  g_assert_cmpint (start, ==, T0 - S);
  g_assert_cmpint (end, ==, T0 + 9 * S);
}

/* Left alone, the view follows what the model records; once the user has
 * zoomed it stays where the user put it when the model grows, until Home
 * gives it back to the model. */
static void
test_timeline_user_view (Fixture *fx, gconstpointer data)
{
  CustosTimeline      *timeline = shown_timeline (fx);
  CustosTimelineModel *model = custos_timeline_get_model (timeline);
  double               width = gtk_widget_get_width (GTK_WIDGET (timeline));
  gint64               start, end, zoomed_start, zoomed_end;
  gboolean             handled = FALSE;

  custos_timeline_model_add_recorded (model, T0 + 20 * S, T0 + 30 * S);
  custos_timeline_get_view (timeline, &start, &end);
  g_assert_cmpint (start, ==, T0);
  g_assert_cmpint (end, ==, T0 + 30 * S);

  scroll_at (timeline, width / 2, 0, -1);
  custos_timeline_get_view (timeline, &zoomed_start, &zoomed_end);
  custos_timeline_model_add_recorded (model, T0 + 40 * S, T0 + 60 * S);
  custos_timeline_model_add_recorded (model, T0 - 20 * S, T0);
  /* Drawn again after the change: still the user's view. */
  gtk_widget_queue_draw (GTK_WIDGET (timeline));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  custos_timeline_get_view (timeline, &start, &end);
  g_assert_cmpint (start, ==, zoomed_start);
  g_assert_cmpint (end, ==, zoomed_end);

  /* Home (the key controller, as for the wheel): the model's bounds again. */
  custos_timeline_set_position_utc (timeline, T0 + 5 * S);
  g_signal_emit_by_name (find_controller (GTK_WIDGET (timeline), GTK_TYPE_EVENT_CONTROLLER_KEY),
                         "key-pressed", GDK_KEY_Home, 0, 0, &handled);
  g_assert_true (handled);
  custos_timeline_get_view (timeline, &start, &end);
  g_assert_cmpint (start, ==, T0 - 20 * S);
  g_assert_cmpint (end, ==, T0 + 60 * S);
}

static void
test_bad_files (Fixture *fx, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (custos_test_tmpdir (), "gone.fusion", NULL);
  g_autoptr (GFile) gone = g_file_new_for_path (missing);
  g_autoptr (GFile) bad = NULL;
  g_autofree char *noise = g_malloc (64 * 1024);
  g_autofree char *bad_path = NULL;

  custos_player_open_file (fx->player, gone);
  g_assert_cmpint (custos_player_get_state (fx->player), ==, CUSTOS_PLAYER_STATE_ERROR);
  g_assert_nonnull (strstr (custos_player_get_status_description (fx->player), "gone.fusion"));

  for (guint i = 0; i < 64 * 1024; i++)
    noise[i] = (char) g_random_int ();
  bad_path = custos_test_write_file ("noise.fusion", noise, 64 * 1024);
  bad = g_file_new_for_path (bad_path);
  custos_player_open_file (fx->player, bad);
  wait_for (fx, state_is, GINT_TO_POINTER (CUSTOS_PLAYER_STATE_ERROR), "an error page");
  g_test_message ("noise: %s", custos_player_get_status_description (fx->player));
  g_assert_nonnull (strstr (custos_player_get_status_description (fx->player), "noise.fusion"));
  g_assert_cmpstr (custos_player_get_status_title (fx->player), ==, "Cannot Play This File");
  screenshot (fx, "player-error");
}

/* The controls: jump to a date, in local time (TZ=Europe/Berlin) or UTC. */

static GtkWidget *
find_widget (GtkWidget *root, GType type, const char *text)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) &&
      (text == NULL ||
       (GTK_IS_LABEL (root) && strstr (gtk_label_get_text (GTK_LABEL (root)), text))))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
jump (Fixture *fx, GtkWidget *bar, const char *text)
{
  GtkWidget *entry = find_widget (bar, GTK_TYPE_ENTRY, NULL);

  g_assert_nonnull (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  g_signal_emit_by_name (entry, "activate");
}

static void
test_jump_to_date (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  GtkWidget *bar;
  guint      frames;

  if (g_strcmp0 (g_getenv ("TZ"), "Europe/Berlin") != 0)
    {
      g_test_skip ("TZ is not Europe/Berlin (run through meson test)");
      return;
    }
  custos_player_set_key_provider (fx->player, provider, NULL);
  open_and_pause (fx, file_a);
  bar = find_widget (GTK_WIDGET (fx->player), CUSTOS_TYPE_PLAYER_BAR, NULL);
  g_assert_nonnull (bar);
  g_assert_true (gtk_widget_activate_action (bar, "bar.jump", NULL));
  /* Local time: 21:34:03 in Berlin in November is 20:34:03 UTC. */
  jump (fx, bar, "2026-11-21 21:34:03");
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 75 * FRAME);
  g_assert_nonnull (find_widget (bar, GTK_TYPE_LABEL, "2026-11-21 21:34:03.000 CET"));
  /* UTC ticked: the same digits mean UTC. */
  g_assert_true (gtk_widget_activate_action (bar, "bar.jump", NULL));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (find_widget (bar, GTK_TYPE_CHECK_BUTTON, NULL)),
                               TRUE);
  jump (fx, bar, "2026-11-21 20:34:05");
  wait_frame (fx);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 125 * FRAME);
  /* A time the clocks skipped is refused, with the reason; nothing moves. */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (find_widget (bar, GTK_TYPE_CHECK_BUTTON, NULL)),
                               FALSE);
  frames = fx->frames;
  jump (fx, bar, "2026-03-29 02:30");
  g_assert_nonnull (find_widget (bar, GTK_TYPE_LABEL, "did not happen in this time zone"));
  g_assert_cmpuint (fx->frames, ==, frames);
  g_assert_cmpint (custos_player_get_position_utc (fx->player), ==, T0 + 125 * FRAME);
}

/* Tests: the grid */

typedef struct
{
  guint  n;
  guint *counts;
  guint *want;
} TileFrames;

static gboolean
tiles_painted (Fixture *fx, gconstpointer data)
{
  const TileFrames *tf = data;

  for (guint i = 0; i < tf->n; i++)
    if (tf->counts[i] < tf->want[i])
      return FALSE;
  return TRUE;
}

static void
on_tile_frame (CustosPlayer *tile, guint *count)
{
  (*count)++;
}

static void
wait_tiles (Fixture *fx, TileFrames *tf)
{
  for (guint i = 0; i < tf->n; i++)
    tf->want[i] = tf->counts[i] + 1;
  wait_for (fx, tiles_painted, tf, "every tile to paint");
}

static void
assert_in_step (CustosGrid *grid, gint64 near_utc)
{
  gint64 lo = G_MAXINT64, hi = G_MININT64;

  for (guint i = 0; i < custos_grid_get_n_tiles (grid); i++)
    {
      gint64 p = custos_player_get_position_utc (custos_grid_get_tile (grid, i));

      g_test_message ("tile %u at %" G_GINT64_FORMAT " µs", i, p - T0);
      g_assert_cmpint (p, !=, G_MININT64);
      lo = MIN (lo, p);
      hi = MAX (hi, p);
    }
  g_assert_cmpint (hi - lo, <, FRAME);
  if (near_utc != G_MININT64)
    {
      g_assert_cmpint (hi, <=, near_utc);
      g_assert_cmpint (lo, >, near_utc - FRAME);
    }
}

static gboolean
positions_settled (Fixture *fx, gconstpointer data)
{
  static gint64 last[CUSTOS_GRID_MAX_TILES];
  static gint64 since;
  gboolean      same = TRUE;

  for (guint i = 0; i < custos_grid_get_n_tiles (fx->grid); i++)
    {
      gint64 p = custos_player_get_position_utc (custos_grid_get_tile (fx->grid, i));

      same &= p == last[i];
      last[i] = p;
    }
  if (!same)
    since = g_get_monotonic_time ();
  return same && g_get_monotonic_time () - since > 300000;
}

static gboolean
played_a_second (Fixture *fx, gconstpointer data)
{
  return custos_grid_get_position_utc (fx->grid) >= *(const gint64 *) data + S;
}

static void
test_grid_in_step (Fixture *fx, gconstpointer data)
{
  g_autoptr (CustosKeyProvider) provider = key_provider ();
  const char *paths[] = { file_a, file_b, file_a };
  guint       counts[3] = { 0 }, want[3] = { 0 };
  TileFrames  tf = { 3, counts, want };
  gint64      target = T0 + 4 * S + 500000, start;

  custos_grid_set_key_provider (fx->grid, provider, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      CustosPlayer *tile = custos_grid_add_tile (fx->grid);
      g_autoptr (GFile) file = g_file_new_for_path (paths[i]);

      g_signal_connect (tile, "first-frame", G_CALLBACK (on_tile_frame), &counts[i]);
      custos_player_open_file (tile, file);
    }
  g_assert_cmpuint (custos_grid_get_n_tiles (fx->grid), ==, 3);
  wait_tiles (fx, &tf);

  custos_grid_pause (fx->grid);
  custos_grid_seek_utc (fx->grid, target);
  wait_tiles (fx, &tf);
  assert_in_step (fx->grid, target);
  screenshot (fx, "grid");

  /* Played together for a second, then paused: still in step. */
  start = custos_grid_get_position_utc (fx->grid);
  custos_grid_play (fx->grid);
  wait_for (fx, played_a_second, &start, "a second of playback");
  custos_grid_pause (fx->grid);
  /* Pausing brings every tile to the frame the selected one shows. */
  wait_tiles (fx, &tf);
  wait_for (fx, positions_settled, NULL, "the tiles to stop");
  assert_in_step (fx->grid, G_MININT64);

  /* A step moves every tile by one frame. */
  start = custos_grid_get_position_utc (fx->grid);
  custos_grid_step (fx->grid, 1);
  wait_tiles (fx, &tf);
  assert_in_step (fx->grid, start + FRAME + FRAME / 2);
  g_assert_cmpint (custos_grid_get_position_utc (fx->grid), ==, start + FRAME);
}

static void
test_grid_full (Fixture *fx, gconstpointer data)
{
  for (guint i = 0; i < CUSTOS_GRID_MAX_TILES; i++)
    g_assert_nonnull (custos_grid_add_tile (fx->grid));
  g_assert_null (custos_grid_add_tile (fx->grid));
  custos_grid_remove_tile (fx->grid, custos_grid_get_tile (fx->grid, 1));
  g_assert_cmpuint (custos_grid_get_n_tiles (fx->grid), ==, 3);
  g_assert_nonnull (custos_grid_get_selected (fx->grid));
  /* The selected tile goes: the next one is selected. */
  custos_grid_remove_tile (fx->grid, custos_grid_get_selected (fx->grid));
  g_assert_cmpuint (custos_grid_get_n_tiles (fx->grid), ==, 2);
  g_assert_true (custos_grid_get_selected (fx->grid) == custos_grid_get_tile (fx->grid, 0));
  g_assert_true (custos_grid_add_tile (fx->grid) != NULL);
  /* Each empty tile says what to do. */
  g_assert_cmpint (custos_player_get_state (custos_grid_get_tile (fx->grid, 0)), ==,
                   CUSTOS_PLAYER_STATE_EMPTY);
  g_assert_cmpstr (custos_player_get_status_title (custos_grid_get_tile (fx->grid, 0)), ==,
                   "No Video");
}

static void
test_no_display (void)
{
  g_test_skip ("no display: GTK cannot open DISPLAY (install xvfb and reconfigure)");
}

int
main (int argc, char **argv)
{
  int status;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_add_func ("/display/player/no-display", test_no_display);
      return g_test_run ();
    }
  adw_init ();

  custos_test_make_cert ("ec:P-256", "viewer", &cert_path, &key_path);
  file_a = make_fusion ("a.fusion", T0, TRUE);
  file_b = make_fusion ("b.fusion", T1, TRUE);
  file_plain = make_fusion ("plain.fusion", T0, FALSE);
  file_moving = make_fusion_from ("moving.fusion", T0, TRUE, "pattern=smpte horizontal-speed=4");
  source_bars = pull_source_bars ();

  g_test_add ("/display/player/plays-bars", Fixture, NULL, player_set_up, test_plays_bars,
              tear_down);
  g_test_add ("/display/player/timeline-click", Fixture, NULL, player_set_up, test_timeline_click,
              tear_down);
  g_test_add ("/display/player/seek-and-step", Fixture, NULL, player_set_up, test_seek_and_step,
              tear_down);
  g_test_add ("/display/player/step-back-exact", Fixture, NULL, player_set_up,
              test_step_back_exact, tear_down);
  g_test_add ("/display/player/locked", Fixture, NULL, player_set_up, test_locked, tear_down);
  g_test_add ("/display/player/plain-not-signed", Fixture, NULL, player_set_up,
              test_plain_not_signed, tear_down);
  g_test_add ("/display/player/snapshot", Fixture, NULL, player_set_up, test_snapshot, tear_down);
  g_test_add ("/display/player/jump-to-date", Fixture, NULL, player_set_up, test_jump_to_date,
              tear_down);
  g_test_add ("/display/player/bad-files", Fixture, NULL, player_set_up, test_bad_files, tear_down);
  g_test_add ("/display/timeline/zoom", Fixture, NULL, timeline_set_up, test_timeline_zoom,
              tear_down);
  g_test_add ("/display/timeline/pan", Fixture, NULL, timeline_set_up, test_timeline_pan,
              tear_down);
  g_test_add ("/display/timeline/user-view", Fixture, NULL, timeline_set_up,
              test_timeline_user_view, tear_down);
  g_test_add ("/display/grid/in-step", Fixture, NULL, grid_set_up, test_grid_in_step, tear_down);
  g_test_add ("/display/grid/full", Fixture, NULL, grid_set_up, test_grid_full, tear_down);
  status = g_test_run ();
  gst_sample_unref (source_bars);
  return status;
}
