/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared inside libcustos only; not installed. */
#pragma once

#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "custos-crypto.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_KDF_CTX, EVP_KDF_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_DECODER_CTX, OSSL_DECODER_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PKCS12, PKCS12_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

/* The HKDF info of the ECDH-ES key wrap is this label (no NUL) followed
 * by the epoch as a big-endian u32. */
#define KEK_INFO_LABEL     "custos-fusion-v1 kek"
#define KEK_INFO_LABEL_LEN 20
#define KEK_INFO_LEN       (KEK_INFO_LABEL_LEN + 4)

#define KWP_OVERHEAD       8
#define OAEP_HASH_LEN      CUSTOS_SHA256_LEN
#define HKDF_SHA256_MAX    (255 * CUSTOS_SHA256_LEN)
#define RSA_MIN_BITS       2048

/* EVP updates take an int length; larger inputs go in chunks that keep
 * the cipher block alignment. */
#define MAX_UPDATE_CHUNK   ((gsize) (G_MAXINT & ~0xFFF))

G_STATIC_ASSERT (sizeof KEK_INFO_LABEL - 1 == KEK_INFO_LABEL_LEN);

/* Algorithms fetched from the providers once per process. */
typedef struct
{
  EVP_CIPHER *gcm;
  EVP_CIPHER *kwp[3]; /* AES-128, -192, -256 WRAP-PAD */
  EVP_MD     *sha256;
  EVP_KDF    *hkdf;
} CustosAlgorithms;

G_GNUC_INTERNAL const CustosAlgorithms *custos_crypto_algorithms      (void);
/* The curve of an EC key as a NID (NID_undef for others); name gets its name. */
G_GNUC_INTERNAL int                     custos_crypto_ec_curve_nid    (EVP_PKEY    *pkey,
                                                                       char        *name,
                                                                       gsize        name_size);
G_GNUC_INTERNAL gboolean                custos_crypto_check_available (const void  *alg,
                                                                       const char  *name,
                                                                       GError     **error);

G_GNUC_INTERNAL G_GNUC_PRINTF (3, 4)
void custos_set_openssl_error (GError            **error,
                               CustosCryptoError   code,
                               const char         *format,
                               ...);

G_END_DECLS
