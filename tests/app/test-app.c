/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The viewer in a real window (under Xvfb): started with a .fusion file on
 * its command line, as a user would, it lists the file under Local Files
 * and paints its first frame — the window's own rendering is checked for
 * videotestsrc's colour bars, left to right. A file that is not a fusion
 * file gets a toast naming it; an encrypted file without a key shows the
 * tile's status page instead of a black picture; a file dropped on the
 * window or chosen in its file chooser plays; Space plays and pauses
 * wherever the focus is except in text. Against the demo archiver: trust,
 * the privacy-protected stream, the original with the card (also for an
 * archiver added without a certificate: the window asks which one),
 * export of the camera(s) shown. The grid action and the shortcuts window
 * are there; the window size is remembered. With CUSTOS_SCREENSHOT_DIR it
 * saves the AppStream screenshots (data/screenshots/regenerate).
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "custos-add-archiver-dialog.h"
#include "custos-application.h"
#include "custos-export-dialog.h"
#include "custos-pin-interaction.h"
#include "custos-test-app.h"
#include "custos-test-util.h"
#include "custos-grid.h"
#include "custos-window.h"

#define SOURCE                                                                                     \
  "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=15/1 ! "               \
  "x264enc tune=zerolatency key-int-max=15 ! h264parse"

static CustosApplication *app;
static char              *plain_path;
static char              *encrypted_path;
static char              *dropped_path;
static char              *chosen_path;

/* `custos-archiver --demo`: its URL, CA, SoftHSM card and PIN. */
static GSubprocess *demo;
static char        *demo_url;
static char        *demo_pin;
static guint        pin_dialogs;
static gboolean     privacy_shown; /* front-door's privacy stream is in the tile */

static CustosWindow *
window (void)
{
  return custos_test_app_window (app);
}

static char *
make_fusion (const char *name, const char *extra)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);
  const char      *cli = g_getenv ("CUSTOS_CLI");

  g_assert_nonnull (cli);
  if (extra == NULL)
    custos_test_run_args (cli, "create", "-q", "--plain", "--source", SOURCE, "-o", path, NULL);
  else
    custos_test_run_args (cli, "create", "-q", "--recipient", extra, "--source", SOURCE, "-o", path,
                          NULL);
  return g_steal_pointer (&path);
}

/* Pixels of what the window shows, as it renders them. */
typedef struct
{
  int     width, height;
  guint8 *data; /* B G R A */
} Screenshot;

static void
screenshot_free (Screenshot *shot)
{
  g_free (shot->data);
  g_free (shot);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Screenshot, screenshot_free)

static Screenshot *
take_screenshot (GtkWidget *widget)
{
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  Screenshot *shot = g_new0 (Screenshot, 1);

  shot->width = gtk_widget_get_width (widget);
  shot->height = gtk_widget_get_height (widget);
  gdk_paintable_snapshot (paintable, snapshot, shot->width, shot->height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  /* Nothing drawn (yet): no screenshot. */
  if (node == NULL)
    {
      g_free (shot);
      return NULL;
    }
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, shot->width, shot->height));
  if (g_getenv ("CUSTOS_TEST_SHOT") != NULL)
    g_assert_true (gdk_texture_save_to_png (texture, g_getenv ("CUSTOS_TEST_SHOT")));
  shot->width = gdk_texture_get_width (texture);
  shot->height = gdk_texture_get_height (texture);
  shot->data = g_malloc ((gsize) shot->width * shot->height * 4);
  gdk_texture_download (texture, shot->data, shot->width * 4);
  return shot;
}

/* Toasts left by earlier tests (they only time out in an active window,
 * which Xvfb without a window manager never makes): hidden for the shot. */
static void
hide_toasts (GtkWidget *widget, GPtrArray *hidden)
{
  if (g_strcmp0 (gtk_widget_get_css_name (widget), "toast") == 0 && gtk_widget_get_visible (widget))
    {
      gtk_widget_set_visible (widget, FALSE);
      g_ptr_array_add (hidden, widget);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    hide_toasts (child, hidden);
}

/* The whole window (it paints the background its content lies on), the
 * dialog centred on its content. */
static GskRenderNode *
appstream_node (GtkWidget *content, GtkWidget *over, graphene_rect_t *bounds)
{
  GtkWidget *win = GTK_WIDGET (window ());
  int        width = gtk_widget_get_width (content), height = gtk_widget_get_height (content);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (win);

  if (!gtk_widget_compute_bounds (content, win, bounds))
    return NULL;
  gdk_paintable_snapshot (paintable, snapshot, gtk_widget_get_width (win),
                          gtk_widget_get_height (win));
  if (over != NULL)
    {
      g_autoptr (GdkPaintable) dialog = gtk_widget_paintable_new (over);
      int ow = gtk_widget_get_width (over), oh = gtk_widget_get_height (over);

      /* Not drawn yet: no shot without it. */
      if (ow == 0 || !gtk_widget_get_mapped (over))
        return NULL;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT (bounds->origin.x + (width - ow) / 2,
                                                    bounds->origin.y + (height - oh) / 2));
      gdk_paintable_snapshot (dialog, snapshot, ow, oh);
      gtk_snapshot_restore (snapshot);
    }
  return gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
}

/* CUSTOS_SCREENSHOT_DIR: the AppStream screenshots (data/screenshots/,
 * see data/screenshots/regenerate), made from the window as it renders
 * itself — its content without the frame, 1280×800 — with a dialog (over)
 * drawn centred on it as a window manager would place it. */
static void
save_appstream_shot (const char *name, GtkWidget *over)
{
  const char *dir = g_getenv ("CUSTOS_SCREENSHOT_DIR");
  GtkWidget  *content;
  gint64      deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autoptr (GPtrArray) hidden = g_ptr_array_new ();
  g_autofree char *path = NULL;
  graphene_rect_t  bounds;

  if (dir == NULL)
    return;
  content = gtk_window_get_child (GTK_WINDOW (window ()));
  hide_toasts (content, hidden);
  while ((node = appstream_node (content, over, &bounds)) == NULL &&
         g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (content)),
                                         node, &bounds);
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot %s: %d×%d", path, gdk_texture_get_width (texture),
                  gdk_texture_get_height (texture));
  for (guint i = 0; i < hidden->len; i++)
    gtk_widget_set_visible (hidden->pdata[i], TRUE);
}

static gboolean
window_sized (gpointer data)
{
  GtkWidget *content = gtk_window_get_child (GTK_WINDOW (window ()));

  return gtk_widget_get_width (content) == 1280 && gtk_widget_get_height (content) == 800;
}

/* videotestsrc's SMPTE bars, by which channels are lit: white, yellow,
 * cyan, green, magenta, red, blue (R G B). */
static const gboolean bars[7][3] = {
  { 1, 1, 1 }, { 1, 1, 0 }, { 0, 1, 1 }, { 0, 1, 0 }, { 1, 0, 1 }, { 1, 0, 0 }, { 0, 0, 1 },
};

static int
bar_at (const guint8 *p)
{
  const guint8 rgb[3] = { p[2], p[1], p[0] };

  for (int i = 0; i < 7; i++)
    {
      gboolean match = TRUE;

      for (int c = 0; c < 3; c++)
        match = match && (bars[i][c] ? rgb[c] > 150 : rgb[c] < 60);
      if (match)
        return i;
    }
  return -1;
}

