/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-enroll"

#include "config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "custos-crypto-private.h"
#include "custos-i18n-private.h"
#include "custos-key-provider.h"
#include "custos-enroll-private.h"
#include "custos-local-enroll.h"

static EVP_PKEY *
generate_key (CustosKeyType   type,
              GError        **error)
{
  EVP_PKEY *pkey;

  if (custos_key_type_is_rsa (type))
    pkey = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) custos_key_type_get_bits (type));
  else
    pkey = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  if (pkey == NULL)
    custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot generate a %s key"),
                              custos_key_type_to_string (type));
  return pkey;
}

/* CustosTbsSignFunc for a key in memory: RSA PKCS#1 v1.5 or ECDSA (DER),
 * both with SHA-256, as a token would sign. */
static GBytes *
sign_in_software (const guint8  *tbs,
                  gsize          tbs_len,
                  gpointer       user_data,
                  GError       **error)
{
  EVP_PKEY *pkey = user_data;
  g_autoptr (EVP_MD_CTX) ctx = EVP_MD_CTX_new ();
  g_autofree guint8 *sig = NULL;
  size_t sig_len = 0;

  if (ctx == NULL ||
      !EVP_DigestSignInit_ex (ctx, NULL, "SHA256", NULL, NULL, pkey, NULL) ||
      !EVP_DigestSign (ctx, NULL, &sig_len, tbs, tbs_len))
    goto fail;
  sig = g_malloc (sig_len);
  if (!EVP_DigestSign (ctx, sig, &sig_len, tbs, tbs_len))
    goto fail;
  return g_bytes_new_take (g_steal_pointer (&sig), sig_len);

fail:
  custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("Cannot sign with the new key"));
  return NULL;
}

/* PKCS#8 EncryptedPrivateKeyInfo (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC). */
static GBytes *
encrypt_key (EVP_PKEY    *pkey,
             const char  *passphrase,
             GError     **error)
{
  g_autoptr (BIO) bio = BIO_new (BIO_s_secmem ());
  char *data = NULL;
  long len;

  if (bio == NULL ||
      !PEM_write_bio_PrivateKey_ex (bio, pkey, EVP_aes_256_cbc (), (const guchar *) passphrase,
                                    (int) strlen (passphrase), NULL, NULL, NULL, NULL))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("Cannot encrypt the new key"));
      return NULL;
    }
  len = BIO_get_mem_data (bio, &data);
  return g_bytes_new (data, len);
}

static gboolean
write_new_file (const char  *path,
                GBytes      *contents,
                GError     **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileOutputStream) out = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (contents, &len);

  /* Private: mode 0600. Create: fails if the file exists. */
  out = g_file_create (file, G_FILE_CREATE_PRIVATE, NULL, error);
  if (out == NULL)
    return FALSE;
  if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), data, len, NULL, NULL, error) ||
      !g_output_stream_close (G_OUTPUT_STREAM (out), NULL, error))
    {
      g_file_delete (file, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_arguments (const char  *key_path,
                 const char  *passphrase,
                 GError     **error)
{
  if (passphrase == NULL || *passphrase == '\0')
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                   _ ("a new key file needs a passphrase: %s would hold the key unencrypted"),
                   key_path);
      return FALSE;
    }
  if (g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _ ("%s exists already; a key file is never overwritten"), key_path);
      return FALSE;
    }
  return TRUE;
}

