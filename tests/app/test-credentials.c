/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCredentials with a real SoftHSM2 token (made in a temp dir for
 * this run) and real key files made by the openssl CLI: the token shows
 * in the cards model with its certificate; the TLS client certificate is
 * made from the card's URI with its PIN (a wrong PIN is asked again,
 * flagged as a retry, and three wrong ones fail); a key file is added
 * (an encrypted PKCS#12 asks its passphrase) and decrypts a .fusion file,
 * and removing it locks the file again; deleting the token removes the
 * card, and "card-removed" finds the key cache already empty.
 */
#define G_LOG_DOMAIN "test-credentials"

#include "config.h"

#include <string.h>

#include "custos-credentials.h"
#include "custos-test-fusion.h"
#include "custos-test-util.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL "custos-app-card"
#define USER_PIN "1234"
#define SO_PIN "5678"
#define WAIT_MS 20000

static gboolean           have_softhsm;
static char              *token_cert_path;
static CustosCertificate *token_cert;
static GSettings         *settings;

/* ScriptInteraction: answers with the next of its answers (declines when
 * none is left) and records the flags and texts it was asked with. */

#define SCRIPT_TYPE_INTERACTION (script_interaction_get_type ())
G_DECLARE_FINAL_TYPE (ScriptInteraction, script_interaction, SCRIPT, INTERACTION, GTlsInteraction)

struct _ScriptInteraction
{
  GTlsInteraction parent_instance;
  GQueue          answers;
  GArray         *flags; /* GTlsPasswordFlags of each ask */
  GPtrArray      *descriptions;
};

G_DEFINE_FINAL_TYPE (ScriptInteraction, script_interaction, G_TYPE_TLS_INTERACTION)

static GTlsInteractionResult
script_interaction_ask_password (GTlsInteraction *interaction, GTlsPassword *password,
                                 GCancellable *cancellable, GError **error)
{
  ScriptInteraction *self = SCRIPT_INTERACTION (interaction);
  GTlsPasswordFlags  flags = g_tls_password_get_flags (password);
  g_autofree char   *answer = g_queue_pop_head (&self->answers);

  g_array_append_val (self->flags, flags);
  g_ptr_array_add (self->descriptions, g_strdup (g_tls_password_get_description (password)));
  if (answer == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "declined");
      return G_TLS_INTERACTION_FAILED;
    }
  g_tls_password_set_value (password, (const guchar *) answer, -1);
  return G_TLS_INTERACTION_HANDLED;
}

static void
script_interaction_finalize (GObject *object)
{
  ScriptInteraction *self = SCRIPT_INTERACTION (object);

  g_queue_clear_full (&self->answers, g_free);
  g_array_unref (self->flags);
  g_ptr_array_unref (self->descriptions);
  G_OBJECT_CLASS (script_interaction_parent_class)->finalize (object);
}

static void
script_interaction_class_init (ScriptInteractionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = script_interaction_finalize;
  G_TLS_INTERACTION_CLASS (klass)->ask_password = script_interaction_ask_password;
}

static void
script_interaction_init (ScriptInteraction *self)
{
  g_queue_init (&self->answers);
  self->flags = g_array_new (FALSE, FALSE, sizeof (GTlsPasswordFlags));
  self->descriptions = g_ptr_array_new_with_free_func (g_free);
}

static ScriptInteraction *interaction;

/* Replaces the answers and forgets how it was asked. */
static void
script (const char *first, ...)
{
  va_list args;

  g_queue_clear_full (&interaction->answers, g_free);
  g_array_set_size (interaction->flags, 0);
  g_ptr_array_set_size (interaction->descriptions, 0);
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_queue_push_tail (&interaction->answers, g_strdup (a));
  va_end (args);
}

static GTlsPasswordFlags
asked_flags (guint i)
{
  g_assert_cmpuint (i, <, interaction->flags->len);
  return g_array_index (interaction->flags, GTlsPasswordFlags, i);
}

/* Setup */

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

/* A token as an administrator makes one: a P-256 key generated on it, a
 * certificate for that key made by openssl (-force_pubkey), written next
 * to the key with the same CKA_ID. */
