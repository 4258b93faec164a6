/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-credentials"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-credentials.h"
#include "custos-identity.h"
#include "custos-local-key-provider.h"
#include "custos-pin-interaction.h"
#include "custos-pkcs11-provider.h"

struct _CustosCredentials
{
  GObject parent_instance;

  GSettings       *settings;
  GTlsInteraction *interaction;
  CustosKeyring   *keyring;
  GPtrArray       *pkcs11;    /* CustosPkcs11Provider */
  GListStore      *cards;     /* CustosCard */
  GHashTable      *key_files; /* path -> CustosLocalKeyProvider */
  GCancellable    *cancellable;
  char           **module_paths;
  gboolean         only_modules;
};

G_DEFINE_FINAL_TYPE (CustosCredentials, custos_credentials, G_TYPE_OBJECT)

G_DEFINE_QUARK (custos - credentials - error - quark, custos_credentials_error)

enum
{
  CARD_ADDED,
  CARD_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define CARD_KEY "custos-card-key"

/* Settings */

static void
update_cache_lifetime (CustosCredentials *self)
{
  guint minutes = g_settings_get_uint (self->settings, "key-cache-minutes");

  custos_key_cache_set_lifetime (custos_keyring_get_cache (self->keyring), minutes * 60 * 1000);
}

static void
on_key_cache_minutes_changed (GSettings *settings, const char *key, CustosCredentials *self)
{
  update_cache_lifetime (self);
}

/* Cards */

static char *
card_key (CustosPkcs11Provider *provider, CustosPkcs11TokenInfo *info)
{
  return g_strdup_printf ("%p|%s|%lu|%s", (gpointer) provider, info->module_name, info->slot_id,
                          info->uri);
}

static gboolean
find_card (CustosCredentials *self, const char *key, guint *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->cards));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (G_LIST_MODEL (self->cards), i);

      if (g_strcmp0 (g_object_get_data (G_OBJECT (card), CARD_KEY), key) == 0)
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* The keyring already dropped the keys of the card's certificates when
 * the provider said they went; this makes sure of it before anyone hears
 * of the removal. */
static void
wipe_card_keys (CustosCredentials *self, CustosCard *card)
{
  GListModel     *certs = custos_card_get_certificates (card);
  CustosKeyCache *cache = custos_keyring_get_cache (self->keyring);

  for (guint i = 0; i < g_list_model_get_n_items (certs); i++)
    {
      g_autoptr (CustosCardCertificate) cert = g_list_model_get_item (certs, i);
      CustosCertificate *c = custos_card_certificate_get_certificate (cert);

      custos_key_cache_clear (cache, custos_certificate_get_fingerprint (c));
    }
}

static void
remove_card (CustosCredentials *self, guint position)
{
  g_autoptr (CustosCard) card = g_list_model_get_item (G_LIST_MODEL (self->cards), position);

  wipe_card_keys (self, card);
  custos_card_set_present (card, FALSE);
  g_list_store_remove (self->cards, position);
  g_debug ("card “%s” removed", custos_card_get_label (card));
  g_signal_emit (self, signals[CARD_REMOVED], 0, card);
}

static gboolean
key_in (GPtrArray *keys, const char *key)
{
  for (guint i = 0; i < keys->len; i++)
    if (g_str_equal (keys->pdata[i], key))
      return TRUE;
  return FALSE;
}

