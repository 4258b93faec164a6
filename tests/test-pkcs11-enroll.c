/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Enrolment on real SoftHSM2 tokens made in a temp dir for this run, and
 * into local key files. Every result is checked by another tool: the
 * private key's attributes read back over raw PKCS#11, certificates and
 * requests by the openssl CLI (x509 -text, verify, req -verify), the
 * public key against what pkcs11-tool reads off the token, a CA-signed
 * certificate made by `openssl x509 -req -CA`, and the whole chain by
 * writing a fusion file to the new certificate and reading it back
 * through CustosPkcs11Provider (the card decrypts the KEK).
 */
#define G_LOG_DOMAIN "test-pkcs11-enroll"

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "custos.h"
#include "custos-test-fusion.h"
#include "custos-test-interaction.h"
#include "custos-test-util.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "1234"
#define SO_PIN "5678"
#define PASSPHRASE "correct horse battery"
#define WAIT_MS 20000

static const char *const token_labels[] = {
  "enroll-rsa2048", "enroll-rsa3072", "enroll-p256", "enroll-csr", "enroll-pin", "enroll-misc",
};

static gboolean have_softhsm;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

static char *
tmp_path (const char *name)
{
  return g_build_filename (custos_test_tmpdir (), name, NULL);
}

/* `openssl ARGS…` with stdout and stderr together, as text. */
static char *
openssl_text (const char *first,
              ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  g_autofree char *err = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  if (!custos_test_try_run ((const char *const *) argv->pdata, NULL, &out, &err))
    g_error ("openssl %s failed: %s", first, err);
  return g_strdup_printf ("%.*s%s", (int) g_bytes_get_size (out),
                          (const char *) g_bytes_get_data (out, NULL), err);
}

static gboolean
softhsm_available (void)
{
  g_autofree char *util = g_find_program_in_path ("softhsm2-util");
  g_autofree char *tool = g_find_program_in_path ("pkcs11-tool");

  return util != NULL && tool != NULL && g_file_test (SOFTHSM_MODULE, G_FILE_TEST_EXISTS);
}

static gboolean
skip_without_softhsm (void)
{
  if (have_softhsm)
    return FALSE;
  g_test_skip ("SoftHSM2 and its tools (softhsm2, opensc) are not installed");
  return TRUE;
}

static void
make_tokens (void)
{
  /* Before p11-kit loads SoftHSM for the first time in this process. */
  g_free (custos_test_softhsm_setup ());
  for (guint i = 0; i < G_N_ELEMENTS (token_labels); i++)
    custos_test_run_args ("softhsm2-util", "--init-token", "--free", "--label", token_labels[i], "--pin", USER_PIN,
         "--so-pin", SO_PIN, NULL);
}

/* An interaction that answers with a fixed PIN (or declines, or cancels)
 * and records how it was asked. */


/* Providers and tokens */

static CustosPkcs11Provider *
new_provider (void)
{
  g_autoptr (GError) error = NULL;
  CustosPkcs11Provider *provider;

  provider = custos_pkcs11_provider_new_for_module (SOFTHSM_MODULE, NULL, NULL, &error);
  g_assert_no_error (error);
  custos_pkcs11_provider_set_poll_interval (provider, 0);
  return provider;
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
  g_error ("token %s not found", label);
  return NULL;
}

static CustosPkcs11CertInfo *
find_cert_info (CustosPkcs11Provider *provider,
                const char           *label,
                CustosCertificate    *cert)
{
  g_autoptr (CustosPkcs11TokenInfo) token = find_token (provider, label);

  for (guint i = 0; i < token->certificates->len; i++)
    {
      CustosPkcs11CertInfo *info = g_ptr_array_index (token->certificates, i);

      if (custos_certificate_equal (info->certificate, cert))
        return custos_pkcs11_cert_info_ref (info);
    }
  return NULL;
}

static CustosEnrollment *
enroll (CustosPkcs11Provider  *provider,
        const char            *token_label,
        CustosKeyType          type,
        gboolean               csr,
        TestInteraction       *interaction,
        GError               **error)
{
  g_autoptr (CustosPkcs11TokenInfo) token = find_token (provider, token_label);
  g_autofree char *cn = g_strdup_printf ("Investigator %s", custos_key_type_to_string (type));
  CustosEnrollSpec spec = { type, NULL, cn, 0, csr, NULL };

  return custos_pkcs11_enroll (provider, token, &spec, G_TLS_INTERACTION (interaction), NULL,
                               error);
}

static char *
write_pem (CustosEnrollment *enrollment,
           const char       *name)
{
  g_autofree char *pem = custos_enrollment_dup_pem (enrollment);

  g_assert_nonnull (pem);
  return custos_test_write_file (name, pem, strlen (pem));
}

/* Raw PKCS#11: the attributes of what the enrolment left on the token. */

typedef struct
{
  CK_FUNCTION_LIST  *funcs;
  CK_SESSION_HANDLE  session;
  gboolean           logged_in; /* by us: logged out again, as login is per process */
} Raw;

