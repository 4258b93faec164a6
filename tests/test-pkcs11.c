/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPkcs11Provider against real SoftHSM2 tokens made in a temp dir for
 * this run: keys generated on the tokens by pkcs11-tool, certificates for
 * them made by the openssl CLI (-force_pubkey), KEKs wrapped to those
 * certificates by custos_wrap_kek() and unwrapped on the tokens.
 */
#define G_LOG_DOMAIN "test-pkcs11"

#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "custos-pkcs11-provider.h"
#include "custos-test-fusion.h"
#include "custos-test-interaction.h"
#include "custos-test-util.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "1234"
#define SO_PIN "5678"
#define WAIT_MS 10000

typedef struct
{
  const char        *label;
  const char        *key_type; /* pkcs11-tool --key-type; NULL: certificate only */
  CustosCertificate *cert;
  char              *cert_path;
} TestToken;

static TestToken rsa_token = { "custos-rsa", "rsa:2048" };
static TestToken p256_token = { "custos-p256", "EC:secp256r1" };
static TestToken p384_token = { "custos-p384", "EC:secp384r1" };
static TestToken pin_token = { "custos-pin", "EC:secp256r1" };
static TestToken remove_token = { "custos-remove", "EC:secp256r1" };
static TestToken nokey_token = { "custos-nokey", NULL };

static gboolean have_softhsm;

/* Token set-up with the command-line tools, as an administrator would. */

static char *
tmp_path (const char *name)
{
  return g_build_filename (custos_test_tmpdir (), name, NULL);
}

/* A certificate for a key that lives on a token, with no engine: any
 * throwaway key signs a CSR, and -force_pubkey puts the token's key in. */
static char *
certify_public_key (const char *name,
                    const char *pub_pem)
{
  g_autofree char *throw_key = g_strdup_printf ("%s/%s.throw.key", custos_test_tmpdir (), name);
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", custos_test_tmpdir (), name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s/O=Custos Tests", name);
  char *cert = g_strdup_printf ("%s/%s.cert.pem", custos_test_tmpdir (), name);

  custos_test_run_args ("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-out", throw_key, NULL);
  custos_test_run_args ("openssl", "req", "-new", "-key", throw_key, "-subj", subj, "-out", csr, NULL);
  custos_test_run_args ("openssl", "x509", "-req", "-in", csr, "-force_pubkey", pub_pem, "-signkey", throw_key,
       "-days", "30", "-out", cert, NULL);
  return cert;
}

static char *
der_of (const char *cert_pem)
{
  char *der = g_strdup_printf ("%s.der", cert_pem);

  custos_test_run_args ("openssl", "x509", "-in", cert_pem, "-outform", "DER", "-out", der, NULL);
  return der;
}

/* The public key is exported with GnuTLS's p11tool: pkcs11-tool of OpenSC
 * 0.23 fails on P-384 public keys ("cannot create EVP_PKEY"). */
static void
token_generate_key (TestToken  *token,
                    const char *pub_pem)
{
  g_autofree char *label = g_strdup_printf ("%s-key", token->label);
  g_autofree char *uri = g_strdup_printf ("pkcs11:token=%s;id=%%01;type=public", token->label);

  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token->label, "--login",
       "--pin", USER_PIN, "--keypairgen", "--key-type", token->key_type, "--id", "01",
       "--label", label, NULL);
  custos_test_run_args ("p11tool", "--provider", SOFTHSM_MODULE, "--login", "--export-pubkey", uri,
       "--outfile", pub_pem, NULL);
}

static void
token_make (TestToken *token)
{
  g_autofree char *pub_pem = g_strdup_printf ("%s/%s.pub.pem", custos_test_tmpdir (), token->label);
  g_autofree char *cert_der = NULL;
  g_autofree char *cert_label = g_strdup_printf ("%s-cert", token->label);
  g_autoptr (GError) error = NULL;

  custos_test_run_args ("softhsm2-util", "--init-token", "--free", "--label", token->label, "--pin", USER_PIN,
       "--so-pin", SO_PIN, NULL);

  if (token->key_type != NULL)
    {
      token_generate_key (token, pub_pem);
      token->cert_path = certify_public_key (token->label, pub_pem);
    }
  else
    {
      /* A certificate whose private key is elsewhere (a CA on the card). */
      custos_test_make_cert ("ec:P-256", token->label, &token->cert_path, NULL);
    }

  cert_der = der_of (token->cert_path);
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token->label, "--login",
       "--pin", USER_PIN, "--write-object", cert_der, "--type", "cert", "--id", "01",
       "--label", cert_label, NULL);

  token->cert = custos_certificate_new_from_file (token->cert_path, &error);
  g_assert_no_error (error);
}

static gboolean
softhsm_available (void)
{
  g_autofree char *util = g_find_program_in_path ("softhsm2-util");
  g_autofree char *tool = g_find_program_in_path ("pkcs11-tool");
  g_autofree char *p11tool = g_find_program_in_path ("p11tool");

  return util != NULL && tool != NULL && p11tool != NULL &&
         g_file_test (SOFTHSM_MODULE, G_FILE_TEST_EXISTS);
}

static gboolean
skip_without_softhsm (void)
{
  if (have_softhsm)
    return FALSE;
  g_test_skip ("SoftHSM2 and its tools (softhsm2, opensc, gnutls-bin) are not installed");
  return TRUE;
}

/* An interaction that answers with a fixed PIN (or declines) and records
 * how it was asked. */


/* Helpers */

