/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-crypto"

#include "config.h"

#include <gio/gio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

#include "custos-crypto.h"
#include "custos-crypto-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_KDF_CTX, EVP_KDF_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_DECODER_CTX, OSSL_DECODER_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PKCS12, PKCS12_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

G_DEFINE_QUARK (custos-crypto-error-quark, custos_crypto_error)

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

/* Appends the OpenSSL error that caused the failure, if there is one, and
 * empties the queue so a later failure does not report a stale reason. */
void
custos_set_openssl_error (GError            **error,
                   CustosCryptoError   code,
                   const char         *format,
                   ...)
{
  g_autofree char *message = NULL;
  unsigned long err = ERR_peek_last_error ();
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (err != 0)
    {
      char reason[256];

      ERR_error_string_n (err, reason, sizeof reason);
      g_set_error (error, CUSTOS_CRYPTO_ERROR, code, "%s (%s)", message, reason);
    }
  else
    g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, code, message);

  ERR_clear_error ();
}

/* Algorithms are fetched from the providers once per process: fetching is
 * a locked lookup that would otherwise run for every packet and key. They
 * are never freed; they live as long as the library. */
typedef struct
{
  EVP_CIPHER *gcm;
  EVP_CIPHER *kwp[3]; /* AES-128, -192, -256 WRAP-PAD */
  EVP_MD     *sha256;
  EVP_KDF    *hkdf;
} Algorithms;

static const Algorithms *
algorithms (void)
{
  static Algorithms algs;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      algs.gcm = EVP_CIPHER_fetch (NULL, "AES-128-GCM", NULL);
      algs.kwp[0] = EVP_CIPHER_fetch (NULL, "AES-128-WRAP-PAD", NULL);
      algs.kwp[1] = EVP_CIPHER_fetch (NULL, "AES-192-WRAP-PAD", NULL);
      algs.kwp[2] = EVP_CIPHER_fetch (NULL, "AES-256-WRAP-PAD", NULL);
      algs.sha256 = EVP_MD_fetch (NULL, "SHA256", NULL);
      algs.hkdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
      ERR_clear_error ();
      g_once_init_leave (&initialized, 1);
    }
  return &algs;
}

static gboolean
check_available (const void  *alg,
                 const char  *name,
                 GError     **error)
{
  if (alg != NULL)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
               "%s is not available from the loaded OpenSSL providers", name);
  return FALSE;
}

static const char *
wrap_alg_name (CustosWrapAlg alg)
{
  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
      return "RSA-OAEP-SHA256";
    case CUSTOS_WRAP_ECDH_ES_P256:
      return "ECDH-ES-P256";
    case CUSTOS_WRAP_ECDH_ES_P384:
      return "ECDH-ES-P384";
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return "RSA-PKCS1-v1_5";
    default:
      return "unknown key wrap algorithm";
    }
}

static void
write_be32 (guint8  *out,
            guint32  value)
{
  out[0] = value >> 24;
  out[1] = value >> 16;
  out[2] = value >> 8;
  out[3] = value;
}

gboolean
custos_random_bytes (guint8  *buf,
                     gsize    len,
                     GError **error)
{
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);

  while (len > 0)
    {
      int chunk = (int) MIN (len, MAX_UPDATE_CHUNK);

      if (RAND_bytes (buf, chunk) != 1)
        {
          custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "Cannot get random bytes");
          return FALSE;
        }
      buf += chunk;
      len -= chunk;
    }
  return TRUE;
}

void
custos_sha256 (const guint8 *data,
               gsize         len,
               guint8        out[CUSTOS_SHA256_LEN])
{
  const Algorithms *algs = algorithms ();
  static const guint8 empty[1];

  /* Without SHA-256 nothing in the format works; that is a broken
   * OpenSSL installation, not an error to recover from. */
  if (algs->sha256 == NULL ||
      !EVP_Digest (len > 0 ? data : empty, len, out, NULL, algs->sha256, NULL))
    g_error ("SHA-256 is not available from OpenSSL");
}

/* AES-128-GCM */

/* One context per key, switched between directions and nonces without
 * re-keying. A CustosAead is not thread-safe: use one per thread. */
struct _CustosAead
{
  EVP_CIPHER_CTX *ctx;
};

CustosAead *
custos_aead_new (const CustosSecret  *key,
                 GError             **error)
{
  const Algorithms *algs = algorithms ();
  g_autoptr (EVP_CIPHER_CTX) ctx = NULL;
  CustosAead *self;

  g_return_val_if_fail (key != NULL, NULL);

  if (!check_available (algs->gcm, "AES-128-GCM", error))
    return NULL;
  if (custos_secret_get_len (key) != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "AES-128-GCM needs a %d-byte key, got %" G_GSIZE_FORMAT " bytes",
                   CUSTOS_AES_KEY_LEN, custos_secret_get_len (key));
      return NULL;
    }

  /* The key schedule and GHASH tables are computed here, once; the
   * context keeps its own copy of the key. */
  ctx = EVP_CIPHER_CTX_new ();
  if (ctx == NULL ||
      !EVP_EncryptInit_ex2 (ctx, algs->gcm, custos_secret_peek (key), NULL, NULL))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "Cannot set up AES-128-GCM");
      return NULL;
    }

  self = g_new0 (CustosAead, 1);
  self->ctx = g_steal_pointer (&ctx);
  return self;
}

void
custos_aead_free (CustosAead *self)
{
  if (self == NULL)
    return;
  /* Frees the provider context, which cleanses the key schedule. */
  EVP_CIPHER_CTX_free (self->ctx);
  g_free (self);
}

static gboolean
aead_update (EVP_CIPHER_CTX *ctx,
             guint8         *out,
             const guint8   *in,
             gsize           len)
{
  while (len > 0)
    {
      int chunk = (int) MIN (len, MAX_UPDATE_CHUNK);
      int outl = 0;

      if (!EVP_CipherUpdate (ctx, out, &outl, in, chunk))
        return FALSE;
      in += chunk;
      if (out != NULL)
        out += outl;
      len -= chunk;
    }
  return TRUE;
}

