/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `custos-cli keys` and `custos-cli enroll`, the real binary ($CUSTOS_CLI),
 * on SoftHSM tokens made in a temp dir for this run (SOFTHSM2_CONF is
 * inherited by the children) and on local key files. What the commands
 * print is checked with the openssl CLI: the fingerprint `keys --json`
 * reports is the SHA-256 of the DER of the certificate `enroll` printed,
 * and its expiry date is the certificate's notAfter.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-test-cli.h"
#include "custos-test-util.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "1234"
#define SO_PIN "5678"
#define PASSPHRASE "a long passphrase"
#define SOURCE "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,framerate=30/1 " \
               "! x264enc threads=1 key-int-max=15 speed-preset=ultrafast " \
               "! video/x-h264,stream-format=byte-stream,alignment=au"

static gboolean have_softhsm;
static char *pin_file;
static char *bad_pin_file;
static char *passphrase_file;

static char *
openssl_out (const char *first,
             ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  out = custos_test_run ((const char *const *) argv->pdata, NULL);
  if (g_bytes_get_size (out) == 0)
    return g_strdup ("");
  return g_strstrip (g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out)));
}

/* The PEM block of a command's output, written to a file. */
static char *
save_pem (const char *output,
          const char *name)
{
  const char *begin = strstr (output, "-----BEGIN ");
  const char *end;
  g_autofree char *pem = NULL;

  g_assert_nonnull (begin);
  end = strstr (begin, "-----END ");
  g_assert_nonnull (end);
  end = strchr (end, '\n');
  g_assert_nonnull (end);
  pem = g_strndup (begin, end + 1 - begin);
  return custos_test_write_file (name, pem, strlen (pem));
}

/* `openssl x509 -fingerprint -sha256`: the SHA-256 of the DER, as hex. */
static char *
openssl_fingerprint (const char *pem_path)
{
  g_autofree char *line = openssl_out ("x509", "-in", pem_path, "-noout", "-fingerprint",
                                       "-sha256", NULL);
  const char *eq = strchr (line, '=');
  GString *hex = g_string_new (NULL);

  g_assert_nonnull (eq);
  for (const char *p = eq + 1; *p != '\0'; p++)
    if (*p != ':')
      g_string_append_c (hex, g_ascii_tolower (*p));
  return g_string_free (hex, FALSE);
}

/* notAfter as "YYYY-MM-DDTHH:MM:SSZ", from openssl's ISO 8601 output. */
static char *
openssl_not_after (const char *pem_path)
{
  g_autofree char *line = openssl_out ("x509", "-in", pem_path, "-noout", "-enddate",
                                       "-dateopt", "iso_8601", NULL);
  char *date = g_strdup (strchr (line, '=') + 1);

  g_strdelimit (date, " ", 'T');
  return date;
}

static gboolean
skip_without_softhsm (void)
{
  if (have_softhsm)
    return FALSE;
  g_test_skip ("SoftHSM2 (softhsm2) is not installed");
  return TRUE;
}

static void
init_token (const char *label)
{
  const char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label", label,
                         "--pin", USER_PIN, "--so-pin", SO_PIN, NULL };
  g_autoptr (GBytes) out = custos_test_run (argv, NULL);
}

static void
setup (void)
{
  pin_file = custos_test_write_file ("pin", USER_PIN "\n", strlen (USER_PIN) + 1);
  bad_pin_file = custos_test_write_file ("bad-pin", "0000\n", 5);
  passphrase_file = custos_test_write_file ("passphrase", PASSPHRASE "\n",
                                            strlen (PASSPHRASE) + 1);
  if (!have_softhsm)
    return;
  /* The children (custos-cli, softhsm2-util) inherit it. */
  g_free (custos_test_softhsm_setup ());
  init_token ("cli-alice");
  init_token ("cli-bob");
}

