/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-local-key-provider"

#include "config.h"

#include <string.h>

#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-keyring.h"
#include "custos-local-key-provider.h"
#include "custos-test-interaction.h"
#include "custos-test-util.h"

/* Keys made once for the whole run; the openssl CLI is slow-ish. */
typedef struct
{
  const char    *spec;
  CustosWrapAlg  alg;
  char          *cert_path;
  char          *key_path;
} TestKey;

static TestKey rsa_key = { "rsa:2048", CUSTOS_WRAP_RSA_OAEP_SHA256 };
static TestKey p256_key = { "ec:P-256", CUSTOS_WRAP_ECDH_ES_P256 };
static TestKey p384_key = { "ec:P-384", CUSTOS_WRAP_ECDH_ES_P384 };

static GThread *main_thread;

static void
test_key_make (TestKey    *key,
               const char *name)
{
  custos_test_make_cert (key->spec, name, &key->cert_path, &key->key_path);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (custos_test_tmpdir (), name, NULL);
}

/* `openssl pkey -aes256`: an encrypted PKCS#8 PEM. */
static char *
make_encrypted_key (TestKey    *key,
                    const char *name,
                    const char *passphrase)
{
  char *path = tmp_path (name);
  g_autofree char *passout = g_strdup_printf ("pass:%s", passphrase);
  const char *argv[] = { "openssl", "pkey", "-in", key->key_path, "-aes256",
                         "-passout", passout, "-out", path, NULL };
  g_autoptr (GBytes) out = custos_test_run (argv, NULL);

  return path;
}

static char *
make_pkcs12 (TestKey    *key,
             const char *name,
             const char *passphrase,
             gboolean    plain_cert)
{
  char *path = tmp_path (name);
  g_autofree char *passout = g_strdup_printf ("pass:%s", passphrase);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;

  g_ptr_array_add (argv, (gpointer) "openssl");
  g_ptr_array_add (argv, (gpointer) "pkcs12");
  g_ptr_array_add (argv, (gpointer) "-export");
  g_ptr_array_add (argv, (gpointer) "-inkey");
  g_ptr_array_add (argv, key->key_path);
  g_ptr_array_add (argv, (gpointer) "-in");
  g_ptr_array_add (argv, key->cert_path);
  g_ptr_array_add (argv, (gpointer) "-passout");
  g_ptr_array_add (argv, passout);
  g_ptr_array_add (argv, (gpointer) "-out");
  g_ptr_array_add (argv, path);
  if (plain_cert)
    {
      g_ptr_array_add (argv, (gpointer) "-certpbe");
      g_ptr_array_add (argv, (gpointer) "NONE");
    }
  g_ptr_array_add (argv, NULL);

  out = custos_test_run ((const char *const *) argv->pdata, NULL);
  return path;
}

/* Wraps a fresh KEK to the certificate the way the writer does. */
static CustosWrappedKek *
wrap_to (const char    *cert_path,
         gboolean       legacy,
         guint32        epoch,
         CustosSecret **kek_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  CustosWrapAlg alg = 0;

  cert = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  custos_certificate_get_wrap_alg (cert, legacy, &alg, &error);
  g_assert_no_error (error);
  kek = custos_secret_new_random (16, &error);
  g_assert_no_error (error);
  wrapped = custos_wrap_kek (custos_certificate_get_public_key (cert), alg,
                             custos_certificate_get_fingerprint (cert), epoch, kek, &error);
  g_assert_no_error (error);
  g_assert_nonnull (wrapped);

  if (kek_out != NULL)
    *kek_out = g_steal_pointer (&kek);
  return custos_wrapped_kek_new (custos_certificate_get_fingerprint (cert), epoch, alg, wrapped);
}

static CustosLocalKeyProvider *
provider_for (TestKey *key)
{
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  custos_local_key_provider_add_key (provider, key->key_path, key->cert_path, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&provider);
}

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
} AsyncWait;

static void
async_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncWait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

