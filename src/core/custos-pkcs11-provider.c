/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <string.h>

#include "custos-i18n-private.h"
#include "custos-pkcs11-modules.h"
#include "custos-pkcs11-provider-private.h"

struct _CustosPkcs11Provider
{
  GObject               parent_instance;

  char                 *uri_string;
  P11KitUri            *uri;
  char                 *module_path;
  gint                  allow_legacy;  /* atomic */
  guint                 poll_interval; /* under monitor_mutex */
  GMainContext         *context;       /* where signals are emitted */
  CustosPkcs11Modules  *modules;
  CustosPkcs11Stats     stats;

  /* The present tokens: replaced by scans (monitor thread, refresh),
   * read by unwraps and listings. */
  GMutex                mutex;
  GPtrArray            *sessions;      /* CustosPkcs11Session */

  GMutex                scan_mutex;    /* one scan at a time */

  GThread              *monitor;
  GMutex                monitor_mutex;
  GCond                 monitor_cond;
  gboolean              stopping;
  gboolean              kicked;
};

static void custos_pkcs11_provider_key_provider_init (CustosKeyProviderInterface *iface);
static void custos_pkcs11_provider_initable_init     (GInitableIface             *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosPkcs11Provider, custos_pkcs11_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_KEY_PROVIDER,
                                                      custos_pkcs11_provider_key_provider_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      custos_pkcs11_provider_initable_init)
                               /* The default runs GInitable::init in a thread. */
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE, NULL))

enum {
  PROP_0,
  PROP_ALLOW_LEGACY,
  PROP_MODULE_PATH,
  PROP_POLL_INTERVAL,
  PROP_TOKENS,
  PROP_URI,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Sessions */

static GPtrArray *
dup_sessions (CustosPkcs11Provider *self)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_session_unref);

  g_mutex_lock (&self->mutex);
  for (guint i = 0; self->sessions != NULL && i < self->sessions->len; i++)
    g_ptr_array_add (ret, custos_pkcs11_session_ref (g_ptr_array_index (self->sessions, i)));
  g_mutex_unlock (&self->mutex);

  return ret;
}

/* The token and certificate for a recipient. A token where the key is
 * known to be there beats one where it is still hidden behind a PIN. */
static CustosPkcs11Session *
find_session (CustosPkcs11Provider  *self,
              const guint8          *recipient_id,
              CustosPkcs11CertInfo **cert_out)
{
  g_autoptr (GPtrArray) sessions = dup_sessions (self);
  CustosPkcs11Session *best = NULL;
  CustosPkcs11CertInfo *best_cert = NULL;

  for (guint i = 0; i < sessions->len; i++)
    {
      CustosPkcs11Session *session = g_ptr_array_index (sessions, i);
      CustosPkcs11CertInfo *cert = custos_pkcs11_session_find_cert (session, recipient_id);

      if (cert == NULL)
        continue;
      if (best_cert == NULL ||
          (best_cert->key_state != CUSTOS_PKCS11_KEY_PRESENT &&
           cert->key_state == CUSTOS_PKCS11_KEY_PRESENT))
        {
          g_clear_pointer (&best_cert, custos_pkcs11_cert_info_unref);
          best = session;
          best_cert = cert;
        }
      else
        custos_pkcs11_cert_info_unref (cert);
    }

  if (best == NULL)
    return NULL;
  if (cert_out != NULL)
    *cert_out = best_cert;
  else
    custos_pkcs11_cert_info_unref (best_cert);
  return custos_pkcs11_session_ref (best);
}

/* Certificates a token contributes to list_certificates(): those that
 * can be recipients and whose key may be there. */
static void
add_usable_certificates (CustosPkcs11TokenInfo *info,
                         GPtrArray             *out)
{
  for (guint i = 0; i < info->certificates->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (info->certificates, i);

      if (cert->key_state == CUSTOS_PKCS11_KEY_ABSENT || cert->wrap_alg == 0)
        continue;
      if (!g_ptr_array_find_with_equal_func (out, cert->certificate,
                                             (GEqualFunc) custos_certificate_equal, NULL))
        g_ptr_array_add (out, g_object_ref (cert->certificate));
    }
}

