/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-keys"

#include "config.h"

#include <string.h>

#include "custos-key-cache.h"

#define DEFAULT_LIFETIME_MS 600000

typedef struct
{
  guint8        recipient_id[CUSTOS_RECIPIENT_ID_LEN];
  guint32       epoch;
  CustosSecret *kek;
  gint64        inserted_us; /* g_get_monotonic_time () */
} CacheEntry;

struct _CustosKeyCache
{
  GObject       parent_instance;

  /* Inserts come from the threads async unwraps complete in, lookups from
   * the reader, expiry from the main context: everything below is under
   * the mutex. */
  GMutex        mutex;
  GHashTable   *entries; /* CacheEntry, used as key and value */
  guint         lifetime_ms;

  /* Wipes entries when they expire even if nobody looks them up, as long
   * as the context the cache was made in is running. */
  GMainContext *context;
  GSource      *expire_source;
};

G_DEFINE_FINAL_TYPE (CustosKeyCache, custos_key_cache, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LIFETIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  /* Dropping our ref wipes the KEK unless a reader still uses it; the
   * reader's ref wipes it when that goes. */
  g_clear_pointer (&entry->kek, custos_secret_unref);
  g_free (entry);
}

static guint
cache_entry_hash (gconstpointer data)
{
  const CacheEntry *entry = data;
  guint32 h;

  /* The recipient id is a SHA-256, so any four of its bytes are uniform. */
  memcpy (&h, entry->recipient_id, sizeof h);
  return h ^ (entry->epoch * 2654435761u);
}

static gboolean
cache_entry_equal (gconstpointer a,
                   gconstpointer b)
{
  const CacheEntry *ea = a;
  const CacheEntry *eb = b;

  return ea->epoch == eb->epoch &&
         memcmp (ea->recipient_id, eb->recipient_id, CUSTOS_RECIPIENT_ID_LEN) == 0;
}

static gint64
lifetime_us_locked (CustosKeyCache *self)
{
  return (gint64) self->lifetime_ms * G_TIME_SPAN_MILLISECOND;
}

static gboolean
cache_entry_expired_locked (CustosKeyCache   *self,
                            const CacheEntry *entry,
                            gint64            now)
{
  return now - entry->inserted_us >= lifetime_us_locked (self);
}

static guint
expire_locked (CustosKeyCache *self)
{
  GHashTableIter iter;
  gpointer key;
  gint64 now = g_get_monotonic_time ();
  guint dropped = 0;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (cache_entry_expired_locked (self, key, now))
        {
          g_hash_table_iter_remove (&iter);
          dropped++;
        }
    }

  return dropped;
}

static void
cancel_expire_source_locked (CustosKeyCache *self)
{
  if (self->expire_source != NULL)
    {
      g_source_destroy (self->expire_source);
      g_clear_pointer (&self->expire_source, g_source_unref);
    }
}

static gboolean custos_key_cache_expire_cb (gpointer user_data);

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* Arms the timer for the entry that expires first, replacing any earlier
 * timer. Call after anything that changes the entries or the lifetime. */
static void
schedule_expire_locked (CustosKeyCache *self)
{
  GHashTableIter iter;
  gpointer key;
  gint64 first = G_MAXINT64;
  gint64 now;
  GWeakRef *weak;

  cancel_expire_source_locked (self);

  if (g_hash_table_size (self->entries) == 0)
    return;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    first = MIN (first, ((CacheEntry *) key)->inserted_us);

  now = g_get_monotonic_time ();
  first += lifetime_us_locked (self);

  /* The weak ref lets the timer outlive the cache without keeping it. */
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);

  self->expire_source = g_timeout_source_new (first > now ? (guint) ((first - now + 999) / 1000) : 0);
  g_source_set_name (self->expire_source, "[custos] key cache expiry");
  g_source_set_callback (self->expire_source, custos_key_cache_expire_cb, weak,
                         weak_ref_free);
  g_source_attach (self->expire_source, self->context);
}

static gboolean
custos_key_cache_expire_cb (gpointer user_data)
{
  g_autoptr (CustosKeyCache) self = g_weak_ref_get (user_data);

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->mutex);
  /* Replaced or cancelled by another thread while we were dispatched. */
  if (g_source_is_destroyed (g_main_current_source ()))
    {
      g_mutex_unlock (&self->mutex);
      return G_SOURCE_REMOVE;
    }
  expire_locked (self);
  schedule_expire_locked (self);
  g_mutex_unlock (&self->mutex);

  return G_SOURCE_REMOVE;
}

static void
custos_key_cache_finalize (GObject *object)
{
  CustosKeyCache *self = (CustosKeyCache *) object;

  cancel_expire_source_locked (self);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (custos_key_cache_parent_class)->finalize (object);
}

