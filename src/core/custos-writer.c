/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-writer"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-record.h"
#include "custos-seal.h"
#include "custos-writer.h"

typedef struct
{
  guint32       epoch;
  CustosSecret *kek;
  GBytes       *record; /* its RECIPIENT record, repeated as is */
} Kek;

typedef struct
{
  CustosCertificate *cert;
  CustosWrapAlg      alg;
  guint32            first_period; /* keys from this period on */
  guint32            end_period;   /* none from this period on */
  Kek                keks[2];      /* the current epoch's and the next, announced early */
} Recipient;

typedef struct
{
  CustosStreamInfo info;
  gboolean         started;
  guint32          period;
  guint32          counter;
  gint64           last_dts;
  CustosSecret    *key;
  CustosAead      *aead;
  guint32          next_period;
  CustosSecret    *next_key;   /* announced before its period starts */
} Stream;

struct _CustosWriter
{
  GObject          parent_instance;

  GOutputStream   *output;
  guint64          offset;
  GByteArray      *rec;

  CustosFileHeader header;
  guint            seal_ms;
  guint            sync_ms;         /* 0: the key period */
  gboolean         indexed;
  gboolean         started;
  gboolean         closed;

  EVP_PKEY        *signer_key;
  GPtrArray       *signer_chain; /* GBytes DER */
  guint8           signer_id[CUSTOS_SHA256_LEN];

  GPtrArray       *streams;    /* Stream */
  GPtrArray       *recipients; /* Recipient */
  int              primary;    /* stream whose keyframes cut segments */
  guint32          max_period;

  CustosSealChain *chain;
  guint32          segment;
  guint8           prev[CUSTOS_SHA256_LEN];
  guint64          segment_offset;
  guint64          sync_offset;
  gint64           segment_start_us;
  gint64           last_sync_us;
  gint64           first_pts_us;
  gint64           last_pts_us;
  GArray          *index; /* CustosIndexEntry of the open segment */
  GArray          *toc;   /* CustosTocEntry */
};

G_DEFINE_FINAL_TYPE (CustosWriter, custos_writer, G_TYPE_OBJECT)

static void
kek_clear (Kek *k)
{
  g_clear_pointer (&k->kek, custos_secret_unref);
  g_clear_pointer (&k->record, g_bytes_unref);
}

static void
recipient_free (Recipient *r)
{
  g_clear_object (&r->cert);
  kek_clear (&r->keks[0]);
  kek_clear (&r->keks[1]);
  g_free (r);
}

static void
stream_drop_key (Stream *s)
{
  g_clear_pointer (&s->aead, custos_aead_free);
  g_clear_pointer (&s->key, custos_secret_unref);
}

static void
stream_drop_keys (Stream *s)
{
  stream_drop_key (s);
  g_clear_pointer (&s->next_key, custos_secret_unref);
}

static void
stream_free (Stream *s)
{
  stream_drop_keys (s);
  custos_stream_info_clear (&s->info);
  g_free (s);
}

static void
custos_writer_finalize (GObject *object)
{
  CustosWriter *self = CUSTOS_WRITER (object);

  g_clear_object (&self->output);
  g_clear_pointer (&self->rec, g_byte_array_unref);
  custos_file_header_clear (&self->header);
  g_clear_pointer (&self->signer_key, EVP_PKEY_free);
  g_clear_pointer (&self->signer_chain, g_ptr_array_unref);
  g_clear_pointer (&self->streams, g_ptr_array_unref);
  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  g_clear_pointer (&self->chain, custos_seal_chain_free);
  g_clear_pointer (&self->index, g_array_unref);
  g_clear_pointer (&self->toc, g_array_unref);

  G_OBJECT_CLASS (custos_writer_parent_class)->finalize (object);
}

static void
custos_writer_class_init (CustosWriterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_writer_finalize;
}

static void
custos_writer_init (CustosWriter *self)
{
  self->rec = g_byte_array_sized_new (64 * 1024);
  self->streams = g_ptr_array_new_with_free_func ((GDestroyNotify) stream_free);
  self->recipients = g_ptr_array_new_with_free_func ((GDestroyNotify) recipient_free);
  self->index = g_array_new (FALSE, FALSE, sizeof (CustosIndexEntry));
  self->toc = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));
  self->header.period_ms = CUSTOS_DEFAULT_PERIOD_MS;
  self->header.epoch_ms = CUSTOS_DEFAULT_EPOCH_MS;
  self->seal_ms = CUSTOS_DEFAULT_SEAL_MS;
  self->indexed = TRUE;
  self->primary = -1;
}

