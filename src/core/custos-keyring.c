/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-keys"

#include "config.h"

#include <string.h>

#include "custos-i18n-private.h"
#include "custos-keyring.h"

#define DEFAULT_CACHE_LIFETIME_MS (10 * 60 * 1000)

struct _CustosKeyring
{
  GObject         parent_instance;

  /* Providers are added from the UI and used from unwrap threads. */
  GMutex          mutex;
  GPtrArray      *providers;    /* CustosKeyProvider */
  CustosKeyCache *cache;
  guint64         unwrap_count; /* atomic */
};

static void custos_keyring_iface_init (CustosKeyProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosKeyring, custos_keyring, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_KEY_PROVIDER,
                                                      custos_keyring_iface_init))

/* A snapshot, so providers are called without our lock held: they may
 * block on a card or a prompt for a long time. */
static GPtrArray *
dup_providers (CustosKeyring *self)
{
  GPtrArray *ret;

  g_mutex_lock (&self->mutex);
  ret = g_ptr_array_new_full (self->providers->len, g_object_unref);
  for (guint i = 0; i < self->providers->len; i++)
    g_ptr_array_add (ret, g_object_ref (g_ptr_array_index (self->providers, i)));
  g_mutex_unlock (&self->mutex);

  return ret;
}

static CustosKeyProvider *
find_provider (CustosKeyring *self,
               const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  g_autoptr (GPtrArray) providers = dup_providers (self);

  for (guint i = 0; i < providers->len; i++)
    {
      CustosKeyProvider *provider = g_ptr_array_index (providers, i);

      if (custos_key_provider_has_recipient (provider, recipient_id))
        return g_object_ref (provider);
    }

  return NULL;
}

static GError *
no_key_error (CustosKeyring *self,
              const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  g_autoptr (GPtrArray) certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (self));
  g_autoptr (GString) available = g_string_new (NULL);
  g_autofree char *hex = custos_hex_encode (recipient_id, CUSTOS_RECIPIENT_ID_LEN);

  for (guint i = 0; i < certs->len; i++)
    {
      g_autofree char *fp = custos_certificate_dup_fingerprint_hex (g_ptr_array_index (certs, i));

      if (available->len > 0)
        g_string_append (available, ", ");
      g_string_append (available, fp);
    }

  return g_error_new (CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
                      _ ("no key for recipient %s; available: %s"),
                      hex, available->len > 0 ? available->str : "none");
}

/* Records a KEK a provider unwrapped. A provider removed while it worked
 * must not leave its key behind, so the check and the insert happen under
 * the lock remove_provider() takes before clearing the cache. */
static void
remember_kek (CustosKeyring          *self,
              CustosKeyProvider      *provider,
              const CustosWrappedKek *wrapped,
              CustosSecret           *kek)
{
  __atomic_add_fetch (&self->unwrap_count, 1, __ATOMIC_RELAXED);

  /* The same goes for a card pulled out while it worked: the provider
   * stops claiming the recipient before it emits "certificate-removed",
   * whose handler clears under this lock, so asking here (a quick,
   * non-blocking question) closes the gap. */
  g_mutex_lock (&self->mutex);
  if (g_ptr_array_find (self->providers, provider, NULL) &&
      custos_key_provider_has_recipient (provider, wrapped->recipient_id))
    custos_key_cache_insert (self->cache, wrapped->recipient_id, wrapped->epoch, kek);
  g_mutex_unlock (&self->mutex);
}

/* A card went away: its KEKs go out of memory now, not when they expire. */
static void
on_certificate_removed (CustosKeyProvider *provider,
                        CustosCertificate *certificate,
                        CustosKeyring     *self)
{
  g_autofree char *fp = custos_certificate_dup_fingerprint_hex (certificate);

  g_debug ("Certificate %s went away; wiping its cached keys", fp);
  g_mutex_lock (&self->mutex);
  custos_key_cache_clear (self->cache, custos_certificate_get_fingerprint (certificate));
  g_mutex_unlock (&self->mutex);

  /* Passed on, so whoever was handed the keyring as "a provider" hears it. */
  custos_key_provider_emit_certificate_removed (CUSTOS_KEY_PROVIDER (self), certificate);
}

static void
on_certificate_added (CustosKeyProvider *provider,
                      CustosCertificate *certificate,
                      CustosKeyring     *self)
{
  custos_key_provider_emit_certificate_added (CUSTOS_KEY_PROVIDER (self), certificate);
}