/* keys --json for one token: its object. */
static JsonObject *
keys_token (const char *label,
            gboolean    login)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) root = NULL;
  JsonArray *tokens;

  if (login)
    result = custos_test_cli_run ("keys", "--module", SOFTHSM_MODULE, "--token", label, "--login",
                      "--pin-file", pin_file, "--json", NULL);
  else
    result = custos_test_cli_run ("keys", "--module", SOFTHSM_MODULE, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json_object (result->out);
  tokens = json_object_get_array_member (root, "tokens");
  for (guint i = 0; i < json_array_get_length (tokens); i++)
    {
      JsonObject *token = json_array_get_object_element (tokens, i);

      if (g_str_equal (json_object_get_string_member (token, "label"), label))
        return json_object_ref (token);
    }
  g_error ("token %s not in %s", label, result->out);
  return NULL;
}

static JsonObject *
find_cert (JsonObject *token,
           const char *fingerprint)
{
  JsonArray *certs = json_object_get_array_member (token, "certificates");

  for (guint i = 0; i < json_array_get_length (certs); i++)
    {
      JsonObject *cert = json_array_get_object_element (certs, i);

      if (g_str_equal (json_object_get_string_member (cert, "fingerprint"), fingerprint))
        return cert;
    }
  return NULL;
}

/* Tests */

