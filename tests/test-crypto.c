/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test-crypto"

#include "config.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <string.h>

#include "custos-crypto.h"
#include "custos-test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY_CTX, EVP_PKEY_CTX_free)

/* Helpers */


static CustosSecret *
secret_from_hex (const char *hex)
{
  g_autoptr (GBytes) bytes = custos_test_hex_decode (hex);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return custos_secret_new_copy (data, len);
}

static char *
hex (const void *data,
     gsize       len)
{
  GString *str = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (str, "%02x", ((const guint8 *) data)[i]);
  return g_string_free (str, FALSE);
}

static void
assert_hex (const void *data,
            gsize       len,
            const char *expected)
{
  g_autofree char *actual = hex (data, len);

  g_assert_cmpstr (actual, ==, expected);
}

static void
assert_secret_eq (const CustosSecret *a,
                  const CustosSecret *b)
{
  g_autofree char *ha = hex (custos_secret_peek (a), custos_secret_get_len (a));
  g_autofree char *hb = hex (custos_secret_peek (b), custos_secret_get_len (b));

  g_assert_cmpstr (ha, ==, hb);
  g_assert_true (custos_secret_equal (a, b));
}

static void
assert_bytes_eq_secret (GBytes             *bytes,
                        const CustosSecret *secret)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autofree char *ha = hex (data, len);
  g_autofree char *hb = hex (custos_secret_peek (secret), custos_secret_get_len (secret));

  g_assert_cmpstr (ha, ==, hb);
}

static gboolean
all_zero (const guint8 *data,
          gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

static EVP_PKEY *
load_public_key (const char *pem_path)
{
  BIO *bio = BIO_new_file (pem_path, "r");
  EVP_PKEY *pkey;

  g_assert_nonnull (bio);
  pkey = PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL);
  BIO_free (bio);
  g_assert_nonnull (pkey);
  return pkey;
}

static EVP_PKEY *
load_private_key (const char *path)
{
  g_autoptr (GError) error = NULL;
  EVP_PKEY *pkey = custos_private_key_load (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pkey);
  return pkey;
}

/* A key pair made by the openssl CLI, with the public key in its own PEM
 * (what `pkeyutl -pubin` and `dgst -verify` want). */
typedef struct
{
  char *cert;
  char *key;
  char *pub;
} TestKey;

static const TestKey *
test_key (const char *spec,
          const char *name)
{
  static GHashTable *keys;
  TestKey *key;

  if (keys == NULL)
    keys = g_hash_table_new (g_str_hash, g_str_equal);
  if ((key = g_hash_table_lookup (keys, name)) != NULL)
    return key;

  key = g_new0 (TestKey, 1);
  custos_test_make_cert (spec, name, &key->cert, &key->key);
  key->pub = g_strdup_printf ("%s/%s.pub.pem", custos_test_tmpdir (), name);
  g_bytes_unref (custos_test_openssl ("pkey", "-in", key->key, "-pubout", "-out", key->pub, NULL));
  g_hash_table_insert (keys, g_strdup (name), key);
  return key;
}

static const guint8 *
test_recipient_id (void)
{
  static guint8 id[CUSTOS_RECIPIENT_ID_LEN];

  for (guint i = 0; i < sizeof id; i++)
    id[i] = 0xA0 + i;
  return id;
}

static CustosSecret *
random_kek (void)
{
  g_autoptr (GError) error = NULL;
  CustosSecret *kek = custos_secret_new_random (CUSTOS_AES_KEY_LEN, &error);

  g_assert_no_error (error);
  return kek;
}

static char *
write_bytes (const char *name,
             GBytes     *bytes)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (bytes, &len);

  return custos_test_write_file (name, data, len);
}

/* AES-128-GCM: test cases 2, 3 and 4 of McGrew & Viega, "The Galois/Counter
 * Mode of Operation", the vectors NIST republished. */

typedef struct
{
  const char *key;
  const char *iv;
  const char *aad;
  const char *plain;
  const char *cipher;
  const char *tag;
} GcmVector;

static const GcmVector gcm_vectors[] = {
  { /* Test Case 2 */
    "00000000000000000000000000000000",
    "000000000000000000000000",
    "",
    "00000000000000000000000000000000",
    "0388dace60b6a392f328c2b971b2fe78",
    "ab6e47d42cec13bdf53a67b21257bddf" },
  { /* Test Case 3 */
    "feffe9928665731c6d6a8f9467308308",
    "cafebabefacedbaddecaf888",
    "",
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    "4d5c2af327cd64a62cf35abd2ba6fab4" },
  { /* Test Case 4 */
    "feffe9928665731c6d6a8f9467308308",
    "cafebabefacedbaddecaf888",
    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    "5bc94fbc3221a5db94fae95ae7121a47" },
};

static void
test_gcm_vectors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (gcm_vectors); i++)
    {
      const GcmVector *v = &gcm_vectors[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (CustosSecret) key = secret_from_hex (v->key);
      g_autoptr (CustosAead) aead = custos_aead_new (key, &error);
      g_autoptr (GBytes) iv = custos_test_hex_decode (v->iv);
      g_autoptr (GBytes) aad = custos_test_hex_decode (v->aad);
      g_autoptr (GBytes) plain = custos_test_hex_decode (v->plain);
      gsize len = g_bytes_get_size (plain);
      g_autofree guint8 *out = g_malloc0 (len);
      g_autofree guint8 *back = g_malloc0 (len);
      guint8 tag[CUSTOS_GCM_TAG_LEN];

      g_test_message ("GCM test case %u", i + 2);
      g_assert_no_error (error);
      g_assert_true (custos_aead_encrypt (aead, g_bytes_get_data (iv, NULL),
                                          g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                                          g_bytes_get_data (plain, NULL), len, out, tag, &error));
      g_assert_no_error (error);
      assert_hex (out, len, v->cipher);
      assert_hex (tag, sizeof tag, v->tag);

      /* The same context decrypts, and in place works. */
      g_assert_true (custos_aead_decrypt (aead, g_bytes_get_data (iv, NULL),
                                          g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                                          out, len, back, tag, &error));
      g_assert_no_error (error);
      assert_hex (back, len, v->plain);
      g_assert_true (custos_aead_decrypt (aead, g_bytes_get_data (iv, NULL),
                                          g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                                          out, len, out, tag, &error));
      g_assert_no_error (error);
      assert_hex (out, len, v->plain);
    }
}

