/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-key-cache"

#include "config.h"

#include <string.h>

#include "custos-key-cache.h"
#include "custos-test-util.h"

#define SHORT_LIFETIME_MS 100
#define SLEEP_PAST_LIFETIME_US (250 * G_TIME_SPAN_MILLISECOND)

static void
make_id (guint8 id[CUSTOS_RECIPIENT_ID_LEN],
         guint8 seed)
{
  for (guint i = 0; i < CUSTOS_RECIPIENT_ID_LEN; i++)
    id[i] = (guint8) (seed * 31 + i);
}

static CustosSecret *
make_kek (void)
{
  g_autoptr (GError) error = NULL;
  CustosSecret *kek = custos_secret_new_random (16, &error);

  g_assert_no_error (error);
  g_assert_nonnull (kek);
  return kek;
}

static void
test_defaults (void)
{
  g_autoptr (CustosKeyCache) cache = g_object_new (CUSTOS_TYPE_KEY_CACHE, NULL);
  guint lifetime = 0;

  g_assert_cmpuint (custos_key_cache_get_lifetime (cache), ==, 600000);
  g_object_get (cache, "lifetime", &lifetime, NULL);
  g_assert_cmpuint (lifetime, ==, 600000);

  custos_key_cache_set_lifetime (cache, 1234);
  g_assert_cmpuint (custos_key_cache_get_lifetime (cache), ==, 1234);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
}

static void
test_insert_lookup (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (60000);
  g_autoptr (CustosSecret) kek = make_kek ();
  g_autoptr (CustosSecret) found = NULL;
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 1);
  g_assert_null (custos_key_cache_lookup (cache, id, 7));

  custos_key_cache_insert (cache, id, 7, kek);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 1);

  found = custos_key_cache_lookup (cache, id, 7);
  g_assert_nonnull (found);
  g_assert_true (custos_secret_equal (found, kek));

  /* A lookup hands out its own reference: clearing the cache leaves the
   * caller's key intact. */
  g_clear_pointer (&kek, custos_secret_unref);
  custos_key_cache_clear (cache, NULL);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 1);
  g_assert_cmpuint (custos_secret_get_len (found), ==, 16);

  g_clear_pointer (&found, custos_secret_unref);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_distinct_keys (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (60000);
  CustosSecret *keks[2][2];
  guint8 ids[2][CUSTOS_RECIPIENT_ID_LEN];

  for (guint r = 0; r < 2; r++)
    {
      make_id (ids[r], (guint8) (r + 10));
      for (guint e = 0; e < 2; e++)
        {
          keks[r][e] = make_kek ();
          custos_key_cache_insert (cache, ids[r], e + 100, keks[r][e]);
        }
    }
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 4);

  for (guint r = 0; r < 2; r++)
    for (guint e = 0; e < 2; e++)
      {
        g_autoptr (CustosSecret) found = custos_key_cache_lookup (cache, ids[r], e + 100);

        g_assert_nonnull (found);
        for (guint r2 = 0; r2 < 2; r2++)
          for (guint e2 = 0; e2 < 2; e2++)
            g_assert_true (custos_secret_equal (found, keks[r2][e2]) == (r == r2 && e == e2));
      }

  /* Same recipient, an epoch never inserted. */
  g_assert_null (custos_key_cache_lookup (cache, ids[0], 102));

  /* Inserting again under the same (recipient, epoch) replaces and
   * releases the old key. */
  {
    g_autoptr (CustosSecret) fresh = make_kek ();
    g_autoptr (CustosSecret) found = NULL;

    custos_key_cache_insert (cache, ids[0], 100, fresh);
    g_clear_pointer (&keks[0][0], custos_secret_unref);
    g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 4);
    g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 4);
    found = custos_key_cache_lookup (cache, ids[0], 100);
    g_assert_true (custos_secret_equal (found, fresh));
  }

  for (guint r = 0; r < 2; r++)
    for (guint e = 0; e < 2; e++)
      g_clear_pointer (&keks[r][e], custos_secret_unref);
}

