/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-seal"

#include "config.h"

#include <string.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-seal.h"
#include "custos-seal-hasher.h"

#define SEAL_LABEL "custos-fusion-v1 seal"

/* The record digests, kept until the seal arrives: a reader learns the
 * segment number and the previous digest only from the seal itself. */
struct _CustosSealChain
{
  GByteArray       *digests; /* n × 32 bytes */
  GArray           *ranges;  /* CustosSealRange */
  guint             n;       /* records added, digested or not yet */
  CustosSealHasher *hasher;  /* NULL: digests are computed at once */
};

const char *
custos_verify_status_to_string (CustosVerifyStatus status)
{
  switch (status)
    {
    case CUSTOS_VERIFY_PENDING:  return "pending";
    case CUSTOS_VERIFY_VERIFIED: return "verified";
    case CUSTOS_VERIFY_UNSIGNED: return "not signed";
    case CUSTOS_VERIFY_MISSING:  return "missing";
    case CUSTOS_VERIFY_ALTERED:  return "altered";
    case CUSTOS_VERIFY_MATCHED:  return "matched";
    default:                     return "unknown";
    }
}

CustosSealChain *
custos_seal_chain_new (void)
{
  CustosSealChain *self = g_new0 (CustosSealChain, 1);

  self->digests = g_byte_array_new ();
  self->ranges = g_array_new (FALSE, FALSE, sizeof (CustosSealRange));
  return self;
}

void
custos_seal_chain_free (CustosSealChain *self)
{
  if (self == NULL)
    return;
  custos_seal_hasher_wait (self->hasher);
  g_byte_array_unref (self->digests);
  g_array_unref (self->ranges);
  g_free (self);
}

void
custos_seal_chain_add (CustosSealChain *self,
                       const guint8    *record,
                       gsize            len)
{
  guint8 d[CUSTOS_SHA256_LEN];

  self->n++;
  if (self->hasher != NULL)
    {
      custos_seal_hasher_push (self->hasher, record, len, self->digests);
      return;
    }
  custos_sha256 (record, len, d);
  g_byte_array_append (self->digests, d, sizeof d);
}

void
custos_seal_chain_set_hasher (CustosSealChain  *chain,
                              CustosSealHasher *hasher)
{
  custos_seal_hasher_wait (chain->hasher);
  chain->hasher = hasher;
}

void
custos_seal_chain_add_packet (CustosSealChain *self,
                              const guint8    *record,
                              gsize            len,
                              guint8           stream,
                              guint32          period,
                              guint32          counter)
{
  CustosSealRange range = { stream, period, counter, counter };

  custos_seal_chain_add (self, record, len);
  for (guint i = 0; i < self->ranges->len; i++)
    {
      CustosSealRange *r = &g_array_index (self->ranges, CustosSealRange, i);

      if (r->stream == stream && r->period == period)
        {
          r->first = MIN (r->first, counter);
          r->last = MAX (r->last, counter);
          return;
        }
    }
  g_array_append_val (self->ranges, range);
}

guint
custos_seal_chain_get_length (CustosSealChain *self)
{
  return self->n;
}

guint
custos_seal_chain_get_n_ranges (CustosSealChain *self)
{
  return self->ranges->len;
}

void
custos_seal_chain_get_digest (CustosSealChain *self,
                              guint32          segment,
                              const guint8     prev[CUSTOS_SHA256_LEN],
                              guint8           digest[CUSTOS_SHA256_LEN])
{
  guint8 seg[4] = { segment >> 24, (segment >> 16) & 0xff, (segment >> 8) & 0xff, segment & 0xff };
  EVP_MD_CTX *md;

  custos_seal_hasher_wait (self->hasher);
  md = EVP_MD_CTX_new ();
  if (md == NULL || !EVP_DigestInit_ex (md, EVP_sha256 (), NULL))
    g_error ("SHA-256 is not available");
  EVP_DigestUpdate (md, SEAL_LABEL, strlen (SEAL_LABEL));
  EVP_DigestUpdate (md, seg, sizeof seg);
  EVP_DigestUpdate (md, prev, CUSTOS_SHA256_LEN);
  EVP_DigestUpdate (md, self->digests->data, self->digests->len);
  EVP_DigestFinal_ex (md, digest, NULL);
  EVP_MD_CTX_free (md);
}

gboolean
custos_seal_chain_write (CustosSealChain *self,
                         GByteArray      *rec,
                         guint32          segment,
                         const guint8     prev[CUSTOS_SHA256_LEN],
                         const guint8     signer_id[CUSTOS_SHA256_LEN],
                         EVP_PKEY        *key,
                         gint64           start_us,
                         gint64           end_us,
                         GError         **error)
{
  g_autoptr (GBytes) sig = NULL;
  guint8 digest[CUSTOS_SHA256_LEN];
  CustosSigAlg alg = EVP_PKEY_is_a (key, "EC") ? CUSTOS_SIG_ECDSA_P256_SHA256
                                               : CUSTOS_SIG_RSA_PSS_SHA256;
  CustosSigAlg used;
  gsize start = custos_record_begin (rec, CUSTOS_RECORD_SEAL, 0);
  gsize body = rec->len;
  gsize sig_len;
  const guint8 *sig_data;

  custos_put_u32 (rec, segment);
  custos_put_bytes (rec, signer_id, CUSTOS_SHA256_LEN);
  custos_put_u8 (rec, alg);
  custos_put_u8 (rec, 0);
  custos_put_u64 (rec, start_us);
  custos_put_u64 (rec, end_us);
  custos_put_bytes (rec, prev, CUSTOS_SHA256_LEN);
  custos_put_u32 (rec, custos_seal_chain_get_length (self));
  custos_put_u8 (rec, MIN (self->ranges->len, CUSTOS_MAX_SEAL_RANGES));
  for (guint i = 0; i < MIN (self->ranges->len, CUSTOS_MAX_SEAL_RANGES); i++)
    custos_seal_range_append (rec, &g_array_index (self->ranges, CustosSealRange, i));
  custos_seal_chain_get_digest (self, segment, prev, digest);
  custos_put_bytes (rec, digest, sizeof digest);

  sig = custos_sign (key, rec->data + body, rec->len - body, &used, error);
  if (sig == NULL || used != alg)
    {
      if (sig != NULL)
        g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_UNSUPPORTED,
                     _ ("signing key gives %s, expected %s"), custos_sig_alg_to_string (used),
                     custos_sig_alg_to_string (alg));
      g_byte_array_set_size (rec, start);
      return FALSE;
    }
  sig_data = g_bytes_get_data (sig, &sig_len);
  custos_put_u16 (rec, sig_len);
  custos_put_bytes (rec, sig_data, sig_len);
  return custos_record_finish (rec, start, error);
}
