/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosArchiverList: the `archivers` setting as a GListModel of
 * CustosArchiverEntry. Adding, removing and pinning write the setting;
 * the list follows the setting (also when something else changes it),
 * keeping the entries whose configuration did not change.
 */
#pragma once

#include <gio/gio.h>

#include "custos-archiver-entry.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_ARCHIVER_LIST (custos_archiver_list_get_type ())

G_DECLARE_FINAL_TYPE (CustosArchiverList, custos_archiver_list, CUSTOS, ARCHIVER_LIST, GObject)

/* settings: an org.custos.Custos GSettings. refresh_interval: seconds
 * between camera refreshes (0: only on demand). */
CustosArchiverList *
custos_archiver_list_new (GSettings *settings, guint refresh_interval);
CustosArchiverEntry *
custos_archiver_list_find (CustosArchiverList *self, const char *url);
/* Adds an archiver (unpinned unless a CA file is given) and returns its
 * entry, which starts connecting. Fails for a bad URL, an unreadable CA
 * file or an archiver already in the list. */
CustosArchiverEntry *
custos_archiver_list_add (CustosArchiverList *self,
                          const char         *url,
                          const char         *ca_file,
                          const char         *identity,
                          GError            **error);
gboolean
custos_archiver_list_remove (CustosArchiverList *self, const char *url);
/* Pins the certificate the user compared (the archiver's
 * peer-fingerprint) and reconnects. */
CustosArchiverEntry *
custos_archiver_list_pin (CustosArchiverList *self,
                          const char         *url,
                          const char         *fingerprint,
                          GError            **error);
/* Sets the client identity (PKCS#11 URI or key file path; NULL: none). */
CustosArchiverEntry *
custos_archiver_list_set_identity (CustosArchiverList *self, const char *url, const char *identity);
void
custos_archiver_list_refresh (CustosArchiverList *self);
/* A card went away (token URI card_uri): a connection with its certificate
 * can no longer be made, so the archivers whose identity is on it connect
 * without one (their privacy-protected streams play on) and the
 * certificate is asked for again when an original is opened. */
void
custos_archiver_list_forget_card (CustosArchiverList *self, const char *card_uri);

G_END_DECLS
