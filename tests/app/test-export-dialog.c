/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosExportDialog in a real window under Xvfb, as a user drives it: a
 * recording (x264enc, custosmux, encrypted to Alice) is the source,
 * Alice's key file is in the credentials, the range is typed in the
 * `time-zone` setting's zone (UTC here). Export writes the MP4 and its two
 * reports, completes run_async with the folder, emits "done" and closes;
 * the toast offers "Open Folder". Cancel while exporting returns to the
 * options with nothing written; a bad time is refused with a message.
 */
#define G_LOG_DOMAIN "test-export-dialog"

#include "config.h"

#include <adwaita.h>
#include <gst/gst.h>
#include <string.h>

#include "custos-export-dialog.h"
#include "custos-test-app.h"
#include "custos-test-util.h"

#define START_US G_GINT64_CONSTANT (1795293240000000) /* 2026-11-21T20:34:00Z */

static char              *recording;
static char              *alice_cert, *alice_key;
static GtkWindow         *window;
static GSettings         *settings;
static CustosCredentials *credentials;

static gboolean
make_recording (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstElement) mux = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  const char      *recipients[] = { alice_cert, NULL };
  g_autofree char *description = NULL;

  recording = g_build_filename (custos_test_tmpdir (), "gate.fusion", NULL);
  description = g_strdup_printf (
      "videotestsrc num-buffers=150 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc threads=1 key-int-max=30 speed-preset=superfast ! "
      "video/x-h264,stream-format=byte-stream,alignment=au ! "
      "custosmux name=mux period-ms=2000 seal-ms=1000 ! filesink location=\"%s\"",
      recording);
  pipeline = gst_parse_launch (description, &error);
  if (pipeline == NULL)
    return FALSE;
  mux = gst_bin_get_by_name (GST_BIN (pipeline), "mux");
  g_object_set (mux, "recipients", recipients, "start-utc", START_US, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
}

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
add_alice_key (void)
{
  g_autoptr (GFile) file = g_file_new_for_path (alice_key);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;
  gboolean done = FALSE;

  custos_credentials_add_key_file_async (credentials, file, NULL, on_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  cert = custos_credentials_add_key_file_finish (credentials, result, &error);
  g_assert_no_error (error);
  done = cert != NULL;
  g_assert_true (done);
}

static GFile *
fresh_folder (const char *name)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return g_file_new_for_path (path);
}

static CustosExportDialog *
new_dialog (GFile *folder)
{
  CustosExportDialog *dialog = custos_export_dialog_new (window, credentials, settings);
  g_autoptr (GFile) input = g_file_new_for_path (recording);

  custos_export_dialog_add_source (dialog, "Gate", input);
  custos_export_dialog_set_folder (dialog, folder);
  custos_export_dialog_set_format (dialog, CUSTOS_EXPORT_FORMAT_MP4);
  return dialog;
}

static guint
count_children (GFile *folder)
{
  g_autoptr (GFileEnumerator) e =
      g_file_enumerate_children (folder, "standard::name", G_FILE_QUERY_INFO_NONE, NULL, NULL);
  guint      n = 0;
  GFileInfo *info;

  while ((info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
    {
      n++;
      g_object_unref (info);
    }
  return n;
}

static void
on_done (CustosExportDialog *dialog, GFile *folder, GFile **out)
{
  *out = g_object_ref (folder);
}

static void
test_export (void)
{
  g_autoptr (GFile) folder = fresh_folder ("dialog");
  CustosExportDialog *dialog = new_dialog (folder);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GFile) done_folder = NULL;
  g_autoptr (GFile) finished = NULL;
  g_autoptr (GFile) mp4 = NULL;
  g_autoptr (GFile) json = NULL;
  g_autoptr (GFile) text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (AdwToast) toast = NULL;
  GtkEditable *from, *to;

  if (recording == NULL)
    {
      g_test_skip ("x264enc is not installed");
      return;
    }

  g_signal_connect (dialog, "done", G_CALLBACK (on_done), &done_folder);
  custos_export_dialog_run_async (dialog, NULL, on_result, &result);
  while (!gtk_widget_get_mapped (GTK_WIDGET (dialog)))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == window);

  /* A time that is none is refused, with a message. */
  from = custos_test_find_entry_row (GTK_WIDGET (dialog), "From");
  to = custos_test_find_entry_row (GTK_WIDGET (dialog), "To");
  g_assert_nonnull (from);
  g_assert_nonnull (to);
  gtk_editable_set_text (from, "yesterday");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "export.start", NULL);
  g_assert_cmpuint (count_children (folder), ==, 0);

  /* Typed as the user reads it: the setting says UTC. */
  gtk_editable_set_text (from, "2026-11-21 20:34:01");
  gtk_editable_set_text (to, "2026-11-21 20:34:03");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "export.start", NULL);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  finished = custos_export_dialog_run_finish (dialog, result, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_equal (finished, folder));
  g_assert_nonnull (done_folder);
  g_assert_true (g_file_equal (done_folder, folder));

  mp4 = g_file_get_child (folder, "Gate 2026-11-21 20-34-01.mp4");
  json = g_file_get_child (folder, "Gate 2026-11-21 20-34-01.report.json");
  text = g_file_get_child (folder, "Gate 2026-11-21 20-34-01.report.txt");
  g_assert_true (g_file_query_exists (mp4, NULL));
  g_assert_true (g_file_query_exists (json, NULL));
  g_assert_true (g_file_query_exists (text, NULL));
  g_assert_cmpuint (count_children (folder), ==, 3);

  toast = g_object_ref_sink (custos_export_dialog_make_toast (folder));
  g_assert_cmpstr (adw_toast_get_button_label (toast), ==, "Open Folder");
  g_assert_cmpstr (adw_toast_get_title (toast), ==, "Export finished");
}

/* Cancel while exporting: back to the options, nothing written, the
 * dialog still open. */
static void
test_cancel (void)
{
  g_autoptr (GFile) folder = fresh_folder ("dialog-cancel");
  CustosExportDialog *dialog = new_dialog (folder);
  gint64              deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  if (recording == NULL)
    {
      g_test_skip ("x264enc is not installed");
      return;
    }

  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "export.start", NULL);
  g_assert_true (custos_export_dialog_get_running (dialog));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "export.cancel", NULL);
  while (custos_export_dialog_get_running (dialog) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (custos_export_dialog_get_running (dialog));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_cmpuint (count_children (folder), ==, 0);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  const char *no_modules[] = { NULL };
  int         ret;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return g_test_run ();
    }
  adw_init ();

  custos_test_make_cert ("ec:P-256", "alice", &alice_cert, &alice_key);
  if (!make_recording ())
    g_clear_pointer (&recording, g_free);

  settings = g_settings_new ("org.custos.Custos");
  g_settings_set_enum (settings, "time-zone", 1); /* UTC */
  credentials = custos_credentials_new_for_modules (settings, NULL, no_modules);
  add_alice_key ();

  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_present (window);

  g_test_add_func ("/export-dialog/export", test_export);
  g_test_add_func ("/export-dialog/cancel", test_cancel);
  ret = g_test_run ();

  g_clear_object (&credentials);
  g_clear_object (&settings);
  gtk_window_destroy (window);
  return ret;
}
