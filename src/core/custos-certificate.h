/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosCertificate: an X.509 certificate (recipient or signer), with the
 * SHA-256 fingerprint of its DER that the format uses as recipient id.
 */
#pragma once

#include <glib-object.h>
#include <openssl/evp.h>

#include "custos-format.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_CERTIFICATE (custos_certificate_get_type ())

G_DECLARE_FINAL_TYPE (CustosCertificate, custos_certificate, CUSTOS, CERTIFICATE, GObject)

CustosCertificate *custos_certificate_new_from_der   (GBytes             *der,
                                                      GError            **error);
/* PEM or DER; the first certificate of a PEM file. */
CustosCertificate *custos_certificate_new_from_file  (const char         *path,
                                                      GError            **error);
/* All certificates of a PEM file, in order (a chain). */
GPtrArray         *custos_certificate_load_chain     (const char         *path,
                                                      GError            **error);
GBytes            *custos_certificate_get_der        (CustosCertificate  *self);
const guint8      *custos_certificate_get_fingerprint (CustosCertificate *self);
char              *custos_certificate_dup_fingerprint_hex (CustosCertificate *self);
char              *custos_certificate_dup_subject    (CustosCertificate  *self);
char              *custos_certificate_dup_common_name (CustosCertificate *self);
GDateTime         *custos_certificate_get_not_before (CustosCertificate  *self);
GDateTime         *custos_certificate_get_not_after  (CustosCertificate  *self);
EVP_PKEY          *custos_certificate_get_public_key (CustosCertificate  *self);
/* The wrap algorithm for this key: RSA -> OAEP-SHA256 (PKCS#1 v1.5 when
 * legacy is TRUE), EC P-256/P-384 -> ECDH-ES. Fails for other keys. */
gboolean           custos_certificate_get_wrap_alg   (CustosCertificate  *self,
                                                      gboolean            legacy,
                                                      CustosWrapAlg      *alg,
                                                      GError            **error);
/* Checks notBefore <= now <= notAfter; CUSTOS_CRYPTO_ERROR_EXPIRED names the dates. */
gboolean           custos_certificate_check_validity (CustosCertificate  *self,
                                                      GDateTime          *now,
                                                      GError            **error);
/* Verifies the chain (self, then intermediates) up to a CA in ca_file (PEM). */
gboolean           custos_certificate_verify_chain   (CustosCertificate  *self,
                                                      GPtrArray          *intermediates,
                                                      const char         *ca_file,
                                                      GError            **error);
gboolean           custos_certificate_equal          (CustosCertificate  *a,
                                                      CustosCertificate  *b);
/* Does the private key match this certificate's public key? */
gboolean           custos_certificate_matches_key    (CustosCertificate  *self,
                                                      EVP_PKEY           *private_key);

char              *custos_hex_encode                 (const guint8       *data,
                                                      gsize               len);

G_END_DECLS
