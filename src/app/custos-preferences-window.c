/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-preferences-window"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-preferences-window.h"
#include "custos-sidebar.h"

struct _CustosPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwPreferencesGroup *archivers_group;
  AdwPreferencesGroup *modules_group;
  AdwPreferencesGroup *key_files_group;
  AdwEntryRow         *module_entry;
  GtkSpinButton       *cache_spin;
  AdwComboRow         *time_zone_row;

  GSettings            *settings;
  CustosCredentials    *credentials;
  CustosArchiverList   *archivers;
  GPtrArray            *archiver_rows;
  GPtrArray            *module_rows;
  GPtrArray            *key_file_rows;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (CustosPreferencesWindow,
                     custos_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

static void
clear_rows (AdwPreferencesGroup *group, GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    adw_preferences_group_remove (group, rows->pdata[i]);
  g_ptr_array_set_size (rows, 0);
}

/* A row with a remove button; clicked calls remove(self, data). */
static GtkWidget *
removable_row (CustosPreferencesWindow *self,
               const char              *title,
               const char              *subtitle,
               const char              *remove_label,
               GCallback                remove,
               const char              *data)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button = gtk_button_new_from_icon_name ("user-trash-symbolic");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_object_set_data_full (G_OBJECT (button), "data", g_strdup (data), g_free);
  g_signal_connect_swapped (button, "clicked", remove, self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  return row;
}

static const char *
button_data (GtkWidget *button)
{
  return g_object_get_data (G_OBJECT (button), "data");
}

/* Archivers */

static void
remove_archiver (CustosPreferencesWindow *self, GtkButton *button)
{
  custos_archiver_list_remove (self->archivers, button_data (GTK_WIDGET (button)));
}

static void
fill_archivers (CustosPreferencesWindow *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->archivers));

  clear_rows (self->archivers_group, self->archiver_rows);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CustosArchiverEntry) entry =
          g_list_model_get_item (G_LIST_MODEL (self->archivers), i);
      const char *url = custos_archiver_entry_get_url (entry);
      const char *state = custos_sidebar_state_text (custos_archiver_entry_get_state (entry));
      GtkWidget  *row = removable_row (self, url, state, _("Remove Archiver"),
                                       G_CALLBACK (remove_archiver), url);

      adw_preferences_group_add (self->archivers_group, row);
      g_ptr_array_add (self->archiver_rows, row);
    }
}

/* PKCS#11 modules */

static void
remove_module (CustosPreferencesWindow *self, GtkButton *button)
{
  g_auto (GStrv) modules = g_settings_get_strv (self->settings, "pkcs11-modules");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) kept = NULL;

  for (guint i = 0; modules[i] != NULL; i++)
    if (g_strcmp0 (modules[i], button_data (GTK_WIDGET (button))) != 0)
      g_strv_builder_add (builder, modules[i]);
  kept = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "pkcs11-modules", (const char *const *) kept);
}

static void
fill_modules (CustosPreferencesWindow *self)
{
  g_auto (GStrv) modules = g_settings_get_strv (self->settings, "pkcs11-modules");

  clear_rows (self->modules_group, self->module_rows);
  for (guint i = 0; modules[i] != NULL; i++)
    {
      GtkWidget *row = removable_row (self, modules[i], NULL, _("Remove Module"),
                                      G_CALLBACK (remove_module), modules[i]);

      adw_preferences_group_add (self->modules_group, row);
      g_ptr_array_add (self->module_rows, row);
    }
}

static void
module_applied (CustosPreferencesWindow *self)
{
  g_autofree char *path =
      g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->module_entry))));
  g_auto (GStrv) modules = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  g_auto (GStrv) added = NULL;

  if (*path == '\0')
    return;
  if (!g_str_has_prefix (path, "pkcs11:") && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *text = g_strdup_printf (_("No module file %s"), path);

      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
      return;
    }
  modules = g_settings_get_strv (self->settings, "pkcs11-modules");
  if (g_strv_contains ((const char *const *) modules, path))
    return;
  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) modules);
  g_strv_builder_add (builder, path);
  added = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "pkcs11-modules", (const char *const *) added);
  gtk_editable_set_text (GTK_EDITABLE (self->module_entry), "");
}

/* Key files */

static void
remove_key_file (CustosPreferencesWindow *self, GtkButton *button)
{
  custos_credentials_remove_key_file (self->credentials, button_data (GTK_WIDGET (button)));
}

