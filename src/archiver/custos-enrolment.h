/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosEnrolment: which certificates the archiver encrypts to and which
 * clients may receive original (encrypted) streams.
 *
 * The enrolment folder holds the recipients' certificates (PEM or DER,
 * *.pem *.crt *.cer *.der, one certificate per file; the public part
 * only: the archiver never sees a private key). The revocation list is a
 * text file of SHA-256 certificate fingerprints, one per line (hex,
 * colons allowed, "#" starts a comment). Both are watched with
 * GFileMonitor and re-read periodically, for file systems that do not
 * report changes. Validity is re-checked every second, so a certificate
 * stops being used within a second of its notAfter.
 *
 * A certificate is used (VALID) when it is inside its validity period,
 * not revoked, and its key can be wrapped to (RSA, EC P-256/P-384).
 * "changed" is emitted when the set of valid certificates changes: the
 * archiver then gives cameras the new set (enrolment acts from the next
 * key period, revocation and expiry likewise; CustosWriter does that).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "custos-certificate.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_ENROLMENT_VALID,
  CUSTOS_ENROLMENT_NOT_YET_VALID,
  CUSTOS_ENROLMENT_EXPIRED,
  CUSTOS_ENROLMENT_REVOKED,
  CUSTOS_ENROLMENT_UNUSABLE,
} CustosEnrolmentState;

const char *custos_enrolment_state_to_string (CustosEnrolmentState state);

#define CUSTOS_TYPE_ENROLMENT (custos_enrolment_get_type ())

G_DECLARE_FINAL_TYPE (CustosEnrolment, custos_enrolment, CUSTOS, ENROLMENT, GObject)

/* revocation_file may be NULL. */
CustosEnrolment *custos_enrolment_new                 (const char      *folder,
                                                       const char      *revocation_file);
void             custos_enrolment_set_rescan_interval (CustosEnrolment *self,
                                                       guint            seconds);
/* Reads both, then watches them. The folder must exist. */
gboolean         custos_enrolment_start               (CustosEnrolment *self,
                                                       GError         **error);
/* Re-reads both now (the watches call this). */
void             custos_enrolment_reload              (CustosEnrolment *self);
/* The certificates to encrypt to now (CustosCertificate). */
GPtrArray       *custos_enrolment_dup_valid           (CustosEnrolment *self);
/* Why no certificate is valid, for the log and /health. */
char            *custos_enrolment_dup_no_valid_reason (CustosEnrolment *self);
gboolean         custos_enrolment_is_revoked          (CustosEnrolment *self,
                                                       const guint8    *fingerprint);
/* NULL when the client certificate may receive original streams, else
 * why not (not enrolled, expired, not yet valid, revoked). */
char            *custos_enrolment_check_client        (CustosEnrolment *self,
                                                       const guint8    *fingerprint);
/* An array of the enrolled certificates for /health. */
void             custos_enrolment_build_json          (CustosEnrolment *self,
                                                       JsonBuilder     *builder);

G_END_DECLS
