/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seal signatures: ECDSA P-256 and RSA-PSS with SHA-256. */
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
  if (custos_crypto_ec_curve_nid (pkey, name, sizeof name) == NID_X9_62_prime256v1)
    {
      *alg = CUSTOS_SIG_ECDSA_P256_SHA256;
      return TRUE;
    }
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
               _ ("Signing with a %s%s key is not supported (need EC P-256 or RSA)"),
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
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                                _ ("Cannot set up %s with this %s key"), sig_alg_name (alg),
                                EVP_PKEY_get0_type_name (pkey));
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
  custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("%s signing failed"),
                            sig_alg_name (alg));
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
                   _ ("Unknown signature algorithm %d"), alg);
      return FALSE;
    }
  if (sig_alg_for_key (pkey, &key_alg, &local_error) && key_alg == alg)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               _ ("A %s signature needs %s key, found %s"), sig_alg_name (alg),
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
                   _ ("The %s signature does not verify"), sig_alg_name (alg));
      return FALSE;
    }
  return TRUE;
}

