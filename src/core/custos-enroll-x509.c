/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The certificate or request of an enrolment, signed wherever the key is.
 *
 * OpenSSL 3.0 signs only with an EVP_PKEY it holds, and a key on a token
 * is not one (no engine or PKCS#11 provider here). So OpenSSL encodes the
 * to-be-signed part (i2d_re_X509_tbs, i2d_re_X509_REQ_tbs) with the
 * signature algorithm already in it, the caller's function signs those
 * bytes, and the outer SEQUENCE { tbs, signatureAlgorithm, BIT STRING } -
 * the same for certificates and requests - is assembled here, parsed
 * back by OpenSSL and verified with the public key before anyone sees it.
 */
#define G_LOG_DOMAIN "custos-enroll"

#include "config.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "custos-crypto-private.h"
#include "custos-enroll-private.h"
#include "custos-i18n-private.h"

/* notBefore an hour back: a client clock a little ahead of the
 * archiver's must not make a fresh certificate "not yet valid" there. */
#define BACKDATE_SECONDS (60 * 60)
#define SERIAL_LEN       16

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_ALGOR, X509_ALGOR_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)

typedef STACK_OF (X509_EXTENSION) ExtensionStack;

static void
extension_stack_free (ExtensionStack *stack)
{
  sk_X509_EXTENSION_pop_free (stack, X509_EXTENSION_free);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ExtensionStack, extension_stack_free)

/* sha256WithRSAEncryption (NULL parameters) or ecdsa-with-SHA256 (none). */
static gboolean
set_signature_algorithm (X509_ALGOR     *alg,
                         CustosKeyType   type,
                         GError        **error)
{
  gboolean ok;

  if (alg == NULL)
    ok = FALSE;
  else if (custos_key_type_is_rsa (type))
    ok = X509_ALGOR_set0 (alg, OBJ_nid2obj (NID_sha256WithRSAEncryption), V_ASN1_NULL, NULL);
  else
    ok = X509_ALGOR_set0 (alg, OBJ_nid2obj (NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL);
  if (!ok)
    custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                              _ ("Cannot set the signature algorithm"));
  return ok;
}

static const char *
key_usage_for (CustosKeyType type)
{
  /* digitalSignature: the key signs its own certificate or request.
   * keyEncipherment: RSA-OAEP key transport; keyAgreement: ECDH-ES. */
  return custos_key_type_is_rsa (type) ? "critical,digitalSignature,keyEncipherment"
                                       : "critical,digitalSignature,keyAgreement";
}

static X509_EXTENSION *
make_extension (X509V3_CTX  *ctx,
                int          nid,
                const char  *value,
                GError     **error)
{
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, ctx, nid, value);

  if (ext == NULL)
    custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot make the %s extension"),
                              OBJ_nid2sn (nid));
  return ext;
}

/* The public key must be what the spec asked for: a token that made
 * something else (another size, another curve) is not used silently. */
static gboolean
check_public_key (EVP_PKEY       *public_key,
                  CustosKeyType   type,
                  GError        **error)
{
  char curve[64] = "";
  gboolean ok;

  if (custos_key_type_is_rsa (type))
    ok = EVP_PKEY_is_a (public_key, "RSA") &&
         (guint) EVP_PKEY_get_bits (public_key) == custos_key_type_get_bits (type);
  else
    ok = EVP_PKEY_is_a (public_key, "EC") &&
         custos_crypto_ec_curve_nid (public_key, curve, sizeof curve) == NID_X9_62_prime256v1;
  if (!ok)
    g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                 _ ("the new key is a %d-bit %s key, not the %s asked for"),
                 EVP_PKEY_get_bits (public_key), EVP_PKEY_get0_type_name (public_key),
                 custos_key_type_to_string (type));
  return ok;
}

/* DER */

static void
der_append_header (GByteArray *out,
                   guint8      tag,
                   gsize       len)
{
  guint8 header[6] = { tag };
  guint n = 1;

  if (len < 0x80)
    header[n++] = (guint8) len;
  else
    {
      guint bytes = len > 0xFFFFFF ? 4 : len > 0xFFFF ? 3 : len > 0xFF ? 2 : 1;

      header[n++] = (guint8) (0x80 | bytes);
      for (guint i = bytes; i > 0; i--)
        header[n++] = (guint8) (len >> (8 * (i - 1)));
    }
  g_byte_array_append (out, header, n);
}