/* Only the nonce changes per packet: a NULL cipher and key keep the
 * expanded key of the context, which is what makes this fast. */
static gboolean
aead_start (CustosAead   *self,
            int           enc,
            const guint8  nonce[CUSTOS_GCM_NONCE_LEN],
            const guint8 *aad,
            gsize         aad_len)
{
  if (!EVP_CipherInit_ex2 (self->ctx, NULL, NULL, nonce, enc, NULL))
    return FALSE;
  return aad_len == 0 || aead_update (self->ctx, NULL, aad, aad_len);
}

gboolean
custos_aead_encrypt (CustosAead   *self,
                     const guint8  nonce[CUSTOS_GCM_NONCE_LEN],
                     const guint8 *aad,
                     gsize         aad_len,
                     const guint8 *in,
                     gsize         len,
                     guint8       *out,
                     guint8        tag[CUSTOS_GCM_TAG_LEN],
                     GError      **error)
{
  OSSL_PARAM params[2];
  guint8 final[16];
  int outl = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (nonce != NULL && tag != NULL, FALSE);
  g_return_val_if_fail (aad != NULL || aad_len == 0, FALSE);
  g_return_val_if_fail ((in != NULL && out != NULL) || len == 0, FALSE);

  params[0] = OSSL_PARAM_construct_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                                 CUSTOS_GCM_TAG_LEN);
  params[1] = OSSL_PARAM_construct_end ();

  if (!aead_start (self, 1, nonce, aad, aad_len) ||
      !aead_update (self->ctx, out, in, len) ||
      !EVP_EncryptFinal_ex (self->ctx, final, &outl) ||
      !EVP_CIPHER_CTX_get_params (self->ctx, params))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "AES-128-GCM encryption failed");
      return FALSE;
    }
  return TRUE;
}

gboolean
custos_aead_decrypt (CustosAead   *self,
                     const guint8  nonce[CUSTOS_GCM_NONCE_LEN],
                     const guint8 *aad,
                     gsize         aad_len,
                     const guint8 *in,
                     gsize         len,
                     guint8       *out,
                     const guint8  tag[CUSTOS_GCM_TAG_LEN],
                     GError      **error)
{
  OSSL_PARAM params[2];
  guint8 final[16];
  int outl = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (nonce != NULL && tag != NULL, FALSE);
  g_return_val_if_fail (aad != NULL || aad_len == 0, FALSE);
  g_return_val_if_fail ((in != NULL && out != NULL) || len == 0, FALSE);

  /* OpenSSL only reads the expected tag, whatever the prototype says. */
  params[0] = OSSL_PARAM_construct_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, (void *) tag,
                                                 CUSTOS_GCM_TAG_LEN);
  params[1] = OSSL_PARAM_construct_end ();

  if (!aead_start (self, 0, nonce, aad, aad_len) ||
      !aead_update (self->ctx, out, in, len) ||
      !EVP_CIPHER_CTX_set_params (self->ctx, params))
    {
      custos_memzero (out, len);
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "AES-128-GCM decryption failed");
      return FALSE;
    }

  if (EVP_DecryptFinal_ex (self->ctx, final, &outl) <= 0)
    {
      /* Never hand out plaintext that did not authenticate. */
      custos_memzero (out, len);
      ERR_clear_error ();
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                           "AES-128-GCM authentication failed: the tag does not match");
      return FALSE;
    }
  return TRUE;
}

/* AES key wrap with padding, RFC 5649 */

static const EVP_CIPHER *
kwp_cipher (const CustosSecret  *kek,
            GError             **error)
{
  const Algorithms *algs = algorithms ();
  gsize len = custos_secret_get_len (kek);
  const EVP_CIPHER *cipher;

  if (len != 16 && len != 24 && len != 32)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "AES-KWP needs a 16, 24 or 32-byte KEK, got %" G_GSIZE_FORMAT " bytes", len);
      return NULL;
    }
  cipher = algs->kwp[(len - 16) / 8];
  if (!check_available (cipher, "AES-WRAP-PAD", error))
    return NULL;
  return cipher;
}

static EVP_CIPHER_CTX *
kwp_ctx_new (const CustosSecret  *kek,
             int                  enc,
             GError             **error)
{
  const EVP_CIPHER *cipher = kwp_cipher (kek, error);
  g_autoptr (EVP_CIPHER_CTX) ctx = NULL;

  if (cipher == NULL)
    return NULL;

  ctx = EVP_CIPHER_CTX_new ();
  if (ctx == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "Cannot allocate a cipher context");
      return NULL;
    }
  /* OpenSSL 1.x refused wrap modes without this flag; the provider
   * ciphers of 3.0 no longer check it. Harmless, and keeps older or
   * engine-backed code paths working. */
  EVP_CIPHER_CTX_set_flags (ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (!EVP_CipherInit_ex2 (ctx, cipher, custos_secret_peek (kek), NULL, enc, NULL))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "Cannot set up AES-KWP");
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

GBytes *
custos_kwp_wrap (const CustosSecret  *kek,
                 const CustosSecret  *key,
                 GError             **error)
{
  g_autoptr (EVP_CIPHER_CTX) ctx = NULL;
  gsize len;
  guint8 *out;
  int outl = 0;

  g_return_val_if_fail (kek != NULL && key != NULL, NULL);

  len = custos_secret_get_len (key);
  if (len == 0 || len > G_MAXINT / 2)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "AES-KWP cannot wrap a key of %" G_GSIZE_FORMAT " bytes", len);
      return NULL;
    }
  if ((ctx = kwp_ctx_new (kek, 1, error)) == NULL)
    return NULL;

  /* RFC 5649: the input is padded to a multiple of 8 and an 8-byte
   * integrity block is prepended. */
  out = g_malloc ((len + 7) / 8 * 8 + KWP_OVERHEAD);
  if (!EVP_EncryptUpdate (ctx, out, &outl, custos_secret_peek (key), (int) len))
    {
      g_free (out);
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "AES-KWP wrap failed");
      return NULL;
    }
  return g_bytes_new_take (out, outl);
}