static void
raw_open (Raw        *raw,
          const char *token_label)
{
  CK_SLOT_ID slots[32];
  CK_ULONG n = G_N_ELEMENTS (slots);
  CK_RV rv;

  raw->funcs = p11_kit_module_load (SOFTHSM_MODULE, 0);
  g_assert_nonnull (raw->funcs);
  g_assert_cmpuint (p11_kit_module_initialize (raw->funcs), ==, CKR_OK);
  g_assert_cmpuint (raw->funcs->C_GetSlotList (CK_TRUE, slots, &n), ==, CKR_OK);
  for (CK_ULONG i = 0; i < n; i++)
    {
      CK_TOKEN_INFO info;
      g_autofree char *label = NULL;

      g_assert_cmpuint (raw->funcs->C_GetTokenInfo (slots[i], &info), ==, CKR_OK);
      label = p11_kit_space_strdup (info.label, sizeof info.label);
      if (!g_str_equal (label, token_label))
        continue;
      g_assert_cmpuint (raw->funcs->C_OpenSession (slots[i], CKF_SERIAL_SESSION, NULL, NULL,
                                                   &raw->session), ==, CKR_OK);
      rv = raw->funcs->C_Login (raw->session, CKU_USER, (CK_UTF8CHAR_PTR) USER_PIN,
                                strlen (USER_PIN));
      /* The provider may have logged this process in already. */
      g_assert_true (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
      raw->logged_in = rv == CKR_OK;
      return;
    }
  g_error ("token %s not found", token_label);
}

static void
raw_close (Raw *raw)
{
  if (raw->logged_in)
    raw->funcs->C_Logout (raw->session);
  raw->funcs->C_CloseSession (raw->session);
  p11_kit_module_finalize (raw->funcs);
  p11_kit_module_release (raw->funcs);
}

static GArray *
raw_find (Raw             *raw,
          CK_OBJECT_CLASS  klass,
          GBytes          *id)
{
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, id != NULL ? (void *) g_bytes_get_data (id, NULL) : NULL,
      id != NULL ? g_bytes_get_size (id) : 0 },
  };
  GArray *found = g_array_new (FALSE, FALSE, sizeof (CK_OBJECT_HANDLE));
  CK_OBJECT_HANDLE handles[64];
  CK_ULONG n = 0;

  g_assert_cmpuint (raw->funcs->C_FindObjectsInit (raw->session, match, id != NULL ? 2 : 1), ==,
                    CKR_OK);
  g_assert_cmpuint (raw->funcs->C_FindObjects (raw->session, handles, G_N_ELEMENTS (handles), &n),
                    ==, CKR_OK);
  raw->funcs->C_FindObjectsFinal (raw->session);
  g_array_append_vals (found, handles, n);
  return found;
}

static CK_BBOOL
raw_bool (Raw               *raw,
          CK_OBJECT_HANDLE   object,
          CK_ATTRIBUTE_TYPE  type)
{
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attr = { type, &value, sizeof value };

  g_assert_cmpuint (raw->funcs->C_GetAttributeValue (raw->session, object, &attr, 1), ==, CKR_OK);
  return value;
}

static GBytes *
raw_bytes (Raw               *raw,
           CK_OBJECT_HANDLE   object,
           CK_ATTRIBUTE_TYPE  type)
{
  CK_ATTRIBUTE attr = { type, NULL, 0 };
  guint8 *value;

  g_assert_cmpuint (raw->funcs->C_GetAttributeValue (raw->session, object, &attr, 1), ==, CKR_OK);
  value = g_malloc (attr.ulValueLen + 1);
  attr.pValue = value;
  g_assert_cmpuint (raw->funcs->C_GetAttributeValue (raw->session, object, &attr, 1), ==, CKR_OK);
  return g_bytes_new_take (value, attr.ulValueLen);
}

static guint
raw_count_private_keys (const char *token_label)
{
  Raw raw;
  g_autoptr (GArray) keys = NULL;

  raw_open (&raw, token_label);
  keys = raw_find (&raw, CKO_PRIVATE_KEY, NULL);
  raw_close (&raw);
  return keys->len;
}

