/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosAddArchiverDialog: asks for an archiver's URL, an optional CA file
 * (without one, the certificate's fingerprint is compared and pinned) and
 * the client certificate: one of the cards present or a key file of the
 * credentials. Responses "cancel" and "add".
 *
 * custos_add_archiver_dialog_new_for_identity() asks only for the client
 * certificate of an archiver already added (the cards' certificates, the
 * key files, or another key file chosen with "Key File…"): responses
 * "cancel" and "use".
 */
#pragma once

#include <adwaita.h>

#include "custos-credentials.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_ADD_ARCHIVER_DIALOG (custos_add_archiver_dialog_get_type ())

G_DECLARE_FINAL_TYPE (CustosAddArchiverDialog, custos_add_archiver_dialog, CUSTOS,
                      ADD_ARCHIVER_DIALOG, AdwMessageDialog)

GtkWidget *
custos_add_archiver_dialog_new (GtkWindow *parent, CustosCredentials *credentials);
GtkWidget *
custos_add_archiver_dialog_new_for_identity (GtkWindow *parent, CustosCredentials *credentials,
                                             const char *url);
/* The identities offered, as the user reads them (for tests). */
GListModel *
custos_add_archiver_dialog_get_identity_names (CustosAddArchiverDialog *self);
/* Selects the offered identity at position; FALSE when there is none. */
gboolean
custos_add_archiver_dialog_select_identity (CustosAddArchiverDialog *self, guint position);
const char *
custos_add_archiver_dialog_get_url (CustosAddArchiverDialog *self);
/* NULL when none. */
const char *
custos_add_archiver_dialog_get_ca_file (CustosAddArchiverDialog *self);
/* A PKCS#11 URI, a key file path, or NULL. */
const char *
custos_add_archiver_dialog_get_identity (CustosAddArchiverDialog *self);

G_END_DECLS