CustosWriter *
custos_writer_new (GOutputStream *output,
                   const char    *name)
{
  CustosWriter *self = g_object_new (CUSTOS_TYPE_WRITER, NULL);

  self->output = g_object_ref (output);
  self->header.name = g_strdup (name ? name : "");
  self->header.created_us = g_get_real_time ();
  custos_random_bytes (self->header.source_id, sizeof self->header.source_id, NULL);
  return self;
}

void
custos_writer_set_intervals (CustosWriter *self,
                             guint         period_ms,
                             guint         epoch_ms,
                             guint         seal_ms)
{
  g_return_if_fail (CUSTOS_IS_WRITER (self));
  g_return_if_fail (!self->started);
  g_return_if_fail (period_ms >= CUSTOS_MIN_PERIOD_MS && period_ms <= CUSTOS_MAX_PERIOD_MS);
  g_return_if_fail (epoch_ms >= period_ms && epoch_ms <= CUSTOS_MAX_EPOCH_MS &&
                    epoch_ms % period_ms == 0);

  self->header.period_ms = period_ms;
  self->header.epoch_ms = epoch_ms;
  self->seal_ms = seal_ms;
}

void
custos_writer_set_sync_interval (CustosWriter *self,
                                 guint         sync_ms)
{
  g_return_if_fail (CUSTOS_IS_WRITER (self));
  g_return_if_fail (!self->started);

  self->sync_ms = sync_ms;
}

void
custos_writer_set_indexed (CustosWriter *self,
                           gboolean      indexed)
{
  g_return_if_fail (CUSTOS_IS_WRITER (self));
  self->indexed = indexed;
}

guint64
custos_writer_get_offset (CustosWriter *self)
{
  return self->offset;
}

gboolean
custos_writer_set_signer (CustosWriter *self,
                          EVP_PKEY     *key,
                          GPtrArray    *chain,
                          GError      **error)
{
  CustosCertificate *leaf;

  g_return_val_if_fail (CUSTOS_IS_WRITER (self), FALSE);
  g_return_val_if_fail (chain != NULL && chain->len > 0, FALSE);

  leaf = chain->pdata[0];
  if (!custos_certificate_matches_key (leaf, key))
    {
      g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_KEY,
                           _ ("the signing key does not belong to the signing certificate"));
      return FALSE;
    }
  g_clear_pointer (&self->signer_key, EVP_PKEY_free);
  EVP_PKEY_up_ref (key);
  self->signer_key = key;
  g_clear_pointer (&self->signer_chain, g_ptr_array_unref);
  self->signer_chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < MIN (chain->len, CUSTOS_MAX_SIGNER_CERTS); i++)
    g_ptr_array_add (self->signer_chain, g_bytes_ref (custos_certificate_get_der (chain->pdata[i])));
  memcpy (self->signer_id, custos_certificate_get_fingerprint (leaf), CUSTOS_SHA256_LEN);
  return TRUE;
}

static Recipient *
find_recipient (CustosWriter      *self,
                CustosCertificate *cert)
{
  for (guint i = 0; i < self->recipients->len; i++)
    {
      Recipient *r = self->recipients->pdata[i];

      if (r->end_period == G_MAXUINT32 && custos_certificate_equal (r->cert, cert))
        return r;
    }
  return NULL;
}

/* Enrolment and revocation act from the next key period: the current
 * period key already encrypted earlier packets, so handing it to a new
 * recipient would open data from before its enrolment. */
static guint32
next_period (CustosWriter *self)
{
  return self->started ? self->max_period + 1 : 0;
}

