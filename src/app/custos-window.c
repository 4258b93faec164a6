/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-window"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-window.h"

struct _CustosWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkStack        *content_stack;
};

G_DEFINE_FINAL_TYPE (CustosWindow, custos_window, ADW_TYPE_APPLICATION_WINDOW)

CustosWindow *
custos_window_new (CustosApplication *application)
{
  return g_object_new (CUSTOS_TYPE_WINDOW, "application", application, NULL);
}

void
custos_window_add_toast (CustosWindow *self,
                         AdwToast     *toast)
{
  g_return_if_fail (CUSTOS_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
custos_window_open_file (CustosWindow *self,
                         GFile        *file)
{
  g_autofree char *name = NULL;

  g_return_if_fail (CUSTOS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  /* Playback arrives with the player widget. */
  name = g_file_get_basename (file);
  custos_window_add_toast (self, adw_toast_new_format (_("Opened %s"), name));
}

static void
custos_window_class_init (CustosWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/custos/Custos/custos-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, content_stack);
}

static void
custos_window_init (CustosWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
