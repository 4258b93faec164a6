/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <string.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-pkcs11-unwrap.h"

/* Errors of the operation itself: bad ciphertext is an unwrap failure,
 * the rest is what the token said (the session turns removal and
 * logout codes into CUSTOS_KEY_ERROR ones). */
static void
set_operation_error (CustosPkcs11KeyOp  *op,
                     CK_RV               rv,
                     const char         *what,
                     GError            **error)
{
  g_autoptr (GError) local_error = NULL;

  /* Translators: the operation that failed (e.g. "RSA-OAEP unwrap"), and the token’s label. */
  custos_pkcs11_set_error (&local_error, rv, _ ("%s on the token “%s”"), what, op->token_label);
  if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
    g_set_error_literal (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                         local_error->message);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
}

/* One C_DecryptInit + C_Decrypt; the result is in wiped memory. */
static CK_RV
rsa_decrypt (CustosPkcs11KeyOp  *op,
             CK_MECHANISM       *mechanism,
             GBytes             *wrapped,
             gsize               modulus_len,
             CustosSecret      **out)
{
  g_autoptr (CustosSecret) buf = custos_secret_new (modulus_len);
  CK_ULONG len = modulus_len;
  gsize in_len;
  const guint8 *in = g_bytes_get_data (wrapped, &in_len);
  CK_RV rv;

  rv = op->funcs->C_DecryptInit (op->session, mechanism, op->key);
  if (rv != CKR_OK)
    return rv;
  g_atomic_int_inc (&op->stats->private_key_ops);
  rv = op->funcs->C_Decrypt (op->session, (CK_BYTE_PTR) in, in_len,
                             custos_secret_get_data (buf), &len);
  if (rv != CKR_OK)
    return rv;
  if (len > modulus_len)
    return CKR_BUFFER_TOO_SMALL;

  *out = custos_secret_new_copy (custos_secret_peek (buf), len);
  g_atomic_int_set (&op->stats->last_mechanism, (gint) mechanism->mechanism);
  return CKR_OK;
}

static gboolean
oaep_params_refused (CK_RV rv)
{
  /* SoftHSM 2.6.1 does OAEP with SHA-1 only and says CKR_ARGUMENTS_BAD. */
  return rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID ||
         rv == CKR_MECHANISM_INVALID;
}

static CustosSecret *
check_kek_len (CustosPkcs11KeyOp    *op,
               CustosSecret         *kek,
               GError              **error)
{
  if (custos_secret_get_len (kek) == CUSTOS_AES_KEY_LEN)
    return kek;
  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
               _ ("the token “%s” unwrapped %zu bytes, a KEK is %d"),
               op->token_label, custos_secret_get_len (kek), CUSTOS_AES_KEY_LEN);
  custos_secret_unref (kek);
  return NULL;
}

static CustosSecret *
rsa_raw_oaep (CustosPkcs11KeyOp    *op,
              GBytes               *wrapped,
              gsize                 modulus_len,
              GError              **error)
{
  CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
  g_autoptr (CustosSecret) block = NULL;
  g_autoptr (GError) local_error = NULL;
  CustosSecret *kek;
  CK_RV rv;

  rv = rsa_decrypt (op, &raw, wrapped, modulus_len, &block);
  if (rv != CKR_OK)
    {
      set_operation_error (op, rv, "raw RSA (CKM_RSA_X_509)", error);
      return NULL;
    }

  kek = custos_rsa_oaep_sha256_unpad (custos_secret_peek (block), custos_secret_get_len (block),
                                      modulus_len, &local_error);
  if (kek == NULL)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                   /* Translators: an error message, and the label of the token it happened on. */
                   _ ("%s (token “%s”)"), local_error->message, op->token_label);
      return NULL;
    }
  return check_kek_len (op, kek, error);
}

static CustosSecret *
rsa_oaep (CustosPkcs11KeyOp    *op,
          GBytes               *wrapped,
          gsize                 modulus_len,
          GError              **error)
{
  CK_RSA_PKCS_OAEP_PARAMS params = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
  CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &params, sizeof params };
  CustosSecret *kek = NULL;
  CK_RV rv;

  if (op->quirks->oaep_refused)
    return rsa_raw_oaep (op, wrapped, modulus_len, error);

  rv = rsa_decrypt (op, &oaep, wrapped, modulus_len, &kek);
  if (rv == CKR_OK)
    return check_kek_len (op, kek, error);
  if (!oaep_params_refused (rv))
    {
      set_operation_error (op, rv, "RSA-OAEP-SHA256 (CKM_RSA_PKCS_OAEP)", error);
      return NULL;
    }

  /* Remembered, so later unwraps go straight to the working path. */
  g_debug ("Token “%s” refuses OAEP with SHA-256 (%s); decoding OAEP in software",
           op->token_label, p11_kit_strerror (rv));
  op->quirks->oaep_refused = TRUE;
  return rsa_raw_oaep (op, wrapped, modulus_len, error);
}