/* SEQUENCE { tbs, algorithm, BIT STRING (no unused bits) signature }. */
static GBytes *
assemble_signed (const guint8  *tbs,
                 gsize          tbs_len,
                 X509_ALGOR    *alg,
                 GBytes        *signature,
                 GError       **error)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  GByteArray *out = g_byte_array_new ();
  guint8 *alg_der = NULL;
  int alg_len = i2d_X509_ALGOR (alg, &alg_der);
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);
  const guint8 no_unused_bits = 0;

  if (alg_len <= 0)
    {
      g_byte_array_unref (out);
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot encode the signature algorithm"));
      return NULL;
    }
  g_byte_array_append (body, tbs, tbs_len);
  g_byte_array_append (body, alg_der, alg_len);
  der_append_header (body, V_ASN1_BIT_STRING, sig_len + 1);
  g_byte_array_append (body, &no_unused_bits, 1);
  g_byte_array_append (body, sig, sig_len);
  OPENSSL_free (alg_der);

  der_append_header (out, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, body->len);
  g_byte_array_append (out, body->data, body->len);
  return g_byte_array_free_to_bytes (out);
}

/* Signs the to-be-signed DER and assembles the signed object. */
static GBytes *
sign_and_assemble (guint8             *tbs,
                   int                 tbs_len,
                   CustosKeyType       type,
                   CustosTbsSignFunc   sign,
                   gpointer            user_data,
                   GError            **error)
{
  g_autoptr (X509_ALGOR) alg = X509_ALGOR_new ();
  g_autoptr (GBytes) signature = NULL;

  if (tbs_len <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot encode the part to be signed"));
      return NULL;
    }
  if (!set_signature_algorithm (alg, type, error))
    return NULL;
  signature = sign (tbs, tbs_len, user_data, error);
  if (signature == NULL)
    return NULL;
  return assemble_signed (tbs, tbs_len, alg, signature, error);
}

/* Certificates */

static gboolean
set_random_serial (X509    *x,
                   GError **error)
{
  guint8 serial[SERIAL_LEN];
  g_autoptr (BIGNUM) bn = NULL;

  if (!custos_random_bytes (serial, sizeof serial, error))
    return FALSE;
  /* Positive (RFC 5280) and always SERIAL_LEN bytes long. */
  serial[0] = (serial[0] & 0x7F) | 0x40;
  bn = BN_bin2bn (serial, sizeof serial, NULL);
  if (bn == NULL || BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (x)) == NULL)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot set the serial number"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_certificate_extensions (X509           *x,
                            CustosKeyType   type,
                            GError        **error)
{
  const struct { int nid; const char *value; } exts[] = {
    { NID_basic_constraints, "critical,CA:FALSE" },
    { NID_key_usage, key_usage_for (type) },
    { NID_subject_key_identifier, "hash" },
    /* After the subject key identifier, which it copies. */
    { NID_authority_key_identifier, "keyid:always" },
  };
  X509V3_CTX ctx;

  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, x, x, NULL, NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      X509_EXTENSION *ext = make_extension (&ctx, exts[i].nid, exts[i].value, error);
      gboolean added;

      if (ext == NULL)
        return FALSE;
      added = X509_add_ext (x, ext, -1);
      X509_EXTENSION_free (ext);
      if (!added)
        {
          custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                    _ ("Cannot add the %s extension"), OBJ_nid2sn (exts[i].nid));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
fill_certificate (X509                       *x,
                  const CustosEnrollRequest  *request,
                  EVP_PKEY                   *public_key,
                  GError                    **error)
{
  if (!X509_set_version (x, X509_VERSION_3) ||
      !X509_set_subject_name (x, request->subject) ||
      !X509_set_issuer_name (x, request->subject) ||
      X509_gmtime_adj (X509_getm_notBefore (x), -BACKDATE_SECONDS) == NULL ||
      X509_time_adj_ex (X509_getm_notAfter (x), (int) request->days, 0, NULL) == NULL ||
      !X509_set_pubkey (x, public_key))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot fill in the certificate"));
      return FALSE;
    }
  if (!set_random_serial (x, error) || !add_certificate_extensions (x, request->key_type, error))
    return FALSE;

  /* The TBS names its own signature algorithm; OpenSSL 3.0 has no setter
   * for it on X509 (only for requests), but hands out the field itself. */
  return set_signature_algorithm ((X509_ALGOR *) X509_get0_tbs_sigalg (x), request->key_type,
                                  error);
}