static CustosSecret *
unwrap_async (CustosKeyProvider       *provider,
              const CustosWrappedKek  *wrapped,
              GTlsInteraction         *interaction,
              GCancellable            *cancellable,
              GError                 **error)
{
  AsyncWait wait = { g_main_loop_new (NULL, FALSE), NULL };
  CustosSecret *ret;

  /* Own the main context from the start, like an app whose loop is
   * running: otherwise a GTask thread may get to the interaction before
   * g_main_loop_run() and, finding the context free, prompt in itself. */
  g_assert_true (g_main_context_acquire (NULL));
  custos_key_provider_unwrap_kek_async (provider, wrapped, interaction, cancellable,
                                        async_done_cb, &wait);
  g_main_loop_run (wait.loop);
  g_main_context_release (NULL);

  ret = custos_key_provider_unwrap_kek_finish (provider, wait.result, error);
  g_main_loop_unref (wait.loop);
  g_object_unref (wait.result);
  return ret;
}


/* A provider with its own async path, to see the keyring use it. */

#define TEST_TYPE_PROVIDER (test_provider_get_type ())
G_DECLARE_FINAL_TYPE (TestProvider, test_provider, TEST, PROVIDER, GObject)

struct _TestProvider
{
  GObject            parent_instance;
  CustosKeyProvider *inner;
  guint              n_sync;
  guint              n_async;
};

static void test_provider_iface_init (CustosKeyProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestProvider, test_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_KEY_PROVIDER,
                                                      test_provider_iface_init))

static GPtrArray *
test_provider_list_certificates (CustosKeyProvider *provider)
{
  return custos_key_provider_list_certificates (TEST_PROVIDER (provider)->inner);
}

static gboolean
test_provider_has_recipient (CustosKeyProvider *provider,
                             const guint8       recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  return custos_key_provider_has_recipient (TEST_PROVIDER (provider)->inner, recipient_id);
}

static CustosSecret *
test_provider_unwrap_kek (CustosKeyProvider       *provider,
                          const CustosWrappedKek  *wrapped,
                          GTlsInteraction         *interaction,
                          GCancellable            *cancellable,
                          GError                 **error)
{
  TestProvider *self = TEST_PROVIDER (provider);

  self->n_sync++;
  return custos_key_provider_unwrap_kek (self->inner, wrapped, interaction, cancellable, error);
}

static void
test_provider_inner_done_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  CustosSecret *kek;

  kek = custos_key_provider_unwrap_kek_finish (CUSTOS_KEY_PROVIDER (object), result, &error);
  if (kek == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, kek, (GDestroyNotify) custos_secret_unref);
}

static void
test_provider_unwrap_kek_async (CustosKeyProvider      *provider,
                                const CustosWrappedKek *wrapped,
                                GTlsInteraction        *interaction,
                                GCancellable           *cancellable,
                                GAsyncReadyCallback     callback,
                                gpointer                user_data)
{
  TestProvider *self = TEST_PROVIDER (provider);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  self->n_async++;
  custos_key_provider_unwrap_kek_async (self->inner, wrapped, interaction, cancellable,
                                        test_provider_inner_done_cb, task);
}