static void
make_token (void)
{
  const char      *dir = custos_test_tmpdir ();
  g_autofree char *pub = g_build_filename (dir, "card.pub.pem", NULL);
  g_autofree char *throw_key = g_build_filename (dir, "card.throw.key", NULL);
  g_autofree char *csr = g_build_filename (dir, "card.csr", NULL);
  g_autofree char *der = g_build_filename (dir, "card.cert.der", NULL);
  g_autoptr (GError) error = NULL;

  token_cert_path = g_build_filename (dir, "card.cert.pem", NULL);
  custos_test_run_args ("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin",
                        USER_PIN, "--so-pin", SO_PIN, NULL);
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL,
                        "--login", "--pin", USER_PIN, "--keypairgen", "--key-type", "EC:secp256r1",
                        "--id", "01", "--label", "card-key", NULL);
  custos_test_run_args ("p11tool", "--provider", SOFTHSM_MODULE, "--login", "--export-pubkey",
                        "pkcs11:token=" TOKEN_LABEL ";id=%01;type=public", "--outfile", pub, NULL);
  custos_test_run_args ("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", throw_key, NULL);
  custos_test_run_args ("openssl", "req", "-new", "-key", throw_key, "-subj",
                        "/CN=Investigator Card/O=Custos Tests", "-out", csr, NULL);
  custos_test_run_args ("openssl", "x509", "-req", "-in", csr, "-force_pubkey", pub, "-signkey",
                        throw_key, "-days", "30", "-out", token_cert_path, NULL);
  custos_test_run_args ("openssl", "x509", "-in", token_cert_path, "-outform", "DER", "-out", der,
                        NULL);
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL,
                        "--login", "--pin", USER_PIN, "--write-object", der, "--type", "cert",
                        "--id", "01", "--label", "card-cert", NULL);
  token_cert = custos_certificate_new_from_file (token_cert_path, &error);
  g_assert_no_error (error);
}

/* Waiting */

static gboolean
iterate_until (gboolean *done)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (!*done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return *done;
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (*result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*result);
  return *result;
}

static CustosCredentials *credentials;

static CustosCard *
find_card (void)
{
  GListModel *cards = custos_credentials_get_cards (credentials);

  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (cards, i);

      if (g_strcmp0 (custos_card_get_label (card), TOKEN_LABEL) == 0)
        return g_steal_pointer (&card);
    }
  return NULL;
}

static void
on_card_added (CustosCredentials *self, CustosCard *card, gboolean *seen)
{
  if (g_strcmp0 (custos_card_get_label (card), TOKEN_LABEL) == 0)
    *seen = TRUE;
}

/* The token shows in the cards model with what a user identifies it by. */
static void
test_cards (void)
{
  g_autoptr (CustosCard) card = NULL;
  g_autoptr (CustosCardCertificate) cert = NULL;
  g_autofree char *fp = NULL;
  gboolean         added = FALSE;
  gulong           id;

  if (skip_without_softhsm ())
    return;

  id = g_signal_connect (credentials, "card-added", G_CALLBACK (on_card_added), &added);
  card = find_card ();
  if (card == NULL)
    g_assert_true (iterate_until (&added));
  g_signal_handler_disconnect (credentials, id);
  g_clear_object (&card);
  card = find_card ();
  g_assert_nonnull (card);

  g_assert_true (custos_card_get_present (card));
  g_assert_cmpstr (custos_card_get_manufacturer (card), ==, "SoftHSM project");
  g_assert_cmpstr (custos_card_get_serial (card), !=, "");
  g_assert_false (custos_card_get_pin_pad (card));
  g_assert_true (g_str_has_prefix (custos_card_get_uri (card), "pkcs11:"));
  g_assert_nonnull (strstr (custos_card_get_uri (card), "token=" TOKEN_LABEL));

  g_assert_cmpuint (g_list_model_get_n_items (custos_card_get_certificates (card)), ==, 1);
  cert = g_list_model_get_item (custos_card_get_certificates (card), 0);
  fp = custos_certificate_dup_fingerprint_hex (token_cert);
  g_assert_cmpstr (custos_card_certificate_get_fingerprint (cert), ==, fp);
  g_assert_cmpstr (custos_card_certificate_get_name (cert), ==, "Investigator Card");
  g_assert_nonnull (strstr (custos_card_certificate_get_subject (cert), "Investigator Card"));
  g_assert_true (g_str_has_prefix (custos_card_certificate_get_uri (cert), "pkcs11:"));
  g_assert_nonnull (strstr (custos_card_certificate_get_uri (cert), "id=%01"));
  g_assert_cmpstr (custos_card_certificate_get_key_type (cert), ==, "EC P-256");
}