CustosSecret *
custos_kwp_unwrap (const CustosSecret  *kek,
                   const guint8        *wrapped,
                   gsize                wrapped_len,
                   GError             **error)
{
  g_autoptr (EVP_CIPHER_CTX) ctx = NULL;
  g_autoptr (CustosSecret) out = NULL;
  int outl = 0;

  g_return_val_if_fail (kek != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL || wrapped_len == 0, NULL);

  if (wrapped_len < 2 * KWP_OVERHEAD || wrapped_len % 8 != 0 || wrapped_len > G_MAXINT / 2)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "AES-KWP: a wrapped key is a multiple of 8 bytes and at least 16, "
                   "found %" G_GSIZE_FORMAT " bytes", wrapped_len);
      return NULL;
    }
  if ((ctx = kwp_ctx_new (kek, 0, error)) == NULL)
    return NULL;

  /* OpenSSL wants room for the whole input; the exact length is only
   * known after the padding has been checked. */
  out = custos_secret_new (wrapped_len);
  if (!EVP_DecryptUpdate (ctx, custos_secret_get_data (out), &outl, wrapped, (int) wrapped_len) ||
      outl <= 0)
    {
      /* With valid lengths the only failure is the integrity check, and
       * OpenSSL's "update error" would add nothing. */
      ERR_clear_error ();
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                           "AES-KWP integrity check failed (wrong KEK or corrupted key)");
      return NULL;
    }
  return custos_secret_new_copy (custos_secret_peek (out), outl);
}

/* HKDF-SHA256, RFC 5869 */

CustosSecret *
custos_hkdf_sha256 (const CustosSecret  *ikm,
                    const guint8        *salt,
                    gsize                salt_len,
                    const guint8        *info,
                    gsize                info_len,
                    gsize                out_len,
                    GError             **error)
{
  const Algorithms *algs = algorithms ();
  g_autoptr (EVP_KDF_CTX) kctx = NULL;
  g_autoptr (CustosSecret) out = NULL;
  OSSL_PARAM params[5];
  OSSL_PARAM *p = params;

  g_return_val_if_fail (ikm != NULL, NULL);
  g_return_val_if_fail (salt != NULL || salt_len == 0, NULL);
  g_return_val_if_fail (info != NULL || info_len == 0, NULL);

  if (!check_available (algs->hkdf, "HKDF", error))
    return NULL;
  if (out_len == 0 || out_len > HKDF_SHA256_MAX)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "HKDF-SHA256 output length must be 1 to %d bytes, got %" G_GSIZE_FORMAT,
                   HKDF_SHA256_MAX, out_len);
      return NULL;
    }

  /* OSSL_PARAM is not const-correct; these buffers are only read. */
  *p++ = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
  *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) custos_secret_peek (ikm),
                                            custos_secret_get_len (ikm));
  /* An absent salt is HashLen zero bytes (RFC 5869 §2.2), which is also
   * what OpenSSL does when the parameter is not given. */
  if (salt_len > 0)
    *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt, salt_len);
  if (info_len > 0)
    *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, (void *) info, info_len);
  *p = OSSL_PARAM_construct_end ();

  out = custos_secret_new (out_len);
  kctx = EVP_KDF_CTX_new (algs->hkdf);
  if (kctx == NULL || EVP_KDF_derive (kctx, custos_secret_get_data (out), out_len, params) <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "HKDF-SHA256 failed");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* RSA key wrap */

static EVP_PKEY_CTX *
rsa_ctx_new (EVP_PKEY       *pkey,
             CustosWrapAlg   alg,
             gboolean        encrypt,
             GError        **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = NULL;
  gboolean oaep = alg == CUSTOS_WRAP_RSA_OAEP_SHA256;
  OSSL_PARAM params[4];
  OSSL_PARAM *p = params;
  int ok;

  if (!EVP_PKEY_is_a (pkey, "RSA"))
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "%s needs an RSA key, found %s", wrap_alg_name (alg),
                   EVP_PKEY_get0_type_name (pkey));
      return NULL;
    }

  *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_PAD_MODE,
                                           oaep ? (char *) OSSL_PKEY_RSA_PAD_MODE_OAEP
                                                : (char *) OSSL_PKEY_RSA_PAD_MODE_PKCSV15, 0);
  if (oaep)
    {
      *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
                                               (char *) "SHA256", 0);
      *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                                               (char *) "SHA256", 0);
    }
  *p = OSSL_PARAM_construct_end ();

  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, pkey, NULL);
  if (ctx == NULL)
    ok = 0;
  else if (encrypt)
    ok = EVP_PKEY_encrypt_init_ex (ctx, params);
  else
    ok = EVP_PKEY_decrypt_init_ex (ctx, params);
  if (ok <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_KEY, "Cannot set up %s",
                         wrap_alg_name (alg));
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

static GBytes *
rsa_wrap (EVP_PKEY            *pkey,
          CustosWrapAlg        alg,
          const CustosSecret  *kek,
          GError             **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = rsa_ctx_new (pkey, alg, TRUE, error);
  g_autofree guint8 *out = NULL;
  size_t outlen = 0;

  if (ctx == NULL)
    return NULL;
  /* The format forbids writers to use small RSA keys (§5.4); readers
   * still open what was written. */
  if (EVP_PKEY_get_bits (pkey) < RSA_MIN_BITS)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "%s: the recipient's RSA key has %d bits, at least %d are required",
                   wrap_alg_name (alg), EVP_PKEY_get_bits (pkey), RSA_MIN_BITS);
      return NULL;
    }
  if (EVP_PKEY_encrypt (ctx, NULL, &outlen, custos_secret_peek (kek),
                        custos_secret_get_len (kek)) <= 0)
    goto fail;
  out = g_malloc (outlen);
  if (EVP_PKEY_encrypt (ctx, out, &outlen, custos_secret_peek (kek),
                        custos_secret_get_len (kek)) <= 0)
    goto fail;
  return g_bytes_new_take (g_steal_pointer (&out), outlen);

fail:
  custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "%s wrap failed", wrap_alg_name (alg));
  return NULL;
}