/* TRUE when a row shows the seven bars in order, each at least min_width
 * pixels wide: the decoded picture, not a black or garbled one. */
static gboolean
row_has_bars (Screenshot *shot, int y, int min_width)
{
  int next = 0, run = 0, current = -1;

  for (int x = 0; x < shot->width; x++)
    {
      int bar = bar_at (shot->data + ((gsize) y * shot->width + x) * 4);

      run = bar == current ? run + 1 : 1;
      current = bar;
      if (bar == next && run == min_width && ++next == 7)
        return TRUE;
    }
  return FALSE;
}

static gboolean
screenshot_has_bars (Screenshot *shot, int min_width)
{
  for (int y = 0; y < shot->height; y += 4)
    if (row_has_bars (shot, y, min_width))
      return TRUE;
  return FALSE;
}

static gboolean
bars_shown (gpointer data)
{
  g_autoptr (Screenshot) shot = take_screenshot (GTK_WIDGET (data));

  return shot != NULL && screenshot_has_bars (shot, 8);
}

static void
test_command_line_file (void)
{
  CustosWindow *win = window ();
  CustosPlayer *player = custos_window_get_player (win);
  GListModel   *files = G_LIST_MODEL (custos_application_get_local_files (app));
  g_autoptr (GFile) listed = NULL;
  g_autoptr (GFile) expected = g_file_new_for_path (plain_path);

  g_assert_true (custos_test_wait_for (custos_test_player_has_frame, player, 30));
  g_assert_cmpstr (custos_window_get_page (win), ==, "player");
  g_assert_cmpuint (g_list_model_get_n_items (files), ==, 1);
  listed = g_list_model_get_item (files, 0);
  g_assert_true (g_file_equal (listed, expected));
  /* The tile, as the window paints it, shows the decoded bars. */
  g_assert_true (custos_test_wait_for (bars_shown, player, 10));
}

static gboolean
toast_names_file (gpointer data)
{
  return custos_test_widget_has_label (GTK_WIDGET (window ()), data);
}

static void
test_not_fusion (void)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), "holiday.txt", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  GListModel *files = G_LIST_MODEL (custos_application_get_local_files (app));

  g_file_set_contents (path, "not a video\n", -1, &error);
  g_assert_no_error (error);
  custos_window_open_file (window (), file);
  /* The toast names the file and says what is wrong with it. */
  g_assert_true (
      custos_test_wait_for (toast_names_file, (gpointer) "“holiday.txt” is not a fusion file", 10));
  g_assert_cmpuint (g_list_model_get_n_items (files), ==, 1);
  g_assert_cmpstr (custos_window_get_page (window ()), ==, "player");
}

static gboolean
player_locked (gpointer data)
{
  return custos_player_get_state (data) == CUSTOS_PLAYER_STATE_LOCKED;
}

static void
test_encrypted_without_key (void)
{
  g_autoptr (GFile) file = g_file_new_for_path (encrypted_path);
  CustosPlayer *player = custos_window_get_player (window ());

  custos_window_open_file (window (), file);
  /* Nobody here has the recipient's key: the tile says so rather than
   * showing a black picture. */
  g_assert_true (custos_test_wait_for (player_locked, player, 30));
  g_assert_nonnull (custos_player_get_status_title (player));
  g_assert_true (
      custos_test_widget_has_label (GTK_WIDGET (player), custos_player_get_status_title (player)));
}

/* The demo archiver */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts the demo (cameras front-door: encrypted, with a privacy-protected
 * copy; lobby: not encrypted, SMPTE bars) and lists it in the settings
 * with its CA and the card as the identity, as a user would add it. */
static void
start_demo (void)
{
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), "demo", NULL);
  g_autofree char *out_path = g_build_filename (custos_test_tmpdir (), "demo.out", NULL);
  g_autofree char *err_path = g_build_filename (custos_test_tmpdir (), "demo.log", NULL);
  g_autofree char *ca = g_build_filename (dir, "ca.cert.pem", NULL);
  g_autofree char *conf = g_build_filename (dir, "softhsm2.conf", NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSettings) settings = g_settings_new (CUSTOS_SCHEMA_ID);
  g_autoptr (GError) error = NULL;
  gint64           deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_autofree char *text = NULL;
  const char      *found;

  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  demo = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CUSTOS_ARCHIVER"), "--demo",
                                      "--dir", dir, NULL);
  g_assert_no_error (error);
  while (g_get_monotonic_time () < deadline)
    {
      g_clear_pointer (&text, g_free);
      if (g_file_get_contents (out_path, &text, NULL, NULL) && strstr (text, "Ctrl+C") != NULL)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_nonnull (strstr (text, "Ctrl+C"));
  g_assert_nonnull ((found = strstr (text, "https://127.0.0.1:")));
  demo_url = g_strndup (found, strlen ("https://") + strcspn (found + strlen ("https://"), "/ \n"));
  if (strstr (text, "SOFTHSM2_CONF") != NULL && (found = strstr (text, "PIN ")) != NULL)
    {
      demo_pin = g_strndup (found + 4, strcspn (found + 4, " \n"));
      /* Before the credentials load SoftHSM. */
      g_setenv ("SOFTHSM2_CONF", conf, TRUE);
    }
  g_settings_set_value (settings, "archivers",
                        g_variant_new_parsed ("[(%s, '', %s, %s)]", demo_url, ca,
                                              demo_pin ? "pkcs11:token=custos-demo;id=%01" : ""));
}

static void
stop_demo (void)
{
  if (demo == NULL)
    return;
  g_subprocess_send_signal (demo, SIGTERM);
  g_subprocess_wait (demo, NULL, NULL);
  g_clear_object (&demo);
}

static CustosArchiverEntry *
demo_entry (void)
{
  CustosArchiverEntry *entry =
      custos_archiver_list_find (custos_application_get_archivers (app), demo_url);

  g_assert_nonnull (entry);
  return entry;
}

static gboolean
camera_listed (gpointer data)
{
  CustosArchiverEntry *entry = demo_entry ();

  custos_archiver_entry_refresh (entry);
  return custos_archiver_entry_find_camera (entry, data) != NULL;
}

static gboolean
privacy_listed (gpointer data)
{
  CustosCameraItem *item;

  if (!camera_listed (data))
    return FALSE;
  item = custos_archiver_entry_find_camera (demo_entry (), data);
  return custos_camera_item_get_privacy (item) && custos_camera_item_get_recording (item);
}

static gboolean
player_playing (gpointer data)
{
  return custos_player_get_state (data) == CUSTOS_PLAYER_STATE_PLAYING &&
         custos_test_player_has_frame (data);
}

/* Opens the camera in the single tile and waits for its first frame. */
static void
open_and_wait (CustosCameraItem *camera, guint seconds)
{
  CustosWindow *win = window ();
  CustosPlayer *player = custos_window_get_player (win);
  guint         before = custos_test_first_frames ();
  gulong        handler =
      g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);

  custos_window_open_camera (win, demo_entry (), camera, FALSE);
  g_assert_true (
      custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), seconds));
  g_signal_handler_disconnect (player, handler);
  g_assert_true (custos_test_wait_for (player_playing, player, seconds));
}

/* Some bright and some dark: videotestsrc's ball on black, not a black
 * or empty tile. */
