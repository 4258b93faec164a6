/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-application"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-application.h"
#include "custos-window.h"

struct _CustosApplication
{
  AdwApplication parent_instance;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (CustosApplication, custos_application, ADW_TYPE_APPLICATION)

CustosApplication *
custos_application_new (void)
{
  return g_object_new (CUSTOS_TYPE_APPLICATION,
                       "application-id", CUSTOS_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/org/custos/Custos",
                       NULL);
}

GSettings *
custos_application_get_settings (CustosApplication *self)
{
  g_return_val_if_fail (CUSTOS_IS_APPLICATION (self), NULL);

  return self->settings;
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
custos_application_open (GApplication  *app,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  CustosWindow *window = custos_application_get_window (CUSTOS_APPLICATION (app));

  for (int i = 0; i < n_files; i++)
    custos_window_open_file (window, files[i]);
  gtk_window_present (GTK_WINDOW (window));
}

static void
custos_application_startup (GApplication *app)
{
  CustosApplication *self = CUSTOS_APPLICATION (app);

  G_APPLICATION_CLASS (custos_application_parent_class)->startup (app);

  self->settings = g_settings_new (CUSTOS_APPLICATION_ID);
  g_set_application_name (_("Custos"));
}

static void
custos_application_dispose (GObject *object)
{
  CustosApplication *self = CUSTOS_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (custos_application_parent_class)->dispose (object);
}

static void
custos_application_class_init (CustosApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = custos_application_dispose;
  app_class->startup = custos_application_startup;
  app_class->activate = custos_application_activate;
  app_class->open = custos_application_open;
}

static void
custos_application_init (CustosApplication *self)
{
}
