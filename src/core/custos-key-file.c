/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private keys from files: PEM (plain or encrypted), DER, PKCS#12. */
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

#include "custos-crypto-private.h"
#include "custos-i18n-private.h"

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
                   _ ("%s is encrypted and needs a passphrase"), path);
    }
  else if (req->asked)
    {
      /* A wrong passphrase and a corrupted ciphertext look the same; the
       * passphrase is by far the more likely cause. */
      ERR_clear_error ();
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                   _ ("wrong passphrase for %s"), path);
    }
  else
    custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                              _ ("No %s private key found in %s"), what, path);
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
                 _ ("%s is encrypted and needs a passphrase"), path);
  else
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                 _ ("wrong passphrase for %s"), path);
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

      if (unsupported)
        custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                  _ ("Cannot read the PKCS#12 file %s; it may use a legacy "
                                     "cipher (RC2, 3DES): export it again with AES"),
                                  path);
      else
        custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                  _ ("Cannot read the PKCS#12 file %s"), path);
      return NULL;
    }
  if (pkey == NULL)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("The PKCS#12 file %s has no private key"), path);
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
                   _ ("%s is too large to be a key file"), path);
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