static gboolean
ball_in (Screenshot *shot)
{
  guint bright = 0, dark = 0, total = 0;

  /* The middle of the tile: not the title or the buttons over it. */
  for (int y = shot->height / 10; y < shot->height * 9 / 10; y += 2)
    for (int x = shot->width / 5; x < shot->width * 4 / 5; x += 2)
      {
        const guint8 *p = shot->data + ((gsize) y * shot->width + x) * 4;
        int           luma = (p[0] + p[1] + p[2]) / 3;

        bright += luma > 160;
        dark += luma < 30;
        total++;
      }
  /* Mostly black with a white ball (about 50 px wide, so some hundreds of
   * samples), and not the bars of the other camera. */
  return bright > 150 && dark > total / 2 && !screenshot_has_bars (shot, 8);
}

static gboolean
ball_shown (gpointer data)
{
  g_autoptr (Screenshot) shot = take_screenshot (GTK_WIDGET (data));

  return shot != NULL && ball_in (shot);
}

static GtkWidget *
find_row_in (GtkWidget *widget, const char *prefix)
{
  const char *tooltip = gtk_widget_get_tooltip_text (widget);

  if (GTK_IS_LIST_BOX_ROW (widget) && tooltip != NULL && g_str_has_prefix (tooltip, prefix))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_row_in (child, prefix);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A sidebar row whose tooltip (also its accessible label) starts so. */
static GtkWidget *
find_row (const char *prefix)
{
  return find_row_in (GTK_WIDGET (window ()), prefix);
}

static gboolean
row_says (gpointer data)
{
  custos_archiver_entry_refresh (demo_entry ());
  return find_row (data) != NULL;
}

static void
test_preferences (void)
{
  GtkWidget  *prefs;
  GListModel *toplevels = gtk_window_get_toplevels ();

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window ()), "win.preferences", NULL));
  prefs = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && prefs == NULL; i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_PREFERENCES_WINDOW (w))
        prefs = w;
    }
  g_assert_nonnull (prefs);
  /* The archiver the user has, with a way to remove it. */
  g_assert_true (custos_test_widget_has_label (prefs, demo_url));
  g_assert_true (custos_test_widget_has_label (prefs, "Key Cache Time"));
  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_archiver_lobby (void)
{
  CustosWindow *win = window ();
  CustosPlayer *player = custos_window_get_player (win);
  gulong        frame_handler;
  guint         before;

  g_assert_true (custos_test_wait_for (camera_listed, (gpointer) "lobby", 60));
  g_assert_cmpint (custos_archiver_entry_get_state (demo_entry ()), ==,
                   CUSTOS_ARCHIVER_STATE_CONNECTED);
  /* Chosen in the sidebar, whose row says what the camera is. */
  g_assert_true (custos_test_wait_for (row_says, (gpointer) "Lobby: not encrypted, recording", 30));
  g_assert_true (custos_test_wait_for (row_says, (gpointer) "Front door: encrypted", 30));
  before = custos_test_first_frames ();
  frame_handler =
      g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
  g_assert_true (gtk_widget_activate (find_row ("Lobby:")));
  g_assert_true (
      custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), 60));
  g_signal_handler_disconnect (player, frame_handler);
  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  g_assert_true (custos_test_wait_for (bars_shown, player, 30));
  /* The sidebar lists the demo's cameras, each row saying its state. */
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (win), "Lobby"));
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (win), "Front door"));
  if (g_getenv ("CUSTOS_TEST_WINDOW_SHOT") != NULL)
    {
      g_autoptr (Screenshot) shot = NULL;
      const char *saved = g_getenv ("CUSTOS_TEST_SHOT");

      g_setenv ("CUSTOS_TEST_SHOT", g_getenv ("CUSTOS_TEST_WINDOW_SHOT"), TRUE);
      shot = take_screenshot (gtk_window_get_child (GTK_WINDOW (win)));
      if (saved != NULL)
        g_setenv ("CUSTOS_TEST_SHOT", saved, TRUE);
      else
        g_unsetenv ("CUSTOS_TEST_SHOT");
    }
}

static gboolean
timeline_spans_seconds (gpointer data)
{
  gint64 start, end;

  return custos_timeline_model_get_bounds (custos_player_get_timeline_model (data), &start, &end) &&
         end - start > 8 * G_USEC_PER_SEC;
}

static void
test_archiver_privacy (void)
{
  CustosWindow         *win = window ();
  CustosPlayer         *player = custos_window_get_player (win);
  CustosPinInteraction *pin = CUSTOS_PIN_INTERACTION (
      custos_credentials_get_interaction (custos_application_get_credentials (app)));
  CustosCameraItem *front;

  if (!custos_test_wait_for (privacy_listed, (gpointer) "front-door", 90))
    {
      g_test_skip ("the demo's Privacy Protector publishes no privacy-protected stream");
      return;
    }
  front = custos_archiver_entry_find_camera (demo_entry (), "front-door");
  g_assert_true (custos_camera_item_get_encrypted (front));
  /* Plays without any credentials: no PIN asked. */
  open_and_wait (front, 60);
  g_assert_true (custos_test_wait_for (ball_shown, player, 30));
  privacy_shown = TRUE;
  if (g_getenv ("CUSTOS_SCREENSHOT_DIR") != NULL)
    {
      /* Some seconds on the timeline, so its ticks are seconds apart. */
      g_assert_true (custos_test_wait_for (timeline_spans_seconds, player, 30));
      save_appstream_shot ("privacy.png", NULL);
    }
  g_assert_null (custos_pin_interaction_get_dialog (pin));
  g_assert_cmpuint (pin_dialogs, ==, 0);
}

static void
answer_pin (CustosPinInteraction *pin, GtkWidget *dialog, gpointer user_data)
{
  GtkWidget *entry = custos_pin_interaction_get_entry (pin);

  pin_dialogs++;
  g_assert_nonnull (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), demo_pin);
  custos_pin_interaction_respond (pin, "unlock");
}

static gboolean
verdicts_known (gpointer data)
{
  guint                     n = 0;
  gint64                    known = 0;
  const CustosVerdictRange *ranges =
      custos_timeline_model_get_verdicts (custos_player_get_timeline_model (data), &n);

  for (guint i = 0; i < n; i++)
    known += ranges[i].end_us - ranges[i].start_us;
  /* A few seconds of them, so the band is wide enough to see. */
  return known > 5 * G_USEC_PER_SEC;
}

