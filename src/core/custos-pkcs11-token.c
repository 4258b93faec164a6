/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <string.h>

#include "custos-pkcs11-private.h"

/* Flags */

CustosPkcs11TokenFlags
custos_pkcs11_token_flags_from_ck (gulong ck_flags)
{
  static const struct { gulong ck; CustosPkcs11TokenFlags ours; } map[] = {
    { CKF_LOGIN_REQUIRED, CUSTOS_PKCS11_TOKEN_LOGIN_REQUIRED },
    { CKF_PROTECTED_AUTHENTICATION_PATH, CUSTOS_PKCS11_TOKEN_PROTECTED_AUTH_PATH },
    { CKF_USER_PIN_COUNT_LOW, CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW },
    { CKF_USER_PIN_FINAL_TRY, CUSTOS_PKCS11_TOKEN_PIN_FINAL_TRY },
    { CKF_USER_PIN_LOCKED, CUSTOS_PKCS11_TOKEN_PIN_LOCKED },
    { CKF_WRITE_PROTECTED, CUSTOS_PKCS11_TOKEN_WRITE_PROTECTED },
  };
  CustosPkcs11TokenFlags ret = 0;

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (ck_flags & map[i].ck)
      ret |= map[i].ours;
  return ret;
}

CustosPkcs11LoginAction
custos_pkcs11_login_action (CustosPkcs11TokenFlags  flags,
                            gboolean                after_wrong_pin,
                            GTlsPasswordFlags      *password_flags)
{
  GTlsPasswordFlags pw = G_TLS_PASSWORD_NONE;

  if (password_flags != NULL)
    *password_flags = G_TLS_PASSWORD_NONE;

  if (!(flags & CUSTOS_PKCS11_TOKEN_LOGIN_REQUIRED))
    return CUSTOS_PKCS11_LOGIN_NOT_NEEDED;
  /* Checked before the PIN pad: a locked card refuses any PIN, and every
   * prompt for one is a prompt the user cannot win. */
  if (flags & CUSTOS_PKCS11_TOKEN_PIN_LOCKED)
    return CUSTOS_PKCS11_LOGIN_LOCKED;
  if (flags & CUSTOS_PKCS11_TOKEN_PROTECTED_AUTH_PATH)
    return CUSTOS_PKCS11_LOGIN_PIN_PAD;

  if (flags & CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW)
    pw |= G_TLS_PASSWORD_MANY_TRIES;
  if (flags & CUSTOS_PKCS11_TOKEN_PIN_FINAL_TRY)
    pw |= G_TLS_PASSWORD_FINAL_TRY;
  if (after_wrong_pin)
    pw |= G_TLS_PASSWORD_RETRY;
  if (password_flags != NULL)
    *password_flags = pw;
  return CUSTOS_PKCS11_LOGIN_ASK_PIN;
}

const char *
custos_pkcs11_key_state_to_string (CustosPkcs11KeyState state)
{
  switch (state)
    {
    case CUSTOS_PKCS11_KEY_UNKNOWN:
      return "unknown until login";
    case CUSTOS_PKCS11_KEY_PRESENT:
      return "present";
    case CUSTOS_PKCS11_KEY_ABSENT:
      return "absent";
    default:
      return "invalid";
    }
}

char *
custos_pkcs11_dup_padded (const unsigned char *string,
                          gsize                max_len)
{
  return g_strndup ((const char *) string, p11_kit_space_strlen (string, max_len));
}

/* URIs: p11-kit formats them, so escaping follows RFC 7512 exactly. */

static char *
format_uri (P11KitUri          *uri,
            P11KitUriType       type)
{
  char *ret = NULL;

  if (p11_kit_uri_format (uri, type, &ret) != P11_KIT_URI_OK)
    return g_strdup ("pkcs11:");
  return ret;
}

static char *
token_uri (const CK_TOKEN_INFO *token)
{
  P11KitUri *uri = p11_kit_uri_new ();
  char *ret;

  memcpy (p11_kit_uri_get_token_info (uri), token, sizeof *token);
  ret = format_uri (uri, P11_KIT_URI_FOR_TOKEN);
  p11_kit_uri_free (uri);
  return ret;
}

static char *
cert_uri (const CK_TOKEN_INFO *token,
          const guint8        *id,
          gsize                id_len,
          const char          *label)
{
  P11KitUri *uri = p11_kit_uri_new ();
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_ATTRIBUTE attrs[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, (void *) id, id_len },
    { CKA_LABEL, (void *) label, strlen (label) },
  };
  char *ret;

  memcpy (p11_kit_uri_get_token_info (uri), token, sizeof *token);
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    if (attrs[i].ulValueLen > 0)
      p11_kit_uri_set_attribute (uri, &attrs[i]);
  ret = format_uri (uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN);
  p11_kit_uri_free (uri);
  return ret;
}

/* CustosPkcs11CertInfo */

G_DEFINE_BOXED_TYPE (CustosPkcs11CertInfo, custos_pkcs11_cert_info,
                     custos_pkcs11_cert_info_ref, custos_pkcs11_cert_info_unref)

static void
describe_key (CustosPkcs11CertInfo *self)
{
  EVP_PKEY *pkey = custos_certificate_get_public_key (self->certificate);
  CustosWrapAlg alg = 0;

  self->key_bits = pkey != NULL ? (guint) EVP_PKEY_get_bits (pkey) : 0;
  if (!custos_certificate_get_wrap_alg (self->certificate, FALSE, &alg, NULL))
    alg = 0;
  self->wrap_alg = alg;

  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
      self->key_type = g_strdup ("RSA");
      break;
    case CUSTOS_WRAP_ECDH_ES_P256:
      self->key_type = g_strdup ("EC P-256");
      break;
    case CUSTOS_WRAP_ECDH_ES_P384:
      self->key_type = g_strdup ("EC P-384");
      break;
    default:
      {
        const char *name = pkey != NULL ? EVP_PKEY_get0_type_name (pkey) : NULL;
        self->key_type = g_strdup (name != NULL ? name : "unknown");
      }
    }
}