gboolean
custos_writer_add_recipient (CustosWriter      *self,
                             CustosCertificate *cert,
                             gboolean           legacy,
                             GError           **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  Recipient *r;
  CustosWrapAlg alg;

  g_return_val_if_fail (CUSTOS_IS_WRITER (self), FALSE);
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (cert), FALSE);

  if (!custos_certificate_check_validity (cert, now, error) ||
      !custos_certificate_get_wrap_alg (cert, legacy, &alg, error))
    return FALSE;
  if (find_recipient (self, cert) != NULL)
    return TRUE;

  r = g_new0 (Recipient, 1);
  r->cert = g_object_ref (cert);
  r->alg = alg;
  r->first_period = next_period (self);
  r->end_period = G_MAXUINT32;
  g_ptr_array_add (self->recipients, r);
  return TRUE;
}

gboolean
custos_writer_remove_recipient (CustosWriter      *self,
                                CustosCertificate *cert)
{
  Recipient *r = find_recipient (self, cert);

  if (r == NULL)
    return FALSE;
  r->end_period = next_period (self);
  return TRUE;
}

int
custos_writer_add_stream (CustosWriter      *self,
                          CustosStreamKind   kind,
                          CustosStreamFlags  flags,
                          const char        *caps,
                          const char        *name,
                          gint64             utc_origin_us,
                          GError           **error)
{
  Stream *s;

  g_return_val_if_fail (CUSTOS_IS_WRITER (self), -1);

  if (self->started || self->streams->len >= CUSTOS_MAX_STREAMS)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_INVALID,
                   self->started ? _ ("streams must be added before the first packet")
                                 : _ ("a fusion stream holds at most 255 streams"));
      return -1;
    }
  s = g_new0 (Stream, 1);
  s->info.id = self->streams->len;
  s->info.kind = kind;
  s->info.flags = flags;
  s->info.utc_origin_us = utc_origin_us;
  s->info.caps = g_strdup (caps ? caps : "");
  s->info.name = g_strdup (name ? name : custos_stream_kind_to_string (kind));
  g_ptr_array_add (self->streams, s);
  if (self->primary < 0 && kind == CUSTOS_STREAM_KIND_VIDEO)
    self->primary = s->info.id;
  return s->info.id;
}

/* Output */

static gboolean
emit_record (CustosWriter *self,
             gboolean      sealed,
             GError      **error)
{
  if (!g_output_stream_write_all (self->output, self->rec->data, self->rec->len, NULL, NULL,
                                  error))
    return FALSE;
  if (sealed && self->chain != NULL)
    custos_seal_chain_add (self->chain, self->rec->data, self->rec->len);
  self->offset += self->rec->len;
  g_byte_array_set_size (self->rec, 0);
  return TRUE;
}

static gboolean
emit_packet (CustosWriter           *self,
             const CustosDataRecord *d,
             GError                **error)
{
  if (self->chain != NULL)
    custos_seal_chain_add_packet (self->chain, self->rec->data, self->rec->len, d->stream,
                                  d->period, d->counter);
  return emit_record (self, FALSE, error);
}

static gboolean
recipient_active (Recipient *r,
                  guint32    period)
{
  return period >= r->first_period && period < r->end_period;
}

static guint32
epoch_of (CustosWriter *self,
          guint32       period)
{
  return (guint32) ((guint64) period * self->header.period_ms / self->header.epoch_ms);
}