static void
test_archiver_original (void)
{
  CustosWindow         *win = window ();
  CustosPlayer         *player = custos_window_get_player (win);
  CustosPinInteraction *pin = CUSTOS_PIN_INTERACTION (
      custos_credentials_get_interaction (custos_application_get_credentials (app)));
  CustosCameraItem *front;
  gulong            handler, frame_handler;
  guint             before;

  if (demo_pin == NULL)
    {
      g_test_skip ("SoftHSM is not installed: the demo has no card");
      return;
    }
  if (!custos_test_wait_for (camera_listed, (gpointer) "front-door", 60))
    g_error ("front-door not listed: state %d, %s", custos_archiver_entry_get_state (demo_entry ()),
             custos_archiver_entry_get_message (demo_entry ()));
  front = custos_archiver_entry_find_camera (demo_entry (), "front-door");
  handler = g_signal_connect (pin, "dialog-shown", G_CALLBACK (answer_pin), NULL);
  /* The Original toggle over the privacy-protected stream, as a user
   * does; without one, selecting the encrypted camera opens the original. */
  before = custos_test_first_frames ();
  frame_handler =
      g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
  if (privacy_shown)
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.original", NULL));
  else
    {
      g_object_set (win, "original", TRUE, NULL);
      custos_window_open_camera (win, demo_entry (), front, FALSE);
    }
  g_assert_true (
      custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), 90));
  g_signal_handler_disconnect (player, frame_handler);
  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  g_assert_true (custos_test_wait_for (ball_shown, player, 30));
  /* The card was asked for (its PIN typed into the viewer's dialog). */
  g_assert_cmpuint (pin_dialogs, >=, 1);
  g_signal_handler_disconnect (pin, handler);
  if (g_getenv ("CUSTOS_SCREENSHOT_DIR") != NULL)
    {
      /* Some seconds verified, so the band shows on the timeline. */
      g_assert_true (custos_test_wait_for (verdicts_known, player, 30));
      save_appstream_shot ("original.png", NULL);
    }
}

/* LOCKED (no key) or ERROR (the archiver refuses the connection without
 * the card's certificate): either way a status page, not the video. */
static gboolean
player_stopped (gpointer data)
{
  CustosPlayerState state = custos_player_get_state (data);

  return state == CUSTOS_PLAYER_STATE_LOCKED || state == CUSTOS_PLAYER_STATE_ERROR;
}

static gboolean
ball_gone (gpointer data)
{
  g_autoptr (Screenshot) shot = take_screenshot (GTK_WIDGET (data));

  return shot != NULL && !ball_in (shot);
}

static void
note_card_removed (CustosCredentials *credentials, CustosCard *card, CustosPlayer *player)
{
  g_test_message ("card-removed; player state %d", custos_player_get_state (player));
}

static void
note_state (CustosPlayer *player)
{
  g_test_message ("player state %d: %s — %s", custos_player_get_state (player),
                  custos_player_get_status_title (player),
                  custos_player_get_status_description (player));
}

/* After the original: the card leaves, the tile locks. */
static void
test_card_removal (void)
{
  CustosPlayer *player = custos_window_get_player (window ());

  if (demo_pin == NULL)
    {
      g_test_skip ("SoftHSM is not installed: the demo has no card");
      return;
    }
  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  g_signal_connect_swapped (player, "notify::state", G_CALLBACK (note_state), player);
  g_signal_connect (custos_application_get_credentials (app), "card-removed",
                    G_CALLBACK (note_card_removed), player);
  custos_test_run_args ("softhsm2-util", "--delete-token", "--token", "custos-demo", NULL);
  /* The credentials poll the card every half second, as a reader would. */
  g_assert_true (custos_test_wait_for (player_stopped, player, 60));
  /* Locked, saying why: not a connection error. */
  g_assert_cmpint (custos_player_get_state (player), ==, CUSTOS_PLAYER_STATE_LOCKED);
  g_assert_nonnull (strstr (custos_player_get_status_description (player), "card was removed"));
  g_assert_true (
      custos_test_widget_has_label (GTK_WIDGET (player), custos_player_get_status_title (player)));
  /* And the picture the card opened is gone from the screen. */
  g_assert_true (custos_test_wait_for (ball_gone, player, 10));
}

/* The Add Archiver dialog, then the trust dialog */

static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type) && gtk_widget_get_visible (w))
        return w;
    }
  return NULL;
}

static GtkWidget *
find_child (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_child (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_message_dialog (const char *heading)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (w) &&
          g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (w)), heading) == 0)
        return w;
    }
  return NULL;
}

static gboolean
trust_dialog_shown (gpointer data)
{
  return find_message_dialog ("Trust This Archiver?") != NULL;
}

static gboolean
changed_dialog_shown (gpointer data)
{
  return find_message_dialog ("The Archiver’s Certificate Changed") != NULL;
}

static gboolean
entry_connected (gpointer data)
{
  CustosArchiverEntry *entry =
      custos_archiver_list_find (custos_application_get_archivers (app), data);

  return entry != NULL &&
         custos_archiver_entry_get_state (entry) == CUSTOS_ARCHIVER_STATE_CONNECTED;
}

static void
test_add_and_trust (void)
{
  g_autofree char *url = g_strdup_printf ("https://localhost:%s", strrchr (demo_url, ':') + 1);
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), "demo", NULL);
  g_autofree char *server = g_build_filename (dir, "server.cert.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (server, &error);
  g_autofree char     *fingerprint = NULL;
  g_autofree char     *grouped = NULL;
  CustosArchiverEntry *entry;
  GtkWidget           *dialog, *row;

  g_assert_no_error (error);
  fingerprint = custos_certificate_dup_fingerprint_hex (cert);
  grouped = custos_format_fingerprint (fingerprint);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window ()), "win.add-archiver", NULL));
  dialog = find_toplevel (CUSTOS_TYPE_ADD_ARCHIVER_DIALOG);
  g_assert_nonnull (dialog);
  row = find_child (dialog, ADW_TYPE_ENTRY_ROW);
  g_assert_nonnull (row);
  gtk_editable_set_text (GTK_EDITABLE (row), url);
  /* No CA: the fingerprint is compared. */
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "add");

  if (!custos_test_wait_for (trust_dialog_shown, NULL, 30))
    {
      entry = custos_archiver_list_find (custos_application_get_archivers (app), url);
      g_test_message ("entry %p state %d: %s", entry,
                      entry ? (int) custos_archiver_entry_get_state (entry) : -1,
                      entry ? custos_archiver_entry_get_message (entry) : "");
      g_assert_not_reached ();
    }
  dialog = find_message_dialog ("Trust This Archiver?");
  /* What the user compares: the archiver's own certificate, in groups of four. */
  g_assert_true (custos_test_widget_has_label (dialog, grouped));
  g_assert_true (custos_test_widget_has_label (
      dialog, "Compare this with the fingerprint your administrator"));
  save_appstream_shot ("trust.png", dialog);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");

  g_assert_true (custos_test_wait_for (entry_connected, url, 30));
  entry = custos_archiver_list_find (custos_application_get_archivers (app), url);
  g_assert_cmpstr (custos_archiver_entry_get_pinned_fingerprint (entry), ==, fingerprint);
  custos_archiver_list_remove (custos_application_get_archivers (app), url);
}

/* Every win.* key binding of the window, as accelerator names. */
static GHashTable *
window_bindings (GtkWidget *win)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (win);
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutAction  *action = gtk_shortcut_get_action (shortcut);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (!GTK_IS_NAMED_ACTION (action) || !GTK_IS_KEYVAL_TRIGGER (trigger) ||
              !g_str_has_prefix (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action)),
                                 "win."))
            continue;
          g_hash_table_add (names,
                            gtk_accelerator_name (
                                gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)),
                                gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger))));
        }
    }
  return names;
}

static void
collect_overlay (GtkWidget *widget, GHashTable *names)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    {
      g_autofree char *accels = NULL;
      g_auto (GStrv) parts = NULL;

      g_object_get (widget, "accelerator", &accels, NULL);
      parts = g_strsplit (accels, " ", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          guint           keyval;
          GdkModifierType mods;

          g_assert_true (gtk_accelerator_parse (parts[i], &keyval, &mods));
          g_hash_table_add (names, gtk_accelerator_name (keyval, mods));
        }
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_overlay (child, names);
}

