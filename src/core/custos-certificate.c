/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-certificate"

#include "config.h"

#include <gio/gio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <string.h>

#include "custos-certificate.h"
#include "custos-crypto-private.h"
#include "custos-crypto.h"
#include "custos-i18n-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE_CTX, X509_STORE_CTX_free)

struct _CustosCertificate
{
  GObject    parent_instance;

  X509      *x509;
  GBytes    *der;
  GDateTime *not_before;
  GDateTime *not_after;
  /* The recipient id of the format; computed once since readers look
   * certificates up by it for every RECIPIENT record. */
  guint8     fingerprint[CUSTOS_SHA256_LEN];
};

G_DEFINE_FINAL_TYPE (CustosCertificate, custos_certificate, G_TYPE_OBJECT)

static void
custos_certificate_finalize (GObject *object)
{
  CustosCertificate *self = (CustosCertificate *) object;

  g_clear_pointer (&self->x509, X509_free);
  g_clear_pointer (&self->der, g_bytes_unref);
  g_clear_pointer (&self->not_before, g_date_time_unref);
  g_clear_pointer (&self->not_after, g_date_time_unref);

  G_OBJECT_CLASS (custos_certificate_parent_class)->finalize (object);
}

static void
custos_certificate_class_init (CustosCertificateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_certificate_finalize;
}

static void
custos_certificate_init (CustosCertificate *self)
{
}

static GDateTime *
date_time_from_asn1 (const ASN1_TIME *time)
{
  struct tm tm = { 0 };

  if (time == NULL || !ASN1_TIME_to_tm (time, &tm))
    return NULL;
  return g_date_time_new_utc (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Takes ownership of x509. Everything derived from it is computed here,
 * so the object is immutable and safe to share between threads. */
static CustosCertificate *
certificate_new_take (X509    *x509,
                      GError **error)
{
  g_autoptr (CustosCertificate) self = g_object_new (CUSTOS_TYPE_CERTIFICATE, NULL);
  guint8 *der = NULL;
  int der_len;

  self->x509 = x509;
  der_len = i2d_X509 (x509, &der);
  if (der_len <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                                _ ("Cannot encode the certificate"));
      return NULL;
    }
  self->der = g_bytes_new (der, der_len);
  OPENSSL_free (der);
  custos_sha256 (g_bytes_get_data (self->der, NULL), der_len, self->fingerprint);

  self->not_before = date_time_from_asn1 (X509_get0_notBefore (x509));
  self->not_after = date_time_from_asn1 (X509_get0_notAfter (x509));
  if (self->not_before == NULL || self->not_after == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                         _ ("The certificate has an invalid notBefore or notAfter date"));
      return NULL;
    }
  return g_steal_pointer (&self);
}

static CustosCertificate *
certificate_new_from_der_data (const guint8  *data,
                               gsize          len,
                               const char    *what,
                               GError       **error)
{
  const guint8 *p = data;
  X509 *x509;

  if (len > G_MAXLONG || (x509 = d2i_X509 (NULL, &p, (long) len)) == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                         _ ("%s is not a DER or PEM X.509 certificate"), what);
      return NULL;
    }
  if (p != data + len)
    {
      gsize trailing = data + len - p;

      X509_free (x509);
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   g_dngettext (custos_i18n_domain (),
                                "%s has %zu byte of trailing data after the DER certificate",
                                "%s has %zu bytes of trailing data after the DER certificate",
                                trailing),
                   what, trailing);
      return NULL;
    }
  return certificate_new_take (x509, error);
}

CustosCertificate *
custos_certificate_new_from_der (GBytes  *der,
                                 GError **error)
{
  gsize len = 0;
  const guint8 *data;

  g_return_val_if_fail (der != NULL, NULL);

  data = g_bytes_get_data (der, &len);
  return certificate_new_from_der_data (data, len, "The data", error);
}

static gboolean
looks_like_pem (const char *data,
                gsize       len)
{
  return g_strstr_len (data, len, "-----BEGIN ") != NULL;
}

/* The label of the first PEM block, for "expected a certificate, found
 * a PRIVATE KEY" messages. */
static char *
first_pem_label (const char *data,
                 gsize       len)
{
  const char *begin = g_strstr_len (data, len, "-----BEGIN ");
  const char *end;

  if (begin == NULL)
    return g_strdup (_ ("no PEM block"));
  begin += strlen ("-----BEGIN ");
  end = g_strstr_len (begin, data + len - begin, "-----");
  if (end == NULL || end - begin > 64)
    return g_strdup (_ ("a damaged PEM block"));
  return g_strdup_printf (_ ("a %.*s block"), (int) (end - begin), begin);
}

