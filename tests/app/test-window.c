/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The window's view actions, in the viewer started with a .fusion file on
 * its command line (under Xvfb): a snapshot saved where the user chose is
 * a real PNG of the decoded frame with its UTC in a tEXt chunk, replaces
 * the file the chooser agreed to replace, and a failure says so in a
 * toast; fullscreen (the action of F11 and of the bar's button) is
 * confirmed by a real window manager, shows only the video, and comes
 * back with the sidebar and header. GTK's save chooser cannot be clicked
 * under Xvfb: the tests start where the user has chosen the file
 * (custos_window_save_snapshot_async(), what the chooser's answer runs).
 *
 * Xvfb has no window manager, and without one nothing confirms
 * fullscreen: this program starts openbox on the display first (without
 * openbox the fullscreen test is skipped and says why).
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "custos-application.h"
#include "custos-sidebar.h"
#include "custos-test-app.h"
#include "custos-test-util.h"
#include "custos-timeline-model.h"
#include "custos-video-paintable.h"
#include "custos-window.h"

#define SOURCE                                                                                     \
  "videotestsrc num-buffers=60 pattern=smpte ! "                                                   \
  "video/x-raw,width=320,height=240,framerate=15/1 ! "                                             \
  "x264enc tune=zerolatency key-int-max=15 ! h264parse"

static CustosApplication *app;
static char              *fusion_path;
static GSubprocess       *window_manager;

static CustosWindow *
window (void)
{
  return custos_test_app_window (app);
}

/* Every widget of that type in the window. */
static GPtrArray *
find_all (GType type)
{
  return custos_test_widget_find_all (GTK_WIDGET (window ()), type);
}

/* The player's frame: paused on a known frame, so the snapshot and the
 * texture compared with it are the same picture. */

/* Paused on the frame one second into the file; its UTC. */
static gint64
show_known_frame (void)
{
  CustosPlayer *player = custos_window_get_player (window ());
  gint64        start, end;
  guint         before;
  gulong        handler;

  g_assert_true (custos_test_wait_for (custos_test_player_has_frame, player, 30));
  custos_player_pause (player);
  g_assert_true (
      custos_timeline_model_get_bounds (custos_player_get_timeline_model (player), &start, &end));
  before = custos_test_first_frames ();
  handler = g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
  custos_player_seek_utc (player, start + G_USEC_PER_SEC);
  g_assert_true (
      custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), 30));
  g_signal_handler_disconnect (player, handler);
  g_assert_cmpint (custos_player_get_state (player), ==, CUSTOS_PLAYER_STATE_PAUSED);
  return custos_player_get_position_utc (player);
}

