/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custosvideosink and CustosVideoPaintable in a real window (run under
 * Xvfb): real pipelines feed a GtkPicture, and the test checks the
 * paintable's intrinsic size and aspect ratio, the colours of the frame it
 * holds, that it was updated on the main thread, and what the window
 * actually renders, letterbox bands included.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gst/gst.h>
#include <gtk/gtk.h>

#include "custos-video-sink.h"

#define TIMEOUT_US (10 * G_USEC_PER_SEC)
#define PICTURE    400

static GThread *main_thread;

typedef struct
{
  GtkWidget            *window;
  GtkWidget            *picture;
  GdkPaintable         *observer;    /* what the window draws of the picture */
  GstElement           *pipeline;
  CustosVideoPaintable *paintable;
  guint                 updates;
  guint                 paints;      /* since the frames came */
  gboolean              off_main_thread;
} Fixture;

/* A window of its own for each test, with a square picture in it. */
static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  fx->window = gtk_window_new ();
  fx->picture = gtk_picture_new ();
  gtk_widget_set_size_request (fx->picture, PICTURE, PICTURE);
  gtk_picture_set_can_shrink (GTK_PICTURE (fx->picture), TRUE);
  gtk_window_set_child (GTK_WINDOW (fx->window), fx->picture);
  fx->observer = gtk_widget_paintable_new (fx->picture);
  gtk_window_set_default_size (GTK_WINDOW (fx->window), PICTURE, PICTURE);
  gtk_window_set_resizable (GTK_WINDOW (fx->window), FALSE);
  gtk_window_present (GTK_WINDOW (fx->window));
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  if (fx->pipeline != NULL)
    {
      gst_element_set_state (fx->pipeline, GST_STATE_NULL);
      gst_object_unref (fx->pipeline);
    }
  g_clear_object (&fx->observer);
  gtk_window_destroy (GTK_WINDOW (fx->window));
  /* Let the idles that still hold the sink run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
on_invalidate (GdkPaintable *paintable,
               Fixture      *fx)
{
  fx->updates++;
  fx->off_main_thread |= g_thread_self () != main_thread;
}

static void
run (Fixture    *fx,
     const char *description)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) sink = NULL;

  fx->pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (fx->pipeline), "sink");
  g_assert_nonnull (sink);
  g_object_get (sink, "paintable", &fx->paintable, NULL);
  g_object_unref (fx->paintable); /* the sink keeps it */
  g_assert_true (CUSTOS_IS_VIDEO_PAINTABLE (fx->paintable));
  g_signal_connect (fx->paintable, "invalidate-contents", G_CALLBACK (on_invalidate), fx);
  gtk_picture_set_paintable (GTK_PICTURE (fx->picture), GDK_PAINTABLE (fx->paintable));
  g_assert_cmpint (gst_element_set_state (fx->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
}

static void
fail_on_error (GstElement *pipeline)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;

  if (message == NULL)
    return;
  gst_message_parse_error (message, &error, NULL);
  g_error ("pipeline error: %s", error->message);
}

static void
on_after_paint (GdkFrameClock *clock,
                Fixture       *fx)
{
  if (fx->updates > 0)
    fx->paints++;
}

/* The main loop runs until a few frames were shown and the window drew
 * them. */
static void
wait_for_frames (Fixture *fx,
                 guint    frames)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  GdkFrameClock *clock;

  while (!gtk_widget_get_mapped (fx->window))
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  clock = gtk_widget_get_frame_clock (fx->window);
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), fx);
  while (fx->updates < frames || fx->paints < 2)
    {
      g_main_context_iteration (NULL, FALSE);
      fail_on_error (fx->pipeline);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
  g_assert_false (fx->off_main_thread);
}

/* Pixels */

typedef struct
{
  guint8 r, g, b, a;
} Pixel;

static Pixel
texture_pixel (GdkTexture *texture,
               int         x,
               int         y)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_malloc ((gsize) width * height * 4);
  const guint8 *p;
  Pixel px;

  /* Cairo's layout: premultiplied ARGB32, B G R A in memory here. */
  gdk_texture_download (texture, data, width * 4);
  p = data + ((gsize) y * width + x) * 4;
  px.b = p[0];
  px.g = p[1];
  px.r = p[2];
  px.a = p[3];
  return px;
}

static void
assert_colour (Pixel px,
               int   r,
               int   g,
               int   b)
{
  g_test_message ("pixel %d %d %d %d, expected %d %d %d", px.r, px.g, px.b, px.a, r, g, b);
  g_assert_cmpint (ABS (px.r - r), <=, 8);
  g_assert_cmpint (ABS (px.g - g), <=, 8);
  g_assert_cmpint (ABS (px.b - b), <=, 8);
  g_assert_cmpint (px.a, ==, 255);
}

/* What the window renders of the picture: its own renderer, its own node. */
static GdkTexture *
render_picture (Fixture *fx)
{
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (fx->picture));
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  int width = gtk_widget_get_width (fx->picture), height = gtk_widget_get_height (fx->picture);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);

  g_assert_cmpint (width, ==, PICTURE);
  g_assert_cmpint (height, ==, PICTURE);
  gdk_paintable_snapshot (fx->observer, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &bounds);
}

/* Tests */

