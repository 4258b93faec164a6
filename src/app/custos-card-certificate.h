/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCardCertificate: a certificate on a smart card (CustosCard), for
 * lists and for choosing the archiver client certificate.
 */
#pragma once

#include <gio/gio.h>

#include "custos-certificate.h"
#include "custos-pkcs11-token.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_CARD_CERTIFICATE (custos_card_certificate_get_type ())

G_DECLARE_FINAL_TYPE (CustosCardCertificate, custos_card_certificate, CUSTOS, CARD_CERTIFICATE, GObject)

CustosCardCertificate *custos_card_certificate_new             (CustosPkcs11CertInfo  *info);
/* The certificate's subject DN, one line. */
const char            *custos_card_certificate_get_subject     (CustosCardCertificate *self);
/* The common name, or the subject when it has none. */
const char            *custos_card_certificate_get_name        (CustosCardCertificate *self);
/* SHA-256 of the DER, lower-case hex (the recipient id). */
const char            *custos_card_certificate_get_fingerprint (CustosCardCertificate *self);
/* RFC 7512 URI naming the certificate (token + id): an identity for
 * custos_credentials_get_tls_certificate_async(). */
const char            *custos_card_certificate_get_uri         (CustosCardCertificate *self);
/* "RSA 2048", "EC P-256", … */
const char            *custos_card_certificate_get_key_type    (CustosCardCertificate *self);
/* FALSE for a certificate without a private key on the card (a CA). */
gboolean               custos_card_certificate_get_has_key     (CustosCardCertificate *self);
CustosCertificate     *custos_card_certificate_get_certificate (CustosCardCertificate *self);

G_END_DECLS