static gboolean
verify_certificate (GBytes    *der,
                    EVP_PKEY  *public_key,
                    GError   **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (der, &len);
  g_autoptr (X509) x = d2i_X509 (NULL, &p, (long) len);

  if (x == NULL || X509_verify (x, public_key) != 1)
    {
      custos_set_openssl_error (
          error, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE,
          _ ("The signed certificate does not verify with the new public key"));
      return FALSE;
    }
  return TRUE;
}

CustosCertificate *
custos_enroll_build_certificate (const CustosEnrollRequest  *request,
                                 EVP_PKEY                   *public_key,
                                 CustosTbsSignFunc           sign,
                                 gpointer                    user_data,
                                 GError                    **error)
{
  g_autoptr (X509) x = X509_new ();
  g_autoptr (GBytes) der = NULL;
  guint8 *tbs = NULL;
  int tbs_len;

  if (!check_public_key (public_key, request->key_type, error) ||
      !fill_certificate (x, request, public_key, error))
    return NULL;

  tbs_len = i2d_re_X509_tbs (x, &tbs);
  der = sign_and_assemble (tbs, tbs_len, request->key_type, sign, user_data, error);
  OPENSSL_free (tbs);
  if (der == NULL || !verify_certificate (der, public_key, error))
    return NULL;
  return custos_certificate_new_from_der (der, error);
}

/* Requests */

static gboolean
add_request_extensions (X509_REQ       *req,
                        CustosKeyType   type,
                        GError        **error)
{
  const struct { int nid; const char *value; } wanted[] = {
    { NID_basic_constraints, "critical,CA:FALSE" },
    { NID_key_usage, key_usage_for (type) },
  };
  g_autoptr (ExtensionStack) exts = sk_X509_EXTENSION_new_null ();
  X509V3_CTX ctx;

  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, NULL, NULL, req, NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (wanted); i++)
    {
      X509_EXTENSION *ext = make_extension (&ctx, wanted[i].nid, wanted[i].value, error);

      if (ext == NULL)
        return FALSE;
      sk_X509_EXTENSION_push (exts, ext);
    }
  if (!X509_REQ_add_extensions (req, exts))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot add the extensions to the request"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
verify_request (GBytes    *der,
                EVP_PKEY  *public_key,
                GError   **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (der, &len);
  g_autoptr (X509_REQ) req = d2i_X509_REQ (NULL, &p, (long) len);

  if (req == NULL || X509_REQ_verify (req, public_key) != 1)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE,
                                _ ("The signed request does not verify with the new public key"));
      return FALSE;
    }
  return TRUE;
}

GBytes *
custos_enroll_build_request (const CustosEnrollRequest  *request,
                             EVP_PKEY                   *public_key,
                             CustosTbsSignFunc           sign,
                             gpointer                    user_data,
                             GError                    **error)
{
  g_autoptr (X509_REQ) req = X509_REQ_new ();
  g_autoptr (GBytes) der = NULL;
  guint8 *tbs = NULL;
  int tbs_len;

  if (!check_public_key (public_key, request->key_type, error))
    return NULL;
  if (!X509_REQ_set_version (req, X509_REQ_VERSION_1) ||
      !X509_REQ_set_subject_name (req, request->subject) ||
      !X509_REQ_set_pubkey (req, public_key))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot fill in the request"));
      return NULL;
    }
  if (!add_request_extensions (req, request->key_type, error))
    return NULL;

  tbs_len = i2d_re_X509_REQ_tbs (req, &tbs);
  der = sign_and_assemble (tbs, tbs_len, request->key_type, sign, user_data, error);
  OPENSSL_free (tbs);
  if (der == NULL || !verify_request (der, public_key, error))
    return NULL;
  return g_steal_pointer (&der);
}