/* 16:9 in a square: the picture spans the width, bands above and below. */
static void
test_red (Fixture       *fx,
          gconstpointer  data)
{
  g_autoptr (GdkTexture) rendered = NULL;
  GdkTexture *frame;
  int band = (PICTURE - PICTURE * 9 / 16) / 2;

  run (fx, "videotestsrc pattern=red num-buffers=300 ! "
           "video/x-raw,width=320,height=180,framerate=30/1 ! videoconvert ! "
           "custosvideosink name=sink");
  wait_for_frames (fx, 3);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (fx->paintable)), ==, 320);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (GDK_PAINTABLE (fx->paintable)), ==, 180);
  g_assert_cmpfloat_with_epsilon (
    gdk_paintable_get_intrinsic_aspect_ratio (GDK_PAINTABLE (fx->paintable)), 16.0 / 9, 1e-9);
  frame = custos_video_paintable_get_texture (fx->paintable);
  g_assert_cmpint (gdk_texture_get_width (frame), ==, 320);
  assert_colour (texture_pixel (frame, 160, 90), 255, 0, 0);

  rendered = render_picture (fx);
  assert_colour (texture_pixel (rendered, PICTURE / 2, PICTURE / 2), 255, 0, 0);
  assert_colour (texture_pixel (rendered, 5, band + 5), 255, 0, 0);
  /* The letterbox bands show nothing of the frame. */
  g_assert_cmpint (texture_pixel (rendered, PICTURE / 2, band / 2).r, <, 64);
  g_assert_cmpint (texture_pixel (rendered, PICTURE / 2, PICTURE - band / 2).r, <, 64);
}

/* BGRA, and pixels twice as wide as high: 160×240 shows as 320×240. */
static void
test_bgra_pixel_aspect (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr (GdkTexture) rendered = NULL;
  int band = (PICTURE - PICTURE * 3 / 4) / 2;

  run (fx, "videotestsrc pattern=blue num-buffers=300 ! "
           "video/x-raw,format=BGRA,width=160,height=240,pixel-aspect-ratio=2/1,"
           "framerate=30/1 ! custosvideosink name=sink");
  wait_for_frames (fx, 3);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (fx->paintable)), ==, 320);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (GDK_PAINTABLE (fx->paintable)), ==, 240);
  g_assert_cmpfloat_with_epsilon (
    gdk_paintable_get_intrinsic_aspect_ratio (GDK_PAINTABLE (fx->paintable)), 4.0 / 3, 1e-9);
  assert_colour (texture_pixel (custos_video_paintable_get_texture (fx->paintable), 80, 120),
                 0, 0, 255);
  rendered = render_picture (fx);
  assert_colour (texture_pixel (rendered, PICTURE / 2, PICTURE / 2), 0, 0, 255);
  g_assert_cmpint (texture_pixel (rendered, PICTURE / 2, band / 2).b, <, 64);
}

/* Any raw video through the convenience bin, sizes changing on the way. */
static void
test_bin (Fixture       *fx,
          gconstpointer  data)
{
  CustosVideoSink *sink = NULL;
  GstElement *bin = custos_video_sink_bin_new (&sink);
  g_autoptr (GError) error = NULL;
  GstElement *src;

  g_assert_nonnull (bin);
  fx->pipeline = gst_pipeline_new (NULL);
  src = gst_parse_bin_from_description ("videotestsrc pattern=green num-buffers=300 ! "
                                        "capsfilter caps=video/x-raw,format=I420,width=640,"
                                        "height=480,framerate=30/1", TRUE, &error);
  g_assert_no_error (error);
  gst_bin_add_many (GST_BIN (fx->pipeline), src, bin, NULL);
  g_assert_true (gst_element_link (src, bin));
  fx->paintable = custos_video_sink_get_paintable (sink);
  g_signal_connect (fx->paintable, "invalidate-contents", G_CALLBACK (on_invalidate), fx);
  gtk_picture_set_paintable (GTK_PICTURE (fx->picture), GDK_PAINTABLE (fx->paintable));
  gst_element_set_state (fx->pipeline, GST_STATE_PLAYING);
  wait_for_frames (fx, 3);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (fx->paintable)), ==, 640);
  /* videotestsrc's green is (0, 255, 0) in RGB; I420 rounds it a little. */
  assert_colour (texture_pixel (custos_video_paintable_get_texture (fx->paintable), 320, 240),
                 0, 255, 0);
}

static void
test_no_display (void)
{
  g_autofree char *reason =
    g_strdup_printf ("no display: GTK cannot open DISPLAY=%s and xvfb-run was not found when "
                     "the build was configured (install the xvfb package)",
                     g_getenv ("DISPLAY") ? g_getenv ("DISPLAY") : "(unset)");

  g_test_skip (reason);
}

int
main (int    argc,
      char **argv)
{
  main_thread = g_thread_self ();
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_add_func ("/display/video-sink/no-display", test_no_display);
      return g_test_run ();
    }
  g_assert_true (custos_video_sink_register ());

  g_test_add ("/display/video-sink/red-16x9", Fixture, NULL, fixture_set_up, test_red,
              fixture_tear_down);
  g_test_add ("/display/video-sink/bgra-pixel-aspect", Fixture, NULL, fixture_set_up,
              test_bgra_pixel_aspect, fixture_tear_down);
  g_test_add ("/display/video-sink/bin", Fixture, NULL, fixture_set_up, test_bin,
              fixture_tear_down);
  return g_test_run ();
}
