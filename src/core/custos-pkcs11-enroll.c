/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "custos-crypto.h"
#include "custos-enroll-private.h"
#include "custos-i18n-private.h"
#include "custos-pkcs11-enroll.h"
#include "custos-pkcs11-keygen.h"
#include "custos-pkcs11-objects.h"
#include "custos-pkcs11-provider-private.h"

/* A fresh random CKA_ID per key pair: unique on any token without
 * reading what is there, and what the certificate is paired by. */
#define KEY_ID_LEN 16

typedef enum
{
  ADMIN_ENROLL,
  ADMIN_IMPORT,
  ADMIN_LOGIN,
} AdminKind;

/* One administrative operation: its input, then its result. */
typedef struct
{
  AdminKind              kind;
  CustosPkcs11TokenInfo *token;
  GTlsInteraction       *interaction;
  CustosEnrollRequest   *request;     /* ADMIN_ENROLL */
  CustosCertificate     *certificate; /* ADMIN_IMPORT */
  char                  *label;       /* ADMIN_IMPORT, may be NULL */
  CustosEnrollment      *result;
} Admin;

static void
admin_free (Admin *self)
{
  g_clear_pointer (&self->token, custos_pkcs11_token_info_unref);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->request, custos_enroll_request_free);
  g_clear_object (&self->certificate);
  g_free (self->label);
  g_clear_pointer (&self->result, custos_enrollment_unref);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Admin, admin_free)

static Admin *
admin_new (AdminKind              kind,
           CustosPkcs11TokenInfo *token,
           GTlsInteraction       *interaction)
{
  Admin *self = g_new0 (Admin, 1);

  self->kind = kind;
  self->token = custos_pkcs11_token_info_ref (token);
  self->interaction = interaction != NULL ? g_object_ref (interaction) : NULL;
  return self;
}

/* Helpers */

static char *
token_label (const CK_TOKEN_INFO *token)
{
  return custos_pkcs11_dup_padded (token->label, sizeof token->label);
}

static char *
private_key_uri (const CK_TOKEN_INFO *token,
                 GBytes              *id,
                 const char          *label)
{
  P11KitUri *uri = p11_kit_uri_new ();
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE attrs[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, (void *) g_bytes_get_data (id, NULL), g_bytes_get_size (id) },
    { CKA_LABEL, (void *) label, strlen (label) },
  };
  char *text = NULL;
  char *ret;

  memcpy (p11_kit_uri_get_token_info (uri), token, sizeof *token);
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    if (attrs[i].ulValueLen > 0)
      p11_kit_uri_set_attribute (uri, &attrs[i]);
  if (p11_kit_uri_format (uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &text) != P11_KIT_URI_OK)
    text = NULL;
  ret = g_strdup (text != NULL ? text : "pkcs11:");
  free (text);
  p11_kit_uri_free (uri);
  return ret;
}

