/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Runs the real custos-cli binary ($CUSTOS_CLI) on files made in a temp
 * directory: a recording encrypted to an RSA and an EC recipient and sealed
 * by an ECDSA signer, the same H.264 made by gst-launch-1.0 as the
 * reference plaintext, and damaged, foreign and passphrase-protected
 * variations of the inputs.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-test-cli.h"
#include "custos-test-util.h"

#define N_FRAMES 90
/* x264enc is deterministic with one thread, so the CLI's output can be
 * compared byte for byte with the same pipeline run by gst-launch-1.0. */
#define SOURCE "videotestsrc num-buffers=90 ! video/x-raw,width=320,height=240,framerate=30/1 " \
               "! x264enc threads=1 key-int-max=30 speed-preset=ultrafast " \
               "! video/x-h264,stream-format=byte-stream,alignment=au"

typedef struct
{
  char *rsa_cert, *rsa_key;
  char *ec_cert, *ec_key;
  char *signer_cert, *signer_key;
  char *other_cert, *other_key;
  char *fusion;    /* encrypted to rsa and ec, sealed by signer */
  char *reference; /* the plaintext H.264 */
} Files;

static Files files;

static GBytes *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static void
assert_same_file (const char *path,
                  const char *expected_path)
{
  g_autoptr (GBytes) actual = read_file (path);
  g_autoptr (GBytes) expected = read_file (expected_path);

  g_assert_cmpuint (g_bytes_get_size (actual), ==, g_bytes_get_size (expected));
  g_assert_true (g_bytes_equal (actual, expected));
}

/* The shared recording, made once by the first test that needs it. */
static void
make_reference (void)
{
  g_autofree char *description = g_strdup_printf ("%s ! filesink location=%s", SOURCE,
                                                  files.reference);
  g_autoptr (GBytes) out = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  g_shell_parse_argv (description, NULL, &words, &error);
  g_assert_no_error (error);
  g_ptr_array_add (argv, (char *) "gst-launch-1.0");
  g_ptr_array_add (argv, (char *) "-q");
  for (guint i = 0; words[i] != NULL; i++)
    g_ptr_array_add (argv, words[i]);
  g_ptr_array_add (argv, NULL);
  out = custos_test_run ((const char *const *) argv->pdata, NULL);
}