static CustosPkcs11Provider *
provider_for_module (void)
{
  g_autoptr (GError) error = NULL;
  CustosPkcs11Provider *provider;

  provider = custos_pkcs11_provider_new_for_module (SOFTHSM_MODULE, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (provider);
  return provider;
}

static CustosPkcs11Provider *
provider_for_registry (const char *uri)
{
  g_autoptr (GError) error = NULL;
  CustosPkcs11Provider *provider;

  provider = custos_pkcs11_provider_new (uri, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (provider);
  return provider;
}

/* Wraps a fresh KEK to the certificate the way the writer does. */
static CustosWrappedKek *
wrap_to (CustosCertificate  *cert,
         gboolean            legacy,
         guint32             epoch,
         CustosSecret      **kek_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  CustosWrapAlg alg = 0;

  custos_certificate_get_wrap_alg (cert, legacy, &alg, &error);
  g_assert_no_error (error);
  kek = custos_secret_new_random (CUSTOS_AES_KEY_LEN, &error);
  g_assert_no_error (error);
  wrapped = custos_wrap_kek (custos_certificate_get_public_key (cert), alg,
                             custos_certificate_get_fingerprint (cert), epoch, kek, &error);
  g_assert_no_error (error);

  if (kek_out != NULL)
    *kek_out = g_steal_pointer (&kek);
  return custos_wrapped_kek_new (custos_certificate_get_fingerprint (cert), epoch, alg, wrapped);
}

static CustosSecret *
unwrap (CustosPkcs11Provider    *provider,
        const CustosWrappedKek  *wrapped,
        TestInteraction         *interaction,
        GError                 **error)
{
  return custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                         interaction != NULL ? G_TLS_INTERACTION (interaction) : NULL,
                                         NULL, error);
}

typedef struct
{
  guint         pending;
  GAsyncResult *results[16];
} AsyncWait;

static void
async_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncWait *wait = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (wait->results); i++)
    if (wait->results[i] == NULL)
      {
        wait->results[i] = g_object_ref (result);
        break;
      }
  wait->pending--;
}

/* Runs the main loop like an app does while the card works in a thread
 * and the PIN prompt comes back to the main context. */
static void
iterate_until (guint *pending)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (*pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (*pending, ==, 0);
}

static CustosSecret *
unwrap_async (CustosPkcs11Provider    *provider,
              const CustosWrappedKek  *wrapped,
              TestInteraction         *interaction,
              GCancellable            *cancellable,
              GError                 **error)
{
  AsyncWait wait = { 1, { NULL } };
  CustosSecret *ret;

  /* Own the context from the start, like an app whose loop runs: else a
   * GTask thread may find it free and prompt in itself. */
  g_assert_true (g_main_context_acquire (NULL));
  custos_key_provider_unwrap_kek_async (CUSTOS_KEY_PROVIDER (provider), wrapped,
                                        interaction != NULL ? G_TLS_INTERACTION (interaction) : NULL,
                                        cancellable, async_done_cb, &wait);
  iterate_until (&wait.pending);
  g_main_context_release (NULL);

  ret = custos_key_provider_unwrap_kek_finish (CUSTOS_KEY_PROVIDER (provider), wait.results[0],
                                               error);
  g_object_unref (wait.results[0]);
  return ret;
}

static gboolean
has_cert (CustosPkcs11Provider *provider,
          CustosCertificate    *cert)
{
  return custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                            custos_certificate_get_fingerprint (cert));
}

static CustosPkcs11TokenInfo *
find_token (CustosPkcs11Provider *provider,
            const char           *label)
{
  g_autoptr (GPtrArray) tokens = custos_pkcs11_provider_list_tokens (provider);

  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *token = g_ptr_array_index (tokens, i);

      if (g_strcmp0 (token->label, label) == 0)
        return custos_pkcs11_token_info_ref (token);
    }
  return NULL;
}