static char *
hex_of (GBytes *bytes)
{
  return custos_hex_encode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Errors of token operations name the token; those of the login do
 * already. */
static void
prefix_token (GError              **error,
              const CK_TOKEN_INFO  *token)
{
  g_autofree char *label = token_label (token);

  g_prefix_error (error, _ ("token “%s”: "), label);
}

static gboolean
check_cancelled (GCancellable  *cancellable,
                 GError       **error)
{
  return g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* Enrolment */

static EVP_PKEY *
read_new_public_key (CK_FUNCTION_LIST     *funcs,
                     CK_SESSION_HANDLE     session,
                     CustosPkcs11KeyPair  *pair,
                     GError              **error)
{
  g_autoptr (GError) local_error = NULL;
  EVP_PKEY *pkey;

  pkey = custos_pkcs11_objects_get_public_key (funcs, session, pair->public_key, &local_error);
  if (pkey != NULL)
    return pkey;
  /* Tokens that keep no public object still show an RSA modulus. */
  pkey = custos_pkcs11_objects_get_public_key (funcs, session, pair->private_key, NULL);
  if (pkey == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return pkey;
}

/* Everything after the generation; on failure the caller destroys the
 * key pair. */
static gboolean
complete_enrolment (CK_FUNCTION_LIST           *funcs,
                    CK_SESSION_HANDLE           session,
                    const CK_TOKEN_INFO        *token,
                    const CustosEnrollRequest  *request,
                    CustosPkcs11KeyPair        *pair,
                    GBytes                     *id,
                    GCancellable               *cancellable,
                    CustosEnrollment          **result,
                    GError                    **error)
{
  CustosPkcs11Signer signer = { funcs, session, pair->private_key, request->key_type };
  g_autoptr (EVP_PKEY) public_key = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GBytes) csr = NULL;
  g_autoptr (GBytes) token_id = NULL;
  g_autofree char *id_hex = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *label = token_label (token);

  /* A token may have chosen the CKA_ID itself (PKCS#15 cards do). */
  token_id = custos_pkcs11_objects_get_attribute (funcs, session, pair->private_key, CKA_ID);
  if (token_id == NULL || g_bytes_get_size (token_id) == 0)
    {
      g_clear_pointer (&token_id, g_bytes_unref);
      token_id = g_bytes_ref (id);
    }

  public_key = read_new_public_key (funcs, session, pair, error);
  if (public_key == NULL || check_cancelled (cancellable, error))
    return FALSE;

  if (request->csr)
    csr = custos_enroll_build_request (request, public_key, custos_pkcs11_sign_tbs, &signer, error);
  else
    cert = custos_enroll_build_certificate (request, public_key, custos_pkcs11_sign_tbs, &signer,
                                            error);
  if ((cert == NULL && csr == NULL) || check_cancelled (cancellable, error))
    return FALSE;
  if (cert != NULL &&
      !custos_pkcs11_objects_store_certificate (funcs, session, cert, token_id, request->label,
                                                error))
    return FALSE;

  id_hex = hex_of (token_id);
  uri = private_key_uri (token, token_id, request->label);
  *result = custos_enrollment_new (request->key_type, cert, csr, id_hex, request->label, label,
                                   uri, cert != NULL);
  return TRUE;
}

/* CustosPkcs11AdminFunc */
static gboolean
enroll_on_token (CK_FUNCTION_LIST     *funcs,
                 CK_SESSION_HANDLE     session,
                 const CK_TOKEN_INFO  *token,
                 GCancellable         *cancellable,
                 gpointer              user_data,
                 GError              **error)
{
  Admin *admin = user_data;
  CustosPkcs11KeyPair pair = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };
  guint8 id_data[KEY_ID_LEN];
  g_autoptr (GBytes) id = NULL;
  gint64 start = g_get_monotonic_time ();

  if (!custos_random_bytes (id_data, sizeof id_data, error))
    return FALSE;
  id = g_bytes_new (id_data, sizeof id_data);

  if (!custos_pkcs11_generate_key_pair (funcs, session, admin->request->key_type, id,
                                        admin->request->label, &pair, error))
    {
      prefix_token (error, token);
      return FALSE;
    }
  g_debug ("Generated a %s key pair on the token in %.0f ms",
           custos_key_type_to_string (admin->request->key_type),
           (g_get_monotonic_time () - start) / 1e3);

  if (!complete_enrolment (funcs, session, token, admin->request, &pair, id, cancellable,
                           &admin->result, error))
    {
      custos_pkcs11_destroy_key_pair (funcs, session, &pair);
      prefix_token (error, token);
      return FALSE;
    }
  return TRUE;
}

/* Import */

/* The certificate object with exactly this DER, if the token has one. */
static CK_OBJECT_HANDLE
find_same_certificate (CK_FUNCTION_LIST   *funcs,
                       CK_SESSION_HANDLE   session,
                       CustosCertificate  *certificate,
                       GError            **error)
{
  GBytes *der = custos_certificate_get_der (certificate);
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_VALUE, (void *) g_bytes_get_data (der, NULL), g_bytes_get_size (der) },
  };
  g_autoptr (GArray) found = custos_pkcs11_objects_find (funcs, session, match,
                                                         G_N_ELEMENTS (match), error);

  if (found == NULL || found->len == 0)
    return CK_INVALID_HANDLE;
  return g_array_index (found, CK_OBJECT_HANDLE, 0);
}

static char *
dup_label (CK_FUNCTION_LIST  *funcs,
           CK_SESSION_HANDLE  session,
           CK_OBJECT_HANDLE   object)
{
  g_autoptr (GBytes) label = custos_pkcs11_objects_get_attribute (funcs, session, object,
                                                                  CKA_LABEL);

  if (label == NULL || g_bytes_get_size (label) == 0)
    return NULL;
  return g_strndup (g_bytes_get_data (label, NULL), g_bytes_get_size (label));
}