static gboolean
certificate_equal (gconstpointer a,
                   gconstpointer b)
{
  return custos_certificate_equal ((CustosCertificate *) a, (CustosCertificate *) b);
}

static GPtrArray *
custos_keyring_list_certificates (CustosKeyProvider *provider)
{
  CustosKeyring *self = CUSTOS_KEYRING (provider);
  g_autoptr (GPtrArray) providers = dup_providers (self);
  GPtrArray *ret = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < providers->len; i++)
    {
      g_autoptr (GPtrArray) certs = custos_key_provider_list_certificates (g_ptr_array_index (providers, i));

      for (guint j = 0; j < certs->len; j++)
        {
          CustosCertificate *cert = g_ptr_array_index (certs, j);

          if (!g_ptr_array_find_with_equal_func (ret, cert, certificate_equal, NULL))
            g_ptr_array_add (ret, g_object_ref (cert));
        }
    }

  return ret;
}

static gboolean
custos_keyring_has_recipient (CustosKeyProvider *provider,
                              const guint8       recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  g_autoptr (CustosKeyProvider) found = find_provider (CUSTOS_KEYRING (provider), recipient_id);

  return found != NULL;
}

static CustosSecret *
custos_keyring_unwrap_kek (CustosKeyProvider       *provider,
                           const CustosWrappedKek  *wrapped,
                           GTlsInteraction         *interaction,
                           GCancellable            *cancellable,
                           GError                 **error)
{
  CustosKeyring *self = CUSTOS_KEYRING (provider);
  g_autoptr (CustosKeyProvider) found = NULL;
  CustosSecret *kek;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  kek = custos_key_cache_lookup (self->cache, wrapped->recipient_id, wrapped->epoch);
  if (kek != NULL)
    return kek;

  found = find_provider (self, wrapped->recipient_id);
  if (found == NULL)
    {
      g_propagate_error (error, no_key_error (self, wrapped->recipient_id));
      return NULL;
    }

  kek = custos_key_provider_unwrap_kek (found, wrapped, interaction, cancellable, error);
  if (kek != NULL)
    remember_kek (self, found, wrapped, kek);

  return kek;
}

typedef struct
{
  CustosWrappedKek  *wrapped;
  CustosKeyProvider *provider;
} UnwrapData;

static void
unwrap_data_free (gpointer data)
{
  UnwrapData *ud = data;

  g_clear_pointer (&ud->wrapped, custos_wrapped_kek_free);
  g_clear_object (&ud->provider);
  g_free (ud);
}

static void
custos_keyring_unwrap_kek_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  CustosKeyring *self = g_task_get_source_object (task);
  UnwrapData *ud = g_task_get_task_data (task);
  CustosSecret *kek;
  GError *error = NULL;

  kek = custos_key_provider_unwrap_kek_finish (ud->provider, result, &error);
  if (kek == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* Cached even if the caller cancelled meanwhile: the card work is done. */
  remember_kek (self, ud->provider, ud->wrapped, kek);
  g_task_return_pointer (task, kek, (GDestroyNotify) custos_secret_unref);
}

/* Cache hits complete without a thread; misses go to the provider's own
 * async path, so a PKCS#11 provider keeps its own way of not blocking. */
static void
custos_keyring_unwrap_kek_async (CustosKeyProvider      *provider,
                                 const CustosWrappedKek *wrapped,
                                 GTlsInteraction        *interaction,
                                 GCancellable           *cancellable,
                                 GAsyncReadyCallback     callback,
                                 gpointer                user_data)
{
  CustosKeyring *self = CUSTOS_KEYRING (provider);
  g_autoptr (GTask) task = NULL;
  g_autoptr (CustosKeyProvider) found = NULL;
  CustosSecret *kek;
  UnwrapData *ud;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_keyring_unwrap_kek_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  kek = custos_key_cache_lookup (self->cache, wrapped->recipient_id, wrapped->epoch);
  if (kek != NULL)
    {
      g_task_return_pointer (task, kek, (GDestroyNotify) custos_secret_unref);
      return;
    }

  found = find_provider (self, wrapped->recipient_id);
  if (found == NULL)
    {
      g_task_return_error (task, no_key_error (self, wrapped->recipient_id));
      return;
    }

  ud = g_new0 (UnwrapData, 1);
  ud->wrapped = custos_wrapped_kek_copy (wrapped);
  ud->provider = g_object_ref (found);
  g_task_set_task_data (task, ud, unwrap_data_free);

  custos_key_provider_unwrap_kek_async (found, wrapped, interaction, cancellable,
                                        custos_keyring_unwrap_kek_cb,
                                        g_steal_pointer (&task));
}