static void
test_gcm_tamper (void)
{
  const GcmVector *v = &gcm_vectors[2];
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) key = secret_from_hex (v->key);
  g_autoptr (CustosAead) aead = custos_aead_new (key, &error);
  g_autoptr (GBytes) iv = custos_test_hex_decode (v->iv);
  g_autoptr (GBytes) aad_bytes = custos_test_hex_decode (v->aad);
  g_autoptr (GBytes) cipher = custos_test_hex_decode (v->cipher);
  g_autoptr (GBytes) tag_bytes = custos_test_hex_decode (v->tag);
  gsize len = g_bytes_get_size (cipher);
  guint8 aad[64], tag[CUSTOS_GCM_TAG_LEN];
  g_autofree guint8 *buf = g_malloc (len);
  g_autofree guint8 *out = g_malloc (len);
  gsize aad_len = g_bytes_get_size (aad_bytes);

  g_assert_no_error (error);
  memcpy (aad, g_bytes_get_data (aad_bytes, NULL), aad_len);

  /* 0: tag, 1: ciphertext, 2: AAD, 3: ciphertext decrypted in place */
  for (guint what = 0; what < 4; what++)
    {
      guint8 *dest = what == 3 ? buf : out;

      memcpy (buf, g_bytes_get_data (cipher, NULL), len);
      memcpy (tag, g_bytes_get_data (tag_bytes, NULL), sizeof tag);
      memcpy (aad, g_bytes_get_data (aad_bytes, NULL), aad_len);
      memset (out, 0xAA, len);
      if (what == 0)
        tag[5] ^= 0x01;
      else if (what == 2)
        aad[aad_len - 1] ^= 0x80;
      else
        buf[17] ^= 0x04;

      g_assert_false (custos_aead_decrypt (aead, g_bytes_get_data (iv, NULL), aad, aad_len,
                                           buf, len, dest, tag, &error));
      g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
      g_clear_error (&error);
      g_assert_true (all_zero (dest, len));
    }

  /* The context is still usable after a failure. */
  memcpy (buf, g_bytes_get_data (cipher, NULL), len);
  g_assert_true (custos_aead_decrypt (aead, g_bytes_get_data (iv, NULL), aad, aad_len,
                                      buf, len, out, g_bytes_get_data (tag_bytes, NULL), &error));
  g_assert_no_error (error);
  assert_hex (out, len, v->plain);
}

static void
test_gcm_bad_key (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) key = custos_secret_new (24);
  g_autoptr (CustosAead) aead = custos_aead_new (key, &error);

  g_assert_null (aead);
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  g_assert_nonnull (strstr (error->message, "24"));
}

/* RFC 5649 §6 */

static void
test_kwp_vectors (void)
{
  static const struct
  {
    const char *key;
    const char *wrapped;
  } vectors[] = {
    { "c37b7e6492584340bed12207808941155068f738",
      "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a" },
    { "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f" },
  };
  g_autoptr (CustosSecret) kek = secret_from_hex ("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");

  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CustosSecret) key = secret_from_hex (vectors[i].key);
      g_autoptr (GBytes) wrapped = custos_kwp_wrap (kek, key, &error);
      g_autoptr (GBytes) expected = custos_test_hex_decode (vectors[i].wrapped);
      g_autoptr (CustosSecret) unwrapped = NULL;

      g_assert_no_error (error);
      assert_hex (g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped),
                  vectors[i].wrapped);
      unwrapped = custos_kwp_unwrap (kek, g_bytes_get_data (expected, NULL),
                                     g_bytes_get_size (expected), &error);
      g_assert_no_error (error);
      assert_secret_eq (unwrapped, key);
    }
}