static CustosSecret *
rsa_unwrap (EVP_PKEY      *pkey,
            CustosWrapAlg  alg,
            const guint8  *wrapped,
            gsize          wrapped_len,
            GError       **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = rsa_ctx_new (pkey, alg, FALSE, error);
  g_autoptr (CustosSecret) out = NULL;
  gsize modulus_len;
  size_t outlen;

  if (ctx == NULL)
    return NULL;

  modulus_len = EVP_PKEY_get_size (pkey);
  if (wrapped_len != modulus_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "%s: the wrapped KEK is %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT
                   " for a %d-bit key", wrap_alg_name (alg), wrapped_len, modulus_len,
                   EVP_PKEY_get_bits (pkey));
      return NULL;
    }

  out = custos_secret_new (modulus_len);
  outlen = modulus_len;
  if (EVP_PKEY_decrypt (ctx, custos_secret_get_data (out), &outlen, wrapped, wrapped_len) <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                         "%s unwrap failed: padding check failed (wrong private key or "
                         "corrupted blob)", wrap_alg_name (alg));
      return NULL;
    }
  /* OpenSSL 3.2+ answers a bad PKCS#1 v1.5 padding with a random
   * message instead of an error (implicit rejection, against Bleichenbacher
   * oracles); it is almost never 16 bytes, and a wrong KEK still fails at
   * the KWP integrity check of the KEY records. */
  if (outlen != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                   "%s unwrap gave %" G_GSIZE_FORMAT " bytes, expected a %d-byte KEK "
                   "(wrong private key or corrupted blob)", wrap_alg_name (alg),
                   (gsize) outlen, CUSTOS_AES_KEY_LEN);
      return NULL;
    }
  return custos_secret_new_copy (custos_secret_peek (out), outlen);
}

/* ECDH-ES key wrap */

typedef struct
{
  CustosWrapAlg  alg;
  int            nid;
  const char    *group;
  gsize          point_len; /* uncompressed: 0x04 || X || Y */
  gsize          z_len;
} EcdhCurve;

static const EcdhCurve ecdh_curves[] = {
  { CUSTOS_WRAP_ECDH_ES_P256, NID_X9_62_prime256v1, "P-256", 65, 32 },
  { CUSTOS_WRAP_ECDH_ES_P384, NID_secp384r1, "P-384", 97, 48 },
};

static const EcdhCurve *
ecdh_curve_for_alg (CustosWrapAlg alg)
{
  for (guint i = 0; i < G_N_ELEMENTS (ecdh_curves); i++)
    if (ecdh_curves[i].alg == alg)
      return &ecdh_curves[i];
  return NULL;
}

/* The curve of an EC key as a NID, NID_undef for anything else. OpenSSL
 * reports "prime256v1" for P-256, so both naming schemes are tried. */
static int
ec_key_curve_nid (EVP_PKEY *pkey,
                  char     *name,
                  gsize     name_size)
{
  size_t len = 0;
  int nid;

  if (!EVP_PKEY_is_a (pkey, "EC") ||
      !EVP_PKEY_get_utf8_string_param (pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, name_size, &len))
    {
      const char *type = EVP_PKEY_get0_type_name (pkey);

      g_strlcpy (name, type != NULL ? type : "unknown", name_size);
      ERR_clear_error ();
      return NID_undef;
    }
  nid = OBJ_sn2nid (name);
  if (nid == NID_undef)
    nid = EC_curve_nist2nid (name);
  return nid;
}

static gboolean
check_ec_key (EVP_PKEY         *pkey,
              const EcdhCurve  *curve,
              GError          **error)
{
  char name[64];

  if (ec_key_curve_nid (pkey, name, sizeof name) == curve->nid)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               "%s needs an EC %s key, found %s%s", wrap_alg_name (curve->alg), curve->group,
               EVP_PKEY_is_a (pkey, "EC") ? "EC " : "", name);
  return FALSE;
}

static CustosSecret *
ecdh_derive (const EcdhCurve  *curve,
             EVP_PKEY         *private_key,
             EVP_PKEY         *peer,
             GError          **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_pkey (NULL, private_key, NULL);
  g_autoptr (CustosSecret) z = custos_secret_new (curve->z_len);
  size_t z_len = curve->z_len;

  /* set_peer also validates the peer's point against the curve. */
  if (ctx == NULL ||
      EVP_PKEY_derive_init (ctx) <= 0 ||
      EVP_PKEY_derive_set_peer (ctx, peer) <= 0 ||
      EVP_PKEY_derive (ctx, custos_secret_get_data (z), &z_len) <= 0 ||
      z_len != curve->z_len)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "%s: ECDH key agreement failed",
                         wrap_alg_name (curve->alg));
      return NULL;
    }
  return g_steal_pointer (&z);
}

static CustosSecret *
ecdh_kwk (const CustosSecret  *z,
          const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
          guint32              epoch,
          GError             **error)
{
  guint8 info[KEK_INFO_LEN];

  memcpy (info, KEK_INFO_LABEL, KEK_INFO_LABEL_LEN);
  write_be32 (info + KEK_INFO_LABEL_LEN, epoch);
  return custos_hkdf_sha256 (z, recipient_id, CUSTOS_RECIPIENT_ID_LEN, info, sizeof info,
                             CUSTOS_AES_KEY_LEN, error);
}

static EVP_PKEY *
ec_public_from_point (const EcdhCurve  *curve,
                      const guint8     *point,
                      GError          **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM params[3];

  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_PKEY_PARAM_GROUP_NAME,
                                                (char *) curve->group, 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PUB_KEY, (void *) point,
                                                 curve->point_len);
  params[2] = OSSL_PARAM_construct_end ();

  if (point[0] != 0x04 ||
      ctx == NULL ||
      EVP_PKEY_fromdata_init (ctx) <= 0 ||
      EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                         "%s: the ephemeral key in the wrapped KEK is not an uncompressed "
                         "%s point", wrap_alg_name (curve->alg), curve->group);
      return NULL;
    }
  return pkey;
}

