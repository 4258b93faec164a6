/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <string.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-pkcs11-keygen.h"

#define MAX_SIGNATURE 512
#define P256_FIELD    32

/* DER of the namedCurve OID of P-256, for CKA_EC_PARAMS. */
static const guint8 oid_p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
static const guint8 rsa_exponent[] = { 0x01, 0x00, 0x01 };

/* The DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
static const guint8 sha256_digest_info[] = {
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
  0x05, 0x00, 0x04, 0x20
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ECDSA_SIG, ECDSA_SIG_free)

/* Key generation */

typedef struct
{
  CK_ATTRIBUTE attrs[16];
  CK_ULONG     n;
} Template;

static void
add (Template          *t,
     CK_ATTRIBUTE_TYPE  type,
     const void        *value,
     CK_ULONG           len)
{
  g_assert (t->n < G_N_ELEMENTS (t->attrs));
  t->attrs[t->n++] = (CK_ATTRIBUTE) { type, (void *) value, len };
}

static const CK_BBOOL yes = CK_TRUE;
static const CK_BBOOL no = CK_FALSE;

/* with_wrap: CKA_WRAP/CKA_UNWRAP too; some tokens refuse them on keys
 * they only decrypt or derive with. */
static void
fill_templates (CustosKeyType        type,
                const CK_ULONG      *bits,
                const CK_KEY_TYPE   *key_type,
                GBytes              *id,
                const char          *label,
                gboolean             with_wrap,
                Template            *pub,
                Template            *priv)
{
  static const CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  static const CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  gboolean rsa = custos_key_type_is_rsa (type);

  add (pub, CKA_CLASS, &public_class, sizeof public_class);
  add (pub, CKA_KEY_TYPE, key_type, sizeof *key_type);
  add (pub, CKA_TOKEN, &yes, sizeof yes);
  add (pub, CKA_PRIVATE, &no, sizeof no);
  add (pub, CKA_VERIFY, &yes, sizeof yes);
  add (pub, CKA_ID, g_bytes_get_data (id, NULL), g_bytes_get_size (id));
  add (pub, CKA_LABEL, label, strlen (label));
  if (rsa)
    {
      add (pub, CKA_MODULUS_BITS, bits, sizeof *bits);
      add (pub, CKA_PUBLIC_EXPONENT, rsa_exponent, sizeof rsa_exponent);
      add (pub, CKA_ENCRYPT, &yes, sizeof yes);
      if (with_wrap)
        add (pub, CKA_WRAP, &yes, sizeof yes);
    }
  else
    add (pub, CKA_EC_PARAMS, oid_p256, sizeof oid_p256);

  add (priv, CKA_CLASS, &private_class, sizeof private_class);
  add (priv, CKA_KEY_TYPE, key_type, sizeof *key_type);
  add (priv, CKA_TOKEN, &yes, sizeof yes);
  add (priv, CKA_PRIVATE, &yes, sizeof yes);
  add (priv, CKA_SENSITIVE, &yes, sizeof yes);
  add (priv, CKA_EXTRACTABLE, &no, sizeof no);
  add (priv, CKA_SIGN, &yes, sizeof yes);
  add (priv, rsa ? CKA_DECRYPT : CKA_DERIVE, &yes, sizeof yes);
  add (priv, CKA_ID, g_bytes_get_data (id, NULL), g_bytes_get_size (id));
  add (priv, CKA_LABEL, label, strlen (label));
  if (with_wrap)
    add (priv, CKA_UNWRAP, &yes, sizeof yes);
}

static gboolean
template_refused (CK_RV rv)
{
  return rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
         rv == CKR_TEMPLATE_INCONSISTENT;
}