static void
test_kwp_tamper (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) key = random_kek ();

  for (gsize kek_len = 16; kek_len <= 32; kek_len += 8)
    {
      g_autoptr (CustosSecret) kek = custos_secret_new_random (kek_len, &error);
      g_autoptr (CustosSecret) other = custos_secret_new_random (kek_len, &error);
      g_autoptr (GBytes) wrapped = custos_kwp_wrap (kek, key, &error);
      g_autoptr (CustosSecret) back = NULL;
      guint8 buf[CUSTOS_KWP_WRAPPED_LEN];

      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (wrapped), ==, CUSTOS_KWP_WRAPPED_LEN);
      memcpy (buf, g_bytes_get_data (wrapped, NULL), sizeof buf);

      back = custos_kwp_unwrap (kek, buf, sizeof buf, &error);
      g_assert_no_error (error);
      assert_secret_eq (back, key);

      for (guint i = 0; i < sizeof buf; i += 5)
        {
          buf[i] ^= 0x10;
          g_assert_null (custos_kwp_unwrap (kek, buf, sizeof buf, &error));
          g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
          g_clear_error (&error);
          buf[i] ^= 0x10;
        }

      g_assert_null (custos_kwp_unwrap (other, buf, sizeof buf, &error));
      g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
      g_clear_error (&error);

      g_assert_null (custos_kwp_unwrap (kek, buf, sizeof buf - 3, &error));
      g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
      g_clear_error (&error);
    }

  {
    g_autoptr (CustosSecret) bad_kek = custos_secret_new (20);

    g_assert_null (custos_kwp_wrap (bad_kek, key, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  }
}

/* RFC 5869, test case 1 */

static void
test_hkdf_vector (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosSecret) ikm = secret_from_hex ("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  g_autoptr (GBytes) salt = custos_test_hex_decode ("000102030405060708090a0b0c");
  g_autoptr (GBytes) info = custos_test_hex_decode ("f0f1f2f3f4f5f6f7f8f9");
  g_autoptr (CustosSecret) okm = NULL;

  okm = custos_hkdf_sha256 (ikm, g_bytes_get_data (salt, NULL), g_bytes_get_size (salt),
                            g_bytes_get_data (info, NULL), g_bytes_get_size (info), 42, &error);
  g_assert_no_error (error);
  assert_hex (custos_secret_peek (okm), custos_secret_get_len (okm),
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
              "34007208d5b887185865");

  g_assert_null (custos_hkdf_sha256 (ikm, NULL, 0, NULL, 0, 255 * 32 + 1, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
}

/* RSA-OAEP against the openssl CLI */

static const char *const oaep_opts[] = {
  "-pkeyopt", "rsa_padding_mode:oaep",
  "-pkeyopt", "rsa_oaep_md:sha256",
  "-pkeyopt", "rsa_mgf1_md:sha256",
};

static void
test_rsa_oaep_to_openssl (void)
{
  const TestKey *key = test_key ("rsa:2048", "rsa2048");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) pub = load_public_key (key->pub);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (GBytes) decrypted = NULL;
  g_autofree char *blob = NULL;

  wrapped = custos_wrap_kek (pub, CUSTOS_WRAP_RSA_OAEP_SHA256, test_recipient_id (), 7, kek,
                             &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (wrapped), ==, 256);
  blob = write_bytes ("oaep.bin", wrapped);

  decrypted = custos_test_openssl ("pkeyutl", "-decrypt", "-inkey", key->key, "-in", blob,
                       oaep_opts[0], oaep_opts[1], oaep_opts[2], oaep_opts[3],
                       oaep_opts[4], oaep_opts[5], NULL);
  assert_bytes_eq_secret (decrypted, kek);
}

static void
test_rsa_oaep_from_openssl (void)
{
  const TestKey *key = test_key ("rsa:2048", "rsa2048");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (CustosSecret) unwrapped = NULL;
  g_autofree char *kek_path = NULL;

  kek_path = custos_test_write_file ("kek.bin", custos_secret_peek (kek), CUSTOS_AES_KEY_LEN);
  wrapped = custos_test_openssl ("pkeyutl", "-encrypt", "-pubin", "-inkey", key->pub, "-in", kek_path,
                     oaep_opts[0], oaep_opts[1], oaep_opts[2], oaep_opts[3],
                     oaep_opts[4], oaep_opts[5], NULL);
  unwrapped = custos_unwrap_kek (priv, CUSTOS_WRAP_RSA_OAEP_SHA256, test_recipient_id (), 7,
                                 g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped),
                                 &error);
  g_assert_no_error (error);
  assert_secret_eq (unwrapped, kek);
}

/* The raw RSA operation a token would do (CKM_RSA_X_509), in software. */
static GBytes *
rsa_raw_decrypt (EVP_PKEY *priv,
                 GBytes   *input)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_pkey (NULL, priv, NULL);
  OSSL_PARAM params[2];
  size_t len = 0;
  guint8 *out;

  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_PAD_MODE,
                                                (char *) OSSL_PKEY_RSA_PAD_MODE_NONE, 0);
  params[1] = OSSL_PARAM_construct_end ();
  g_assert_cmpint (EVP_PKEY_decrypt_init_ex (ctx, params), ==, 1);
  g_assert_cmpint (EVP_PKEY_decrypt (ctx, NULL, &len, g_bytes_get_data (input, NULL),
                                     g_bytes_get_size (input)), ==, 1);
  out = g_malloc (len);
  g_assert_cmpint (EVP_PKEY_decrypt (ctx, out, &len, g_bytes_get_data (input, NULL),
                                     g_bytes_get_size (input)), ==, 1);
  return g_bytes_new_take (out, len);
}