/* The private key never leaves the token, and can do what it must. */
static void
assert_key_attributes (const char       *token_label,
                       CustosEnrollment *enrollment)
{
  g_autoptr (GBytes) id = custos_test_hex_decode (enrollment->id_hex);
  g_autoptr (GArray) privs = NULL;
  g_autoptr (GArray) pubs = NULL;
  g_autoptr (GBytes) label = NULL;
  CK_OBJECT_HANDLE key;
  CK_ATTRIBUTE secret = { custos_key_type_is_rsa (enrollment->key_type) ? CKA_PRIVATE_EXPONENT
                                                                         : CKA_VALUE, NULL, 0 };
  Raw raw;

  g_assert_cmpuint (g_bytes_get_size (id), ==, 16);
  raw_open (&raw, token_label);
  privs = raw_find (&raw, CKO_PRIVATE_KEY, id);
  pubs = raw_find (&raw, CKO_PUBLIC_KEY, id);
  g_assert_cmpuint (privs->len, ==, 1);
  g_assert_cmpuint (pubs->len, ==, 1);
  key = g_array_index (privs, CK_OBJECT_HANDLE, 0);

  g_assert_true (raw_bool (&raw, key, CKA_TOKEN));
  g_assert_true (raw_bool (&raw, key, CKA_PRIVATE));
  g_assert_true (raw_bool (&raw, key, CKA_SENSITIVE));
  g_assert_false (raw_bool (&raw, key, CKA_EXTRACTABLE));
  /* Made on the token and never anything else. */
  g_assert_true (raw_bool (&raw, key, CKA_ALWAYS_SENSITIVE));
  g_assert_true (raw_bool (&raw, key, CKA_NEVER_EXTRACTABLE));
  g_assert_true (raw_bool (&raw, key, CKA_LOCAL));
  g_assert_true (raw_bool (&raw, key, CKA_SIGN));
  g_assert_true (raw_bool (&raw, key, CKA_UNWRAP));
  g_assert_true (raw_bool (&raw, key, custos_key_type_is_rsa (enrollment->key_type)
                                        ? CKA_DECRYPT : CKA_DERIVE));
  label = raw_bytes (&raw, key, CKA_LABEL);
  g_assert_cmpmem (g_bytes_get_data (label, NULL), g_bytes_get_size (label), enrollment->label,
                   strlen (enrollment->label));

  /* The secret part cannot be read. */
  g_assert_cmpuint (raw.funcs->C_GetAttributeValue (raw.session, key, &secret, 1), ==,
                    CKR_ATTRIBUTE_SENSITIVE);
  raw_close (&raw);
}

/* The certificate object: the certificate's DER, its subject, issuer
 * and serial as PKCS#11 wants them, the key's CKA_ID and label. */
static void
assert_certificate_object (const char       *token_label,
                           CustosEnrollment *enrollment)
{
  g_autoptr (GBytes) id = custos_test_hex_decode (enrollment->id_hex);
  GBytes *der = custos_certificate_get_der (enrollment->certificate);
  const guint8 *p = g_bytes_get_data (der, NULL);
  g_autoptr (X509) x = d2i_X509 (NULL, &p, (long) g_bytes_get_size (der));
  g_autoptr (GArray) certs = NULL;
  g_autoptr (GBytes) value = NULL;
  g_autoptr (GBytes) subject = NULL;
  g_autoptr (GBytes) issuer = NULL;
  g_autoptr (GBytes) label = NULL;
  guint8 *expected = NULL;
  int len;
  CK_OBJECT_HANDLE object;
  Raw raw;

  raw_open (&raw, token_label);
  certs = raw_find (&raw, CKO_CERTIFICATE, id);
  g_assert_cmpuint (certs->len, ==, 1);
  object = g_array_index (certs, CK_OBJECT_HANDLE, 0);
  g_assert_true (raw_bool (&raw, object, CKA_TOKEN));
  g_assert_false (raw_bool (&raw, object, CKA_PRIVATE));
  value = raw_bytes (&raw, object, CKA_VALUE);
  g_assert_true (g_bytes_equal (value, der));
  label = raw_bytes (&raw, object, CKA_LABEL);
  g_assert_cmpmem (g_bytes_get_data (label, NULL), g_bytes_get_size (label), enrollment->label,
                   strlen (enrollment->label));

  subject = raw_bytes (&raw, object, CKA_SUBJECT);
  len = i2d_X509_NAME (X509_get_subject_name (x), &expected);
  g_assert_cmpmem (g_bytes_get_data (subject, NULL), g_bytes_get_size (subject), expected, len);
  OPENSSL_free (expected);
  expected = NULL;
  issuer = raw_bytes (&raw, object, CKA_ISSUER);
  len = i2d_X509_NAME (X509_get_issuer_name (x), &expected);
  g_assert_cmpmem (g_bytes_get_data (issuer, NULL), g_bytes_get_size (issuer), expected, len);
  OPENSSL_free (expected);
  raw_close (&raw);
}