static void
sync_cards (CustosCredentials *self, CustosPkcs11Provider *provider)
{
  g_autoptr (GPtrArray) tokens = custos_pkcs11_provider_list_tokens (provider);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = g_strdup_printf ("%p|", (gpointer) provider);

  for (guint i = 0; i < tokens->len; i++)
    g_ptr_array_add (keys, card_key (provider, tokens->pdata[i]));

  /* Gone first, so their keys are wiped before anything else happens. */
  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->cards)); i > 0; i--)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (G_LIST_MODEL (self->cards), i - 1);
      const char *key = g_object_get_data (G_OBJECT (card), CARD_KEY);

      if (g_str_has_prefix (key, prefix) && !key_in (keys, key))
        remove_card (self, i - 1);
    }

  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *info = tokens->pdata[i];
      g_autoptr (CustosCard) card = NULL;
      guint position;

      if (find_card (self, keys->pdata[i], &position))
        {
          card = g_list_model_get_item (G_LIST_MODEL (self->cards), position);
          custos_card_update (card, info);
          continue;
        }
      card = custos_card_new (info);
      g_object_set_data_full (G_OBJECT (card), CARD_KEY, g_strdup (keys->pdata[i]), g_free);
      g_list_store_append (self->cards, card);
      g_debug ("card “%s” added", custos_card_get_label (card));
      g_signal_emit (self, signals[CARD_ADDED], 0, card);
    }
}

static void
on_tokens_changed (CustosPkcs11Provider *provider, GParamSpec *pspec, CustosCredentials *self)
{
  sync_cards (self, provider);
}

#define MODULE_KEY "custos-module" /* on a provider: its `pkcs11-modules` entry, "" for p11-kit's  \
                                    */

typedef struct
{
  CustosCredentials *self;
  char              *module;
} ModuleLoad;

/* Whether a module is wanted now: p11-kit's always, the others while the
 * setting lists them. */
static gboolean
module_wanted (CustosCredentials *self, const char *module)
{
  g_auto (GStrv) configured = NULL;

  if (self->only_modules || module[0] == '\0')
    return TRUE;
  configured = g_settings_get_strv (self->settings, "pkcs11-modules");
  return g_strv_contains ((const char *const *) configured, module);
}

static void
on_pkcs11_provider_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ModuleLoad *load = user_data;
  g_autoptr (CustosCredentials) self = load->self;
  g_autofree char *module = load->module;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosPkcs11Provider) provider = NULL;

  g_free (load);
  provider = custos_pkcs11_provider_new_finish (result, &error);
  if (provider == NULL)
    {
      /* A module that fails leaves the others working; say which. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("PKCS#11 module %s not usable: %s", module[0] ? module : "(p11-kit)",
                   error->message);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable) || !module_wanted (self, module))
    {
      custos_pkcs11_provider_set_poll_interval (provider, 0);
      return;
    }

  g_object_set_data_full (G_OBJECT (provider), MODULE_KEY, g_strdup (module), g_free);
  g_ptr_array_add (self->pkcs11, g_object_ref (provider));
  custos_keyring_add_provider (self->keyring, CUSTOS_KEY_PROVIDER (provider));
  g_signal_connect_object (provider, "notify::tokens", G_CALLBACK (on_tokens_changed), self, 0);
  sync_cards (self, provider);
}

static void
load_module (CustosCredentials *self, const char *module)
{
  gboolean    is_uri = module != NULL && g_str_has_prefix (module, "pkcs11:");
  ModuleLoad *load = g_new0 (ModuleLoad, 1);

  load->self = g_object_ref (self);
  load->module = g_strdup (module != NULL ? module : "");
  custos_pkcs11_provider_new_async (is_uri ? NULL : module, is_uri ? module : NULL,
                                    self->cancellable, on_pkcs11_provider_ready, load);
}

static void
load_modules (CustosCredentials *self)
{
  g_auto (GStrv) configured = NULL;

  if (self->only_modules)
    {
      for (guint i = 0; self->module_paths[i] != NULL; i++)
        load_module (self, self->module_paths[i]);
      return;
    }

  load_module (self, NULL);
  configured = g_settings_get_strv (self->settings, "pkcs11-modules");
  for (guint i = 0; configured[i] != NULL; i++)
    load_module (self, configured[i]);
}

/* A module taken out of the setting: its cards go (keys wiped first, as
 * for a pulled card) and its provider leaves the keyring. */
static void
drop_provider (CustosCredentials *self, CustosPkcs11Provider *provider)
{
  g_autofree char *prefix = g_strdup_printf ("%p|", (gpointer) provider);

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->cards)); i > 0; i--)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (G_LIST_MODEL (self->cards), i - 1);

      if (g_str_has_prefix (g_object_get_data (G_OBJECT (card), CARD_KEY), prefix))
        remove_card (self, i - 1);
    }
  g_signal_handlers_disconnect_by_func (provider, on_tokens_changed, self);
  custos_pkcs11_provider_set_poll_interval (provider, 0);
  custos_keyring_remove_provider (self->keyring, CUSTOS_KEY_PROVIDER (provider));
  g_ptr_array_remove (self->pkcs11, provider);
}

