/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-export-dialog"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "custos-export-dialog.h"

typedef struct
{
  char                 *title;
  GFile                *file;   /* or NULL: */
  CustosArchiverClient *client; /* an archiver's camera */
  char                 *camera_id;
  GtkWidget            *check;
} Source;

struct _CustosExportDialog
{
  AdwWindow parent_instance;

  AdwToastOverlay     *toast_overlay;
  GtkStack            *stack;
  AdwPreferencesGroup *sources_group;
  AdwEntryRow         *from_row;
  AdwEntryRow         *to_row;
  AdwComboRow         *format_row;
  AdwPreferencesGroup *recipients_group;
  AdwActionRow        *folder_row;
  GtkLabel            *error_label;
  GtkProgressBar      *progress_bar;
  GtkLabel            *time_left_label;
  GtkWidget           *export_button;

  CustosCredentials *credentials;
  GSettings         *settings;
  GPtrArray         *sources;    /* Source */
  GPtrArray         *recipients; /* CustosCertificate */
  GPtrArray         *recipient_rows;
  GFile             *folder;
  gboolean           disposed; /* a job may finish after the window went */

  /* A run */
  GTask           *task;        /* of run_async, if any */
  GCancellable    *cancellable; /* of the export */
  GPtrArray       *queue;       /* Source to export */
  guint            done;
  CustosExportJob *job;
  gint64           started_us;
  gint64           from_us;
  gint64           to_us;
};

G_DEFINE_FINAL_TYPE (CustosExportDialog, custos_export_dialog, ADW_TYPE_WINDOW)

enum
{
  DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
export_next (CustosExportDialog *self);

static void
source_free (gpointer data)
{
  Source *source = data;

  g_free (source->title);
  g_clear_object (&source->file);
  g_clear_object (&source->client);
  g_free (source->camera_id);
  g_free (source);
}

/* Time */

static GTimeZone *
display_zone (CustosExportDialog *self)
{
  if (self->settings != NULL && g_settings_get_enum (self->settings, "time-zone") == 1)
    return g_time_zone_new_utc ();
  return g_time_zone_new_local ();
}

static char *
format_time (CustosExportDialog *self, gint64 utc_us)
{
  g_autoptr (GTimeZone) zone = display_zone (self);
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (utc_us == G_MININT64 || utc_us == G_MAXINT64)
    return g_strdup ("");
  utc = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  local = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;
  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("");
}

/* "YYYY-MM-DD HH:MM[:SS]" in the zone of the `time-zone` setting; empty
 * is no bound. */
static gboolean
parse_time (CustosExportDialog *self, AdwEntryRow *row, gint64 unbounded, gint64 *out,
            GError **error)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  g_autoptr (GTimeZone) zone = display_zone (self);
  g_autoptr (GDateTime) dt = NULL;
  int    y, mo, d, h, mi, n;
  double s = 0;
  char   tail;

  if (text[0] == '\0')
    {
      *out = unbounded;
      return TRUE;
    }
  n = sscanf (text, "%d-%d-%d %d:%d:%lf%c", &y, &mo, &d, &h, &mi, &s, &tail);
  if (n == 5 || n == 6)
    dt = g_date_time_new (zone, y, mo, d, h, mi, s);
  if (dt == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not a time; write it as 2026-11-21 20:34:00"), text);
      return FALSE;
    }
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

/* Pages */

static void
show_error (CustosExportDialog *self, const char *message)
{
  if (self->disposed)
    return;
  gtk_label_set_label (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static CustosExportFormat
selected_format (CustosExportDialog *self)
{
  return adw_combo_row_get_selected (self->format_row) == 1 ? CUSTOS_EXPORT_FORMAT_FUSION
                                                            : CUSTOS_EXPORT_FORMAT_MP4;
}

static void
update_actions (CustosExportDialog *self)
{
  gboolean running = self->queue != NULL;
  gboolean any = FALSE;

  if (self->disposed)
    return;

  for (guint i = 0; i < self->sources->len; i++)
    any |= gtk_check_button_get_active (
        GTK_CHECK_BUTTON (((Source *) self->sources->pdata[i])->check));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.start",
                                 !running && any && self->folder != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.add-recipient", !running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.choose-folder", !running);
  gtk_stack_set_visible_child_name (self->stack, running ? "progress" : "options");
}

static void
on_format_changed (CustosExportDialog *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->recipients_group),
                          selected_format (self) == CUSTOS_EXPORT_FORMAT_FUSION);
}