static gboolean
check_ecdh_wrapped_len (const EcdhCurve  *curve,
                        gsize             wrapped_len,
                        GError          **error)
{
  if (wrapped_len == curve->point_len + CUSTOS_KWP_WRAPPED_LEN)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
               "%s: the wrapped KEK is %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT
               " (a %" G_GSIZE_FORMAT "-byte point and a %d-byte AES-KWP block)",
               wrap_alg_name (curve->alg), wrapped_len,
               curve->point_len + CUSTOS_KWP_WRAPPED_LEN, curve->point_len,
               CUSTOS_KWP_WRAPPED_LEN);
  return FALSE;
}

static GBytes *
ecdh_es_wrap (EVP_PKEY            *recipient_public,
              const EcdhCurve     *curve,
              const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
              guint32              epoch,
              const CustosSecret  *kek,
              GError             **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (CustosSecret) z = NULL;
  g_autoptr (CustosSecret) kwk = NULL;
  g_autoptr (GBytes) kwp = NULL;
  guint8 point[128];
  size_t point_len = 0;
  GByteArray *out;

  if (!check_ec_key (recipient_public, curve, error))
    return NULL;

  ephemeral = EVP_PKEY_Q_keygen (NULL, NULL, "EC", curve->group);
  if (ephemeral == NULL ||
      !EVP_PKEY_get_octet_string_param (ephemeral, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        point, sizeof point, &point_len) ||
      point_len != curve->point_len || point[0] != 0x04)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                         "%s: cannot make an ephemeral %s key", wrap_alg_name (curve->alg),
                         curve->group);
      return NULL;
    }

  if ((z = ecdh_derive (curve, ephemeral, recipient_public, error)) == NULL ||
      (kwk = ecdh_kwk (z, recipient_id, epoch, error)) == NULL ||
      (kwp = custos_kwp_wrap (kwk, kek, error)) == NULL)
    return NULL;
  g_assert (g_bytes_get_size (kwp) == CUSTOS_KWP_WRAPPED_LEN);

  out = g_byte_array_sized_new (point_len + CUSTOS_KWP_WRAPPED_LEN);
  g_byte_array_append (out, point, point_len);
  g_byte_array_append (out, g_bytes_get_data (kwp, NULL), CUSTOS_KWP_WRAPPED_LEN);
  return g_byte_array_free_to_bytes (out);
}

static CustosSecret *
ecdh_es_unwrap (EVP_PKEY         *recipient_private,
                const EcdhCurve  *curve,
                const guint8      recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                guint32           epoch,
                const guint8     *wrapped,
                gsize             wrapped_len,
                GError          **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (CustosSecret) z = NULL;

  if (!check_ec_key (recipient_private, curve, error) ||
      !check_ecdh_wrapped_len (curve, wrapped_len, error))
    return NULL;

  if ((ephemeral = ec_public_from_point (curve, wrapped, error)) == NULL ||
      (z = ecdh_derive (curve, recipient_private, ephemeral, error)) == NULL)
    return NULL;

  return custos_ecdh_es_unwrap_with_secret (curve->alg, z, recipient_id, epoch, wrapped,
                                            wrapped_len, error);
}

gsize
custos_ecdh_es_point_len (CustosWrapAlg alg)
{
  const EcdhCurve *curve = ecdh_curve_for_alg (alg);

  return curve != NULL ? curve->point_len : 0;
}

CustosSecret *
custos_ecdh_es_unwrap_with_secret (CustosWrapAlg        alg,
                                   const CustosSecret  *shared_secret,
                                   const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                   guint32              epoch,
                                   const guint8        *wrapped,
                                   gsize                wrapped_len,
                                   GError             **error)
{
  const EcdhCurve *curve = ecdh_curve_for_alg (alg);
  g_autoptr (CustosSecret) kwk = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (shared_secret != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL || wrapped_len == 0, NULL);

  if (curve == NULL)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   "%s (%d) is not an ECDH-ES algorithm", wrap_alg_name (alg), alg);
      return NULL;
    }
  if (!check_ecdh_wrapped_len (curve, wrapped_len, error))
    return NULL;
  if (custos_secret_get_len (shared_secret) != curve->z_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   "%s: the shared secret is %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
                   wrap_alg_name (alg), custos_secret_get_len (shared_secret), curve->z_len);
      return NULL;
    }

  if ((kwk = ecdh_kwk (shared_secret, recipient_id, epoch, error)) == NULL)
    return NULL;
  kek = custos_kwp_unwrap (kwk, wrapped + curve->point_len, CUSTOS_KWP_WRAPPED_LEN, &local_error);
  if (kek == NULL)
    {
      /* Say which step failed: a KWP failure here means the shared
       * secret, the recipient id or the epoch does not match. */
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s unwrap failed (wrong private key, recipient or epoch, "
                                  "or corrupted blob): ", wrap_alg_name (alg));
      return NULL;
    }
  if (custos_secret_get_len (kek) != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "%s: the unwrapped KEK is %" G_GSIZE_FORMAT " bytes, expected %d",
                   wrap_alg_name (alg), custos_secret_get_len (kek), CUSTOS_AES_KEY_LEN);
      return NULL;
    }
  return g_steal_pointer (&kek);
}

static gboolean
check_kek (const CustosSecret  *kek,
           CustosWrapAlg        alg,
           GError             **error)
{
  if (custos_secret_get_len (kek) == CUSTOS_AES_KEY_LEN)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               "%s wraps a %d-byte KEK, got %" G_GSIZE_FORMAT " bytes", wrap_alg_name (alg),
               CUSTOS_AES_KEY_LEN, custos_secret_get_len (kek));
  return FALSE;
}

GBytes *
custos_wrap_kek (EVP_PKEY            *recipient_public,
                 CustosWrapAlg        alg,
                 const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                 guint32              epoch,
                 const CustosSecret  *kek,
                 GError             **error)
{
  const EcdhCurve *curve;

  g_return_val_if_fail (recipient_public != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (kek != NULL, NULL);

  if (!check_kek (kek, alg, error))
    return NULL;

  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return rsa_wrap (recipient_public, alg, kek, error);

    case CUSTOS_WRAP_ECDH_ES_P256:
    case CUSTOS_WRAP_ECDH_ES_P384:
      curve = ecdh_curve_for_alg (alg);
      return ecdh_es_wrap (recipient_public, curve, recipient_id, epoch, kek, error);

    default:
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   "Unknown key wrap algorithm %d", alg);
      return NULL;
    }
}