static void
saved (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

/* What choosing file in the chooser does; FALSE with error when it failed. */
static gboolean
save_snapshot (GFile *file, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_window_save_snapshot_async (window (), file, NULL, saved, &result);
  g_assert_true (custos_test_wait_for (is_set, &result, 30));
  return custos_window_save_snapshot_finish (window (), result, error);
}

/* PNG */

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* The text of the tEXt chunk with that keyword, walking the chunks as a
 * PNG reader does (each length checked); NULL when there is none. */
static char *
png_text (const guint8 *data, gsize size, const char *keyword)
{
  gsize at = 8;

  g_assert_cmpuint (size, >, 8);
  g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
  while (at + 12 <= size)
    {
      guint32       length = read_be32 (data + at);
      const guint8 *type = data + at + 4, *body = data + at + 8;
      gsize         key_len = strlen (keyword);

      g_assert_cmpuint (length, <=, size - at - 12);
      if (memcmp (type, "tEXt", 4) == 0 && length > key_len &&
          memcmp (body, keyword, key_len) == 0 && body[key_len] == '\0')
        return g_strndup ((const char *) body + key_len + 1, length - key_len - 1);
      if (memcmp (type, "IEND", 4) == 0)
        break;
      at += 12 + length;
    }
  return NULL;
}

/* The chunk that closes every PNG: length 0, "IEND", its CRC. */
static gboolean
ends_with_iend (const guint8 *data, gsize size)
{
  return size >= 12 && memcmp (data + size - 12, "\0\0\0\0IEND\xae\x42\x60\x82", 12) == 0;
}

static guint8 *
download (GdkTexture *texture)
{
  gsize   stride = (gsize) gdk_texture_get_width (texture) * 4;
  guint8 *data = g_malloc (stride * gdk_texture_get_height (texture));

  gdk_texture_download (texture, data, stride);
  return data;
}

/* videotestsrc's SMPTE bars, by which channels are lit: white, yellow,
 * cyan, green, magenta, red, blue (R G B). */
static const gboolean bars[7][3] = {
  { 1, 1, 1 }, { 1, 1, 0 }, { 0, 1, 1 }, { 0, 1, 0 }, { 1, 0, 1 }, { 1, 0, 0 }, { 0, 0, 1 },
};

/* In the middle of each of the seven bars, a third of the way down: its
 * colour (B G R A in memory). */
static void
assert_bars (const guint8 *pixels, int width, int height)
{
  for (int bar = 0; bar < 7; bar++)
    {
      const guint8 *p = pixels + ((gsize) (height / 3) * width + (2 * bar + 1) * width / 14) * 4;
      const guint8  rgb[3] = { p[2], p[1], p[0] };

      g_test_message ("bar %d: %d %d %d", bar, rgb[0], rgb[1], rgb[2]);
      for (int c = 0; c < 3; c++)
        {
          if (bars[bar][c])
            g_assert_cmpint (rgb[c], >, 150);
          else
            g_assert_cmpint (rgb[c], <, 60);
        }
    }
}

static char *
format_utc_ms (gint64 utc_us)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  g_autofree char *seconds = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", seconds, (int) (utc_us % G_USEC_PER_SEC / 1000));
}

/* Tests */

/* A folder that is not there: the save fails, the window says why. */
static void
test_snapshot_unwritable (void)
{
  g_autofree char *path =
      g_build_filename (custos_test_tmpdir (), "no-such-folder", "shot.png", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;

  show_known_frame ();
  g_assert_false (save_snapshot (file, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_false (g_file_query_exists (file, NULL));
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (window ()), "Cannot save the snapshot"));
}

/* The file holds a PNG of the frame shown, pixel for pixel (the colour
 * bars the file was made of), with its UTC to the millisecond and the
 * file's name as its title. */
static void
test_snapshot_save (void)
{
  CustosPlayer    *player = custos_window_get_player (window ());
  gint64           utc = show_known_frame ();
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), "shot.png", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autofree char   *contents = NULL;
  g_autofree char   *when = NULL;
  g_autofree char   *title = NULL;
  g_autofree char   *expected = format_utc_ms (utc);
  g_autofree guint8 *saved_pixels = NULL;
  g_autofree guint8 *shown_pixels = NULL;
  g_autoptr (GdkTexture) png = NULL;
  GdkTexture *shown;
  gsize       size;

  g_assert_true (save_snapshot (file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &size, &error));
  g_assert_no_error (error);

  when = png_text ((const guint8 *) contents, size, "Creation Time");
  g_assert_cmpstr (when, ==, expected);
  title = png_text ((const guint8 *) contents, size, "Title");
  g_assert_cmpstr (title, ==, "bars.fusion");
  g_assert_true (ends_with_iend ((const guint8 *) contents, size));

  png = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  shown = custos_video_paintable_get_texture (
      CUSTOS_VIDEO_PAINTABLE (custos_player_get_paintable (player)));
  g_assert_nonnull (shown);
  g_assert_cmpint (gdk_texture_get_width (png), ==, gdk_texture_get_width (shown));
  g_assert_cmpint (gdk_texture_get_height (png), ==, gdk_texture_get_height (shown));
  saved_pixels = download (png);
  shown_pixels = download (shown);
  g_assert_cmpmem (
      saved_pixels, (gsize) gdk_texture_get_width (png) * gdk_texture_get_height (png) * 4,
      shown_pixels, (gsize) gdk_texture_get_width (shown) * gdk_texture_get_height (shown) * 4);
  assert_bars (saved_pixels, gdk_texture_get_width (png), gdk_texture_get_height (png));
  /* Nothing moved while saving. */
  g_assert_cmpint (custos_player_get_position_utc (player), ==, utc);
}