static gboolean
set_import_result (Admin                *admin,
                   const CK_TOKEN_INFO  *token,
                   GBytes               *id,
                   const char           *label,
                   gboolean              stored)
{
  g_autofree char *id_hex = hex_of (id);
  g_autofree char *uri = private_key_uri (token, id, label);
  g_autofree char *tlabel = token_label (token);
  EVP_PKEY *pkey = custos_certificate_get_public_key (admin->certificate);
  CustosKeyType type = CUSTOS_KEY_TYPE_EC_P256;

  if (EVP_PKEY_is_a (pkey, "RSA"))
    type = EVP_PKEY_get_bits (pkey) > 2048 ? CUSTOS_KEY_TYPE_RSA_3072 : CUSTOS_KEY_TYPE_RSA_2048;
  admin->result = custos_enrollment_new (type, admin->certificate, NULL, id_hex, label, tlabel,
                                         uri, stored);
  return TRUE;
}

static gboolean
import_already_there (Admin                *admin,
                      CK_FUNCTION_LIST     *funcs,
                      CK_SESSION_HANDLE     session,
                      const CK_TOKEN_INFO  *token,
                      CK_OBJECT_HANDLE      object)
{
  g_autoptr (GBytes) id = custos_pkcs11_objects_get_attribute (funcs, session, object, CKA_ID);
  g_autofree char *label = dup_label (funcs, session, object);

  if (id == NULL)
    id = g_bytes_new (NULL, 0);
  return set_import_result (admin, token, id, label != NULL ? label : "", FALSE);
}

static void
set_no_key_error (CustosCertificate  *certificate,
                  const char         *what,
                  GError            **error)
{
  g_autofree char *subject = custos_certificate_dup_subject (certificate);

  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
               _ ("%s for the certificate “%s”: it was issued for a key made elsewhere, or the "
                  "key was deleted"),
               what, subject);
}

/* CustosPkcs11AdminFunc */
static gboolean
import_on_token (CK_FUNCTION_LIST     *funcs,
                 CK_SESSION_HANDLE     session,
                 const CK_TOKEN_INFO  *token,
                 GCancellable         *cancellable,
                 gpointer              user_data,
                 GError              **error)
{
  Admin *admin = user_data;
  EVP_PKEY *public_key = custos_certificate_get_public_key (admin->certificate);
  g_autoptr (GBytes) id = NULL;
  g_autofree char *label = NULL;
  CK_OBJECT_HANDLE object;
  GError *local_error = NULL;

  object = find_same_certificate (funcs, session, admin->certificate, &local_error);
  if (object != CK_INVALID_HANDLE)
    return import_already_there (admin, funcs, session, token, object);
  if (local_error == NULL)
    id = custos_pkcs11_objects_find_key_id (funcs, session, public_key, &local_error);
  if (local_error == NULL && id == NULL)
    set_no_key_error (admin->certificate, "no key pair on this token", &local_error);
  if (local_error == NULL)
    {
      object = custos_pkcs11_objects_find_by_id (funcs, session, CKO_PRIVATE_KEY, id,
                                                 &local_error);
      if (object == CK_INVALID_HANDLE && local_error == NULL)
        set_no_key_error (admin->certificate, "the token holds the public key but no private key",
                          &local_error);
    }
  if (local_error == NULL && !check_cancelled (cancellable, &local_error))
    {
      label = admin->label != NULL ? g_strdup (admin->label) : dup_label (funcs, session, object);
      if (label == NULL)
        label = custos_certificate_dup_common_name (admin->certificate);
      if (label == NULL)
        label = g_strdup ("");
      if (custos_pkcs11_objects_store_certificate (funcs, session, admin->certificate, id, label,
                                                   &local_error))
        return set_import_result (admin, token, id, label, TRUE);
    }
  g_propagate_error (error, local_error);
  prefix_token (error, token);
  return FALSE;
}

static gboolean
check_importable (CustosCertificate  *certificate,
                  GError            **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  CustosWrapAlg alg;

  if (!custos_certificate_get_wrap_alg (certificate, FALSE, &alg, error))
    return FALSE;
  if (g_date_time_compare (now, custos_certificate_get_not_after (certificate)) > 0)
    {
      g_autofree char *subject = custos_certificate_dup_subject (certificate);
      g_autofree char *date = g_date_time_format_iso8601 (
        custos_certificate_get_not_after (certificate));

      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED,
                   _ ("the certificate “%s” expired on %s"), subject, date);
      return FALSE;
    }
  return TRUE;
}