static void
ensure_recording (void)
{
  g_autoptr (CustosCliResult) result = NULL;

  if (files.fusion != NULL)
    return;
  custos_test_make_cert ("rsa:2048", "cli-rsa", &files.rsa_cert, &files.rsa_key);
  custos_test_make_cert ("ec:P-256", "cli-ec", &files.ec_cert, &files.ec_key);
  custos_test_make_cert ("ec:P-256", "cli-signer", &files.signer_cert, &files.signer_key);
  custos_test_make_cert ("ec:P-256", "cli-other", &files.other_cert, &files.other_key);
  files.fusion = custos_test_tmp_path ("recording.fusion");
  files.reference = custos_test_tmp_path ("reference.h264");

  result = custos_test_cli_run ("create", "-o", files.fusion, "--source", SOURCE, "--name", "Gate 1",
                    "--recipient", files.rsa_cert, "--recipient", files.ec_cert,
                    "--signer-key", files.signer_key, "--signer-cert", files.signer_cert, NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_true (g_file_test (files.fusion, G_FILE_TEST_IS_REGULAR));
  make_reference ();
}

/* Decrypts to a fresh directory and returns the path of the .h264 in it. */
static char *
decrypt_es (const char *input,
            const char *name,
            const char *key,
            const char *cert,
            int         expected_status,
            CustosCliResult    **result_out)
{
  g_autofree char *dir = custos_test_tmp_path (name);
  g_autoptr (CustosCliResult) result = NULL;

  if (key != NULL)
    result = custos_test_cli_run ("decrypt", input, "-o", dir, "--key", key, "--cert", cert, NULL);
  else
    result = custos_test_cli_run ("decrypt", input, "-o", dir, NULL);
  custos_test_cli_assert_status (result, expected_status);
  if (result_out != NULL)
    *result_out = g_steal_pointer (&result);
  return g_build_filename (dir, "stream0-video.h264", NULL);
}

static void
check_ffprobe (const char *path,
               int         frames)
{
  g_autofree char *ffprobe = g_find_program_in_path ("ffprobe");
  g_autofree char *expected = g_strdup_printf ("nb_read_frames=%d", frames);
  g_autoptr (GBytes) out = NULL;
  const char *argv[] = { "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                         "-show_entries", "stream=codec_name,nb_read_frames", "-of",
                         "default=noprint_wrappers=1", path, NULL };
  g_autofree char *text = NULL;

  if (ffprobe == NULL)
    {
      g_test_message ("ffprobe not found; frame count not checked");
      return;
    }
  out = custos_test_run (argv, NULL);
  text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  g_assert_nonnull (strstr (text, "codec_name=h264"));
  g_assert_nonnull (strstr (text, expected));
}

/* Tests */

static void
test_usage (void)
{
  g_autoptr (CustosCliResult) none = custos_test_cli_run (NULL, NULL);
  g_autoptr (CustosCliResult) help = custos_test_cli_run ("--help", NULL);
  g_autoptr (CustosCliResult) version = custos_test_cli_run ("--version", NULL);
  g_autoptr (CustosCliResult) unknown = custos_test_cli_run ("frobnicate", NULL);
  g_autoptr (CustosCliResult) inspect_help = custos_test_cli_run ("inspect", "--help", NULL);
  g_autoptr (CustosCliResult) bad_option = custos_test_cli_run ("verify", "--no-such-option", "x", NULL);
  g_autoptr (CustosCliResult) no_file = custos_test_cli_run ("inspect", NULL);
  const char *commands[] = { "inspect", "verify", "decrypt", "create" };

  custos_test_cli_assert_status (none, 1);
  g_assert_nonnull (strstr (none->err, "Usage"));
  custos_test_cli_assert_status (help, 0);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_assert_nonnull (strstr (help->out, commands[i]));
  custos_test_cli_assert_status (version, 0);
  g_assert_true (g_str_has_prefix (version->out, "custos-cli "));
  custos_test_cli_assert_status (unknown, 1);
  custos_test_cli_assert_status (inspect_help, 0);
  g_assert_nonnull (strstr (inspect_help->out, "--cert"));
  g_assert_nonnull (strstr (inspect_help->out, "Exit status"));
  custos_test_cli_assert_status (bad_option, 1);
  custos_test_cli_assert_status (no_file, 1);
}

static void
test_create_refuses_no_recipient (void)
{
  g_autofree char *out = custos_test_tmp_path ("no-recipient.fusion");
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  g_autoptr (CustosCliResult) result = custos_test_cli_run ("create", "-o", out, "--source", SOURCE, NULL);

  custos_test_cli_assert_status (result, 1);
  g_assert_nonnull (strstr (result->err, "--recipient"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* openssl req -x509 in OpenSSL 3.0 cannot backdate; openssl ca can. */
static char *
make_expired_cert (const char *key)
{
  const char *dir = custos_test_tmpdir ();
  g_autofree char *config_text = g_strdup_printf (
    "[ca]\ndefault_ca = test\n"
    "[test]\ndatabase = %s/ca-index.txt\nnew_certs_dir = %s\nserial = %s/ca-serial\n"
    "default_md = sha256\npolicy = any\nunique_subject = no\n"
    "[any]\ncommonName = supplied\n", dir, dir, dir);
  g_autofree char *config = custos_test_write_file ("ca.cnf", config_text, strlen (config_text));
  g_autofree char *index = custos_test_write_file ("ca-index.txt", "", 0);
  g_autofree char *serial = custos_test_write_file ("ca-serial", "01\n", 3);
  g_autofree char *csr = custos_test_tmp_path ("expired.csr");
  char *cert = custos_test_tmp_path ("expired.cert.pem");
  g_autoptr (GBytes) out1 = NULL;
  g_autoptr (GBytes) out2 = NULL;
  const char *req[] = { "openssl", "req", "-new", "-key", key, "-subj", "/CN=cli-expired",
                        "-out", csr, NULL };
  const char *ca[] = { "openssl", "ca", "-batch", "-config", config, "-selfsign",
                       "-keyfile", key, "-in", csr, "-startdate", "20200101000000Z",
                       "-enddate", "20200102000000Z", "-out", cert, NULL };

  out1 = custos_test_run (req, NULL);
  out2 = custos_test_run (ca, NULL);
  return cert;
}

static void
test_create_expired_recipient (void)
{
  g_autofree char *expired = NULL;
  g_autofree char *out = custos_test_tmp_path ("expired.fusion");
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  g_autoptr (CustosCliResult) result = NULL;

  ensure_recording ();
  expired = make_expired_cert (files.ec_key);
  result = custos_test_cli_run ("create", "-o", out, "--source", SOURCE, "--recipient", expired, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, "expired"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

static void
test_inspect (void)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *obj, *stream;
  JsonArray *streams, *recipients;
  gboolean have_rsa = FALSE, have_ec = FALSE;

  ensure_recording ();
  result = custos_test_cli_run ("inspect", files.fusion, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json (result->out);
  obj = json_node_get_object (root);

  g_assert_cmpstr (json_object_get_string_member (obj, "version"), ==, "1.0");
  g_assert_cmpstr (json_object_get_string_member (obj, "camera"), ==, "Gate 1");
  streams = json_object_get_array_member (obj, "streams");
  g_assert_cmpuint (json_array_get_length (streams), ==, 1);
  stream = json_array_get_object_element (streams, 0);
  g_assert_cmpstr (json_object_get_string_member (stream, "kind"), ==, "video");
  g_assert_true (json_object_get_boolean_member (stream, "encrypted"));
  g_assert_cmpint (json_object_get_int_member (stream, "packets"), ==, N_FRAMES);
  g_assert_cmpint (json_object_get_int_member (stream, "keyframes"), ==, N_FRAMES / 30);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (stream, "caps"),
                                   "video/x-h264"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (stream, "first"), "Z"));

  recipients = json_object_get_array_member (obj, "recipients");
  g_assert_cmpuint (json_array_get_length (recipients), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *r = json_array_get_object_element (recipients, i);
      const char *alg = json_object_get_string_member (r, "algorithm");

      have_rsa |= g_str_equal (alg, "RSA-OAEP-SHA256");
      have_ec |= g_str_equal (alg, "ECDH-ES-P256");
      g_assert_false (json_object_get_boolean_member (r, "yours"));
    }
  g_assert_true (have_rsa && have_ec);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "signers")), ==, 1);
}

/* The access ranges of one --cert, as (readable, locked) packet counts. */
static void
inspect_access (const char *cert,
                gint64     *readable,
                gint64     *locked,
                guint      *n_ranges,
                gboolean   *yours)
{
  g_autoptr (CustosCliResult) result = custos_test_cli_run ("inspect", files.fusion, "--json", "--cert", cert, NULL);
  g_autoptr (JsonNode) root = NULL;
  JsonObject *obj, *access, *stream;
  JsonArray *recipients;

  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json (result->out);
  obj = json_node_get_object (root);
  access = json_array_get_object_element (json_object_get_array_member (obj, "access"), 0);
  stream = json_array_get_object_element (json_object_get_array_member (access, "streams"), 0);
  *readable = json_object_get_int_member (stream, "readable_packets");
  *locked = json_object_get_int_member (stream, "locked_packets");
  *n_ranges = json_array_get_length (json_object_get_array_member (stream, "ranges"));
  *yours = FALSE;
  recipients = json_object_get_array_member (obj, "recipients");
  for (guint i = 0; i < json_array_get_length (recipients); i++)
    *yours |= json_object_get_boolean_member (json_array_get_object_element (recipients, i),
                                              "yours");
}

static void
test_inspect_access (void)
{
  gint64 readable, locked;
  guint n_ranges;
  gboolean yours;

  ensure_recording ();
  inspect_access (files.rsa_cert, &readable, &locked, &n_ranges, &yours);
  g_assert_cmpint (readable, ==, N_FRAMES);
  g_assert_cmpint (locked, ==, 0);
  g_assert_cmpuint (n_ranges, ==, 1);
  g_assert_true (yours);

  inspect_access (files.other_cert, &readable, &locked, &n_ranges, &yours);
  g_assert_cmpint (readable, ==, 0);
  g_assert_cmpint (locked, ==, N_FRAMES);
  g_assert_cmpuint (n_ranges, ==, 1);
  g_assert_false (yours);
}

static void
test_verify (void)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (CustosCliResult) text = NULL;
  g_autoptr (CustosCliResult) wrong_ca = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *summary;

  ensure_recording ();
  result = custos_test_cli_run ("verify", files.fusion, "--ca", files.signer_cert, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  root = custos_test_parse_json (result->out);
  summary = json_object_get_object_member (json_node_get_object (root), "summary");
  g_assert_cmpint (json_object_get_int_member (summary, "packets"), ==, N_FRAMES);
  /* Every packet, plus the sealed file header and stream descriptor. */
  g_assert_cmpint (json_object_get_int_member (summary, "verified"), >=, N_FRAMES);
  g_assert_cmpint (json_object_get_int_member (summary, "altered"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (summary, "missing"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (summary, "not_signed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (summary, "segments"), >=, 1);
  g_assert_true (json_object_get_boolean_member (summary, "ok"));

  /* With keys, GCM is checked as well. */
  text = custos_test_cli_run ("verify", files.fusion, "--key", files.ec_key, "--cert", files.ec_cert, NULL);
  custos_test_cli_assert_status (text, 0);
  g_assert_nonnull (strstr (text->out, "everything verified"));

  /* A CA the signer does not chain to: nothing counts as signed. */
  wrong_ca = custos_test_cli_run ("verify", files.fusion, "--ca", files.other_cert, "-q", NULL);
  custos_test_cli_assert_status (wrong_ca, 4);
}

static void
test_decrypt_rsa (void)
{
  g_autofree char *h264 = NULL;

  ensure_recording ();
  h264 = decrypt_es (files.fusion, "out-rsa", files.rsa_key, files.rsa_cert, 0, NULL);
  assert_same_file (h264, files.reference);
  check_ffprobe (h264, N_FRAMES);
}

static void
test_decrypt_ec (void)
{
  g_autofree char *h264 = NULL;
  g_autofree char *json_path = custos_test_tmp_path ("out-ec/streams.json");
  g_autoptr (GBytes) json = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *stream;

  ensure_recording ();
  h264 = decrypt_es (files.fusion, "out-ec", files.ec_key, files.ec_cert, 0, NULL);
  assert_same_file (h264, files.reference);

  json = read_file (json_path);
  root = custos_test_parse_json (g_bytes_get_data (json, NULL));
  stream = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (root), "streams"), 0);
  g_assert_cmpint (json_object_get_int_member (stream, "id"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (stream, "packets"), ==, N_FRAMES);
  g_assert_cmpstr (json_object_get_string_member (stream, "kind"), ==, "video");
  g_assert_cmpstr (json_object_get_string_member (stream, "file"), ==, "stream0-video.h264");
  g_assert_cmpint (json_object_get_int_member (stream, "last_pts"), >,
                   json_object_get_int_member (stream, "first_pts"));
}

static void
test_decrypt_unrelated (void)
{
  g_autoptr (CustosCliResult) result = NULL;
  g_autofree char *h264 = NULL;
  g_autofree char *count = g_strdup_printf ("%d packets locked", N_FRAMES);

  ensure_recording ();
  h264 = decrypt_es (files.fusion, "out-other", files.other_key, files.other_cert, 3, &result);
  g_assert_nonnull (strstr (result->err, count));
  g_assert_nonnull (strstr (result->err, "CN=cli-rsa"));
  g_assert_nonnull (strstr (result->err, "CN=cli-ec"));
  g_assert_nonnull (strstr (result->err, "CN=cli-other"));
  g_assert_false (g_file_test (h264, G_FILE_TEST_EXISTS));
}

static void
test_decrypt_fusion (void)
{
  g_autofree char *plain = custos_test_tmp_path ("plain.fusion");
  g_autofree char *h264 = NULL;
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (CustosCliResult) inspect = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *obj, *stream;

  ensure_recording ();
  result = custos_test_cli_run ("decrypt", files.fusion, "-o", plain, "--format", "fusion",
                    "--key", files.rsa_key, "--cert", files.rsa_cert, NULL);
  custos_test_cli_assert_status (result, 0);

  inspect = custos_test_cli_run ("inspect", plain, "--json", NULL);
  custos_test_cli_assert_status (inspect, 0);
  root = custos_test_parse_json (inspect->out);
  obj = json_node_get_object (root);
  stream = json_array_get_object_element (json_object_get_array_member (obj, "streams"), 0);
  g_assert_false (json_object_get_boolean_member (stream, "encrypted"));
  g_assert_cmpint (json_object_get_int_member (stream, "packets"), ==, N_FRAMES);
  g_assert_cmpint (json_object_get_int_member (stream, "keyframes"), ==, N_FRAMES / 30);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "recipients")), ==,
                    0);

  h264 = decrypt_es (plain, "out-plain", NULL, NULL, 0, NULL);
  assert_same_file (h264, files.reference);
}

static gboolean
has_issue (JsonArray  *issues,
           const char *kinds[])
{
  for (guint i = 0; i < json_array_get_length (issues); i++)
    {
      const char *kind = json_object_get_string_member (json_array_get_object_element (issues, i),
                                                        "kind");

      if (g_strv_contains (kinds, kind))
        return TRUE;
    }
  return FALSE;
}

static void
test_tampered (void)
{
  g_autofree char *tampered = custos_test_tmp_path ("tampered.fusion");
  g_autoptr (GBytes) original = NULL;
  g_autoptr (CustosCliResult) verify = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *h264 = NULL;
  g_autoptr (GBytes) written = NULL;
  g_autoptr (GBytes) reference = NULL;
  const char *kinds[] = { "altered", "damaged", "missing", NULL };
  guint8 *data;
  gsize len;

  ensure_recording ();
  original = read_file (files.fusion);
  data = g_bytes_unref_to_data (g_steal_pointer (&original), &len);
  data[len / 2] ^= 0x5a;
  g_free (custos_test_write_file ("tampered.fusion", data, len));
  g_free (data);

  verify = custos_test_cli_run ("verify", tampered, "--ca", files.signer_cert, "--json", NULL);
  custos_test_cli_assert_status (verify, 4);
  root = custos_test_parse_json (verify->out);
  g_assert_true (has_issue (json_object_get_array_member (json_node_get_object (root), "issues"),
                            kinds));

  /* decrypt skips what failed and writes the other frames. */
  h264 = decrypt_es (tampered, "out-tampered", files.rsa_key, files.rsa_cert, 4, NULL);
  written = read_file (h264);
  reference = read_file (files.reference);
  g_assert_cmpuint (g_bytes_get_size (written), <, g_bytes_get_size (reference));
  g_assert_cmpuint (g_bytes_get_size (written), >, g_bytes_get_size (reference) * 8 / 10);
}

static void
test_passphrase (void)
{
  g_autofree char *enc_key = custos_test_tmp_path ("cli-rsa-enc.key.pem");
  g_autofree char *wrong = NULL;
  g_autofree char *right = NULL;
  g_autoptr (GBytes) unused = NULL;
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (CustosCliResult) ok = NULL;
  g_autofree char *out_wrong = custos_test_tmp_path ("out-wrong");
  g_autofree char *out_right = custos_test_tmp_path ("out-right");
  g_autofree char *h264 = custos_test_tmp_path ("out-right/stream0-video.h264");

  ensure_recording ();
  {
    const char *argv[] = { "openssl", "pkey", "-in", files.rsa_key, "-aes256", "-passout",
                           "pass:correct horse", "-out", enc_key, NULL };
    unused = custos_test_run (argv, NULL);
  }
  wrong = custos_test_write_file ("wrong.txt", "battery staple\n", 15);
  right = custos_test_write_file ("right.txt", "correct horse\n", 14);

  result = custos_test_cli_run ("decrypt", files.fusion, "-o", out_wrong, "--key", enc_key,
                    "--cert", files.rsa_cert, "--passphrase-file", wrong, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, enc_key));
  g_assert_null (strstr (result->err, "battery"));
  g_assert_false (g_file_test (out_wrong, G_FILE_TEST_EXISTS));

  ok = custos_test_cli_run ("decrypt", files.fusion, "-o", out_right, "--key", enc_key,
                "--cert", files.rsa_cert, "--passphrase-file", right, "-q", NULL);
  custos_test_cli_assert_status (ok, 0);
  assert_same_file (h264, files.reference);
}

