/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-trust-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-trust-dialog.h"

static GtkWidget *
fingerprint_label (const char *hex)
{
  g_autofree char *text = custos_format_fingerprint (hex ? hex : "");
  GtkWidget       *label = gtk_label_new (text);

  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (label, "monospace");
  gtk_widget_add_css_class (label, "title-4");
  return label;
}

static GtkWidget *
captioned (const char *caption, const char *hex)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *title = gtk_label_new (caption);

  gtk_widget_add_css_class (title, "heading");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), fingerprint_label (hex));
  return box;
}

GtkWidget *
custos_trust_dialog_new (GtkWindow *parent, CustosArchiverEntry *entry)
{
  GtkWidget *dialog;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (entry), NULL);

  dialog = adw_message_dialog_new (parent, _("Trust This Archiver?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("%s presented a certificate that is not known yet. Compare "
                                     "this with the fingerprint your administrator gave you. "
                                     "Trust it only if every digit is the same."),
                                  custos_archiver_entry_get_url (entry));
  adw_message_dialog_set_extra_child (
      ADW_MESSAGE_DIALOG (dialog),
      captioned (_("SHA-256 Fingerprint"), custos_archiver_entry_get_peer_fingerprint (entry)));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "trust",
                                    _("_Trust"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "trust",
                                              ADW_RESPONSE_SUGGESTED);
  /* Enter must not trust by accident. */
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  return dialog;
}

GtkWidget *
custos_changed_dialog_new (GtkWindow *parent, CustosArchiverEntry *entry)
{
  GtkWidget *dialog;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (entry), NULL);

  dialog = adw_message_dialog_new (parent, _("The Archiver’s Certificate Changed"), NULL);
  adw_message_dialog_format_body (
      ADW_MESSAGE_DIALOG (dialog),
      _("%s presented a different certificate from the one you trusted. Someone may be "
         "intercepting the connection, so Custos refuses to connect. If your administrator "
         "replaced the certificate, ask them for the new fingerprint, remove the archiver and "
         "add it again."),
      custos_archiver_entry_get_url (entry));
  gtk_box_append (GTK_BOX (box), captioned (_("Trusted Fingerprint"),
                                            custos_archiver_entry_get_pinned_fingerprint (entry)));
  gtk_box_append (GTK_BOX (box), captioned (_("Presented Fingerprint"),
                                            custos_archiver_entry_get_peer_fingerprint (entry)));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "remove", _("_Remove Archiver"),
                                    "close", _("_Close"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "close");
  return dialog;
}
