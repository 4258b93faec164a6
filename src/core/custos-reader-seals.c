/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader's segments: recomputing seals, naming missing and altered packets. */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-reader-private.h"

/* Seals */

void
custos_reader_segment_reset (CustosReader *self)
{
  g_clear_pointer (&self->chain, custos_seal_chain_free);
  g_array_set_size (self->seg, 0);
}

void
custos_reader_seg_add (CustosReader *self,
         const guint8 *rec,
         gsize         len,
         SegEntry     *e)
{
  if (!self->verify)
    return;
  if (self->chain == NULL)
    {
      self->chain = custos_seal_chain_new ();
      if (self->hasher == NULL)
        self->hasher = custos_seal_hasher_new ();
      if (self->hasher != NULL)
        custos_seal_chain_set_hasher (self->chain, self->hasher);
    }
  custos_seal_chain_add (self->chain, rec, len);
  g_array_append_val (self->seg, *e);
}

/* Verdicts are only collected for a seal func: nobody else asks. */
static void
add_verdict (CustosReader      *self,
             int                stream,
             guint32            period,
             guint32            counter,
             gint64             utc_us,
             guint64            offset,
             CustosVerifyStatus status)
{
  CustosSealVerdict v = { stream, period, counter, utc_us, offset, status };

  if (self->seal_func != NULL)
    g_array_append_val (self->verdicts, v);
}

/* Hands the verdicts collected since the last call to the seal func. */
static void
emit_result (CustosReader           *self,
             const CustosSealRecord *seal,
             guint64                 offset,
             const char             *problem)
{
  CustosSealResult result = { 0 };
  Signer *signer = NULL;

  if (self->seal_func == NULL)
    return;
  if (seal != NULL)
    {
      g_autoptr (GBytes) id = g_bytes_new (seal->signer_id, CUSTOS_SHA256_LEN);

      signer = g_hash_table_lookup (self->signers, id);
      result.sealed = TRUE;
      result.segment = seal->segment;
      result.offset = offset;
    }
  result.signer = signer ? signer->cert : NULL;
  result.signer_trusted = signer ? signer->trusted : FALSE;
  result.problem = problem;
  result.verdicts = (const CustosSealVerdict *) self->verdicts->data;
  result.n_verdicts = self->verdicts->len;
  self->seal_func (self, &result, self->seal_data);
  g_array_set_size (self->verdicts, 0);
}

static void
note_packet (CustosReader      *self,
             const SegEntry    *e,
             CustosVerifyStatus status,
             const char        *why)
{
  add_verdict (self, e->stream, e->period, e->counter, e->utc_us, e->offset, status);
  switch (status)
    {
    case CUSTOS_VERIFY_VERIFIED:
      self->report->verified++;
      return;
    case CUSTOS_VERIFY_MATCHED:
      self->report->matched++;
      return;
    case CUSTOS_VERIFY_UNSIGNED:
      self->report->unsigned_packets++;
      break;
    case CUSTOS_VERIFY_ALTERED:
      self->report->altered++;
      break;
    case CUSTOS_VERIFY_MISSING:
      self->report->missing++;
      break;
    case CUSTOS_VERIFY_PENDING:
    default:
      return;
    }
  if (e->stream < 0)
    custos_report_add (self->report, status == CUSTOS_VERIFY_ALTERED ? CUSTOS_ISSUE_ALTERED
                                                                     : CUSTOS_ISSUE_UNSIGNED,
                       e->offset, -1, 0, 0, G_MININT64,
                       _ ("descriptor at offset %" PRIu64 ": %s"), e->offset, why);
  else
    custos_report_add (self->report,
                       status == CUSTOS_VERIFY_ALTERED   ? CUSTOS_ISSUE_ALTERED
                       : status == CUSTOS_VERIFY_MISSING ? CUSTOS_ISSUE_MISSING
                                                         : CUSTOS_ISSUE_UNSIGNED,
                       e->offset, e->stream, e->period, e->counter, e->utc_us,
                       /* Translators: a packet of the recording, and what is wrong with it. */
                       _ ("stream %d period %u packet %u: %s"), e->stream, e->period, e->counter,
                       why);
}

void
custos_reader_finish_unsigned (CustosReader *self,
                         const char   *why)
{
  for (guint i = 0; i < self->seg->len; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);

      note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : CUSTOS_VERIFY_UNSIGNED,
                   e->gcm_failed ? _ ("failed authentication (GCM)") : why);
    }
  emit_result (self, NULL, 0, why);
  custos_reader_segment_reset (self);
}