static CustosSecret *
test_provider_unwrap_kek_finish (CustosKeyProvider  *provider,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_provider_iface_init (CustosKeyProviderInterface *iface)
{
  iface->list_certificates = test_provider_list_certificates;
  iface->has_recipient = test_provider_has_recipient;
  iface->unwrap_kek = test_provider_unwrap_kek;
  iface->unwrap_kek_async = test_provider_unwrap_kek_async;
  iface->unwrap_kek_finish = test_provider_unwrap_kek_finish;
}

static void
test_provider_finalize (GObject *object)
{
  g_clear_object (&TEST_PROVIDER (object)->inner);
  G_OBJECT_CLASS (test_provider_parent_class)->finalize (object);
}

static void
test_provider_class_init (TestProviderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_provider_finalize;
}

static void
test_provider_init (TestProvider *self)
{
}

/* Tests */

static void
check_unwrap_roundtrip (gconstpointer data)
{
  TestKey *key = (TestKey *) data;
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (key);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) sync_kek = NULL;
  g_autoptr (CustosSecret) async_kek = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;

  wrapped = wrap_to (key->cert_path, FALSE, 42, &kek);
  g_assert_cmpint (wrapped->alg, ==, key->alg);

  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  g_assert_cmpuint (certs->len, ==, 1);
  g_assert_cmpmem (custos_certificate_get_fingerprint (g_ptr_array_index (certs, 0)),
                   CUSTOS_RECIPIENT_ID_LEN, wrapped->recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  g_assert_true (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                    wrapped->recipient_id));

  sync_kek = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (sync_kek, kek));

  async_kek = unwrap_async (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (async_kek, kek));

  /* The epoch is bound into the wrap (ECDH-ES) or at least must not make
   * a different key come out. */
  {
    g_autoptr (CustosSecret) other = NULL;
    wrapped->epoch = 43;
    other = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                            NULL, NULL, &error);
    g_assert_true (other == NULL || custos_secret_equal (other, kek));
    g_clear_error (&error);
  }
}

static void
test_wrapped_kek_boxed (void)
{
  guint8 id[CUSTOS_RECIPIENT_ID_LEN];
  g_autoptr (GBytes) blob = g_bytes_new_static ("wrapped", 7);
  g_autoptr (CustosWrappedKek) a = NULL;
  g_autoptr (CustosWrappedKek) b = NULL;

  memset (id, 0xab, sizeof id);
  a = custos_wrapped_kek_new (id, 5, CUSTOS_WRAP_ECDH_ES_P256, blob);
  b = g_boxed_copy (CUSTOS_TYPE_WRAPPED_KEK, a);
  g_assert_true (a != b);
  g_assert_cmpmem (a->recipient_id, sizeof id, b->recipient_id, sizeof id);
  g_assert_cmpuint (b->epoch, ==, 5);
  g_assert_cmpint (b->alg, ==, CUSTOS_WRAP_ECDH_ES_P256);
  g_assert_true (g_bytes_equal (a->wrapped, b->wrapped));
}

static void
test_encrypted_passphrase (void)
{
  g_autofree char *enc = make_encrypted_key (&p256_key, "pass.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (custos_local_key_provider_add_key (provider, enc, p256_key.cert_path,
                                                    "secret", &error));
  g_assert_no_error (error);

  wrapped = wrap_to (p256_key.cert_path, FALSE, 1, &kek);
  /* No interaction: the key was decoded when it was added. */
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
}

static void
test_encrypted_wrong_passphrase (void)
{
  g_autofree char *enc = make_encrypted_key (&p256_key, "wrong.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (custos_local_key_provider_add_key (provider, enc, p256_key.cert_path,
                                                     "not-the-secret", &error));
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
  g_assert_nonnull (strstr (error->message, enc));

  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  g_assert_cmpuint (certs->len, ==, 0);
}

static void
test_encrypted_interaction (void)
{
  g_autofree char *enc = make_encrypted_key (&rsa_key, "ask.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new ("secret");
  g_autoptr (CustosWrappedKek) w1 = NULL;
  g_autoptr (CustosWrappedKek) w2 = NULL;
  g_autoptr (CustosSecret) k1 = NULL;
  g_autoptr (CustosSecret) k2 = NULL;
  g_autoptr (CustosSecret) got1 = NULL;
  g_autoptr (CustosSecret) got2 = NULL;
  g_autoptr (GError) error = NULL;

  /* Locked keys are accepted and known by their certificate. */
  g_assert_true (custos_local_key_provider_add_key (provider, enc, rsa_key.cert_path, NULL,
                                                    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (interaction->n_asks, ==, 0);

  w1 = wrap_to (rsa_key.cert_path, FALSE, 1, &k1);
  w2 = wrap_to (rsa_key.cert_path, FALSE, 2, &k2);
  g_assert_true (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                    w1->recipient_id));

  /* From the GTask thread, the prompt still runs in the main context. */
  got1 = unwrap_async (CUSTOS_KEY_PROVIDER (provider), w1, G_TLS_INTERACTION (interaction),
                       NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got1, k1));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_true (interaction->last_thread == main_thread);
  g_assert_nonnull (strstr (interaction->last_description, enc));
  g_assert_false (interaction->last_flags & G_TLS_PASSWORD_RETRY);

  got2 = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), w2,
                                         G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got2, k2));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