CustosSecret *
custos_unwrap_kek (EVP_PKEY      *recipient_private,
                   CustosWrapAlg  alg,
                   const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                   guint32        epoch,
                   const guint8  *wrapped,
                   gsize          wrapped_len,
                   GError       **error)
{
  const EcdhCurve *curve;

  g_return_val_if_fail (recipient_private != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL || wrapped_len == 0, NULL);

  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return rsa_unwrap (recipient_private, alg, wrapped, wrapped_len, error);

    case CUSTOS_WRAP_ECDH_ES_P256:
    case CUSTOS_WRAP_ECDH_ES_P384:
      curve = ecdh_curve_for_alg (alg);
      return ecdh_es_unwrap (recipient_private, curve, recipient_id, epoch, wrapped,
                             wrapped_len, error);

    default:
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   "Unknown key wrap algorithm %d", alg);
      return NULL;
    }
}

/* RSAES-OAEP decoding (RFC 8017 §7.1.2) with SHA-256 and MGF1-SHA-256.
 * OpenSSL 3 has no public, non-deprecated way to decode a raw RSA result,
 * so it is done here. The checks avoid data-dependent branches until the
 * single pass/fail decision, so the error does not say which check failed
 * (Manger's attack). */

/* All ones if x == 0, else 0. */
static guint
ct_is_zero (guint x)
{
  return 0u - ((~x & (x - 1)) >> (sizeof (guint) * 8 - 1));
}

static guint
ct_eq (guint a,
       guint b)
{
  return ct_is_zero (a ^ b);
}

static guint
ct_select (guint mask,
           guint a,
           guint b)
{
  return (mask & a) | (~mask & b);
}

/* dst ^= MGF1-SHA256 (seed, dst_len) */
static gboolean
mgf1_sha256_xor (guint8       *dst,
                 gsize         dst_len,
                 const guint8 *seed,
                 gsize         seed_len)
{
  g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
  const EVP_MD *sha256 = algorithms ()->sha256;
  guint8 digest[CUSTOS_SHA256_LEN];
  guint8 counter[4];
  gboolean ok = md != NULL && sha256 != NULL;

  for (guint32 i = 0; ok && (gsize) i * CUSTOS_SHA256_LEN < dst_len; i++)
    {
      gsize offset = (gsize) i * CUSTOS_SHA256_LEN;
      gsize n = MIN (CUSTOS_SHA256_LEN, dst_len - offset);

      write_be32 (counter, i);
      ok = EVP_DigestInit_ex2 (md, sha256, NULL) &&
           EVP_DigestUpdate (md, seed, seed_len) &&
           EVP_DigestUpdate (md, counter, sizeof counter) &&
           EVP_DigestFinal_ex (md, digest, NULL);
      for (gsize j = 0; ok && j < n; j++)
        dst[offset + j] ^= digest[j];
    }
  custos_memzero (digest, sizeof digest);
  return ok;
}

CustosSecret *
custos_rsa_oaep_sha256_unpad (const guint8  *block,
                              gsize          block_len,
                              gsize          modulus_len,
                              GError       **error)
{
  g_autoptr (CustosSecret) em = NULL;
  guint8 lhash[CUSTOS_SHA256_LEN];
  guint8 *seed, *db;
  gsize db_len;
  guint good, found = 0, msg_index = 0;

  g_return_val_if_fail (block != NULL || block_len == 0, NULL);

  if (modulus_len < 2 * OAEP_HASH_LEN + 2 || modulus_len > 2048 ||
      block_len == 0 || block_len > modulus_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "RSA-OAEP-SHA256: a %" G_GSIZE_FORMAT "-byte block cannot be decoded for "
                   "a %" G_GSIZE_FORMAT "-byte modulus", block_len, modulus_len);
      return NULL;
    }

  /* A token may strip the leading zero bytes of the integer; EM is the
   * full k-byte encoding. */
  em = custos_secret_new (modulus_len);
  memcpy (custos_secret_get_data (em) + modulus_len - block_len, block, block_len);
  seed = custos_secret_get_data (em) + 1;
  db = seed + OAEP_HASH_LEN;
  db_len = modulus_len - OAEP_HASH_LEN - 1;

  if (!mgf1_sha256_xor (seed, OAEP_HASH_LEN, db, db_len) ||
      !mgf1_sha256_xor (db, db_len, seed, OAEP_HASH_LEN))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "RSA-OAEP-SHA256: MGF1 failed");
      return NULL;
    }

  /* DB = lHash' || PS (zeros) || 0x01 || M, and Y (the first byte) is 0. */
  custos_sha256 (NULL, 0, lhash);
  good = ct_is_zero (custos_secret_peek (em)[0]);
  good &= ct_is_zero ((guint) CRYPTO_memcmp (db, lhash, OAEP_HASH_LEN));
  for (gsize i = OAEP_HASH_LEN; i < db_len; i++)
    {
      guint is_zero = ct_is_zero (db[i]);
      guint is_one = ct_eq (db[i], 1);

      msg_index = ct_select (~found & is_one, (guint) i + 1, msg_index);
      good &= found | is_zero | is_one;
      found |= is_one;
    }
  good &= found;

  if (!good)
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                           "RSA-OAEP-SHA256 decoding error (wrong private key or corrupted blob)");
      return NULL;
    }
  return custos_secret_new_copy (db + msg_index, db_len - msg_index);
}

/* Signatures */