/* openssl's reading of a certificate the token made. */
static void
assert_certificate_ok (CustosEnrollment *enrollment,
                       const char       *pem_path)
{
  g_autofree char *text = openssl_text ("x509", "-noout", "-text", "-in", pem_path, NULL);
  g_autofree char *verify = openssl_text ("verify", "-CAfile", pem_path, pem_path, NULL);
  g_autofree char *expected = g_strdup_printf ("%s: OK", pem_path);
  gboolean rsa = custos_key_type_is_rsa (enrollment->key_type);
  CustosWrapAlg alg = 0;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (strstr (text, "Version: 3 (0x2)"));
  g_assert_nonnull (strstr (text, "X509v3 Key Usage: critical"));
  g_assert_nonnull (strstr (text, rsa ? "Digital Signature, Key Encipherment"
                                      : "Digital Signature, Key Agreement"));
  g_assert_nonnull (strstr (text, "CA:FALSE"));
  g_assert_nonnull (strstr (text, "X509v3 Subject Key Identifier"));
  g_assert_nonnull (strstr (text, rsa ? "sha256WithRSAEncryption" : "ecdsa-with-SHA256"));
  if (rsa)
    {
      g_autofree char *bits = g_strdup_printf ("Public-Key: (%u bit)",
                                               custos_key_type_get_bits (enrollment->key_type));
      g_assert_nonnull (strstr (text, bits));
    }
  else
    g_assert_nonnull (strstr (text, "NIST CURVE: P-256"));
  g_assert_nonnull (strstr (verify, expected));

  custos_certificate_get_wrap_alg (enrollment->certificate, FALSE, &alg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (alg, ==, rsa ? CUSTOS_WRAP_RSA_OAEP_SHA256 : CUSTOS_WRAP_ECDH_ES_P256);
}

/* The certificate's public key is the token's, as pkcs11-tool reads it. */
static void
assert_public_key_is_tokens (const char       *token_label,
                             CustosEnrollment *enrollment,
                             const char       *pem_path)
{
  g_autofree char *der_path = g_strdup_printf ("%s.pub.der", pem_path);
  g_autofree char *from_token = NULL;
  g_autofree char *from_cert = NULL;

  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token_label, "--read-object",
       "--type", "pubkey", "--id", enrollment->id_hex, "--output-file", der_path, NULL);
  from_token = openssl_text ("pkey", "-pubin", "-inform", "DER", "-in", der_path, NULL);
  from_cert = openssl_text ("x509", "-noout", "-pubkey", "-in", pem_path, NULL);
  g_assert_cmpstr (from_token, ==, from_cert);
}

/* The stored certificate is what was returned, next to its key. */
static void
assert_stored (CustosPkcs11Provider *provider,
               const char           *token_label,
               CustosEnrollment     *enrollment)
{
  g_autoptr (CustosPkcs11CertInfo) info = find_cert_info (provider, token_label,
                                                          enrollment->certificate);

  g_assert_nonnull (info);
  g_assert_cmpstr (info->id_hex, ==, enrollment->id_hex);
  g_assert_cmpstr (info->label, ==, enrollment->label);
  g_assert_cmpint (info->key_state, ==, CUSTOS_PKCS11_KEY_PRESENT);
  g_assert_true (custos_key_provider_has_recipient (
    CUSTOS_KEY_PROVIDER (provider), custos_certificate_get_fingerprint (enrollment->certificate)));
}

/* The full chain: a fusion file encrypted to the enrolled certificate by
 * the writer, read by a fresh provider and keyring; the card unwraps. */
static void
assert_fusion_decrypts (CustosCertificate *cert)
{
  g_autoptr (CustosPkcs11Provider) provider = new_provider ();
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (GPtrArray) recipients = g_ptr_array_new ();
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  CustosTestSpec spec;
  CustosPacket *packet;
  guint n = 0;

  custos_test_spec_init (&spec);
  spec.seconds = 4;
  spec.audio = TRUE;
  g_ptr_array_add (recipients, cert);
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  reader = custos_reader_new_for_bytes (file);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (keyring));
  custos_reader_set_interaction (reader, G_TLS_INTERACTION (interaction));
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      custos_test_assert_payload (&spec, packet);
      custos_packet_unref (packet);
      n++;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, custos_test_packet_count (&spec, 0) + custos_test_packet_count (&spec, 1));
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), >=, 1);
  /* None when the enrolling provider of this process is still logged in. */
  g_assert_cmpuint (interaction->n_asks, <=, 1);
}

/* Tests: key pairs and self-signed certificates on the token */

static void
check_enroll (const char    *token_label,
              CustosKeyType  type)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *pem_path = NULL;
  g_autofree char *name = g_strdup_printf ("%s.cert.pem", token_label);
  gint64 start;

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  start = g_get_monotonic_time ();
  enrollment = enroll (provider, token_label, type, FALSE, interaction, &error);
  g_assert_no_error (error);
  g_test_message ("%s enrolment on SoftHSM: %.0f ms", custos_key_type_to_string (type),
                  (g_get_monotonic_time () - start) / 1e3);

  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_nonnull (enrollment->certificate);
  g_assert_null (enrollment->csr);
  g_assert_true (enrollment->stored);
  g_assert_cmpint (enrollment->key_type, ==, type);
  g_assert_cmpstr (enrollment->token_label, ==, token_label);
  g_assert_true (g_str_has_prefix (enrollment->key_uri, "pkcs11:"));
  g_assert_nonnull (strstr (enrollment->key_uri, "type=private"));

  pem_path = write_pem (enrollment, name);
  assert_certificate_ok (enrollment, pem_path);
  assert_public_key_is_tokens (token_label, enrollment, pem_path);
  assert_key_attributes (token_label, enrollment);
  assert_certificate_object (token_label, enrollment);
  assert_stored (provider, token_label, enrollment);
  assert_fusion_decrypts (enrollment->certificate);
}

static void
test_enroll_rsa2048 (void)
{
  check_enroll ("enroll-rsa2048", CUSTOS_KEY_TYPE_RSA_2048);
}

