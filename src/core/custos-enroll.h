/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrolment: making the key pair and the encryption certificate of a
 * client, on the client machine that will request the video (on its
 * smart card: custos-pkcs11-enroll.h; in an encrypted key file:
 * custos-local-enroll.h). What to make is a CustosEnrollSpec; what was
 * made is a CustosEnrollment, whose certificate (or certificate request)
 * goes to the archiver's administrator.
 *
 * The certificate is a version 3 encryption certificate: keyUsage
 * (critical) digitalSignature plus keyEncipherment for RSA keys (RSA-OAEP
 * key transport) or keyAgreement for EC keys (ECDH-ES), basicConstraints
 * CA:FALSE, subject and authority key identifiers; self-signed with
 * SHA-256 (sha256WithRSAEncryption, ecdsa-with-SHA256) by the new key.
 * A request (PKCS#10) asks for the same extensions.
 */
#pragma once

#include <gio/gio.h>

#include "custos-certificate.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_KEY_TYPE_RSA_2048,
  CUSTOS_KEY_TYPE_RSA_3072,
  CUSTOS_KEY_TYPE_EC_P256,
} CustosKeyType;

#define CUSTOS_TYPE_KEY_TYPE (custos_key_type_get_type ())

GType       custos_key_type_get_type    (void) G_GNUC_CONST;
/* "rsa:2048", "rsa:3072", "ec:P-256" (also "ec:prime256v1", "ec:secp256r1"),
 * case-insensitive; G_IO_ERROR_INVALID_ARGUMENT names the choices. */
gboolean    custos_key_type_from_string (const char     *text,
                                         CustosKeyType  *type,
                                         GError        **error);
const char *custos_key_type_to_string   (CustosKeyType   type);
gboolean    custos_key_type_is_rsa      (CustosKeyType   type);
guint       custos_key_type_get_bits    (CustosKeyType   type);

#define CUSTOS_ENROLL_DEFAULT_DAYS 730

/* Borrowed strings; the functions that take a spec copy what they keep. */
typedef struct
{
  CustosKeyType  key_type;
  const char    *subject;     /* "CN=Alice,O=Police" (RFC 4514) or "/CN=Alice/O=Police" */
  const char    *common_name; /* used when subject is NULL: the subject is CN=common_name */
  guint          days;        /* validity of a self-signed certificate; 0: the default */
  gboolean       csr;         /* a certificate request instead of a self-signed certificate */
  const char    *label;       /* CKA_LABEL of keys and certificate; NULL: the subject's CN */
} CustosEnrollSpec;

#define CUSTOS_TYPE_ENROLLMENT (custos_enrollment_get_type ())

/* An immutable, reference-counted result. */
typedef struct
{
  CustosKeyType      key_type;
  CustosCertificate *certificate; /* self-signed or imported; NULL for a request */
  GBytes            *csr;         /* DER of the PKCS#10 request; NULL for a certificate */
  char              *id_hex;      /* CKA_ID of the key pair and certificate; "" for key files */
  char              *label;
  char              *token_label; /* NULL for a key file */
  char              *key_uri;     /* RFC 7512 URI of the private key, or the key file */
  gboolean           stored;      /* the certificate was written to the token now */
  /*< private >*/
  gatomicrefcount    ref_count;
} CustosEnrollment;

GType             custos_enrollment_get_type (void) G_GNUC_CONST;
CustosEnrollment *custos_enrollment_ref      (CustosEnrollment *self);
void              custos_enrollment_unref    (CustosEnrollment *self);
/* The certificate ("CERTIFICATE") or request ("CERTIFICATE REQUEST") as PEM. */
char             *custos_enrollment_dup_pem  (CustosEnrollment *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosEnrollment, custos_enrollment_unref)

G_END_DECLS
