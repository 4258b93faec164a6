/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building the certificate or request of an enrolment around a public key
 * whose private half may be out of reach (on a token): OpenSSL encodes the
 * to-be-signed part, a CustosTbsSignFunc signs it wherever the key is, and
 * the result is assembled, parsed back and verified with the public key.
 * Shared inside libcustos only; not installed.
 */
#pragma once

#include <openssl/x509.h>

#include "custos-enroll.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_NAME, X509_NAME_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_REQ, X509_REQ_free)

/* Signs tbs with SHA-256 and the key's algorithm: returns the signature
 * value as it goes in the BIT STRING (RSA PKCS#1 v1.5 bytes, or the DER
 * Ecdsa-Sig-Value). */
typedef GBytes *(*CustosTbsSignFunc) (const guint8  *tbs,
                                      gsize          tbs_len,
                                      gpointer       user_data,
                                      GError       **error);

/* A spec copied, with its subject parsed: checked before any key is made
 * (and before any PIN is asked). */
typedef struct
{
  CustosKeyType  key_type;
  X509_NAME     *subject;
  guint          days;
  gboolean       csr;
  char          *label;
} CustosEnrollRequest;

G_GNUC_INTERNAL
CustosEnrollRequest *custos_enroll_request_new   (const CustosEnrollSpec  *spec,
                                                  GError                 **error);
G_GNUC_INTERNAL
void                 custos_enroll_request_free  (CustosEnrollRequest     *self);

/* "CN=Alice,O=Police,C=FR" (RFC 4514: the most specific RDN first, as
 * custos_certificate_dup_subject() prints it) or "/C=FR/O=Police/CN=Alice"
 * (OpenSSL's -subj, in DER order). Backslash escapes; no multi-valued RDNs. */
G_GNUC_INTERNAL
X509_NAME           *custos_enroll_parse_subject (const char              *text,
                                                  GError                 **error);

/* public_key must match the key that sign uses. */
G_GNUC_INTERNAL
CustosCertificate   *custos_enroll_build_certificate (const CustosEnrollRequest  *request,
                                                      EVP_PKEY                   *public_key,
                                                      CustosTbsSignFunc           sign,
                                                      gpointer                    user_data,
                                                      GError                    **error);
/* DER of the request. */
G_GNUC_INTERNAL
GBytes              *custos_enroll_build_request     (const CustosEnrollRequest  *request,
                                                      EVP_PKEY                   *public_key,
                                                      CustosTbsSignFunc           sign,
                                                      gpointer                    user_data,
                                                      GError                    **error);

G_GNUC_INTERNAL
CustosEnrollment    *custos_enrollment_new           (CustosKeyType               key_type,
                                                      CustosCertificate          *certificate,
                                                      GBytes                     *csr,
                                                      const char                 *id_hex,
                                                      const char                 *label,
                                                      const char                 *token_label,
                                                      const char                 *key_uri,
                                                      gboolean                    stored);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosEnrollRequest, custos_enroll_request_free)

G_END_DECLS
