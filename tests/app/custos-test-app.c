/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include <adwaita.h>

#include "custos-test-app.h"

gboolean
custos_test_wait_for (CustosTestCondition cond, gpointer data, guint seconds)
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

CustosWindow *
custos_test_app_window (CustosApplication *app)
{
  GtkWindow *w = gtk_application_get_active_window (GTK_APPLICATION (app));

  g_assert_true (CUSTOS_IS_WINDOW (w));
  return CUSTOS_WINDOW (w);
}

gboolean
custos_test_widget_has_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_label (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (custos_test_widget_has_label (child, text))
      return TRUE;
  return FALSE;
}

static void
collect (GtkWidget *widget, GType type, GPtrArray *found)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect (child, type, found);
}

GPtrArray *
custos_test_widget_find_all (GtkWidget *root, GType type)
{
  GPtrArray *found = g_ptr_array_new ();

  collect (root, type, found);
  return found;
}

gboolean
custos_test_player_has_frame (gpointer player)
{
  GdkPaintable *paintable = custos_player_get_paintable (player);

  return paintable != NULL && gdk_paintable_get_intrinsic_width (paintable) > 0;
}

static guint first_frames;

void
custos_test_on_first_frame (CustosPlayer *player, gpointer unused)
{
  first_frames++;
}

guint
custos_test_first_frames (void)
{
  return first_frames;
}

gboolean
custos_test_first_frames_beyond (gpointer before)
{
  return first_frames > GPOINTER_TO_UINT (before);
}

GtkEditable *
custos_test_find_entry_row (GtkWidget  *widget,
                            const char *title_prefix)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkEditable *found;

      if (ADW_IS_ENTRY_ROW (child) &&
          g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (child)),
                            title_prefix))
        return GTK_EDITABLE (child);
      if ((found = custos_test_find_entry_row (child, title_prefix)) != NULL)
        return found;
    }
  return NULL;
}

typedef struct
{
  CustosApplication *app;
  void (*prepare) (void);
  int ret;
} AppRun;

static gboolean
run_tests (gpointer data)
{
  AppRun *run = data;

  /* Screenshots show where the stacks are, not half of a crossfade. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  if (run->prepare != NULL)
    run->prepare ();
  run->ret = g_test_run ();
  g_application_quit (G_APPLICATION (run->app));
  return G_SOURCE_REMOVE;
}

static void
started (GApplication *application,
         AppRun       *run)
{
  g_idle_add (run_tests, run);
}

int
custos_test_app_run (CustosApplication *app,
                     const char        *file,
                     void (*prepare) (void))
{
  AppRun run = { app, prepare, 1 };
  char  *argv[] = { (char *) "custos", (char *) file, NULL };
  gulong handler;

  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  handler = g_signal_connect_after (app, "startup", G_CALLBACK (started), &run);
  g_application_run (G_APPLICATION (app), 2, argv);
  g_signal_handler_disconnect (app, handler);
  return run.ret;
}
