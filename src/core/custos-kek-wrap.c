/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Wrapping a KEK to a recipient: RSA-OAEP, ECDH-ES with HKDF and AES-KWP, legacy PKCS#1 v1.5; OAEP decoding for tokens. */
#define G_LOG_DOMAIN "custos-crypto"

#include "config.h"

#include <gio/gio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

#include "custos-crypto-private.h"
#include "custos-i18n-private.h"

static void
write_be32 (guint8  *out,
            guint32  value)
{
  out[0] = value >> 24;
  out[1] = value >> 16;
  out[2] = value >> 8;
  out[3] = value;
}

/* RSA key wrap */

static EVP_PKEY_CTX *
rsa_ctx_new (EVP_PKEY       *pkey,
             CustosWrapAlg   alg,
             gboolean        encrypt,
             GError        **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = NULL;
  gboolean oaep = alg == CUSTOS_WRAP_RSA_OAEP_SHA256;
  OSSL_PARAM params[4];
  OSSL_PARAM *p = params;
  int ok;

  if (!EVP_PKEY_is_a (pkey, "RSA"))
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   _ ("%s needs an RSA key, found %s"), custos_wrap_alg_to_string (alg),
                   EVP_PKEY_get0_type_name (pkey));
      return NULL;
    }

  *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_PAD_MODE,
                                           oaep ? (char *) OSSL_PKEY_RSA_PAD_MODE_OAEP
                                                : (char *) OSSL_PKEY_RSA_PAD_MODE_PKCSV15, 0);
  if (oaep)
    {
      *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
                                               (char *) "SHA256", 0);
      *p++ = OSSL_PARAM_construct_utf8_string (OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                                               (char *) "SHA256", 0);
    }
  *p = OSSL_PARAM_construct_end ();

  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, pkey, NULL);
  if (ctx == NULL)
    ok = 0;
  else if (encrypt)
    ok = EVP_PKEY_encrypt_init_ex (ctx, params);
  else
    ok = EVP_PKEY_decrypt_init_ex (ctx, params);
  if (ok <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_BAD_KEY, _ ("Cannot set up %s"),
                         custos_wrap_alg_to_string (alg));
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

static GBytes *
rsa_wrap (EVP_PKEY            *pkey,
          CustosWrapAlg        alg,
          const CustosSecret  *kek,
          GError             **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = rsa_ctx_new (pkey, alg, TRUE, error);
  g_autofree guint8 *out = NULL;
  size_t outlen = 0;

  if (ctx == NULL)
    return NULL;
  /* The format forbids writers to use small RSA keys (§5.4); readers
   * still open what was written. */
  if (EVP_PKEY_get_bits (pkey) < RSA_MIN_BITS)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   _ ("%s: the recipient's RSA key has %d bits, at least %d are required"),
                   custos_wrap_alg_to_string (alg), EVP_PKEY_get_bits (pkey), RSA_MIN_BITS);
      return NULL;
    }
  if (EVP_PKEY_encrypt (ctx, NULL, &outlen, custos_secret_peek (kek),
                        custos_secret_get_len (kek)) <= 0)
    goto fail;
  out = g_malloc (outlen);
  if (EVP_PKEY_encrypt (ctx, out, &outlen, custos_secret_peek (kek),
                        custos_secret_get_len (kek)) <= 0)
    goto fail;
  return g_bytes_new_take (g_steal_pointer (&out), outlen);

fail:
  custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED, _ ("%s wrap failed"),
                            custos_wrap_alg_to_string (alg));
  return NULL;
}

static CustosSecret *
rsa_unwrap (EVP_PKEY      *pkey,
            CustosWrapAlg  alg,
            const guint8  *wrapped,
            gsize          wrapped_len,
            GError       **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = rsa_ctx_new (pkey, alg, FALSE, error);
  g_autoptr (CustosSecret) out = NULL;
  gsize modulus_len;
  size_t outlen;

  if (ctx == NULL)
    return NULL;

  modulus_len = EVP_PKEY_get_size (pkey);
  if (wrapped_len != modulus_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("%s: the wrapped KEK is %zu bytes, expected %zu"
                      " for a %d-bit key"),
                   custos_wrap_alg_to_string (alg), wrapped_len, modulus_len,
                   EVP_PKEY_get_bits (pkey));
      return NULL;
    }

  out = custos_secret_new (modulus_len);
  outlen = modulus_len;
  if (EVP_PKEY_decrypt (ctx, custos_secret_get_data (out), &outlen, wrapped, wrapped_len) <= 0)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                                _ ("%s unwrap failed: padding check failed (wrong private key or "
                                   "corrupted blob)"),
                                custos_wrap_alg_to_string (alg));
      return NULL;
    }
  /* OpenSSL 3.2+ answers a bad PKCS#1 v1.5 padding with a random
   * message instead of an error (implicit rejection, against Bleichenbacher
   * oracles); it is almost never 16 bytes, and a wrong KEK still fails at
   * the KWP integrity check of the KEY records. */
  if (outlen != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
                   _ ("%s unwrap gave %zu bytes, expected a %d-byte KEK "
                      "(wrong private key or corrupted blob)"),
                   custos_wrap_alg_to_string (alg), (gsize) outlen, CUSTOS_AES_KEY_LEN);
      return NULL;
    }
  return custos_secret_new_copy (custos_secret_peek (out), outlen);
}