static CustosSecret *
custos_keyring_unwrap_kek_finish (CustosKeyProvider  *provider,
                                  GAsyncResult       *result,
                                  GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        custos_keyring_unwrap_kek_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
custos_keyring_iface_init (CustosKeyProviderInterface *iface)
{
  iface->list_certificates = custos_keyring_list_certificates;
  iface->has_recipient = custos_keyring_has_recipient;
  iface->unwrap_kek = custos_keyring_unwrap_kek;
  iface->unwrap_kek_async = custos_keyring_unwrap_kek_async;
  iface->unwrap_kek_finish = custos_keyring_unwrap_kek_finish;
}

static void
custos_keyring_finalize (GObject *object)
{
  CustosKeyring *self = (CustosKeyring *) object;

  g_clear_pointer (&self->providers, g_ptr_array_unref);
  g_clear_object (&self->cache);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (custos_keyring_parent_class)->finalize (object);
}

static void
custos_keyring_class_init (CustosKeyringClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_keyring_finalize;
}

static void
custos_keyring_init (CustosKeyring *self)
{
  g_mutex_init (&self->mutex);
  self->providers = g_ptr_array_new_with_free_func (g_object_unref);
  self->cache = custos_key_cache_new (DEFAULT_CACHE_LIFETIME_MS);
}

CustosKeyring *
custos_keyring_new (void)
{
  return g_object_new (CUSTOS_TYPE_KEYRING, NULL);
}

void
custos_keyring_add_provider (CustosKeyring     *self,
                             CustosKeyProvider *provider)
{
  gboolean added = FALSE;

  g_return_if_fail (CUSTOS_IS_KEYRING (self));
  g_return_if_fail (CUSTOS_IS_KEY_PROVIDER (provider));
  g_return_if_fail ((gpointer) provider != (gpointer) self);

  g_mutex_lock (&self->mutex);
  if (!g_ptr_array_find (self->providers, provider, NULL))
    {
      g_ptr_array_add (self->providers, g_object_ref (provider));
      added = TRUE;
    }
  g_mutex_unlock (&self->mutex);

  /* Disconnected by remove_provider(), or when the keyring goes. */
  if (added)
    {
      g_signal_connect_object (provider, "certificate-removed",
                               G_CALLBACK (on_certificate_removed), self, 0);
      g_signal_connect_object (provider, "certificate-added",
                               G_CALLBACK (on_certificate_added), self, 0);
    }
}

/* Also wipes the cached KEKs of the provider's certificates: removing a
 * provider (a card pulled out) must take its keys out of memory too. */
void
custos_keyring_remove_provider (CustosKeyring     *self,
                                CustosKeyProvider *provider)
{
  g_autoptr (CustosKeyProvider) hold = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  gboolean removed;

  g_return_if_fail (CUSTOS_IS_KEYRING (self));
  g_return_if_fail (CUSTOS_IS_KEY_PROVIDER (provider));

  hold = g_object_ref (provider);

  g_mutex_lock (&self->mutex);
  removed = g_ptr_array_remove (self->providers, provider);
  g_mutex_unlock (&self->mutex);

  if (!removed)
    return;

  g_signal_handlers_disconnect_by_func (provider, on_certificate_removed, self);
  g_signal_handlers_disconnect_by_func (provider, on_certificate_added, self);
  certs = custos_key_provider_list_certificates (provider);
  for (guint i = 0; i < certs->len; i++)
    custos_key_cache_clear (self->cache,
                            custos_certificate_get_fingerprint (g_ptr_array_index (certs, i)));
}

/**
 * custos_keyring_get_cache:
 *
 * Returns: (transfer none): the cache in front of the providers
 */
CustosKeyCache *
custos_keyring_get_cache (CustosKeyring *self)
{
  g_return_val_if_fail (CUSTOS_IS_KEYRING (self), NULL);

  return self->cache;
}

guint64
custos_keyring_get_unwrap_count (CustosKeyring *self)
{
  g_return_val_if_fail (CUSTOS_IS_KEYRING (self), 0);

  return __atomic_load_n (&self->unwrap_count, __ATOMIC_RELAXED);
}