static const char *
check_seal_signature (CustosReader           *self,
                      const CustosSealRecord *seal,
                      const guint8           *body,
                      CustosVerifyStatus     *status)
{
  g_autoptr (GBytes) id = g_bytes_new (seal->signer_id, CUSTOS_SHA256_LEN);
  Signer *signer = g_hash_table_lookup (self->signers, id);
  g_autoptr (GError) error = NULL;

  if (signer == NULL)
    {
      *status = CUSTOS_VERIFY_UNSIGNED;
      return _ ("sealed by an unknown signer (no signer certificate in the data)");
    }
  if (!custos_verify_signature (custos_certificate_get_public_key (signer->cert), seal->sig_alg,
                                body, seal->signed_len, seal->sig, seal->sig_len, &error))
    {
      *status = CUSTOS_VERIFY_ALTERED;
      return _ ("the seal's signature is invalid");
    }
  if (self->ca_file != NULL && !signer->trusted)
    {
      *status = CUSTOS_VERIFY_UNSIGNED;
      return signer->problem ? signer->problem : _ ("the signer is not trusted");
    }
  *status = CUSTOS_VERIFY_VERIFIED;
  return NULL;
}

/* FALSE when segments are missing before this one or it does not follow. */
static gboolean
check_continuity (CustosReader           *self,
                  const CustosSealRecord *seal,
                  guint64                 offset)
{
  if (!self->have_prev)
    return TRUE;
  if (seal->segment != self->prev_segment + 1)
    custos_report_add (self->report, CUSTOS_ISSUE_MISSING_SEGMENT, offset, -1, 0, 0, G_MININT64,
                       _ ("segments %u to %u are missing before offset %" PRIu64),
                       self->prev_segment + 1, seal->segment - 1, offset);
  else if (memcmp (seal->prev, self->prev_digest, CUSTOS_SHA256_LEN) != 0)
    custos_report_add (self->report, CUSTOS_ISSUE_MISSING_SEGMENT, offset, -1, 0, 0, G_MININT64,
                       _ ("segment %u does not follow the segment before it (replaced or spliced)"),
                       seal->segment);
  else
    return TRUE;
  return FALSE;
}

static gint64
packet_key (guint   stream,
            guint32 period,
            guint32 counter)
{
  return (gint64) ((guint64) stream << 56 | (guint64) period << 24 | counter);
}

static gboolean
in_ranges (const CustosSealRecord *seal,
           const SegEntry         *e)
{
  for (guint i = 0; i < seal->n_ranges; i++)
    {
      CustosSealRange r;

      custos_seal_record_get_range (seal, i, &r);
      if (r.stream == e->stream && r.period == e->period && e->counter >= r.first &&
          e->counter <= r.last)
        return TRUE;
    }
  return FALSE;
}

/* Names the sealed packets that never arrived; returns how many, or -1
 * when the seal's ranges cannot be right (more packets than it seals). */
static int
report_missing (CustosReader           *self,
                const CustosSealRecord *seal)
{
  g_autoptr (GHashTable) received = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GArray) keys = g_array_sized_new (FALSE, FALSE, sizeof (gint64), self->seg->len);
  guint64 claimed = 0;
  int missing = 0;

  for (guint i = 0; i < self->seg->len; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);
      gint64 k;

      if (e->stream < 0)
        continue;
      k = packet_key (e->stream, e->period, e->counter);
      g_array_append_val (keys, k);
    }
  for (guint i = 0; i < keys->len; i++)
    g_hash_table_add (received, &g_array_index (keys, gint64, i));

  for (guint i = 0; i < seal->n_ranges; i++)
    {
      CustosSealRange r;

      custos_seal_record_get_range (seal, i, &r);
      claimed += r.last >= r.first ? (guint64) r.last - r.first + 1 : G_MAXUINT32;
      if (claimed > seal->n)
        return -1;
      for (guint32 c = r.first; c <= r.last; c++)
        {
          gint64 k = packet_key (r.stream, r.period, c);

          if (g_hash_table_contains (received, &k))
            continue;
          missing++;
          self->report->missing++;
          add_verdict (self, r.stream, r.period, c, G_MININT64, 0, CUSTOS_VERIFY_MISSING);
          custos_report_add (self->report, CUSTOS_ISSUE_MISSING, 0, r.stream, r.period, c,
                             G_MININT64,
                             _ ("stream %u period %u packet %u: sealed in segment %u, "
                                "never received"),
                             r.stream, r.period, c, seal->segment);
        }
    }
  return missing;
}

