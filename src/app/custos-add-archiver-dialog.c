/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-add-archiver-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-add-archiver-dialog.h"

struct _CustosAddArchiverDialog
{
  AdwMessageDialog parent_instance;

  AdwEntryRow          *url_row;
  AdwActionRow         *ca_row;
  AdwComboRow          *identity_row;
  GtkFileChooserNative *chooser;
  char                 *ca_file;
  char                 *url;        /* identity only: the archiver's */
  GtkStringList        *names;      /* the combo's model */
  GPtrArray            *identities; /* char *, parallel to the combo; NULL: none */
};

G_DEFINE_FINAL_TYPE (CustosAddArchiverDialog, custos_add_archiver_dialog, ADW_TYPE_MESSAGE_DIALOG)

const char *
custos_add_archiver_dialog_get_url (CustosAddArchiverDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_ADD_ARCHIVER_DIALOG (self), NULL);
  if (self->url != NULL)
    return self->url;
  return gtk_editable_get_text (GTK_EDITABLE (self->url_row));
}

const char *
custos_add_archiver_dialog_get_ca_file (CustosAddArchiverDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_ADD_ARCHIVER_DIALOG (self), NULL);
  return self->ca_file;
}

const char *
custos_add_archiver_dialog_get_identity (CustosAddArchiverDialog *self)
{
  guint i;

  g_return_val_if_fail (CUSTOS_IS_ADD_ARCHIVER_DIALOG (self), NULL);

  i = adw_combo_row_get_selected (self->identity_row);
  return i < self->identities->len ? self->identities->pdata[i] : NULL;
}

GListModel *
custos_add_archiver_dialog_get_identity_names (CustosAddArchiverDialog *self)
{
  g_return_val_if_fail (CUSTOS_IS_ADD_ARCHIVER_DIALOG (self), NULL);
  return G_LIST_MODEL (self->names);
}

gboolean
custos_add_archiver_dialog_select_identity (CustosAddArchiverDialog *self, guint position)
{
  g_return_val_if_fail (CUSTOS_IS_ADD_ARCHIVER_DIALOG (self), FALSE);

  if (position >= self->identities->len)
    return FALSE;
  adw_combo_row_set_selected (self->identity_row, position);
  return TRUE;
}

/* Asking for the identity only: "use" needs one chosen. */
static void
identity_changed (CustosAddArchiverDialog *self)
{
  if (self->url != NULL)
    adw_message_dialog_set_response_enabled (
        ADW_MESSAGE_DIALOG (self), "use", custos_add_archiver_dialog_get_identity (self) != NULL);
}

static void
append_identity (CustosAddArchiverDialog *self, const char *name, const char *identity)
{
  gtk_string_list_append (self->names, name);
  g_ptr_array_add (self->identities, g_strdup (identity));
}

static void
key_file_chosen (GtkNativeDialog *chooser, int response, CustosAddArchiverDialog *self)
{
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_clear_object (&self->chooser);
  if (file == NULL || (path = g_file_get_path (file)) == NULL)
    return;
  base = g_path_get_basename (path);
  /* Translators: a key file's name. */
  name = g_strdup_printf (_ ("%s (key file)"), base);
  append_identity (self, name, path);
  adw_combo_row_set_selected (self->identity_row, self->identities->len - 1);
}

/* A key file the credentials do not know yet: its passphrase is asked
 * when the connection needs it. */