static void
assert_roundtrip (CustosPkcs11Provider *provider,
                  TestToken            *token,
                  guint32               epoch,
                  TestInteraction      *interaction)
{
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  wrapped = wrap_to (token->cert, FALSE, epoch, &kek);
  got = unwrap (provider, wrapped, interaction, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_true (custos_secret_equal (got, kek));
}

/* Tests */

static void
test_registry_tokens (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosPkcs11TokenInfo) rsa = NULL;
  g_autoptr (CustosPkcs11TokenInfo) p384 = NULL;
  g_autoptr (GPtrArray) tokens = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  CustosPkcs11CertInfo *cert;

  if (skip_without_softhsm ())
    return;

  /* No module named anywhere: SoftHSM comes from p11-kit's registry. */
  provider = provider_for_registry (NULL);
  tokens = custos_pkcs11_provider_list_tokens (provider);
  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *token = g_ptr_array_index (tokens, i);

      g_test_message ("token “%s” (%s) in slot %lu, %u certificates", token->label,
                      token->module_name, token->slot_id, token->certificates->len);
      /* The trust module's CA list is skipped. */
      g_assert_cmpstr (token->module_name, !=, "p11-kit-trust");
    }

  rsa = find_token (provider, rsa_token.label);
  g_assert_nonnull (rsa);
  g_assert_cmpstr (rsa->module_name, ==, "softhsm2");
  g_assert_cmpstr (rsa->manufacturer, ==, "SoftHSM project");
  g_assert_cmpstr (rsa->model, ==, "SoftHSM v2");
  g_assert_cmpuint (strlen (rsa->serial), >, 0);
  g_assert_true (rsa->flags & CUSTOS_PKCS11_TOKEN_LOGIN_REQUIRED);
  g_assert_false (rsa->flags & CUSTOS_PKCS11_TOKEN_PIN_LOCKED);
  g_assert_false (rsa->logged_in);
  g_assert_true (g_str_has_prefix (rsa->uri, "pkcs11:"));
  g_assert_nonnull (strstr (rsa->uri, "token=custos-rsa"));

  g_assert_cmpuint (rsa->certificates->len, ==, 1);
  cert = g_ptr_array_index (rsa->certificates, 0);
  g_assert_true (custos_certificate_equal (cert->certificate, rsa_token.cert));
  g_assert_cmpstr (cert->id_hex, ==, "01");
  g_assert_cmpstr (cert->label, ==, "custos-rsa-cert");
  g_assert_cmpstr (cert->key_type, ==, "RSA");
  g_assert_cmpuint (cert->key_bits, ==, 2048);
  g_assert_cmpint (cert->wrap_alg, ==, CUSTOS_WRAP_RSA_OAEP_SHA256);
  /* SoftHSM keeps private keys private: unknown until the PIN is given. */
  g_assert_cmpint (cert->key_state, ==, CUSTOS_PKCS11_KEY_UNKNOWN);
  g_assert_nonnull (strstr (cert->uri, "id=%01"));
  g_assert_nonnull (strstr (cert->uri, "type=cert"));

  p384 = find_token (provider, p384_token.label);
  g_assert_nonnull (p384);
  cert = g_ptr_array_index (p384->certificates, 0);
  g_assert_cmpstr (cert->key_type, ==, "EC P-384");
  g_assert_cmpuint (cert->key_bits, ==, 384);

  /* Two tokens (more, in fact) at once, all through the registry. */
  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  g_assert_true (g_ptr_array_find_with_equal_func (certs, rsa_token.cert,
                                                   (GEqualFunc) custos_certificate_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (certs, p256_token.cert,
                                                   (GEqualFunc) custos_certificate_equal, NULL));
  g_assert_true (has_cert (provider, p384_token.cert));
}

static void
test_two_tokens (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) after = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_registry (NULL);
  assert_roundtrip (provider, &rsa_token, 1, interaction);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_nonnull (strstr (interaction->last_description, rsa_token.label));
  assert_roundtrip (provider, &p256_token, 1, interaction);
  g_assert_cmpuint (interaction->n_asks, ==, 2);
  g_assert_nonnull (strstr (interaction->last_description, p256_token.label));

  /* Logged in once per token, for the provider's life. */
  assert_roundtrip (provider, &rsa_token, 2, interaction);
  assert_roundtrip (provider, &p256_token, 2, interaction);
  g_assert_cmpuint (interaction->n_asks, ==, 2);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 4);

  /* The login showed the private key. */
  after = find_token (provider, rsa_token.label);
  g_assert_true (after->logged_in);
  g_assert_cmpint (((CustosPkcs11CertInfo *) g_ptr_array_index (after->certificates, 0))->key_state,
                   ==, CUSTOS_PKCS11_KEY_PRESENT);
}

static void
test_rsa_oaep (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  g_assert_cmpuint (custos_pkcs11_provider_get_last_mechanism (provider), ==, 0);

  wrapped = wrap_to (rsa_token.cert, FALSE, 7, &kek);
  g_assert_cmpint (wrapped->alg, ==, CUSTOS_WRAP_RSA_OAEP_SHA256);
  got = unwrap_async (provider, wrapped, interaction, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_true (interaction->last_flags == G_TLS_PASSWORD_NONE);

  /* SoftHSM 2.6.1 refuses OAEP with SHA-256 at C_DecryptInit, so the one
   * C_Decrypt was raw RSA and the OAEP decoding ran in software. */
  g_assert_cmpuint (custos_pkcs11_provider_get_last_mechanism (provider), ==, CKM_RSA_X_509);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 1);

  /* A corrupted blob gets through the token but not the OAEP check. */
  {
    g_autoptr (CustosWrappedKek) bad = custos_wrapped_kek_copy (wrapped);
    g_autoptr (GByteArray) bytes = g_byte_array_new ();
    g_autoptr (CustosSecret) none = NULL;

    g_byte_array_append (bytes, g_bytes_get_data (wrapped->wrapped, NULL),
                         g_bytes_get_size (wrapped->wrapped));
    bytes->data[100] ^= 0x40;
    g_bytes_unref (bad->wrapped);
    bad->wrapped = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
    none = unwrap (provider, bad, interaction, &error);
    g_assert_null (none);
    g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED);
    g_assert_nonnull (strstr (error->message, "custos-rsa"));
    g_clear_error (&error);
  }
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 2);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

static void
check_ecdh (TestToken     *token,
            CustosWrapAlg  alg)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (CustosSecret) again = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  wrapped = wrap_to (token->cert, FALSE, 3, &kek);
  g_assert_cmpint (wrapped->alg, ==, alg);

  got = unwrap_async (provider, wrapped, interaction, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (custos_pkcs11_provider_get_last_mechanism (provider), ==, CKM_ECDH1_DERIVE);
  /* The raw point was accepted: one C_DeriveKey, no retry. */
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 1);

  /* The epoch is bound into the wrap: another one does not unwrap. */
  wrapped->epoch = 4;
  again = unwrap (provider, wrapped, interaction, &error);
  g_assert_null (again);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