/* The chooser asks before replacing a file (GTK's own question); once the
 * user agreed the file is replaced whole, not written over in part. */
static void
test_snapshot_replaces (void)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), "replaced.png", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autofree char *junk = g_strnfill (256 * 1024, 'x');
  g_autofree char *contents = NULL;
  g_autofree char *when = NULL;
  gint64           utc = show_known_frame ();
  g_autofree char *expected = format_utc_ms (utc);
  gsize            size;

  g_assert_true (g_file_set_contents (path, junk, -1, &error));
  g_assert_true (save_snapshot (file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &size, &error));
  g_assert_cmpuint (size, <, 256 * 1024);
  g_assert_true (ends_with_iend ((const guint8 *) contents, size));
  when = png_text ((const guint8 *) contents, size, "Creation Time");
  g_assert_cmpstr (when, ==, expected);
}

/* fullscreen */

typedef struct
{
  gboolean notified;
  gboolean timed_out;
} FullscreenWait;

static void
fullscreened (GtkWindow *win, GParamSpec *pspec, FullscreenWait *wait)
{
  wait->notified = TRUE;
}

static gboolean
time_out (gpointer data)
{
  ((FullscreenWait *) data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Until the window manager has said the window is (or is no longer)
 * fullscreen ("notify::fullscreened"), or a minute. */
static void
wait_fullscreen (gboolean want)
{
  GtkWindow     *win = GTK_WINDOW (window ());
  FullscreenWait wait = { FALSE, FALSE };
  gulong handler = g_signal_connect (win, "notify::fullscreened", G_CALLBACK (fullscreened), &wait);
  guint  timeout = g_timeout_add_seconds (60, time_out, &wait);

  while (!(wait.notified && gtk_window_is_fullscreen (win) == want) && !wait.timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!wait.timed_out)
    g_source_remove (timeout);
  g_signal_handler_disconnect (win, handler);
  if (gtk_window_is_fullscreen (win) != want)
    g_error ("the window manager did not %s the window", want ? "fullscreen" : "unfullscreen");
}

static gboolean
chrome_visible (gboolean visible)
{
  g_autoptr (GPtrArray) headers = find_all (ADW_TYPE_HEADER_BAR);
  g_autoptr (GPtrArray) sidebars = find_all (CUSTOS_TYPE_SIDEBAR);

  g_assert_cmpuint (headers->len, >=, 2);
  g_assert_cmpuint (sidebars->len, ==, 1);
  for (guint i = 0; i < headers->len; i++)
    if (gtk_widget_is_visible (headers->pdata[i]) != visible)
      return FALSE;
  return gtk_widget_is_visible (sidebars->pdata[0]) == visible;
}

/* The video takes the whole window: no sidebar beside it, no header above. */
static gboolean
player_fills_window (gpointer data)
{
  GtkWidget *player = GTK_WIDGET (custos_window_get_player (window ()));
  GtkWidget *win = GTK_WIDGET (window ());

  return gtk_widget_get_width (player) == gtk_widget_get_width (win) &&
         gtk_widget_get_height (player) == gtk_widget_get_height (win);
}

static gboolean
player_smaller (gpointer data)
{
  return !player_fills_window (data);
}

/* The bar's fullscreen button: it runs the window's action. */
static GtkWidget *
bar_button (const char *action)
{
  g_autoptr (GPtrArray) buttons = find_all (GTK_TYPE_BUTTON);
  GtkWidget *player = GTK_WIDGET (custos_window_get_player (window ()));

  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_actionable_get_action_name (buttons->pdata[i]), action) == 0 &&
        gtk_widget_is_ancestor (buttons->pdata[i], player))
      return buttons->pdata[i];
  g_error ("no button for %s in the player", action);
}