static void
choose_key_file (CustosAddArchiverDialog *self)
{
  g_autoptr (GtkFileFilter) keys = gtk_file_filter_new ();

  gtk_file_filter_set_name (keys, _ ("Keys"));
  gtk_file_filter_add_suffix (keys, "pem");
  gtk_file_filter_add_suffix (keys, "key");
  gtk_file_filter_add_suffix (keys, "p12");
  gtk_file_filter_add_suffix (keys, "pfx");
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_ ("Key File"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Choose"), NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), keys);
  g_signal_connect (self->chooser, "response", G_CALLBACK (key_file_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
url_changed (CustosAddArchiverDialog *self)
{
  const char *url = gtk_editable_get_text (GTK_EDITABLE (self->url_row));

  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "add",
                                           g_str_has_prefix (url, "https://") && url[8] != '\0');
}

static void
ca_chosen (GtkNativeDialog *chooser, int response, CustosAddArchiverDialog *self)
{
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    {
      g_free (self->ca_file);
      self->ca_file = g_file_get_path (file);
      adw_action_row_set_subtitle (self->ca_row, self->ca_file);
    }
  g_clear_object (&self->chooser);
}

static void
choose_ca (CustosAddArchiverDialog *self)
{
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _ ("Certificates"));
  gtk_file_filter_add_suffix (filter, "pem");
  gtk_file_filter_add_suffix (filter, "crt");
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_ ("Certificate Authority"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Choose"), NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (ca_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* None (unless with_none is FALSE), then every certificate with a key on
 * the cards present, then the key files. */
static void
fill_identities (CustosAddArchiverDialog *self, CustosCredentials *credentials, gboolean with_none)
{
  GListModel *cards = custos_credentials_get_cards (credentials);
  g_autoptr (GPtrArray) files = custos_credentials_dup_key_files (credentials);

  if (with_none)
    append_identity (self, _ ("None"), NULL);
  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (cards, i);
      GListModel *certs = custos_card_get_certificates (card);

      for (guint j = 0; j < g_list_model_get_n_items (certs); j++)
        {
          g_autoptr (CustosCardCertificate) cert = g_list_model_get_item (certs, j);
          g_autofree char *name = NULL;

          if (!custos_card_certificate_get_has_key (cert))
            continue;
          /* Translators: a certificate's name and the card it is on. */
          name = g_strdup_printf (_ ("%s (card “%s”)"), custos_card_certificate_get_name (cert),
                                  custos_card_get_label (card));
          append_identity (self, name, custos_card_certificate_get_uri (cert));
        }
    }
  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      /* Translators: a key file's name. */
      g_autofree char *name = g_strdup_printf (_ ("%s (key file)"), base);

      append_identity (self, name, files->pdata[i]);
    }
  /* The first card certificate, when there is one: the usual choice. */
  adw_combo_row_set_selected (self->identity_row, with_none && self->identities->len > 1 ? 1 : 0);
}

static GtkWidget *
build_rows (CustosAddArchiverDialog *self)
{
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *choose = gtk_button_new_with_mnemonic (_ ("_Choose…"));
  GtkWidget *key_file = gtk_button_new_with_mnemonic (_ ("Key _File…"));

  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  self->url_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->url_row), _ ("Address"));
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), "https://");
  g_signal_connect_swapped (self->url_row, "changed", G_CALLBACK (url_changed), self);
  self->ca_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->ca_row), _ ("Certificate Authority"));
  adw_action_row_set_subtitle (self->ca_row, _ ("None: compare the fingerprint instead"));
  gtk_widget_set_valign (choose, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (choose, "clicked", G_CALLBACK (choose_ca), self);
  adw_action_row_add_suffix (self->ca_row, choose);
  self->identity_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->identity_row),
                                 _ ("Client Certificate"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->identity_row),
                               _ ("Needed for the originals of encrypted cameras"));
  adw_combo_row_set_model (self->identity_row, G_LIST_MODEL (self->names));
  g_signal_connect_swapped (self->identity_row, "notify::selected", G_CALLBACK (identity_changed),
                            self);
  gtk_widget_set_valign (key_file, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (key_file, "clicked", G_CALLBACK (choose_key_file), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->identity_row), key_file);
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (self->url_row));
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (self->ca_row));
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (self->identity_row));
  return list;
}

GtkWidget *
custos_add_archiver_dialog_new (GtkWindow *parent, CustosCredentials *credentials)
{
  CustosAddArchiverDialog *self;

  self = g_object_new (CUSTOS_TYPE_ADD_ARCHIVER_DIALOG, "transient-for", parent, "modal", TRUE,
                       "heading", _ ("Add Archiver"), "body",
                       _ ("The archiver’s address, as your administrator gave it"), NULL);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (self), build_rows (self));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (self), "cancel", _ ("_Cancel"), "add",
                                    _ ("_Add"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (self), "add",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (self), "add");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (self), "cancel");
  if (credentials != NULL)
    fill_identities (self, credentials, TRUE);
  url_changed (self);
  return GTK_WIDGET (self);
}

GtkWidget *
custos_add_archiver_dialog_new_for_identity (GtkWindow *parent, CustosCredentials *credentials,
                                             const char *url)
{
  CustosAddArchiverDialog *self;
  g_autofree char         *body = NULL;

  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (credentials), NULL);
  g_return_val_if_fail (url != NULL, NULL);

  body = g_strdup_printf (_ ("The original of this camera is only sent over a connection made "
                             "with your certificate. Which one should Custos use for %s?"),
                          url);
  self = g_object_new (CUSTOS_TYPE_ADD_ARCHIVER_DIALOG, "transient-for", parent, "modal", TRUE,
                       "heading", _ ("Choose Your Certificate"), "body", body, NULL);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (self), build_rows (self));
  /* Only the certificate: the archiver is already there. */
  gtk_widget_set_visible (GTK_WIDGET (self->url_row), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->ca_row), FALSE);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (self), "cancel", _ ("_Cancel"), "use",
                                    _ ("_Use"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (self), "use",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (self), "use");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (self), "cancel");
  /* Set last: identity_changed() only looks at "use" once it is there. */
  self->url = g_strdup (url);
  fill_identities (self, credentials, FALSE);
  identity_changed (self);
  return GTK_WIDGET (self);
}

static void
custos_add_archiver_dialog_finalize (GObject *object)
{
  CustosAddArchiverDialog *self = CUSTOS_ADD_ARCHIVER_DIALOG (object);

  g_clear_object (&self->chooser);
  g_free (self->ca_file);
  g_free (self->url);
  g_clear_object (&self->names);
  g_ptr_array_unref (self->identities);

  G_OBJECT_CLASS (custos_add_archiver_dialog_parent_class)->finalize (object);
}

static void
custos_add_archiver_dialog_class_init (CustosAddArchiverDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_add_archiver_dialog_finalize;
}

static void
custos_add_archiver_dialog_init (CustosAddArchiverDialog *self)
{
  self->identities = g_ptr_array_new_with_free_func (g_free);
  self->names = gtk_string_list_new (NULL);
}