static void
test_expiry_on_lookup (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (SHORT_LIFETIME_MS);
  g_autoptr (CustosSecret) kek = make_kek ();
  g_autoptr (CustosSecret) found = NULL;
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 2);
  custos_key_cache_insert (cache, id, 1, kek);
  g_clear_pointer (&kek, custos_secret_unref);

  /* Only the cache holds the key now. */
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 1);
  found = custos_key_cache_lookup (cache, id, 1);
  g_assert_nonnull (found);
  g_clear_pointer (&found, custos_secret_unref);

  g_usleep (SLEEP_PAST_LIFETIME_US);

  g_assert_null (custos_key_cache_lookup (cache, id, 1));
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  /* Released, so wiped. */
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_expire (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (SHORT_LIFETIME_MS);
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 3);
  for (guint e = 0; e < 3; e++)
    {
      g_autoptr (CustosSecret) kek = make_kek ();

      custos_key_cache_insert (cache, id, e, kek);
    }
  g_assert_cmpuint (custos_key_cache_expire (cache), ==, 0);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 3);

  g_usleep (SLEEP_PAST_LIFETIME_US);

  g_assert_cmpuint (custos_key_cache_expire (cache), ==, 3);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_shorten_lifetime (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (60000);
  g_autoptr (CustosSecret) kek = make_kek ();
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 4);
  custos_key_cache_insert (cache, id, 9, kek);
  g_clear_pointer (&kek, custos_secret_unref);

  g_usleep (SLEEP_PAST_LIFETIME_US);
  g_assert_cmpuint (custos_key_cache_expire (cache), ==, 0);

  /* The entry is already older than the new lifetime. */
  g_object_set (cache, "lifetime", SHORT_LIFETIME_MS, NULL);
  g_assert_cmpuint (custos_key_cache_expire (cache), ==, 1);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);

  /* And lookups see it too. */
  kek = make_kek ();
  custos_key_cache_set_lifetime (cache, 60000);
  custos_key_cache_insert (cache, id, 9, kek);
  g_clear_pointer (&kek, custos_secret_unref);
  g_usleep (SLEEP_PAST_LIFETIME_US);
  custos_key_cache_set_lifetime (cache, SHORT_LIFETIME_MS);
  g_assert_null (custos_key_cache_lookup (cache, id, 9));
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static gboolean
quit_loop_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Nobody looks the key up again, yet it goes once its time is up. */
static void
test_expiry_timer (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (SHORT_LIFETIME_MS);
  g_autoptr (CustosSecret) kek = make_kek ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 5);
  custos_key_cache_insert (cache, id, 1, kek);
  g_clear_pointer (&kek, custos_secret_unref);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 1);

  g_timeout_add (4 * SHORT_LIFETIME_MS, quit_loop_cb, loop);
  g_main_loop_run (loop);

  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_clear (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (60000);
  guint8 a[CUSTOS_RECIPIENT_ID_LEN];
  guint8 b[CUSTOS_RECIPIENT_ID_LEN];

  make_id (a, 6);
  make_id (b, 7);
  for (guint e = 0; e < 2; e++)
    {
      g_autoptr (CustosSecret) ka = make_kek ();
      g_autoptr (CustosSecret) kb = make_kek ();

      custos_key_cache_insert (cache, a, e, ka);
      custos_key_cache_insert (cache, b, e, kb);
    }
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 4);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 4);

  custos_key_cache_clear (cache, a);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 2);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 2);
  g_assert_null (custos_key_cache_lookup (cache, a, 0));
  g_assert_null (custos_key_cache_lookup (cache, a, 1));
  {
    g_autoptr (CustosSecret) k0 = custos_key_cache_lookup (cache, b, 0);
    g_autoptr (CustosSecret) k1 = custos_key_cache_lookup (cache, b, 1);

    g_assert_nonnull (k0);
    g_assert_nonnull (k1);
  }

  custos_key_cache_clear (cache, NULL);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_lifetime_zero (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosKeyCache) cache = custos_key_cache_new (0);
  g_autoptr (CustosSecret) kek = make_kek ();
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  make_id (id, 8);
  custos_key_cache_insert (cache, id, 1, kek);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);
  g_assert_null (custos_key_cache_lookup (cache, id, 1));
  g_clear_pointer (&kek, custos_secret_unref);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);

  /* Turning the cache off drops what it held. */
  custos_key_cache_set_lifetime (cache, 60000);
  kek = make_kek ();
  custos_key_cache_insert (cache, id, 1, kek);
  g_clear_pointer (&kek, custos_secret_unref);
  custos_key_cache_set_lifetime (cache, 0);
  g_assert_null (custos_key_cache_lookup (cache, id, 1));
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_finalize (void)
{
  guint baseline = custos_secret_get_live_count ();
  CustosKeyCache *cache = custos_key_cache_new (60000);
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  g_object_add_weak_pointer (G_OBJECT (cache), (gpointer *) &cache);

  make_id (id, 9);
  for (guint e = 0; e < 5; e++)
    {
      g_autoptr (CustosSecret) kek = make_kek ();

      custos_key_cache_insert (cache, id, e, kek);
    }
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 5);

  g_object_unref (cache);
  g_assert_null (cache);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