static void
test_rsa_oaep_unpad (void)
{
  const TestKey *key = test_key ("rsa:2048", "rsa2048");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (EVP_PKEY) pub = load_public_key (key->pub);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (GBytes) raw = NULL;
  g_autoptr (CustosSecret) via_unwrap = NULL;
  g_autoptr (CustosSecret) via_unpad = NULL;
  g_autoptr (CustosSecret) via_short = NULL;
  g_autofree guint8 *block = NULL;
  gsize len;

  wrapped = custos_wrap_kek (pub, CUSTOS_WRAP_RSA_OAEP_SHA256, test_recipient_id (), 1, kek,
                             &error);
  g_assert_no_error (error);

  via_unwrap = custos_unwrap_kek (priv, CUSTOS_WRAP_RSA_OAEP_SHA256, test_recipient_id (), 1,
                                  g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped),
                                  &error);
  g_assert_no_error (error);

  raw = rsa_raw_decrypt (priv, wrapped);
  block = g_memdup2 (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  len = g_bytes_get_size (raw);
  g_assert_cmpuint (len, ==, 256);
  g_assert_cmpuint (block[0], ==, 0);

  via_unpad = custos_rsa_oaep_sha256_unpad (block, len, 256, &error);
  g_assert_no_error (error);
  assert_secret_eq (via_unpad, via_unwrap);
  assert_secret_eq (via_unpad, kek);

  /* Tokens may return the integer without its leading zero byte. */
  via_short = custos_rsa_oaep_sha256_unpad (block + 1, len - 1, 256, &error);
  g_assert_no_error (error);
  assert_secret_eq (via_short, kek);

  /* Any change to the encoded message is a decoding error. */
  for (gsize i = 0; i < len; i += 37)
    {
      block[i] ^= 0x01;
      g_assert_null (custos_rsa_oaep_sha256_unpad (block, len, 256, &error));
      g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
      g_clear_error (&error);
      block[i] ^= 0x01;
    }

  g_assert_null (custos_rsa_oaep_sha256_unpad (block, len, 255, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
}

/* ECDH-ES against the openssl CLI */

static GBytes *
spki_from_point (CustosWrapAlg  alg,
                 const guint8  *point,
                 gsize          point_len)
{
  /* The fixed DER prefix of a SubjectPublicKeyInfo for an id-ecPublicKey
   * on the named curve, up to the BIT STRING's unused-bits byte. */
  const char *prefix = alg == CUSTOS_WRAP_ECDH_ES_P256
                       ? "3059301306072a8648ce3d020106082a8648ce3d030107034200"
                       : "3076301006072a8648ce3d020106052b81040022036200";
  g_autoptr (GBytes) head = custos_test_hex_decode (prefix);
  GByteArray *der = g_byte_array_new ();

  g_byte_array_append (der, g_bytes_get_data (head, NULL), g_bytes_get_size (head));
  g_byte_array_append (der, point, point_len);
  return g_byte_array_free_to_bytes (der);
}

/* `openssl kdf` prints "3C:B2:…"; this gives "3cb2…". */
static char *
kdf_output_to_hex (GBytes *out)
{
  GString *str = g_string_new (NULL);
  gsize len = 0;
  const char *data = g_bytes_get_data (out, &len);

  for (gsize i = 0; i < len; i++)
    if (g_ascii_isxdigit (data[i]))
      g_string_append_c (str, g_ascii_tolower (data[i]));
  return g_string_free (str, FALSE);
}

static void
check_ecdh_es (const char    *spec,
               const char    *name,
               CustosWrapAlg  alg,
               gsize          point_len,
               gsize          z_len)
{
  const TestKey *key = test_key (spec, name);
  const guint32 epoch = 0x01020304;
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) pub = load_public_key (key->pub);
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (GBytes) spki = NULL;
  g_autoptr (GBytes) z = NULL;
  g_autoptr (GBytes) kdf_out = NULL;
  g_autoptr (CustosSecret) z_secret = NULL;
  g_autoptr (CustosSecret) our_kwk = NULL;
  g_autoptr (CustosSecret) their_kwk = NULL;
  g_autoptr (CustosSecret) unwrapped = NULL;
  g_autofree char *eph_path = NULL;
  g_autofree char *eph_name = g_strdup_printf ("%s-eph.der", name);
  g_autofree char *z_hex = NULL;
  g_autofree char *id_hex = NULL;
  g_autofree char *info_hex = NULL;
  g_autofree char *hexkey = NULL;
  g_autofree char *hexsalt = NULL;
  g_autofree char *hexinfo = NULL;
  g_autofree char *kwk_hex = NULL;
  guint8 info[24];
  const guint8 *blob;

  g_assert_cmpuint (custos_ecdh_es_point_len (alg), ==, point_len);

  wrapped = custos_wrap_kek (pub, alg, test_recipient_id (), epoch, kek, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (wrapped), ==, point_len + CUSTOS_KWP_WRAPPED_LEN);
  blob = g_bytes_get_data (wrapped, NULL);
  g_assert_cmpuint (blob[0], ==, 0x04);

  /* Z from the CLI, with the ephemeral point taken from the blob. */
  spki = spki_from_point (alg, blob, point_len);
  eph_path = write_bytes (eph_name, spki);
  z = custos_test_openssl ("pkeyutl", "-derive", "-inkey", key->key, "-peerkey", eph_path,
               "-peerform", "DER", NULL);
  g_assert_cmpuint (g_bytes_get_size (z), ==, z_len);

  /* KWK from the CLI's HKDF. */
  memcpy (info, "custos-fusion-v1 kek" "\x01\x02\x03\x04", sizeof info);
  z_hex = hex (g_bytes_get_data (z, NULL), z_len);
  id_hex = hex (test_recipient_id (), CUSTOS_RECIPIENT_ID_LEN);
  info_hex = hex (info, sizeof info);
  g_assert_cmpstr (info_hex, ==, "637573746f732d667573696f6e2d7631206b656b01020304");
  hexkey = g_strconcat ("hexkey:", z_hex, NULL);
  hexsalt = g_strconcat ("hexsalt:", id_hex, NULL);
  hexinfo = g_strconcat ("hexinfo:", info_hex, NULL);
  kdf_out = custos_test_openssl ("kdf", "-keylen", "16", "-kdfopt", "digest:SHA256", "-kdfopt", hexkey,
                     "-kdfopt", hexsalt, "-kdfopt", hexinfo, "HKDF", NULL);
  kwk_hex = kdf_output_to_hex (kdf_out);
  g_assert_cmpuint (strlen (kwk_hex), ==, 32);

  z_secret = custos_secret_new_copy (g_bytes_get_data (z, NULL), z_len);
  our_kwk = custos_hkdf_sha256 (z_secret, test_recipient_id (), CUSTOS_RECIPIENT_ID_LEN,
                                info, sizeof info, 16, &error);
  g_assert_no_error (error);
  assert_hex (custos_secret_peek (our_kwk), 16, kwk_hex);

  /* The CLI's KWK opens the KWP part of the blob. */
  their_kwk = secret_from_hex (kwk_hex);
  unwrapped = custos_kwp_unwrap (their_kwk, blob + point_len, CUSTOS_KWP_WRAPPED_LEN, &error);
  g_assert_no_error (error);
  assert_secret_eq (unwrapped, kek);
  g_clear_pointer (&unwrapped, custos_secret_unref);

  /* The token path (shared secret from the CLI) and the software path. */
  unwrapped = custos_ecdh_es_unwrap_with_secret (alg, z_secret, test_recipient_id (), epoch,
                                                 blob, g_bytes_get_size (wrapped), &error);
  g_assert_no_error (error);
  assert_secret_eq (unwrapped, kek);
  g_clear_pointer (&unwrapped, custos_secret_unref);

  unwrapped = custos_unwrap_kek (priv, alg, test_recipient_id (), epoch, blob,
                                 g_bytes_get_size (wrapped), &error);
  g_assert_no_error (error);
  assert_secret_eq (unwrapped, kek);
  g_clear_pointer (&unwrapped, custos_secret_unref);

  /* The epoch and the recipient id are bound into the KWK. */
  g_assert_null (custos_unwrap_kek (priv, alg, test_recipient_id (), epoch + 1, blob,
                                    g_bytes_get_size (wrapped), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
  g_clear_error (&error);
  {
    guint8 other_id[CUSTOS_RECIPIENT_ID_LEN];

    memcpy (other_id, test_recipient_id (), sizeof other_id);
    other_id[0] ^= 1;
    g_assert_null (custos_unwrap_kek (priv, alg, other_id, epoch, blob,
                                      g_bytes_get_size (wrapped), &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
    g_clear_error (&error);
  }
}

static void
test_ecdh_es_p256 (void)
{
  check_ecdh_es ("ec:P-256", "p256", CUSTOS_WRAP_ECDH_ES_P256, 65, 32);
}

static void
test_ecdh_es_p384 (void)
{
  check_ecdh_es ("ec:P-384", "p384", CUSTOS_WRAP_ECDH_ES_P384, 97, 48);
}

/* PKCS#1 v1.5 */

static void
test_rsa_pkcs1 (void)
{
  const TestKey *key = test_key ("rsa:2048", "rsa2048");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) pub = load_public_key (key->pub);
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (GBytes) decrypted = NULL;
  g_autoptr (CustosSecret) unwrapped = NULL;
  g_autofree char *blob = NULL;

  wrapped = custos_wrap_kek (pub, CUSTOS_WRAP_RSA_PKCS1_V15, test_recipient_id (), 3, kek,
                             &error);
  g_assert_no_error (error);
  unwrapped = custos_unwrap_kek (priv, CUSTOS_WRAP_RSA_PKCS1_V15, test_recipient_id (), 3,
                                 g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped),
                                 &error);
  g_assert_no_error (error);
  assert_secret_eq (unwrapped, kek);

  blob = write_bytes ("pkcs1.bin", wrapped);
  decrypted = custos_test_openssl ("pkeyutl", "-decrypt", "-inkey", key->key, "-in", blob, NULL);
  assert_bytes_eq_secret (decrypted, kek);

  /* It is not OAEP: the OAEP path must refuse it. */
  g_assert_null (custos_unwrap_kek (priv, CUSTOS_WRAP_RSA_OAEP_SHA256, test_recipient_id (), 3,
                                    g_bytes_get_data (wrapped, NULL),
                                    g_bytes_get_size (wrapped), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
}

/* Signatures */

static void
check_signatures (const char   *spec,
                  const char   *name,
                  CustosSigAlg  expected_alg)
{
  const TestKey *key = test_key (spec, name);
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (EVP_PKEY) pub = load_public_key (key->pub);
  g_autofree char *data = g_strdup_printf ("seal over the records of %s", name);
  gsize len = strlen (data);
  g_autofree char *data_path = custos_test_write_file ("sig-data.txt", data, len);
  g_autofree char *sig_path = NULL;
  g_autofree char *their_sig_path = g_build_filename (custos_test_tmpdir (), "their.sig", NULL);
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) unused = NULL;
  g_autoptr (GBytes) their_sig = NULL;
  gboolean pss = expected_alg == CUSTOS_SIG_RSA_PSS_SHA256;
  CustosSigAlg alg = 0;
  g_autofree guint8 *bad = NULL;

  sig = custos_sign (priv, (const guint8 *) data, len, &alg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (alg, ==, expected_alg);
  sig_path = write_bytes ("our.sig", sig);

  /* Ours verify with the CLI. */
  if (pss)
    unused = custos_test_openssl ("dgst", "-sha256", "-verify", key->pub, "-signature", sig_path,
                      "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                      "-sigopt", "rsa_mgf1_md:sha256", data_path, NULL);
  else
    unused = custos_test_openssl ("dgst", "-sha256", "-verify", key->pub, "-signature", sig_path,
                      data_path, NULL);
  g_assert_nonnull (strstr (g_bytes_get_data (unused, NULL), "Verified OK"));

  /* The CLI's verify with our signature in our verifier. */
  g_assert_true (custos_verify_signature (pub, alg, (const guint8 *) data, len,
                                          g_bytes_get_data (sig, NULL), g_bytes_get_size (sig),
                                          &error));
  g_assert_no_error (error);

  /* The CLI's signatures verify with ours. */
  if (pss)
    {
      const char *argv[] = { "openssl", "dgst", "-sha256", "-sign", key->key, "-out",
                             their_sig_path, "-sigopt", "rsa_padding_mode:pss",
                             "-sigopt", "rsa_pss_saltlen:32", data_path, NULL };
      g_bytes_unref (custos_test_run (argv, NULL));
    }
  else
    g_bytes_unref (custos_test_openssl ("dgst", "-sha256", "-sign", key->key, "-out", their_sig_path,
                            data_path, NULL));
  {
    g_autofree char *contents = NULL;
    gsize sig_len = 0;

    g_assert_true (g_file_get_contents (their_sig_path, &contents, &sig_len, NULL));
    their_sig = g_bytes_new (contents, sig_len);
  }
  g_assert_true (custos_verify_signature (pub, alg, (const guint8 *) data, len,
                                          g_bytes_get_data (their_sig, NULL),
                                          g_bytes_get_size (their_sig), &error));
  g_assert_no_error (error);

  /* A flipped bit, in the data or in the signature, does not verify. */
  data[3] ^= 0x01;
  g_assert_false (custos_verify_signature (pub, alg, (const guint8 *) data, len,
                                           g_bytes_get_data (sig, NULL), g_bytes_get_size (sig),
                                           &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  data[3] ^= 0x01;

  bad = g_memdup2 (g_bytes_get_data (their_sig, NULL), g_bytes_get_size (their_sig));
  bad[g_bytes_get_size (their_sig) - 1] ^= 0x01;
  g_assert_false (custos_verify_signature (pub, alg, (const guint8 *) data, len, bad,
                                           g_bytes_get_size (their_sig), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* The algorithm has to match the key. */
  g_assert_false (custos_verify_signature (pub, pss ? CUSTOS_SIG_ECDSA_P256_SHA256
                                                    : CUSTOS_SIG_RSA_PSS_SHA256,
                                           (const guint8 *) data, len,
                                           g_bytes_get_data (sig, NULL), g_bytes_get_size (sig),
                                           &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
}

static void
test_sign_ecdsa (void)
{
  check_signatures ("ec:P-256", "p256", CUSTOS_SIG_ECDSA_P256_SHA256);
}

static void
test_sign_rsa_pss (void)
{
  const TestKey *key = test_key ("rsa:2048", "rsa2048");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);
  g_autoptr (GBytes) sig = NULL;
  g_autofree char *sig_path = NULL;
  g_autofree char *data_path = custos_test_write_file ("salt.txt", "salt", 4);
  const char *argv[] = { "openssl", "dgst", "-sha256", "-verify", key->pub, "-signature", NULL,
                         "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20",
                         data_path, NULL };

  check_signatures ("rsa:2048", "rsa2048", CUSTOS_SIG_RSA_PSS_SHA256);

  /* The salt really is 32 bytes: the CLI rejects it as a 20-byte salt. */
  sig = custos_sign (priv, (const guint8 *) "salt", 4, NULL, &error);
  g_assert_no_error (error);
  sig_path = write_bytes ("salt.sig", sig);
  argv[6] = sig_path;
  g_assert_false (custos_test_try_run (argv, NULL, NULL, NULL));
}

static void
test_sign_unsupported (void)
{
  const TestKey *key = test_key ("ec:P-384", "p384");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) priv = load_private_key (key->key);

  g_assert_null (custos_sign (priv, (const guint8 *) "x", 1, NULL, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED);
}

/* Wrong keys and damaged blobs */

static void
test_unwrap_wrong_key (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) rsa_pub = load_public_key (test_key ("rsa:2048", "rsa2048")->pub);
  g_autoptr (EVP_PKEY) rsa_other = load_private_key (test_key ("rsa:2048", "rsa2048-other")->key);
  g_autoptr (EVP_PKEY) ec_pub = load_public_key (test_key ("ec:P-256", "p256")->pub);
  g_autoptr (EVP_PKEY) ec_other = load_private_key (test_key ("ec:P-256", "p256-other")->key);
  g_autoptr (EVP_PKEY) p384 = load_private_key (test_key ("ec:P-384", "p384")->key);
  g_autoptr (CustosSecret) kek = random_kek ();
  g_autoptr (GBytes) rsa_blob = NULL;
  g_autoptr (GBytes) ec_blob = NULL;
  const guint8 *id = test_recipient_id ();

  rsa_blob = custos_wrap_kek (rsa_pub, CUSTOS_WRAP_RSA_OAEP_SHA256, id, 1, kek, &error);
  g_assert_no_error (error);
  ec_blob = custos_wrap_kek (ec_pub, CUSTOS_WRAP_ECDH_ES_P256, id, 1, kek, &error);
  g_assert_no_error (error);

  g_assert_null (custos_unwrap_kek (rsa_other, CUSTOS_WRAP_RSA_OAEP_SHA256, id, 1,
                                    g_bytes_get_data (rsa_blob, NULL),
                                    g_bytes_get_size (rsa_blob), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "RSA-OAEP-SHA256"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  g_assert_null (custos_unwrap_kek (ec_other, CUSTOS_WRAP_ECDH_ES_P256, id, 1,
                                    g_bytes_get_data (ec_blob, NULL),
                                    g_bytes_get_size (ec_blob), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "ECDH-ES-P256"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* A key of the wrong type or curve. */
  g_assert_null (custos_unwrap_kek (rsa_other, CUSTOS_WRAP_ECDH_ES_P256, id, 1,
                                    g_bytes_get_data (ec_blob, NULL),
                                    g_bytes_get_size (ec_blob), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  g_clear_error (&error);
  g_assert_null (custos_unwrap_kek (p384, CUSTOS_WRAP_ECDH_ES_P256, id, 1,
                                    g_bytes_get_data (ec_blob, NULL),
                                    g_bytes_get_size (ec_blob), &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  g_assert_nonnull (strstr (error->message, "P-256"));
  g_clear_error (&error);
  g_assert_null (custos_wrap_kek (ec_pub, CUSTOS_WRAP_RSA_OAEP_SHA256, id, 1, kek, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  g_clear_error (&error);

  /* Truncated blobs, and a point that is not on the curve. */
  g_assert_null (custos_unwrap_kek (rsa_other, CUSTOS_WRAP_RSA_OAEP_SHA256, id, 1,
                                    g_bytes_get_data (rsa_blob, NULL),
                                    g_bytes_get_size (rsa_blob) - 1, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  g_clear_error (&error);
  g_assert_null (custos_unwrap_kek (ec_other, CUSTOS_WRAP_ECDH_ES_P256, id, 1,
                                    g_bytes_get_data (ec_blob, NULL),
                                    g_bytes_get_size (ec_blob) - 8, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  g_clear_error (&error);
  {
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (ec_blob, NULL),
                                        g_bytes_get_size (ec_blob));

    bad[40] ^= 0x01;
    g_assert_null (custos_unwrap_kek (ec_other, CUSTOS_WRAP_ECDH_ES_P256, id, 1, bad,
                                      g_bytes_get_size (ec_blob), &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }

  /* Writers refuse RSA keys below 2048 bits. */
  {
    g_autoptr (EVP_PKEY) small = load_public_key (test_key ("rsa:1024", "rsa1024")->pub);

    g_assert_null (custos_wrap_kek (small, CUSTOS_WRAP_RSA_OAEP_SHA256, id, 1, kek, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
    g_assert_nonnull (strstr (error->message, "1024"));
    g_clear_error (&error);
  }

  /* Only 16-byte KEKs are wrapped. */
  {
    g_autoptr (CustosSecret) long_kek = custos_secret_new (32);

    g_assert_null (custos_wrap_kek (ec_pub, CUSTOS_WRAP_ECDH_ES_P256, id, 1, long_kek, &error));
    g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY);
  }
}

/* Private key files */

static void
assert_same_key (EVP_PKEY   *loaded,
                 const char *pub_path)
{
  g_autoptr (EVP_PKEY) pub = load_public_key (pub_path);

  g_assert_cmpint (EVP_PKEY_eq (loaded, pub), ==, 1);
}

static void
test_key_load (void)
{
  const TestKey *rsa = test_key ("rsa:2048", "rsa2048");
  const TestKey *ec = test_key ("ec:P-256", "p256");
  const char *dir = custos_test_tmpdir ();
  g_autofree char *enc = g_build_filename (dir, "enc.pem", NULL);
  g_autofree char *trad = g_build_filename (dir, "trad.pem", NULL);
  g_autofree char *p12 = g_build_filename (dir, "key.p12", NULL);
  g_autofree char *enc_der = g_build_filename (dir, "enc.der", NULL);
  g_autofree char *plain_der = g_build_filename (dir, "plain.der", NULL);
  g_autofree char *combined = g_build_filename (dir, "combined.pem", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.pem", NULL);
  g_autoptr (GError) error = NULL;
  EVP_PKEY *pkey;

  g_bytes_unref (custos_test_openssl ("pkey", "-in", ec->key, "-aes256", "-passout", "pass:s3cret",
                          "-out", enc, NULL));
  g_bytes_unref (custos_test_openssl ("rsa", "-in", rsa->key, "-traditional", "-aes256", "-passout",
                          "pass:s3cret", "-out", trad, NULL));
  g_bytes_unref (custos_test_openssl ("pkcs12", "-export", "-in", rsa->cert, "-inkey", rsa->key,
                          "-passout", "pass:s3cret", "-out", p12, NULL));
  g_bytes_unref (custos_test_openssl ("pkcs8", "-topk8", "-in", ec->key, "-outform", "DER", "-v2", "aes256",
                          "-passout", "pass:s3cret", "-out", enc_der, NULL));
  g_bytes_unref (custos_test_openssl ("pkey", "-in", rsa->key, "-outform", "DER", "-out", plain_der, NULL));
  {
    g_autofree char *cert = NULL;
    g_autofree char *key = NULL;
    g_autofree char *both = NULL;

    g_assert_true (g_file_get_contents (ec->cert, &cert, NULL, NULL));
    g_assert_true (g_file_get_contents (ec->key, &key, NULL, NULL));
    both = g_strconcat (cert, key, NULL);
    g_assert_true (g_file_set_contents (combined, both, -1, NULL));
  }

  /* Plain PEM, with or without a certificate in front. */
  pkey = custos_private_key_load (ec->key, NULL, &error);
  g_assert_no_error (error);
  assert_same_key (pkey, ec->pub);
  EVP_PKEY_free (pkey);
  pkey = custos_private_key_load (combined, "ignored", &error);
  g_assert_no_error (error);
  assert_same_key (pkey, ec->pub);
  EVP_PKEY_free (pkey);

  /* Encrypted PKCS#8, encrypted traditional PEM and PKCS#12. */
  pkey = custos_private_key_load (enc, "s3cret", &error);
  g_assert_no_error (error);
  assert_same_key (pkey, ec->pub);
  EVP_PKEY_free (pkey);
  pkey = custos_private_key_load (trad, "s3cret", &error);
  g_assert_no_error (error);
  assert_same_key (pkey, rsa->pub);
  EVP_PKEY_free (pkey);
  pkey = custos_private_key_load (p12, "s3cret", &error);
  g_assert_no_error (error);
  assert_same_key (pkey, rsa->pub);
  EVP_PKEY_free (pkey);

  /* DER, plain and encrypted PKCS#8. */
  pkey = custos_private_key_load (plain_der, NULL, &error);
  g_assert_no_error (error);
  assert_same_key (pkey, rsa->pub);
  EVP_PKEY_free (pkey);
  pkey = custos_private_key_load (enc_der, "s3cret", &error);
  g_assert_no_error (error);
  assert_same_key (pkey, ec->pub);
  EVP_PKEY_free (pkey);

  /* Wrong and missing passphrases are told apart from broken files. */
  {
    const char *encrypted[] = { enc, trad, p12, enc_der };

    for (guint i = 0; i < G_N_ELEMENTS (encrypted); i++)
      {
        g_assert_null (custos_private_key_load (encrypted[i], "wrong", &error));
        g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE);
        g_assert_nonnull (strstr (error->message, "wrong passphrase"));
        g_assert_nonnull (strstr (error->message, encrypted[i]));
        g_clear_error (&error);

        g_assert_null (custos_private_key_load (encrypted[i], NULL, &error));
        g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE);
        g_assert_nonnull (strstr (error->message, "needs a passphrase"));
        g_clear_error (&error);
      }
  }

  g_assert_null (custos_private_key_load (missing, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (custos_private_key_load (ec->cert, NULL, &error));
  g_assert_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
}

/* CustosSecret */

static void
test_secret_live_count (void)
{
  guint baseline = custos_secret_get_live_count ();
  g_autoptr (GError) error = NULL;
  CustosSecret *secrets[50];
  CustosSecret *copy;

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      secrets[i] = custos_secret_new_random (16 + i, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + G_N_ELEMENTS (secrets));

  /* Refs keep the secret alive; the boxed copy is a ref. */
  copy = g_boxed_copy (CUSTOS_TYPE_SECRET, secrets[0]);
  g_assert_true (copy == secrets[0]);
  custos_secret_ref (secrets[1]);
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    custos_secret_unref (secrets[i]);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 2);
  g_assert_cmpuint (custos_secret_get_len (copy), ==, 16);

  g_boxed_free (CUSTOS_TYPE_SECRET, copy);
  custos_secret_unref (secrets[1]);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);

  /* Operations that make temporaries release them all. */
  {
    g_autoptr (CustosSecret) kek = random_kek ();
    g_autoptr (CustosSecret) key = random_kek ();
    g_autoptr (GBytes) wrapped = custos_kwp_wrap (kek, key, &error);
    g_autoptr (CustosSecret) back = custos_kwp_unwrap (kek, g_bytes_get_data (wrapped, NULL),
                                                       g_bytes_get_size (wrapped), &error);

    g_assert_no_error (error);
    g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline + 3);
  }
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static void
test_secret_equal (void)
{
  g_autoptr (CustosSecret) a = secret_from_hex ("00112233");
  g_autoptr (CustosSecret) b = secret_from_hex ("00112233");
  g_autoptr (CustosSecret) c = secret_from_hex ("00112234");
  g_autoptr (CustosSecret) d = secret_from_hex ("001122");
  g_autoptr (CustosSecret) zero = custos_secret_new (8);

  g_assert_true (custos_secret_equal (a, b));
  g_assert_false (custos_secret_equal (a, c));
  g_assert_false (custos_secret_equal (a, d));
  g_assert_false (custos_secret_equal (a, NULL));
  g_assert_true (all_zero (custos_secret_peek (zero), 8));
  g_assert_true (G_TYPE_IS_BOXED (CUSTOS_TYPE_SECRET));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/crypto/gcm/vectors", test_gcm_vectors);
  g_test_add_func ("/crypto/gcm/tamper", test_gcm_tamper);
  g_test_add_func ("/crypto/gcm/bad-key", test_gcm_bad_key);
  g_test_add_func ("/crypto/kwp/rfc5649", test_kwp_vectors);
  g_test_add_func ("/crypto/kwp/tamper", test_kwp_tamper);
  g_test_add_func ("/crypto/hkdf/rfc5869", test_hkdf_vector);
  g_test_add_func ("/crypto/rsa-oaep/to-openssl", test_rsa_oaep_to_openssl);
  g_test_add_func ("/crypto/rsa-oaep/from-openssl", test_rsa_oaep_from_openssl);
  g_test_add_func ("/crypto/rsa-oaep/unpad", test_rsa_oaep_unpad);
  g_test_add_func ("/crypto/ecdh-es/p256", test_ecdh_es_p256);
  g_test_add_func ("/crypto/ecdh-es/p384", test_ecdh_es_p384);
  g_test_add_func ("/crypto/rsa-pkcs1", test_rsa_pkcs1);
  g_test_add_func ("/crypto/sign/ecdsa-p256", test_sign_ecdsa);
  g_test_add_func ("/crypto/sign/rsa-pss", test_sign_rsa_pss);
  g_test_add_func ("/crypto/sign/unsupported", test_sign_unsupported);
  g_test_add_func ("/crypto/unwrap/wrong-key", test_unwrap_wrong_key);
  g_test_add_func ("/crypto/key-load", test_key_load);
  g_test_add_func ("/crypto/secret/live-count", test_secret_live_count);
  g_test_add_func ("/crypto/secret/equal", test_secret_equal);

  return g_test_run ();
}