/* The shortcuts window lists exactly the window's bindings, and the
 * application's two (Quit, Show Shortcuts). */
static void
test_shortcuts_listed (void)
{
  GtkWidget          *win = GTK_WIDGET (window ());
  GtkShortcutsWindow *overlay =
      gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win));
  g_autoptr (GHashTable) bound = window_bindings (win);
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) quit = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_auto (GStrv) help =
      gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay");
  GHashTableIter iter;
  const char    *name;

  g_assert_nonnull (overlay);
  collect_overlay (GTK_WIDGET (overlay), listed);
  g_assert_cmpuint (g_hash_table_size (bound), >, 10);
  for (guint i = 0; quit[i] != NULL; i++)
    g_hash_table_add (bound, g_strdup (quit[i]));
  for (guint i = 0; help[i] != NULL; i++)
    g_hash_table_add (bound, g_strdup (help[i]));
  g_hash_table_iter_init (&iter, bound);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    if (!g_hash_table_contains (listed, name))
      g_error ("%s is bound but not in the shortcuts window", name);
  g_hash_table_iter_init (&iter, listed);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    if (!g_hash_table_contains (bound, name))
      g_error ("%s is in the shortcuts window but not bound", name);
}

/* A pin that does not match: refused at once, loudly, with both
 * fingerprints and no way to accept the new certificate from there. */
static void
test_certificate_changed (void)
{
  g_autofree char *url = g_strdup_printf ("https://localhost:%s", strrchr (demo_url, ':') + 1);
  const char      *wrong = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  g_autoptr (GSettings) settings = g_settings_new (CUSTOS_SCHEMA_ID);
  g_autoptr (GVariant) before = g_settings_get_value (settings, "archivers");
  g_autoptr (GVariantBuilder) rows = g_variant_builder_new (G_VARIANT_TYPE ("a(ssss)"));
  g_autofree char     *wrong_grouped = custos_format_fingerprint (wrong);
  CustosArchiverList  *list = custos_application_get_archivers (app);
  CustosArchiverEntry *entry;
  GtkWidget           *dialog;
  GVariantIter         iter;
  GVariant            *row;

  /* As if it had been pinned before and the archiver now shows another
   * certificate. */
  g_variant_iter_init (&iter, before);
  while ((row = g_variant_iter_next_value (&iter)) != NULL)
    g_variant_builder_add_value (rows, row);
  g_variant_builder_add (rows, "(ssss)", url, wrong, "", "");
  g_settings_set_value (settings, "archivers", g_variant_builder_end (rows));

  g_assert_true (custos_test_wait_for (changed_dialog_shown, NULL, 30));
  dialog = find_message_dialog ("The Archiver’s Certificate Changed");
  entry = custos_archiver_list_find (list, url);
  g_assert_nonnull (entry);
  g_assert_true (custos_test_widget_has_label (dialog, wrong_grouped));
  {
    g_autofree char *presented =
        custos_format_fingerprint (custos_archiver_entry_get_peer_fingerprint (entry));

    g_assert_true (custos_test_widget_has_label (dialog, presented));
  }
  g_assert_false (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "trust"));
  g_assert_cmpstr (custos_window_get_page (window ()), ==, "archiver");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "remove");
  g_assert_null (custos_archiver_list_find (list, url));
  g_assert_cmpstr (custos_window_get_page (window ()), ==, "empty");
}

static void
test_grid_and_shortcuts (void)
{
  CustosWindow *win = window ();

  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.grid", NULL));
  g_assert_cmpstr (custos_window_get_page (win), ==, "grid");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.grid", NULL));
  g_assert_cmpstr (custos_window_get_page (win), !=, "grid");
}

static gboolean
no_windows (gpointer data)
{
  return gtk_application_get_windows (GTK_APPLICATION (app)) == NULL;
}

/* Last: it closes the window. */
static void
test_remembers_size (void)
{
  g_autoptr (GSettings) settings = g_settings_new (CUSTOS_SCHEMA_ID);

  g_assert_cmpint (g_settings_get_int (settings, "window-width"), !=, 900);
  gtk_window_set_default_size (GTK_WINDOW (window ()), 900, 640);
  gtk_window_close (GTK_WINDOW (window ()));
  g_assert_true (custos_test_wait_for (no_windows, NULL, 10));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 900);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 640);
}

/* Drag and drop, the file chooser */

static GtkDropTarget *
window_drop_target (void)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window ()));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  return NULL;
}

static gboolean
file_listed (gpointer data)
{
  GListModel *files = G_LIST_MODEL (custos_application_get_local_files (app));
  g_autoptr (GFile) wanted = g_file_new_for_path (data);

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr (GFile) file = g_list_model_get_item (files, i);

      if (g_file_equal (file, wanted))
        return TRUE;
    }
  return FALSE;
}

static gboolean
title_is (gpointer data)
{
  return g_strcmp0 (custos_player_get_title (custos_window_get_player (window ())), data) == 0;
}

/* Xvfb has no drag source to drop from: the window's drop target gets the
 * file list a file manager's drop carries (a GdkFileList), through its
 * "drop" signal, as GTK hands it over on a real drop. */
static void
test_drop_file (void)
{
  GtkDropTarget *target = window_drop_target ();
  g_autoptr (GFile) file = g_file_new_for_path (dropped_path);
  g_autoptr (GSList) list = g_slist_prepend (NULL, file);
  g_auto (GValue) value = G_VALUE_INIT;
  CustosPlayer *player = custos_window_get_player (window ());
  gboolean      accepted = FALSE;

  g_assert_nonnull (target);
  g_assert_true (g_type_is_a (GDK_TYPE_FILE_LIST, gtk_drop_target_get_gtypes (target, NULL)[0]));
  g_assert_false (file_listed (dropped_path));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (list));
  g_signal_emit_by_name (target, "drop", &value, 100.0, 100.0, &accepted);
  g_assert_true (accepted);
  /* Listed under Local Files and playing in the tile. */
  g_assert_true (custos_test_wait_for (file_listed, dropped_path, 10));
  g_assert_true (custos_test_wait_for (title_is, (gpointer) "dropped.fusion", 10));
  g_assert_cmpstr (custos_window_get_page (window ()), ==, "player");
  g_assert_true (custos_test_wait_for (custos_test_player_has_frame, player, 30));
  g_assert_true (custos_test_wait_for (bars_shown, player, 10));
}

static gboolean
chooser_shown (gpointer data)
{
  return find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG) != NULL;
}

static gboolean
chooser_has_file (gpointer data)
{
  g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (data));

  return file != NULL;
}

/* Ctrl+O's chooser (GTK's own dialog: no portal under Xvfb), a file
 * chosen in it and Open: the file plays. */
static void
test_open_chooser (void)
{
  g_autoptr (GFile) file = g_file_new_for_path (chosen_path);
  g_autoptr (GError) error = NULL;
  GtkWidget *chooser;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window ()), "win.open", NULL));
  g_assert_true (custos_test_wait_for (chooser_shown, NULL, 10));
  chooser = find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  g_assert_true (gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), file, &error));
  g_assert_no_error (error);
  g_assert_true (custos_test_wait_for (chooser_has_file, chooser, 10));
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  g_assert_true (custos_test_wait_for (file_listed, chosen_path, 10));
  g_assert_true (custos_test_wait_for (title_is, (gpointer) "chosen.fusion", 10));
  g_assert_true (custos_test_wait_for (custos_test_player_has_frame,
                                       custos_window_get_player (window ()), 30));
}