/* Running one */

static gboolean
admin_run (CustosPkcs11Provider  *provider,
           Admin                 *admin,
           GCancellable          *cancellable,
           GError               **error)
{
  g_autoptr (CustosPkcs11Session) session = NULL;
  g_autoptr (GPtrArray) added = NULL;
  CustosPkcs11AdminFunc func = NULL;

  if (check_cancelled (cancellable, error))
    return FALSE;
  session = custos_pkcs11_provider_dup_session (provider, admin->token, error);
  if (session == NULL)
    return FALSE;

  if (admin->kind == ADMIN_ENROLL)
    func = enroll_on_token;
  else if (admin->kind == ADMIN_IMPORT)
    func = import_on_token;
  if (!custos_pkcs11_session_run_admin (session, admin->interaction, cancellable,
                                        custos_pkcs11_provider_get_stats (provider), func, admin,
                                        &added, error))
    return FALSE;

  if (added != NULL && added->len > 0)
    custos_pkcs11_provider_announce_added (provider, added);
  return TRUE;
}

static void
admin_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  Admin *admin = task_data;
  GError *error = NULL;

  if (!admin_run (source_object, admin, cancellable, &error))
    g_task_return_error (task, error);
  else if (admin->kind == ADMIN_LOGIN)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_pointer (task, g_steal_pointer (&admin->result),
                           (GDestroyNotify) custos_enrollment_unref);
}

/* Takes admin; a setup error is returned through the task. */
static void
admin_start (CustosPkcs11Provider *provider,
             Admin                *admin,
             GError               *setup_error,
             gpointer              source_tag,
             GCancellable         *cancellable,
             GAsyncReadyCallback   callback,
             gpointer              user_data)
{
  g_autoptr (GTask) task = g_task_new (provider, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, admin, (GDestroyNotify) admin_free);
  if (setup_error != NULL)
    {
      g_task_return_error (task, setup_error);
      return;
    }
  /* Not return-on-cancel: a key being generated must be seen through
   * (and destroyed), not abandoned on the card. */
  g_task_run_in_thread (task, admin_thread);
}

static CustosEnrollment *
admin_finish_pointer (CustosPkcs11Provider  *provider,
                      GAsyncResult          *result,
                      gpointer               source_tag,
                      GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static Admin *
enroll_admin_new (CustosPkcs11TokenInfo   *token,
                  const CustosEnrollSpec  *spec,
                  GTlsInteraction         *interaction,
                  GError                 **error)
{
  Admin *admin = admin_new (ADMIN_ENROLL, token, interaction);

  /* A bad subject fails here, before any PIN is asked. */
  admin->request = custos_enroll_request_new (spec, error);
  return admin;
}

static Admin *
import_admin_new (CustosPkcs11TokenInfo  *token,
                  CustosCertificate      *certificate,
                  const char             *label,
                  GTlsInteraction        *interaction,
                  GError                **error)
{
  Admin *admin = admin_new (ADMIN_IMPORT, token, interaction);

  admin->certificate = g_object_ref (certificate);
  admin->label = g_strdup (label);
  check_importable (certificate, error);
  return admin;
}

/* Public API */

/**
 * custos_pkcs11_enroll:
 * @provider: the provider that listed @token
 * @token: where to make the key pair
 * @spec: what to make
 * @interaction: (nullable): asks the PIN
 *
 * Generates a key pair on @token and returns its self-signed certificate
 * (stored on @token) or its certificate request.
 *
 * Returns: (transfer full): the enrolment, or %NULL with @error set
 */
CustosEnrollment *
custos_pkcs11_enroll (CustosPkcs11Provider    *provider,
                      CustosPkcs11TokenInfo   *token,
                      const CustosEnrollSpec  *spec,
                      GTlsInteraction         *interaction,
                      GCancellable            *cancellable,
                      GError                 **error)
{
  g_autoptr (Admin) admin = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider), NULL);
  g_return_val_if_fail (token != NULL && spec != NULL, NULL);

  admin = enroll_admin_new (token, spec, interaction, &local_error);
  if (local_error != NULL || !admin_run (provider, admin, cancellable, &local_error))
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  return g_steal_pointer (&admin->result);
}

