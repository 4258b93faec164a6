/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-crypto.h: the primitives of the fusion stream format, on OpenSSL 3
 * EVP only. See docs/fusion-stream.md §Cryptography for the constructions.
 */
#pragma once

#include <glib-object.h>
#include <openssl/evp.h>

#include "custos-format.h"
#include "custos-secret.h"

G_BEGIN_DECLS

#define CUSTOS_CRYPTO_ERROR (custos_crypto_error_quark ())

typedef enum
{
  CUSTOS_CRYPTO_ERROR_FAILED,        /* OpenSSL failed; message has its error string */
  CUSTOS_CRYPTO_ERROR_AUTH_FAILED,   /* GCM tag, KWP integrity or OAEP padding check failed */
  CUSTOS_CRYPTO_ERROR_BAD_KEY,       /* wrong length, wrong type or unusable key */
  CUSTOS_CRYPTO_ERROR_UNSUPPORTED,   /* algorithm not supported or not enabled */
  CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE, /* signature does not verify */
  CUSTOS_CRYPTO_ERROR_UNTRUSTED,     /* certificate chain does not lead to the CA */
  CUSTOS_CRYPTO_ERROR_EXPIRED,       /* certificate not valid at the given time */
  CUSTOS_CRYPTO_ERROR_BAD_INPUT,     /* malformed PEM/DER/wrapped blob */
  CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE, /* private key needs a passphrase, or it was wrong */
} CustosCryptoError;

GQuark   custos_crypto_error_quark (void);

gboolean custos_random_bytes       (guint8      *buf,
                                    gsize        len,
                                    GError     **error);
void     custos_sha256             (const guint8 *data,
                                    gsize         len,
                                    guint8        out[CUSTOS_SHA256_LEN]);

/* AES-128-GCM with a context kept across packets: setting the key once and
 * only the nonce per packet is what makes the reader as fast as
 * `openssl speed -evp aes-128-gcm`. */
typedef struct _CustosAead CustosAead;

CustosAead *custos_aead_new     (const CustosSecret *key,
                                 GError            **error);
void        custos_aead_free    (CustosAead         *self);
gboolean    custos_aead_encrypt (CustosAead         *self,
                                 const guint8        nonce[CUSTOS_GCM_NONCE_LEN],
                                 const guint8       *aad,
                                 gsize               aad_len,
                                 const guint8       *in,
                                 gsize               len,
                                 guint8             *out,
                                 guint8              tag[CUSTOS_GCM_TAG_LEN],
                                 GError            **error);
/* in and out may be the same buffer. */
gboolean    custos_aead_decrypt (CustosAead         *self,
                                 const guint8        nonce[CUSTOS_GCM_NONCE_LEN],
                                 const guint8       *aad,
                                 gsize               aad_len,
                                 const guint8       *in,
                                 gsize               len,
                                 guint8             *out,
                                 const guint8        tag[CUSTOS_GCM_TAG_LEN],
                                 GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosAead, custos_aead_free)

/* AES key wrap with padding (RFC 5649); the KEK may be 16, 24 or 32 bytes. */
GBytes       *custos_kwp_wrap   (const CustosSecret *kek,
                                 const CustosSecret *key,
                                 GError            **error);
CustosSecret *custos_kwp_unwrap (const CustosSecret *kek,
                                 const guint8       *wrapped,
                                 gsize               wrapped_len,
                                 GError            **error);

/* HKDF-SHA256 (RFC 5869). */
CustosSecret *custos_hkdf_sha256 (const CustosSecret *ikm,
                                  const guint8       *salt,
                                  gsize               salt_len,
                                  const guint8       *info,
                                  gsize               info_len,
                                  gsize               out_len,
                                  GError            **error);

/* Wrapping a KEK to a recipient's public key (the RECIPIENT record body's
 * `wrapped` field), and back with the private key when it is in software.
 *
 *  RSA_OAEP_SHA256: RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label.
 *  RSA_PKCS1_V15:   RSAES-PKCS1-v1_5 (legacy; callers must gate it).
 *  ECDH_ES_P256/384: an ephemeral key on the recipient's curve;
 *     Z    = ECDH x-coordinate (32 or 48 bytes)
 *     KWK  = HKDF-SHA256(IKM = Z, salt = recipient id (32 bytes),
 *                        info = "custos-fusion-v1 kek" || u32 epoch BE, L = 16)
 *     wrapped = ephemeral public point, uncompressed (65 or 97 bytes)
 *               || AES-KWP(KWK, KEK) (24 bytes)
 */
GBytes       *custos_wrap_kek   (EVP_PKEY           *recipient_public,
                                 CustosWrapAlg       alg,
                                 const guint8        recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                 guint32             epoch,
                                 const CustosSecret *kek,
                                 GError            **error);
CustosSecret *custos_unwrap_kek (EVP_PKEY           *recipient_private,
                                 CustosWrapAlg       alg,
                                 const guint8        recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                 guint32             epoch,
                                 const guint8       *wrapped,
                                 gsize               wrapped_len,
                                 GError            **error);

/* Pieces for keys that live on a token (PKCS#11 provider): the token does
 * the private-key operation, these do the rest in software. */
gsize         custos_ecdh_es_point_len          (CustosWrapAlg  alg);
CustosSecret *custos_ecdh_es_unwrap_with_secret (CustosWrapAlg       alg,
                                                 const CustosSecret *shared_secret,
                                                 const guint8        recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                                 guint32             epoch,
                                                 const guint8       *wrapped,
                                                 gsize               wrapped_len,
                                                 GError            **error);
/* OAEP (SHA-256) decoding of a raw RSA result (CKM_RSA_X_509 on a token). */
CustosSecret *custos_rsa_oaep_sha256_unpad      (const guint8       *block,
                                                 gsize               block_len,
                                                 gsize               modulus_len,
                                                 GError            **error);

/* Seal signatures: ECDSA P-256 with SHA-256 (DER signature) or RSA-PSS with
 * SHA-256, MGF1-SHA-256 and a 32-byte salt. The algorithm follows the key. */
GBytes   *custos_sign             (EVP_PKEY     *private_key,
                                   const guint8 *data,
                                   gsize         len,
                                   CustosSigAlg *alg_out,
                                   GError      **error);
gboolean  custos_verify_signature (EVP_PKEY     *public_key,
                                   CustosSigAlg  alg,
                                   const guint8 *data,
                                   gsize         len,
                                   const guint8 *sig,
                                   gsize         sig_len,
                                   GError      **error);

/* Private keys from files: PEM (optionally encrypted) or PKCS#12. The
 * passphrase may be NULL. Errors say whether the passphrase was wrong. */
EVP_PKEY *custos_private_key_load (const char   *path,
                                   const char   *passphrase,
                                   GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

G_END_DECLS