/* Scanning */

static CustosPkcs11PresentToken *
find_present (GArray              *present,
              CustosPkcs11Session *session)
{
  for (guint i = 0; i < present->len; i++)
    {
      CustosPkcs11PresentToken *token = &g_array_index (present, CustosPkcs11PresentToken, i);

      if (custos_pkcs11_session_is_token (session, token->module, token->slot, &token->info))
        return token;
    }
  return NULL;
}

static gboolean
is_known (GPtrArray    *sessions,
          CustosPkcs11PresentToken *token)
{
  for (guint i = 0; i < sessions->len; i++)
    if (custos_pkcs11_session_is_token (g_ptr_array_index (sessions, i), token->module,
                                        token->slot, &token->info))
      return TRUE;
  return FALSE;
}

/* What a scan found, handed to the provider's main context. */
typedef struct
{
  GWeakRef   provider;
  GPtrArray *removed; /* CustosCertificate */
  GPtrArray *added;   /* CustosCertificate */
} Changes;

static void
changes_free (gpointer data)
{
  Changes *changes = data;

  g_weak_ref_clear (&changes->provider);
  g_ptr_array_unref (changes->removed);
  g_ptr_array_unref (changes->added);
  g_free (changes);
}

static gboolean
emit_changes (gpointer data)
{
  Changes *changes = data;
  g_autoptr (CustosPkcs11Provider) self = g_weak_ref_get (&changes->provider);

  /* Gone: no keyring holds it, so no cache waits for the signal. */
  if (self == NULL)
    return G_SOURCE_REMOVE;

  for (guint i = 0; i < changes->removed->len; i++)
    custos_key_provider_emit_certificate_removed (CUSTOS_KEY_PROVIDER (self),
                                                  g_ptr_array_index (changes->removed, i));
  for (guint i = 0; i < changes->added->len; i++)
    custos_key_provider_emit_certificate_added (CUSTOS_KEY_PROVIDER (self),
                                                g_ptr_array_index (changes->added, i));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKENS]);
  return G_SOURCE_REMOVE;
}

/* Always deferred, never run in the scanning thread: g_main_context_invoke()
 * would run it right here when nobody owns the context. High priority,
 * because a removal must wipe keys before more video is decrypted. */
static void
schedule_changes (CustosPkcs11Provider *self,
                  GPtrArray            *removed,
                  GPtrArray            *added)
{
  Changes *changes = g_new0 (Changes, 1);
  g_autoptr (GSource) source = g_idle_source_new ();

  g_weak_ref_init (&changes->provider, self);
  changes->removed = g_ptr_array_ref (removed);
  changes->added = g_ptr_array_ref (added);

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, emit_changes, changes, changes_free);
  g_source_set_static_name (source, "[custos] PKCS#11 token changes");
  g_source_attach (source, self->context);
}

static void
collect_certificates (CustosPkcs11Session *session,
                      GPtrArray           *out)
{
  g_autoptr (CustosPkcs11TokenInfo) info = custos_pkcs11_session_dup_info (session);

  add_usable_certificates (info, out);
}

static GPtrArray *
open_new_sessions (CustosPkcs11Provider *self,
                   GArray               *present,
                   GPtrArray            *known)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_session_unref);

  for (guint i = 0; i < present->len; i++)
    {
      CustosPkcs11PresentToken *token = &g_array_index (present, CustosPkcs11PresentToken, i);
      g_autoptr (GError) error = NULL;
      CustosPkcs11Session *session;

      if (is_known (known, token))
        continue;
      /* A card still being inserted may not answer yet; the next scan
       * tries again. */
      session = custos_pkcs11_session_open (token->module, token->slot, &token->info, self->uri,
                                            &error);
      if (session == NULL)
        g_debug ("Skipping a token in slot %lu of %s: %s", (gulong) token->slot,
                 token->module->name, error->message);
      else
        g_ptr_array_add (ret, session);
    }
  return ret;
}