static gboolean
sig_alg_for_key (EVP_PKEY      *pkey,
                 CustosSigAlg  *alg,
                 GError       **error)
{
  char name[64];

  if (EVP_PKEY_is_a (pkey, "RSA") || EVP_PKEY_is_a (pkey, "RSA-PSS"))
    {
      *alg = CUSTOS_SIG_RSA_PSS_SHA256;
      return TRUE;
    }
  if (ec_key_curve_nid (pkey, name, sizeof name) == NID_X9_62_prime256v1)
    {
      *alg = CUSTOS_SIG_ECDSA_P256_SHA256;
      return TRUE;
    }
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
               "Signing with a %s%s key is not supported (need EC P-256 or RSA)",
               EVP_PKEY_is_a (pkey, "EC") ? "EC " : "", name);
  return FALSE;
}

static const char *
sig_alg_name (CustosSigAlg alg)
{
  switch (alg)
    {
    case CUSTOS_SIG_ECDSA_P256_SHA256:
      return "ECDSA-P256-SHA256";
    case CUSTOS_SIG_RSA_PSS_SHA256:
      return "RSA-PSS-SHA256";
    default:
      return "unknown signature algorithm";
    }
}

/* A digest context set up for alg, for signing or verifying. */
static EVP_MD_CTX *
sig_ctx_new (EVP_PKEY      *pkey,
             CustosSigAlg   alg,
             gboolean       sign,
             GError       **error)
{
  g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
  int salt_len = CUSTOS_SHA256_LEN;
  OSSL_PARAM pss[4];
  const OSSL_PARAM *params = NULL;
  int ok;

  if (alg == CUSTOS_SIG_RSA_PSS_SHA256)
    {
      pss[0] = OSSL_PARAM_construct_utf8_string (OSSL_SIGNATURE_PARAM_PAD_MODE,
                                                 (char *) OSSL_PKEY_RSA_PAD_MODE_PSS, 0);
      pss[1] = OSSL_PARAM_construct_utf8_string (OSSL_SIGNATURE_PARAM_MGF1_DIGEST,
                                                 (char *) "SHA256", 0);
      pss[2] = OSSL_PARAM_construct_int (OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &salt_len);
      pss[3] = OSSL_PARAM_construct_end ();
      params = pss;
    }

  if (md == NULL)
    ok = 0;
  else if (sign)
    ok = EVP_DigestSignInit_ex (md, NULL, "SHA256", NULL, NULL, pkey, params);
  else
    ok = EVP_DigestVerifyInit_ex (md, NULL, "SHA256", NULL, NULL, pkey, params);
  if (ok <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_KEY, "Cannot set up %s with this %s key",
                         sig_alg_name (alg), EVP_PKEY_get0_type_name (pkey));
      return NULL;
    }
  return g_steal_pointer (&md);
}

GBytes *
custos_sign (EVP_PKEY      *private_key,
             const guint8  *data,
             gsize          len,
             CustosSigAlg  *alg_out,
             GError       **error)
{
  g_autoptr (EVP_MD_CTX) md = NULL;
  g_autofree guint8 *sig = NULL;
  CustosSigAlg alg;
  size_t sig_len = 0;

  g_return_val_if_fail (private_key != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (!sig_alg_for_key (private_key, &alg, error) ||
      (md = sig_ctx_new (private_key, alg, TRUE, error)) == NULL)
    return NULL;

  if (EVP_DigestSign (md, NULL, &sig_len, data, len) <= 0)
    goto fail;
  sig = g_malloc (sig_len);
  /* ECDSA's DER signature is often shorter than the maximum. */
  if (EVP_DigestSign (md, sig, &sig_len, data, len) <= 0)
    goto fail;

  if (alg_out != NULL)
    *alg_out = alg;
  return g_bytes_new (sig, sig_len);

fail:
  custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, "%s signing failed", sig_alg_name (alg));
  return NULL;
}

static gboolean
check_sig_key (EVP_PKEY      *pkey,
               CustosSigAlg   alg,
               GError       **error)
{
  g_autoptr (GError) local_error = NULL;
  CustosSigAlg key_alg;

  if (alg != CUSTOS_SIG_ECDSA_P256_SHA256 && alg != CUSTOS_SIG_RSA_PSS_SHA256)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   "Unknown signature algorithm %d", alg);
      return FALSE;
    }
  if (sig_alg_for_key (pkey, &key_alg, &local_error) && key_alg == alg)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               "A %s signature needs %s key, found %s", sig_alg_name (alg),
               alg == CUSTOS_SIG_RSA_PSS_SHA256 ? "an RSA" : "an EC P-256",
               EVP_PKEY_get0_type_name (pkey));
  return FALSE;
}

gboolean
custos_verify_signature (EVP_PKEY      *public_key,
                         CustosSigAlg   alg,
                         const guint8  *data,
                         gsize          len,
                         const guint8  *sig,
                         gsize          sig_len,
                         GError       **error)
{
  g_autoptr (EVP_MD_CTX) md = NULL;

  g_return_val_if_fail (public_key != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (sig != NULL || sig_len == 0, FALSE);

  if (!check_sig_key (public_key, alg, error) ||
      (md = sig_ctx_new (public_key, alg, FALSE, error)) == NULL)
    return FALSE;

  /* 0 is a mismatch, < 0 a malformed signature: both mean "not signed
   * by this key" to the caller. */
  if (EVP_DigestVerify (md, sig, sig_len, data, len) != 1)
    {
      ERR_clear_error ();
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE,
                   "The %s signature does not verify", sig_alg_name (alg));
      return FALSE;
    }
  return TRUE;
}

/* Private keys from files */

typedef struct
{
  const char *passphrase;
  gboolean    asked;
} PassphraseRequest;

/* Both callbacks only ever return the caller's passphrase: with none,
 * they fail instead of letting OpenSSL prompt on the terminal. */
static gboolean
passphrase_copy (PassphraseRequest *req,
                 char              *buf,
                 gsize              size,
                 gsize             *len)
{
  req->asked = TRUE;
  if (req->passphrase == NULL || strlen (req->passphrase) > size)
    return FALSE;
  *len = strlen (req->passphrase);
  memcpy (buf, req->passphrase, *len);
  return TRUE;
}

static int
pem_passphrase_cb (char *buf,
                   int   size,
                   int   rwflag,
                   void *user_data)
{
  gsize len = 0;

  if (size < 0 || !passphrase_copy (user_data, buf, size, &len))
    return 0;
  return (int) len;
}

