/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key pairs made on a token, and signatures made with them, for
 * enrolment. The private key is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and
 * not CKA_EXTRACTABLE: it never leaves the token. It may decrypt (RSA,
 * for RSA-OAEP) or derive (EC, for ECDH-ES), unwrap, and sign (its own
 * certificate or request). On a read-write session of a logged-in token
 * the caller holds. Not installed.
 */
#pragma once

#include "custos-enroll.h"
#include "custos-pkcs11-private.h"

G_BEGIN_DECLS

typedef struct
{
  CK_OBJECT_HANDLE public_key;
  CK_OBJECT_HANDLE private_key;
} CustosPkcs11KeyPair;

/* RSA-2048/3072 (public exponent 65537) or EC P-256, both keys with this
 * CKA_ID and CKA_LABEL. */
G_GNUC_INTERNAL
gboolean custos_pkcs11_generate_key_pair (CK_FUNCTION_LIST     *funcs,
                                          CK_SESSION_HANDLE     session,
                                          CustosKeyType         type,
                                          GBytes               *id,
                                          const char           *label,
                                          CustosPkcs11KeyPair  *pair,
                                          GError              **error);
/* Undoes a generation that could not be finished. */
G_GNUC_INTERNAL
void     custos_pkcs11_destroy_key_pair  (CK_FUNCTION_LIST     *funcs,
                                          CK_SESSION_HANDLE     session,
                                          CustosPkcs11KeyPair  *pair);

typedef struct
{
  CK_FUNCTION_LIST  *funcs;
  CK_SESSION_HANDLE  session;
  CK_OBJECT_HANDLE   key;
  CustosKeyType      key_type;
} CustosPkcs11Signer;

/* A CustosTbsSignFunc (user_data: a CustosPkcs11Signer): SHA-256 with
 * RSA PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS, or CKM_RSA_PKCS over a DigestInfo
 * where the token only signs raw) or ECDSA (CKM_ECDSA over the hash; the
 * token's r || s re-encoded as DER). */
G_GNUC_INTERNAL
GBytes  *custos_pkcs11_sign_tbs          (const guint8         *tbs,
                                          gsize                 tbs_len,
                                          gpointer              signer,
                                          GError              **error);

G_END_DECLS