/* Compares the present tokens with the known ones. Sessions of tokens that
 * went are dropped and marked removed (so unwraps under way fail rather
 * than feed a cache already cleared); new tokens get sessions. */
static void
scan (CustosPkcs11Provider *self,
      gboolean              emit)
{
  g_autoptr (GArray) present = NULL;
  g_autoptr (GPtrArray) known = NULL;
  g_autoptr (GPtrArray) fresh = NULL;
  g_autoptr (GPtrArray) kept = NULL;
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean changed = FALSE;

  g_mutex_lock (&self->scan_mutex);

  kept = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_session_unref);
  present = custos_pkcs11_modules_list_tokens (self->modules, self->uri);
  known = dup_sessions (self);
  fresh = open_new_sessions (self, present, known);

  for (guint i = 0; i < known->len; i++)
    {
      CustosPkcs11Session *session = g_ptr_array_index (known, i);
      CustosPkcs11PresentToken *token = find_present (present, session);

      if (token == NULL || !custos_pkcs11_session_is_alive (session))
        {
          custos_pkcs11_session_mark_removed (session);
          collect_certificates (session, removed);
          changed = TRUE;
          continue;
        }
      custos_pkcs11_session_update_flags (session, &token->info);
      changed |= custos_pkcs11_session_take_changed (session);
      g_ptr_array_add (kept, custos_pkcs11_session_ref (session));
    }
  for (guint i = 0; i < fresh->len; i++)
    {
      collect_certificates (g_ptr_array_index (fresh, i), added);
      custos_pkcs11_session_take_changed (g_ptr_array_index (fresh, i));
      g_ptr_array_add (kept, custos_pkcs11_session_ref (g_ptr_array_index (fresh, i)));
      changed = TRUE;
    }

  g_mutex_lock (&self->mutex);
  g_clear_pointer (&self->sessions, g_ptr_array_unref);
  self->sessions = g_steal_pointer (&kept);
  g_mutex_unlock (&self->mutex);

  if (emit && changed)
    schedule_changes (self, removed, added);

  g_mutex_unlock (&self->scan_mutex);
}

/* The monitor thread */

static gpointer
monitor_thread (gpointer data)
{
  CustosPkcs11Provider *self = data;

  /* No reference of our own: dispose joins us before anything goes. */
  g_mutex_lock (&self->monitor_mutex);
  while (!self->stopping)
    {
      gint64 end;

      self->kicked = FALSE;
      if (self->poll_interval == 0)
        {
          g_cond_wait (&self->monitor_cond, &self->monitor_mutex);
          continue;
        }

      end = g_get_monotonic_time () + (gint64) self->poll_interval * G_TIME_SPAN_MILLISECOND;
      while (!self->stopping && !self->kicked && g_get_monotonic_time () < end)
        g_cond_wait_until (&self->monitor_cond, &self->monitor_mutex, end);
      if (self->stopping || self->kicked)
        continue;

      g_mutex_unlock (&self->monitor_mutex);
      scan (self, TRUE);
      g_mutex_lock (&self->monitor_mutex);
    }
  g_mutex_unlock (&self->monitor_mutex);

  return NULL;
}

static void
stop_monitor (CustosPkcs11Provider *self)
{
  if (self->monitor == NULL)
    return;

  g_mutex_lock (&self->monitor_mutex);
  self->stopping = TRUE;
  g_cond_signal (&self->monitor_cond);
  g_mutex_unlock (&self->monitor_mutex);

  g_thread_join (g_steal_pointer (&self->monitor));
}

/* CustosKeyProvider */

