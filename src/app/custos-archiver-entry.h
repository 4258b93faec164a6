/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosArchiverEntry: one archiver of the `archivers` setting and its
 * connection, without any widget. It owns a CustosArchiverClient set up
 * from the setting (URL, pinned fingerprint or CA file, client identity),
 * lists the archiver's cameras into a GListModel of CustosCameraItem, and
 * refreshes them periodically and on demand.
 *
 * Its state says what the user must know: an archiver whose certificate
 * is not trusted yet (UNTRUSTED, with the fingerprint to compare) or no
 * longer matches its pin (CERTIFICATE_CHANGED, with both fingerprints) is
 * not asked again until the user decides; a CERTIFICATE_CHANGED entry is
 * never re-pinned by itself.
 */
#pragma once

#include <gio/gio.h>

#include "custos-archiver-client.h"
#include "custos-camera-item.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_ARCHIVER_STATE_CONNECTING,
  CUSTOS_ARCHIVER_STATE_CONNECTED,
  CUSTOS_ARCHIVER_STATE_UNTRUSTED,
  CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED,
  CUSTOS_ARCHIVER_STATE_REFUSED,
  CUSTOS_ARCHIVER_STATE_OFFLINE,
} CustosArchiverState;

#define CUSTOS_TYPE_ARCHIVER_STATE (custos_archiver_state_get_type ())
GType
custos_archiver_state_get_type (void) G_GNUC_CONST;

#define CUSTOS_TYPE_ARCHIVER_ENTRY (custos_archiver_entry_get_type ())

G_DECLARE_FINAL_TYPE (CustosArchiverEntry, custos_archiver_entry, CUSTOS, ARCHIVER_ENTRY, GObject)

/* Fails when the URL is not an https:// URL or the CA file cannot be read. */
CustosArchiverEntry *
custos_archiver_entry_new (const char *url,
                           const char *pinned_fingerprint,
                           const char *ca_file,
                           const char *identity,
                           GError    **error);
const char *
custos_archiver_entry_get_url (CustosArchiverEntry *self);
/* "host:port", for titles. */
const char *
custos_archiver_entry_get_title (CustosArchiverEntry *self);
const char *
custos_archiver_entry_get_pinned_fingerprint (CustosArchiverEntry *self);
const char *
custos_archiver_entry_get_ca_file (CustosArchiverEntry *self);
const char *
custos_archiver_entry_get_identity (CustosArchiverEntry *self);
/* TRUE when (url, pin, ca, identity) are these. */
gboolean
custos_archiver_entry_matches (CustosArchiverEntry *self,
                               const char          *pinned_fingerprint,
                               const char          *ca_file,
                               const char          *identity);

CustosArchiverClient *
custos_archiver_entry_get_client (CustosArchiverEntry *self);
CustosArchiverState
custos_archiver_entry_get_state (CustosArchiverEntry *self);
/* The fingerprint the archiver presented (lowercase hex), after UNTRUSTED
 * or CERTIFICATE_CHANGED; NULL before any connection. */
const char *
custos_archiver_entry_get_peer_fingerprint (CustosArchiverEntry *self);
/* Why it is REFUSED, OFFLINE, UNTRUSTED or CERTIFICATE_CHANGED. */
const char *
custos_archiver_entry_get_message (CustosArchiverEntry *self);
/* CustosCameraItem; stays as last listed (marked offline) when the
 * archiver cannot be reached. */
GListModel *
custos_archiver_entry_get_cameras (CustosArchiverEntry *self);
CustosCameraItem *
custos_archiver_entry_find_camera (CustosArchiverEntry *self, const char *id);

/* Lists the cameras now (unless a refresh is running). Periodic refreshes
 * run every refresh-interval seconds (0: none) while the archiver is
 * CONNECTED, OFFLINE or REFUSED. */
void
custos_archiver_entry_refresh (CustosArchiverEntry *self);
void
custos_archiver_entry_set_refresh_interval (CustosArchiverEntry *self, guint seconds);

/* The client certificate for originals of encrypted cameras. */
void
custos_archiver_entry_set_client_certificate (CustosArchiverEntry *self, GTlsCertificate *cert);
gboolean
custos_archiver_entry_has_client_certificate (CustosArchiverEntry *self);

/* "ab12 cd34 …": groups of four hex digits, lines of four groups. */
char *
custos_format_fingerprint (const char *hex);

G_END_DECLS