static void
fill_key_files (CustosPreferencesWindow *self)
{
  g_autoptr (GPtrArray) files = custos_credentials_dup_key_files (self->credentials);

  clear_rows (self->key_files_group, self->key_file_rows);
  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      g_autofree char *name = g_path_get_basename (files->pdata[i]);
      GtkWidget       *row = removable_row (self, name, files->pdata[i], _("Remove Key File"),
                                            G_CALLBACK (remove_key_file), files->pdata[i]);

      adw_preferences_group_add (self->key_files_group, row);
      g_ptr_array_add (self->key_file_rows, row);
    }
}

static void
key_file_added (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosPreferencesWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = NULL;

  cert = custos_credentials_add_key_file_finish (CUSTOS_CREDENTIALS (object), result, &error);
  if (cert == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *text = g_strdup_printf (_("Cannot add the key file: %s"), error->message);

      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
    }
  fill_key_files (self);
}

static void
key_file_chosen (GtkNativeDialog *chooser, int response, CustosPreferencesWindow *self)
{
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    custos_credentials_add_key_file_async (self->credentials, file, NULL, key_file_added,
                                           g_object_ref (self));
  g_clear_object (&self->chooser);
}

static void
add_key_file_clicked (CustosPreferencesWindow *self)
{
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Keys (PEM, PKCS#12)"));
  gtk_file_filter_add_suffix (filter, "pem");
  gtk_file_filter_add_suffix (filter, "key");
  gtk_file_filter_add_suffix (filter, "p12");
  gtk_file_filter_add_suffix (filter, "pfx");
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Add Key File"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (key_file_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Settings */

static void
settings_changed (GSettings *settings, const char *key, CustosPreferencesWindow *self)
{
  if (g_strcmp0 (key, "pkcs11-modules") == 0)
    fill_modules (self);
  else if (g_strcmp0 (key, "key-files") == 0)
    fill_key_files (self);
}

static gboolean
zone_to_selected (GValue *value, GVariant *variant, gpointer user_data)
{
  g_value_set_uint (value, g_strcmp0 (g_variant_get_string (variant, NULL), "utc") == 0 ? 1 : 0);
  return TRUE;
}

static GVariant *
selected_to_zone (const GValue *value, const GVariantType *type, gpointer user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "utc" : "local");
}

GtkWidget *
custos_preferences_window_new (CustosApplication *application)
{
  CustosPreferencesWindow *self;

  g_return_val_if_fail (CUSTOS_IS_APPLICATION (application), NULL);

  self = g_object_new (CUSTOS_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (custos_application_get_settings (application));
  self->credentials = g_object_ref (custos_application_get_credentials (application));
  self->archivers = g_object_ref (custos_application_get_archivers (application));
  g_signal_connect_object (self->archivers, "items-changed", G_CALLBACK (fill_archivers), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed), self, 0);
  g_settings_bind (self->settings, "key-cache-minutes",
                   gtk_spin_button_get_adjustment (self->cache_spin), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "time-zone", self->time_zone_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, zone_to_selected, selected_to_zone, NULL,
                                NULL);
  fill_archivers (self);
  fill_modules (self);
  fill_key_files (self);
  return GTK_WIDGET (self);
}

static void
custos_preferences_window_dispose (GObject *object)
{
  CustosPreferencesWindow *self = CUSTOS_PREFERENCES_WINDOW (object);

  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (custos_preferences_window_parent_class)->dispose (object);
}

static void
custos_preferences_window_finalize (GObject *object)
{
  CustosPreferencesWindow *self = CUSTOS_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->credentials);
  g_clear_object (&self->archivers);
  g_ptr_array_unref (self->archiver_rows);
  g_ptr_array_unref (self->module_rows);
  g_ptr_array_unref (self->key_file_rows);

  G_OBJECT_CLASS (custos_preferences_window_parent_class)->finalize (object);
}

static void
custos_preferences_window_class_init (CustosPreferencesWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = custos_preferences_window_dispose;
  object_class->finalize = custos_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/custos/Custos/custos-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, archivers_group);
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, modules_group);
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, key_files_group);
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, module_entry);
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, cache_spin);
  gtk_widget_class_bind_template_child (widget_class, CustosPreferencesWindow, time_zone_row);
  gtk_widget_class_bind_template_callback (widget_class, add_key_file_clicked);
}

static void
custos_preferences_window_init (CustosPreferencesWindow *self)
{
  self->archiver_rows = g_ptr_array_new ();
  self->module_rows = g_ptr_array_new ();
  self->key_file_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->module_entry, "apply", G_CALLBACK (module_applied), self);
}