static GPtrArray *
custos_pkcs11_provider_list_certificates (CustosKeyProvider *provider)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (provider);
  g_autoptr (GPtrArray) sessions = dup_sessions (self);
  GPtrArray *ret = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < sessions->len; i++)
    {
      CustosPkcs11Session *session = g_ptr_array_index (sessions, i);

      if (!custos_pkcs11_session_is_removed (session))
        collect_certificates (session, ret);
    }
  return ret;
}

static gboolean
custos_pkcs11_provider_has_recipient (CustosKeyProvider *provider,
                                      const guint8       recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  g_autoptr (CustosPkcs11Session) session = find_session (CUSTOS_PKCS11_PROVIDER (provider),
                                                          recipient_id, NULL);

  return session != NULL;
}

/* Says which certificate would be needed and what is there instead. */
static void
set_no_key_error (CustosPkcs11Provider  *self,
                  const guint8          *recipient_id,
                  GError               **error)
{
  g_autofree char *needed = custos_hex_encode (recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  g_autoptr (GPtrArray) tokens = custos_pkcs11_provider_list_tokens (self);
  g_autoptr (GString) present = g_string_new (NULL);

  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *token = g_ptr_array_index (tokens, i);

      g_string_append_printf (present, "%s“%s” (%u certificates)", present->len > 0 ? ", " : "",
                              token->label, token->certificates->len);
    }

  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
               _ ("no smart card or token holds the key for this recipient: insert the card with "
                  "the certificate whose SHA-256 fingerprint is %s (tokens present: %s)"),
               needed, present->len > 0 ? present->str : "none");
}

static CustosSecret *
custos_pkcs11_provider_unwrap_kek (CustosKeyProvider       *provider,
                                   const CustosWrappedKek  *wrapped,
                                   GTlsInteraction         *interaction,
                                   GCancellable            *cancellable,
                                   GError                 **error)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (provider);
  g_autoptr (CustosPkcs11Session) session = NULL;
  g_autoptr (CustosPkcs11CertInfo) cert = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  session = find_session (self, wrapped->recipient_id, &cert);
  if (session == NULL)
    {
      set_no_key_error (self, wrapped->recipient_id, error);
      return NULL;
    }

  if (wrapped->alg == CUSTOS_WRAP_RSA_PKCS1_V15 && !g_atomic_int_get (&self->allow_legacy))
    {
      g_set_error_literal (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NOT_ENABLED,
                           _ ("RSA PKCS#1 v1.5 key unwrapping is not enabled (legacy)"));
      return NULL;
    }

  return custos_pkcs11_session_unwrap_kek (session, cert, wrapped, interaction, cancellable,
                                           &self->stats, error);
}

static void
custos_pkcs11_provider_key_provider_init (CustosKeyProviderInterface *iface)
{
  iface->list_certificates = custos_pkcs11_provider_list_certificates;
  iface->has_recipient = custos_pkcs11_provider_has_recipient;
  /* The interface's async pair runs unwrap_kek in a GTask thread. */
  iface->unwrap_kek = custos_pkcs11_provider_unwrap_kek;
}

/* GInitable */

static gboolean
custos_pkcs11_provider_initable_init_impl (GInitable     *initable,
                                           GCancellable  *cancellable,
                                           GError       **error)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (initable);
  int res;

  if (self->uri_string != NULL)
    {
      self->uri = p11_kit_uri_new ();
      res = p11_kit_uri_parse (self->uri_string, P11_KIT_URI_FOR_ANY, self->uri);
      if (res != P11_KIT_URI_OK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _ ("“%s” is not a PKCS#11 URI: %s"), self->uri_string,
                       p11_kit_uri_message (res));
          return FALSE;
        }
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  self->modules = custos_pkcs11_modules_load (self->module_path, self->uri, error);
  if (self->modules == NULL)
    return FALSE;

  /* Known right away, so list_certificates() answers without a wait. */
  scan (self, FALSE);
  self->monitor = g_thread_new ("custos-pkcs11-monitor", monitor_thread, self);
  return TRUE;
}