void
custos_pkcs11_enroll_async (CustosPkcs11Provider    *provider,
                            CustosPkcs11TokenInfo   *token,
                            const CustosEnrollSpec  *spec,
                            GTlsInteraction         *interaction,
                            GCancellable            *cancellable,
                            GAsyncReadyCallback      callback,
                            gpointer                 user_data)
{
  GError *error = NULL;
  Admin *admin;

  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider));
  g_return_if_fail (token != NULL && spec != NULL);

  admin = enroll_admin_new (token, spec, interaction, &error);
  admin_start (provider, admin, error, custos_pkcs11_enroll_async, cancellable, callback,
               user_data);
}

/**
 * custos_pkcs11_enroll_finish:
 *
 * Returns: (transfer full): the enrolment, or %NULL with @error set
 */
CustosEnrollment *
custos_pkcs11_enroll_finish (CustosPkcs11Provider  *provider,
                             GAsyncResult          *result,
                             GError               **error)
{
  return admin_finish_pointer (provider, result, custos_pkcs11_enroll_async, error);
}

/**
 * custos_pkcs11_import_certificate:
 * @label: (nullable): CKA_LABEL of the certificate object
 * @interaction: (nullable): asks the PIN
 *
 * Returns: (transfer full): the certificate as stored, or %NULL with
 *   @error set
 */
CustosEnrollment *
custos_pkcs11_import_certificate (CustosPkcs11Provider   *provider,
                                  CustosPkcs11TokenInfo  *token,
                                  CustosCertificate      *certificate,
                                  const char             *label,
                                  GTlsInteraction        *interaction,
                                  GCancellable           *cancellable,
                                  GError                **error)
{
  g_autoptr (Admin) admin = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider), NULL);
  g_return_val_if_fail (token != NULL && CUSTOS_IS_CERTIFICATE (certificate), NULL);

  admin = import_admin_new (token, certificate, label, interaction, &local_error);
  if (local_error != NULL || !admin_run (provider, admin, cancellable, &local_error))
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  return g_steal_pointer (&admin->result);
}

void
custos_pkcs11_import_certificate_async (CustosPkcs11Provider   *provider,
                                        CustosPkcs11TokenInfo  *token,
                                        CustosCertificate      *certificate,
                                        const char             *label,
                                        GTlsInteraction        *interaction,
                                        GCancellable           *cancellable,
                                        GAsyncReadyCallback     callback,
                                        gpointer                user_data)
{
  GError *error = NULL;
  Admin *admin;

  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider));
  g_return_if_fail (token != NULL && CUSTOS_IS_CERTIFICATE (certificate));

  admin = import_admin_new (token, certificate, label, interaction, &error);
  admin_start (provider, admin, error, custos_pkcs11_import_certificate_async, cancellable,
               callback, user_data);
}

/**
 * custos_pkcs11_import_certificate_finish:
 *
 * Returns: (transfer full): the certificate as stored, or %NULL with
 *   @error set
 */
CustosEnrollment *
custos_pkcs11_import_certificate_finish (CustosPkcs11Provider  *provider,
                                         GAsyncResult          *result,
                                         GError               **error)
{
  return admin_finish_pointer (provider, result, custos_pkcs11_import_certificate_async, error);
}

gboolean
custos_pkcs11_login (CustosPkcs11Provider   *provider,
                     CustosPkcs11TokenInfo  *token,
                     GTlsInteraction        *interaction,
                     GCancellable           *cancellable,
                     GError                **error)
{
  g_autoptr (Admin) admin = NULL;

  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider), FALSE);
  g_return_val_if_fail (token != NULL, FALSE);

  admin = admin_new (ADMIN_LOGIN, token, interaction);
  return admin_run (provider, admin, cancellable, error);
}

void
custos_pkcs11_login_async (CustosPkcs11Provider   *provider,
                           CustosPkcs11TokenInfo  *token,
                           GTlsInteraction        *interaction,
                           GCancellable           *cancellable,
                           GAsyncReadyCallback     callback,
                           gpointer                user_data)
{
  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (provider));
  g_return_if_fail (token != NULL);

  admin_start (provider, admin_new (ADMIN_LOGIN, token, interaction), NULL,
               custos_pkcs11_login_async, cancellable, callback, user_data);
}

gboolean
custos_pkcs11_login_finish (CustosPkcs11Provider  *provider,
                            GAsyncResult          *result,
                            GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == custos_pkcs11_login_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