static void
test_enroll_rsa3072 (void)
{
  check_enroll ("enroll-rsa3072", CUSTOS_KEY_TYPE_RSA_3072);
}

static void
test_enroll_p256 (void)
{
  check_enroll ("enroll-p256", CUSTOS_KEY_TYPE_EC_P256);
}

/* Requests, and a CA's certificate for one imported */

static void
make_ca (char **ca_cert,
         char **ca_key)
{
  *ca_key = tmp_path ("ca.key");
  *ca_cert = tmp_path ("ca.pem");
  if (g_file_test (*ca_cert, G_FILE_TEST_EXISTS))
    return;
  custos_test_run_args ("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", *ca_key, "-out", *ca_cert, "-days", "30",
       "-subj", "/CN=Custos Test CA/O=Custos Tests",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL);
}

/* What an administrator does with the request: the CA signs it, keeping
 * the extensions it asks for. */
static char *
ca_sign (const char *csr_path,
         const char *name)
{
  g_autofree char *ca_cert = NULL;
  g_autofree char *ca_key = NULL;
  g_autofree char *serial = tmp_path ("ca.srl");
  char *out = tmp_path (name);

  make_ca (&ca_cert, &ca_key);
  custos_test_run_args ("openssl", "x509", "-req", "-in", csr_path, "-CA", ca_cert, "-CAkey", ca_key,
       "-CAserial", serial, "-CAcreateserial", "-days", "30", "-copy_extensions", "copyall",
       "-out", out, NULL);
  return out;
}

typedef struct
{
  CustosCertificate *cert;
  guint              count;
} Added;

static void
on_certificate_added (CustosKeyProvider *provider,
                      CustosCertificate *cert,
                      Added             *added)
{
  g_set_object (&added->cert, cert);
  added->count++;
}

static void
test_csr_and_import (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosEnrollment) request = NULL;
  g_autoptr (CustosEnrollment) imported = NULL;
  g_autoptr (CustosEnrollment) again = NULL;
  g_autoptr (CustosCertificate) signed_cert = NULL;
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (CustosPkcs11CertInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *csr_path = NULL;
  g_autofree char *csr_text = NULL;
  g_autofree char *signed_path = NULL;
  g_autofree char *ca_cert = NULL;
  g_autofree char *ca_key = NULL;
  g_autofree char *verify = NULL;
  Added added = { NULL, 0 };
  gint64 deadline;

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  request = enroll (provider, "enroll-csr", CUSTOS_KEY_TYPE_RSA_2048, TRUE, interaction, &error);
  g_assert_no_error (error);
  g_assert_null (request->certificate);
  g_assert_nonnull (request->csr);
  g_assert_false (request->stored);

  /* openssl checks the token's signature on the request. */
  csr_path = write_pem (request, "enroll.csr");
  csr_text = openssl_text ("req", "-verify", "-noout", "-text", "-in", csr_path, NULL);
  g_assert_nonnull (strstr (csr_text, "verify OK"));
  g_assert_nonnull (strstr (csr_text, "Requested Extensions"));
  g_assert_nonnull (strstr (csr_text, "Digital Signature, Key Encipherment"));
  g_assert_nonnull (strstr (csr_text, "CN = Investigator rsa:2048"));

  /* The key is there; no certificate yet. */
  token = find_token (provider, "enroll-csr");
  g_assert_cmpuint (token->certificates->len, ==, 0);
  assert_key_attributes ("enroll-csr", request);

  /* The CA's answer, stored next to the key and announced. */
  signed_path = ca_sign (csr_path, "enroll-csr.signed.pem");
  make_ca (&ca_cert, &ca_key);
  verify = openssl_text ("verify", "-CAfile", ca_cert, signed_path, NULL);
  g_assert_nonnull (strstr (verify, ": OK"));
  signed_cert = custos_certificate_new_from_file (signed_path, &error);
  g_assert_no_error (error);

  g_signal_connect (provider, "certificate-added", G_CALLBACK (on_certificate_added), &added);
  imported = custos_pkcs11_import_certificate (provider, token, signed_cert, NULL,
                                               G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (imported->stored);
  g_assert_cmpstr (imported->id_hex, ==, request->id_hex);
  g_assert_cmpstr (imported->label, ==, request->label);
  g_assert_true (custos_certificate_equal (imported->certificate, signed_cert));
  assert_certificate_object ("enroll-csr", imported);
  /* Logged in already: no second prompt. */
  g_assert_cmpuint (interaction->n_asks, ==, 1);

  deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  while (added.count == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (added.count, ==, 1);
  g_assert_true (custos_certificate_equal (added.cert, signed_cert));
  g_clear_object (&added.cert);

  info = find_cert_info (provider, "enroll-csr", signed_cert);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->id_hex, ==, request->id_hex);
  g_assert_cmpint (info->key_state, ==, CUSTOS_PKCS11_KEY_PRESENT);

  /* Twice is once. */
  again = custos_pkcs11_import_certificate (provider, token, signed_cert, NULL,
                                            G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_no_error (error);
  g_assert_false (again->stored);
  g_assert_cmpstr (again->id_hex, ==, request->id_hex);

  /* A fresh provider lists it and decrypts with it. */
  assert_fusion_decrypts (signed_cert);
}

static void
test_import_refused (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (CustosCertificate) foreign = NULL;
  g_autoptr (CustosEnrollment) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = NULL;

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  token = find_token (provider, "enroll-misc");

  /* A certificate whose key was made by openssl, not on this token. */
  custos_test_make_cert ("ec:P-256", "foreign", &cert_path, NULL);
  foreign = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  result = custos_pkcs11_import_certificate (provider, token, foreign, NULL,
                                             G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
  g_assert_null (result);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "enroll-misc"));
}

/* An expired certificate made here, as no CLI option makes one. */
static CustosCertificate *
make_expired_certificate (void)
{
  g_autoptr (EVP_PKEY) key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  g_autoptr (X509) x = X509_new ();
  guint8 *der = NULL;
  int len;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  CustosCertificate *cert;

  X509_set_version (x, X509_VERSION_3);
  ASN1_INTEGER_set (X509_get_serialNumber (x), 7);
  X509_NAME_add_entry_by_txt (X509_get_subject_name (x), "CN", MBSTRING_UTF8,
                              (const guchar *) "Expired", -1, -1, 0);
  X509_set_issuer_name (x, X509_get_subject_name (x));
  X509_gmtime_adj (X509_getm_notBefore (x), -10 * 86400);
  X509_gmtime_adj (X509_getm_notAfter (x), -86400);
  X509_set_pubkey (x, key);
  g_assert_cmpint (X509_sign (x, key, EVP_sha256 ()), >, 0);
  len = i2d_X509 (x, &der);
  bytes = g_bytes_new (der, len);
  OPENSSL_free (der);
  cert = custos_certificate_new_from_der (bytes, &error);
  g_assert_no_error (error);
  return cert;
}

static void
test_import_expired (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (CustosCertificate) expired = make_expired_certificate ();
  g_autoptr (CustosEnrollment) result = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  token = find_token (provider, "enroll-misc");
  result = custos_pkcs11_import_certificate (provider, token, expired, NULL,
                                             G_TLS_INTERACTION (interaction), NULL, &error);
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_EXPIRED);
  /* Refused before the PIN. */
  g_assert_cmpuint (interaction->n_asks, ==, 0);
}