/* ECDH-ES key wrap */

typedef struct
{
  CustosWrapAlg  alg;
  int            nid;
  const char    *group;
  gsize          point_len; /* uncompressed: 0x04 || X || Y */
  gsize          z_len;
} EcdhCurve;

static const EcdhCurve ecdh_curves[] = {
  { CUSTOS_WRAP_ECDH_ES_P256, NID_X9_62_prime256v1, "P-256", 65, 32 },
  { CUSTOS_WRAP_ECDH_ES_P384, NID_secp384r1, "P-384", 97, 48 },
};

static const EcdhCurve *
ecdh_curve_for_alg (CustosWrapAlg alg)
{
  for (guint i = 0; i < G_N_ELEMENTS (ecdh_curves); i++)
    if (ecdh_curves[i].alg == alg)
      return &ecdh_curves[i];
  return NULL;
}

/* The curve of an EC key as a NID, NID_undef for anything else. OpenSSL
 * reports "prime256v1" for P-256, so both naming schemes are tried. */
int
custos_crypto_ec_curve_nid (EVP_PKEY *pkey,
                            char     *name,
                            gsize     name_size)
{
  size_t len = 0;
  int nid;

  if (!EVP_PKEY_is_a (pkey, "EC") ||
      !EVP_PKEY_get_utf8_string_param (pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, name_size, &len))
    {
      const char *type = EVP_PKEY_get0_type_name (pkey);

      g_strlcpy (name, type != NULL ? type : "unknown", name_size);
      ERR_clear_error ();
      return NID_undef;
    }
  nid = OBJ_sn2nid (name);
  if (nid == NID_undef)
    nid = EC_curve_nist2nid (name);
  return nid;
}

static gboolean
check_ec_key (EVP_PKEY         *pkey,
              const EcdhCurve  *curve,
              GError          **error)
{
  char name[64];

  if (custos_crypto_ec_curve_nid (pkey, name, sizeof name) == curve->nid)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               _ ("%s needs an EC %s key, found %s%s"), custos_wrap_alg_to_string (curve->alg),
               curve->group, EVP_PKEY_is_a (pkey, "EC") ? "EC " : "", name);
  return FALSE;
}

static CustosSecret *
ecdh_derive (const EcdhCurve  *curve,
             EVP_PKEY         *private_key,
             EVP_PKEY         *peer,
             GError          **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_pkey (NULL, private_key, NULL);
  g_autoptr (CustosSecret) z = custos_secret_new (curve->z_len);
  size_t z_len = curve->z_len;

  /* set_peer also validates the peer's point against the curve. */
  if (ctx == NULL ||
      EVP_PKEY_derive_init (ctx) <= 0 ||
      EVP_PKEY_derive_set_peer (ctx, peer) <= 0 ||
      EVP_PKEY_derive (ctx, custos_secret_get_data (z), &z_len) <= 0 ||
      z_len != curve->z_len)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("%s: ECDH key agreement failed"),
                                custos_wrap_alg_to_string (curve->alg));
      return NULL;
    }
  return g_steal_pointer (&z);
}

static CustosSecret *
ecdh_kwk (const CustosSecret  *z,
          const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
          guint32              epoch,
          GError             **error)
{
  guint8 info[KEK_INFO_LEN];

  memcpy (info, KEK_INFO_LABEL, KEK_INFO_LABEL_LEN);
  write_be32 (info + KEK_INFO_LABEL_LEN, epoch);
  return custos_hkdf_sha256 (z, recipient_id, CUSTOS_RECIPIENT_ID_LEN, info, sizeof info,
                             CUSTOS_AES_KEY_LEN, error);
}

