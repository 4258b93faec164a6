/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-pin-dialog"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-pin-dialog.h"
#include "custos-secret.h"

struct _CustosPinDialog
{
  AdwMessageDialog parent_instance;

  GtkLabel  *warning_label;
  GtkWidget *entry;
  GtkWidget *pin_pad_box;
};

G_DEFINE_FINAL_TYPE (CustosPinDialog, custos_pin_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
on_entry_changed (CustosPinDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));

  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "unlock",
                                           text != NULL && text[0] != '\0');
}

static void
custos_pin_dialog_class_init (CustosPinDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/custos/Custos/custos-pin-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosPinDialog, warning_label);
  gtk_widget_class_bind_template_child (widget_class, CustosPinDialog, entry);
  gtk_widget_class_bind_template_child (widget_class, CustosPinDialog, pin_pad_box);
}

static void
custos_pin_dialog_init (CustosPinDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

CustosPinDialog *
custos_pin_dialog_new (GtkWindow *parent, const char *heading, const char *body,
                       const char *warning, gboolean pin_pad)
{
  CustosPinDialog *self = g_object_new (CUSTOS_TYPE_PIN_DIALOG, "transient-for", parent, "heading",
                                        heading, "body", body, NULL);

  if (warning != NULL)
    {
      gtk_label_set_label (self->warning_label, warning);
      gtk_widget_set_visible (GTK_WIDGET (self->warning_label), TRUE);
    }

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (self), "cancel", _ ("_Cancel"));
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (self), "cancel");
  if (pin_pad)
    {
      /* The reader asks the PIN: nothing to type here. */
      gtk_widget_set_visible (self->entry, FALSE);
      gtk_widget_set_visible (self->pin_pad_box, TRUE);
      return self;
    }

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (self), "unlock", _ ("_Unlock"));
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (self), "unlock",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (self), "unlock");
  g_signal_connect_swapped (self->entry, "changed", G_CALLBACK (on_entry_changed), self);
  on_entry_changed (self);
  return self;
}

GtkWidget *
custos_pin_dialog_get_entry (CustosPinDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_PIN_DIALOG (self), NULL);

  return gtk_widget_get_visible (self->entry) ? self->entry : NULL;
}

const char *
custos_pin_dialog_get_warning (CustosPinDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_PIN_DIALOG (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->warning_label)))
    return NULL;
  return gtk_label_get_label (self->warning_label);
}

char *
custos_pin_dialog_take_pin (CustosPinDialog *self, gsize *len)
{
  const char *text;
  char       *ret;

  g_return_val_if_fail (CUSTOS_IS_PIN_DIALOG (self), NULL);

  /* GtkPasswordEntry keeps its text in a GtkPasswordEntryBuffer (secure,
   * wiped memory); our copy is wiped by whoever frees it. */
  text = gtk_editable_get_text (GTK_EDITABLE (self->entry));
  *len = strlen (text);
  ret = g_malloc (*len + 1);
  memcpy (ret, text, *len + 1);
  gtk_editable_set_text (GTK_EDITABLE (self->entry), "");
  return ret;
}