/* Recipients */

static void
on_remove_recipient (GtkButton *button, CustosExportDialog *self)
{
  GtkWidget *row = g_object_get_data (G_OBJECT (button), "row");
  guint      index;

  if (!g_ptr_array_find (self->recipient_rows, row, &index))
    return;
  adw_preferences_group_remove (self->recipients_group, row);
  g_ptr_array_remove_index (self->recipient_rows, index);
  g_ptr_array_remove_index (self->recipients, index);
}

void
custos_export_dialog_add_recipient (CustosExportDialog *self, CustosCertificate *certificate)
{
  g_autofree char *name = NULL;
  g_autofree char *fp = NULL;
  GtkWidget       *row;
  GtkWidget       *remove;

  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));
  g_return_if_fail (CUSTOS_IS_CERTIFICATE (certificate));

  for (guint i = 0; i < self->recipients->len; i++)
    if (custos_certificate_equal (self->recipients->pdata[i], certificate))
      return;

  name = custos_certificate_dup_common_name (certificate);
  if (name == NULL)
    name = custos_certificate_dup_subject (certificate);
  fp = custos_certificate_dup_fingerprint_hex (certificate);
  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), fp);
  remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _ ("Remove"));
  g_object_set_data (G_OBJECT (remove), "row", row);
  g_signal_connect (remove, "clicked", G_CALLBACK (on_remove_recipient), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  adw_preferences_group_add (self->recipients_group, row);
  g_ptr_array_add (self->recipient_rows, row);
  g_ptr_array_add (self->recipients, g_object_ref (certificate));
}

static void
on_recipient_chosen (GtkNativeDialog *chooser, int response, CustosExportDialog *self)
{
  g_autoptr (GFile) file = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_object_unref (chooser);
  if (file == NULL || (path = g_file_get_path (file)) == NULL)
    return;

  cert = custos_certificate_new_from_file (path, &error);
  if (cert == NULL)
    {
      g_autofree char *message = g_strdup_printf (_ ("Not a certificate: %s"), error->message);

      show_error (self, message);
      return;
    }
  show_error (self, NULL);
  custos_export_dialog_add_recipient (self, cert);
}