static void
on_pkcs11_modules_changed (GSettings *settings, const char *key, CustosCredentials *self)
{
  g_auto (GStrv) configured = g_settings_get_strv (settings, "pkcs11-modules");

  for (guint i = self->pkcs11->len; i > 0; i--)
    {
      CustosPkcs11Provider *provider = self->pkcs11->pdata[i - 1];
      const char           *module = g_object_get_data (G_OBJECT (provider), MODULE_KEY);

      if (!module_wanted (self, module))
        drop_provider (self, provider);
    }
  for (guint i = 0; configured[i] != NULL; i++)
    {
      gboolean loaded = FALSE;

      for (guint j = 0; j < self->pkcs11->len && !loaded; j++)
        loaded = g_strcmp0 (g_object_get_data (G_OBJECT (self->pkcs11->pdata[j]), MODULE_KEY),
                            configured[i]) == 0;
      if (!loaded)
        load_module (self, configured[i]);
    }
}

/* Key files: one provider each, so forgetting one takes its keys (and the
 * KEKs unwrapped with it) out of the keyring. */

typedef struct
{
  char                   *path;
  gboolean                save;
  CustosLocalKeyProvider *provider;
  CustosCertificate      *certificate;
} AddKeyFile;

static void
add_key_file_free (gpointer data)
{
  AddKeyFile *add = data;

  g_free (add->path);
  g_clear_object (&add->provider);
  g_clear_object (&add->certificate);
  g_free (add);
}

static gboolean
try_add_key (AddKeyFile *add, const char *cert_path, const char *passphrase, GError **error)
{
  g_autoptr (GPtrArray) certs = NULL;

  if (!custos_local_key_provider_add_key (add->provider, add->path, cert_path, passphrase, error))
    return FALSE;
  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (add->provider));
  add->certificate = g_object_ref (certs->pdata[certs->len - 1]);
  return TRUE;
}