static CustosSecret *
rsa_pkcs1 (CustosPkcs11KeyOp    *op,
           GBytes               *wrapped,
           gsize                 modulus_len,
           GError              **error)
{
  CK_MECHANISM pkcs1 = { CKM_RSA_PKCS, NULL, 0 };
  CustosSecret *kek = NULL;
  CK_RV rv;

  rv = rsa_decrypt (op, &pkcs1, wrapped, modulus_len, &kek);
  if (rv != CKR_OK)
    {
      set_operation_error (op, rv, "RSA PKCS#1 v1.5 (CKM_RSA_PKCS)", error);
      return NULL;
    }
  return check_kek_len (op, kek, error);
}

static CustosSecret *
unwrap_rsa (CustosPkcs11KeyOp       *op,
            CustosPkcs11CertInfo    *cert,
            const CustosWrappedKek  *wrapped,
            GError                 **error)
{
  EVP_PKEY *pkey = custos_certificate_get_public_key (cert->certificate);
  gsize modulus_len = (gsize) EVP_PKEY_get_size (pkey);

  /* Checked before the card is used: a card operation is slow and some
   * cards count failed ones. */
  if (cert->wrap_alg != CUSTOS_WRAP_RSA_OAEP_SHA256 ||
      g_bytes_get_size (wrapped->wrapped) != modulus_len)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                   _ ("the wrapped KEK (%zu bytes, %s) does not fit the %s key of "
                      "“%s” on the token “%s”"),
                   g_bytes_get_size (wrapped->wrapped), custos_wrap_alg_to_string (wrapped->alg),
                   cert->key_type, cert->label, op->token_label);
      return NULL;
    }

  if (wrapped->alg == CUSTOS_WRAP_RSA_PKCS1_V15)
    return rsa_pkcs1 (op, wrapped->wrapped, modulus_len, error);
  return rsa_oaep (op, wrapped->wrapped, modulus_len, error);
}

/* The DER OCTET STRING around a point (CKA_EC_POINT style); both point
 * sizes (65, 97) fit the short length form. */
static GBytes *
der_octet_string (const guint8 *data,
                  gsize         len)
{
  guint8 *out = g_malloc (len + 2);

  g_assert (len < 128);
  out[0] = 0x04;
  out[1] = (guint8) len;
  memcpy (out + 2, data, len);
  return g_bytes_new_take (out, len + 2);
}

/* C_DeriveKey(CKM_ECDH1_DERIVE, CKD_NULL) into an extractable session
 * object, read back and destroyed at once. */
static CK_RV
ecdh_derive (CustosPkcs11KeyOp    *op,
             GBytes               *public_data,
             gsize                 z_len,
             CustosSecret        **out)
{
  gsize public_len;
  const guint8 *public = g_bytes_get_data (public_data, &public_len);
  CK_ECDH1_DERIVE_PARAMS params = { CKD_NULL, 0, NULL, public_len, (CK_BYTE_PTR) public };
  CK_MECHANISM mechanism = { CKM_ECDH1_DERIVE, &params, sizeof params };
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_ULONG value_len = z_len;
  CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_KEY_TYPE, &type, sizeof type },
    { CKA_VALUE_LEN, &value_len, sizeof value_len },
    { CKA_SENSITIVE, &no, sizeof no },
    { CKA_EXTRACTABLE, &yes, sizeof yes },
    { CKA_TOKEN, &no, sizeof no },
  };
  g_autoptr (CustosSecret) z = custos_secret_new (z_len);
  CK_ATTRIBUTE value = { CKA_VALUE, custos_secret_get_data (z), z_len };
  CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
  CK_RV rv;

  g_atomic_int_inc (&op->stats->private_key_ops);
  rv = op->funcs->C_DeriveKey (op->session, &mechanism, op->key, template,
                               G_N_ELEMENTS (template), &derived);
  if (rv != CKR_OK)
    return rv;

  rv = op->funcs->C_GetAttributeValue (op->session, derived, &value, 1);
  op->funcs->C_DestroyObject (op->session, derived);
  if (rv != CKR_OK)
    return rv;
  if (value.ulValueLen != z_len)
    return CKR_KEY_SIZE_RANGE;

  *out = g_steal_pointer (&z);
  g_atomic_int_set (&op->stats->last_mechanism, CKM_ECDH1_DERIVE);
  return CKR_OK;
}