static void
test_encrypted_interaction_wrong (void)
{
  g_autofree char *enc = make_encrypted_key (&p256_key, "askwrong.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new ("nope");
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (custos_local_key_provider_add_key (provider, enc, p256_key.cert_path, NULL,
                                                    &error));
  g_assert_no_error (error);
  wrapped = wrap_to (p256_key.cert_path, FALSE, 1, &kek);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                        G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
  /* Asked once, not again in a loop. */
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_clear_error (&error);

  /* The next unwrap may ask again, and says it is a retry. */
  g_free (interaction->answer);
  interaction->answer = g_strdup ("secret");
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                        G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (interaction->n_asks, ==, 2);
  g_assert_true (interaction->last_flags & G_TLS_PASSWORD_RETRY);
}

static void
test_encrypted_locked (void)
{
  g_autofree char *enc = make_encrypted_key (&p384_key, "locked.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (TestInteraction) declines = test_interaction_new (NULL);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (custos_local_key_provider_add_key (provider, enc, p384_key.cert_path, NULL,
                                                    &error));
  g_assert_no_error (error);
  wrapped = wrap_to (p384_key.cert_path, FALSE, 1, NULL);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "passphrase needed for"));
  g_assert_nonnull (strstr (error->message, enc));
  g_clear_error (&error);

  /* An interaction that does not handle the request is the same. */
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                        G_TLS_INTERACTION (declines), NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_assert_cmpuint (declines->n_asks, ==, 1);
}

static void
test_pkcs12 (void)
{
  g_autofree char *p12 = make_pkcs12 (&p256_key, "key.p12", "p12", FALSE);
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;

  /* Wrong passphrase, then none: the certificate inside is encrypted too,
   * so without a passphrase there is nothing to know the key by. */
  g_assert_false (custos_local_key_provider_add_key (provider, p12, NULL, "p13", &error));
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (custos_local_key_provider_add_key (provider, p12, NULL, NULL, &error));
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_clear_error (&error);

  g_assert_true (custos_local_key_provider_add_key (provider, p12, NULL, "p12", &error));
  g_assert_no_error (error);

  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  g_assert_cmpuint (certs->len, ==, 1);

  wrapped = wrap_to (p256_key.cert_path, FALSE, 3, &kek);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
}

/* A PKCS#12 whose passphrase is asked at first use: with the certificate
 * given separately, or readable in the clear inside the PKCS#12. */