static CustosEnrollment *
enroll_request (const char                 *key_path,
                const CustosEnrollRequest  *request,
                const char                 *passphrase,
                GCancellable               *cancellable,
                GError                    **error)
{
  g_autoptr (EVP_PKEY) pkey = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GBytes) csr = NULL;
  g_autoptr (GBytes) pem = NULL;

  if (!check_arguments (key_path, passphrase, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  pkey = generate_key (request->key_type, error);
  if (pkey == NULL || g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (request->csr)
    csr = custos_enroll_build_request (request, pkey, sign_in_software, pkey, error);
  else
    cert = custos_enroll_build_certificate (request, pkey, sign_in_software, pkey, error);
  if (cert == NULL && csr == NULL)
    return NULL;

  pem = encrypt_key (pkey, passphrase, error);
  if (pem == NULL || !write_new_file (key_path, pem, error))
    return NULL;
  g_debug ("New %s key written to %s", custos_key_type_to_string (request->key_type), key_path);
  return custos_enrollment_new (request->key_type, cert, csr, "", request->label, NULL, key_path,
                                FALSE);
}

/**
 * custos_local_enroll:
 * @key_path: the key file to create
 * @spec: what to make
 * @passphrase: the key file's passphrase (not empty)
 *
 * Makes a key pair in software, writes its private key encrypted to
 * @key_path and returns the self-signed certificate or the request.
 *
 * Returns: (transfer full): the enrolment, or %NULL with @error set
 */
CustosEnrollment *
custos_local_enroll (const char              *key_path,
                     const CustosEnrollSpec  *spec,
                     const char              *passphrase,
                     GCancellable            *cancellable,
                     GError                 **error)
{
  g_autoptr (CustosEnrollRequest) request = NULL;

  g_return_val_if_fail (key_path != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);

  request = custos_enroll_request_new (spec, error);
  if (request == NULL)
    return NULL;
  return enroll_request (key_path, request, passphrase, cancellable, error);
}

typedef struct
{
  char                *key_path;
  CustosEnrollRequest *request;
  CustosSecret        *passphrase; /* NUL-terminated */
} LocalData;

static void
local_data_free (gpointer data)
{
  LocalData *ld = data;

  g_free (ld->key_path);
  g_clear_pointer (&ld->request, custos_enroll_request_free);
  g_clear_pointer (&ld->passphrase, custos_secret_unref);
  g_free (ld);
}

static void
local_enroll_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LocalData *ld = task_data;
  GError *error = NULL;
  CustosEnrollment *enrollment;

  enrollment = enroll_request (ld->key_path, ld->request,
                               (const char *) custos_secret_peek (ld->passphrase), cancellable,
                               &error);
  if (enrollment == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, enrollment, (GDestroyNotify) custos_enrollment_unref);
}

void
custos_local_enroll_async (const char              *key_path,
                           const CustosEnrollSpec  *spec,
                           const char              *passphrase,
                           GCancellable            *cancellable,
                           GAsyncReadyCallback      callback,
                           gpointer                 user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;
  LocalData *ld;
  gsize len;

  g_return_if_fail (key_path != NULL);
  g_return_if_fail (spec != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_local_enroll_async);

  ld = g_new0 (LocalData, 1);
  ld->key_path = g_strdup (key_path);
  len = passphrase != NULL ? strlen (passphrase) : 0;
  ld->passphrase = custos_secret_new (len + 1);
  if (len > 0)
    memcpy (custos_secret_get_data (ld->passphrase), passphrase, len);
  g_task_set_task_data (task, ld, local_data_free);

  ld->request = custos_enroll_request_new (spec, &error);
  if (ld->request == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_run_in_thread (task, local_enroll_thread);
}

/**
 * custos_local_enroll_finish:
 *
 * Returns: (transfer full): the enrolment, or %NULL with @error set
 */
CustosEnrollment *
custos_local_enroll_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == custos_local_enroll_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static CustosKeyType
key_type_of (EVP_PKEY *pkey)
{
  if (EVP_PKEY_is_a (pkey, "RSA"))
    return EVP_PKEY_get_bits (pkey) > 2048 ? CUSTOS_KEY_TYPE_RSA_3072 : CUSTOS_KEY_TYPE_RSA_2048;
  return CUSTOS_KEY_TYPE_EC_P256;
}

/**
 * custos_local_import_certificate:
 * @passphrase: (nullable): of the key file
 *
 * Returns: (transfer full): the pairing, or %NULL with @error set
 */
CustosEnrollment *
custos_local_import_certificate (const char         *key_path,
                                 CustosCertificate  *certificate,
                                 const char         *passphrase,
                                 GError            **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *cn = NULL;
  CustosWrapAlg alg;

  g_return_val_if_fail (key_path != NULL, NULL);
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (certificate), NULL);

  if (!custos_certificate_get_wrap_alg (certificate, FALSE, &alg, error))
    return NULL;
  if (g_date_time_compare (now, custos_certificate_get_not_after (certificate)) > 0)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED,
                   _ ("the certificate for %s has expired"), key_path);
      return NULL;
    }
  key = custos_private_key_load (key_path, passphrase, error);
  if (key == NULL)
    return NULL;
  if (!custos_certificate_matches_key (certificate, key))
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
                   _ ("the certificate is not for the key in %s"), key_path);
      return NULL;
    }
  cn = custos_certificate_dup_common_name (certificate);
  return custos_enrollment_new (key_type_of (key), certificate, NULL, "", cn, NULL, key_path,
                                FALSE);
}