static void
custos_pkcs11_provider_initable_init (GInitableIface *iface)
{
  iface->init = custos_pkcs11_provider_initable_init_impl;
}

/* GObject */

static void
custos_pkcs11_provider_constructed (GObject *object)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (object);

  G_OBJECT_CLASS (custos_pkcs11_provider_parent_class)->constructed (object);

  self->context = g_main_context_ref_thread_default ();
}

static void
custos_pkcs11_provider_dispose (GObject *object)
{
  stop_monitor (CUSTOS_PKCS11_PROVIDER (object));

  G_OBJECT_CLASS (custos_pkcs11_provider_parent_class)->dispose (object);
}

static void
custos_pkcs11_provider_finalize (GObject *object)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (object);

  /* Sessions close before the modules they live on are finalized. */
  g_clear_pointer (&self->sessions, g_ptr_array_unref);
  g_clear_pointer (&self->modules, custos_pkcs11_modules_free);
  g_clear_pointer (&self->uri, p11_kit_uri_free);
  g_clear_pointer (&self->uri_string, g_free);
  g_clear_pointer (&self->module_path, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->mutex);
  g_mutex_clear (&self->scan_mutex);
  g_mutex_clear (&self->monitor_mutex);
  g_cond_clear (&self->monitor_cond);

  G_OBJECT_CLASS (custos_pkcs11_provider_parent_class)->finalize (object);
}