static EVP_PKEY *
ec_public_from_point (const EcdhCurve  *curve,
                      const guint8     *point,
                      GError          **error)
{
  g_autoptr (EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM params[3];

  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_PKEY_PARAM_GROUP_NAME,
                                                (char *) curve->group, 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PUB_KEY, (void *) point,
                                                 curve->point_len);
  params[2] = OSSL_PARAM_construct_end ();

  if (point[0] != 0x04 ||
      ctx == NULL ||
      EVP_PKEY_fromdata_init (ctx) <= 0 ||
      EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
      custos_set_openssl_error (
          error, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
          _ ("%s: the ephemeral key in the wrapped KEK is not an uncompressed "
             "%s point"),
          custos_wrap_alg_to_string (curve->alg), curve->group);
      return NULL;
    }
  return pkey;
}

static gboolean
check_ecdh_wrapped_len (const EcdhCurve  *curve,
                        gsize             wrapped_len,
                        GError          **error)
{
  if (wrapped_len == curve->point_len + CUSTOS_KWP_WRAPPED_LEN)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
               _ ("%s: the wrapped KEK is %zu bytes, expected %zu"
                  " (a %zu-byte point and a %d-byte AES-KWP block)"),
               custos_wrap_alg_to_string (curve->alg), wrapped_len,
               curve->point_len + CUSTOS_KWP_WRAPPED_LEN, curve->point_len, CUSTOS_KWP_WRAPPED_LEN);
  return FALSE;
}

static GBytes *
ecdh_es_wrap (EVP_PKEY            *recipient_public,
              const EcdhCurve     *curve,
              const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
              guint32              epoch,
              const CustosSecret  *kek,
              GError             **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (CustosSecret) z = NULL;
  g_autoptr (CustosSecret) kwk = NULL;
  g_autoptr (GBytes) kwp = NULL;
  guint8 point[128];
  size_t point_len = 0;
  GByteArray *out;

  if (!check_ec_key (recipient_public, curve, error))
    return NULL;

  ephemeral = EVP_PKEY_Q_keygen (NULL, NULL, "EC", curve->group);
  if (ephemeral == NULL ||
      !EVP_PKEY_get_octet_string_param (ephemeral, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        point, sizeof point, &point_len) ||
      point_len != curve->point_len || point[0] != 0x04)
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("%s: cannot make an ephemeral %s key"),
                                custos_wrap_alg_to_string (curve->alg), curve->group);
      return NULL;
    }

  if ((z = ecdh_derive (curve, ephemeral, recipient_public, error)) == NULL ||
      (kwk = ecdh_kwk (z, recipient_id, epoch, error)) == NULL ||
      (kwp = custos_kwp_wrap (kwk, kek, error)) == NULL)
    return NULL;
  g_assert (g_bytes_get_size (kwp) == CUSTOS_KWP_WRAPPED_LEN);

  out = g_byte_array_sized_new (point_len + CUSTOS_KWP_WRAPPED_LEN);
  g_byte_array_append (out, point, point_len);
  g_byte_array_append (out, g_bytes_get_data (kwp, NULL), CUSTOS_KWP_WRAPPED_LEN);
  return g_byte_array_free_to_bytes (out);
}

static CustosSecret *
ecdh_es_unwrap (EVP_PKEY         *recipient_private,
                const EcdhCurve  *curve,
                const guint8      recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                guint32           epoch,
                const guint8     *wrapped,
                gsize             wrapped_len,
                GError          **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (CustosSecret) z = NULL;

  if (!check_ec_key (recipient_private, curve, error) ||
      !check_ecdh_wrapped_len (curve, wrapped_len, error))
    return NULL;

  if ((ephemeral = ec_public_from_point (curve, wrapped, error)) == NULL ||
      (z = ecdh_derive (curve, recipient_private, ephemeral, error)) == NULL)
    return NULL;

  return custos_ecdh_es_unwrap_with_secret (curve->alg, z, recipient_id, epoch, wrapped,
                                            wrapped_len, error);
}

gsize
custos_ecdh_es_point_len (CustosWrapAlg alg)
{
  const EcdhCurve *curve = ecdh_curve_for_alg (alg);

  return curve != NULL ? curve->point_len : 0;
}