static void
test_pkcs12_interaction (void)
{
  g_autofree char *p12 = make_pkcs12 (&rsa_key, "ask.p12", "p12", FALSE);
  g_autofree char *plain = make_pkcs12 (&p384_key, "plaincert.p12", "p12", TRUE);
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new ("p12");
  g_autoptr (GError) error = NULL;
  TestKey *keys[] = { &rsa_key, &p384_key };

  g_assert_true (custos_local_key_provider_add_key (provider, p12, rsa_key.cert_path, NULL,
                                                    &error));
  g_assert_no_error (error);
  g_assert_true (custos_local_key_provider_add_key (provider, plain, NULL, NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr (CustosWrappedKek) wrapped = NULL;
      g_autoptr (CustosSecret) kek = NULL;
      g_autoptr (CustosSecret) got = NULL;

      wrapped = wrap_to (keys[i]->cert_path, FALSE, 8, &kek);
      got = unwrap_async (CUSTOS_KEY_PROVIDER (provider), wrapped,
                          G_TLS_INTERACTION (interaction), NULL, &error);
      g_assert_no_error (error);
      g_assert_true (custos_secret_equal (got, kek));
      g_assert_cmpuint (interaction->n_asks, ==, i + 1);
    }
}

static void
test_mismatch (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (custos_local_key_provider_add_key (provider, rsa_key.key_path,
                                                     p256_key.cert_path, NULL, &error));
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, rsa_key.key_path));
  g_assert_nonnull (strstr (error->message, p256_key.cert_path));
  g_clear_error (&error);

  /* Same curve, different key. */
  g_assert_false (custos_local_key_provider_add_key (provider, p256_key.key_path,
                                                     p384_key.cert_path, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_unknown_recipient (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&rsa_key);
  g_autoptr (CustosWrappedKek) wrapped = wrap_to (p384_key.cert_path, FALSE, 1, NULL);
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hex = custos_hex_encode (wrapped->recipient_id, CUSTOS_RECIPIENT_ID_LEN);

  g_assert_false (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                     wrapped->recipient_id));
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_assert_nonnull (strstr (error->message, hex));
}

static void
test_legacy (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&rsa_key);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;
  gboolean allow = TRUE;

  wrapped = wrap_to (rsa_key.cert_path, TRUE, 1, &kek);
  g_assert_cmpint (wrapped->alg, ==, CUSTOS_WRAP_RSA_PKCS1_V15);

  g_object_get (provider, "allow-legacy", &allow, NULL);
  g_assert_false (allow);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NOT_ENABLED);
  g_clear_error (&error);

  custos_local_key_provider_set_allow_legacy (provider, TRUE);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, NULL,
                                        &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
}

static void
test_unwrap_failed (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&p256_key);
  g_autoptr (CustosWrappedKek) wrapped = wrap_to (p256_key.cert_path, FALSE, 1, NULL);
  g_autoptr (CustosWrappedKek) broken = NULL;
  g_autoptr (GBytes) blob = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;
  guint8 *data;
  gsize len;

  data = g_bytes_unref_to_data (g_bytes_ref (wrapped->wrapped), &len);
  data[len - 1] ^= 1; /* the KWP part */
  blob = g_bytes_new_take (data, len);
  broken = custos_wrapped_kek_new (wrapped->recipient_id, wrapped->epoch, wrapped->alg, blob);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), broken, NULL, NULL,
                                        &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED);
}

static void
test_cancelled (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&p256_key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wrapped = wrap_to (p256_key.cert_path, FALSE, 1, NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  g_cancellable_cancel (cancellable);

  got = unwrap_async (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL, cancellable, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped, NULL,
                                        cancellable, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  got = unwrap_async (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, cancellable, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 0);
}

static void
test_keyring_two_providers (void)
{
  g_autoptr (CustosLocalKeyProvider) a = provider_for (&rsa_key);
  g_autoptr (CustosLocalKeyProvider) b = provider_for (&p256_key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wa = wrap_to (rsa_key.cert_path, FALSE, 1, NULL);
  g_autoptr (CustosWrappedKek) wb = NULL;
  g_autoptr (CustosWrappedKek) wc = wrap_to (p384_key.cert_path, FALSE, 1, NULL);
  g_autoptr (CustosSecret) kb = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;

  wb = wrap_to (p256_key.cert_path, FALSE, 1, &kb);

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (a));
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (b));
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (b)); /* once is enough */

  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (keyring));
  g_assert_cmpuint (certs->len, ==, 2);
  g_assert_true (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (keyring),
                                                    wa->recipient_id));
  g_assert_true (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (keyring),
                                                    wb->recipient_id));
  g_assert_false (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (keyring),
                                                     wc->recipient_id));

  /* Provider a would fail with NO_KEY; only b can give the right key. */
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wb, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kb));
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 1);
  g_clear_pointer (&got, custos_secret_unref);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wc, NULL, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  {
    g_autofree char *hex = custos_hex_encode (wc->recipient_id, CUSTOS_RECIPIENT_ID_LEN);
    g_autofree char *fa = custos_certificate_dup_fingerprint_hex (g_ptr_array_index (certs, 0));
    g_autofree char *fb = custos_certificate_dup_fingerprint_hex (g_ptr_array_index (certs, 1));

    g_assert_nonnull (strstr (error->message, hex));
    g_assert_nonnull (strstr (error->message, "available: "));
    g_assert_nonnull (strstr (error->message, fa));
    g_assert_nonnull (strstr (error->message, fb));
  }
}