static void
test_ecdh_p256 (void)
{
  check_ecdh (&p256_token, CUSTOS_WRAP_ECDH_ES_P256);
}

static void
test_ecdh_p384 (void)
{
  check_ecdh (&p384_token, CUSTOS_WRAP_ECDH_ES_P384);
}

static void
test_legacy (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  g_assert_false (custos_pkcs11_provider_get_allow_legacy (provider));
  wrapped = wrap_to (rsa_token.cert, TRUE, 9, &kek);
  g_assert_cmpint (wrapped->alg, ==, CUSTOS_WRAP_RSA_PKCS1_V15);

  /* Refused before the card (or the user) is bothered. */
  got = unwrap (provider, wrapped, interaction, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NOT_ENABLED);
  g_assert_cmpuint (interaction->n_asks, ==, 0);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 0);
  g_clear_error (&error);

  g_object_set (provider, "allow-legacy", TRUE, NULL);
  got = unwrap (provider, wrapped, interaction, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (custos_pkcs11_provider_get_last_mechanism (provider), ==, CKM_RSA_PKCS);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 1);
}

static void
test_wrong_pin (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new ("0000");
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  wrapped = wrap_to (pin_token.cert, FALSE, 1, &kek);

  /* No interaction: nothing to ask with. */
  got = unwrap (provider, wrapped, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "PIN needed"));
  g_clear_error (&error);

  got = unwrap_async (provider, wrapped, interaction, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "wrong PIN"));
  g_assert_nonnull (strstr (error->message, pin_token.label));
  /* SoftHSM raises CKF_USER_PIN_COUNT_LOW after a wrong PIN. */
  g_assert_nonnull (strstr (error->message, "few tries left"));
  /* Asked once and not again: a real card locks after three. */
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_false (interaction->last_flags & G_TLS_PASSWORD_RETRY);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 0);
  g_clear_error (&error);

  token = find_token (provider, pin_token.label);
  g_assert_true (token->flags & CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW);
  g_assert_false (token->logged_in);

  /* The next attempt says it is one, and what the token reports. */
  g_free (interaction->answer);
  interaction->answer = g_strdup (USER_PIN);
  got = unwrap_async (provider, wrapped, interaction, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_assert_cmpuint (interaction->n_asks, ==, 2);
  g_assert_true (interaction->last_flags & G_TLS_PASSWORD_RETRY);
  g_assert_true (interaction->last_flags & G_TLS_PASSWORD_MANY_TRIES);
  g_assert_false (interaction->last_flags & G_TLS_PASSWORD_FINAL_TRY);

  /* A good PIN resets the token's counter. */
  g_clear_pointer (&token, custos_pkcs11_token_info_unref);
  token = find_token (provider, pin_token.label);
  g_assert_false (token->flags & CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW);
  g_assert_true (token->logged_in);
}

static void
test_declined (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) declines = test_interaction_new (NULL);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  wrapped = wrap_to (p384_token.cert, FALSE, 1, NULL);
  got = unwrap (provider, wrapped, declines, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_assert_cmpuint (declines->n_asks, ==, 1);
  g_assert_nonnull (strstr (declines->last_description, p384_token.label));
}

/* SoftHSM never locks a PIN (it only raises CKF_USER_PIN_COUNT_LOW, however
 * many wrong PINs it gets) and has no PIN pad, so the rule for those flags
 * is checked on its own. */
/* The rule for CK_TOKEN_INFO flags; flags is how the prompt is flagged. */
static CustosPkcs11LoginAction
action_for (gulong             ck_flags,
            gboolean           after_wrong_pin,
            GTlsPasswordFlags *flags)
{
  return custos_pkcs11_login_action (custos_pkcs11_token_flags_from_ck (ck_flags),
                                     after_wrong_pin, flags);
}

/* SoftHSM never locks a PIN (it only raises CKF_USER_PIN_COUNT_LOW, however
 * many wrong PINs it gets) and has no PIN pad, so the rule for those flags
 * is checked on its own. */
static void
test_login_action (void)
{
  const gulong login = CKF_LOGIN_REQUIRED;
  GTlsPasswordFlags flags = G_TLS_PASSWORD_RETRY;

  g_assert_cmpint (action_for (0, FALSE, &flags), ==, CUSTOS_PKCS11_LOGIN_NOT_NEEDED);
  g_assert_cmpint (flags, ==, G_TLS_PASSWORD_NONE);

  g_assert_cmpint (action_for (login, FALSE, &flags), ==, CUSTOS_PKCS11_LOGIN_ASK_PIN);
  g_assert_cmpint (flags, ==, G_TLS_PASSWORD_NONE);

  g_assert_cmpint (action_for (login | CKF_USER_PIN_COUNT_LOW, TRUE, &flags), ==,
                   CUSTOS_PKCS11_LOGIN_ASK_PIN);
  g_assert_cmpint (flags, ==, G_TLS_PASSWORD_MANY_TRIES | G_TLS_PASSWORD_RETRY);

  g_assert_cmpint (action_for (login | CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY, FALSE,
                               &flags), ==, CUSTOS_PKCS11_LOGIN_ASK_PIN);
  g_assert_cmpint (flags, ==, G_TLS_PASSWORD_MANY_TRIES | G_TLS_PASSWORD_FINAL_TRY);

  /* Locked: no prompt at all, even with a PIN pad. */
  g_assert_cmpint (action_for (login | CKF_USER_PIN_LOCKED | CKF_PROTECTED_AUTHENTICATION_PATH,
                               TRUE, &flags), ==, CUSTOS_PKCS11_LOGIN_LOCKED);
  g_assert_cmpint (action_for (login | CKF_PROTECTED_AUTHENTICATION_PATH, FALSE, &flags), ==,
                   CUSTOS_PKCS11_LOGIN_PIN_PAD);

  g_assert_cmpint (custos_pkcs11_token_flags_from_ck (CKF_USER_PIN_LOCKED | CKF_WRITE_PROTECTED),
                   ==, CUSTOS_PKCS11_TOKEN_PIN_LOCKED | CUSTOS_PKCS11_TOKEN_WRITE_PROTECTED);
  g_assert_cmpstr (custos_pkcs11_rv_to_string (CKR_PIN_INCORRECT), ==, "CKR_PIN_INCORRECT");
  g_assert_cmpstr (custos_pkcs11_rv_to_string (CKR_PIN_LOCKED), ==, "CKR_PIN_LOCKED");
}