CustosSecret *
custos_ecdh_es_unwrap_with_secret (CustosWrapAlg        alg,
                                   const CustosSecret  *shared_secret,
                                   const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                   guint32              epoch,
                                   const guint8        *wrapped,
                                   gsize                wrapped_len,
                                   GError             **error)
{
  const EcdhCurve *curve = ecdh_curve_for_alg (alg);
  g_autoptr (CustosSecret) kwk = NULL;
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (shared_secret != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL || wrapped_len == 0, NULL);

  if (curve == NULL)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   _ ("%s (%d) is not an ECDH-ES algorithm"), custos_wrap_alg_to_string (alg), alg);
      return NULL;
    }
  if (!check_ecdh_wrapped_len (curve, wrapped_len, error))
    return NULL;
  if (custos_secret_get_len (shared_secret) != curve->z_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                   _ ("%s: the shared secret is %zu bytes, expected %zu"),
                   custos_wrap_alg_to_string (alg), custos_secret_get_len (shared_secret), curve->z_len);
      return NULL;
    }

  if ((kwk = ecdh_kwk (shared_secret, recipient_id, epoch, error)) == NULL)
    return NULL;
  kek = custos_kwp_unwrap (kwk, wrapped + curve->point_len, CUSTOS_KWP_WRAPPED_LEN, &local_error);
  if (kek == NULL)
    {
      /* Say which step failed: a KWP failure here means the shared
       * secret, the recipient id or the epoch does not match. */
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s unwrap failed (wrong private key, recipient or epoch, "
                                  "or corrupted blob): ", custos_wrap_alg_to_string (alg));
      return NULL;
    }
  if (custos_secret_get_len (kek) != CUSTOS_AES_KEY_LEN)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("%s: the unwrapped KEK is %zu bytes, expected %d"),
                   custos_wrap_alg_to_string (alg), custos_secret_get_len (kek), CUSTOS_AES_KEY_LEN);
      return NULL;
    }
  return g_steal_pointer (&kek);
}

static gboolean
check_kek (const CustosSecret  *kek,
           CustosWrapAlg        alg,
           GError             **error)
{
  if (custos_secret_get_len (kek) == CUSTOS_AES_KEY_LEN)
    return TRUE;
  g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
               _ ("%s wraps a %d-byte KEK, got %zu bytes"), custos_wrap_alg_to_string (alg),
               CUSTOS_AES_KEY_LEN, custos_secret_get_len (kek));
  return FALSE;
}

GBytes *
custos_wrap_kek (EVP_PKEY            *recipient_public,
                 CustosWrapAlg        alg,
                 const guint8         recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                 guint32              epoch,
                 const CustosSecret  *kek,
                 GError             **error)
{
  const EcdhCurve *curve;

  g_return_val_if_fail (recipient_public != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (kek != NULL, NULL);

  if (!check_kek (kek, alg, error))
    return NULL;

  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return rsa_wrap (recipient_public, alg, kek, error);

    case CUSTOS_WRAP_ECDH_ES_P256:
    case CUSTOS_WRAP_ECDH_ES_P384:
      curve = ecdh_curve_for_alg (alg);
      return ecdh_es_wrap (recipient_public, curve, recipient_id, epoch, kek, error);

    default:
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   _ ("Unknown key wrap algorithm %d"), alg);
      return NULL;
    }
}

CustosSecret *
custos_unwrap_kek (EVP_PKEY      *recipient_private,
                   CustosWrapAlg  alg,
                   const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                   guint32        epoch,
                   const guint8  *wrapped,
                   gsize          wrapped_len,
                   GError       **error)
{
  const EcdhCurve *curve;

  g_return_val_if_fail (recipient_private != NULL, NULL);
  g_return_val_if_fail (recipient_id != NULL, NULL);
  g_return_val_if_fail (wrapped != NULL || wrapped_len == 0, NULL);

  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
    case CUSTOS_WRAP_RSA_PKCS1_V15:
      return rsa_unwrap (recipient_private, alg, wrapped, wrapped_len, error);

    case CUSTOS_WRAP_ECDH_ES_P256:
    case CUSTOS_WRAP_ECDH_ES_P384:
      curve = ecdh_curve_for_alg (alg);
      return ecdh_es_unwrap (recipient_private, curve, recipient_id, epoch, wrapped,
                             wrapped_len, error);

    default:
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                   _ ("Unknown key wrap algorithm %d"), alg);
      return NULL;
    }
}

/* RSAES-OAEP decoding (RFC 8017 §7.1.2) with SHA-256 and MGF1-SHA-256.
 * OpenSSL 3 has no public, non-deprecated way to decode a raw RSA result,
 * so it is done here. The checks avoid data-dependent branches until the
 * single pass/fail decision, so the error does not say which check failed
 * (Manger's attack). */