static CK_RV
generate (CK_FUNCTION_LIST     *funcs,
          CK_SESSION_HANDLE     session,
          CustosKeyType         type,
          GBytes               *id,
          const char           *label,
          gboolean              with_wrap,
          CustosPkcs11KeyPair  *pair)
{
  gboolean rsa = custos_key_type_is_rsa (type);
  CK_MECHANISM mechanism = { rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ULONG bits = custos_key_type_get_bits (type);
  CK_KEY_TYPE key_type = rsa ? CKK_RSA : CKK_EC;
  Template pub = { .n = 0 }, priv = { .n = 0 };

  fill_templates (type, &bits, &key_type, id, label, with_wrap, &pub, &priv);
  return funcs->C_GenerateKeyPair (session, &mechanism, pub.attrs, pub.n, priv.attrs, priv.n,
                                   &pair->public_key, &pair->private_key);
}

gboolean
custos_pkcs11_generate_key_pair (CK_FUNCTION_LIST     *funcs,
                                 CK_SESSION_HANDLE     session,
                                 CustosKeyType         type,
                                 GBytes               *id,
                                 const char           *label,
                                 CustosPkcs11KeyPair  *pair,
                                 GError              **error)
{
  CK_RV rv;

  pair->public_key = pair->private_key = CK_INVALID_HANDLE;
  rv = generate (funcs, session, type, id, label, TRUE, pair);
  if (template_refused (rv))
    {
      g_debug ("The token refused wrap/unwrap on the new keys (%s); generating without",
               p11_kit_strerror (rv));
      rv = generate (funcs, session, type, id, label, FALSE, pair);
    }
  if (rv != CKR_OK)
    {
      /* Cards provisioned by their issuer (CAC, most PIV) make none. */
      if (rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_MECHANISM_INVALID)
        custos_pkcs11_set_error (error, rv,
                                 _ ("cannot generate a %s key pair on the token (this card or "
                                    "its driver makes no key pairs; its keys come from its "
                                    "issuer)"),
                                 custos_key_type_to_string (type));
      else
        custos_pkcs11_set_error (error, rv, _ ("cannot generate a %s key pair on the token"),
                                 custos_key_type_to_string (type));
      return FALSE;
    }
  return TRUE;
}

void
custos_pkcs11_destroy_key_pair (CK_FUNCTION_LIST     *funcs,
                                CK_SESSION_HANDLE     session,
                                CustosPkcs11KeyPair  *pair)
{
  CK_OBJECT_HANDLE *handles[] = { &pair->private_key, &pair->public_key };

  for (guint i = 0; i < G_N_ELEMENTS (handles); i++)
    {
      CK_RV rv;

      if (*handles[i] == CK_INVALID_HANDLE)
        continue;
      rv = funcs->C_DestroyObject (session, *handles[i]);
      if (rv != CKR_OK)
        g_warning ("Cannot remove a half-made key from the token: %s", p11_kit_strerror (rv));
      *handles[i] = CK_INVALID_HANDLE;
    }
}

/* Signing */

static CK_RV
sign_once (CustosPkcs11Signer  *signer,
           CK_MECHANISM_TYPE    mechanism_type,
           const guint8        *data,
           gsize                len,
           GBytes             **out)
{
  CK_MECHANISM mechanism = { mechanism_type, NULL, 0 };
  guint8 sig[MAX_SIGNATURE];
  CK_ULONG sig_len = sizeof sig;
  CK_RV rv;

  rv = signer->funcs->C_SignInit (signer->session, &mechanism, signer->key);
  if (rv != CKR_OK)
    return rv;
  rv = signer->funcs->C_Sign (signer->session, (CK_BYTE_PTR) data, len, sig, &sig_len);
  if (rv != CKR_OK)
    return rv;
  *out = g_bytes_new (sig, sig_len);
  return CKR_OK;
}

static gboolean
mechanism_refused (CK_RV rv)
{
  return rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID ||
         rv == CKR_FUNCTION_NOT_SUPPORTED;
}

static GBytes *
sign_rsa (CustosPkcs11Signer  *signer,
          const guint8        *tbs,
          gsize                tbs_len,
          GError             **error)
{
  guint8 digest_info[sizeof sha256_digest_info + CUSTOS_SHA256_LEN];
  GBytes *sig = NULL;
  CK_RV rv;

  rv = sign_once (signer, CKM_SHA256_RSA_PKCS, tbs, tbs_len, &sig);
  if (mechanism_refused (rv))
    {
      /* Cards that hash nothing themselves sign a DigestInfo raw. */
      g_debug ("The token refuses CKM_SHA256_RSA_PKCS (%s); signing a DigestInfo",
               p11_kit_strerror (rv));
      memcpy (digest_info, sha256_digest_info, sizeof sha256_digest_info);
      custos_sha256 (tbs, tbs_len, digest_info + sizeof sha256_digest_info);
      rv = sign_once (signer, CKM_RSA_PKCS, digest_info, sizeof digest_info, &sig);
    }
  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot sign with the new key on the token"));
      return NULL;
    }
  return sig;
}

/* PKCS#11 gives r || s, X.509 wants Ecdsa-Sig-Value ::= SEQUENCE { r, s }. */
static GBytes *
ecdsa_raw_to_der (GBytes  *raw,
                  GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (raw, &len);
  g_autoptr (ECDSA_SIG) sig = ECDSA_SIG_new ();
  BIGNUM *r, *s;
  guint8 *der = NULL;
  GBytes *ret;
  int der_len;

  if (sig == NULL || len != 2 * P256_FIELD)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE,
                   _ ("the token's ECDSA signature is %zu bytes, not r || s "
                      "(%d)"),
                   len, 2 * P256_FIELD);
      return NULL;
    }
  r = BN_bin2bn (data, P256_FIELD, NULL);
  s = BN_bin2bn (data + P256_FIELD, P256_FIELD, NULL);
  if (r == NULL || s == NULL || !ECDSA_SIG_set0 (sig, r, s))
    {
      BN_free (r);
      BN_free (s);
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_FAILED,
                           _ ("cannot encode the ECDSA signature"));
      return NULL;
    }
  der_len = i2d_ECDSA_SIG (sig, &der);
  if (der_len <= 0)
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_FAILED,
                           _ ("cannot encode the ECDSA signature"));
      return NULL;
    }
  ret = g_bytes_new (der, der_len);
  OPENSSL_free (der);
  return ret;
}

static GBytes *
sign_ecdsa (CustosPkcs11Signer  *signer,
            const guint8        *tbs,
            gsize                tbs_len,
            GError             **error)
{
  guint8 digest[CUSTOS_SHA256_LEN];
  g_autoptr (GBytes) raw = NULL;
  CK_RV rv;

  /* CKM_ECDSA signs a hash computed here; few tokens have
   * CKM_ECDSA_SHA256, and the TBS need not travel to the card. */
  custos_sha256 (tbs, tbs_len, digest);
  rv = sign_once (signer, CKM_ECDSA, digest, sizeof digest, &raw);
  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot sign with the new key on the token"));
      return NULL;
    }
  return ecdsa_raw_to_der (raw, error);
}

GBytes *
custos_pkcs11_sign_tbs (const guint8  *tbs,
                        gsize          tbs_len,
                        gpointer       user_data,
                        GError       **error)
{
  CustosPkcs11Signer *signer = user_data;

  if (custos_key_type_is_rsa (signer->key_type))
    return sign_rsa (signer, tbs, tbs_len, error);
  return sign_ecdsa (signer, tbs, tbs_len, error);
}