static void
test_no_key (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosCertificate) elsewhere = NULL;
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = NULL;
  g_autofree char *fp = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();

  /* A recipient on no card at all: say which certificate is needed. */
  custos_test_make_cert ("ec:P-256", "elsewhere", &cert_path, NULL);
  elsewhere = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  fp = custos_certificate_dup_fingerprint_hex (elsewhere);
  wrapped = wrap_to (elsewhere, FALSE, 1, NULL);
  g_assert_false (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                     wrapped->recipient_id));
  got = unwrap (provider, wrapped, interaction, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fp));
  g_assert_nonnull (strstr (error->message, "insert the card"));
  g_assert_cmpuint (interaction->n_asks, ==, 0);
  g_clear_error (&error);
  g_clear_pointer (&wrapped, custos_wrapped_kek_free);
  g_clear_pointer (&fp, g_free);

  /* A certificate on a card whose key is not there: known only after the
   * PIN, then named with its id. */
  fp = custos_certificate_dup_fingerprint_hex (nokey_token.cert);
  wrapped = wrap_to (nokey_token.cert, FALSE, 1, NULL);
  g_assert_true (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                    wrapped->recipient_id));
  got = unwrap (provider, wrapped, interaction, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fp));
  g_assert_nonnull (strstr (error->message, nokey_token.label));
  g_assert_nonnull (strstr (error->message, "CKA_ID 01"));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 0);

  token = find_token (provider, nokey_token.label);
  g_assert_cmpint (((CustosPkcs11CertInfo *) g_ptr_array_index (token->certificates, 0))->key_state,
                   ==, CUSTOS_PKCS11_KEY_ABSENT);
  g_assert_false (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                     wrapped->recipient_id));
}

static void
test_cancel (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  wrapped = wrap_to (p256_token.cert, FALSE, 1, NULL);

  g_cancellable_cancel (cancelled);
  got = unwrap_async (provider, wrapped, interaction, cancelled, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (interaction->n_asks, ==, 0);
  g_clear_error (&error);

  /* Cancelled while the PIN dialog is open. */
  interaction->cancel_on_ask = g_object_ref (cancellable);
  got = unwrap_async (provider, wrapped, interaction, cancellable, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 0);
}

/* Eight unwraps at once on one token: the session's mutex keeps them in
 * line and the first one's PIN serves all. */
static void
test_concurrent (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  CustosWrappedKek *wrapped[8];
  CustosSecret *keks[8];
  AsyncWait wait = { G_N_ELEMENTS (wrapped), { NULL } };
  guint ok = 0;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_module ();
  g_assert_true (g_main_context_acquire (NULL));
  for (guint i = 0; i < G_N_ELEMENTS (wrapped); i++)
    {
      wrapped[i] = wrap_to (i % 2 ? p384_token.cert : p256_token.cert, FALSE, 100 + i, &keks[i]);
      custos_key_provider_unwrap_kek_async (CUSTOS_KEY_PROVIDER (provider), wrapped[i],
                                            G_TLS_INTERACTION (interaction), NULL,
                                            async_done_cb, &wait);
    }
  iterate_until (&wait.pending);
  g_main_context_release (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (wrapped); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CustosSecret) got = NULL;

      got = custos_key_provider_unwrap_kek_finish (CUSTOS_KEY_PROVIDER (provider), wait.results[i],
                                                   &error);
      g_assert_no_error (error);
      for (guint j = 0; j < G_N_ELEMENTS (keks); j++)
        ok += custos_secret_equal (got, keks[j]);
      g_object_unref (wait.results[i]);
    }
  g_assert_cmpuint (ok, ==, G_N_ELEMENTS (wrapped));
  /* One prompt per token, not per unwrap. */
  g_assert_cmpuint (interaction->n_asks, ==, 2);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, 8);

  for (guint i = 0; i < G_N_ELEMENTS (wrapped); i++)
    {
      custos_wrapped_kek_free (wrapped[i]);
      custos_secret_unref (keks[i]);
    }
}

/* A fusion file read through CustosReader + CustosKeyring + the provider:
 * every packet decrypts, and the card did one operation per wrap epoch. */