static void
test_enroll_card (void)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) token = NULL;
  g_autoptr (JsonObject) logged_in = NULL;
  g_autofree char *pem_path = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *not_after = NULL;
  g_autofree char *verify = NULL;
  g_autofree char *expected_verify = NULL;
  g_autofree char *cert_out = custos_test_tmp_path ("alice-card.pem");
  g_autofree char *written = NULL;
  JsonObject *cert;

  if (skip_without_softhsm ())
    return;

  result = custos_test_cli_run ("enroll", "--token", "cli-alice", "--name", "Alice Investigator",
                    "--pin-file", pin_file, "--cert-out", cert_out, NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_nonnull (strstr (result->err, "Generated a rsa:2048 key pair on the token"));
  g_assert_nonnull (strstr (result->err, "Stored the self-signed certificate"));

  /* The printed certificate, as openssl sees it. */
  pem_path = save_pem (result->out, "alice-printed.pem");
  fingerprint = openssl_fingerprint (pem_path);
  g_assert_nonnull (strstr (result->out, fingerprint));
  not_after = openssl_not_after (pem_path);
  expected_verify = g_strdup_printf ("%s: OK", pem_path);
  verify = openssl_out ("verify", "-CAfile", pem_path, pem_path, NULL);
  g_assert_cmpstr (verify, ==, expected_verify);
  written = openssl_fingerprint (cert_out);
  g_assert_cmpstr (written, ==, fingerprint);

  /* keys --json finds it on the token under the same fingerprint. */
  token = keys_token ("cli-alice", FALSE);
  g_assert_cmpstr (json_object_get_string_member (token, "module"), ==, "libsofthsm2.so");
  g_assert_cmpstr (json_object_get_string_member (token, "manufacturer"), ==, "SoftHSM project");
  g_assert_false (json_object_get_boolean_member (token, "logged_in"));
  cert = find_cert (token, fingerprint);
  g_assert_nonnull (cert);
  g_assert_cmpstr (json_object_get_string_member (cert, "subject"), ==, "CN=Alice Investigator");
  g_assert_cmpstr (json_object_get_string_member (cert, "label"), ==, "Alice Investigator");
  g_assert_cmpuint (strlen (json_object_get_string_member (cert, "id")), ==, 32);
  g_assert_cmpstr (json_object_get_string_member (cert, "key_type"), ==, "RSA");
  g_assert_cmpint (json_object_get_int_member (cert, "key_bits"), ==, 2048);
  g_assert_cmpstr (json_object_get_string_member (cert, "not_after"), ==, not_after);
  g_assert_false (json_object_get_boolean_member (cert, "expired"));
  g_assert_cmpint (json_object_get_int_member (cert, "days_left"), ==, 730);
  /* Hidden before the PIN, there after it. */
  g_assert_cmpstr (json_object_get_string_member (cert, "private_key"), ==, "unknown");
  logged_in = keys_token ("cli-alice", TRUE);
  g_assert_true (json_object_get_boolean_member (logged_in, "logged_in"));
  cert = find_cert (logged_in, fingerprint);
  g_assert_cmpstr (json_object_get_string_member (cert, "private_key"), ==, "present");

  /* The text listing says the same. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("keys", "--token", "cli-alice", NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_nonnull (strstr (result->out, "Token “cli-alice”"));
  g_assert_nonnull (strstr (result->out, fingerprint));
  g_assert_nonnull (strstr (result->out, "expires in 730 days"));
}

static void
test_csr_import (void)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) made = NULL;
  g_autoptr (JsonObject) imported = NULL;
  g_autoptr (JsonObject) token = NULL;
  g_autofree char *csr = custos_test_tmp_path ("bob.csr");
  g_autofree char *ca_key = custos_test_tmp_path ("ca.key");
  g_autofree char *ca_cert = custos_test_tmp_path ("ca.pem");
  g_autofree char *signed_cert = custos_test_tmp_path ("bob-signed.pem");
  g_autofree char *serial = custos_test_tmp_path ("ca.srl");
  g_autofree char *fingerprint = NULL;
  g_autofree char *unused = NULL;
  JsonObject *cert;

  if (skip_without_softhsm ())
    return;

  result = custos_test_cli_run ("enroll", "--token", "cli-bob", "--subject", "CN=Bob,O=Custos Tests",
                    "--key-type", "ec:P-256", "--csr", csr, "--pin-file", pin_file, "--json",
                    NULL);
  custos_test_cli_assert_status (result, 0);
  made = custos_test_parse_json_object (result->out);
  g_assert_false (json_object_get_boolean_member (made, "stored"));
  g_assert_true (json_object_get_null_member (made, "certificate"));
  unused = openssl_out ("req", "-verify", "-noout", "-in", csr, NULL);

  /* The CA's answer. */
  g_free (openssl_out ("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days", "30",
                       "-subj", "/CN=CLI Test CA", NULL));
  g_free (openssl_out ("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
                       "-CAserial", serial, "-CAcreateserial", "-days", "30",
                       "-copy_extensions", "copyall", "-out", signed_cert, NULL));
  fingerprint = openssl_fingerprint (signed_cert);

  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("enroll", "--token", "cli-bob", "--import-cert", signed_cert,
                    "--pin-file", pin_file, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  imported = custos_test_parse_json_object (result->out);
  g_assert_true (json_object_get_boolean_member (imported, "stored"));
  g_assert_cmpstr (json_object_get_string_member (imported, "id"), ==,
                   json_object_get_string_member (made, "id"));

  token = keys_token ("cli-bob", TRUE);
  cert = find_cert (token, fingerprint);
  g_assert_nonnull (cert);
  g_assert_cmpstr (json_object_get_string_member (cert, "id"), ==,
                   json_object_get_string_member (made, "id"));
  g_assert_cmpstr (json_object_get_string_member (cert, "private_key"), ==, "present");
  g_assert_cmpint (json_object_get_int_member (cert, "days_left"), ==, 30);
  g_assert_cmpstr (json_object_get_string_member (cert, "wrap"), ==, "ECDH-ES-P256");

  /* A certificate for a key the card does not hold. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("enroll", "--token", "cli-bob", "--import-cert", ca_cert,
                    "--pin-file", pin_file, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, "no key pair on this token"));
}

static void
test_wrong_pin (void)
{
  g_autoptr (CustosCliResult) result = NULL;

  if (skip_without_softhsm ())
    return;

  result = custos_test_cli_run ("enroll", "--token", "cli-bob", "--name", "Mallory", "--pin-file",
                    bad_pin_file, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, "wrong PIN"));
  /* SoftHSM says so through CKF_USER_PIN_COUNT_LOW. */
  g_assert_nonnull (strstr (result->err, "few tries left"));
  g_assert_cmpstr (result->out, ==, "");

  /* No terminal and no --pin-file: no prompt, a clear refusal. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("enroll", "--token", "cli-bob", "--name", "Mallory", NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, "--pin-file"));
}

static void
test_usage (void)
{
  struct { const char *args[8]; int status; const char *says; } cases[] = {
    { { "enroll", "--name", "x", NULL }, 1, "--local KEYFILE" },
    { { "enroll", "--token", "t", NULL }, 1, "--name CN" },
    { { "enroll", "--token", "t", "--name", "x", "--pin", "1234", NULL }, 1, "--pin" },
    { { "enroll", "--token", "t", "--name", "x", "--passphrase-file", "f", NULL }, 1, "--pin-file" },
    { { "enroll", "--local", "k", "--name", "x", "--pin-file", "f", NULL }, 1, "--passphrase-file" },
    { { "enroll", "--token", "t", "--name", "x", "--key-type", "rsa:1024", NULL }, 1, "rsa:3072" },
    { { "enroll", "--token", "t", "--import-cert", "c", "--name", "x", NULL }, 1, "--import-cert" },
    { { "keys", "extra", NULL }, 1, "extra" },
    { { "keys", "--pin-file", "f", NULL }, 1, "--login" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (CustosCliResult) result = custos_test_cli_runv (cases[i].args);

      custos_test_cli_assert_status (result, cases[i].status);
      g_assert_nonnull (strstr (result->err, cases[i].says));
    }
}

static void
test_token_choice (void)
{
  g_autoptr (CustosCliResult) result = NULL;

  if (skip_without_softhsm ())
    return;

  result = custos_test_cli_run ("enroll", "--token", "no-such-card", "--name", "x", "--pin-file", pin_file,
                    NULL);
  custos_test_cli_assert_status (result, 2);
  g_assert_nonnull (strstr (result->err, "no-such-card"));

  /* Two tokens and nothing to choose between them. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("enroll", "--module", SOFTHSM_MODULE, "--name", "x", "--pin-file", pin_file,
                    NULL);
  custos_test_cli_assert_status (result, 1);
  g_assert_nonnull (strstr (result->err, "--uri"));
  g_assert_nonnull (strstr (result->err, "token=cli-alice"));
}

/* A key file end to end: enrolled, listed, a recording made for its
 * certificate and decrypted with it. */
static void
test_local (void)
{
  g_autofree char *key = custos_test_tmp_path ("carol.key.pem");
  g_autofree char *cert = custos_test_tmp_path ("carol.cert.pem");
  g_autofree char *fusion = custos_test_tmp_path ("carol.fusion");
  g_autofree char *out_dir = custos_test_tmp_path ("carol-out");
  g_autofree char *contents = NULL;
  g_autofree char *fingerprint = NULL;
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) root = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *file;
  GStatBuf st;

  result = custos_test_cli_run ("enroll", "--local", key, "--name", "Carol", "--key-type", "ec:P-256",
                    "--passphrase-file", passphrase_file, NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_file_get_contents (key, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (contents, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  fingerprint = openssl_fingerprint (cert);
  g_assert_nonnull (strstr (result->out, fingerprint));

  /* Listed: encrypted without the passphrase, matching with it. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("keys", "--key", key, "--cert", cert, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json_object (result->out);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "tokens")), ==, 0);
  file = json_array_get_object_element (json_object_get_array_member (root, "key_files"), 0);
  g_assert_cmpstr (json_object_get_string_member (file, "private_key"), ==, "encrypted");
  g_assert_cmpstr (json_object_get_string_member (file, "fingerprint"), ==, fingerprint);
  g_clear_pointer (&root, json_object_unref);
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("keys", "--key", key, "--cert", cert, "--passphrase-file", passphrase_file,
                    "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json_object (result->out);
  file = json_array_get_object_element (json_object_get_array_member (root, "key_files"), 0);
  g_assert_cmpstr (json_object_get_string_member (file, "private_key"), ==, "matches");

  /* Never overwritten. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("enroll", "--local", key, "--name", "Carol", "--passphrase-file",
                    passphrase_file, NULL);
  custos_test_cli_assert_status (result, 2);

  /* A recording for the new certificate opens with the new key. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("create", "-q", "-o", fusion, "--source", SOURCE, "--recipient", cert, NULL);
  custos_test_cli_assert_status (result, 0);
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("decrypt", fusion, "-o", out_dir, "--key", key, "--cert", cert,
                    "--passphrase-file", passphrase_file, NULL);
  custos_test_cli_assert_status (result, 0);
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("decrypt", fusion, "-o", out_dir, "--key", key, "--cert", cert, NULL);
  custos_test_cli_assert_status (result, 5);
}

/* The investigator's day: a key made on the card, a recording encrypted
 * for its certificate, decrypted with the card and its PIN; a wrong PIN is
 * refused and says so; verify checks GCM with the card too. */
static void
test_decrypt_with_card (void)
{
  g_autofree char *cert = custos_test_tmp_path ("dave-card.pem");
  g_autofree char *fusion = custos_test_tmp_path ("dave.fusion");
  g_autofree char *out_dir = custos_test_tmp_path ("dave-out");
  g_autofree char *h264 = NULL;
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) root = NULL;
  JsonObject *summary;
  GStatBuf st;

  if (skip_without_softhsm ())
    return;
  init_token ("cli-dave");
  result = custos_test_cli_run ("enroll", "--token", "cli-dave", "--name", "Dave Investigator",
                    "--key-type", "ec:P-256", "--pin-file", pin_file, "--cert-out", cert, NULL);
  custos_test_cli_assert_status (result, 0);
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("create", "-q", "-o", fusion, "--source", SOURCE, "--recipient", cert, NULL);
  custos_test_cli_assert_status (result, 0);

  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("decrypt", fusion, "-o", out_dir, "--card", "--token", "cli-dave",
                    "--pin-file", bad_pin_file, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, "PIN"));

  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("decrypt", fusion, "-o", out_dir, "--card", "--token", "cli-dave",
                    "--pin-file", pin_file, NULL);
  custos_test_cli_assert_status (result, 0);
  h264 = g_build_filename (out_dir, "stream0-video.h264", NULL);
  g_assert_cmpint (g_stat (h264, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 1000);

  /* verify with the card checks every GCM tag: all 30 decrypted, none locked. */
  g_clear_pointer (&result, custos_cli_result_free);
  result = custos_test_cli_run ("verify", fusion, "--card", "--token", "cli-dave", "--pin-file", pin_file,
                    "--json", NULL);
  root = custos_test_parse_json_object (result->out);
  summary = json_object_get_object_member (root, "summary");
  g_assert_cmpint (json_object_get_int_member (summary, "decrypted"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (summary, "locked"), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *util = NULL;

  g_test_init (&argc, &argv, NULL);

  util = g_find_program_in_path ("softhsm2-util");
  have_softhsm = util != NULL && g_file_test (SOFTHSM_MODULE, G_FILE_TEST_EXISTS);
  setup ();

  g_test_add_func ("/cli/keys/usage", test_usage);
  g_test_add_func ("/cli/keys/enroll-card", test_enroll_card);
  g_test_add_func ("/cli/keys/csr-import", test_csr_import);
  g_test_add_func ("/cli/keys/wrong-pin", test_wrong_pin);
  g_test_add_func ("/cli/keys/token-choice", test_token_choice);
  g_test_add_func ("/cli/keys/local", test_local);
  g_test_add_func ("/cli/keys/decrypt-with-card", test_decrypt_with_card);

  return g_test_run ();
}