static void
custos_key_cache_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CustosKeyCache *self = CUSTOS_KEY_CACHE (object);

  switch (prop_id)
    {
    case PROP_LIFETIME:
      g_value_set_uint (value, custos_key_cache_get_lifetime (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_key_cache_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CustosKeyCache *self = CUSTOS_KEY_CACHE (object);

  switch (prop_id)
    {
    case PROP_LIFETIME:
      custos_key_cache_set_lifetime (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_key_cache_class_init (CustosKeyCacheClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_key_cache_finalize;
  object_class->get_property = custos_key_cache_get_property;
  object_class->set_property = custos_key_cache_set_property;

  /**
   * CustosKeyCache:lifetime:
   *
   * How long an entry lives after it was inserted, in milliseconds. 0
   * keeps nothing. Shortening it applies to the entries already held.
   */
  properties[PROP_LIFETIME] =
    g_param_spec_uint ("lifetime", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_LIFETIME_MS,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_key_cache_init (CustosKeyCache *self)
{
  g_mutex_init (&self->mutex);
  self->entries = g_hash_table_new_full (cache_entry_hash, cache_entry_equal,
                                         cache_entry_free, NULL);
  self->lifetime_ms = DEFAULT_LIFETIME_MS;
  self->context = g_main_context_ref_thread_default ();
}

CustosKeyCache *
custos_key_cache_new (guint lifetime_ms)
{
  return g_object_new (CUSTOS_TYPE_KEY_CACHE,
                       "lifetime", lifetime_ms,
                       NULL);
}

guint
custos_key_cache_get_lifetime (CustosKeyCache *self)
{
  guint ret;

  g_return_val_if_fail (CUSTOS_IS_KEY_CACHE (self), 0);

  g_mutex_lock (&self->mutex);
  ret = self->lifetime_ms;
  g_mutex_unlock (&self->mutex);

  return ret;
}

void
custos_key_cache_set_lifetime (CustosKeyCache *self,
                               guint           lifetime_ms)
{
  gboolean changed;

  g_return_if_fail (CUSTOS_IS_KEY_CACHE (self));

  g_mutex_lock (&self->mutex);
  changed = self->lifetime_ms != lifetime_ms;
  self->lifetime_ms = lifetime_ms;
  if (changed)
    schedule_expire_locked (self);
  g_mutex_unlock (&self->mutex);

  /* Notify outside the lock: handlers may call back into the cache. */
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIFETIME]);
}

void
custos_key_cache_insert (CustosKeyCache *self,
                         const guint8    recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                         guint32         epoch,
                         CustosSecret   *kek)
{
  CacheEntry *entry;

  g_return_if_fail (CUSTOS_IS_KEY_CACHE (self));
  g_return_if_fail (recipient_id != NULL);
  g_return_if_fail (kek != NULL);

  entry = g_new0 (CacheEntry, 1);
  memcpy (entry->recipient_id, recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  entry->epoch = epoch;

  g_mutex_lock (&self->mutex);

  /* A stale key of the same (recipient, epoch) goes in any case. */
  g_hash_table_remove (self->entries, entry);

  if (self->lifetime_ms > 0)
    {
      entry->kek = custos_secret_ref (kek);
      entry->inserted_us = g_get_monotonic_time ();
      g_hash_table_add (self->entries, g_steal_pointer (&entry));
    }

  /* Entries inserted later expire later, so an armed timer stays right. */
  expire_locked (self);
  if (self->expire_source == NULL)
    schedule_expire_locked (self);

  g_mutex_unlock (&self->mutex);

  g_clear_pointer (&entry, cache_entry_free);
}

CustosSecret *
custos_key_cache_lookup (CustosKeyCache *self,
                         const guint8    recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                         guint32         epoch)
{
  CacheEntry probe;
  CacheEntry *entry;
  CustosSecret *ret = NULL;

  g_return_val_if_fail (CUSTOS_IS_KEY_CACHE (self), NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);

  memcpy (probe.recipient_id, recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  probe.epoch = epoch;

  g_mutex_lock (&self->mutex);
  entry = g_hash_table_lookup (self->entries, &probe);
  if (entry != NULL)
    {
      if (cache_entry_expired_locked (self, entry, g_get_monotonic_time ()))
        g_hash_table_remove (self->entries, entry);
      else
        ret = custos_secret_ref (entry->kek);
    }
  g_mutex_unlock (&self->mutex);

  return ret;
}

void
custos_key_cache_clear (CustosKeyCache *self,
                        const guint8   *recipient_id)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (CUSTOS_IS_KEY_CACHE (self));

  g_mutex_lock (&self->mutex);
  if (recipient_id == NULL)
    {
      g_hash_table_remove_all (self->entries);
    }
  else
    {
      g_hash_table_iter_init (&iter, self->entries);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          const CacheEntry *entry = key;

          if (memcmp (entry->recipient_id, recipient_id, CUSTOS_RECIPIENT_ID_LEN) == 0)
            g_hash_table_iter_remove (&iter);
        }
    }
  schedule_expire_locked (self);
  g_mutex_unlock (&self->mutex);
}

guint
custos_key_cache_expire (CustosKeyCache *self)
{
  guint dropped;

  g_return_val_if_fail (CUSTOS_IS_KEY_CACHE (self), 0);

  g_mutex_lock (&self->mutex);
  dropped = expire_locked (self);
  if (dropped > 0)
    schedule_expire_locked (self);
  g_mutex_unlock (&self->mutex);

  if (dropped > 0)
    g_debug ("Dropped %u expired key(s) from the cache", dropped);

  return dropped;
}

/* Entries held, including expired ones not wiped yet. */
guint
custos_key_cache_get_size (CustosKeyCache *self)
{
  guint ret;

  g_return_val_if_fail (CUSTOS_IS_KEY_CACHE (self), 0);

  g_mutex_lock (&self->mutex);
  ret = g_hash_table_size (self->entries);
  g_mutex_unlock (&self->mutex);

  return ret;
}