CustosPkcs11CertInfo *
custos_pkcs11_cert_info_new (CustosCertificate    *certificate,
                             const CK_TOKEN_INFO  *token,
                             const guint8         *id,
                             gsize                 id_len,
                             const char           *label,
                             CustosPkcs11KeyState  key_state)
{
  CustosPkcs11CertInfo *self = g_new0 (CustosPkcs11CertInfo, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->certificate = g_object_ref (certificate);
  self->id = g_memdup2 (id, id_len);
  self->id_len = id_len;
  self->id_hex = custos_hex_encode (id, id_len);
  self->label = g_strdup (label != NULL ? label : "");
  self->key_state = key_state;
  self->uri = cert_uri (token, id, id_len, self->label);
  describe_key (self);
  return self;
}

CustosPkcs11CertInfo *
custos_pkcs11_cert_info_with_key_state (CustosPkcs11CertInfo *self,
                                        CustosPkcs11KeyState  key_state)
{
  CustosPkcs11CertInfo *ret = g_new0 (CustosPkcs11CertInfo, 1);

  g_atomic_ref_count_init (&ret->ref_count);
  ret->certificate = g_object_ref (self->certificate);
  ret->id = g_memdup2 (self->id, self->id_len);
  ret->id_len = self->id_len;
  ret->id_hex = g_strdup (self->id_hex);
  ret->label = g_strdup (self->label);
  ret->key_state = key_state;
  ret->key_type = g_strdup (self->key_type);
  ret->key_bits = self->key_bits;
  ret->wrap_alg = self->wrap_alg;
  ret->uri = g_strdup (self->uri);
  return ret;
}

const guint8 *
custos_pkcs11_cert_info_get_id (CustosPkcs11CertInfo *self,
                                gsize                *len)
{
  *len = self->id_len;
  return self->id;
}

CustosPkcs11CertInfo *
custos_pkcs11_cert_info_ref (CustosPkcs11CertInfo *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_pkcs11_cert_info_unref (CustosPkcs11CertInfo *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_clear_object (&self->certificate);
  g_free (self->id);
  g_free (self->id_hex);
  g_free (self->label);
  g_free (self->key_type);
  g_free (self->uri);
  g_free (self);
}

/* CustosPkcs11TokenInfo */

G_DEFINE_BOXED_TYPE (CustosPkcs11TokenInfo, custos_pkcs11_token_info,
                     custos_pkcs11_token_info_ref, custos_pkcs11_token_info_unref)

static GPtrArray *
dup_cert_infos (GPtrArray *certificates)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_cert_info_unref);

  for (guint i = 0; certificates != NULL && i < certificates->len; i++)
    g_ptr_array_add (ret, custos_pkcs11_cert_info_ref (g_ptr_array_index (certificates, i)));
  return ret;
}

CustosPkcs11TokenInfo *
custos_pkcs11_token_info_new (const char          *module_name,
                              CK_SLOT_ID           slot,
                              const CK_TOKEN_INFO *info,
                              GPtrArray           *certificates)
{
  CustosPkcs11TokenInfo *self = g_new0 (CustosPkcs11TokenInfo, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->slot_id = slot;
  self->module_name = g_strdup (module_name);
  self->label = custos_pkcs11_dup_padded (info->label, sizeof info->label);
  self->manufacturer = custos_pkcs11_dup_padded (info->manufacturerID, sizeof info->manufacturerID);
  self->model = custos_pkcs11_dup_padded (info->model, sizeof info->model);
  self->serial = custos_pkcs11_dup_padded (info->serialNumber, sizeof info->serialNumber);
  self->flags = custos_pkcs11_token_flags_from_ck (info->flags);
  self->uri = token_uri (info);
  self->certificates = dup_cert_infos (certificates);
  return self;
}

CustosPkcs11TokenInfo *
custos_pkcs11_token_info_update (CustosPkcs11TokenInfo  *self,
                                 CustosPkcs11TokenFlags  flags,
                                 gboolean                logged_in,
                                 GPtrArray              *certificates)
{
  CustosPkcs11TokenInfo *ret = g_new0 (CustosPkcs11TokenInfo, 1);

  g_atomic_ref_count_init (&ret->ref_count);
  ret->slot_id = self->slot_id;
  ret->module_name = g_strdup (self->module_name);
  ret->label = g_strdup (self->label);
  ret->manufacturer = g_strdup (self->manufacturer);
  ret->model = g_strdup (self->model);
  ret->serial = g_strdup (self->serial);
  ret->flags = flags;
  ret->logged_in = logged_in;
  ret->uri = g_strdup (self->uri);
  ret->certificates = dup_cert_infos (certificates != NULL ? certificates : self->certificates);
  return ret;
}

CustosPkcs11TokenInfo *
custos_pkcs11_token_info_ref (CustosPkcs11TokenInfo *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_pkcs11_token_info_unref (CustosPkcs11TokenInfo *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->module_name);
  g_free (self->label);
  g_free (self->manufacturer);
  g_free (self->model);
  g_free (self->serial);
  g_free (self->uri);
  g_clear_pointer (&self->certificates, g_ptr_array_unref);
  g_free (self);
}