static void
check_fusion (TestToken *token)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (GPtrArray) recipients = g_ptr_array_new ();
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  CustosTestSpec spec;
  CustosPacket *packet;
  guint n_packets = 0;
  guint epochs;

  if (skip_without_softhsm ())
    return;

  custos_test_spec_init (&spec);
  spec.seconds = 12;
  spec.audio = TRUE;
  spec.period_ms = 2000;
  spec.epoch_ms = 4000;
  epochs = spec.seconds * 1000 / spec.epoch_ms;
  g_ptr_array_add (recipients, token->cert);
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);

  provider = provider_for_registry (NULL);
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));

  reader = custos_reader_new_for_bytes (file);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (keyring));
  custos_reader_set_interaction (reader, G_TLS_INTERACTION (interaction));
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      custos_test_assert_payload (&spec, packet);
      custos_packet_unref (packet);
      n_packets++;
    }
  g_assert_no_error (error);

  g_assert_cmpuint (n_packets, ==, custos_test_packet_count (&spec, 0) +
                                   custos_test_packet_count (&spec, 1));
  g_test_message ("%u packets, %u epochs, %u private-key operations", n_packets, epochs,
                  custos_pkcs11_provider_get_private_key_ops (provider));
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), ==, epochs);
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, epochs);
  g_assert_cmpuint (custos_key_cache_get_size (custos_keyring_get_cache (keyring)), ==, epochs);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

static void
test_fusion_rsa (void)
{
  check_fusion (&rsa_token);
}

static void
test_fusion_p384 (void)
{
  check_fusion (&p384_token);
}

typedef struct
{
  CustosCertificate *cert;
  guint              count;
} SignalSeen;

static void
on_certificate (CustosKeyProvider *provider,
                CustosCertificate *cert,
                SignalSeen        *seen)
{
  g_set_object (&seen->cert, cert);
  seen->count++;
}

static void
wait_for_signal (SignalSeen *seen)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  /* The signal comes from the monitor thread through an idle source. */
  while (seen->count == 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5000);
  g_assert_cmpuint (seen->count, >, 0);
}

/* `softhsm2-util --delete-token` from another process while the provider
 * runs: SoftHSM keeps the slot but C_GetTokenInfo fails, which the poll
 * takes as a card pulled out. The keyring must wipe the KEK at once. */
static void
test_removal (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosWrappedKek) other = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) got = NULL;
  g_autoptr (CustosPkcs11TokenInfo) gone = NULL;
  g_autoptr (GError) error = NULL;
  CustosKeyCache *cache = custos_keyring_get_cache (keyring);
  SignalSeen removed = { NULL, 0 };
  SignalSeen removed_keyring = { NULL, 0 };
  guint live_before;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_registry (NULL);
  custos_pkcs11_provider_set_poll_interval (provider, 50);
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  g_signal_connect (provider, "certificate-removed", G_CALLBACK (on_certificate), &removed);
  g_signal_connect (keyring, "certificate-removed", G_CALLBACK (on_certificate), &removed_keyring);

  live_before = custos_secret_get_live_count ();
  wrapped = wrap_to (remove_token.cert, FALSE, 1, &kek);
  other = wrap_to (p256_token.cert, FALSE, 1, NULL);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wrapped,
                                        G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (custos_secret_equal (got, kek));
  g_clear_pointer (&got, custos_secret_unref);
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), other,
                                        G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&got, custos_secret_unref);
  g_clear_pointer (&kek, custos_secret_unref);
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 2);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, live_before + 2);

  custos_test_run_args ("softhsm2-util", "--delete-token", "--token", remove_token.label, NULL);
  wait_for_signal (&removed);

  g_assert_cmpuint (removed.count, ==, 1);
  g_assert_true (custos_certificate_equal (removed.cert, remove_token.cert));
  g_assert_cmpuint (removed_keyring.count, ==, 1);
  /* Wiped at once; the other card's KEK stays. */
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 1);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, live_before + 1);
  g_assert_null (custos_key_cache_lookup (cache, wrapped->recipient_id, 1));

  gone = find_token (provider, remove_token.label);
  g_assert_null (gone);
  g_assert_false (custos_key_provider_has_recipient (CUSTOS_KEY_PROVIDER (provider),
                                                     wrapped->recipient_id));
  got = custos_key_provider_unwrap_kek (CUSTOS_KEY_PROVIDER (keyring), wrapped,
                                        G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_null (got);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);

  g_clear_object (&removed.cert);
  g_clear_object (&removed_keyring.cert);
}

/* Insertion: SoftHSM reads its token directory once, at C_Initialize, so
 * a token made by another process later is never seen; one initialized
 * in this process (on SoftHSM's free slot) is, as a card in a reader
 * would be. Key on the token, certificate for it, then the poll. */

static CK_FUNCTION_LIST *
load_softhsm (void)
{
  CK_FUNCTION_LIST *module = p11_kit_module_load (SOFTHSM_MODULE, 0);

  g_assert_nonnull (module);
  g_assert_cmpuint (p11_kit_module_initialize (module), ==, CKR_OK);
  return module;
}

static CK_SLOT_ID
free_slot (CK_FUNCTION_LIST *module)
{
  CK_SLOT_ID slots[32];
  CK_ULONG n = G_N_ELEMENTS (slots);

  g_assert_cmpuint (module->C_GetSlotList (CK_TRUE, slots, &n), ==, CKR_OK);
  for (CK_ULONG i = 0; i < n; i++)
    {
      CK_TOKEN_INFO info;

      if (module->C_GetTokenInfo (slots[i], &info) == CKR_OK &&
          !(info.flags & CKF_TOKEN_INITIALIZED))
        return slots[i];
    }
  g_assert_not_reached ();
}