static void
custos_pkcs11_provider_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ALLOW_LEGACY:
      g_value_set_boolean (value, custos_pkcs11_provider_get_allow_legacy (self));
      break;

    case PROP_MODULE_PATH:
      g_value_set_string (value, self->module_path);
      break;

    case PROP_POLL_INTERVAL:
      g_value_set_uint (value, custos_pkcs11_provider_get_poll_interval (self));
      break;

    case PROP_TOKENS:
      g_value_take_boxed (value, custos_pkcs11_provider_list_tokens (self));
      break;

    case PROP_URI:
      g_value_set_string (value, self->uri_string);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_pkcs11_provider_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CustosPkcs11Provider *self = CUSTOS_PKCS11_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ALLOW_LEGACY:
      custos_pkcs11_provider_set_allow_legacy (self, g_value_get_boolean (value));
      break;

    case PROP_MODULE_PATH:
      self->module_path = g_value_dup_string (value);
      break;

    case PROP_POLL_INTERVAL:
      custos_pkcs11_provider_set_poll_interval (self, g_value_get_uint (value));
      break;

    case PROP_URI:
      self->uri_string = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_pkcs11_provider_class_init (CustosPkcs11ProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = custos_pkcs11_provider_constructed;
  object_class->dispose = custos_pkcs11_provider_dispose;
  object_class->finalize = custos_pkcs11_provider_finalize;
  object_class->get_property = custos_pkcs11_provider_get_property;
  object_class->set_property = custos_pkcs11_provider_set_property;

  /**
   * CustosPkcs11Provider:allow-legacy:
   *
   * Whether RSA PKCS#1 v1.5 wrapped KEKs may be unwrapped (CKM_RSA_PKCS).
   */
  properties[PROP_ALLOW_LEGACY] =
    g_param_spec_boolean ("allow-legacy", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * CustosPkcs11Provider:module-path:
   *
   * A PKCS#11 module to use instead of p11-kit's registry.
   */
  properties[PROP_MODULE_PATH] =
    g_param_spec_string ("module-path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * CustosPkcs11Provider:poll-interval:
   *
   * Milliseconds between two looks for inserted and removed tokens; 0
   * stops looking.
   */
  properties[PROP_POLL_INTERVAL] =
    g_param_spec_uint ("poll-interval", NULL, NULL,
                       0, G_MAXUINT, CUSTOS_PKCS11_DEFAULT_POLL_INTERVAL,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * CustosPkcs11Provider:tokens: (type GPtrArray(CustosPkcs11TokenInfo))
   *
   * The tokens present; notified whenever one comes, goes, or changes
   * (PIN flags, login).
   */
  properties[PROP_TOKENS] =
    g_param_spec_boxed ("tokens", NULL, NULL,
                        G_TYPE_PTR_ARRAY,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * CustosPkcs11Provider:uri:
   *
   * An RFC 7512 PKCS#11 URI that selects modules, tokens and certificates.
   */
  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_pkcs11_provider_init (CustosPkcs11Provider *self)
{
  g_mutex_init (&self->mutex);
  g_mutex_init (&self->scan_mutex);
  g_mutex_init (&self->monitor_mutex);
  g_cond_init (&self->monitor_cond);
  self->poll_interval = CUSTOS_PKCS11_DEFAULT_POLL_INTERVAL;
  self->sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_session_unref);
}

/* Public API */

/**
 * custos_pkcs11_provider_new:
 * @uri: (nullable): an RFC 7512 URI narrowing tokens and objects
 *
 * Loads the modules of p11-kit's registry and lists their tokens.
 *
 * Returns: (transfer full): a new provider, or %NULL with @error set
 */
CustosPkcs11Provider *
custos_pkcs11_provider_new (const char    *uri,
                            GCancellable  *cancellable,
                            GError       **error)
{
  return custos_pkcs11_provider_new_for_module (NULL, uri, cancellable, error);
}

/**
 * custos_pkcs11_provider_new_for_module:
 * @module_path: (nullable): a PKCS#11 module; %NULL for the registry
 * @uri: (nullable): an RFC 7512 URI narrowing tokens and objects
 *
 * Returns: (transfer full): a new provider, or %NULL with @error set
 */
CustosPkcs11Provider *
custos_pkcs11_provider_new_for_module (const char    *module_path,
                                       const char    *uri,
                                       GCancellable  *cancellable,
                                       GError       **error)
{
  return g_initable_new (CUSTOS_TYPE_PKCS11_PROVIDER, cancellable, error,
                         "module-path", module_path,
                         "uri", uri,
                         NULL);
}

void
custos_pkcs11_provider_new_async (const char          *module_path,
                                  const char          *uri,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_async_initable_new_async (CUSTOS_TYPE_PKCS11_PROVIDER, G_PRIORITY_DEFAULT, cancellable,
                              callback, user_data,
                              "module-path", module_path,
                              "uri", uri,
                              NULL);
}

/**
 * custos_pkcs11_provider_new_finish:
 *
 * Returns: (transfer full): a new provider, or %NULL with @error set
 */
CustosPkcs11Provider *
custos_pkcs11_provider_new_finish (GAsyncResult  *result,
                                   GError       **error)
{
  g_autoptr (GObject) source = g_async_result_get_source_object (result);

  return CUSTOS_PKCS11_PROVIDER (g_async_initable_new_finish (G_ASYNC_INITABLE (source), result,
                                                              error));
}

/**
 * custos_pkcs11_provider_list_tokens:
 *
 * Returns: (transfer container) (element-type CustosPkcs11TokenInfo): the
 *   tokens present as of the last poll
 */
GPtrArray *
custos_pkcs11_provider_list_tokens (CustosPkcs11Provider *self)
{
  g_autoptr (GPtrArray) sessions = NULL;
  GPtrArray *ret;

  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), NULL);

  sessions = dup_sessions (self);
  ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_token_info_unref);
  for (guint i = 0; i < sessions->len; i++)
    if (!custos_pkcs11_session_is_removed (g_ptr_array_index (sessions, i)))
      g_ptr_array_add (ret, custos_pkcs11_session_dup_info (g_ptr_array_index (sessions, i)));
  return ret;
}

gboolean
custos_pkcs11_provider_refresh (CustosPkcs11Provider  *self,
                                GCancellable          *cancellable,
                                GError               **error)
{
  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  scan (self, TRUE);
  return TRUE;
}

static void
refresh_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;

  if (custos_pkcs11_provider_refresh (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
custos_pkcs11_provider_refresh_async (CustosPkcs11Provider *self,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_pkcs11_provider_refresh_async);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, refresh_thread);
}

gboolean
custos_pkcs11_provider_refresh_finish (CustosPkcs11Provider  *self,
                                       GAsyncResult          *result,
                                       GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        custos_pkcs11_provider_refresh_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
custos_pkcs11_provider_get_uri (CustosPkcs11Provider *self)
{
  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), NULL);

  return self->uri_string;
}

