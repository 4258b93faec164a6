/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-application"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-application.h"
#include "custos-window.h"

struct _CustosApplication
{
  AdwApplication parent_instance;

  GSettings          *settings;
  CustosCredentials  *credentials;
  CustosArchiverList *archivers;
  CustosLocalFiles   *local_files;
};

G_DEFINE_FINAL_TYPE (CustosApplication, custos_application, ADW_TYPE_APPLICATION)

CustosApplication *
custos_application_new (void)
{
  return g_object_new (CUSTOS_TYPE_APPLICATION, "application-id", APPLICATION_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN, "resource-base-path", "/org/custos/Custos",
                       NULL);
}

GSettings *
custos_application_get_settings (CustosApplication *self)
{
  g_return_val_if_fail (CUSTOS_IS_APPLICATION (self), NULL);

  return self->settings;
}

CustosCredentials *
custos_application_get_credentials (CustosApplication *self)
{
  g_return_val_if_fail (CUSTOS_IS_APPLICATION (self), NULL);

  return self->credentials;
}

CustosArchiverList *
custos_application_get_archivers (CustosApplication *self)
{
  g_return_val_if_fail (CUSTOS_IS_APPLICATION (self), NULL);

  return self->archivers;
}

CustosLocalFiles *
custos_application_get_local_files (CustosApplication *self)
{
  g_return_val_if_fail (CUSTOS_IS_APPLICATION (self), NULL);

  return self->local_files;
}

static CustosWindow *
custos_application_get_window (CustosApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (CUSTOS_IS_WINDOW (window))
    return CUSTOS_WINDOW (window);
  return custos_window_new (self);
}

static void
custos_application_activate (GApplication *app)
{
  gtk_window_present (GTK_WINDOW (custos_application_get_window (CUSTOS_APPLICATION (app))));
}

static void
custos_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  CustosWindow *window = custos_application_get_window (CUSTOS_APPLICATION (app));

  for (int i = 0; i < n_files; i++)
    custos_window_open_file (window, files[i]);
  gtk_window_present (GTK_WINDOW (window));
}

static void
quit_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = user_data;
  GList          *windows = gtk_application_get_windows (app);

  /* Closing the windows saves their size first. */
  while (windows != NULL)
    {
      GList *next = windows->next;

      gtk_window_close (windows->data);
      windows = next;
    }
  g_application_quit (G_APPLICATION (app));
}

static void
about_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = user_data;
  const char     *developers[] = { _("The Custos developers"), NULL };

  adw_show_about_window (gtk_application_get_active_window (app), "application-name", _("Custos"),
                         "application-icon", APPLICATION_ID, "version", PACKAGE_VERSION,
                         "comments",
                         _("Plays end-to-end encrypted video archives with your "
                            "smart card"),
                         "license-type", GTK_LICENSE_GPL_3_0, "developers", developers,
                         "translator-credits", _("translator-credits"), NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated },
  { "about", about_activated },
};

/* Not per window: every window's archivers are the application's. */
static void
card_removed (CustosCredentials *credentials, CustosCard *card, CustosArchiverList *archivers)
{
  custos_archiver_list_forget_card (archivers, custos_card_get_uri (card));
}

static void
custos_application_startup (GApplication *app)
{
  CustosApplication *self = CUSTOS_APPLICATION (app);
  const char        *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (custos_application_parent_class)->startup (app);

  g_set_application_name (_("Custos"));
  self->settings = g_settings_new (CUSTOS_SCHEMA_ID);
  self->credentials = custos_credentials_new (self->settings, NULL);
  self->archivers = custos_archiver_list_new (self->settings, CUSTOS_APPLICATION_REFRESH_SECONDS);
  g_signal_connect_object (self->credentials, "card-removed", G_CALLBACK (card_removed),
                           self->archivers, 0);
  self->local_files = custos_local_files_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
}

static void
custos_application_shutdown (GApplication *app)
{
  CustosApplication *self = CUSTOS_APPLICATION (app);
  GList             *windows;

  /* GTK 4 leaves the windows of a quit without app.quit (g_application_quit()
   * from elsewhere) alive past g_application_run(), and with them their
   * players' pipelines and the credentials' PKCS#11 monitor threads, which
   * go on calling the modules while exit() runs their destructors. */
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  g_clear_object (&self->archivers);
  g_clear_object (&self->local_files);
  g_clear_object (&self->credentials);

  G_APPLICATION_CLASS (custos_application_parent_class)->shutdown (app);
}

static void
custos_application_dispose (GObject *object)
{
  CustosApplication *self = CUSTOS_APPLICATION (object);

  g_clear_object (&self->archivers);
  g_clear_object (&self->local_files);
  g_clear_object (&self->credentials);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (custos_application_parent_class)->dispose (object);
}

static void
custos_application_class_init (CustosApplicationClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = custos_application_dispose;
  app_class->startup = custos_application_startup;
  app_class->shutdown = custos_application_shutdown;
  app_class->activate = custos_application_activate;
  app_class->open = custos_application_open;
}

static void
custos_application_init (CustosApplication *self)
{
}