static CK_SESSION_HANDLE
init_token (CK_FUNCTION_LIST *module,
            CK_SLOT_ID        slot,
            const char       *label)
{
  CK_UTF8CHAR padded[32];
  CK_SESSION_HANDLE session;

  memset (padded, ' ', sizeof padded);
  memcpy (padded, label, strlen (label));
  g_assert_cmpuint (module->C_InitToken (slot, (CK_UTF8CHAR_PTR) SO_PIN, strlen (SO_PIN), padded),
                    ==, CKR_OK);
  g_assert_cmpuint (module->C_OpenSession (slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                           &session), ==, CKR_OK);
  g_assert_cmpuint (module->C_Login (session, CKU_SO, (CK_UTF8CHAR_PTR) SO_PIN, strlen (SO_PIN)),
                    ==, CKR_OK);
  g_assert_cmpuint (module->C_InitPIN (session, (CK_UTF8CHAR_PTR) USER_PIN, strlen (USER_PIN)),
                    ==, CKR_OK);
  g_assert_cmpuint (module->C_Logout (session), ==, CKR_OK);
  g_assert_cmpuint (module->C_Login (session, CKU_USER, (CK_UTF8CHAR_PTR) USER_PIN,
                                     strlen (USER_PIN)), ==, CKR_OK);
  return session;
}

/* Generates a P-256 key pair on the token and writes its public key as PEM. */
static void
generate_p256 (CK_FUNCTION_LIST  *module,
               CK_SESSION_HANDLE  session,
               const char        *pub_pem)
{
  static const guint8 p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
  CK_MECHANISM mechanism = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_BBOOL yes = CK_TRUE;
  CK_BYTE id = 0x01;
  CK_ATTRIBUTE pub_template[] = {
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_EC_PARAMS, (void *) p256_oid, sizeof p256_oid },
    { CKA_ID, &id, 1 },
  };
  CK_ATTRIBUTE priv_template[] = {
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_PRIVATE, &yes, sizeof yes },
    { CKA_SENSITIVE, &yes, sizeof yes },
    { CKA_DERIVE, &yes, sizeof yes },
    { CKA_ID, &id, 1 },
  };
  CK_OBJECT_HANDLE pub, priv;
  guint8 point[128];
  CK_ATTRIBUTE value = { CKA_EC_POINT, point, sizeof point };
  OSSL_PARAM params[3];
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  g_autoptr (EVP_PKEY) pkey = NULL;
  BIO *bio;

  g_assert_cmpuint (module->C_GenerateKeyPair (session, &mechanism, pub_template,
                                               G_N_ELEMENTS (pub_template), priv_template,
                                               G_N_ELEMENTS (priv_template), &pub, &priv),
                    ==, CKR_OK);
  g_assert_cmpuint (module->C_GetAttributeValue (session, pub, &value, 1), ==, CKR_OK);
  /* CKA_EC_POINT is a DER OCTET STRING around the 65-byte point. */
  g_assert_cmpuint (value.ulValueLen, ==, 67);

  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_PKEY_PARAM_GROUP_NAME, (char *) "P-256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PUB_KEY, point + 2, 65);
  params[2] = OSSL_PARAM_construct_end ();
  g_assert_cmpint (EVP_PKEY_fromdata_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), ==, 1);
  EVP_PKEY_CTX_free (ctx);
  bio = BIO_new_file (pub_pem, "w");
  g_assert_nonnull (bio);
  g_assert_cmpint (PEM_write_bio_PUBKEY (bio, pkey), ==, 1);
  BIO_free (bio);
}

static void
store_certificate (CK_FUNCTION_LIST  *module,
                   CK_SESSION_HANDLE  session,
                   CustosCertificate *cert)
{
  GBytes *der = custos_certificate_get_der (cert);
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  CK_BYTE id = 0x01;
  const char *label = "inserted-cert";
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_CERTIFICATE_TYPE, &type, sizeof type },
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_ID, &id, 1 },
    { CKA_LABEL, (void *) label, strlen (label) },
    { CKA_VALUE, (void *) g_bytes_get_data (der, NULL), g_bytes_get_size (der) },
    { CKA_SUBJECT, NULL, 0 },
  };
  CK_OBJECT_HANDLE object;
  const unsigned char *p = g_bytes_get_data (der, NULL);
  X509 *x509 = d2i_X509 (NULL, &p, g_bytes_get_size (der));
  unsigned char *subject = NULL;
  int subject_len;

  /* SoftHSM wants CKA_SUBJECT (CKR_TEMPLATE_INCOMPLETE without it). */
  g_assert_nonnull (x509);
  subject_len = i2d_X509_NAME (X509_get_subject_name (x509), &subject);
  g_assert_cmpint (subject_len, >, 0);
  template[G_N_ELEMENTS (template) - 1] = (CK_ATTRIBUTE) { CKA_SUBJECT, subject, subject_len };

  g_assert_cmpuint (module->C_CreateObject (session, template, G_N_ELEMENTS (template), &object),
                    ==, CKR_OK);
  OPENSSL_free (subject);
  X509_free (x509);
}