static int
decoder_passphrase_cb (char             *buf,
                       size_t            size,
                       size_t           *len,
                       const OSSL_PARAM  params[],
                       void             *user_data)
{
  gsize copied = 0;

  if (!passphrase_copy (user_data, buf, size, &copied))
    return 0;
  *len = copied;
  return 1;
}

static void
set_key_load_error (GError                  **error,
                    const PassphraseRequest  *req,
                    const char               *path,
                    const char               *what)
{
  if (req->asked && req->passphrase == NULL)
    {
      ERR_clear_error ();
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                   "%s is encrypted and needs a passphrase", path);
    }
  else if (req->asked)
    {
      /* A wrong passphrase and a corrupted ciphertext look the same; the
       * passphrase is by far the more likely cause. */
      ERR_clear_error ();
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                   "wrong passphrase for %s", path);
    }
  else
    custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT, "No %s private key found in %s",
                       what, path);
}

static EVP_PKEY *
load_pem_key (const guint8  *data,
              gsize          len,
              const char    *path,
              const char    *passphrase,
              GError       **error)
{
  g_autoptr (BIO) bio = BIO_new_mem_buf (data, (int) len);
  PassphraseRequest req = { passphrase, FALSE };
  EVP_PKEY *pkey;

  /* Unlike a bare OSSL_DECODER, this skips other PEM blocks, so a file
   * with the certificate before the key works. */
  pkey = PEM_read_bio_PrivateKey_ex (bio, NULL, pem_passphrase_cb, &req, NULL, NULL);
  if (pkey == NULL)
    set_key_load_error (error, &req, path, "PEM");
  ERR_clear_error ();
  return pkey;
}

static EVP_PKEY *
load_der_key (const guint8  *data,
              gsize          len,
              const char    *path,
              const char    *passphrase,
              GError       **error)
{
  g_autoptr (OSSL_DECODER_CTX) dctx = NULL;
  PassphraseRequest req = { passphrase, FALSE };
  EVP_PKEY *pkey = NULL;
  size_t remaining = len;

  dctx = OSSL_DECODER_CTX_new_for_pkey (&pkey, "DER", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
  if (dctx == NULL ||
      !OSSL_DECODER_CTX_set_passphrase_cb (dctx, decoder_passphrase_cb, &req) ||
      !OSSL_DECODER_from_data (dctx, &data, &remaining) ||
      pkey == NULL)
    {
      EVP_PKEY_free (pkey);
      set_key_load_error (error, &req, path, "DER or PKCS#12");
      return NULL;
    }
  ERR_clear_error ();
  return pkey;
}

static gboolean
pkcs12_check_mac (PKCS12      *p12,
                  const char  *path,
                  const char  *passphrase,
                  GError     **error)
{
  gboolean ok;

  if (!PKCS12_mac_present (p12))
    return TRUE;
  /* No passphrase also accepts files exported with an empty one, which
   * the PKCS#12 world encodes in two different ways. */
  if (passphrase == NULL || *passphrase == '\0')
    ok = PKCS12_verify_mac (p12, NULL, 0) || PKCS12_verify_mac (p12, "", 0);
  else
    ok = PKCS12_verify_mac (p12, passphrase, -1);
  ERR_clear_error ();
  if (ok)
    return TRUE;

  if (passphrase == NULL)
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                 "%s is encrypted and needs a passphrase", path);
  else
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                 "wrong passphrase for %s", path);
  return FALSE;
}

static EVP_PKEY *
load_pkcs12_key (PKCS12      *p12,
                 const char  *path,
                 const char  *passphrase,
                 GError     **error)
{
  g_autoptr (X509) cert = NULL;
  EVP_PKEY *pkey = NULL;

  if (!pkcs12_check_mac (p12, path, passphrase, error))
    return NULL;
  if (!PKCS12_parse (p12, passphrase, &pkey, &cert, NULL))
    {
      /* Files from `openssl pkcs12 -legacy` and old tools use RC2 or
       * 3DES, which OpenSSL 3 only has in its legacy provider. */
      gboolean unsupported = ERR_GET_REASON (ERR_peek_last_error ()) == ERR_R_UNSUPPORTED;

      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT, "Cannot read the PKCS#12 file %s%s",
                         path, unsupported ? "; it may use a legacy cipher (RC2, 3DES): "
                                             "export it again with AES" : "");
      return NULL;
    }
  if (pkey == NULL)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "The PKCS#12 file %s has no private key", path);
      return NULL;
    }
  ERR_clear_error ();
  return pkey;
}

static gboolean
looks_like_pem (const guint8 *data,
                gsize         len)
{
  return g_strstr_len ((const char *) data, len, "-----BEGIN ") != NULL;
}

static EVP_PKEY *
load_key_from_data (const guint8  *data,
                    gsize          len,
                    const char    *path,
                    const char    *passphrase,
                    GError       **error)
{
  g_autoptr (PKCS12) p12 = NULL;
  const guint8 *p = data;

  if (len > G_MAXINT)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   "%s is too large to be a key file", path);
      return NULL;
    }
  if (looks_like_pem (data, len))
    return load_pem_key (data, len, path, passphrase, error);

  p12 = d2i_PKCS12 (NULL, &p, (long) len);
  ERR_clear_error ();
  if (p12 != NULL)
    return load_pkcs12_key (p12, path, passphrase, error);

  return load_der_key (data, len, path, passphrase, error);
}

EVP_PKEY *
custos_private_key_load (const char  *path,
                         const char  *passphrase,
                         GError     **error)
{
  g_autoptr (GFile) file = NULL;
  g_autoptr (CustosSecret) contents = NULL;
  char *data = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);

  file = g_file_new_for_path (path);
  if (!g_file_load_contents (file, NULL, &data, &len, NULL, error))
    return NULL;
  /* The file holds key material: keep it only in a wiped, locked buffer. */
  contents = custos_secret_new_copy ((const guint8 *) data, len);
  custos_memzero (data, len);
  g_free (data);

  return load_key_from_data (custos_secret_peek (contents), len, path, passphrase, error);
}