/* PIN handling: the provider's login path */

static void
test_wrong_pin (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) wrong = test_interaction_new ("0000");
  g_autoptr (TestInteraction) right = test_interaction_new (USER_PIN);
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  enrollment = enroll (provider, "enroll-pin", CUSTOS_KEY_TYPE_EC_P256, FALSE, wrong, &error);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "wrong PIN"));
  g_assert_nonnull (strstr (error->message, "tries"));
  /* Asked once, never retried by itself, and nothing was made. */
  g_assert_cmpuint (wrong->n_asks, ==, 1);
  g_assert_cmpuint (raw_count_private_keys ("enroll-pin"), ==, 0);
  g_clear_error (&error);

  /* The next attempt says it is one. */
  enrollment = enroll (provider, "enroll-pin", CUSTOS_KEY_TYPE_EC_P256, FALSE, right, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (right->n_asks, ==, 1);
  g_assert_true (right->last_flags & G_TLS_PASSWORD_RETRY);
  g_assert_cmpuint (raw_count_private_keys ("enroll-pin"), ==, 1);
}

static void
test_declined (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) nobody = test_interaction_new (NULL);
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;
  guint before;

  if (skip_without_softhsm ())
    return;

  before = raw_count_private_keys ("enroll-misc");
  provider = new_provider ();
  enrollment = enroll (provider, "enroll-misc", CUSTOS_KEY_TYPE_EC_P256, FALSE, nobody, &error);
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED);
  g_assert_cmpuint (raw_count_private_keys ("enroll-misc"), ==, before);
}

static void
test_cancel (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;
  CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_EC_P256, NULL, "Cancelled", 0, FALSE, NULL };
  guint before;

  if (skip_without_softhsm ())
    return;

  before = raw_count_private_keys ("enroll-misc");
  provider = new_provider ();
  token = find_token (provider, "enroll-misc");

  /* Before anything. */
  g_cancellable_cancel (cancellable);
  enrollment = custos_pkcs11_enroll (provider, token, &spec, G_TLS_INTERACTION (interaction),
                                     cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (interaction->n_asks, ==, 0);
  g_clear_error (&error);

  /* While the PIN dialog is open. */
  g_cancellable_reset (cancellable);
  interaction->cancel_on_ask = g_object_ref (cancellable);
  enrollment = custos_pkcs11_enroll (provider, token, &spec, G_TLS_INTERACTION (interaction),
                                     cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_cmpuint (raw_count_private_keys ("enroll-misc"), ==, before);
}

static void
test_bad_subject (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  const char *bad[] = { "Alice", "CN=", "XX=Alice", "C=France", "CN=a+O=b" };

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  token = find_token (provider, "enroll-misc");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_EC_P256, bad[i], NULL, 0, FALSE, NULL };
      g_autoptr (CustosEnrollment) enrollment = NULL;
      g_autoptr (GError) error = NULL;

      enrollment = custos_pkcs11_enroll (provider, token, &spec, G_TLS_INTERACTION (interaction),
                                         NULL, &error);
      g_assert_null (enrollment);
      g_assert_nonnull (error);
      g_test_message ("“%s”: %s", bad[i], error->message);
    }
  /* Refused before any PIN was asked. */
  g_assert_cmpuint (interaction->n_asks, ==, 0);
}