static void
test_key_mismatch (void)
{
  g_autofree char *out = custos_test_tmp_path ("out-mismatch");
  g_autoptr (CustosCliResult) result = NULL;

  ensure_recording ();
  result = custos_test_cli_run ("decrypt", files.fusion, "-o", out, "--key", files.rsa_key,
                    "--cert", files.ec_cert, NULL);
  custos_test_cli_assert_status (result, 5);
  g_assert_nonnull (strstr (result->err, files.rsa_key));
}

static void
test_not_fusion (void)
{
  const char text[] = "This is not a fusion stream, only some text.\n";
  g_autofree char *path = custos_test_write_file ("not-fusion.txt", text, sizeof text - 1);
  g_autofree char *out = custos_test_tmp_path ("out-not-fusion");
  g_autofree char *missing = custos_test_tmp_path ("does-not-exist.fusion");
  g_autoptr (CustosCliResult) inspect = custos_test_cli_run ("inspect", path, NULL);
  g_autoptr (CustosCliResult) verify = custos_test_cli_run ("verify", path, NULL);
  g_autoptr (CustosCliResult) decrypt = custos_test_cli_run ("decrypt", path, "-o", out, NULL);
  g_autoptr (CustosCliResult) absent = custos_test_cli_run ("inspect", missing, NULL);

  custos_test_cli_assert_status (inspect, 2);
  custos_test_cli_assert_status (verify, 2);
  custos_test_cli_assert_status (decrypt, 2);
  custos_test_cli_assert_status (absent, 2);
  g_assert_nonnull (strstr (inspect->err, "not-fusion.txt"));
}