static void
test_insertion (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *pub_pem = tmp_path ("inserted.pub.pem");
  g_autofree char *cert_path = NULL;
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  TestToken inserted = { "custos-inserted", NULL };
  SignalSeen added = { NULL, 0 };
  CK_FUNCTION_LIST *module;
  CK_SESSION_HANDLE session;

  if (skip_without_softhsm ())
    return;

  provider = provider_for_registry (NULL);
  g_signal_connect (provider, "certificate-added", G_CALLBACK (on_certificate), &added);
  token = find_token (provider, inserted.label);
  g_assert_null (token);

  /* Held still while the card is "made", so it comes in one piece. */
  custos_pkcs11_provider_set_poll_interval (provider, 0);
  module = load_softhsm ();
  session = init_token (module, free_slot (module), inserted.label);
  generate_p256 (module, session, pub_pem);
  cert_path = certify_public_key (inserted.label, pub_pem);
  cert = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  store_certificate (module, session, cert);
  g_assert_cmpuint (module->C_Logout (session), ==, CKR_OK);
  g_assert_cmpuint (module->C_CloseSession (session), ==, CKR_OK);

  custos_pkcs11_provider_set_poll_interval (provider, 50);
  wait_for_signal (&added);
  g_assert_true (custos_certificate_equal (added.cert, cert));
  token = find_token (provider, inserted.label);
  g_assert_nonnull (token);

  inserted.cert = cert;
  assert_roundtrip (provider, &inserted, 5, interaction);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_nonnull (strstr (interaction->last_description, inserted.label));

  g_clear_object (&added.cert);
  g_clear_object (&provider);
  p11_kit_module_finalize (module);
  p11_kit_module_release (module);
}

static void
test_uri (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosPkcs11Provider) by_id = NULL;
  g_autoptr (CustosPkcs11Provider) none = NULL;
  g_autoptr (GPtrArray) tokens = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = NULL;

  if (skip_without_softhsm ())
    return;

  uri = g_strdup_printf ("pkcs11:token=%s", p384_token.label);
  provider = provider_for_registry (uri);
  g_assert_cmpstr (custos_pkcs11_provider_get_uri (provider), ==, uri);
  tokens = custos_pkcs11_provider_list_tokens (provider);
  g_assert_cmpuint (tokens->len, ==, 1);
  g_assert_cmpstr (((CustosPkcs11TokenInfo *) g_ptr_array_index (tokens, 0))->label, ==,
                   p384_token.label);
  g_assert_false (has_cert (provider, p256_token.cert));

  /* An object attribute selects certificates; a module path in the URI
   * loads that module. */
  g_clear_pointer (&uri, g_free);
  uri = g_strdup_printf ("pkcs11:token=%s;id=%%02?module-path=" SOFTHSM_MODULE, p256_token.label);
  by_id = provider_for_registry (uri);
  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (by_id));
  g_assert_cmpuint (certs->len, ==, 0);

  none = custos_pkcs11_provider_new ("http://not-pkcs11", NULL, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  none = custos_pkcs11_provider_new_for_module ("/nonexistent/module.so", NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, CUSTOS_PKCS11_ERROR, CKR_GENERAL_ERROR);
  g_test_message ("%s", error->message);
}

static void
new_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  CustosPkcs11Provider **out = user_data;
  g_autoptr (GError) error = NULL;

  *out = custos_pkcs11_provider_new_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_new_async (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  if (skip_without_softhsm ())
    return;

  custos_pkcs11_provider_new_async (SOFTHSM_MODULE, NULL, NULL, new_done_cb, &provider);
  while (provider == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (provider);
  g_assert_true (has_cert (provider, rsa_token.cert));
}

int
main (int   argc,
      char *argv[])
{
  TestToken *tokens[] = { &rsa_token, &p256_token, &p384_token, &pin_token, &remove_token,
                          &nokey_token };
  int ret;

  g_test_init (&argc, &argv, NULL);

  have_softhsm = softhsm_available ();
  if (have_softhsm)
    {
      gint64 start = g_get_monotonic_time ();

      g_free (custos_test_softhsm_setup ());
      /* For p11tool's --login; the token's test PIN, nothing secret. */
      g_setenv ("GNUTLS_PIN", USER_PIN, TRUE);
      for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
        token_make (tokens[i]);
      g_printerr ("# SoftHSM tokens made in %.1f s\n", (g_get_monotonic_time () - start) / 1e6);
    }

  g_test_add_func ("/pkcs11/login-action", test_login_action);
  g_test_add_func ("/pkcs11/registry/tokens", test_registry_tokens);
  g_test_add_func ("/pkcs11/registry/two-tokens", test_two_tokens);
  g_test_add_func ("/pkcs11/module/rsa-oaep", test_rsa_oaep);
  g_test_add_func ("/pkcs11/module/ecdh-p256", test_ecdh_p256);
  g_test_add_func ("/pkcs11/module/ecdh-p384", test_ecdh_p384);
  g_test_add_func ("/pkcs11/module/legacy", test_legacy);
  g_test_add_func ("/pkcs11/module/new-async", test_new_async);
  g_test_add_func ("/pkcs11/pin/wrong", test_wrong_pin);
  g_test_add_func ("/pkcs11/pin/declined", test_declined);
  g_test_add_func ("/pkcs11/no-key", test_no_key);
  g_test_add_func ("/pkcs11/cancel", test_cancel);
  g_test_add_func ("/pkcs11/concurrent", test_concurrent);
  g_test_add_func ("/pkcs11/fusion/rsa", test_fusion_rsa);
  g_test_add_func ("/pkcs11/fusion/p384", test_fusion_p384);
  g_test_add_func ("/pkcs11/uri", test_uri);
  g_test_add_func ("/pkcs11/events/removal", test_removal);
  g_test_add_func ("/pkcs11/events/insertion", test_insertion);

  ret = g_test_run ();

  for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
    {
      g_clear_object (&tokens[i]->cert);
      g_clear_pointer (&tokens[i]->cert_path, g_free);
    }
  return ret;
}