#define N_THREADS 8
#define N_ITERATIONS 2000

static gpointer
hammer_thread (gpointer data)
{
  CustosKeyCache *cache = data;
  g_autoptr (GRand) rand = g_rand_new ();
  guint hits = 0;

  for (guint i = 0; i < N_ITERATIONS; i++)
    {
      guint8 id[CUSTOS_RECIPIENT_ID_LEN];
      guint32 epoch = g_rand_int_range (rand, 0, 8);
      guint op = g_rand_int_range (rand, 0, 100);

      make_id (id, (guint8) g_rand_int_range (rand, 0, 4));

      if (op < 45)
        {
          g_autoptr (CustosSecret) kek = make_kek ();

          custos_key_cache_insert (cache, id, epoch, kek);
        }
      else if (op < 95)
        {
          g_autoptr (CustosSecret) kek = custos_key_cache_lookup (cache, id, epoch);

          if (kek != NULL)
            {
              g_assert_cmpuint (custos_secret_get_len (kek), ==, 16);
              hits++;
            }
        }
      else if (op < 97)
        custos_key_cache_clear (cache, id);
      else if (op < 98)
        custos_key_cache_set_lifetime (cache, g_rand_int_range (rand, 1, 20));
      else
        custos_key_cache_expire (cache);
    }

  return GUINT_TO_POINTER (hits);
}

static void
test_threads (void)
{
  guint baseline = custos_secret_get_live_count ();
  CustosKeyCache *cache = custos_key_cache_new (60000);
  GThread *threads[N_THREADS];
  guint hits = 0;

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("hammer", hammer_thread, cache);
  for (guint i = 0; i < N_THREADS; i++)
    hits += GPOINTER_TO_UINT (g_thread_join (threads[i]));

  /* Some lookups must have found what another thread inserted, or the
   * test did not exercise sharing at all. */
  g_assert_cmpuint (hits, >, 0);
  g_assert_cmpuint (custos_key_cache_get_size (cache), <=, 4 * 8);

  g_object_unref (cache);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/key-cache/defaults", test_defaults);
  g_test_add_func ("/key-cache/insert-lookup", test_insert_lookup);
  g_test_add_func ("/key-cache/distinct-keys", test_distinct_keys);
  g_test_add_func ("/key-cache/expiry-on-lookup", test_expiry_on_lookup);
  g_test_add_func ("/key-cache/expire", test_expire);
  g_test_add_func ("/key-cache/shorten-lifetime", test_shorten_lifetime);
  g_test_add_func ("/key-cache/expiry-timer", test_expiry_timer);
  g_test_add_func ("/key-cache/clear", test_clear);
  g_test_add_func ("/key-cache/lifetime-zero", test_lifetime_zero);
  g_test_add_func ("/key-cache/finalize", test_finalize);
  g_test_add_func ("/key-cache/threads", test_threads);

  return g_test_run ();
}