/* Every certificate in a PEM buffer; other blocks are skipped. */
static GPtrArray *
parse_pem_chain (const char  *data,
                 gsize        len,
                 const char  *path,
                 GError     **error)
{
  g_autoptr (GPtrArray) certs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (BIO) bio = BIO_new_mem_buf (data, (int) len);

  for (;;)
    {
      X509 *x509 = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
      unsigned long err = ERR_peek_last_error ();
      CustosCertificate *cert;

      if (x509 == NULL)
        {
          /* Running out of PEM blocks is the normal end. */
          if (ERR_GET_LIB (err) == ERR_LIB_PEM && ERR_GET_REASON (err) == PEM_R_NO_START_LINE)
            break;
          custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                             _ ("Certificate %u of %s is damaged"), certs->len + 1, path);
          return NULL;
        }
      if ((cert = certificate_new_take (x509, error)) == NULL)
        return NULL;
      g_ptr_array_add (certs, cert);
    }
  ERR_clear_error ();

  if (certs->len == 0)
    {
      g_autofree char *found = first_pem_label (data, len);

      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("Expected a CERTIFICATE in %s, found %s"), path, found);
      return NULL;
    }
  return g_steal_pointer (&certs);
}

static GPtrArray *
load_certificates (const char  *path,
                   GError     **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autofree char *data = NULL;
  gsize len = 0;

  /* GIO rather than g_file_get_contents, for G_IO_ERROR codes like the
   * key loader's. */
  if (!g_file_load_contents (file, NULL, &data, &len, NULL, error))
    return NULL;
  if (len > G_MAXINT)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("%s is too large for a certificate file"), path);
      return NULL;
    }

  if (looks_like_pem (data, len))
    return parse_pem_chain (data, len, path, error);

  {
    g_autoptr (GPtrArray) certs = g_ptr_array_new_with_free_func (g_object_unref);
    CustosCertificate *cert = certificate_new_from_der_data ((const guint8 *) data, len, path,
                                                             error);

    if (cert == NULL)
      return NULL;
    g_ptr_array_add (certs, cert);
    return g_steal_pointer (&certs);
  }
}

CustosCertificate *
custos_certificate_new_from_file (const char  *path,
                                  GError     **error)
{
  g_autoptr (GPtrArray) certs = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if ((certs = load_certificates (path, error)) == NULL)
    return NULL;
  return g_object_ref (g_ptr_array_index (certs, 0));
}

/**
 * custos_certificate_load_chain:
 *
 * Returns: (transfer full) (element-type CustosCertificate): the certificates of
 *   @path in file order; a DER file gives one.
 */
GPtrArray *
custos_certificate_load_chain (const char  *path,
                               GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  return load_certificates (path, error);
}

/**
 * custos_certificate_get_der:
 *
 * Returns: (transfer none): the DER encoding.
 */
GBytes *
custos_certificate_get_der (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return self->der;
}

/**
 * custos_certificate_get_fingerprint:
 *
 * Returns: (transfer none) (array fixed-size=32): SHA-256 of the DER,
 *   which is the recipient id of the format.
 */
const guint8 *
custos_certificate_get_fingerprint (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return self->fingerprint;
}

char *
custos_certificate_dup_fingerprint_hex (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return custos_hex_encode (self->fingerprint, sizeof self->fingerprint);
}

/* RFC 2253 order and escaping, the way most tools print subjects. */
char *
custos_certificate_dup_subject (CustosCertificate *self)
{
  g_autoptr (BIO) bio = BIO_new (BIO_s_mem ());
  char *text = NULL;
  long len;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  if (bio == NULL ||
      X509_NAME_print_ex (bio, X509_get_subject_name (self->x509), 0,
                          XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
    {
      ERR_clear_error ();
      return g_strdup ("");
    }
  len = BIO_get_mem_data (bio, &text);
  return g_strndup (text, len);
}

/**
 * custos_certificate_dup_common_name:
 *
 * Returns: (nullable): the first CN of the subject, in UTF-8, or %NULL if
 *   there is none.
 */
char *
custos_certificate_dup_common_name (CustosCertificate *self)
{
  X509_NAME *name;
  X509_NAME_ENTRY *entry;
  unsigned char *utf8 = NULL;
  char *result;
  int index;
  int len;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  name = X509_get_subject_name (self->x509);
  index = X509_NAME_get_index_by_NID (name, NID_commonName, -1);
  if (index < 0 || (entry = X509_NAME_get_entry (name, index)) == NULL)
    return NULL;
  len = ASN1_STRING_to_UTF8 (&utf8, X509_NAME_ENTRY_get_data (entry));
  if (len < 0)
    {
      ERR_clear_error ();
      return NULL;
    }
  result = g_utf8_make_valid ((const char *) utf8, len);
  OPENSSL_free (utf8);
  return result;
}

/* Returns: (transfer none) */
GDateTime *
custos_certificate_get_not_before (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return self->not_before;
}

/* Returns: (transfer none) */
GDateTime *
custos_certificate_get_not_after (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return self->not_after;
}

/**
 * custos_certificate_get_public_key:
 *
 * Returns: (transfer none): the public key, owned by the certificate; use
 *   EVP_PKEY_up_ref() to keep it longer.
 */
EVP_PKEY *
custos_certificate_get_public_key (CustosCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), NULL);

  return X509_get0_pubkey (self->x509);
}