/* Space */

static GtkEventController *
space_controller (void)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window ()));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), "custos-space") == 0)
        return controller;
    }
  return NULL;
}

static gboolean
player_paused (gpointer data)
{
  return custos_player_get_state (data) == CUSTOS_PLAYER_STATE_PAUSED;
}

static gboolean
player_state_playing (gpointer data)
{
  return custos_player_get_state (data) == CUSTOS_PLAYER_STATE_PLAYING;
}

/* Space with the camera's sidebar row focused pauses and plays again; it
 * does not activate the row (which reopened the camera: a new first
 * frame). Xvfb has no way to type a key here (no XTest), so the key goes
 * to the window's capture-phase key controller — the first one GTK gives
 * a key press to, before the focused row's own Space binding. */
static void
test_space_in_sidebar (void)
{
  CustosWindow       *win = window ();
  CustosPlayer       *player = custos_window_get_player (win);
  GtkEventController *keys = space_controller ();
  GtkWidget          *row = find_row ("Lobby:");
  gulong              handler;
  guint               before = custos_test_first_frames ();
  gboolean            handled = FALSE;

  g_assert_nonnull (keys);
  g_assert_cmpint (gtk_event_controller_get_propagation_phase (keys), ==, GTK_PHASE_CAPTURE);
  g_assert_nonnull (row);
  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  handler = g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
  g_assert_true (gtk_widget_grab_focus (row));
  g_assert_true (gtk_root_get_focus (GTK_ROOT (win)) == row);

  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_space, 65, 0, &handled);
  g_assert_true (handled);
  g_assert_true (custos_test_wait_for (player_paused, player, 10));
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_space, 65, 0, &handled);
  g_assert_true (handled);
  g_assert_true (custos_test_wait_for (player_state_playing, player, 10));
  /* Not reopened. */
  g_assert_cmpuint (custos_test_first_frames (), ==, before);
  /* Ctrl+Space is not play/pause. */
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_space, 65, GDK_CONTROL_MASK, &handled);
  g_assert_false (handled);
  g_signal_handler_disconnect (player, handler);
}

/* Space typed into a text entry stays a space. */
static void
test_space_in_entry (void)
{
  CustosWindow       *win = window ();
  CustosPlayer       *player = custos_window_get_player (win);
  GtkEventController *keys = space_controller ();
  GtkWidget          *search = gtk_search_entry_new ();
  GtkWidget          *text;
  CustosPlayerState   state = custos_player_get_state (player);
  gboolean            handled = TRUE;

  /* The window has no entry of its own outside dialogs and popovers: one
   * put into the player for the time of the test. */
  gtk_widget_insert_before (search, GTK_WIDGET (custos_window_get_player (win)), NULL);
  text = gtk_widget_get_first_child (search);
  while (text != NULL && !GTK_IS_TEXT (text))
    text = gtk_widget_get_next_sibling (text);
  g_assert_nonnull (text);
  g_assert_true (gtk_widget_grab_focus (text));
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_space, 65, 0, &handled);
  g_assert_false (handled);
  g_assert_cmpint (custos_player_get_state (player), ==, state);
  gtk_widget_unparent (search);
}

/* Export */

static gboolean
export_dialog_shown (gpointer data)
{
  return find_toplevel (CUSTOS_TYPE_EXPORT_DIALOG) != NULL;
}

static char *
find_suffix (const char *dir, const char *suffix);

/* The dialog closes when every job is done. (Its toast waits behind the
 * earlier ones: toasts only time out in an active window, which Xvfb
 * without a window manager never makes.) */
static gboolean
export_finished (gpointer data)
{
  g_autofree char *mp4 = find_suffix (data, ".mp4");

  return find_toplevel (CUSTOS_TYPE_EXPORT_DIALOG) == NULL && mp4 != NULL;
}

/* What a dialog says, in the log of a failure. */
static void
dump_labels (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget))
    g_test_message ("label: %s", gtk_label_get_label (GTK_LABEL (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    dump_labels (child);
}

static char *
find_suffix (const char *dir, const char *suffix)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, suffix) && name[0] != '.')
      return g_build_filename (dir, name, NULL);
  return NULL;
}

static void
got_ranges (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GArray **out = user_data;
  g_autoptr (GError) error = NULL;

  *out = custos_archiver_client_get_ranges_finish (CUSTOS_ARCHIVER_CLIENT (source), result, &error);
  if (*out == NULL)
    *out = g_array_new (FALSE, TRUE, sizeof (CustosTimeRange));
}

static gboolean
ranges_arrived (gpointer data)
{
  return *(GArray **) data != NULL;
}

/* The archive holds at least 5 s of the lobby. */
static gboolean
lobby_recorded (gpointer data)
{
  g_autoptr (GArray) ranges = NULL;
  gint64 total = 0;

  custos_archiver_client_get_ranges_async (custos_archiver_entry_get_client (demo_entry ()),
                                           "lobby", NULL, got_ranges, &ranges);
  g_assert_true (custos_test_wait_for (ranges_arrived, &ranges, 10));
  for (guint i = 0; i < ranges->len; i++)
    total += g_array_index (ranges, CustosTimeRange, i).to_us -
             g_array_index (ranges, CustosTimeRange, i).from_us;
  if (total < 5 * G_USEC_PER_SEC)
    g_usleep (200 * 1000);
  return total >= 5 * G_USEC_PER_SEC;
}

/* The lobby, playing from the archiver, exported from the window: the
 * camera shown is the source (no .fusion file needed), a few seconds
 * before the position, as an MP4 ffprobe reads, with its two reports. */