static void
test_fullscreen (void)
{
  GtkWindow *win = GTK_WINDOW (window ());
  GtkWidget *button;
  int        width;

  if (window_manager == NULL)
    {
      g_test_skip ("no window manager to confirm fullscreen (install openbox)");
      return;
    }
  show_known_frame ();
  g_assert_false (gtk_window_is_fullscreen (win));
  g_assert_true (chrome_visible (TRUE));
  g_assert_true (custos_test_wait_for (player_smaller, NULL, 10));
  width = gtk_widget_get_width (GTK_WIDGET (win));

  /* F11's action: only the video, on the whole screen. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.fullscreen", NULL));
  wait_fullscreen (TRUE);
  g_assert_true (chrome_visible (FALSE));
  g_assert_true (custos_test_wait_for (player_fills_window, NULL, 10));
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (win)), >, width);
  g_assert_true (gtk_widget_is_visible (GTK_WIDGET (custos_window_get_player (window ()))));

  /* Again: the window and its sidebar and header come back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.fullscreen", NULL));
  wait_fullscreen (FALSE);
  g_assert_true (chrome_visible (TRUE));
  g_assert_true (custos_test_wait_for (player_smaller, NULL, 10));

  /* The bar's button does the same, through the same action. */
  button = bar_button ("win.fullscreen");
  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_activate (button));
  wait_fullscreen (TRUE);
  g_assert_true (chrome_visible (FALSE));
  g_assert_true (gtk_widget_activate (button));
  wait_fullscreen (FALSE);
  g_assert_true (chrome_visible (TRUE));
  /* The snapshot button is the window's too (what the tests above save). */
  g_assert_true (gtk_widget_is_sensitive (bar_button ("win.snapshot")));
}

/* Setup */

static char *
make_fusion (const char *name)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);
  const char      *cli = g_getenv ("CUSTOS_CLI");

  g_assert_nonnull (cli);
  custos_test_run_args (cli, "create", "-q", "--plain", "--source", SOURCE, "-o", path, NULL);
  return g_steal_pointer (&path);
}

static gboolean
exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* openbox on the test's display; it runs its startup command once it
 * manages the screen, which tells the test it is ready. NULL without it. */
static GSubprocess *
start_window_manager (void)
{
  g_autofree char *openbox = g_find_program_in_path ("openbox");
  g_autofree char *ready = g_build_filename (custos_test_tmpdir (), "wm-ready", NULL);
  g_autofree char *startup = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) wm = NULL;

  if (openbox == NULL)
    return NULL;
  g_unlink (ready);
  startup = g_strdup_printf ("touch '%s'", ready);
  wm = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                         &error, openbox, "--sm-disable", "--startup", startup, NULL);
  g_assert_no_error (error);
  if (!custos_test_wait_for (exists, ready, 30))
    g_error ("openbox did not start");
  return g_steal_pointer (&wm);
}

int
main (int argc, char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_skip ("no display (run under xvfb-run)");
      return 0;
    }
  gst_init (&argc, &argv);
  g_mkdir_with_parents (g_get_tmp_dir (), 0700);
  fusion_path = make_fusion ("bars.fusion");
  if (g_getenv ("WAYLAND_DISPLAY") == NULL)
    window_manager = start_window_manager ();

  g_test_add_func ("/window/snapshot-unwritable", test_snapshot_unwritable);
  g_test_add_func ("/window/snapshot-save", test_snapshot_save);
  g_test_add_func ("/window/snapshot-replaces", test_snapshot_replaces);
  g_test_add_func ("/window/fullscreen", test_fullscreen);

  app = custos_application_new ();
  ret = custos_test_app_run (app, fusion_path, NULL);

  g_clear_object (&app);
  if (window_manager != NULL)
    {
      g_subprocess_force_exit (window_manager);
      g_subprocess_wait (window_manager, NULL, NULL);
      g_clear_object (&window_manager);
    }
  g_free (fusion_path);
  return ret;
}
