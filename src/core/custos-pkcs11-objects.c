/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

#include "custos-crypto-private.h"
#include "custos-i18n-private.h"
#include "custos-pkcs11-objects.h"

#define FIND_BATCH 32

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM, OSSL_PARAM_free)

/* DER of the namedCurve OIDs of CKA_EC_PARAMS. */
static const guint8 oid_p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
static const guint8 oid_p384[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22 };

GBytes *
custos_pkcs11_objects_get_attribute (CK_FUNCTION_LIST  *funcs,
                                     CK_SESSION_HANDLE  session,
                                     CK_OBJECT_HANDLE   object,
                                     CK_ATTRIBUTE_TYPE  type)
{
  CK_ATTRIBUTE attr = { type, NULL, 0 };
  g_autofree guint8 *value = NULL;

  if (funcs->C_GetAttributeValue (session, object, &attr, 1) != CKR_OK ||
      attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return NULL;
  value = g_malloc (MAX (attr.ulValueLen, 1));
  attr.pValue = value;
  if (funcs->C_GetAttributeValue (session, object, &attr, 1) != CKR_OK)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&value), attr.ulValueLen);
}

GArray *
custos_pkcs11_objects_find (CK_FUNCTION_LIST   *funcs,
                            CK_SESSION_HANDLE   session,
                            CK_ATTRIBUTE       *match,
                            CK_ULONG            n_match,
                            GError            **error)
{
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (CK_OBJECT_HANDLE));
  CK_OBJECT_HANDLE batch[FIND_BATCH];
  CK_ULONG n = 0;
  CK_RV rv;

  rv = funcs->C_FindObjectsInit (session, match, n_match);
  if (rv == CKR_OK)
    {
      do
        {
          rv = funcs->C_FindObjects (session, batch, G_N_ELEMENTS (batch), &n);
          if (rv == CKR_OK)
            g_array_append_vals (found, batch, n);
        }
      while (rv == CKR_OK && n == G_N_ELEMENTS (batch));
      funcs->C_FindObjectsFinal (session);
    }
  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot search the token"));
      return NULL;
    }
  return g_steal_pointer (&found);
}

CK_OBJECT_HANDLE
custos_pkcs11_objects_find_by_id (CK_FUNCTION_LIST   *funcs,
                                  CK_SESSION_HANDLE   session,
                                  CK_OBJECT_CLASS     klass,
                                  GBytes             *id,
                                  GError            **error)
{
  gsize id_len;
  const guint8 *id_data = g_bytes_get_data (id, &id_len);
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, (void *) id_data, id_len },
  };
  g_autoptr (GArray) found = custos_pkcs11_objects_find (funcs, session, match,
                                                         G_N_ELEMENTS (match), error);

  if (found == NULL || found->len == 0)
    return CK_INVALID_HANDLE;
  return g_array_index (found, CK_OBJECT_HANDLE, 0);
}

/* Certificates */

/* DER from an i2d_*() call as GBytes; NULL when it failed. */
static GBytes *
take_der (guint8 *der,
          int     len)
{
  GBytes *ret;

  if (len <= 0)
    return NULL;
  ret = g_bytes_new (der, len);
  OPENSSL_free (der);
  return ret;
}

/* CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER of a certificate. */
static gboolean
encode_names (X509     *x,
              GBytes  **subject,
              GBytes  **issuer,
              GBytes  **serial)
{
  guint8 *der = NULL;
  int len;

  len = i2d_X509_NAME (X509_get_subject_name (x), &der);
  *subject = take_der (der, len);
  der = NULL;
  len = i2d_X509_NAME (X509_get_issuer_name (x), &der);
  *issuer = take_der (der, len);
  der = NULL;
  len = i2d_ASN1_INTEGER (X509_get0_serialNumber (x), &der);
  *serial = take_der (der, len);
  return *subject != NULL && *issuer != NULL && *serial != NULL;
}