typedef struct
{
  GAsyncResult *result;
} AsyncWait;

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ((AsyncWait *) user_data)->result = g_object_ref (result);
}

static void
wait_for (AsyncWait *wait)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (wait->result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (wait->result);
}

/* The app's way: in a thread, the PIN asked in the main context; the
 * subject both ways round. */
static void
test_async_and_subject (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  const char *subjects[] = { "CN=Alice Example,OU=Forensics,O=Custos Tests,C=FR",
                             "/C=FR/O=Custos Tests/OU=Forensics/CN=Alice Example" };

  if (skip_without_softhsm ())
    return;

  provider = new_provider ();
  token = find_token (provider, "enroll-misc");
  g_assert_true (g_main_context_acquire (NULL));
  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    {
      CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_EC_P256, subjects[i], NULL, 10, FALSE,
                                "alice-key" };
      g_autoptr (CustosEnrollment) enrollment = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *subject = NULL;
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      AsyncWait wait = { NULL };
      GTimeSpan left;

      custos_pkcs11_enroll_async (provider, token, &spec, G_TLS_INTERACTION (interaction), NULL,
                                  async_done, &wait);
      wait_for (&wait);
      enrollment = custos_pkcs11_enroll_finish (provider, wait.result, &error);
      g_object_unref (wait.result);
      g_assert_no_error (error);

      subject = custos_certificate_dup_subject (enrollment->certificate);
      g_assert_cmpstr (subject, ==, "CN=Alice Example,OU=Forensics,O=Custos Tests,C=FR");
      g_assert_cmpstr (enrollment->label, ==, "alice-key");
      left = g_date_time_difference (custos_certificate_get_not_after (enrollment->certificate),
                                     now);
      g_assert_cmpint (left, >, 10 * G_TIME_SPAN_DAY - G_TIME_SPAN_MINUTE);
      g_assert_cmpint (left, <=, 10 * G_TIME_SPAN_DAY + G_TIME_SPAN_MINUTE);
    }
  g_main_context_release (NULL);
  g_assert_cmpuint (interaction->n_asks, ==, 1);
}

static void
test_login (void)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (TestInteraction) interaction = test_interaction_new (USER_PIN);
  g_autoptr (CustosPkcs11TokenInfo) before = NULL;
  g_autoptr (CustosPkcs11TokenInfo) after = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_softhsm ())
    return;

  /* enroll-rsa2048 holds a certificate and key from /pkcs11/enroll/rsa-2048. */
  provider = new_provider ();
  before = find_token (provider, "enroll-rsa2048");
  if (before->certificates->len == 0)
    {
      g_test_skip ("run with /pkcs11/enroll/rsa-2048");
      return;
    }
  g_assert_false (before->logged_in);
  g_assert_cmpint (((CustosPkcs11CertInfo *) before->certificates->pdata[0])->key_state, ==,
                   CUSTOS_PKCS11_KEY_UNKNOWN);
  g_assert_true (custos_pkcs11_login (provider, before, G_TLS_INTERACTION (interaction), NULL,
                                      &error));
  g_assert_no_error (error);
  after = find_token (provider, "enroll-rsa2048");
  g_assert_true (after->logged_in);
  g_assert_cmpint (((CustosPkcs11CertInfo *) after->certificates->pdata[0])->key_state, ==,
                   CUSTOS_PKCS11_KEY_PRESENT);
}

/* Local key files */

