/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-secret"

#include "config.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-secret.h"

struct _CustosSecret
{
  gatomicrefcount ref_count;
  gsize           len;
  /* The key bytes live in the same allocation as the header, so one
   * malloc, one mlock and one cleanse cover everything. */
  guint8          data[];
};

G_DEFINE_BOXED_TYPE (CustosSecret, custos_secret, custos_secret_ref, custos_secret_unref)

static gint live_count;

/* mlock() does not nest: unlocking one secret would unlock every other
 * secret that shares its page. So pages are counted, locked when the first
 * secret lands on them and unlocked when the last one leaves. */
static GMutex      locked_pages_mutex;
static GHashTable *locked_pages;

static gsize
page_size (void)
{
  static gsize size;

  if (g_once_init_enter (&size))
    {
      long sz = sysconf (_SC_PAGESIZE);

      g_once_init_leave (&size, sz > 0 ? (gsize) sz : 4096);
    }
  return size;
}

static void
pages_lock (gconstpointer mem,
            gsize         len)
{
  gsize psize = page_size ();
  guintptr first = GPOINTER_TO_SIZE (mem) & ~(psize - 1);
  guintptr last = (GPOINTER_TO_SIZE (mem) + len - 1) & ~(psize - 1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&locked_pages_mutex);

  if (locked_pages == NULL)
    locked_pages = g_hash_table_new (NULL, NULL);

  for (guintptr page = first; page <= last; page += psize)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (locked_pages, GSIZE_TO_POINTER (page)));

      /* Failure (RLIMIT_MEMLOCK, no privilege) is not fatal: the secret
       * is still wiped, it just might reach swap. */
      if (count == 0)
        (void) mlock (GSIZE_TO_POINTER (page), psize);
      g_hash_table_insert (locked_pages, GSIZE_TO_POINTER (page), GUINT_TO_POINTER (count + 1));
    }
}

static void
pages_unlock (gconstpointer mem,
              gsize         len)
{
  gsize psize = page_size ();
  guintptr first = GPOINTER_TO_SIZE (mem) & ~(psize - 1);
  guintptr last = (GPOINTER_TO_SIZE (mem) + len - 1) & ~(psize - 1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&locked_pages_mutex);

  for (guintptr page = first; page <= last; page += psize)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (locked_pages, GSIZE_TO_POINTER (page)));

      g_return_if_fail (count > 0);
      if (count == 1)
        {
          (void) munlock (GSIZE_TO_POINTER (page), psize);
          g_hash_table_remove (locked_pages, GSIZE_TO_POINTER (page));
        }
      else
        g_hash_table_insert (locked_pages, GSIZE_TO_POINTER (page), GUINT_TO_POINTER (count - 1));
    }
}

/* The whole allocation is locked, header included: it is small, and a
 * zero-length secret still needs a valid range. */
static gsize
alloc_size (gsize len)
{
  return sizeof (CustosSecret) + len;
}

CustosSecret *
custos_secret_new (gsize len)
{
  CustosSecret *self;

  g_return_val_if_fail (len <= G_MAXSIZE - sizeof (CustosSecret), NULL);

  self = g_malloc0 (alloc_size (len));
  pages_lock (self, alloc_size (len));
  g_atomic_ref_count_init (&self->ref_count);
  self->len = len;
  g_atomic_int_inc (&live_count);
  return self;
}

CustosSecret *
custos_secret_new_copy (const guint8 *data,
                        gsize         len)
{
  CustosSecret *self;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  self = custos_secret_new (len);
  if (len > 0)
    memcpy (self->data, data, len);
  return self;
}

/* Keys come from OpenSSL's private DRBG, kept apart from the one that
 * produces public randomness such as nonces (docs/fusion-stream.md §5.1). */
CustosSecret *
custos_secret_new_random (gsize    len,
                          GError **error)
{
  g_autoptr (CustosSecret) self = custos_secret_new (len);

  for (gsize done = 0; done < len;)
    {
      int chunk = (int) MIN (len - done, (gsize) G_MAXINT);

      if (RAND_priv_bytes (self->data + done, chunk) != 1)
        {
          ERR_clear_error ();
          g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_FAILED,
                       _ ("Cannot get %zu random bytes for a key"), len);
          return NULL;
        }
      done += chunk;
    }
  return g_steal_pointer (&self);
}

CustosSecret *
custos_secret_ref (CustosSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_secret_unref (CustosSecret *self)
{
  gsize size;

  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  size = alloc_size (self->len);
  OPENSSL_cleanse (self, size);
  /* Unlock only after the wipe, so the bytes never sit unlocked. */
  pages_unlock (self, size);
  g_free (self);
  g_atomic_int_add (&live_count, -1);
}

guint8 *
custos_secret_get_data (CustosSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

const guint8 *
custos_secret_peek (const CustosSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

gsize
custos_secret_get_len (const CustosSecret *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->len;
}

/* Lengths are not secret, contents are: compare them in constant time. */
gboolean
custos_secret_equal (const CustosSecret *a,
                     const CustosSecret *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->len != b->len)
    return FALSE;
  return CRYPTO_memcmp (a->data, b->data, a->len) == 0;
}

/* OPENSSL_cleanse cannot be optimised away like a plain memset. */
void
custos_memzero (gpointer mem,
                gsize    len)
{
  if (mem != NULL && len > 0)
    OPENSSL_cleanse (mem, len);
}

guint
custos_secret_get_live_count (void)
{
  return (guint) g_atomic_int_get (&live_count);
}