/* A name for messages: the CN, or the subject when there is no CN. */
static char *
describe (CustosCertificate *self)
{
  g_autofree char *name = custos_certificate_dup_common_name (self);

  if (name == NULL)
    name = custos_certificate_dup_subject (self);
  return g_strdup_printf ("“%s”", name);
}

static char *
ec_curve_name (EVP_PKEY *pkey)
{
  char name[64];

  if (!EVP_PKEY_get_utf8_string_param (pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                       NULL))
    {
      ERR_clear_error ();
      return NULL;
    }
  return g_strdup (name);
}

static int
ec_curve_nid (const char *name)
{
  int nid = OBJ_sn2nid (name);

  /* OpenSSL reports P-256 as "prime256v1"; accept NIST names too. */
  if (nid == NID_undef)
    nid = EC_curve_nist2nid (name);
  return nid;
}

gboolean
custos_certificate_get_wrap_alg (CustosCertificate  *self,
                                 gboolean            legacy,
                                 CustosWrapAlg      *alg,
                                 GError            **error)
{
  EVP_PKEY *pkey;
  g_autofree char *curve = NULL;
  g_autofree char *who = NULL;
  CustosWrapAlg found;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), FALSE);
  g_return_val_if_fail (alg != NULL, FALSE);

  pkey = X509_get0_pubkey (self->x509);
  if (pkey != NULL && EVP_PKEY_is_a (pkey, "RSA"))
    found = legacy ? CUSTOS_WRAP_RSA_PKCS1_V15 : CUSTOS_WRAP_RSA_OAEP_SHA256;
  else if (pkey != NULL && EVP_PKEY_is_a (pkey, "EC") && (curve = ec_curve_name (pkey)) != NULL &&
           ec_curve_nid (curve) == NID_X9_62_prime256v1)
    found = CUSTOS_WRAP_ECDH_ES_P256;
  else if (curve != NULL && ec_curve_nid (curve) == NID_secp384r1)
    found = CUSTOS_WRAP_ECDH_ES_P384;
  else
    {
      who = describe (self);
      ERR_clear_error ();
      if (pkey == NULL)
        g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                     _ ("Cannot wrap keys to certificate %s: its key is unreadable; expected "
                        "RSA, EC P-256 or EC P-384"),
                     who);
      else if (curve != NULL)
        /* Translators: the second %s is a key type (EC), the third a curve name. */
        g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                     _ ("Cannot wrap keys to certificate %s: its key is %s on curve %s; "
                        "expected RSA, EC P-256 or EC P-384"),
                     who, EVP_PKEY_get0_type_name (pkey), curve);
      else
        /* Translators: the second %s is a key type (DSA, ED25519, ...). */
        g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                     _ ("Cannot wrap keys to certificate %s: its key is %s; expected RSA, "
                        "EC P-256 or EC P-384"),
                     who, EVP_PKEY_get0_type_name (pkey));
      return FALSE;
    }
  *alg = found;
  return TRUE;
}

/* ISO 8601 in UTC to the second, like the certificate's own dates. */
static char *
format_utc (GDateTime *time)
{
  g_autoptr (GDateTime) utc = g_date_time_to_utc (time);

  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

gboolean
custos_certificate_check_validity (CustosCertificate  *self,
                                   GDateTime          *now,
                                   GError            **error)
{
  g_autoptr (GDateTime) current = NULL;
  g_autofree char *who = NULL;
  g_autofree char *now_text = NULL;
  g_autofree char *date_text = NULL;
  gboolean early;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), FALSE);

  current = now != NULL ? g_date_time_ref (now) : g_date_time_new_now_utc ();
  early = g_date_time_compare (current, self->not_before) < 0;
  if (!early && g_date_time_compare (current, self->not_after) <= 0)
    return TRUE;

  who = describe (self);
  now_text = format_utc (current);
  date_text = format_utc (early ? self->not_before : self->not_after);
  if (early)
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED,
                 _ ("Certificate %s is not valid yet: notBefore is %s, now is %s"),
                 who, date_text, now_text);
  else
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED,
                 _ ("Certificate %s has expired: notAfter is %s, now is %s"),
                 who, date_text, now_text);
  return FALSE;
}

