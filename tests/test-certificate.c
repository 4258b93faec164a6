/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test-certificate"

#include "config.h"

#include <string.h>

#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-test-util.h"


static char *
tmp_path (const char *name)
{
  return g_build_filename (custos_test_tmpdir (), name, NULL);
}

G_GNUC_PRINTF (1, 2)
static char *
tmp_pathf (const char *format,
           ...)
{
  g_autofree char *name = NULL;
  va_list args;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  return tmp_path (name);
}

static char *
stdout_text (GBytes *out)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (out, &len);

  return g_strstrip (g_strndup (data, len));
}

static CustosCertificate *
load_cert (const char *path)
{
  g_autoptr (GError) error = NULL;
  CustosCertificate *cert = custos_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  g_assert_true (CUSTOS_IS_CERTIFICATE (cert));
  return cert;
}

/* A cert made once per key spec and reused by the tests. */
static const char *
cert_for (const char  *spec,
          const char  *name,
          const char **key_out)
{
  static GHashTable *certs;
  static GHashTable *keys;
  char *cert;
  char *key;

  if (certs == NULL)
    {
      certs = g_hash_table_new (g_str_hash, g_str_equal);
      keys = g_hash_table_new (g_str_hash, g_str_equal);
    }
  if ((cert = g_hash_table_lookup (certs, name)) == NULL)
    {
      custos_test_make_cert (spec, name, &cert, &key);
      g_hash_table_insert (certs, g_strdup (name), cert);
      g_hash_table_insert (keys, g_strdup (name), key);
    }
  if (key_out != NULL)
    *key_out = g_hash_table_lookup (keys, name);
  return cert;
}

static void
test_fingerprint (void)
{
  const char *pem = cert_for ("rsa:2048", "fp", NULL);
  g_autofree char *der_path = tmp_path ("fp.der");
  g_autoptr (CustosCertificate) cert = load_cert (pem);
  g_autoptr (GBytes) der = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  g_autofree char *raw_hex = NULL;

  g_bytes_unref (custos_test_openssl ("x509", "-in", pem, "-outform", "DER", "-out", der_path, NULL));
  {
    g_autofree char *contents = NULL;
    gsize len = 0;

    g_assert_true (g_file_get_contents (der_path, &contents, &len, NULL));
    der = g_bytes_new (contents, len);
  }
  expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, der);

  actual = custos_certificate_dup_fingerprint_hex (cert);
  g_assert_cmpstr (actual, ==, expected);
  raw_hex = custos_hex_encode (custos_certificate_get_fingerprint (cert), CUSTOS_SHA256_LEN);
  g_assert_cmpstr (raw_hex, ==, expected);
  g_assert_true (g_bytes_equal (custos_certificate_get_der (cert), der));
}

