/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key types, enrolment specs and results. */
#define G_LOG_DOMAIN "custos-enroll"

#include "config.h"

#include <openssl/pem.h>
#include <string.h>

#include "custos-crypto-private.h"
#include "custos-enroll-private.h"
#include "custos-i18n-private.h"

/* Key types */

G_DEFINE_ENUM_TYPE (CustosKeyType, custos_key_type,
                    G_DEFINE_ENUM_VALUE (CUSTOS_KEY_TYPE_RSA_2048, "rsa-2048"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_KEY_TYPE_RSA_3072, "rsa-3072"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_KEY_TYPE_EC_P256, "ec-p256"))

static const struct
{
  const char    *name;
  CustosKeyType  type;
} key_type_names[] = {
  { "rsa:2048", CUSTOS_KEY_TYPE_RSA_2048 },
  { "rsa:3072", CUSTOS_KEY_TYPE_RSA_3072 },
  { "ec:P-256", CUSTOS_KEY_TYPE_EC_P256 },
  { "ec:prime256v1", CUSTOS_KEY_TYPE_EC_P256 },
  { "ec:secp256r1", CUSTOS_KEY_TYPE_EC_P256 },
};

gboolean
custos_key_type_from_string (const char     *text,
                             CustosKeyType  *type,
                             GError        **error)
{
  g_return_val_if_fail (text != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (key_type_names); i++)
    if (g_ascii_strcasecmp (text, key_type_names[i].name) == 0)
      {
        *type = key_type_names[i].type;
        return TRUE;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _ ("unknown key type “%s”: use rsa:2048, rsa:3072 or ec:P-256"), text);
  return FALSE;
}

const char *
custos_key_type_to_string (CustosKeyType type)
{
  switch (type)
    {
    case CUSTOS_KEY_TYPE_RSA_2048:
      return "rsa:2048";
    case CUSTOS_KEY_TYPE_RSA_3072:
      return "rsa:3072";
    case CUSTOS_KEY_TYPE_EC_P256:
      return "ec:P-256";
    default:
      return "unknown";
    }
}

gboolean
custos_key_type_is_rsa (CustosKeyType type)
{
  return type == CUSTOS_KEY_TYPE_RSA_2048 || type == CUSTOS_KEY_TYPE_RSA_3072;
}

guint
custos_key_type_get_bits (CustosKeyType type)
{
  switch (type)
    {
    case CUSTOS_KEY_TYPE_RSA_2048:
      return 2048;
    case CUSTOS_KEY_TYPE_RSA_3072:
      return 3072;
    case CUSTOS_KEY_TYPE_EC_P256:
      return 256;
    default:
      return 0;
    }
}

/* Subjects */

/* One "type=value" with backslash escapes (RFC 4514: \, \+ \" \\ and \XX
 * hex pairs) added to name; at_front for RFC 4514's reversed order. */
static gboolean
add_rdn (X509_NAME   *name,
         const char  *rdn,
         gboolean     at_front,
         GError     **error)
{
  g_autoptr (GString) value = g_string_new (NULL);
  g_autofree char *type = NULL;
  const char *eq = strchr (rdn, '=');

  if (eq == NULL || eq == rdn)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not TYPE=VALUE (e.g. CN=Alice)"), rdn);
      return FALSE;
    }
  type = g_strstrip (g_strndup (rdn, eq - rdn));
  for (const char *p = eq + 1; *p != '\0'; p++)
    {
      if (*p != '\\')
        {
          g_string_append_c (value, *p);
          continue;
        }
      if (g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
        {
          g_string_append_c (value, (char) (g_ascii_xdigit_value (p[1]) << 4 |
                                            g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else if (p[1] != '\0')
        g_string_append_c (value, *++p);
    }
  if (value->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("the subject attribute %s is empty"), type);
      return FALSE;
    }
  if (!X509_NAME_add_entry_by_txt (name, type, MBSTRING_UTF8, (const guchar *) value->str,
                                   (int) value->len, at_front ? 0 : -1, 0))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                _ ("“%s=%s” is not a valid subject attribute"), type, value->str);
      return FALSE;
    }
  return TRUE;
}

/* Splits at unescaped separators; an unescaped '+' (a multi-valued RDN)
 * is refused rather than read as something the user did not mean. */
static GPtrArray *
split_rdns (const char  *text,
            char         separator,
            GError     **error)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) part = g_string_new (NULL);

  for (const char *p = text; ; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          g_string_append_len (part, p, 2);
          p++;
          continue;
        }
      if (*p == '+')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _ ("multi-valued subject attributes (“+”) are not supported; escape it "
                          "as \\+"));
          return NULL;
        }
      if (*p == separator || *p == '\0')
        {
          g_strstrip (part->str);
          if (strlen (part->str) > 0)
            g_ptr_array_add (parts, g_strdup (part->str));
          g_string_truncate (part, 0);
          if (*p == '\0')
            break;
          continue;
        }
      g_string_append_c (part, *p);
    }
  return g_steal_pointer (&parts);
}