static gboolean
needs_passphrase (GError *error)
{
  return g_error_matches (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED) ||
         g_error_matches (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
}

/* Loads the file now, asking its passphrase when it is encrypted, so a
 * wrong one is told at once rather than at the first video. */
static void
add_key_file_thread (GTask *task, gpointer source_object, gpointer task_data,
                     GCancellable *cancellable)
{
  CustosCredentials *self = source_object;
  AddKeyFile        *add = task_data;
  g_autofree char   *base = g_path_get_basename (add->path);
  g_autofree char *description = g_strdup_printf (_ ("Passphrase for the key file “%s”"), base);
  g_autofree char *cert_path = NULL;
  g_autoptr (GError) error = NULL;
  GTlsPasswordFlags flags = G_TLS_PASSWORD_NONE;
  gboolean          encrypted;

  if (!g_file_test (add->path, G_FILE_TEST_IS_REGULAR))
    {
      g_task_return_new_error (task, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                               _ ("The key file “%s” does not exist"), add->path);
      return;
    }
  if (!custos_identity_is_pkcs12 (add->path) &&
      (cert_path = custos_identity_find_certificate (add->path, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  add->provider = custos_local_key_provider_new ();
  encrypted = cert_path != NULL && custos_identity_is_encrypted (add->path);
  if (!encrypted && try_add_key (add, cert_path, NULL, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!encrypted && !needs_passphrase (error))
    goto fail;

  for (guint tries = 1;; tries++)
    {
      g_autoptr (CustosSecret) pass = NULL;

      g_clear_error (&error);
      pass = custos_identity_ask (self->interaction, description, flags, 0, cancellable, &error);
      if (pass == NULL)
        goto fail;
      if (try_add_key (add, cert_path, (const char *) custos_secret_get_data (pass), &error))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
      if (!needs_passphrase (error))
        goto fail;
      if (tries >= CUSTOS_IDENTITY_MAX_TRIES)
        {
          g_task_return_new_error (task, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_PIN,
                                   _ ("Wrong passphrase for the key file “%s”"), base);
          return;
        }
      flags = G_TLS_PASSWORD_RETRY;
    }

fail:
  if (error->domain == CUSTOS_KEY_ERROR || error->domain == G_FILE_ERROR)
    g_task_return_new_error (task, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_FILE,
                             _ ("Cannot use the key file “%s”: %s"), base, error->message);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
save_key_files (CustosCredentials *self)
{
  g_autoptr (GPtrArray) paths = custos_credentials_dup_key_files (self);

  g_ptr_array_add (paths, NULL);
  g_settings_set_strv (self->settings, "key-files", (const char *const *) paths->pdata);
}

static void
install_key_file (CustosCredentials *self, AddKeyFile *add)
{
  CustosLocalKeyProvider *old = g_hash_table_lookup (self->key_files, add->path);

  if (old != NULL)
    custos_keyring_remove_provider (self->keyring, CUSTOS_KEY_PROVIDER (old));
  g_hash_table_replace (self->key_files, g_strdup (add->path), g_object_ref (add->provider));
  custos_keyring_add_provider (self->keyring, CUSTOS_KEY_PROVIDER (add->provider));
  if (add->save)
    save_key_files (self);
}

static void
start_add_key_file (CustosCredentials *self, const char *path, gboolean save,
                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  AddKeyFile *add = g_new0 (AddKeyFile, 1);

  add->path = g_strdup (path);
  add->save = save;
  g_task_set_source_tag (task, custos_credentials_add_key_file_async);
  g_task_set_task_data (task, add, add_key_file_free);
  g_task_run_in_thread (task, add_key_file_thread);
}

static void
on_saved_key_file_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;

  cert = custos_credentials_add_key_file_finish (CUSTOS_CREDENTIALS (source), result, &error);
  if (cert == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("%s", error->message);
}

static void
load_saved_key_files (CustosCredentials *self)
{
  g_auto (GStrv) paths = g_settings_get_strv (self->settings, "key-files");

  for (guint i = 0; paths[i] != NULL; i++)
    start_add_key_file (self, paths[i], FALSE, self->cancellable, on_saved_key_file_loaded, NULL);
}

/* GObject */

static void
custos_credentials_dispose (GObject *object)
{
  CustosCredentials *self = (CustosCredentials *) object;

  g_cancellable_cancel (self->cancellable);
  if (self->cards != NULL)
    g_list_store_remove_all (self->cards);
  if (self->keyring != NULL)
    custos_key_cache_clear (custos_keyring_get_cache (self->keyring), NULL);

  G_OBJECT_CLASS (custos_credentials_parent_class)->dispose (object);
}

static void
custos_credentials_finalize (GObject *object)
{
  CustosCredentials *self = (CustosCredentials *) object;

  g_clear_object (&self->settings);
  g_clear_object (&self->interaction);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->pkcs11, g_ptr_array_unref);
  g_clear_object (&self->cards);
  g_clear_pointer (&self->key_files, g_hash_table_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->module_paths, g_strfreev);

  G_OBJECT_CLASS (custos_credentials_parent_class)->finalize (object);
}

static void
custos_credentials_class_init (CustosCredentialsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = custos_credentials_dispose;
  object_class->finalize = custos_credentials_finalize;

  /**
   * CustosCredentials::card-added:
   * @card: the CustosCard, already in the model
   */
  signals[CARD_ADDED] = g_signal_new ("card-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                      NULL, NULL, NULL, G_TYPE_NONE, 1, CUSTOS_TYPE_CARD);
  /**
   * CustosCredentials::card-removed:
   * @card: the CustosCard ("present" is FALSE), already out of the model
   *
   * The keys unwrapped with the card are wiped before this is emitted:
   * players relock their tiles on it.
   */
  signals[CARD_REMOVED] =
      g_signal_new ("card-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, CUSTOS_TYPE_CARD);
}

static void
custos_credentials_init (CustosCredentials *self)
{
  self->keyring = custos_keyring_new ();
  self->pkcs11 = g_ptr_array_new_with_free_func (g_object_unref);
  self->cards = g_list_store_new (CUSTOS_TYPE_CARD);
  self->key_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->cancellable = g_cancellable_new ();
}

CustosCredentials *
custos_credentials_new_for_modules (GSettings *settings, GTlsInteraction *interaction,
                                    const char *const *module_paths)
{
  CustosCredentials *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (interaction == NULL || G_IS_TLS_INTERACTION (interaction), NULL);

  self = g_object_new (CUSTOS_TYPE_CREDENTIALS, NULL);
  self->settings = g_object_ref (settings);
  self->interaction = interaction != NULL ? g_object_ref (interaction)
                                          : G_TLS_INTERACTION (custos_pin_interaction_new ());
  self->only_modules = module_paths != NULL;
  self->module_paths = g_strdupv ((char **) module_paths);

  update_cache_lifetime (self);
  g_signal_connect_object (settings, "changed::key-cache-minutes",
                           G_CALLBACK (on_key_cache_minutes_changed), self, 0);
  if (!self->only_modules)
    g_signal_connect_object (settings, "changed::pkcs11-modules",
                             G_CALLBACK (on_pkcs11_modules_changed), self, 0);
  load_modules (self);
  load_saved_key_files (self);
  return self;
}

CustosCredentials *
custos_credentials_new (GSettings *settings, GTlsInteraction *interaction)
{
  return custos_credentials_new_for_modules (settings, interaction, NULL);
}

CustosKeyProvider *
custos_credentials_get_key_provider (CustosCredentials *self)
{
  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  return CUSTOS_KEY_PROVIDER (self->keyring);
}

CustosKeyring *
custos_credentials_get_keyring (CustosCredentials *self)
{
  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  return self->keyring;
}

GTlsInteraction *
custos_credentials_get_interaction (CustosCredentials *self)
{
  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  return self->interaction;
}

GListModel *
custos_credentials_get_cards (CustosCredentials *self)
{
  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  return G_LIST_MODEL (self->cards);
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!custos_pkcs11_provider_refresh_finish (CUSTOS_PKCS11_PROVIDER (source), result, &error))
    g_debug ("refreshing the cards failed: %s", error->message);
}

void
custos_credentials_refresh (CustosCredentials *self)
{
  g_return_if_fail (CUSTOS_IS_CREDENTIALS (self));

  for (guint i = 0; i < self->pkcs11->len; i++)
    custos_pkcs11_provider_refresh_async (self->pkcs11->pdata[i], self->cancellable, on_refreshed,
                                          NULL);
}

GPtrArray *
custos_credentials_dup_key_files (CustosCredentials *self)
{
  g_auto (GStrv) saved = NULL;
  GPtrArray     *ret;
  GHashTableIter iter;
  gpointer       path;

  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);

  /* In the order of the setting, then any not saved there. */
  ret = g_ptr_array_new_with_free_func (g_free);
  saved = g_settings_get_strv (self->settings, "key-files");
  for (guint i = 0; saved[i] != NULL; i++)
    if (g_hash_table_contains (self->key_files, saved[i]))
      g_ptr_array_add (ret, g_strdup (saved[i]));
  g_hash_table_iter_init (&iter, self->key_files);
  while (g_hash_table_iter_next (&iter, &path, NULL))
    if (!g_strv_contains ((const char *const *) saved, path))
      g_ptr_array_add (ret, g_strdup (path));
  return ret;
}

void
custos_credentials_add_key_file_async (CustosCredentials *self, GFile *file,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (CUSTOS_IS_CREDENTIALS (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_task_report_new_error (self, callback, user_data, custos_credentials_add_key_file_async,
                               CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                               _ ("Key files must be local files"));
      return;
    }
  start_add_key_file (self, path, TRUE, cancellable, callback, user_data);
}

CustosCertificate *
custos_credentials_add_key_file_finish (CustosCredentials *self, GAsyncResult *result,
                                        GError **error)
{
  AddKeyFile *add;

  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  add = g_task_get_task_data (G_TASK (result));
  install_key_file (self, add);
  return g_object_ref (add->certificate);
}

gboolean
custos_credentials_remove_key_file (CustosCredentials *self, const char *path)
{
  CustosLocalKeyProvider *provider;

  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  provider = g_hash_table_lookup (self->key_files, path);
  if (provider == NULL)
    return FALSE;

  /* Also wipes the KEKs unwrapped with it. */
  custos_keyring_remove_provider (self->keyring, CUSTOS_KEY_PROVIDER (provider));
  g_hash_table_remove (self->key_files, path);
  save_key_files (self);
  return TRUE;
}

/* The archiver's client certificate */

typedef struct
{
  char            *identity;
  GTlsInteraction *interaction;
  GMainContext    *context;
} TlsRequest;

static void
tls_request_free (gpointer data)
{
  TlsRequest *request = data;

  g_free (request->identity);
  g_clear_object (&request->interaction);
  g_main_context_unref (request->context);
  g_free (request);
}

typedef struct
{
  CustosPinInteraction *interaction;
  gboolean              active;
  char                 *label;
} PinPad;

static gboolean
show_pin_pad (gpointer data)
{
  PinPad *pad = data;

  if (pad->active)
    custos_pin_interaction_show_pin_pad (pad->interaction, pad->label, NULL);
  else
    custos_pin_interaction_hide_pin_pad (pad->interaction);
  g_object_unref (pad->interaction);
  g_free (pad->label);
  g_free (pad);
  return G_SOURCE_REMOVE;
}

/* From the worker thread: the message goes up in the main context. */
static void
on_pin_pad (gboolean active, const char *card_label, gpointer user_data)
{
  TlsRequest *request = user_data;
  PinPad     *pad;

  if (!CUSTOS_IS_PIN_INTERACTION (request->interaction))
    return;
  pad = g_new0 (PinPad, 1);
  pad->interaction = g_object_ref (CUSTOS_PIN_INTERACTION (request->interaction));
  pad->active = active;
  pad->label = g_strdup (card_label);
  g_main_context_invoke (request->context, show_pin_pad, pad);
}

static void
tls_certificate_thread (GTask *task, gpointer source_object, gpointer task_data,
                        GCancellable *cancellable)
{
  TlsRequest      *request = task_data;
  GTlsCertificate *cert;
  GError          *error = NULL;

  cert = custos_identity_load_tls_certificate (request->identity, request->interaction, on_pin_pad,
                                               request, cancellable, &error);
  if (cert == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, cert, g_object_unref);
}

void
custos_credentials_get_tls_certificate_async (CustosCredentials *self, const char *identity,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TlsRequest *request;

  g_return_if_fail (CUSTOS_IS_CREDENTIALS (self));
  g_return_if_fail (identity != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_credentials_get_tls_certificate_async);
  request = g_new0 (TlsRequest, 1);
  request->identity = g_strdup (identity);
  request->interaction = g_object_ref (self->interaction);
  request->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, request, tls_request_free);
  g_task_run_in_thread (task, tls_certificate_thread);
}

GTlsCertificate *
custos_credentials_get_tls_certificate_finish (CustosCredentials *self, GAsyncResult *result,
                                               GError **error)
{
  g_return_val_if_fail (CUSTOS_IS_CREDENTIALS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