static void
test_keyring_cache (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&p384_key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (custos_key_cache_get_lifetime (custos_keyring_get_cache (keyring)), ==,
                    10 * 60 * 1000);
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  wrapped = wrap_to (p384_key.cert_path, FALSE, 77, &kek);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (CustosSecret) got = NULL;

      got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, NULL,
                                            &error);
      g_assert_no_error (error);
      g_assert_true (custos_secret_equal (got, kek));
      g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 1);
    }

  /* The async path finds the same entry, without a provider call. */
  {
    g_autoptr (CustosSecret) got = NULL;

    got = unwrap_async (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (custos_secret_equal (got, kek));
    g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 1);
  }

  /* Another epoch is another key operation. */
  {
    g_autoptr (CustosWrappedKek) next = NULL;
    g_autoptr (CustosSecret) next_kek = NULL;
    g_autoptr (CustosSecret) got = NULL;

    next = wrap_to (p384_key.cert_path, FALSE, 78, &next_kek);
    got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), next, NULL, NULL,
                                          &error);
    g_assert_no_error (error);
    g_assert_true (custos_secret_equal (got, next_kek));
    g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 2);
  }

  g_clear_pointer (&kek, custos_secret_unref);
  g_clear_object (&keyring);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_keyring_expiry (void)
{
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (&rsa_key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GError) error = NULL;

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  custos_key_cache_set_lifetime (custos_keyring_get_cache (keyring), 200);
  wrapped = wrap_to (rsa_key.cert_path, FALSE, 5, &kek);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (CustosSecret) got = NULL;

      got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, NULL,
                                            &error);
      g_assert_no_error (error);
      g_assert_true (custos_secret_equal (got, kek));
    }
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 1);

  g_usleep (400 * G_TIME_SPAN_MILLISECOND);

  {
    g_autoptr (CustosSecret) got = NULL;

    got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, NULL,
                                          &error);
    g_assert_no_error (error);
    g_assert_true (custos_secret_equal (got, kek));
    g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 2);
  }
}

static void
test_keyring_remove_provider (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (CustosLocalKeyProvider) a = provider_for (&rsa_key);
  g_autoptr (CustosLocalKeyProvider) b = provider_for (&p256_key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wa = wrap_to (rsa_key.cert_path, FALSE, 1, NULL);
  g_autoptr (CustosWrappedKek) wb = wrap_to (p256_key.cert_path, FALSE, 1, NULL);
  CustosKeyCache *cache = custos_keyring_get_cache (keyring);
  g_autoptr (GError) error = NULL;
  CustosSecret *got;

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (a));
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (b));

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wa, NULL, NULL, &error);
  g_assert_no_error (error);
  custos_secret_unref (got);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wb, NULL, NULL, &error);
  g_assert_no_error (error);
  custos_secret_unref (got);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 2);

  custos_keyring_remove_provider (keyring, CUSTOS_KEY_PROVIDER (b));
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 1);
  g_assert_null (custos_key_cache_lookup (cache, wb->recipient_id, 1));
  got = custos_key_cache_lookup (cache, wa->recipient_id, 1);
  g_assert_nonnull (got);
  custos_secret_unref (got);
  /* Only a's key is left in memory. */
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 1);

  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wb, NULL, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_clear_error (&error);

  custos_keyring_remove_provider (keyring, CUSTOS_KEY_PROVIDER (a));
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wa, NULL, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_assert_nonnull (strstr (error->message, "available: none"));
}

