/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-keys"

#include "config.h"

#include <string.h>

#include "custos-i18n-private.h"
#include "custos-key-provider.h"

G_DEFINE_QUARK (custos-key-error-quark, custos_key_error)

/* CustosWrappedKek */

G_DEFINE_BOXED_TYPE (CustosWrappedKek, custos_wrapped_kek,
                     custos_wrapped_kek_copy, custos_wrapped_kek_free)

CustosWrappedKek *
custos_wrapped_kek_new (const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                        guint32        epoch,
                        CustosWrapAlg  alg,
                        GBytes        *wrapped)
{
  CustosWrappedKek *self;

  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL, NULL);

  self = g_new0 (CustosWrappedKek, 1);
  memcpy (self->recipient_id, recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  self->epoch = epoch;
  self->alg = alg;
  self->wrapped = g_bytes_ref (wrapped);

  return self;
}

CustosWrappedKek *
custos_wrapped_kek_copy (const CustosWrappedKek *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return custos_wrapped_kek_new (self->recipient_id, self->epoch, self->alg, self->wrapped);
}

void
custos_wrapped_kek_free (CustosWrappedKek *self)
{
  if (self == NULL)
    return;

  /* The wrapped blob is public (it is in the file), so nothing to wipe. */
  g_clear_pointer (&self->wrapped, g_bytes_unref);
  g_free (self);
}

/* CustosKeyProvider */

G_DEFINE_INTERFACE (CustosKeyProvider, custos_key_provider, G_TYPE_OBJECT)

enum {
  CERTIFICATE_ADDED,
  CERTIFICATE_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  CustosWrappedKek *wrapped;
  GTlsInteraction  *interaction;
} UnwrapData;

static void
unwrap_data_free (gpointer data)
{
  UnwrapData *ud = data;

  g_clear_pointer (&ud->wrapped, custos_wrapped_kek_free);
  g_clear_object (&ud->interaction);
  g_free (ud);
}

static void
custos_key_provider_real_unwrap_kek_thread (GTask        *task,
                                            gpointer      source_object,
                                            gpointer      task_data,
                                            GCancellable *cancellable)
{
  CustosKeyProvider *self = source_object;
  UnwrapData *ud = task_data;
  g_autoptr (CustosSecret) kek = NULL;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;

  kek = CUSTOS_KEY_PROVIDER_GET_IFACE (self)->unwrap_kek (self, ud->wrapped, ud->interaction,
                                                          cancellable, &error);
  if (kek == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* A caller that cancelled does not want the key; the ref we drop here
   * is the last one, so it is wiped now rather than later. */
  if (g_task_return_error_if_cancelled (task))
    return;

  g_task_return_pointer (task, g_steal_pointer (&kek), (GDestroyNotify) custos_secret_unref);
}

static void
custos_key_provider_real_unwrap_kek_async (CustosKeyProvider      *self,
                                           const CustosWrappedKek *wrapped,
                                           GTlsInteraction        *interaction,
                                           GCancellable           *cancellable,
                                           GAsyncReadyCallback     callback,
                                           gpointer                user_data)
{
  g_autoptr (GTask) task = NULL;
  UnwrapData *ud;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_key_provider_real_unwrap_kek_async);
  /* A card operation cannot be interrupted, but the caller need not wait
   * for it: a cancelled task returns at once and the KEK the thread may
   * still produce is wiped with the task. */
  g_task_set_return_on_cancel (task, TRUE);

  ud = g_new0 (UnwrapData, 1);
  ud->wrapped = custos_wrapped_kek_copy (wrapped);
  ud->interaction = interaction != NULL ? g_object_ref (interaction) : NULL;
  g_task_set_task_data (task, ud, unwrap_data_free);

  g_task_run_in_thread (task, custos_key_provider_real_unwrap_kek_thread);
}