static char *
card_certificate_uri (void)
{
  g_autoptr (CustosCard) card = find_card ();
  g_autoptr (CustosCardCertificate) cert = NULL;

  g_assert_nonnull (card);
  cert = g_list_model_get_item (custos_card_get_certificates (card), 0);
  return g_strdup (custos_card_certificate_get_uri (cert));
}

static GTlsCertificate *
tls_certificate (const char *identity, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_credentials_get_tls_certificate_async (credentials, identity, NULL, on_result, &result);
  return custos_credentials_get_tls_certificate_finish (credentials, wait_result (&result), error);
}

static void
assert_same_certificate (GTlsCertificate *tls, const char *pem_path)
{
  g_autoptr (GByteArray) der = NULL;
  GBytes *expected;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (pem_path, &error);

  g_assert_no_error (error);
  g_object_get (tls, "certificate", &der, NULL);
  g_assert_nonnull (der);
  expected = custos_certificate_get_der (cert);
  g_assert_cmpmem (der->data, der->len, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));
}

/* The archiver connection's certificate, made from the card's URI with
 * its PIN asked through the interaction (naming the card). A wrong PIN
 * is told at once and asked again, flagged RETRY; three wrong ones fail
 * with BAD_PIN; declining cancels. Once the card is unlocked in this
 * process, it is not asked again. */
static void
test_tls_certificate (void)
{
  g_autofree char *uri = NULL;
  g_autoptr (GTlsCertificate) tls = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key_uri = NULL;

  if (skip_without_softhsm ())
    return;

  uri = card_certificate_uri ();

  script ("0000", "1111", "2222", USER_PIN, NULL);
  tls = tls_certificate (uri, &error);
  g_assert_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_PIN);
  g_assert_null (tls);
  g_assert_nonnull (strstr (error->message, TOKEN_LABEL));
  g_assert_cmpuint (interaction->flags->len, ==, 3);
  g_assert_cmpint (asked_flags (0) & G_TLS_PASSWORD_RETRY, ==, 0);
  g_assert_cmpint (asked_flags (1) & G_TLS_PASSWORD_RETRY, !=, 0);
  g_assert_cmpint (asked_flags (2) & G_TLS_PASSWORD_RETRY, !=, 0);
  g_clear_error (&error);

  script (NULL);
  tls = tls_certificate (uri, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (tls);
  g_clear_error (&error);

  script ("0000", USER_PIN, NULL);
  tls = tls_certificate (uri, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tls);
  g_assert_cmpuint (interaction->flags->len, ==, 2);
  g_assert_cmpint (asked_flags (0) & G_TLS_PASSWORD_RETRY, ==, 0);
  g_assert_cmpint (asked_flags (1) & G_TLS_PASSWORD_RETRY, !=, 0);
  g_assert_nonnull (strstr (interaction->descriptions->pdata[0], TOKEN_LABEL));
  assert_same_certificate (tls, token_cert_path);

  /* The key stays on the card: GnuTLS has its URI, with the PIN. */
  g_object_get (tls, "private-key-pkcs11-uri", &key_uri, NULL);
  g_assert_nonnull (key_uri);
  g_assert_nonnull (strstr (key_uri, "type=private"));
  g_assert_nonnull (strstr (key_uri, "pin-value=" USER_PIN));
}

/* Key files */

static CustosCertificate *
add_key_file (const char *path, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);

  custos_credentials_add_key_file_async (credentials, file, NULL, on_result, &result);
  return custos_credentials_add_key_file_finish (credentials, wait_result (&result), error);
}

static guint
count_decrypted (GBytes *fusion, guint *locked)
{
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  packets = custos_test_fusion_read (fusion, custos_credentials_get_key_provider (credentials),
                                     NULL, &report);
  *locked = report->locked;
  return report->decrypted;
}

static gboolean
settings_have_key_file (const char *path)
{
  g_auto (GStrv) files = g_settings_get_strv (settings, "key-files");

  return g_strv_contains ((const char *const *) files, path);
}