static void
test_hex_encode (void)
{
  static const guint8 data[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
  g_autofree char *hex = custos_hex_encode (data, sizeof data);
  g_autofree char *empty = custos_hex_encode (data, 0);

  g_assert_cmpstr (hex, ==, "00017f80abcdefff");
  g_assert_cmpstr (empty, ==, "");
}

static void
test_subject (void)
{
  const char *pem = cert_for ("ec:P-256", "subject-test", NULL);
  g_autoptr (CustosCertificate) cert = load_cert (pem);
  g_autoptr (GBytes) out = custos_test_openssl ("x509", "-in", pem, "-noout", "-subject",
                                    "-nameopt", "RFC2253", NULL);
  g_autofree char *expected = stdout_text (out);
  g_autofree char *subject = custos_certificate_dup_subject (cert);
  g_autofree char *cn = custos_certificate_dup_common_name (cert);

  g_assert_true (g_str_has_prefix (expected, "subject="));
  g_assert_cmpstr (subject, ==, expected + strlen ("subject="));
  g_assert_nonnull (strstr (subject, "CN=subject-test"));
  g_assert_nonnull (strstr (subject, "O=Custos Tests"));
  g_assert_cmpstr (cn, ==, "subject-test");
}

static void
test_pem_der (void)
{
  const char *pem = cert_for ("ec:P-384", "pemder", NULL);
  g_autofree char *der_path = tmp_path ("pemder.der");
  g_autoptr (CustosCertificate) from_pem = load_cert (pem);
  g_autoptr (CustosCertificate) from_der = NULL;
  g_autoptr (CustosCertificate) from_bytes = NULL;
  g_autoptr (GPtrArray) chain = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_bytes_unref (custos_test_openssl ("x509", "-in", pem, "-outform", "DER", "-out", der_path, NULL));
  from_der = load_cert (der_path);
  g_assert_true (custos_certificate_equal (from_pem, from_der));
  a = custos_certificate_dup_fingerprint_hex (from_pem);
  b = custos_certificate_dup_fingerprint_hex (from_der);
  g_assert_cmpstr (a, ==, b);

  from_bytes = custos_certificate_new_from_der (custos_certificate_get_der (from_pem), &error);
  g_assert_no_error (error);
  g_assert_true (custos_certificate_equal (from_bytes, from_pem));

  chain = custos_certificate_load_chain (der_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (chain->len, ==, 1);
  g_assert_true (custos_certificate_equal (g_ptr_array_index (chain, 0), from_pem));

  /* A different certificate is not equal. */
  {
    g_autoptr (CustosCertificate) other = load_cert (cert_for ("ec:P-256", "pemder-other", NULL));

    g_assert_false (custos_certificate_equal (other, from_pem));
  }
}

static void
test_bad_input (void)
{
  const char *key = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *garbage = custos_test_write_file ("garbage.der", "\x30\x03\x02\x01", 4);
  g_autofree char *missing = tmp_path ("missing.pem");

  cert_for ("ec:P-256", "badinput", &key);
  g_assert_null (custos_certificate_new_from_file (key, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  g_assert_nonnull (strstr (error->message, "PRIVATE KEY"));
  g_assert_nonnull (strstr (error->message, key));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  g_assert_null (custos_certificate_new_from_file (garbage, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  g_assert_nonnull (strstr (error->message, garbage));
  g_clear_error (&error);

  g_assert_null (custos_certificate_new_from_file (missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* DER with trailing bytes is refused. */
  {
    g_autoptr (CustosCertificate) cert = load_cert (cert_for ("ec:P-256", "badinput", NULL));
    GBytes *der = custos_certificate_get_der (cert);
    g_autoptr (GByteArray) longer = g_byte_array_new ();
    g_autoptr (GBytes) bytes = NULL;

    g_byte_array_append (longer, g_bytes_get_data (der, NULL), g_bytes_get_size (der));
    g_byte_array_append (longer, (const guint8 *) "xx", 2);
    bytes = g_bytes_new (longer->data, longer->len);
    g_assert_null (custos_certificate_new_from_der (bytes, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  }
}

/* A CA, an intermediate and a leaf made with the CLI. */

typedef struct
{
  char *ca;
  char *intermediate;
  char *leaf;
  char *chain;        /* leaf then intermediate */
  char *other_ca;
  char *fake_inter;   /* a leaf-type (CA:FALSE) cert used as an issuer */
  char *fake_leaf;
} TestPki;

static void
make_key (const char *path)
{
  g_bytes_unref (custos_test_openssl ("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-out", path, NULL));
}

/* Issues a certificate for key with extfile; issuer NULL self-signs. */
static char *
issue (const char *name,
       const char *key,
       const char *issuer_cert,
       const char *issuer_key,
       const char *extfile,
       const char *serial)
{
  g_autofree char *csr = tmp_pathf ("%s.csr", name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s/O=Custos Tests", name);
  char *cert = tmp_pathf ("%s.pem", name);

  g_bytes_unref (custos_test_openssl ("req", "-new", "-key", key, "-subj", subj, "-out", csr, NULL));
  if (issuer_cert == NULL)
    g_bytes_unref (custos_test_openssl ("x509", "-req", "-in", csr, "-signkey", key, "-days", "30",
                            "-extfile", extfile, "-set_serial", serial, "-out", cert, NULL));
  else
    g_bytes_unref (custos_test_openssl ("x509", "-req", "-in", csr, "-CA", issuer_cert, "-CAkey", issuer_key,
                            "-days", "30", "-extfile", extfile, "-set_serial", serial,
                            "-out", cert, NULL));
  return cert;
}

static const char ca_ext_text[] =
  "basicConstraints=critical,CA:TRUE\n"
  "keyUsage=critical,keyCertSign,cRLSign\n"
  "subjectKeyIdentifier=hash\n";
static const char leaf_ext_text[] =
  "basicConstraints=critical,CA:FALSE\n"
  "keyUsage=critical,digitalSignature,keyAgreement\n";

static const TestPki *
test_pki (void)
{
  static TestPki pki;
  g_autofree char *ca_ext = NULL;
  g_autofree char *leaf_ext = NULL;
  const char *names[] = { "ca", "inter", "leaf", "other-ca", "fake-inter", "fake-leaf" };
  char *keys[G_N_ELEMENTS (names)];

  if (pki.ca != NULL)
    return &pki;

  ca_ext = custos_test_write_file ("ca.ext", ca_ext_text, strlen (ca_ext_text));
  leaf_ext = custos_test_write_file ("leaf.ext", leaf_ext_text, strlen (leaf_ext_text));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      keys[i] = tmp_pathf ("%s.key", names[i]);
      make_key (keys[i]);
    }

  pki.ca = issue ("ca", keys[0], NULL, NULL, ca_ext, "1");
  pki.intermediate = issue ("inter", keys[1], pki.ca, keys[0], ca_ext, "2");
  pki.leaf = issue ("leaf", keys[2], pki.intermediate, keys[1], leaf_ext, "3");
  pki.other_ca = issue ("other-ca", keys[3], NULL, NULL, ca_ext, "4");
  pki.fake_inter = issue ("fake-inter", keys[4], pki.ca, keys[0], leaf_ext, "5");
  pki.fake_leaf = issue ("fake-leaf", keys[5], pki.fake_inter, keys[4], leaf_ext, "6");

  {
    g_autofree char *leaf = NULL;
    g_autofree char *inter = NULL;
    g_autofree char *both = NULL;

    g_assert_true (g_file_get_contents (pki.leaf, &leaf, NULL, NULL));
    g_assert_true (g_file_get_contents (pki.intermediate, &inter, NULL, NULL));
    both = g_strconcat (leaf, inter, NULL);
    pki.chain = custos_test_write_file ("chain.pem", both, strlen (both));
  }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_free (keys[i]);
  return &pki;
}

static void
test_chain (void)
{
  const TestPki *pki = test_pki ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) chain = custos_certificate_load_chain (pki->chain, &error);
  g_autoptr (GPtrArray) intermediates = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (CustosCertificate) leaf = NULL;
  g_autoptr (CustosCertificate) first = NULL;
  g_autofree char *cn0 = NULL;
  g_autofree char *cn1 = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (chain->len, ==, 2);
  cn0 = custos_certificate_dup_common_name (g_ptr_array_index (chain, 0));
  cn1 = custos_certificate_dup_common_name (g_ptr_array_index (chain, 1));
  g_assert_cmpstr (cn0, ==, "leaf");
  g_assert_cmpstr (cn1, ==, "inter");

  /* new_from_file takes the first certificate of a chain file. */
  first = load_cert (pki->chain);
  g_assert_true (custos_certificate_equal (first, g_ptr_array_index (chain, 0)));

  leaf = g_object_ref (g_ptr_array_index (chain, 0));
  g_ptr_array_add (intermediates, g_object_ref (g_ptr_array_index (chain, 1)));

  g_assert_true (custos_certificate_verify_chain (leaf, intermediates, pki->ca, &error));
  g_assert_no_error (error);

  /* Another CA does not vouch for it, and the message says why. */
  g_assert_false (custos_certificate_verify_chain (leaf, intermediates, pki->other_ca, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNTRUSTED);
  g_assert_nonnull (strstr (error->message, "unable to get local issuer certificate"));
  g_assert_nonnull (strstr (error->message, pki->other_ca));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* Without the intermediate, the path does not reach the CA. */
  g_assert_false (custos_certificate_verify_chain (leaf, NULL, pki->ca, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNTRUSTED);
  g_clear_error (&error);

  /* The intermediate itself verifies directly. */
  g_assert_true (custos_certificate_verify_chain (g_ptr_array_index (chain, 1), NULL, pki->ca,
                                                  &error));
  g_assert_no_error (error);

  /* An issuer without CA:TRUE is refused. */
  {
    g_autoptr (CustosCertificate) fake_leaf = load_cert (pki->fake_leaf);
    g_autoptr (GPtrArray) fake = g_ptr_array_new_with_free_func (g_object_unref);

    g_ptr_array_add (fake, load_cert (pki->fake_inter));
    g_assert_false (custos_certificate_verify_chain (fake_leaf, fake, pki->ca, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNTRUSTED);
    g_assert_nonnull (strstr (error->message, "invalid CA certificate"));
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }

  /* A missing CA file. */
  {
    g_autofree char *missing = tmp_path ("no-ca.pem");

    g_assert_false (custos_certificate_verify_chain (leaf, intermediates, missing, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  }
}

/* A certificate valid in 2020 only, made with `openssl ca`, the one CLI
 * command of OpenSSL 3.0 that can set dates in the past. */
static char *
make_expired_cert (void)
{
  g_autofree char *dir = tmp_path ("expired-ca");
  g_autofree char *key = g_build_filename (dir, "expired.key", NULL);
  g_autofree char *csr = g_build_filename (dir, "expired.csr", NULL);
  g_autofree char *config = g_build_filename (dir, "ca.cnf", NULL);
  g_autofree char *index = g_build_filename (dir, "index.txt", NULL);
  g_autofree char *serial = g_build_filename (dir, "serial.txt", NULL);
  g_autofree char *cnf = NULL;
  char *cert = g_build_filename (dir, "expired.pem", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (index, "", 0, NULL));
  g_assert_true (g_file_set_contents (serial, "1000\n", -1, NULL));
  cnf = g_strdup_printf ("[ ca ]\n"
                         "default_ca = custos_ca\n"
                         "[ custos_ca ]\n"
                         "database = %s\n"
                         "new_certs_dir = %s\n"
                         "serial = %s\n"
                         "default_md = sha256\n"
                         "policy = custos_policy\n"
                         "unique_subject = no\n"
                         "[ custos_policy ]\n"
                         "commonName = supplied\n",
                         index, dir, serial);
  g_assert_true (g_file_set_contents (config, cnf, -1, NULL));

  make_key (key);
  g_bytes_unref (custos_test_openssl ("req", "-new", "-key", key, "-subj", "/CN=expired", "-out", csr,
                          NULL));
  g_bytes_unref (custos_test_openssl ("ca", "-batch", "-config", config, "-selfsign", "-keyfile", key,
                          "-in", csr, "-out", cert, "-notext",
                          "-startdate", "20200101000000Z", "-enddate", "20210101120000Z",
                          NULL));
  return cert;
}

static void
test_expired (void)
{
  g_autofree char *path = make_expired_cert ();
  g_autoptr (CustosCertificate) cert = load_cert (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) in_2020 = g_date_time_new_utc (2020, 6, 1, 0, 0, 0);
  g_autoptr (GDateTime) in_2019 = g_date_time_new_utc (2019, 12, 31, 23, 59, 59);
  g_autofree char *not_before = NULL;
  g_autofree char *not_after = NULL;

  not_before = g_date_time_format_iso8601 (custos_certificate_get_not_before (cert));
  not_after = g_date_time_format_iso8601 (custos_certificate_get_not_after (cert));
  g_assert_cmpstr (not_before, ==, "2020-01-01T00:00:00Z");
  g_assert_cmpstr (not_after, ==, "2021-01-01T12:00:00Z");

  g_assert_false (custos_certificate_check_validity (cert, NULL, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED);
  g_assert_nonnull (strstr (error->message, "notAfter"));
  g_assert_nonnull (strstr (error->message, "2021-01-01T12:00:00Z"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  g_assert_true (custos_certificate_check_validity (cert, in_2020, &error));
  g_assert_no_error (error);

  g_assert_false (custos_certificate_check_validity (cert, in_2019, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED);
  g_assert_nonnull (strstr (error->message, "notBefore"));
  g_assert_nonnull (strstr (error->message, "2020-01-01T00:00:00Z"));
  g_clear_error (&error);

  /* The chain check also knows about dates, as its own error. */
  g_assert_false (custos_certificate_verify_chain (cert, NULL, path, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED);
  g_assert_nonnull (strstr (error->message, "certificate has expired"));
  g_clear_error (&error);

  /* A current certificate is valid now. */
  {
    g_autoptr (CustosCertificate) fresh = load_cert (cert_for ("ec:P-256", "fresh", NULL));

    g_assert_true (custos_certificate_check_validity (fresh, NULL, &error));
    g_assert_no_error (error);
  }
}

static void
check_wrap_alg (const char    *spec,
                const char    *name,
                gboolean       legacy,
                CustosWrapAlg  expected)
{
  g_autoptr (CustosCertificate) cert = load_cert (cert_for (spec, name, NULL));
  g_autoptr (GError) error = NULL;
  CustosWrapAlg alg = 0;

  g_assert_true (custos_certificate_get_wrap_alg (cert, legacy, &alg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (alg, ==, expected);
}

/* A self-signed certificate for a key the format cannot wrap to. */
static char *
make_cert_with_key (const char *name,
                    const char *algorithm,
                    const char *pkeyopt)
{
  g_autofree char *key = tmp_pathf ("%s.key", name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s", name);
  char *cert = tmp_pathf ("%s.pem", name);

  if (pkeyopt != NULL)
    g_bytes_unref (custos_test_openssl ("genpkey", "-algorithm", algorithm, "-pkeyopt", pkeyopt,
                            "-out", key, NULL));
  else
    g_bytes_unref (custos_test_openssl ("genpkey", "-algorithm", algorithm, "-out", key, NULL));
  g_bytes_unref (custos_test_openssl ("req", "-new", "-x509", "-key", key, "-subj", subj, "-days", "30",
                          "-out", cert, NULL));
  return cert;
}

static void
test_wrap_alg (void)
{
  g_autoptr (GError) error = NULL;
  CustosWrapAlg alg = 0;

  check_wrap_alg ("rsa:2048", "wrap-rsa", FALSE, CUSTOS_WRAP_RSA_OAEP_SHA256);
  check_wrap_alg ("rsa:2048", "wrap-rsa", TRUE, CUSTOS_WRAP_RSA_PKCS1_V15);
  check_wrap_alg ("ec:P-256", "wrap-p256", FALSE, CUSTOS_WRAP_ECDH_ES_P256);
  check_wrap_alg ("ec:P-384", "wrap-p384", FALSE, CUSTOS_WRAP_ECDH_ES_P384);

  {
    g_autofree char *path = make_cert_with_key ("wrap-ed25519", "ED25519", NULL);
    g_autoptr (CustosCertificate) cert = load_cert (path);

    g_assert_false (custos_certificate_get_wrap_alg (cert, FALSE, &alg, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "ED25519"));
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }
  {
    g_autofree char *path = make_cert_with_key ("wrap-k256", "EC",
                                                "ec_paramgen_curve:secp256k1");
    g_autoptr (CustosCertificate) cert = load_cert (path);

    g_assert_false (custos_certificate_get_wrap_alg (cert, FALSE, &alg, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "secp256k1"));
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }
}

static void
test_matches_key (void)
{
  const char *rsa_key = NULL;
  const char *ec_key = NULL;
  const char *other_key = NULL;
  g_autoptr (CustosCertificate) rsa = load_cert (cert_for ("rsa:2048", "wrap-rsa", &rsa_key));
  g_autoptr (CustosCertificate) ec = load_cert (cert_for ("ec:P-256", "wrap-p256", &ec_key));
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) rsa_priv = NULL;
  g_autoptr (EVP_PKEY) ec_priv = NULL;
  g_autoptr (EVP_PKEY) other_priv = NULL;

  cert_for ("ec:P-256", "matches-other", &other_key);
  rsa_priv = custos_private_key_load (rsa_key, NULL, &error);
  g_assert_no_error (error);
  ec_priv = custos_private_key_load (ec_key, NULL, &error);
  g_assert_no_error (error);
  other_priv = custos_private_key_load (other_key, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (custos_certificate_matches_key (rsa, rsa_priv));
  g_assert_true (custos_certificate_matches_key (ec, ec_priv));
  g_assert_false (custos_certificate_matches_key (ec, other_priv));
  g_assert_false (custos_certificate_matches_key (ec, rsa_priv));
  g_assert_false (custos_certificate_matches_key (rsa, ec_priv));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/certificate/fingerprint", test_fingerprint);
  g_test_add_func ("/certificate/hex-encode", test_hex_encode);
  g_test_add_func ("/certificate/subject", test_subject);
  g_test_add_func ("/certificate/pem-der", test_pem_der);
  g_test_add_func ("/certificate/bad-input", test_bad_input);
  g_test_add_func ("/certificate/chain", test_chain);
  g_test_add_func ("/certificate/expired", test_expired);
  g_test_add_func ("/certificate/wrap-alg", test_wrap_alg);
  g_test_add_func ("/certificate/matches-key", test_matches_key);

  return g_test_run ();
}