static CustosSecret *
custos_key_provider_real_unwrap_kek_finish (CustosKeyProvider  *self,
                                            GAsyncResult       *result,
                                            GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        custos_key_provider_real_unwrap_kek_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
custos_key_provider_default_init (CustosKeyProviderInterface *iface)
{
  iface->unwrap_kek_async = custos_key_provider_real_unwrap_kek_async;
  iface->unwrap_kek_finish = custos_key_provider_real_unwrap_kek_finish;

  /**
   * CustosKeyProvider::certificate-added:
   * @certificate: the certificate whose key is now available
   *
   * A token holding a key came (a card was inserted).
   */
  signals[CERTIFICATE_ADDED] =
    g_signal_new ("certificate-added",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, CUSTOS_TYPE_CERTIFICATE);

  /**
   * CustosKeyProvider::certificate-removed:
   * @certificate: the certificate whose key went away
   *
   * A token holding a key went away (a card was pulled out). Whoever
   * keeps keys unwrapped with it must wipe them now.
   */
  signals[CERTIFICATE_REMOVED] =
    g_signal_new ("certificate-removed",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, CUSTOS_TYPE_CERTIFICATE);
}

void
custos_key_provider_emit_certificate_added (CustosKeyProvider *self,
                                            CustosCertificate *certificate)
{
  g_return_if_fail (CUSTOS_IS_KEY_PROVIDER (self));
  g_return_if_fail (CUSTOS_IS_CERTIFICATE (certificate));

  g_signal_emit (self, signals[CERTIFICATE_ADDED], 0, certificate);
}

void
custos_key_provider_emit_certificate_removed (CustosKeyProvider *self,
                                              CustosCertificate *certificate)
{
  g_return_if_fail (CUSTOS_IS_KEY_PROVIDER (self));
  g_return_if_fail (CUSTOS_IS_CERTIFICATE (certificate));

  g_signal_emit (self, signals[CERTIFICATE_REMOVED], 0, certificate);
}

/**
 * custos_key_provider_list_certificates:
 *
 * Returns: (transfer container) (element-type CustosCertificate): the
 *   certificates whose private keys @self holds
 */
GPtrArray *
custos_key_provider_list_certificates (CustosKeyProvider *self)
{
  CustosKeyProviderInterface *iface;

  g_return_val_if_fail (CUSTOS_IS_KEY_PROVIDER (self), NULL);

  iface = CUSTOS_KEY_PROVIDER_GET_IFACE (self);
  if (iface->list_certificates == NULL)
    return g_ptr_array_new_with_free_func (g_object_unref);

  return iface->list_certificates (self);
}

gboolean
custos_key_provider_has_recipient (CustosKeyProvider *self,
                                   const guint8       recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  CustosKeyProviderInterface *iface;

  g_return_val_if_fail (CUSTOS_IS_KEY_PROVIDER (self), FALSE);
  g_return_val_if_fail (recipient_id != NULL, FALSE);

  iface = CUSTOS_KEY_PROVIDER_GET_IFACE (self);
  if (iface->has_recipient == NULL)
    return FALSE;

  return iface->has_recipient (self, recipient_id);
}

/**
 * custos_key_provider_unwrap_kek:
 *
 * Unwraps the KEK of one RECIPIENT record. May block on card I/O or on a
 * passphrase prompt through @interaction.
 *
 * Returns: (transfer full): the KEK, or %NULL with @error set
 */
CustosSecret *
custos_key_provider_unwrap_kek (CustosKeyProvider       *self,
                                const CustosWrappedKek  *wrapped,
                                GTlsInteraction         *interaction,
                                GCancellable            *cancellable,
                                GError                 **error)
{
  CustosKeyProviderInterface *iface;

  g_return_val_if_fail (CUSTOS_IS_KEY_PROVIDER (self), NULL);
  g_return_val_if_fail (wrapped != NULL, NULL);
  g_return_val_if_fail (interaction == NULL || G_IS_TLS_INTERACTION (interaction), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = CUSTOS_KEY_PROVIDER_GET_IFACE (self);
  if (iface->unwrap_kek == NULL)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
                   _ ("%s cannot unwrap keys"), G_OBJECT_TYPE_NAME (self));
      return NULL;
    }

  return iface->unwrap_kek (self, wrapped, interaction, cancellable, error);
}

void
custos_key_provider_unwrap_kek_async (CustosKeyProvider      *self,
                                      const CustosWrappedKek *wrapped,
                                      GTlsInteraction        *interaction,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data)
{
  g_return_if_fail (CUSTOS_IS_KEY_PROVIDER (self));
  g_return_if_fail (wrapped != NULL);
  g_return_if_fail (interaction == NULL || G_IS_TLS_INTERACTION (interaction));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  CUSTOS_KEY_PROVIDER_GET_IFACE (self)->unwrap_kek_async (self, wrapped, interaction, cancellable,
                                                          callback, user_data);
}

/**
 * custos_key_provider_unwrap_kek_finish:
 *
 * Returns: (transfer full): the KEK, or %NULL with @error set
 */
CustosSecret *
custos_key_provider_unwrap_kek_finish (CustosKeyProvider  *self,
                                       GAsyncResult       *result,
                                       GError            **error)
{
  g_return_val_if_fail (CUSTOS_IS_KEY_PROVIDER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return CUSTOS_KEY_PROVIDER_GET_IFACE (self)->unwrap_kek_finish (self, result, error);
}
