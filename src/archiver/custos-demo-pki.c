/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "custos-crypto.h"
#include "custos-demo-pki.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)

static gboolean
openssl_error (GError    **error,
               const char *what)
{
  char buf[256];

  ERR_error_string_n (ERR_get_error (), buf, sizeof buf);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, buf);
  return FALSE;
}

EVP_PKEY *
custos_demo_pki_new_key (GError **error)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");

  if (key == NULL)
    openssl_error (error, _("Cannot make a key"));
  return key;
}

static gboolean
add_extension (X509       *cert,
               X509V3_CTX *ctx,
               int         nid,
               const char *value)
{
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, ctx, nid, value);
  gboolean ok = ext != NULL && X509_add_ext (cert, ext, -1);

  X509_EXTENSION_free (ext);
  return ok;
}

static gboolean
add_extensions (X509               *cert,
                X509               *issuer,
                CustosDemoCertKind  kind)
{
  X509V3_CTX ctx;
  gboolean ok;

  X509V3_set_ctx (&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
  ok = add_extension (cert, &ctx, NID_subject_key_identifier, "hash") &&
       add_extension (cert, &ctx, NID_authority_key_identifier, "keyid:always");
  switch (kind)
    {
    case CUSTOS_DEMO_CERT_CA:
      return ok && add_extension (cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
             add_extension (cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    case CUSTOS_DEMO_CERT_SERVER:
      return ok && add_extension (cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension (cert, &ctx, NID_key_usage, "critical,digitalSignature") &&
             add_extension (cert, &ctx, NID_ext_key_usage, "serverAuth") &&
             add_extension (cert, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    case CUSTOS_DEMO_CERT_SIGNER:
      return ok && add_extension (cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension (cert, &ctx, NID_key_usage, "critical,digitalSignature");
    case CUSTOS_DEMO_CERT_CLIENT:
    default:
      /* TLS client authentication (signature) and ECDH key wrapping. */
      return ok && add_extension (cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension (cert, &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement") &&
             add_extension (cert, &ctx, NID_ext_key_usage, "clientAuth");
    }
}

static gboolean
set_serial (X509 *cert)
{
  g_autoptr (BIGNUM) bn = BN_new ();
  gboolean ok = bn != NULL && BN_rand (bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
                BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (cert)) != NULL;

  return ok;
}

X509 *
custos_demo_pki_issue (EVP_PKEY           *subject,
                       const char         *common_name,
                       CustosDemoCertKind  kind,
                       EVP_PKEY           *issuer_key,
                       X509               *issuer,
                       guint               days,
                       GError            **error)
{
  g_autoptr (X509) cert = X509_new ();
  X509_NAME *name = X509_get_subject_name (cert);

  if (cert == NULL || !X509_set_version (cert, 2) || !set_serial (cert) ||
      !X509_NAME_add_entry_by_txt (name, "O", MBSTRING_UTF8, (const guchar *) "Custos demo", -1,
                                   -1, 0) ||
      !X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8, (const guchar *) common_name, -1,
                                   -1, 0) ||
      !X509_set_issuer_name (cert, issuer ? X509_get_subject_name (issuer) : name) ||
      /* An hour back: clocks of the demo's clients may lag a little. */
      X509_gmtime_adj (X509_getm_notBefore (cert), -3600) == NULL ||
      X509_gmtime_adj (X509_getm_notAfter (cert), (long) days * 86400) == NULL ||
      !X509_set_pubkey (cert, subject) || !add_extensions (cert, issuer, kind) ||
      !X509_sign (cert, issuer_key, EVP_sha256 ()))
    {
      openssl_error (error, _("Cannot make a certificate"));
      return NULL;
    }
  return g_steal_pointer (&cert);
}

static FILE *
open_private (const char  *path,
              GError     **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;

  if (f == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      if (fd >= 0)
        close (fd);
    }
  return f;
}

gboolean
custos_demo_pki_write_key (EVP_PKEY    *key,
                           const char  *path,
                           GError     **error)
{
  FILE *f = open_private (path, error);
  gboolean ok;

  if (f == NULL)
    return FALSE;
  ok = PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL);
  ok = fclose (f) == 0 && ok;
  return ok || openssl_error (error, path);
}

gboolean
custos_demo_pki_write_cert (X509        *cert,
                            const char  *path,
                            gboolean     der,
                            GError     **error)
{
  FILE *f = g_fopen (path, "wb");
  gboolean ok;

  if (f == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      return FALSE;
    }
  ok = der ? i2d_X509_fp (f, cert) : PEM_write_X509 (f, cert);
  ok = fclose (f) == 0 && ok;
  return ok || openssl_error (error, path);
}

EVP_PKEY *
custos_demo_pki_read_public_key (const char  *path,
                                 GError     **error)
{
  FILE *f = g_fopen (path, "rb");
  EVP_PKEY *key = f ? PEM_read_PUBKEY (f, NULL, NULL, NULL) : NULL;

  if (f != NULL)
    fclose (f);
  if (key == NULL)
    openssl_error (error, path);
  return key;
}