static void
add_recipient_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosExportDialog   *self = CUSTOS_EXPORT_DIALOG (widget);
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (_ ("Add Recipient Certificate"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Add"), _ ("_Cancel"));
  gtk_file_filter_set_name (filter, _ ("Certificates (PEM, DER)"));
  gtk_file_filter_add_pattern (filter, "*.pem");
  gtk_file_filter_add_pattern (filter, "*.crt");
  gtk_file_filter_add_pattern (filter, "*.cer");
  gtk_file_filter_add_pattern (filter, "*.der");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect (chooser, "response", G_CALLBACK (on_recipient_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Destination */

void
custos_export_dialog_set_folder (CustosExportDialog *self, GFile *folder)
{
  g_autofree char *name = NULL;

  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));
  g_return_if_fail (folder == NULL || G_IS_FILE (folder));

  g_set_object (&self->folder, folder);
  name = folder != NULL ? g_file_get_parse_name (folder) : g_strdup (_ ("None chosen"));
  adw_action_row_set_subtitle (self->folder_row, name);
  update_actions (self);
}

static void
on_folder_chosen (GtkNativeDialog *chooser, int response, CustosExportDialog *self)
{
  g_autoptr (GFile) folder = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_object_unref (chooser);
  if (folder != NULL)
    custos_export_dialog_set_folder (self, folder);
}

static void
choose_folder_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosExportDialog   *self = CUSTOS_EXPORT_DIALOG (widget);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Export To"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _ ("_Select"),
                                         _ ("_Cancel"));
  if (self->folder != NULL)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), self->folder, NULL);
  g_signal_connect (chooser, "response", G_CALLBACK (on_folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Running */

static void
update_progress (CustosExportDialog *self)
{
  guint  total = self->queue != NULL ? self->queue->len : 1;
  double job_fraction = self->job != NULL ? custos_export_job_get_fraction (self->job) : 0.0;
  double fraction = (self->done + job_fraction) / MAX (total, 1);
  double elapsed = (g_get_monotonic_time () - self->started_us) / (double) G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  if (self->disposed)
    return;
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  if (fraction < 0.02)
    text = g_strdup (_ ("Estimating the time left…"));
  else
    {
      int left = (int) (elapsed * (1.0 - fraction) / fraction + 0.5);

      if (left >= 60)
        text = g_strdup_printf (
            g_dngettext (NULL, "About %d minute left", "About %d minutes left", (left + 59) / 60),
            (left + 59) / 60);
      else
        text =
            g_strdup_printf (g_dngettext (NULL, "%d second left", "%d seconds left", left), left);
    }
  gtk_label_set_label (self->time_left_label, text);
}

static void
stop_run (CustosExportDialog *self)
{
  g_clear_pointer (&self->queue, g_ptr_array_unref);
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  update_actions (self);
}

static void
finish_run (CustosExportDialog *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);
  g_autoptr (GFile) folder = g_object_ref (self->folder);

  stop_run (self);
  g_signal_emit (self, signals[DONE], 0, folder);
  if (task != NULL)
    g_task_return_pointer (task, g_object_ref (folder), g_object_unref);
  gtk_window_close (GTK_WINDOW (self));
}

static void
on_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosExportDialog) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!custos_export_job_run_finish (CUSTOS_EXPORT_JOB (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _ ("The export was cancelled; nothing was written."));
      else
        {
          g_autofree char *message = g_strdup_printf (_ ("The export failed: %s"), error->message);

          show_error (self, message);
        }
      stop_run (self);
      return;
    }
  if (self->queue == NULL)
    return;
  self->done++;
  g_clear_object (&self->job);
  export_next (self);
}

static void
on_job_progress (CustosExportDialog *self)
{
  update_progress (self);
}

static char *
job_name (CustosExportDialog *self, Source *source)
{
  g_autofree char *when = format_time (self, self->from_us);

  /* No colons: file systems and tools that mind them. */
  g_strdelimit (when, ":", '-');
  if (when[0] == '\0')
    return g_strdup (source->title);
  return g_strdup_printf ("%s %s", source->title, when);
}

static void
export_next (CustosExportDialog *self)
{
  Source          *source;
  g_autofree char *name = NULL;

  if (self->done >= self->queue->len)
    {
      finish_run (self);
      return;
    }
  source = self->queue->pdata[self->done];
  name = job_name (self, source);
  if (source->client != NULL)
    self->job = custos_export_job_new_for_archiver (source->client, source->camera_id, self->folder,
                                                    name, selected_format (self));
  else
    self->job = custos_export_job_new (source->file, self->folder, name, selected_format (self));
  if (self->credentials != NULL)
    custos_export_job_set_key_provider (self->job,
                                        custos_credentials_get_key_provider (self->credentials),
                                        custos_credentials_get_interaction (self->credentials));
  custos_export_job_set_range (self->job, self->from_us, self->to_us);
  if (selected_format (self) == CUSTOS_EXPORT_FORMAT_FUSION)
    custos_export_job_set_recipients (self->job, self->recipients);
  g_signal_connect_object (self->job, "notify::fraction", G_CALLBACK (on_job_progress), self,
                           G_CONNECT_SWAPPED);
  update_progress (self);
  custos_export_job_run_async (self->job, self->cancellable, on_job_done, g_object_ref (self));
}