/* A PEM key file (its certificate beside it) decrypts a .fusion file
 * encrypted to it; removed, the file is locked again. */
static void
test_key_file (void)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (CustosCertificate) added = NULL;
  g_autoptr (GPtrArray) recipients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GBytes) fusion = NULL;
  g_autoptr (GError) error = NULL;
  CustosTestSpec spec;
  guint          locked = 0;

  custos_test_make_cert ("ec:P-256", "alice", &cert_path, &key_path);
  cert = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  g_ptr_array_add (recipients, g_object_ref (cert));
  custos_test_spec_init (&spec);
  spec.encrypted = TRUE;
  spec.seconds = 3;
  fusion = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);

  /* Without the key: locked. */
  g_assert_cmpuint (count_decrypted (fusion, &locked), ==, 0);
  g_assert_cmpuint (locked, >, 0);

  script (NULL);
  added = add_key_file (key_path, &error);
  g_assert_no_error (error);
  g_assert_true (custos_certificate_equal (added, cert));
  g_assert_cmpuint (interaction->flags->len, ==, 0); /* not encrypted: nothing asked */
  g_assert_true (settings_have_key_file (key_path));

  /* Every video packet (the encrypted stream) opens. */
  g_assert_cmpuint (count_decrypted (fusion, &locked), ==, custos_test_packet_count (&spec, 0));
  g_assert_cmpuint (locked, ==, 0);
  g_assert_cmpuint (custos_key_cache_get_size (
                        custos_keyring_get_cache (custos_credentials_get_keyring (credentials))),
                    >, 0);

  g_assert_true (custos_credentials_remove_key_file (credentials, key_path));
  g_assert_false (settings_have_key_file (key_path));
  g_assert_cmpuint (custos_key_cache_get_size (
                        custos_keyring_get_cache (custos_credentials_get_keyring (credentials))),
                    ==, 0);
  g_assert_cmpuint (count_decrypted (fusion, &locked), ==, 0);
  g_assert_cmpuint (locked, >, 0);
  g_assert_false (custos_credentials_remove_key_file (credentials, key_path));
}

/* An encrypted PKCS#12 asks its passphrase: a wrong one again, flagged
 * RETRY. A file that is no key says so. */
static void
test_key_file_pkcs12 (void)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *p12 = g_build_filename (custos_test_tmpdir (), "bob.p12", NULL);
  g_autofree char *junk = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (CustosCertificate) added = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = NULL;

  custos_test_make_cert ("rsa:2048", "bob", &cert_path, &key_path);
  custos_test_run_args ("openssl", "pkcs12", "-export", "-in", cert_path, "-inkey", key_path,
                        "-out", p12, "-passout", "pass:correct horse", NULL);
  cert = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);

  script ("wrong", "correct horse", NULL);
  added = add_key_file (p12, &error);
  g_assert_no_error (error);
  g_assert_true (custos_certificate_equal (added, cert));
  g_assert_cmpuint (interaction->flags->len, ==, 2);
  g_assert_cmpint (asked_flags (0) & G_TLS_PASSWORD_RETRY, ==, 0);
  g_assert_cmpint (asked_flags (1) & G_TLS_PASSWORD_RETRY, !=, 0);
  g_assert_nonnull (strstr (interaction->descriptions->pdata[0], "bob.p12"));
  files = custos_credentials_dup_key_files (credentials);
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_cmpstr (files->pdata[0], ==, p12);
  g_clear_object (&added);

  /* The same file serves as a TLS identity, with its passphrase. */
  {
    g_autoptr (GTlsCertificate) tls = NULL;

    script ("correct horse", NULL);
    tls = tls_certificate (p12, &error);
    g_assert_no_error (error);
    assert_same_certificate (tls, cert_path);
  }

  /* Three wrong passphrases: refused as such, asked first plainly, then flagged RETRY. */
  {
    g_autoptr (GTlsCertificate) tls = NULL;

    script ("wrong", "worse", "worst", "correct horse", NULL);
    tls = tls_certificate (p12, &error);
    g_assert_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_PIN);
    g_assert_null (tls);
    g_assert_nonnull (strstr (error->message, "bob.p12"));
    g_assert_cmpuint (interaction->flags->len, ==, 3);
    g_assert_cmpint (asked_flags (0) & G_TLS_PASSWORD_RETRY, ==, 0);
    g_assert_cmpint (asked_flags (2) & G_TLS_PASSWORD_RETRY, !=, 0);
    g_clear_error (&error);
  }

  junk = custos_test_write_file ("junk.pem", "not a key\n", 10);
  script (NULL);
  added = add_key_file (junk, &error);
  g_assert_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_FILE);
  g_assert_null (added);
  g_assert_nonnull (strstr (error->message, "junk.pem"));
}