gboolean
custos_pkcs11_provider_get_allow_legacy (CustosPkcs11Provider *self)
{
  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), FALSE);

  return g_atomic_int_get (&self->allow_legacy);
}

void
custos_pkcs11_provider_set_allow_legacy (CustosPkcs11Provider *self,
                                         gboolean              allow)
{
  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self));

  allow = !!allow;
  if (g_atomic_int_exchange (&self->allow_legacy, allow) != allow)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_LEGACY]);
}

guint
custos_pkcs11_provider_get_poll_interval (CustosPkcs11Provider *self)
{
  guint ret;

  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), 0);

  g_mutex_lock (&self->monitor_mutex);
  ret = self->poll_interval;
  g_mutex_unlock (&self->monitor_mutex);
  return ret;
}

void
custos_pkcs11_provider_set_poll_interval (CustosPkcs11Provider *self,
                                          guint                 interval_ms)
{
  gboolean changed;

  g_return_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self));

  g_mutex_lock (&self->monitor_mutex);
  changed = self->poll_interval != interval_ms;
  self->poll_interval = interval_ms;
  /* Wakes the monitor, so the new interval counts from now. */
  self->kicked = TRUE;
  g_cond_signal (&self->monitor_cond);
  g_mutex_unlock (&self->monitor_mutex);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLL_INTERVAL]);
}

guint
custos_pkcs11_provider_get_private_key_ops (CustosPkcs11Provider *self)
{
  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), 0);

  return (guint) g_atomic_int_get (&self->stats.private_key_ops);
}

gulong
custos_pkcs11_provider_get_last_mechanism (CustosPkcs11Provider *self)
{
  g_return_val_if_fail (CUSTOS_IS_PKCS11_PROVIDER (self), 0);

  return (gulong) (guint) g_atomic_int_get (&self->stats.last_mechanism);
}

/* For the enrolment functions (custos-pkcs11-provider-private.h) */

CustosPkcs11Session *
custos_pkcs11_provider_dup_session (CustosPkcs11Provider   *self,
                                    CustosPkcs11TokenInfo  *token,
                                    GError                **error)
{
  g_autoptr (GPtrArray) sessions = dup_sessions (self);

  for (guint i = 0; i < sessions->len; i++)
    {
      CustosPkcs11Session *session = g_ptr_array_index (sessions, i);
      g_autoptr (CustosPkcs11TokenInfo) info = custos_pkcs11_session_dup_info (session);

      /* The token URI holds label, manufacturer, model and serial. */
      if (!custos_pkcs11_session_is_removed (session) && info->slot_id == token->slot_id &&
          g_strcmp0 (info->module_name, token->module_name) == 0 &&
          g_strcmp0 (info->uri, token->uri) == 0)
        return custos_pkcs11_session_ref (session);
    }
  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_REMOVED,
               _ ("the token “%s” is no longer present"), token->label);
  return NULL;
}

CustosPkcs11Stats *
custos_pkcs11_provider_get_stats (CustosPkcs11Provider *self)
{
  return &self->stats;
}

void
custos_pkcs11_provider_announce_added (CustosPkcs11Provider *self,
                                       GPtrArray            *added)
{
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_object_unref);

  schedule_changes (self, removed, added);
}
