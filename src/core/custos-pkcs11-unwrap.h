/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The private-key operations of the PKCS#11 provider, on an open, logged-in
 * session (the caller holds its lock): RSA-OAEP-SHA256 by CKM_RSA_PKCS_OAEP
 * or, where the token refuses SHA-256 parameters, CKM_RSA_X_509 and OAEP
 * decoding in software; RSA PKCS#1 v1.5 by CKM_RSA_PKCS (the caller gates
 * it); ECDH-ES by CKM_ECDH1_DERIVE with CKD_NULL, the shared secret read
 * from a short-lived session object. The private key stays on the token.
 * Not installed.
 */
#pragma once

#include "custos-key-provider.h"
#include "custos-pkcs11-private.h"

G_BEGIN_DECLS

/* Counters the provider exposes to tests and benchmarks (atomic). */
typedef struct
{
  gint private_key_ops; /* C_Decrypt and C_DeriveKey calls */
  gint last_mechanism;  /* CKM_* of the last successful unwrap */
  gint logins;          /* successful C_Login calls */
  gint prompts;         /* PINs asked through an interaction */
} CustosPkcs11Stats;

/* What a token turned out to want, remembered so later unwraps go the
 * working way at once. */
typedef struct
{
  gboolean oaep_refused;   /* no SHA-256 OAEP parameters (SoftHSM 2.6) */
  gboolean ecdh_der_point; /* the ECDH public data as a DER OCTET STRING */
} CustosPkcs11Quirks;

typedef struct
{
  CK_FUNCTION_LIST   *funcs;
  CK_SESSION_HANDLE   session;
  CK_OBJECT_HANDLE    key;         /* the private key paired with the certificate */
  const char         *token_label; /* for messages */
  CustosPkcs11Quirks *quirks;
  CustosPkcs11Stats  *stats;
} CustosPkcs11KeyOp;

/* The KEK, or NULL with CUSTOS_KEY_ERROR_UNWRAP_FAILED (the blob does not
 * fit or does not check out) or a CUSTOS_PKCS11_ERROR with the CK_RV. */
G_GNUC_INTERNAL
CustosSecret *custos_pkcs11_unwrap (CustosPkcs11KeyOp       *op,
                                    CustosPkcs11CertInfo    *cert,
                                    const CustosWrappedKek  *wrapped,
                                    GError                 **error);

G_END_DECLS