/* An encrypted PEM key as a TLS identity: its passphrase asked, a wrong
 * one again (RETRY), cancelling gives up. */
static void
test_tls_encrypted_pem (void)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *locked = g_build_filename (custos_test_tmpdir (), "carol.key.pem", NULL);
  g_autofree char *locked_cert = g_build_filename (custos_test_tmpdir (), "carol.cert.pem", NULL);
  g_autofree char *cert_pem = NULL;
  g_autoptr (GTlsCertificate) tls = NULL;
  g_autoptr (GError) error = NULL;

  custos_test_make_cert ("ec:P-256", "carol-plain", &cert_path, &key_path);
  custos_test_run_args ("openssl", "pkey", "-in", key_path, "-aes256", "-passout",
                        "pass:open sesame", "-out", locked, NULL);
  g_assert_true (g_file_get_contents (cert_path, &cert_pem, NULL, NULL));
  g_assert_true (g_file_set_contents (locked_cert, cert_pem, -1, NULL));

  script ("open says me", "open sesame", NULL);
  tls = tls_certificate (locked, &error);
  g_assert_no_error (error);
  assert_same_certificate (tls, cert_path);
  g_assert_cmpuint (interaction->flags->len, ==, 2);
  g_assert_cmpint (asked_flags (0) & G_TLS_PASSWORD_RETRY, ==, 0);
  g_assert_cmpint (asked_flags (1) & G_TLS_PASSWORD_RETRY, !=, 0);
  g_assert_nonnull (strstr (interaction->descriptions->pdata[0], "carol.key.pem"));
  g_clear_object (&tls);

  script (NULL);
  tls = tls_certificate (locked, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (tls);
}

/* Modules */

static guint
count_cards (CustosCredentials *creds)
{
  GListModel *cards = custos_credentials_get_cards (creds);
  guint       n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (CustosCard) card = g_list_model_get_item (cards, i);

      n += g_strcmp0 (custos_card_get_label (card), TOKEN_LABEL) == 0;
    }
  return n;
}