static gboolean
emit_bytes (CustosWriter *self,
            GBytes       *bytes,
            GError      **error)
{
  g_byte_array_append (self->rec, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return emit_record (self, FALSE, error);
}

/* A fresh KEK for (recipient, epoch), wrapped to its certificate. */
static gboolean
kek_create (CustosWriter *self,
            Recipient    *r,
            Kek          *k,
            guint32       epoch,
            GError      **error)
{
  CustosRecipientRecord rr = { 0 };
  gsize start;

  kek_clear (k);
  k->epoch = epoch;
  k->kek = custos_secret_new_random (CUSTOS_AES_KEY_LEN, error);
  if (k->kek == NULL)
    return FALSE;
  memcpy (rr.recipient_id, custos_certificate_get_fingerprint (r->cert), CUSTOS_RECIPIENT_ID_LEN);
  rr.epoch = epoch;
  rr.alg = r->alg;
  rr.wrapped = custos_wrap_kek (custos_certificate_get_public_key (r->cert), r->alg,
                                rr.recipient_id, epoch, k->kek, error);
  if (rr.wrapped == NULL)
    return FALSE;
  rr.label = custos_certificate_dup_subject (r->cert);
  start = custos_record_begin (self->rec, CUSTOS_RECORD_RECIPIENT, 0);
  custos_recipient_record_append (self->rec, &rr);
  custos_recipient_record_clear (&rr);
  if (!custos_record_finish (self->rec, start, error))
    return FALSE;
  k->record = g_bytes_new (self->rec->data, self->rec->len);
  return emit_record (self, FALSE, error);
}

/* The KEK of (recipient, epoch), made (and its RECIPIENT record written)
 * the first time; the older of the two slots makes room. */
static Kek *
recipient_kek (CustosWriter *self,
               Recipient    *r,
               guint32       epoch,
               GError      **error)
{
  Kek *slot = &r->keks[0];

  for (guint i = 0; i < G_N_ELEMENTS (r->keks); i++)
    if (r->keks[i].kek != NULL && r->keks[i].epoch == epoch)
      return &r->keks[i];
  if (r->keks[0].kek != NULL && (r->keks[1].kek == NULL || r->keks[1].epoch < r->keks[0].epoch))
    slot = &r->keks[1];
  return kek_create (self, r, slot, epoch, error) ? slot : NULL;
}

static gboolean
write_key (CustosWriter *self,
           Stream       *s,
           guint32       period,
           CustosSecret *key,
           Recipient    *r,
           GError      **error)
{
  CustosKeyRecord kr = { 0 };
  g_autoptr (GBytes) wrapped = NULL;
  Kek *k = recipient_kek (self, r, epoch_of (self, period), error);
  gsize start;

  if (k == NULL || (wrapped = custos_kwp_wrap (k->kek, key, error)) == NULL)
    return FALSE;
  kr.stream = s->info.id;
  kr.period = period;
  memcpy (kr.recipient_id, custos_certificate_get_fingerprint (r->cert), CUSTOS_RECIPIENT_ID_LEN);
  kr.epoch = k->epoch;
  kr.wrapped_len = g_bytes_get_size (wrapped);
  memcpy (kr.wrapped, g_bytes_get_data (wrapped, NULL), MIN (kr.wrapped_len, sizeof kr.wrapped));
  start = custos_record_begin (self->rec, CUSTOS_RECORD_KEY, 0);
  custos_key_record_append (self->rec, &kr);
  return custos_record_finish (self->rec, start, error) && emit_record (self, FALSE, error);
}

/* The key stream of one stream and period: one KEY record per recipient
 * active then (AES-KWP is deterministic, so repeats are identical). */
static gboolean
write_key_stream (CustosWriter *self,
                  Stream       *s,
                  guint32       period,
                  CustosSecret *key,
                  GError      **error)
{
  for (guint i = 0; i < self->recipients->len; i++)
    {
      Recipient *r = self->recipients->pdata[i];

      if (recipient_active (r, period) && !write_key (self, s, period, key, r, error))
        return FALSE;
    }
  return TRUE;
}

/* The RECIPIENT records of one epoch again, as they were first written. */
static gboolean
repeat_keks (CustosWriter *self,
             guint32       epoch,
             GError      **error)
{
  for (guint i = 0; i < self->recipients->len; i++)
    {
      Recipient *r = self->recipients->pdata[i];

      for (guint j = 0; j < G_N_ELEMENTS (r->keks); j++)
        if (r->keks[j].record != NULL && r->keks[j].epoch == epoch &&
            !emit_bytes (self, r->keks[j].record, error))
          return FALSE;
    }
  return TRUE;
}

static gboolean
begin_period (CustosWriter *self,
              Stream       *s,
              guint32       period,
              GError      **error)
{
  gboolean announced;

  stream_drop_key (s);
  s->period = period;
  s->counter = 0;
  s->started = TRUE;
  self->max_period = MAX (self->max_period, period);
  if (!(s->info.flags & CUSTOS_STREAM_FLAG_ENCRYPTED))
    return TRUE;

  announced = s->next_key != NULL && s->next_period == period;
  if (announced)
    s->key = g_steal_pointer (&s->next_key);
  else
    s->key = custos_secret_new_random (CUSTOS_AES_KEY_LEN, error);
  g_clear_pointer (&s->next_key, custos_secret_unref);
  if (s->key == NULL || (s->aead = custos_aead_new (s->key, error)) == NULL ||
      !write_key_stream (self, s, period, s->key, error))
    return FALSE;
  /* Nothing announced this period (the stream's first, or after a gap):
   * write its key stream a second time now, for the same redundancy. */
  return announced || (repeat_keks (self, epoch_of (self, period), error) &&
                       write_key_stream (self, s, period, s->key, error));
}

/* Keys are written twice: announced a segment or two before their period
 * starts, and again when it does. A damaged KEY or RECIPIENT record then
 * costs nothing, where a single copy would lock a whole key period. */
static gboolean
announce_next_periods (CustosWriter *self,
                       gint64        time_us,
                       GError      **error)
{
  gint64 period_us = (gint64) self->header.period_ms * 1000;
  gint64 ahead_us = 2 * (gint64) self->seal_ms * 1000;

  for (guint i = 0; i < self->streams->len; i++)
    {
      Stream *s = self->streams->pdata[i];
      guint32 next = s->period + 1;

      if (s->key == NULL || (s->next_key != NULL && s->next_period == next) ||
          (gint64) next * period_us - time_us > ahead_us)
        continue;
      g_clear_pointer (&s->next_key, custos_secret_unref);
      s->next_period = next;
      s->next_key = custos_secret_new_random (CUSTOS_AES_KEY_LEN, error);
      if (s->next_key == NULL || !write_key_stream (self, s, next, s->next_key, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_sync_point (CustosWriter *self,
                  GError      **error)
{
  gsize start;

  self->sync_offset = self->offset;
  start = custos_record_begin (self->rec, CUSTOS_RECORD_FILE_HEADER, 0);
  custos_file_header_append (self->rec, &self->header);
  if (!custos_record_finish (self->rec, start, error) || !emit_record (self, TRUE, error))
    return FALSE;

  for (guint i = 0; i < self->streams->len; i++)
    {
      Stream *s = self->streams->pdata[i];

      start = custos_record_begin (self->rec, CUSTOS_RECORD_STREAM, 0);
      custos_stream_info_append (self->rec, &s->info);
      if (!custos_record_finish (self->rec, start, error) || !emit_record (self, TRUE, error))
        return FALSE;
    }

  if (self->signer_chain != NULL)
    {
      start = custos_record_begin (self->rec, CUSTOS_RECORD_SIGNER, 0);
      custos_signer_append (self->rec, self->signer_chain);
      if (!custos_record_finish (self->rec, start, error) || !emit_record (self, FALSE, error))
        return FALSE;
    }

  /* The key stream in force (and announced), so a reader can start here. */
  for (guint i = 0; i < self->recipients->len; i++)
    {
      Recipient *r = self->recipients->pdata[i];

      for (guint j = 0; j < G_N_ELEMENTS (r->keks); j++)
        if (r->keks[j].record != NULL && !emit_bytes (self, r->keks[j].record, error))
          return FALSE;
    }
  for (guint i = 0; i < self->streams->len; i++)
    {
      Stream *s = self->streams->pdata[i];

      if (s->key != NULL && !write_key_stream (self, s, s->period, s->key, error))
        return FALSE;
      if (s->next_key != NULL && !write_key_stream (self, s, s->next_period, s->next_key, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
close_segment (CustosWriter *self,
               GError      **error)
{
  g_autoptr (CustosSealChain) chain = g_steal_pointer (&self->chain);

  if (chain == NULL)
    return TRUE;
  if (self->signer_key != NULL && custos_seal_chain_get_length (chain) > 0)
    {
      if (!custos_seal_chain_write (chain, self->rec, self->segment, self->prev, self->signer_id,
                                    self->signer_key,
                                    self->first_pts_us, self->last_pts_us, error) ||
          !emit_record (self, FALSE, error))
        return FALSE;
      custos_seal_chain_get_digest (chain, self->segment, self->prev, self->prev);
    }
  if (self->indexed)
    {
      CustosIndexRecord ir = { self->sync_offset, self->segment_offset, self->segment, self->index };
      CustosTocEntry te = { self->offset, self->first_pts_us, self->last_pts_us };
      gsize start = custos_record_begin (self->rec, CUSTOS_RECORD_INDEX, 0);

      custos_index_record_append (self->rec, &ir);
      if (!custos_record_finish (self->rec, start, error) || !emit_record (self, FALSE, error))
        return FALSE;
      g_array_append_val (self->toc, te);
    }
  g_array_set_size (self->index, 0);
  self->segment++;
  return TRUE;
}

static gboolean
open_segment (CustosWriter *self,
              gint64        time_us,
              GError      **error)
{
  gint64 sync_us = (gint64) (self->sync_ms ? self->sync_ms : self->header.period_ms) * 1000;

  self->chain = custos_seal_chain_new ();
  self->segment_offset = self->offset;
  self->segment_start_us = time_us;
  self->first_pts_us = CUSTOS_NO_TIMESTAMP;
  self->last_pts_us = G_MININT64;
  if (self->segment == 0 || time_us - self->last_sync_us >= sync_us)
    {
      self->last_sync_us = time_us;
      if (!write_sync_point (self, error))
        return FALSE;
    }
  return announce_next_periods (self, time_us, error);
}

/* Segments start at a keyframe of the primary stream once the seal interval
 * has passed, so every segment can be decoded and verified on its own. */
static gboolean
maybe_cut_segment (CustosWriter *self,
                   Stream       *s,
                   gint64        dts_us,
                   gboolean      keyframe,
                   GError      **error)
{
  gboolean cut = FALSE;

  if (self->chain == NULL)
    return open_segment (self, dts_us, error);
  if (custos_seal_chain_get_length (self->chain) >= CUSTOS_MAX_SEAL_RECORDS - 1 ||
      custos_seal_chain_get_n_ranges (self->chain) >= CUSTOS_MAX_SEAL_RANGES - self->streams->len)
    cut = TRUE;
  else if (keyframe && ((int) s->info.id == self->primary || self->primary < 0) &&
           dts_us - self->segment_start_us >= (gint64) self->seal_ms * 1000)
    cut = TRUE;
  if (!cut)
    return TRUE;
  return close_segment (self, error) && open_segment (self, dts_us, error);
}

static gboolean
check_packet (CustosWriter *self,
              guint         stream,
              gint64        pts_us,
              gint64        dts_us,
              GError      **error)
{
  Stream *s;

  if (self->closed || stream >= self->streams->len)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_INVALID,
                   self->closed ? _ ("the writer is closed") : _ ("no stream %u"), stream);
      return FALSE;
    }
  s = self->streams->pdata[stream];
  if (dts_us < 0 || pts_us < 0 || (s->started && dts_us < s->last_dts))
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_INVALID,
                   _ ("stream %u: decode time %" PRId64 " µs is negative or goes back"),
                   stream, dts_us);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fill_data_record (CustosWriter     *self,
                  Stream           *s,
                  CustosDataRecord *d,
                  gint64            pts_us,
                  gint64            dts_us,
                  GError          **error)
{
  gint64 base = (gint64) s->period * self->header.period_ms * 1000;
  gint64 pts_off = pts_us - base, dts_off = dts_us - base;

  if (s->counter > CUSTOS_DATA_COUNTER_MAX)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_EXHAUSTED,
                   _ ("stream %u: %u packets in one key period; refusing to reuse a nonce"),
                   s->info.id, CUSTOS_DATA_COUNTER_MAX + 1);
      return FALSE;
    }
  if (pts_off < G_MININT32 || pts_off > G_MAXINT32)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_INVALID,
                   _ ("stream %u: PTS %" PRId64 " µs is too far from its key period"),
                   s->info.id, pts_us);
      return FALSE;
    }
  d->stream = s->info.id;
  d->counter = s->counter++;
  d->period = s->period;
  d->pts_offset = (gint32) pts_off;
  d->dts_offset = (gint32) dts_off;
  return TRUE;
}

static gboolean
append_data_record (CustosWriter           *self,
                    Stream                 *s,
                    const CustosDataRecord *d,
                    const guint8           *data,
                    gsize                   len,
                    GError                **error)
{
  gsize prefix = CUSTOS_DATA_PREFIX_LEN + ((d->flags & CUSTOS_DATA_FLAG_HAS_DTS) ? 4 : 0);
  gsize tag_len = s->aead != NULL ? CUSTOS_GCM_TAG_LEN : 0;
  gsize body = prefix + len + tag_len;
  guint8 nonce[CUSTOS_GCM_NONCE_LEN];
  guint8 *out;

  if (body > CUSTOS_RECORD_MAX_BODY)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_LIMIT,
                   _ ("a packet of %zu bytes exceeds the 16 MiB record limit"), len);
      return FALSE;
    }
  /* The header carries the final length because it is part of the AAD. */
  g_byte_array_set_size (self->rec, CUSTOS_RECORD_HEADER_LEN);
  custos_record_header_write (self->rec->data, CUSTOS_RECORD_DATA, d->flags, body);
  custos_data_record_append_prefix (self->rec, d);
  if (tag_len == 0)
    {
      custos_put_bytes (self->rec, data, len);
      return TRUE;
    }
  g_byte_array_set_size (self->rec, CUSTOS_RECORD_HEADER_LEN + body);
  out = self->rec->data + CUSTOS_RECORD_HEADER_LEN + prefix;
  custos_data_record_nonce (d, nonce);
  return custos_aead_encrypt (s->aead, nonce, self->rec->data, CUSTOS_RECORD_HEADER_LEN + prefix,
                              data, len, out, out + len, error);
}

gboolean
custos_writer_write_packet (CustosWriter *self,
                            guint         stream,
                            gint64        pts_us,
                            gint64        dts_us,
                            gboolean      keyframe,
                            const guint8 *data,
                            gsize         len,
                            GError      **error)
{
  CustosDataRecord d = { 0 };
  gboolean has_dts = dts_us != CUSTOS_NO_TIMESTAMP && dts_us != pts_us;
  guint32 period;
  guint64 record_offset;
  Stream *s;

  g_return_val_if_fail (CUSTOS_IS_WRITER (self), FALSE);

  if (dts_us == CUSTOS_NO_TIMESTAMP)
    dts_us = pts_us;
  if (!check_packet (self, stream, pts_us, dts_us, error))
    return FALSE;
  s = self->streams->pdata[stream];
  period = (guint32) (dts_us / ((gint64) self->header.period_ms * 1000));

  if (!maybe_cut_segment (self, s, dts_us, keyframe, error))
    return FALSE;
  self->started = TRUE;
  if ((!s->started || period != s->period) && !begin_period (self, s, period, error))
    return FALSE;

  d.flags = (keyframe ? CUSTOS_DATA_FLAG_KEYFRAME : 0) | (has_dts ? CUSTOS_DATA_FLAG_HAS_DTS : 0) |
            (s->aead != NULL ? CUSTOS_DATA_FLAG_ENCRYPTED : 0);
  if (!fill_data_record (self, s, &d, pts_us, dts_us, error) ||
      !append_data_record (self, s, &d, data, len, error))
    return FALSE;

  record_offset = self->offset;
  if (!emit_packet (self, &d, error))
    return FALSE;
  s->last_dts = dts_us;
  if (keyframe && (int) stream == self->primary)
    {
      CustosIndexEntry e = { stream, pts_us, record_offset };
      g_array_append_val (self->index, e);
    }
  if (self->first_pts_us == CUSTOS_NO_TIMESTAMP || pts_us < self->first_pts_us)
    self->first_pts_us = pts_us;
  self->last_pts_us = MAX (self->last_pts_us, pts_us);
  return TRUE;
}

gboolean
custos_writer_close (CustosWriter *self,
                     GError      **error)
{
  g_return_val_if_fail (CUSTOS_IS_WRITER (self), FALSE);

  if (self->closed)
    return TRUE;
  self->closed = TRUE;
  for (guint i = 0; i < self->streams->len; i++)
    stream_drop_keys (self->streams->pdata[i]);
  for (guint i = 0; i < self->recipients->len; i++)
    {
      Recipient *r = self->recipients->pdata[i];

      g_clear_pointer (&r->keks[0].kek, custos_secret_unref);
      g_clear_pointer (&r->keks[1].kek, custos_secret_unref);
    }

  if (!close_segment (self, error))
    return FALSE;
  if (self->indexed && self->toc->len > 0)
    {
      gsize start = custos_record_begin (self->rec, CUSTOS_RECORD_TOC, 0);

      custos_toc_record_append (self->rec, self->toc, self->offset);
      if (!custos_record_finish (self->rec, start, error) || !emit_record (self, FALSE, error))
        return FALSE;
    }
  return g_output_stream_flush (self->output, NULL, error);
}