/* Misses go to the provider's own async path, hits stay in the keyring. */
static void
test_keyring_async_delegates (void)
{
  g_autoptr (TestProvider) provider = g_object_new (TEST_TYPE_PROVIDER, NULL);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GError) error = NULL;

  provider->inner = CUSTOS_KEY_PROVIDER (provider_for (&p256_key));
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  wrapped = wrap_to (p256_key.cert_path, FALSE, 9, &kek);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (CustosSecret) got = NULL;

      got = unwrap_async (CUSTOS_KEY_PROVIDER (keyring), wrapped, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (custos_secret_equal (got, kek));
    }
  g_assert_cmpuint (provider->n_async, ==, 1);
  g_assert_cmpuint (provider->n_sync, ==, 0);
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 1);
  g_assert_cmpuint (custos_key_cache_get_size (custos_keyring_get_cache (keyring)), ==, 1);
}

/* The keyring passes the interaction through to a locked key. */
static void
test_keyring_interaction (void)
{
  g_autofree char *enc = make_encrypted_key (&p384_key, "keyring.enc.pem", "secret");
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new ("secret");
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  custos_local_key_provider_add_key (provider, enc, p384_key.cert_path, NULL, &error);
  g_assert_no_error (error);
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  wrapped = wrap_to (p384_key.cert_path, FALSE, 1, &kek);

  got = unwrap_async (CUSTOS_KEY_PROVIDER (keyring), wrapped, G_TLS_INTERACTION (interaction),
                      NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();

  test_key_make (&rsa_key, "rsa");
  test_key_make (&p256_key, "p256");
  test_key_make (&p384_key, "p384");

  g_test_add_func ("/local-key-provider/wrapped-kek-boxed", test_wrapped_kek_boxed);
  g_test_add_data_func ("/local-key-provider/unwrap/rsa-2048", &rsa_key, check_unwrap_roundtrip);
  g_test_add_data_func ("/local-key-provider/unwrap/ec-p256", &p256_key, check_unwrap_roundtrip);
  g_test_add_data_func ("/local-key-provider/unwrap/ec-p384", &p384_key, check_unwrap_roundtrip);
  g_test_add_func ("/local-key-provider/encrypted/passphrase", test_encrypted_passphrase);
  g_test_add_func ("/local-key-provider/encrypted/wrong-passphrase", test_encrypted_wrong_passphrase);
  g_test_add_func ("/local-key-provider/encrypted/interaction", test_encrypted_interaction);
  g_test_add_func ("/local-key-provider/encrypted/interaction-wrong", test_encrypted_interaction_wrong);
  g_test_add_func ("/local-key-provider/encrypted/locked", test_encrypted_locked);
  g_test_add_func ("/local-key-provider/pkcs12/passphrase", test_pkcs12);
  g_test_add_func ("/local-key-provider/pkcs12/interaction", test_pkcs12_interaction);
  g_test_add_func ("/local-key-provider/mismatch", test_mismatch);
  g_test_add_func ("/local-key-provider/unknown-recipient", test_unknown_recipient);
  g_test_add_func ("/local-key-provider/legacy", test_legacy);
  g_test_add_func ("/local-key-provider/unwrap-failed", test_unwrap_failed);
  g_test_add_func ("/local-key-provider/cancelled", test_cancelled);
  g_test_add_func ("/keyring/two-providers", test_keyring_two_providers);
  g_test_add_func ("/keyring/cache", test_keyring_cache);
  g_test_add_func ("/keyring/expiry", test_keyring_expiry);
  g_test_add_func ("/keyring/remove-provider", test_keyring_remove_provider);
  g_test_add_func ("/keyring/async-delegates", test_keyring_async_delegates);
  g_test_add_func ("/keyring/interaction", test_keyring_interaction);

  return g_test_run ();
}