/* All ones if x == 0, else 0. */
static guint
ct_is_zero (guint x)
{
  return 0u - ((~x & (x - 1)) >> (sizeof (guint) * 8 - 1));
}

static guint
ct_eq (guint a,
       guint b)
{
  return ct_is_zero (a ^ b);
}

static guint
ct_select (guint mask,
           guint a,
           guint b)
{
  return (mask & a) | (~mask & b);
}

/* dst ^= MGF1-SHA256 (seed, dst_len) */
static gboolean
mgf1_sha256_xor (guint8       *dst,
                 gsize         dst_len,
                 const guint8 *seed,
                 gsize         seed_len)
{
  g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
  const EVP_MD *sha256 = custos_crypto_algorithms ()->sha256;
  guint8 digest[CUSTOS_SHA256_LEN];
  guint8 counter[4];
  gboolean ok = md != NULL && sha256 != NULL;

  for (guint32 i = 0; ok && (gsize) i * CUSTOS_SHA256_LEN < dst_len; i++)
    {
      gsize offset = (gsize) i * CUSTOS_SHA256_LEN;
      gsize n = MIN (CUSTOS_SHA256_LEN, dst_len - offset);

      write_be32 (counter, i);
      ok = EVP_DigestInit_ex2 (md, sha256, NULL) &&
           EVP_DigestUpdate (md, seed, seed_len) &&
           EVP_DigestUpdate (md, counter, sizeof counter) &&
           EVP_DigestFinal_ex (md, digest, NULL);
      for (gsize j = 0; ok && j < n; j++)
        dst[offset + j] ^= digest[j];
    }
  custos_memzero (digest, sizeof digest);
  return ok;
}

CustosSecret *
custos_rsa_oaep_sha256_unpad (const guint8  *block,
                              gsize          block_len,
                              gsize          modulus_len,
                              GError       **error)
{
  g_autoptr (CustosSecret) em = NULL;
  guint8 lhash[CUSTOS_SHA256_LEN];
  guint8 *seed, *db;
  gsize db_len;
  guint good, found = 0, msg_index = 0;

  g_return_val_if_fail (block != NULL || block_len == 0, NULL);

  if (modulus_len < 2 * OAEP_HASH_LEN + 2 || modulus_len > 2048 ||
      block_len == 0 || block_len > modulus_len)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_INPUT,
                   _ ("RSA-OAEP-SHA256: a %zu-byte block cannot be decoded for "
                      "a %zu-byte modulus"),
                   block_len, modulus_len);
      return NULL;
    }

  /* A token may strip the leading zero bytes of the integer; EM is the
   * full k-byte encoding. */
  em = custos_secret_new (modulus_len);
  memcpy (custos_secret_get_data (em) + modulus_len - block_len, block, block_len);
  seed = custos_secret_get_data (em) + 1;
  db = seed + OAEP_HASH_LEN;
  db_len = modulus_len - OAEP_HASH_LEN - 1;

  if (!mgf1_sha256_xor (seed, OAEP_HASH_LEN, db, db_len) ||
      !mgf1_sha256_xor (db, db_len, seed, OAEP_HASH_LEN))
    {
      custos_set_openssl_error (error, CUSTOS_CRYPTO_ERROR_FAILED,
                                _ ("RSA-OAEP-SHA256: MGF1 failed"));
      return NULL;
    }

  /* DB = lHash' || PS (zeros) || 0x01 || M, and Y (the first byte) is 0. */
  custos_sha256 (NULL, 0, lhash);
  good = ct_is_zero (custos_secret_peek (em)[0]);
  good &= ct_is_zero ((guint) CRYPTO_memcmp (db, lhash, OAEP_HASH_LEN));
  for (gsize i = OAEP_HASH_LEN; i < db_len; i++)
    {
      guint is_zero = ct_is_zero (db[i]);
      guint is_one = ct_eq (db[i], 1);

      msg_index = ct_select (~found & is_one, (guint) i + 1, msg_index);
      good &= found | is_zero | is_one;
      found |= is_one;
    }
  good &= found;

  if (!good)
    {
      g_set_error_literal (
          error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_AUTH_FAILED,
          _ ("RSA-OAEP-SHA256 decoding error (wrong private key or corrupted blob)"));
      return NULL;
    }
  return custos_secret_new_copy (db + msg_index, db_len - msg_index);
}

