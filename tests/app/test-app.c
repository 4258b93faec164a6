/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The viewer in a real window (under Xvfb): started with a .fusion file on
 * its command line, as a user would, it lists the file under Local Files
 * and paints its first frame — the window's own rendering is checked for
 * videotestsrc's colour bars, left to right. A file that is not a fusion
 * file gets a toast naming it; an encrypted file without a key shows the
 * tile's status page instead of a black picture; the grid action and the
 * shortcuts window are there; the window size is remembered.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "custos-add-archiver-dialog.h"
#include "custos-application.h"
#include "custos-pin-interaction.h"
#include "custos-test-util.h"
#include "custos-window.h"

#define SOURCE                                                                                     \
  "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=15/1 ! "               \
  "x264enc tune=zerolatency key-int-max=15 ! h264parse"

static CustosApplication *app;
static char              *plain_path;
static char              *encrypted_path;

/* `custos-archiver --demo`: its URL, CA, SoftHSM card and PIN. */
static GSubprocess *demo;
static char        *demo_url;
static char        *demo_pin;
static guint        pin_dialogs;
static guint        first_frames;
static gboolean     privacy_shown; /* front-door's privacy stream is in the tile */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_for (Condition cond, gpointer data, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static CustosWindow *
window (void)
{
  GtkWindow *w = gtk_application_get_active_window (GTK_APPLICATION (app));

  g_assert_true (CUSTOS_IS_WINDOW (w));
  return CUSTOS_WINDOW (w);
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
player_has_frame (gpointer data)
{
  CustosPlayer *player = data;
  GdkPaintable *paintable = custos_player_get_paintable (player);

  return paintable != NULL && gdk_paintable_get_intrinsic_width (paintable) > 0;
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

  g_assert_true (wait_for (player_has_frame, player, 30));
  g_assert_cmpstr (custos_window_get_page (win), ==, "player");
  g_assert_cmpuint (g_list_model_get_n_items (files), ==, 1);
  listed = g_list_model_get_item (files, 0);
  g_assert_true (g_file_equal (listed, expected));
  /* The tile, as the window paints it, shows the decoded bars. */
  g_assert_true (wait_for (bars_shown, player, 10));
}

static gboolean
label_contains (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_label (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (label_contains (child, text))
      return TRUE;
  return FALSE;
}

static gboolean
toast_names_file (gpointer data)
{
  return label_contains (GTK_WIDGET (window ()), data);
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
  g_assert_true (wait_for (toast_names_file, (gpointer) "“holiday.txt” is not a fusion file", 10));
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
  g_assert_true (wait_for (player_locked, player, 30));
  g_assert_nonnull (custos_player_get_status_title (player));
  g_assert_true (label_contains (GTK_WIDGET (player), custos_player_get_status_title (player)));
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
  return custos_player_get_state (data) == CUSTOS_PLAYER_STATE_PLAYING && player_has_frame (data);
}

static void
count_first_frame (CustosPlayer *player, gpointer user_data)
{
  first_frames++;
}

static gboolean
new_first_frame (gpointer data)
{
  return first_frames > GPOINTER_TO_UINT (data);
}

/* Opens the camera in the single tile and waits for its first frame. */
static void
open_and_wait (CustosCameraItem *camera, guint seconds)
{
  CustosWindow *win = window ();
  CustosPlayer *player = custos_window_get_player (win);
  guint         before = first_frames;
  gulong handler = g_signal_connect (player, "first-frame", G_CALLBACK (count_first_frame), NULL);

  custos_window_open_camera (win, demo_entry (), camera, FALSE);
  g_assert_true (wait_for (new_first_frame, GUINT_TO_POINTER (before), seconds));
  g_signal_handler_disconnect (player, handler);
  g_assert_true (wait_for (player_playing, player, seconds));
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
  g_assert_true (label_contains (prefs, demo_url));
  g_assert_true (label_contains (prefs, "Key Cache Time"));
  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_archiver_lobby (void)
{
  CustosWindow *win = window ();
  CustosPlayer *player = custos_window_get_player (win);
  gulong        frame_handler;
  guint         before;

  g_assert_true (wait_for (camera_listed, (gpointer) "lobby", 60));
  g_assert_cmpint (custos_archiver_entry_get_state (demo_entry ()), ==,
                   CUSTOS_ARCHIVER_STATE_CONNECTED);
  /* Chosen in the sidebar, whose row says what the camera is. */
  g_assert_true (wait_for (row_says, (gpointer) "Lobby: not encrypted, recording", 30));
  g_assert_true (wait_for (row_says, (gpointer) "Front door: encrypted", 30));
  before = first_frames;
  frame_handler = g_signal_connect (player, "first-frame", G_CALLBACK (count_first_frame), NULL);
  g_assert_true (gtk_widget_activate (find_row ("Lobby:")));
  g_assert_true (wait_for (new_first_frame, GUINT_TO_POINTER (before), 60));
  g_signal_handler_disconnect (player, frame_handler);
  g_assert_true (wait_for (player_playing, player, 30));
  g_assert_true (wait_for (bars_shown, player, 30));
  /* The sidebar lists the demo's cameras, each row saying its state. */
  g_assert_true (label_contains (GTK_WIDGET (win), "Lobby"));
  g_assert_true (label_contains (GTK_WIDGET (win), "Front door"));
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

static void
test_archiver_privacy (void)
{
  CustosWindow         *win = window ();
  CustosPlayer         *player = custos_window_get_player (win);
  CustosPinInteraction *pin = CUSTOS_PIN_INTERACTION (
      custos_credentials_get_interaction (custos_application_get_credentials (app)));
  CustosCameraItem *front;

  if (!wait_for (privacy_listed, (gpointer) "front-door", 90))
    {
      g_test_skip ("the demo's Privacy Protector publishes no privacy-protected stream");
      return;
    }
  front = custos_archiver_entry_find_camera (demo_entry (), "front-door");
  g_assert_true (custos_camera_item_get_encrypted (front));
  /* Plays without any credentials: no PIN asked. */
  open_and_wait (front, 60);
  g_assert_true (wait_for (ball_shown, player, 30));
  privacy_shown = TRUE;
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
  g_assert_true (wait_for (camera_listed, (gpointer) "front-door", 60));
  front = custos_archiver_entry_find_camera (demo_entry (), "front-door");
  handler = g_signal_connect (pin, "dialog-shown", G_CALLBACK (answer_pin), NULL);
  /* The Original toggle over the privacy-protected stream, as a user
   * does; without one, selecting the encrypted camera opens the original. */
  before = first_frames;
  frame_handler = g_signal_connect (player, "first-frame", G_CALLBACK (count_first_frame), NULL);
  if (privacy_shown)
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.original", NULL));
  else
    {
      g_object_set (win, "original", TRUE, NULL);
      custos_window_open_camera (win, demo_entry (), front, FALSE);
    }
  g_assert_true (wait_for (new_first_frame, GUINT_TO_POINTER (before), 90));
  g_signal_handler_disconnect (player, frame_handler);
  g_assert_true (wait_for (player_playing, player, 30));
  g_assert_true (wait_for (ball_shown, player, 30));
  /* The card was asked for (its PIN typed into the viewer's dialog). */
  g_assert_cmpuint (pin_dialogs, >=, 1);
  g_signal_handler_disconnect (pin, handler);
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
  g_assert_true (wait_for (player_playing, player, 30));
  g_signal_connect_swapped (player, "notify::state", G_CALLBACK (note_state), player);
  g_signal_connect (custos_application_get_credentials (app), "card-removed",
                    G_CALLBACK (note_card_removed), player);
  custos_test_run_args ("softhsm2-util", "--delete-token", "--token", "custos-demo", NULL);
  /* The credentials poll the card every half second, as a reader would. */
  g_assert_true (wait_for (player_stopped, player, 60));
  /* Locked, saying why: not a connection error. */
  g_assert_cmpint (custos_player_get_state (player), ==, CUSTOS_PLAYER_STATE_LOCKED);
  g_assert_nonnull (strstr (custos_player_get_status_description (player), "card was removed"));
  g_assert_true (label_contains (GTK_WIDGET (player), custos_player_get_status_title (player)));
  /* And the picture the card opened is gone from the screen. */
  g_assert_true (wait_for (ball_gone, player, 10));
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

  if (!wait_for (trust_dialog_shown, NULL, 30))
    {
      entry = custos_archiver_list_find (custos_application_get_archivers (app), url);
      g_test_message ("entry %p state %d: %s", entry,
                      entry ? (int) custos_archiver_entry_get_state (entry) : -1,
                      entry ? custos_archiver_entry_get_message (entry) : "");
      g_assert_not_reached ();
    }
  dialog = find_message_dialog ("Trust This Archiver?");
  /* What the user compares: the archiver's own certificate, in groups of four. */
  g_assert_true (label_contains (dialog, grouped));
  g_assert_true (label_contains (dialog, "Compare this with the fingerprint your administrator"));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");

  g_assert_true (wait_for (entry_connected, url, 30));
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

  g_assert_true (wait_for (changed_dialog_shown, NULL, 30));
  dialog = find_message_dialog ("The Archiver’s Certificate Changed");
  entry = custos_archiver_list_find (list, url);
  g_assert_nonnull (entry);
  g_assert_true (label_contains (dialog, wrong_grouped));
  {
    g_autofree char *presented =
        custos_format_fingerprint (custos_archiver_entry_get_peer_fingerprint (entry));

    g_assert_true (label_contains (dialog, presented));
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
  g_assert_true (wait_for (no_windows, NULL, 10));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 900);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 640);
}

static gboolean
run_tests (gpointer user_data)
{
  int *ret = user_data;

  /* Screenshots show where the stacks are, not half of a crossfade. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  *ret = g_test_run ();
  g_application_quit (G_APPLICATION (app));
  return G_SOURCE_REMOVE;
}

static void
started (GApplication *application, int *ret)
{
  g_idle_add (run_tests, ret);
}

int
main (int argc, char *argv[])
{
  g_autofree char *recipient_cert = NULL;
  g_autofree char *recipient_key = NULL;
  char            *app_argv[3];
  int              ret = 1;

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

  g_test_add_func ("/app/command-line-file", test_command_line_file);
  g_test_add_func ("/app/not-fusion", test_not_fusion);
  g_test_add_func ("/app/encrypted-without-key", test_encrypted_without_key);
  if (g_getenv ("CUSTOS_ARCHIVER") != NULL)
    {
      start_demo ();
      g_test_add_func ("/app/archiver-lobby", test_archiver_lobby);
      g_test_add_func ("/app/add-and-trust", test_add_and_trust);
      g_test_add_func ("/app/preferences", test_preferences);
      g_test_add_func ("/app/certificate-changed", test_certificate_changed);
      g_test_add_func ("/app/archiver-privacy", test_archiver_privacy);
      g_test_add_func ("/app/archiver-original", test_archiver_original);
      g_test_add_func ("/app/card-removal", test_card_removal);
    }
  g_test_add_func ("/app/grid-and-shortcuts", test_grid_and_shortcuts);
  g_test_add_func ("/app/shortcuts-listed", test_shortcuts_listed);
  g_test_add_func ("/app/remembers-size", test_remembers_size);

  app = custos_application_new ();
  /* No session bus under xvfb-run: no single-instance handover. */
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "startup", G_CALLBACK (started), &ret);
  app_argv[0] = (char *) "custos";
  app_argv[1] = plain_path;
  app_argv[2] = NULL;
  g_application_run (G_APPLICATION (app), 2, app_argv);

  g_clear_object (&app);
  stop_demo ();
  g_free (plain_path);
  g_free (encrypted_path);
  return ret;
}