static void
start_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosExportDialog *self = CUSTOS_EXPORT_DIALOG (widget);
  g_autoptr (GError) error = NULL;

  if (self->queue != NULL || self->folder == NULL)
    return;
  if (!parse_time (self, self->from_row, G_MININT64, &self->from_us, &error) ||
      !parse_time (self, self->to_row, G_MAXINT64, &self->to_us, &error))
    {
      show_error (self, error->message);
      return;
    }
  if (self->from_us != G_MININT64 && self->to_us != G_MAXINT64 && self->from_us > self->to_us)
    {
      show_error (self, _ ("The range ends before it starts."));
      return;
    }
  show_error (self, NULL);

  self->queue = g_ptr_array_new ();
  for (guint i = 0; i < self->sources->len; i++)
    {
      Source *source = self->sources->pdata[i];

      if (gtk_check_button_get_active (GTK_CHECK_BUTTON (source->check)))
        g_ptr_array_add (self->queue, source);
    }
  self->done = 0;
  self->cancellable = g_cancellable_new ();
  self->started_us = g_get_monotonic_time ();
  update_actions (self);
  export_next (self);
}

static void
cancel_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosExportDialog *self = CUSTOS_EXPORT_DIALOG (widget);

  /* While exporting, Cancel stops the export (the job removes what it
   * wrote); otherwise it closes the dialog. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else
    gtk_window_close (GTK_WINDOW (self));
}

/* GObject */

static gboolean
custos_export_dialog_close_request (GtkWindow *window)
{
  CustosExportDialog *self = CUSTOS_EXPORT_DIALOG (window);
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (task != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("The export was closed"));
  return GTK_WINDOW_CLASS (custos_export_dialog_parent_class)->close_request (window);
}

static void
custos_export_dialog_dispose (GObject *object)
{
  CustosExportDialog *self = (CustosExportDialog *) object;

  self->disposed = TRUE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_EXPORT_DIALOG);

  G_OBJECT_CLASS (custos_export_dialog_parent_class)->dispose (object);
}

static void
custos_export_dialog_finalize (GObject *object)
{
  CustosExportDialog *self = (CustosExportDialog *) object;

  g_clear_object (&self->credentials);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  g_clear_pointer (&self->recipient_rows, g_ptr_array_unref);
  g_clear_object (&self->folder);
  g_clear_object (&self->task);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->queue, g_ptr_array_unref);
  g_clear_object (&self->job);

  G_OBJECT_CLASS (custos_export_dialog_parent_class)->finalize (object);
}

static void
custos_export_dialog_class_init (CustosExportDialogClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = custos_export_dialog_dispose;
  object_class->finalize = custos_export_dialog_finalize;
  window_class->close_request = custos_export_dialog_close_request;

  /**
   * CustosExportDialog::done:
   * @folder: where the files are
   */
  signals[DONE] = g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                NULL, G_TYPE_NONE, 1, G_TYPE_FILE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/custos/Custos/custos-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, sources_group);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, from_row);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, to_row);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, format_row);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, recipients_group);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, folder_row);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, time_left_label);
  gtk_widget_class_bind_template_child (widget_class, CustosExportDialog, export_button);

  gtk_widget_class_install_action (widget_class, "export.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "export.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "export.add-recipient", NULL,
                                   add_recipient_action);
  gtk_widget_class_install_action (widget_class, "export.choose-folder", NULL,
                                   choose_folder_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "export.cancel", NULL);
}

static void
custos_export_dialog_init (CustosExportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->sources = g_ptr_array_new_with_free_func (source_free);
  self->recipients = g_ptr_array_new_with_free_func (g_object_unref);
  self->recipient_rows = g_ptr_array_new ();
  self->from_us = G_MININT64;
  self->to_us = G_MAXINT64;
  g_signal_connect_swapped (self->format_row, "notify::selected", G_CALLBACK (on_format_changed),
                            self);
  custos_export_dialog_set_folder (self, NULL);
}