static void
test_create_input (void)
{
  g_autofree char *mp4 = custos_test_tmp_path ("input.mp4");
  g_autofree char *location = g_strdup_printf ("location=%s", mp4);
  g_autofree char *fusion = custos_test_tmp_path ("from-mp4.fusion");
  g_autofree char *h264 = NULL;
  g_autoptr (GBytes) unused = NULL;
  g_autoptr (CustosCliResult) create = NULL;
  g_autoptr (CustosCliResult) inspect = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *stream;
  const char *argv[] = { "gst-launch-1.0", "-q", "videotestsrc", "num-buffers=60", "!",
                         "x264enc", "!", "mp4mux", "!", "filesink", location, NULL };

  ensure_recording ();
  unused = custos_test_run (argv, NULL);
  create = custos_test_cli_run ("create", "-o", fusion, "--input", mp4, "--recipient", files.ec_cert, NULL);
  custos_test_cli_assert_status (create, 0);

  inspect = custos_test_cli_run ("inspect", fusion, "--json", NULL);
  custos_test_cli_assert_status (inspect, 0);
  root = custos_test_parse_json (inspect->out);
  stream = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (root), "streams"), 0);
  g_assert_cmpint (json_object_get_int_member (stream, "packets"), ==, 60);
  g_assert_true (json_object_get_boolean_member (stream, "encrypted"));

  h264 = decrypt_es (fusion, "out-mp4", files.ec_key, files.ec_cert, 0, NULL);
  check_ffprobe (h264, 60);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/usage", test_usage);
  g_test_add_func ("/cli/create/refuses-no-recipient", test_create_refuses_no_recipient);
  g_test_add_func ("/cli/create/expired-recipient", test_create_expired_recipient);
  g_test_add_func ("/cli/inspect/encrypted", test_inspect);
  g_test_add_func ("/cli/inspect/access", test_inspect_access);
  g_test_add_func ("/cli/verify", test_verify);
  g_test_add_func ("/cli/decrypt/es-rsa", test_decrypt_rsa);
  g_test_add_func ("/cli/decrypt/es-ec", test_decrypt_ec);
  g_test_add_func ("/cli/decrypt/unrelated-key", test_decrypt_unrelated);
  g_test_add_func ("/cli/decrypt/fusion", test_decrypt_fusion);
  g_test_add_func ("/cli/decrypt/tampered", test_tampered);
  g_test_add_func ("/cli/decrypt/passphrase", test_passphrase);
  g_test_add_func ("/cli/decrypt/key-mismatch", test_key_mismatch);
  g_test_add_func ("/cli/not-fusion", test_not_fusion);
  g_test_add_func ("/cli/create/input", test_create_input);

  return g_test_run ();
}