gboolean
custos_pkcs11_objects_store_certificate (CK_FUNCTION_LIST   *funcs,
                                         CK_SESSION_HANDLE   session,
                                         CustosCertificate  *certificate,
                                         GBytes             *id,
                                         const char         *label,
                                         GError            **error)
{
  GBytes *der = custos_certificate_get_der (certificate);
  gsize der_len, id_len;
  const guint8 *der_data = g_bytes_get_data (der, &der_len);
  const guint8 *id_data = g_bytes_get_data (id, &id_len);
  const guint8 *p = der_data;
  g_autoptr (X509) x = d2i_X509 (NULL, &p, (long) der_len);
  g_autoptr (GBytes) subject = NULL;
  g_autoptr (GBytes) issuer = NULL;
  g_autoptr (GBytes) serial = NULL;
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_OBJECT_HANDLE object;
  CK_RV rv;

  if (x == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                _ ("Cannot parse the certificate"));
      return FALSE;
    }
  if (!encode_names (x, &subject, &issuer, &serial))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot encode the certificate's names"));
      return FALSE;
    }

  {
    CK_ATTRIBUTE attrs[] = {
      { CKA_CLASS, &klass, sizeof klass },
      { CKA_CERTIFICATE_TYPE, &type, sizeof type },
      { CKA_TOKEN, &yes, sizeof yes },
      { CKA_PRIVATE, &no, sizeof no },
      { CKA_LABEL, (void *) label, strlen (label) },
      { CKA_ID, (void *) id_data, id_len },
      { CKA_SUBJECT, (void *) g_bytes_get_data (subject, NULL), g_bytes_get_size (subject) },
      { CKA_ISSUER, (void *) g_bytes_get_data (issuer, NULL), g_bytes_get_size (issuer) },
      { CKA_SERIAL_NUMBER, (void *) g_bytes_get_data (serial, NULL), g_bytes_get_size (serial) },
      { CKA_VALUE, (void *) der_data, der_len },
    };

    rv = funcs->C_CreateObject (session, attrs, G_N_ELEMENTS (attrs), &object);
  }
  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot store the certificate on the token"));
      return FALSE;
    }
  return TRUE;
}

/* Public keys */

static EVP_PKEY *
pkey_from_params (const char  *type,
                  OSSL_PARAM  *params,
                  GError     **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_name (NULL, type, NULL);
  EVP_PKEY *pkey = NULL;

  if (ctx == NULL || EVP_PKEY_fromdata_init (ctx) <= 0 ||
      EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                                _ ("The token's %s public key is not valid"), type);
      return NULL;
    }
  return pkey;
}

static EVP_PKEY *
rsa_public_key (GBytes  *modulus,
                GBytes  *exponent,
                GError **error)
{
  g_autoptr (OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new ();
  g_autoptr (OSSL_PARAM) params = NULL;
  BIGNUM *n = BN_bin2bn (g_bytes_get_data (modulus, NULL), (int) g_bytes_get_size (modulus), NULL);
  BIGNUM *e = BN_bin2bn (g_bytes_get_data (exponent, NULL), (int) g_bytes_get_size (exponent),
                         NULL);
  gboolean ok;

  ok = bld != NULL && n != NULL && e != NULL &&
       OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_N, n) &&
       OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_E, e) &&
       (params = OSSL_PARAM_BLD_to_param (bld)) != NULL;
  BN_free (n);
  BN_free (e);
  if (!ok)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot read an RSA public key"));
      return NULL;
    }
  return pkey_from_params ("RSA", params, error);
}

/* CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.x and
 * most tokens) or, for some, the bare point. */
static const guint8 *
unwrap_point (GBytes *value,
              gsize   point_len)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (value, &len);

  if (len == point_len + 2 && data[0] == 0x04 && data[1] == point_len)
    return data + 2;
  if (len == point_len && data[0] == 0x04)
    return data;
  return NULL;
}