static gboolean
wait_cards (CustosCredentials *creds, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  guint  source = g_timeout_add (100, wake_up, NULL);

  while (count_cards (creds) != n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  return count_cards (creds) == n;
}

/* The modules p11-kit registers (SoftHSM is one) are used with no set-up;
 * a module added to `pkcs11-modules` is loaded at once, and taken out
 * again, its cards go. Here SoftHSM by path: its token shows twice. */
static void
test_modules_setting (void)
{
  g_autoptr (CustosCredentials) creds = NULL;
  const char *with_softhsm[] = { SOFTHSM_MODULE, NULL };
  const char *none[] = { NULL };

  if (skip_without_softhsm ())
    return;

  g_settings_set_strv (settings, "pkcs11-modules", none);
  creds = custos_credentials_new (settings, G_TLS_INTERACTION (interaction));
  g_assert_true (wait_cards (creds, 1));

  g_settings_set_strv (settings, "pkcs11-modules", with_softhsm);
  g_assert_true (wait_cards (creds, 2));

  g_settings_set_strv (settings, "pkcs11-modules", none);
  g_assert_true (wait_cards (creds, 1));
}

/* Removal */

typedef struct
{
  gboolean removed;
  gboolean present;
  guint    cache_size;
  guint    in_model;
} Removal;

static void
on_card_removed (CustosCredentials *self, CustosCard *card, Removal *removal)
{
  if (g_strcmp0 (custos_card_get_label (card), TOKEN_LABEL) != 0)
    return;
  removal->removed = TRUE;
  removal->present = custos_card_get_present (card);
  removal->cache_size = custos_key_cache_get_size (
      custos_keyring_get_cache (custos_credentials_get_keyring (credentials)));
  removal->in_model = g_list_model_get_n_items (custos_credentials_get_cards (credentials));
}

static CustosWrappedKek *
wrap_to_card (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  CustosWrapAlg alg = 0;

  custos_certificate_get_wrap_alg (token_cert, FALSE, &alg, &error);
  g_assert_no_error (error);
  kek = custos_secret_new_random (CUSTOS_AES_KEY_LEN, &error);
  g_assert_no_error (error);
  wrapped = custos_wrap_kek (custos_certificate_get_public_key (token_cert), alg,
                             custos_certificate_get_fingerprint (token_cert), 7, kek, &error);
  g_assert_no_error (error);
  return custos_wrapped_kek_new (custos_certificate_get_fingerprint (token_cert), 7, alg, wrapped);
}

/* Pulling the card (deleting the token) wipes the keys unwrapped with it
 * before "card-removed" is emitted, and the card leaves the model. */
static void
test_card_removal (void)
{
  g_autoptr (CustosWrappedKek) wrapped = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCard) card = NULL;
  CustosKeyProvider *provider;
  Removal            removal = { FALSE };
  gulong             id;
  guint              source;

  if (skip_without_softhsm ())
    return;

  provider = custos_credentials_get_key_provider (credentials);
  wrapped = wrap_to_card ();
  script (USER_PIN, NULL);
  custos_key_provider_unwrap_kek_async (provider, wrapped, G_TLS_INTERACTION (interaction), NULL,
                                        on_result, &result);
  kek = custos_key_provider_unwrap_kek_finish (provider, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (kek);
  g_assert_cmpuint (custos_key_cache_get_size (
                        custos_keyring_get_cache (custos_credentials_get_keyring (credentials))),
                    ==, 1);

  card = find_card ();
  g_assert_nonnull (card);
  id = g_signal_connect (credentials, "card-removed", G_CALLBACK (on_card_removed), &removal);
  custos_test_run_args ("softhsm2-util", "--delete-token", "--token", TOKEN_LABEL, NULL);
  source = g_timeout_add (100, wake_up, NULL);
  /* The provider's poll notices it (every 500 ms), as with a real card. */
  g_assert_true (iterate_until (&removal.removed));
  g_source_remove (source);
  g_signal_handler_disconnect (credentials, id);

  g_assert_cmpuint (removal.cache_size, ==, 0);
  g_assert_false (removal.present);
  g_assert_cmpuint (removal.in_model, ==, 0);
  g_assert_false (custos_card_get_present (card));
  g_clear_object (&card);
  g_assert_null (find_card ());
}

int
main (int argc, char *argv[])
{
  const char *modules[] = { SOFTHSM_MODULE, NULL };
  int         ret;

  g_test_init (&argc, &argv, NULL);

  have_softhsm = softhsm_available ();
  if (have_softhsm)
    {
      g_autofree char *conf = custos_test_softhsm_setup ();

      /* p11tool reads the PIN from there; only while the token is made. */
      g_setenv ("GNUTLS_PIN", USER_PIN, TRUE);
      make_token ();
      g_unsetenv ("GNUTLS_PIN");
    }

  settings = g_settings_new ("org.custos.Custos");
  interaction = g_object_new (SCRIPT_TYPE_INTERACTION, NULL);
  credentials = custos_credentials_new_for_modules (
      settings, G_TLS_INTERACTION (interaction), have_softhsm ? modules : (const char *[]){ NULL });

  g_test_add_func ("/credentials/cards", test_cards);
  g_test_add_func ("/credentials/tls-certificate", test_tls_certificate);
  g_test_add_func ("/credentials/key-file", test_key_file);
  g_test_add_func ("/credentials/key-file-pkcs12", test_key_file_pkcs12);
  g_test_add_func ("/credentials/tls-encrypted-pem", test_tls_encrypted_pem);
  g_test_add_func ("/credentials/modules-setting", test_modules_setting);
  g_test_add_func ("/credentials/card-removal", test_card_removal);
  ret = g_test_run ();

  g_clear_object (&credentials);
  g_clear_object (&interaction);
  g_clear_object (&settings);
  g_clear_object (&token_cert);
  g_free (token_cert_path);
  return ret;
}
