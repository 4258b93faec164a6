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
#include "custos-i18n-private.h"


G_DEFINE_QUARK (custos-crypto-error-quark, custos_crypto_error)

/* Algorithms are fetched from the providers once per process: fetching is
 * a locked lookup that would otherwise run for every packet and key. They
 * are never freed; they live as long as the library. */
const CustosAlgorithms *
custos_crypto_algorithms (void)
{
  static CustosAlgorithms algs;
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

gboolean
custos_crypto_check_available (const void  *alg,
                 const char  *name,
                 GError     **error)
{
  if (alg != NULL)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
               _ ("%s is not available from the loaded OpenSSL providers"), name);
  return FALSE;
}



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
      /* TRANSLATORS: an error message, then OpenSSL's reason for it (in English). */
      g_set_error (error, CUSTOS_CRYPTO_ERROR, code, _ ("%s (%s)"), message, reason);
    }
  else
    g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, code, message);

  ERR_clear_error ();
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
          custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot get random bytes"));
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
  const CustosAlgorithms *algs = custos_crypto_algorithms ();
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
  const CustosAlgorithms *algs = custos_crypto_algorithms ();
  g_autoptr (EVP_CIPHER_CTX) ctx = NULL;
  CustosAead *self;

  g_return_val_if_fail (key != NULL, NULL);

  if (!custos_crypto_check_available (algs->gcm, "AES-128-GCM", error))
    return NULL;
  if (custos_secret_get_len (key) != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   _ ("AES-128-GCM needs a %d-byte key, got %zu bytes"),
                   CUSTOS_AES_KEY_LEN, custos_secret_get_len (key));
      return NULL;
    }

  /* The key schedule and GHASH tables are computed here, once; the
   * context keeps its own copy of the key. */
  ctx = EVP_CIPHER_CTX_new ();
  if (ctx == NULL ||
      !EVP_EncryptInit_ex2 (ctx, algs->gcm, custos_secret_peek (key), NULL, NULL))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot set up AES-128-GCM"));
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("AES-128-GCM encryption failed"));
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("AES-128-GCM decryption failed"));
      return FALSE;
    }

  if (EVP_DecryptFinal_ex (self->ctx, final, &outl) <= 0)
    {
      /* Never hand out plaintext that did not authenticate. */
      custos_memzero (out, len);
      ERR_clear_error ();
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                           _ ("AES-128-GCM authentication failed: the tag does not match"));
      return FALSE;
    }
  return TRUE;
}

/* AES key wrap with padding, RFC 5649 */

static const EVP_CIPHER *
kwp_cipher (const CustosSecret  *kek,
            GError             **error)
{
  const CustosAlgorithms *algs = custos_crypto_algorithms ();
  gsize len = custos_secret_get_len (kek);
  const EVP_CIPHER *cipher;

  if (len != 16 && len != 24 && len != 32)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   _ ("AES-KWP needs a 16, 24 or 32-byte KEK, got %zu bytes"), len);
      return NULL;
    }
  cipher = algs->kwp[(len - 16) / 8];
  if (!custos_crypto_check_available (cipher, "AES-WRAP-PAD", error))
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot allocate a cipher context"));
      return NULL;
    }
  /* OpenSSL 1.x refused wrap modes without this flag; the provider
   * ciphers of 3.0 no longer check it. Harmless, and keeps older or
   * engine-backed code paths working. */
  EVP_CIPHER_CTX_set_flags (ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (!EVP_CipherInit_ex2 (ctx, cipher, custos_secret_peek (kek), NULL, enc, NULL))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot set up AES-KWP"));
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
                   _ ("AES-KWP cannot wrap a key of %zu bytes"), len);
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("AES-KWP wrap failed"));
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
                   _ ("AES-KWP: a wrapped key is a multiple of 8 bytes and at least 16, "
                      "found %zu bytes"),
                   wrapped_len);
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
                           _ ("AES-KWP integrity check failed (wrong KEK or corrupted key)"));
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
  const CustosAlgorithms *algs = custos_crypto_algorithms ();
  g_autoptr (EVP_KDF_CTX) kctx = NULL;
  g_autoptr (CustosSecret) out = NULL;
  OSSL_PARAM params[5];
  OSSL_PARAM *p = params;

  g_return_val_if_fail (ikm != NULL, NULL);
  g_return_val_if_fail (salt != NULL || salt_len == 0, NULL);
  g_return_val_if_fail (info != NULL || info_len == 0, NULL);

  if (!custos_crypto_check_available (algs->hkdf, "HKDF", error))
    return NULL;
  if (out_len == 0 || out_len > HKDF_SHA256_MAX)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("HKDF-SHA256 output length must be 1 to %d bytes, got %zu"),
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("HKDF-SHA256 failed"));
      return NULL;
    }
  return g_steal_pointer (&out);
}