CustosExportDialog *
custos_export_dialog_new (GtkWindow *parent, CustosCredentials *credentials, GSettings *settings)
{
  CustosExportDialog *self;
  g_autofree char    *videos = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (credentials == NULL || CUSTOS_IS_CREDENTIALS (credentials), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  self = g_object_new (CUSTOS_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
  self->credentials = credentials != NULL ? g_object_ref (credentials) : NULL;
  self->settings = settings != NULL ? g_object_ref (settings) : NULL;

  /* Videos, else the home folder: a place the user finds again. */
  videos = g_strdup (g_get_user_special_dir (G_USER_DIRECTORY_VIDEOS));
  if (videos == NULL || !g_file_test (videos, G_FILE_TEST_IS_DIR))
    {
      g_free (videos);
      videos = g_strdup (g_get_home_dir ());
    }
  {
    g_autoptr (GFile) folder = g_file_new_for_path (videos);

    custos_export_dialog_set_folder (self, folder);
  }
  return self;
}

static void
add_source_row (CustosExportDialog *self, Source *source, const char *subtitle)
{
  GtkWidget *row;

  source->check = gtk_check_button_new ();
  gtk_check_button_set_active (GTK_CHECK_BUTTON (source->check), TRUE);
  g_signal_connect_swapped (source->check, "toggled", G_CALLBACK (update_actions), self);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), source->title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), source->check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), source->check);
  adw_preferences_group_add (self->sources_group, row);
  g_ptr_array_add (self->sources, source);
  update_actions (self);
}

void
custos_export_dialog_add_source (CustosExportDialog *self, const char *title, GFile *file)
{
  g_autofree char *where = NULL;
  Source          *source;

  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));
  g_return_if_fail (title != NULL);
  g_return_if_fail (G_IS_FILE (file));

  source = g_new0 (Source, 1);
  source->title = g_strdup (title);
  source->file = g_object_ref (file);
  where = g_file_get_parse_name (file);
  add_source_row (self, source, where);
}

void
custos_export_dialog_add_archiver_camera (CustosExportDialog *self, const char *title,
                                          CustosArchiverClient *client, const char *camera_id)
{
  Source *source;

  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));
  g_return_if_fail (title != NULL);
  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (client));
  g_return_if_fail (camera_id != NULL);

  source = g_new0 (Source, 1);
  source->title = g_strdup (title);
  source->client = g_object_ref (client);
  source->camera_id = g_strdup (camera_id);
  add_source_row (self, source, custos_archiver_client_get_base_url (client));
}

void
custos_export_dialog_set_range (CustosExportDialog *self, gint64 from_us, gint64 to_us)
{
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;

  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));

  from = format_time (self, from_us);
  to = format_time (self, to_us);
  gtk_editable_set_text (GTK_EDITABLE (self->from_row), from);
  gtk_editable_set_text (GTK_EDITABLE (self->to_row), to);
}

void
custos_export_dialog_set_format (CustosExportDialog *self, CustosExportFormat format)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));

  adw_combo_row_set_selected (self->format_row, format == CUSTOS_EXPORT_FORMAT_FUSION ? 1 : 0);
}

gboolean
custos_export_dialog_get_running (CustosExportDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_DIALOG (self), FALSE);
  return self->queue != NULL;
}

void
custos_export_dialog_run_async (CustosExportDialog *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_DIALOG (self));
  g_return_if_fail (self->task == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, custos_export_dialog_run_async);
  gtk_window_present (GTK_WINDOW (self));
}

GFile *
custos_export_dialog_run_finish (CustosExportDialog *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_DIALOG (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_open_folder (AdwToast *toast, GFile *folder)
{
  g_autofree char *uri = g_file_get_uri (folder);
  g_autoptr (GError) error = NULL;

  if (!g_app_info_launch_default_for_uri (uri, NULL, &error))
    g_warning ("Cannot open %s: %s", uri, error->message);
}

AdwToast *
custos_export_dialog_make_toast (GFile *folder)
{
  AdwToast *toast;

  g_return_val_if_fail (G_IS_FILE (folder), NULL);

  toast = adw_toast_new (_ ("Export finished"));
  adw_toast_set_button_label (toast, _ ("Open Folder"));
  adw_toast_set_timeout (toast, 10);
  g_signal_connect_data (toast, "button-clicked", G_CALLBACK (on_open_folder),
                         g_object_ref (folder), (GClosureNotify) g_object_unref, 0);
  return toast;
}