static EVP_PKEY *
ec_public_key (GBytes  *ec_params,
               GBytes  *ec_point,
               GError **error)
{
  gsize params_len;
  const guint8 *params_data = g_bytes_get_data (ec_params, &params_len);
  const char *group;
  gsize point_len;
  const guint8 *point;

  if (params_len == sizeof oid_p256 && memcmp (params_data, oid_p256, params_len) == 0)
    {
      group = "prime256v1";
      point_len = 65;
    }
  else if (params_len == sizeof oid_p384 && memcmp (params_data, oid_p384, params_len) == 0)
    {
      group = "secp384r1";
      point_len = 97;
    }
  else
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                           _ ("the token's EC key is on a curve other than P-256 and P-384"));
      return NULL;
    }

  point = unwrap_point (ec_point, point_len);
  if (point == NULL)
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                           _ ("the token's CKA_EC_POINT is not an uncompressed point"));
      return NULL;
    }

  {
    OSSL_PARAM params[] = {
      OSSL_PARAM_utf8_string (OSSL_PKEY_PARAM_GROUP_NAME, (char *) group, 0),
      OSSL_PARAM_octet_string (OSSL_PKEY_PARAM_PUB_KEY, (void *) point, point_len),
      OSSL_PARAM_END
    };

    return pkey_from_params ("EC", params, error);
  }
}

EVP_PKEY *
custos_pkcs11_objects_get_public_key (CK_FUNCTION_LIST   *funcs,
                                      CK_SESSION_HANDLE   session,
                                      CK_OBJECT_HANDLE    object,
                                      GError            **error)
{
  g_autoptr (GBytes) type_bytes = custos_pkcs11_objects_get_attribute (funcs, session, object,
                                                                       CKA_KEY_TYPE);
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  CK_KEY_TYPE type;

  if (type_bytes == NULL || g_bytes_get_size (type_bytes) != sizeof type)
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                           _ ("the token's key object has no key type"));
      return NULL;
    }
  memcpy (&type, g_bytes_get_data (type_bytes, NULL), sizeof type);

  if (type == CKK_RSA)
    {
      a = custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_MODULUS);
      b = custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_PUBLIC_EXPONENT);
      if (a != NULL && b != NULL)
        return rsa_public_key (a, b, error);
    }
  else if (type == CKK_EC)
    {
      a = custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_EC_PARAMS);
      b = custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_EC_POINT);
      if (a != NULL && b != NULL)
        return ec_public_key (a, b, error);
    }
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               _ ("the token does not show the public key of a key object (type 0x%lx)"),
               (gulong) type);
  return NULL;
}

/* The CKA_ID of the first object of the class whose public key is the one
 * wanted; key_type narrows the search (0: any). */
static GBytes *
find_key_id_in_class (CK_FUNCTION_LIST   *funcs,
                      CK_SESSION_HANDLE   session,
                      CK_OBJECT_CLASS     klass,
                      CK_KEY_TYPE         key_type,
                      EVP_PKEY           *public_key,
                      GError            **error)
{
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_KEY_TYPE, &key_type, sizeof key_type },
  };
  g_autoptr (GArray) found = custos_pkcs11_objects_find (funcs, session, match,
                                                         key_type != 0 ? 2 : 1, error);

  for (guint i = 0; found != NULL && i < found->len; i++)
    {
      CK_OBJECT_HANDLE object = g_array_index (found, CK_OBJECT_HANDLE, i);
      g_autoptr (EVP_PKEY) candidate = NULL;
      g_autoptr (GError) local_error = NULL;

      candidate = custos_pkcs11_objects_get_public_key (funcs, session, object, &local_error);
      if (candidate != NULL && EVP_PKEY_eq (candidate, public_key) == 1)
        return custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_ID);
    }
  return NULL;
}

GBytes *
custos_pkcs11_objects_find_key_id (CK_FUNCTION_LIST   *funcs,
                                   CK_SESSION_HANDLE   session,
                                   EVP_PKEY           *public_key,
                                   GError            **error)
{
  GBytes *id;

  id = find_key_id_in_class (funcs, session, CKO_PUBLIC_KEY, 0, public_key, error);
  if (id != NULL || (error != NULL && *error != NULL))
    return id;
  /* Some cards keep no public key objects; their RSA private keys still
   * show the modulus and exponent. */
  if (EVP_PKEY_is_a (public_key, "RSA"))
    return find_key_id_in_class (funcs, session, CKO_PRIVATE_KEY, CKK_RSA, public_key, error);
  return NULL;
}