static void
set_verify_error (GError         **error,
                  CustosCertificate *self,
                  X509_STORE_CTX *ctx,
                  const char     *ca_file)
{
  int err = X509_STORE_CTX_get_error (ctx);
  X509 *at = X509_STORE_CTX_get_current_cert (ctx);
  g_autofree char *who = describe (self);
  char subject[256];
  /* Dates are their own error, so callers can tell "expired" from
   * "not issued by the CA". */
  CustosCryptoError code = (err == X509_V_ERR_CERT_HAS_EXPIRED ||
                            err == X509_V_ERR_CERT_NOT_YET_VALID)
                           ? CUSTOS_CRYPTO_ERROR_EXPIRED : CUSTOS_CRYPTO_ERROR_UNTRUSTED;

  if (at != NULL)
    {
      X509_NAME_oneline (X509_get_subject_name (at), subject, sizeof subject);
      ERR_clear_error ();
      /* Translators: the third %s is OpenSSL's reason (English); %d (%s) is where in
       * the chain, as a depth and the subject of the certificate there. */
      g_set_error (error, CUSTOS_CRYPTO_ERROR, code,
                   _ ("Certificate %s does not verify against the CA file %s: %s at depth %d "
                      "(%s)"),
                   who, ca_file, X509_verify_cert_error_string (err),
                   X509_STORE_CTX_get_error_depth (ctx), subject);
      return;
    }
  ERR_clear_error ();
  /* Translators: the third %s is OpenSSL's reason (English). */
  g_set_error (error, CUSTOS_CRYPTO_ERROR, code,
               _ ("Certificate %s does not verify against the CA file %s: %s"),
               who, ca_file, X509_verify_cert_error_string (err));
}

gboolean
custos_certificate_verify_chain (CustosCertificate  *self,
                                 GPtrArray          *intermediates,
                                 const char         *ca_file,
                                 GError            **error)
{
  g_autoptr (X509_STORE) store = X509_STORE_new ();
  g_autoptr (X509_STORE_CTX) ctx = X509_STORE_CTX_new ();
  STACK_OF (X509) *untrusted = NULL;
  gboolean ok;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), FALSE);
  g_return_val_if_fail (ca_file != NULL, FALSE);
  for (guint i = 0; intermediates != NULL && i < intermediates->len; i++)
    g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (g_ptr_array_index (intermediates, i)), FALSE);

  if (store == NULL || ctx == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot set up chain verification"));
      return FALSE;
    }
  if (!g_file_test (ca_file, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("CA file %s does not exist"),
                   ca_file);
      return FALSE;
    }
  if (!X509_STORE_load_file (store, ca_file))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                         _ ("Cannot load CA certificates from %s"), ca_file);
      return FALSE;
    }

  /* The stack borrows the X509s; the certificates outlive it. */
  untrusted = sk_X509_new_null ();
  for (guint i = 0; intermediates != NULL && i < intermediates->len; i++)
    sk_X509_push (untrusted, ((CustosCertificate *) g_ptr_array_index (intermediates, i))->x509);

  ok = X509_STORE_CTX_init (ctx, store, self->x509, untrusted) == 1 &&
       X509_verify_cert (ctx) == 1;
  if (!ok)
    set_verify_error (error, self, ctx, ca_file);
  sk_X509_free (untrusted);
  return ok;
}

gboolean
custos_certificate_equal (CustosCertificate *a,
                          CustosCertificate *b)
{
  if (a == b)
    return TRUE;
  if (!CUSTOS_IS_CERTIFICATE (a) || !CUSTOS_IS_CERTIFICATE (b))
    return FALSE;
  return memcmp (a->fingerprint, b->fingerprint, sizeof a->fingerprint) == 0;
}

gboolean
custos_certificate_matches_key (CustosCertificate *self,
                                EVP_PKEY          *private_key)
{
  EVP_PKEY *pub;
  gboolean matches;

  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (self), FALSE);
  g_return_val_if_fail (private_key != NULL, FALSE);

  pub = X509_get0_pubkey (self->x509);
  /* Keys of different types compare as -1 and leave errors behind. */
  matches = pub != NULL && EVP_PKEY_eq (pub, private_key) == 1;
  ERR_clear_error ();
  return matches;
}

char *
custos_hex_encode (const guint8 *data,
                   gsize         len)
{
  static const char digits[] = "0123456789abcdef";
  char *hex;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  hex = g_malloc (len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    {
      hex[2 * i] = digits[data[i] >> 4];
      hex[2 * i + 1] = digits[data[i] & 0xF];
    }
  hex[len * 2] = '\0';
  return hex;
}