static void
test_local (void)
{
  g_autofree char *key_path = tmp_path ("local.key.pem");
  g_autofree char *cert_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *asn1 = NULL;
  g_autofree char *pass_arg = g_strdup ("pass:" PASSPHRASE);
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (CustosEnrollment) again = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosLocalKeyProvider) provider = NULL;
  g_autoptr (GPtrArray) recipients = g_ptr_array_new ();
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_RSA_2048, NULL, "Local Investigator", 0, FALSE,
                            NULL };
  CustosTestSpec fusion;
  GStatBuf st;

  enrollment = custos_local_enroll (key_path, &spec, PASSPHRASE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (enrollment->certificate);
  g_assert_cmpstr (enrollment->key_uri, ==, key_path);
  g_assert_null (enrollment->token_label);

  /* An encrypted PKCS#8 file only its owner reads. */
  g_assert_cmpint (g_stat (key_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_file_get_contents (key_path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (contents, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  asn1 = openssl_text ("asn1parse", "-in", key_path, NULL);
  g_assert_nonnull (strstr (asn1, "PBES2"));
  g_assert_nonnull (strstr (asn1, "PBKDF2"));
  g_assert_nonnull (strstr (asn1, "aes-256-cbc"));
  g_free (openssl_text ("pkey", "-in", key_path, "-passin", pass_arg, "-noout", NULL));

  /* Refused without the passphrase or with a wrong one; read with it. */
  key = custos_private_key_load (key_path, NULL, &error);
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE);
  g_assert_null (key);
  g_clear_error (&error);
  key = custos_private_key_load (key_path, "wrong horse", &error);
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE);
  g_clear_error (&error);
  key = custos_private_key_load (key_path, PASSPHRASE, &error);
  g_assert_no_error (error);
  g_assert_true (custos_certificate_matches_key (enrollment->certificate, key));

  cert_path = write_pem (enrollment, "local.cert.pem");
  assert_certificate_ok (enrollment, cert_path);

  /* Never overwritten. */
  again = custos_local_enroll (key_path, &spec, PASSPHRASE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  {
    g_autofree char *now = NULL;

    g_file_get_contents (key_path, &now, NULL, NULL);
    g_assert_cmpstr (now, ==, contents);
  }

  /* The chain with the local key provider. */
  provider = custos_local_key_provider_new ();
  custos_local_key_provider_add_key (provider, key_path, cert_path, PASSPHRASE, &error);
  g_assert_no_error (error);
  custos_test_spec_init (&fusion);
  fusion.seconds = 2;
  g_ptr_array_add (recipients, enrollment->certificate);
  file = custos_test_fusion_make (&fusion, recipients, NULL, NULL, NULL);
  packets = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (provider), NULL, NULL);
  g_assert_cmpuint (packets->len, ==, custos_test_packet_count (&fusion, 0));
  for (guint i = 0; i < packets->len; i++)
    custos_test_assert_payload (&fusion, packets->pdata[i]);
}

static void
test_local_csr_async (void)
{
  g_autofree char *key_path = tmp_path ("local-ec.key.pem");
  g_autofree char *csr_path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;
  CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_EC_P256, "CN=Local EC,O=Custos Tests", NULL, 0, TRUE,
                            NULL };
  AsyncWait wait = { NULL };

  custos_local_enroll_async (key_path, &spec, PASSPHRASE, NULL, async_done, &wait);
  wait_for (&wait);
  enrollment = custos_local_enroll_finish (wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  g_assert_null (enrollment->certificate);
  csr_path = write_pem (enrollment, "local-ec.csr");
  text = openssl_text ("req", "-verify", "-noout", "-text", "-in", csr_path, NULL);
  g_assert_nonnull (strstr (text, "verify OK"));
  g_assert_nonnull (strstr (text, "Digital Signature, Key Agreement"));
  g_assert_nonnull (strstr (text, "CN = Local EC"));
}

static void
test_local_refused (void)
{
  g_autofree char *key_path = tmp_path ("local-empty.key.pem");
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (GError) error = NULL;
  CustosEnrollSpec spec = { CUSTOS_KEY_TYPE_EC_P256, NULL, "No passphrase", 0, FALSE, NULL };
  CustosKeyType type;

  enrollment = custos_local_enroll (key_path, &spec, "", NULL, &error);
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE);
  g_assert_false (g_file_test (key_path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_true (custos_key_type_from_string ("EC:p-256", &type, NULL));
  g_assert_cmpint (type, ==, CUSTOS_KEY_TYPE_EC_P256);
  g_assert_true (custos_key_type_from_string ("rsa:3072", &type, NULL));
  g_assert_cmpint (type, ==, CUSTOS_KEY_TYPE_RSA_3072);
  g_assert_false (custos_key_type_from_string ("rsa:1024", &type, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  have_softhsm = softhsm_available ();
  if (have_softhsm)
    make_tokens ();

  g_test_add_func ("/pkcs11/enroll/rsa-2048", test_enroll_rsa2048);
  g_test_add_func ("/pkcs11/enroll/rsa-3072", test_enroll_rsa3072);
  g_test_add_func ("/pkcs11/enroll/p256", test_enroll_p256);
  g_test_add_func ("/pkcs11/enroll/csr-and-import", test_csr_and_import);
  g_test_add_func ("/pkcs11/enroll/import-refused", test_import_refused);
  g_test_add_func ("/pkcs11/enroll/import-expired", test_import_expired);
  g_test_add_func ("/pkcs11/enroll/wrong-pin", test_wrong_pin);
  g_test_add_func ("/pkcs11/enroll/declined", test_declined);
  g_test_add_func ("/pkcs11/enroll/cancel", test_cancel);
  g_test_add_func ("/pkcs11/enroll/bad-subject", test_bad_subject);
  g_test_add_func ("/pkcs11/enroll/async-and-subject", test_async_and_subject);
  g_test_add_func ("/pkcs11/enroll/login", test_login);
  g_test_add_func ("/pkcs11/enroll/local", test_local);
  g_test_add_func ("/pkcs11/enroll/local-csr-async", test_local_csr_async);
  g_test_add_func ("/pkcs11/enroll/local-refused", test_local_refused);

  return g_test_run ();
}