/* The segment does not match its seal: name what can be named (missing,
 * failed GCM, packets the seal never listed); the rest is consistent but
 * unprovable, or, when nothing explains the mismatch, altered. */
static const char *
localise_failure (CustosReader           *self,
                  const CustosSealRecord *seal)
{
  int missing = report_missing (self, seal);
  guint named = MAX (missing, 0);
  g_autofree guint8 *status = g_malloc0 (MAX (self->seg->len, 1));

  for (guint i = 0; i < self->seg->len && missing >= 0; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);

      if (e->stream >= 0 && (e->gcm_failed || !in_ranges (seal, e)))
        {
          status[i] = CUSTOS_VERIFY_ALTERED;
          named++;
        }
    }
  for (guint i = 0; i < self->seg->len; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);

      if (status[i] == CUSTOS_VERIFY_ALTERED)
        note_packet (self, e, CUSTOS_VERIFY_ALTERED,
                     e->gcm_failed ? _ ("failed authentication (GCM)") : _ ("not in its seal"));
      else if (named > 0)
        note_packet (self, e, CUSTOS_VERIFY_MATCHED, NULL);
      else
        note_packet (self, e, CUSTOS_VERIFY_ALTERED,
                     missing < 0 ? _ ("its seal is inconsistent")
                                 : _ ("its segment differs from the seal (changed by a key holder, "
                                      "reordered, or a plaintext stream altered)"));
    }
  if (missing < 0)
    return _ ("the seal is inconsistent");
  if (missing > 0)
    return _ ("packets the seal lists never arrived");
  if (named > 0)
    return _ ("packets differ from what was sealed");
  return _ ("the segment differs from its seal");
}

void
custos_reader_handle_seal (CustosReader *self,
             const guint8 *body,
             gsize         len,
             guint64       offset)
{
  CustosSealRecord seal;
  g_autoptr (GError) error = NULL;
  CustosVerifyStatus sig_status;
  const char *why;
  const char *problem = NULL;
  gboolean continuous;
  guint8 digest[CUSTOS_SHA256_LEN];

  if (!self->verify)
    return;
  if (!custos_seal_record_parse (body, len, &seal, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_SEAL, offset, -1, 0, 0, G_MININT64,
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
      custos_reader_finish_unsigned (self, "its seal is unreadable");
      return;
    }
  self->report->segments++;
  continuous = check_continuity (self, &seal, offset);
  if (self->chain == NULL)
    self->chain = custos_seal_chain_new ();

  why = check_seal_signature (self, &seal, body, &sig_status);
  custos_seal_chain_get_digest (self->chain, seal.segment, seal.prev, digest);
  if (sig_status != CUSTOS_VERIFY_VERIFIED)
    {
      self->report->segments_failed++;
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_SEAL, offset, -1, 0, 0, G_MININT64,
                         _ ("segment %u: %s"), seal.segment, why);
      for (guint i = 0; i < self->seg->len; i++)
        {
          SegEntry *e = &g_array_index (self->seg, SegEntry, i);
          note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : sig_status, why);
        }
      problem = why;
    }
  else if (seal.n == self->seg->len && memcmp (digest, seal.digest, sizeof digest) == 0)
    {
      for (guint i = 0; i < self->seg->len; i++)
        {
          SegEntry *e = &g_array_index (self->seg, SegEntry, i);
          note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : CUSTOS_VERIFY_VERIFIED,
                       _ ("failed authentication (GCM)"));
          if (e->gcm_failed)
            problem = "a packet failed authentication (GCM)";
        }
    }
  else
    {
      self->report->segments_failed++;
      problem = localise_failure (self, &seal);
    }
  if (problem == NULL && !continuous)
    problem = "segments are missing before this one, or it was spliced in";
  emit_result (self, &seal, offset, problem);
  self->have_prev = TRUE;
  self->prev_segment = seal.segment;
  memcpy (self->prev_digest, seal.digest, CUSTOS_SHA256_LEN);
  custos_reader_segment_reset (self);
}