static gboolean
point_format_refused (CK_RV rv)
{
  return rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID ||
         rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE ||
         rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
         rv == CKR_PUBLIC_KEY_INVALID || rv == CKR_FUNCTION_FAILED;
}

/* PKCS#11 2.40 wants the raw point; many cards (and older specs) want it
 * DER-wrapped. The raw one first, the other on refusal, and the choice
 * is remembered for the token. */
static CustosSecret *
ecdh_shared_secret (CustosPkcs11KeyOp       *op,
                    const CustosWrappedKek  *wrapped,
                    gsize                    point_len,
                    gsize                    z_len,
                    GError                 **error)
{
  const guint8 *point = g_bytes_get_data (wrapped->wrapped, NULL);
  g_autoptr (GBytes) raw = g_bytes_new (point, point_len);
  g_autoptr (GBytes) der = der_octet_string (point, point_len);
  CustosSecret *z = NULL;
  CK_RV rv;

  rv = ecdh_derive (op, op->quirks->ecdh_der_point ? der : raw, z_len, &z);
  if (rv != CKR_OK && point_format_refused (rv))
    {
      g_debug ("Token “%s” refused the %s point (%s); trying the other encoding",
               op->token_label, op->quirks->ecdh_der_point ? "DER" : "raw", p11_kit_strerror (rv));
      rv = ecdh_derive (op, op->quirks->ecdh_der_point ? raw : der, z_len, &z);
      if (rv == CKR_OK)
        op->quirks->ecdh_der_point = !op->quirks->ecdh_der_point;
    }
  if (rv != CKR_OK)
    {
      set_operation_error (op, rv, "ECDH (CKM_ECDH1_DERIVE)", error);
      return NULL;
    }
  return z;
}

static CustosSecret *
unwrap_ecdh (CustosPkcs11KeyOp       *op,
             CustosPkcs11CertInfo    *cert,
             const CustosWrappedKek  *wrapped,
             GError                 **error)
{
  gsize point_len = custos_ecdh_es_point_len (wrapped->alg);
  gsize z_len = wrapped->alg == CUSTOS_WRAP_ECDH_ES_P384 ? 48 : 32;
  gsize wrapped_len = g_bytes_get_size (wrapped->wrapped);
  g_autoptr (CustosSecret) z = NULL;
  g_autoptr (GError) local_error = NULL;
  CustosSecret *kek;

  if (cert->wrap_alg != wrapped->alg || wrapped_len != point_len + CUSTOS_KWP_WRAPPED_LEN)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                   _ ("the wrapped KEK (%zu bytes, %s) does not fit the %s key of "
                      "“%s” on the token “%s”"),
                   wrapped_len, custos_wrap_alg_to_string (wrapped->alg), cert->key_type,
                   cert->label, op->token_label);
      return NULL;
    }

  z = ecdh_shared_secret (op, wrapped, point_len, z_len, error);
  if (z == NULL)
    return NULL;

  kek = custos_ecdh_es_unwrap_with_secret (wrapped->alg, z, wrapped->recipient_id, wrapped->epoch,
                                           g_bytes_get_data (wrapped->wrapped, NULL), wrapped_len,
                                           &local_error);
  if (kek == NULL)
    g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                 _ ("%s (token “%s”)"), local_error->message, op->token_label);
  return kek;
}

CustosSecret *
custos_pkcs11_unwrap (CustosPkcs11KeyOp       *op,
                      CustosPkcs11CertInfo    *cert,
                      const CustosWrappedKek  *wrapped,
                      GError                 **error)
{
  switch (wrapped->alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return unwrap_rsa (op, cert, wrapped, error);

    case CUSTOS_WRAP_ECDH_ES_P256:
    case CUSTOS_WRAP_ECDH_ES_P384:
      return unwrap_ecdh (op, cert, wrapped, error);

    default:
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                   _ ("unknown key wrap algorithm %d"), wrapped->alg);
      return NULL;
    }
}