X509_NAME *
custos_enroll_parse_subject (const char  *text,
                             GError     **error)
{
  g_autoptr (X509_NAME) name = X509_NAME_new ();
  g_autoptr (GPtrArray) rdns = NULL;
  gboolean slashes = text[0] == '/';

  rdns = split_rdns (slashes ? text + 1 : text, slashes ? '/' : ',', error);
  if (rdns == NULL)
    return NULL;
  if (rdns->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("the subject “%s” is empty"), text);
      return NULL;
    }
  for (guint i = 0; i < rdns->len; i++)
    if (!add_rdn (name, rdns->pdata[i], !slashes, error))
      return NULL;
  return g_steal_pointer (&name);
}

static char *
subject_cn (X509_NAME *name)
{
  int index = X509_NAME_get_index_by_NID (name, NID_commonName, -1);
  ASN1_STRING *data;
  guchar *utf8 = NULL;
  char *ret;
  int len;

  if (index < 0)
    return NULL;
  data = X509_NAME_ENTRY_get_data (X509_NAME_get_entry (name, index));
  len = ASN1_STRING_to_UTF8 (&utf8, data);
  if (len < 0)
    return NULL;
  ret = g_strndup ((const char *) utf8, len);
  OPENSSL_free (utf8);
  return ret;
}

/* Requests */

CustosEnrollRequest *
custos_enroll_request_new (const CustosEnrollSpec  *spec,
                           GError                 **error)
{
  g_autoptr (CustosEnrollRequest) self = g_new0 (CustosEnrollRequest, 1);

  if (spec->key_type > CUSTOS_KEY_TYPE_EC_P256)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _ ("unknown key type %d"),
                   spec->key_type);
      return NULL;
    }
  self->key_type = spec->key_type;
  self->csr = spec->csr;
  self->days = spec->days > 0 ? spec->days : CUSTOS_ENROLL_DEFAULT_DAYS;
  if (self->days > 36500)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   g_dngettext (custos_i18n_domain (),
                                "a validity of %u day is more than a century",
                                "a validity of %u days is more than a century", self->days),
                   self->days);
      return NULL;
    }

  if (spec->subject != NULL)
    self->subject = custos_enroll_parse_subject (spec->subject, error);
  else if (spec->common_name != NULL && *spec->common_name != '\0')
    {
      self->subject = X509_NAME_new ();
      if (!X509_NAME_add_entry_by_NID (self->subject, NID_commonName, MBSTRING_UTF8,
                                       (const guchar *) spec->common_name, -1, -1, 0))
        {
          custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                    _ ("“%s” is not a valid common name"), spec->common_name);
          return NULL;
        }
    }
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         _ ("an enrolment needs a subject or a common name"));
  if (self->subject == NULL)
    return NULL;

  self->label = g_strdup (spec->label);
  if (self->label == NULL)
    self->label = subject_cn (self->subject);
  if (self->label == NULL)
    self->label = g_strdup ("Custos encryption key");
  return g_steal_pointer (&self);
}

void
custos_enroll_request_free (CustosEnrollRequest *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->subject, X509_NAME_free);
  g_free (self->label);
  g_free (self);
}

/* Results */

G_DEFINE_BOXED_TYPE (CustosEnrollment, custos_enrollment,
                     custos_enrollment_ref, custos_enrollment_unref)

CustosEnrollment *
custos_enrollment_new (CustosKeyType       key_type,
                       CustosCertificate  *certificate,
                       GBytes             *csr,
                       const char         *id_hex,
                       const char         *label,
                       const char         *token_label,
                       const char         *key_uri,
                       gboolean            stored)
{
  CustosEnrollment *self = g_new0 (CustosEnrollment, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->key_type = key_type;
  self->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  self->csr = csr != NULL ? g_bytes_ref (csr) : NULL;
  self->id_hex = g_strdup (id_hex != NULL ? id_hex : "");
  self->label = g_strdup (label);
  self->token_label = g_strdup (token_label);
  self->key_uri = g_strdup (key_uri);
  self->stored = stored;
  return self;
}

CustosEnrollment *
custos_enrollment_ref (CustosEnrollment *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_enrollment_unref (CustosEnrollment *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_object (&self->certificate);
  g_clear_pointer (&self->csr, g_bytes_unref);
  g_free (self->id_hex);
  g_free (self->label);
  g_free (self->token_label);
  g_free (self->key_uri);
  g_free (self);
}

static char *
pem_encode (const char *type,
            GBytes     *der)
{
  g_autoptr (BIO) bio = BIO_new (BIO_s_mem ());
  gsize len;
  const guint8 *data = g_bytes_get_data (der, &len);
  char *text = NULL;
  long text_len;

  if (!PEM_write_bio (bio, type, "", data, (long) len))
    return NULL;
  text_len = BIO_get_mem_data (bio, &text);
  return g_strndup (text, text_len);
}

/**
 * custos_enrollment_dup_pem:
 *
 * Returns: (transfer full): the certificate, or the request, as PEM
 */
char *
custos_enrollment_dup_pem (CustosEnrollment *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->certificate != NULL)
    return pem_encode ("CERTIFICATE", custos_certificate_get_der (self->certificate));
  return pem_encode ("CERTIFICATE REQUEST", self->csr);
}