static void
test_export_camera (void)
{
  CustosWindow    *win = window ();
  CustosPlayer    *player = custos_window_get_player (win);
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), "export-lobby", NULL);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  g_autofree char *mp4 = NULL;
  g_autofree char *json = NULL;
  g_autofree char *txt = NULL;
  g_autofree char *codec = NULL;
  guint64 frames;
  CustosExportDialog *dialog;
  GtkEditable        *from, *to;
  gint64              position;

  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  g_assert_cmpstr (custos_player_get_title (player), ==, "Lobby");
  /* Some seconds in the archive (not only live), then the lobby chosen
   * again: the timeline knows what is recorded. */
  g_assert_true (custos_test_wait_for (lobby_recorded, NULL, 60));
  open_and_wait (custos_archiver_entry_find_camera (demo_entry (), "lobby"), 60);
  position = custos_player_get_position_utc (player);
  g_assert_cmpint (position, !=, G_MININT64);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.export", NULL));
  g_assert_true (custos_test_wait_for (export_dialog_shown, NULL, 10));
  dialog = CUSTOS_EXPORT_DIALOG (find_toplevel (CUSTOS_TYPE_EXPORT_DIALOG));
  /* The camera is offered, by its title. */
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (dialog), "Lobby"));
  custos_export_dialog_set_folder (dialog, folder);
  custos_export_dialog_set_format (dialog, CUSTOS_EXPORT_FORMAT_MP4);
  /* The range offered: around the position, within what is recorded
   * (an archiver camera's export needs both ends). */
  from = custos_test_find_entry_row (GTK_WIDGET (dialog), "From");
  to = custos_test_find_entry_row (GTK_WIDGET (dialog), "To");
  g_assert_nonnull (from);
  g_assert_nonnull (to);
  g_test_message ("range offered: %s – %s", gtk_editable_get_text (from),
                  gtk_editable_get_text (to));
  g_assert_cmpstr (gtk_editable_get_text (from), !=, "");
  g_assert_cmpstr (gtk_editable_get_text (to), !=, "");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "export.start", NULL));
  if (!custos_test_wait_for (export_finished, dir, 120))
    {
      dump_labels (GTK_WIDGET (dialog));
      g_assert_not_reached ();
    }

  mp4 = find_suffix (dir, ".mp4");
  g_assert_nonnull (mp4);
  json = g_strconcat (mp4, ".report.json", NULL);
  txt = g_strconcat (mp4, ".report.txt", NULL);
  if (!g_file_test (json, G_FILE_TEST_EXISTS))
    {
      g_free (json);
      g_free (txt);
      json = find_suffix (dir, ".report.json");
      txt = find_suffix (dir, ".report.txt");
    }
  g_assert_nonnull (json);
  g_assert_nonnull (txt);
  g_assert_true (g_file_test (json, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (txt, G_FILE_TEST_IS_REGULAR));
  frames = custos_test_video_frames (mp4, &codec);
  g_test_message ("ffprobe: %s, %" G_GUINT64_FORMAT " frames", codec, frames);
  g_assert_cmpstr (codec, ==, "h264");
  /* Some seconds of video, not an empty file. */
  g_assert_cmpuint (frames, >=, 15);
}

static gboolean
export_dialog_gone (gpointer data)
{
  return find_toplevel (CUSTOS_TYPE_EXPORT_DIALOG) == NULL;
}

/* In the grid, export offers every tile's camera. */
static void
test_export_grid (void)
{
  CustosWindow *win = window ();
  GtkWidget    *dialog;

  g_assert_true (custos_test_wait_for (camera_listed, (gpointer) "lobby", 60));
  g_assert_true (custos_test_wait_for (camera_listed, (gpointer) "front-door", 60));
  /* The privacy-protected stream: the card was taken out before. */
  g_object_set (win, "original", FALSE, NULL);
  g_object_set (win, "grid-mode", TRUE, NULL);
  custos_window_open_camera (win, demo_entry (),
                             custos_archiver_entry_find_camera (demo_entry (), "front-door"), TRUE);
  custos_window_open_camera (win, demo_entry (),
                             custos_archiver_entry_find_camera (demo_entry (), "lobby"), TRUE);
  g_assert_cmpstr (custos_window_get_page (win), ==, "grid");
  /* Both live cameras play. */
  {
    g_autoptr (GPtrArray) grids = custos_test_widget_find_all (GTK_WIDGET (win), CUSTOS_TYPE_GRID);

    guint n;

    g_assert_cmpuint (grids->len, ==, 1);
    /* What the single player showed is the first tile. */
    n = custos_grid_get_n_tiles (grids->pdata[0]);
    g_assert_cmpuint (n, >=, 2);
    for (guint i = n - 2; i < n; i++)
      {
        CustosPlayer *tile = custos_grid_get_tile (grids->pdata[0], i);

        if (!custos_test_wait_for (custos_test_player_has_frame, tile, 30))
          g_error ("grid tile %u (%s) has no picture: state %d, %s: %s", i,
                   custos_player_get_title (tile), custos_player_get_state (tile),
                   custos_player_get_status_title (tile), custos_player_get_status_description (tile));
      }
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.export", NULL));
  g_assert_true (custos_test_wait_for (export_dialog_shown, NULL, 10));
  dialog = find_toplevel (CUSTOS_TYPE_EXPORT_DIALOG);
  g_assert_true (custos_test_widget_has_label (dialog, "Lobby"));
  g_assert_true (custos_test_widget_has_label (dialog, "Front door"));
  /* No local file when cameras are shown. */
  g_assert_false (custos_test_widget_has_label (dialog, "bars.fusion"));
  g_assert_true (gtk_widget_activate_action (dialog, "export.cancel", NULL));
  g_assert_true (custos_test_wait_for (export_dialog_gone, NULL, 10));
  g_object_set (win, "grid-mode", FALSE, NULL);
}

/* An archiver without a client certificate */

static gboolean
identity_dialog_shown (gpointer data)
{
  return find_message_dialog ("Choose Your Certificate") != NULL;
}

/* The demo archiver as if added with "None": Original asks which
 * certificate to use, listing the card's; chosen, it is kept in the
 * setting, the card's PIN is asked and the original plays. */
static void
test_original_choose_identity (void)
{
  CustosWindow         *win = window ();
  CustosPlayer         *player = custos_window_get_player (win);
  CustosArchiverList   *list = custos_application_get_archivers (app);
  CustosPinInteraction *pin = CUSTOS_PIN_INTERACTION (
      custos_credentials_get_interaction (custos_application_get_credentials (app)));
  CustosCameraItem *front;
  GtkWidget        *dialog;
  GListModel       *names;
  guint             card_position = G_MAXUINT, pins_before = pin_dialogs, before;
  gulong            handler, frame_handler;

  if (demo_pin == NULL)
    {
      g_test_skip ("SoftHSM is not installed: the demo has no card");
      return;
    }
  g_assert_nonnull (custos_archiver_list_set_identity (list, demo_url, NULL));
  g_assert_null (custos_archiver_entry_get_identity (demo_entry ()));
  g_assert_true (custos_test_wait_for (camera_listed, (gpointer) "front-door", 60));
  front = custos_archiver_entry_find_camera (demo_entry (), "front-door");
  if (privacy_shown)
    {
      /* The privacy stream, then the Original toggle, as a user does. */
      open_and_wait (front, 60);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.original", NULL));
    }
  else
    {
      g_object_set (win, "original", TRUE, NULL);
      custos_window_open_camera (win, demo_entry (), front, FALSE);
    }
  /* No toast telling to add it again: the question. */
  g_assert_true (custos_test_wait_for (identity_dialog_shown, NULL, 10));
  dialog = find_message_dialog ("Choose Your Certificate");
  if (privacy_shown)
    {
      gboolean original = TRUE;

      /* Cancel: the privacy-protected stream goes on, "Original" is off again. */
      adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_object_get (win, "original", &original, NULL);
      g_assert_false (original);
      g_assert_true (custos_test_wait_for (player_playing, player, 60));
      g_assert_true (custos_test_wait_for (ball_shown, player, 30));
      g_assert_null (custos_archiver_entry_get_identity (demo_entry ()));
      /* And asked again. */
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.original", NULL));
      g_assert_true (custos_test_wait_for (identity_dialog_shown, NULL, 10));
      dialog = find_message_dialog ("Choose Your Certificate");
    }
  names = custos_add_archiver_dialog_get_identity_names (CUSTOS_ADD_ARCHIVER_DIALOG (dialog));
  for (guint i = 0; i < g_list_model_get_n_items (names); i++)
    if (strstr (gtk_string_list_get_string (GTK_STRING_LIST (names), i), "custos-demo") != NULL)
      card_position = i;
  g_assert_cmpuint (card_position, !=, G_MAXUINT);
  g_assert_true (custos_add_archiver_dialog_select_identity (CUSTOS_ADD_ARCHIVER_DIALOG (dialog),
                                                             card_position));

  handler = g_signal_connect (pin, "dialog-shown", G_CALLBACK (answer_pin), NULL);
  before = custos_test_first_frames ();
  frame_handler =
      g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "use");
  g_assert_true (
      custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), 90));
  g_signal_handler_disconnect (player, frame_handler);
  g_assert_true (custos_test_wait_for (player_playing, player, 30));
  g_assert_true (custos_test_wait_for (ball_shown, player, 30));
  /* The card's PIN, typed into the PIN dialog. */
  g_assert_cmpuint (pin_dialogs, >, pins_before);
  g_signal_handler_disconnect (pin, handler);
  /* Kept in the `archivers` setting. */
  g_assert_true (g_str_has_prefix (custos_archiver_entry_get_identity (demo_entry ()), "pkcs11:"));

  /* Back to the privacy stream for the tests after this one. */
  if (privacy_shown)
    {
      before = custos_test_first_frames ();
      frame_handler =
          g_signal_connect (player, "first-frame", G_CALLBACK (custos_test_on_first_frame), NULL);
      g_object_set (win, "original", FALSE, NULL);
      g_assert_true (
          custos_test_wait_for (custos_test_first_frames_beyond, GUINT_TO_POINTER (before), 60));
      g_signal_handler_disconnect (player, frame_handler);
    }
  else
    g_object_set (win, "original", FALSE, NULL);
}

/* The size of the AppStream screenshots (the settings made it so). */
static void
check_screenshot_size (void)
{
  if (g_getenv ("CUSTOS_SCREENSHOT_DIR") != NULL && !custos_test_wait_for (window_sized, NULL, 10))
    g_error ("the window is %d×%d, not 1280×800",
             gtk_widget_get_width (gtk_window_get_child (GTK_WINDOW (window ()))),
             gtk_widget_get_height (gtk_window_get_child (GTK_WINDOW (window ()))));
}

/* The "Add Archiver…" button of the empty page, shown or not. */
static gboolean
empty_page_offers_add (void)
{
  g_autoptr (GPtrArray) buttons = custos_test_widget_find_all (GTK_WIDGET (window ()), GTK_TYPE_BUTTON);

  for (guint i = 0; i < buttons->len; i++)
    {
      const char *label = gtk_button_get_label (buttons->pdata[i]);

      if (g_strcmp0 (label, "_Add Archiver…") == 0)
        return gtk_widget_get_visible (buttons->pdata[i]);
    }
  g_assert_not_reached ();
}

/* With nothing in the sidebar the empty page offers to add an archiver;
 * with cameras or recordings there it says to choose one. */
static void
test_empty_page_guides (void)
{
  CustosArchiverList *archivers = custos_application_get_archivers (app);
  CustosLocalFiles   *files = custos_application_get_local_files (app);
  const char         *url = "https://127.0.0.1:9";
  g_autoptr (GError)  error = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (files)), >, 0);
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (window ()), "Choose a camera or a recording"));
  g_assert_false (empty_page_offers_add ());
  while (g_list_model_get_n_items (G_LIST_MODEL (files)) > 0)
    {
      g_autoptr (GFile) file = g_list_model_get_item (G_LIST_MODEL (files), 0);

      custos_local_files_remove (files, file);
    }
  while (g_list_model_get_n_items (G_LIST_MODEL (archivers)) > 0)
    {
      g_autoptr (CustosArchiverEntry) entry = g_list_model_get_item (G_LIST_MODEL (archivers), 0);

      custos_archiver_list_remove (archivers, custos_archiver_entry_get_url (entry));
    }
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (window ()), "Add an archiver or open"));
  g_assert_true (empty_page_offers_add ());

  g_assert_nonnull (custos_archiver_list_add (archivers, url, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (custos_test_widget_has_label (GTK_WIDGET (window ()), "Choose a camera or a recording"));
  g_assert_false (empty_page_offers_add ());
  custos_archiver_list_remove (archivers, url);
  g_assert_true (empty_page_offers_add ());
}

int
main (int argc, char *argv[])
{
  g_autofree char *recipient_cert = NULL;
  g_autofree char *recipient_key = NULL;
  int              ret;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_skip ("no display (run under xvfb-run)");
      return 0;
    }
  gst_init (&argc, &argv);
  g_mkdir_with_parents (g_get_tmp_dir (), 0700);
  custos_test_make_cert ("ec:P-256", "stranger", &recipient_cert, &recipient_key);
  plain_path = make_fusion ("bars.fusion", NULL);
  encrypted_path = make_fusion ("sealed.fusion", recipient_cert);
  dropped_path = make_fusion ("dropped.fusion", NULL);
  chosen_path = make_fusion ("chosen.fusion", NULL);

  g_test_add_func ("/app/command-line-file", test_command_line_file);
  g_test_add_func ("/app/not-fusion", test_not_fusion);
  g_test_add_func ("/app/encrypted-without-key", test_encrypted_without_key);
  g_test_add_func ("/app/drop-file", test_drop_file);
  g_test_add_func ("/app/open-chooser", test_open_chooser);
  g_test_add_func ("/app/space-in-entry", test_space_in_entry);
  if (g_getenv ("CUSTOS_ARCHIVER") != NULL)
    {
      start_demo ();
      g_test_add_func ("/app/archiver-lobby", test_archiver_lobby);
      g_test_add_func ("/app/space-in-sidebar", test_space_in_sidebar);
      g_test_add_func ("/app/export-camera", test_export_camera);
      g_test_add_func ("/app/add-and-trust", test_add_and_trust);
      g_test_add_func ("/app/preferences", test_preferences);
      g_test_add_func ("/app/certificate-changed", test_certificate_changed);
      g_test_add_func ("/app/archiver-privacy", test_archiver_privacy);
      g_test_add_func ("/app/original-choose-identity", test_original_choose_identity);
      g_test_add_func ("/app/archiver-original", test_archiver_original);
      g_test_add_func ("/app/card-removal", test_card_removal);
      g_test_add_func ("/app/export-grid", test_export_grid);
    }
  g_test_add_func ("/app/grid-and-shortcuts", test_grid_and_shortcuts);
  g_test_add_func ("/app/shortcuts-listed", test_shortcuts_listed);
  /* Empties the sidebar: after every test that uses it. */
  g_test_add_func ("/app/empty-page-guides", test_empty_page_guides);
  /* Closes the window: last. */
  g_test_add_func ("/app/remembers-size", test_remembers_size);

  if (g_getenv ("CUSTOS_SCREENSHOT_DIR") != NULL)
    {
      g_autoptr (GSettings) settings = g_settings_new (CUSTOS_SCHEMA_ID);

      /* Read when the window is made (Xvfb has no window manager to resize
       * it later); without a compositor GTK takes 5 px a side from it for
       * the resize border, so the content is 1280×800. */
      g_settings_set_int (settings, "window-width", 1290);
      g_settings_set_int (settings, "window-height", 810);
    }
  app = custos_application_new ();
  ret = custos_test_app_run (app, plain_path, check_screenshot_size);

  g_clear_object (&app);
  stop_demo ();
  g_free (plain_path);
  g_free (encrypted_path);
  g_free (dropped_path);
  g_free (chosen_path);
  return ret;
}
