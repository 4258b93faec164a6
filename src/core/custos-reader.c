/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-reader-private.h"


G_DEFINE_FINAL_TYPE (CustosReader, custos_reader, G_TYPE_OBJECT)
G_DEFINE_BOXED_TYPE (CustosPacket, custos_packet, custos_packet_ref, custos_packet_unref)

const char *
custos_packet_status_to_string (CustosPacketStatus status)
{
  switch (status)
    {
    case CUSTOS_PACKET_OK:      return "ok";
    case CUSTOS_PACKET_LOCKED:  return "locked";
    case CUSTOS_PACKET_ALTERED: return "altered";
    default:                    return "unknown";
    }
}

CustosPacket *
custos_packet_ref (CustosPacket *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
custos_packet_unref (CustosPacket *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_pointer (&self->payload, g_bytes_unref);
  g_free (self);
}

static void
recipient_info_free (CustosRecipientInfo *info)
{
  g_free (info->label);
  g_free (info);
}

static void
signer_free (Signer *s)
{
  g_clear_object (&s->cert);
  g_free (s->problem);
  g_free (s);
}

void
custos_reader_stream_drop_key (StreamState *st)
{
  g_clear_pointer (&st->aead, custos_aead_free);
  g_clear_pointer (&st->key, custos_secret_unref);
  st->have_key = FALSE;
}

static void
custos_reader_finalize (GObject *object)
{
  CustosReader *self = CUSTOS_READER (object);

  /* The seal thread may still be reading the window. */
  custos_reader_window_settle (self);
  g_clear_pointer (&self->forget_ids, g_byte_array_unref);
  g_mutex_clear (&self->busy);
  g_mutex_clear (&self->forget_lock);
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      custos_reader_stream_drop_key (&self->streams[i]);
      g_clear_pointer (&self->streams[i].info, custos_stream_info_free);
    }
  g_clear_pointer (&self->retired_streams, g_ptr_array_unref);
  g_clear_object (&self->input);
  g_clear_object (&self->provider);
  g_clear_pointer (&self->identities, g_ptr_array_unref);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->ca_file, g_free);
  if (self->whole == NULL)
    g_clear_pointer (&self->buf, g_free);
  g_clear_pointer (&self->spare, g_free);
  g_clear_pointer (&self->scan, custos_reader_scan_free);
  g_clear_pointer (&self->whole, g_bytes_unref);
  custos_file_header_clear (&self->header);
  g_clear_pointer (&self->recipients, g_hash_table_unref);
  g_clear_pointer (&self->wrapped_keks, g_hash_table_unref);
  g_clear_pointer (&self->key_records, g_hash_table_unref);
  g_clear_pointer (&self->keks, g_hash_table_unref);
  g_clear_pointer (&self->failed_keks, g_hash_table_unref);
  g_clear_pointer (&self->signers, g_hash_table_unref);
  g_clear_pointer (&self->chain, custos_seal_chain_free);
  g_clear_pointer (&self->hasher, custos_seal_hasher_free);
  g_clear_pointer (&self->seg, g_array_unref);
  g_clear_pointer (&self->report, custos_report_free);
  if (self->seal_notify != NULL)
    self->seal_notify (self->seal_data);
  g_clear_pointer (&self->verdicts, g_array_unref);

  G_OBJECT_CLASS (custos_reader_parent_class)->finalize (object);
}

static void
custos_reader_class_init (CustosReaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_reader_finalize;
}

static void
custos_reader_init (CustosReader *self)
{
  self->verify = TRUE;
  self->decrypt = TRUE;
  self->mark = G_MAXSIZE;
  g_mutex_init (&self->busy);
  g_mutex_init (&self->forget_lock);
  self->forget_ids = g_byte_array_new ();
  self->recipients = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                            (GDestroyNotify) g_bytes_unref,
                                            (GDestroyNotify) recipient_info_free);
  self->wrapped_keks = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                              (GDestroyNotify) g_bytes_unref,
                                              (GDestroyNotify) g_ptr_array_unref);
  self->key_records = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                             (GDestroyNotify) g_ptr_array_unref);
  self->keks = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                      (GDestroyNotify) custos_secret_unref);
  self->failed_keks = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                             (GDestroyNotify) g_bytes_unref, NULL);
  self->signers = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify) g_bytes_unref,
                                         (GDestroyNotify) signer_free);
  self->seg = g_array_new (FALSE, FALSE, sizeof (SegEntry));
  self->retired_streams = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_stream_info_free);
  self->identities = g_ptr_array_new_with_free_func (g_object_unref);
  self->report = custos_report_new ();
  self->verdicts = g_array_new (FALSE, FALSE, sizeof (CustosSealVerdict));
}

CustosReader *
custos_reader_new (GInputStream *input)
{
  CustosReader *self = g_object_new (CUSTOS_TYPE_READER, NULL);

  self->input = g_object_ref (input);
  return self;
}

/* Data already in memory (a mapped file, a network buffer) is parsed where
 * it lies: no copy into a window, which is what bounds the reader's cost to
 * that of GCM itself. */
CustosReader *
custos_reader_new_for_bytes (GBytes *data)
{
  CustosReader *self = g_object_new (CUSTOS_TYPE_READER, NULL);
  gsize len;

  self->whole = g_bytes_ref (data);
  self->buf = (guint8 *) g_bytes_get_data (data, &len);
  self->cap = self->end = len;
  self->bytes_read = len;
  self->eof = TRUE;
  self->input = g_memory_input_stream_new_from_bytes (data);
  return self;
}

/* A card went away: what this reader unwrapped with it goes too, at once,
 * not when the reader is freed. */
static void
on_certificate_removed (CustosKeyProvider *provider,
                        CustosCertificate *cert,
                        CustosReader      *self)
{
  const guint8 *id = custos_certificate_get_fingerprint (cert);

  if (g_mutex_trylock (&self->busy))
    {
      custos_reader_forget_keys (self, id);
      g_mutex_unlock (&self->busy);
      return;
    }
  g_mutex_lock (&self->forget_lock);
  g_byte_array_append (self->forget_ids, id, CUSTOS_RECIPIENT_ID_LEN);
  g_mutex_unlock (&self->forget_lock);
}

void
custos_reader_set_key_provider (CustosReader      *self,
                                CustosKeyProvider *provider)
{
  if (self->provider != NULL)
    g_signal_handlers_disconnect_by_func (self->provider, on_certificate_removed, self);
  g_set_object (&self->provider, provider);
  if (provider != NULL)
    g_signal_connect_object (provider, "certificate-removed", G_CALLBACK (on_certificate_removed),
                             self, 0);
}

void
custos_reader_add_identity (CustosReader      *self,
                            CustosCertificate *cert)
{
  g_ptr_array_add (self->identities, g_object_ref (cert));
}

void
custos_reader_set_interaction (CustosReader    *self,
                               GTlsInteraction *interaction)
{
  g_set_object (&self->interaction, interaction);
}

void
custos_reader_set_verify (CustosReader *self,
                          gboolean      verify)
{
  self->verify = verify;
}

void
custos_reader_set_decrypt (CustosReader *self,
                           gboolean      decrypt)
{
  self->decrypt = decrypt;
}

void
custos_reader_set_seal_func (CustosReader   *self,
                             CustosSealFunc  func,
                             gpointer        user_data,
                             GDestroyNotify  notify)
{
  g_return_if_fail (CUSTOS_IS_READER (self));

  if (self->seal_notify != NULL)
    self->seal_notify (self->seal_data);
  self->seal_func = func;
  self->seal_data = user_data;
  self->seal_notify = notify;
}

void
custos_reader_set_ca_file (CustosReader *self,
                           const char   *ca_file)
{
  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
}

guint64
custos_reader_get_bytes_read (CustosReader *self)
{
  return self->bytes_read;
}

CustosReport *
custos_reader_get_report (CustosReader *self)
{
  return self->report;
}

const CustosFileHeader *
custos_reader_get_header (CustosReader *self)
{
  return self->have_header ? &self->header : NULL;
}

GPtrArray *
custos_reader_get_streams (CustosReader *self)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    if (self->streams[i].info != NULL)
      g_ptr_array_add (out, self->streams[i].info);
  return out;
}

GPtrArray *
custos_reader_get_recipients (CustosReader *self)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer info;

  g_hash_table_iter_init (&iter, self->recipients);
  while (g_hash_table_iter_next (&iter, NULL, &info))
    g_ptr_array_add (out, info);
  return out;
}

GPtrArray *
custos_reader_get_signers (CustosReader *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  Signer *s;

  g_hash_table_iter_init (&iter, self->signers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    g_ptr_array_add (out, g_object_ref (s->cert));
  return out;
}

/* Descriptors */

/* A recording is its source id and start: other fields changing (a
 * damaged name in a repeated header) must not throw away its keys. */
static gboolean
same_recording (const CustosFileHeader *a,
                const CustosFileHeader *b)
{
  return memcmp (a->source_id, b->source_id, sizeof a->source_id) == 0 &&
         a->created_us == b->created_us;
}

/* docs/fusion-stream.md §4.1: a FILE_HEADER that differs from the one in
 * force starts a new recording (the next file of an archive in one wire
 * response, a writer restarted): its streams, keys, counters and seal
 * chain are its own, and the open segment of the last one will never be
 * sealed. */
static void
start_new_recording (CustosReader *self,
                     guint64       offset)
{
  g_debug ("offset %" G_GUINT64_FORMAT ": a new recording starts", offset);
  if (self->seg->len > 0)
    custos_reader_finish_unsigned (self, "a new recording starts before its seal");
  custos_reader_segment_reset (self);
  self->have_prev = FALSE;
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      StreamState *st = &self->streams[i];

      custos_reader_stream_drop_key (st);
      st->have_last = FALSE;
      if (st->info != NULL)
        g_ptr_array_add (self->retired_streams, g_steal_pointer (&st->info));
    }
  g_hash_table_remove_all (self->wrapped_keks);
  g_hash_table_remove_all (self->key_records);
  g_hash_table_remove_all (self->keks);
  g_hash_table_remove_all (self->failed_keks);
}

void
custos_reader_handle_file_header (CustosReader *self,
                    const guint8 *body,
                    gsize         len,
                    guint64       offset,
                    GError      **error)
{
  CustosFileHeader fh;
  g_autoptr (GError) local = NULL;

  if (!custos_file_header_parse (body, len, &fh, &local))
    {
      /* A file that starts with something else is not a fusion stream at
       * all; a bad header later is one damaged record. */
      if (!self->have_header && offset == 0)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                           _ ("offset %" PRIu64 ": %s"), offset, local->message);
      return;
    }
  if (self->have_header && !same_recording (&self->header, &fh))
    start_new_recording (self, offset);
  custos_file_header_clear (&self->header);
  self->header = fh;
  self->have_header = TRUE;
}

void
custos_reader_handle_stream (CustosReader *self,
               const guint8 *body,
               gsize         len,
               guint64       offset)
{
  CustosStreamInfo info;
  g_autoptr (GError) error = NULL;
  StreamState *st;

  if (!custos_stream_info_parse (body, len, &info, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
      return;
    }
  st = &self->streams[info.id];
  if (st->info == NULL)
    st->info = custos_stream_info_copy (&info);
  else if (!custos_stream_info_equal (st->info, &info))
    custos_report_add (self->report, CUSTOS_ISSUE_CONFLICT, offset, info.id, 0, 0, G_MININT64,
                       _ ("stream %u is described differently at offset %" PRIu64
                          "; keeping the first description"),
                       info.id, offset);
  custos_stream_info_clear (&info);
}

void
custos_reader_handle_signer (CustosReader *self,
               const guint8 *body,
               gsize         len,
               guint64       offset)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ders = custos_signer_parse (body, len, &error);
  g_autoptr (GPtrArray) chain = NULL;
  g_autoptr (GBytes) id = NULL;
  Signer *s;

  if (ders == NULL)
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
      return;
    }
  chain = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < ders->len; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_der (ders->pdata[i], &error);

      if (cert == NULL)
        {
          custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0,
                             G_MININT64, _ ("signer certificate %u: %s"), i, error->message);
          return;
        }
      g_ptr_array_add (chain, cert);
    }
  id = g_bytes_new (custos_certificate_get_fingerprint (chain->pdata[0]), CUSTOS_SHA256_LEN);
  if (g_hash_table_contains (self->signers, id) || g_hash_table_size (self->signers) >= 16)
    return;

  s = g_new0 (Signer, 1);
  s->cert = g_object_ref (chain->pdata[0]);
  if (self->ca_file != NULL)
    {
      g_ptr_array_remove_index (chain, 0);
      s->trusted = custos_certificate_verify_chain (s->cert, chain, self->ca_file, &error);
      if (!s->trusted)
        s->problem = g_strdup (error->message);
    }
  g_hash_table_insert (self->signers, g_steal_pointer (&id), s);
}

/* Data */

static gboolean
check_order (CustosReader           *self,
             StreamState            *st,
             const CustosDataRecord *d,
             const guint8           *fp_record,
             gsize                   rec_len,
             guint64                 offset)
{
  gboolean later = !st->have_last || d->period > st->last_period ||
                   (d->period == st->last_period && d->counter > st->last_counter);

  if (later)
    {
      st->have_last = TRUE;
      st->last_period = d->period;
      st->last_counter = d->counter;
      return TRUE;
    }
  /* Same identity already in this segment: a copy, dropped before it
   * reaches the seal check so the segment still verifies. */
  for (guint i = 0; i < self->seg->len; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);

      if (e->stream == d->stream && e->period == d->period && e->counter == d->counter)
        {
          self->report->duplicates++;
          custos_report_add (
              self->report, CUSTOS_ISSUE_DUPLICATE, offset, d->stream, d->period, d->counter,
              e->utc_us,
              _ ("stream %u period %u packet %u received twice; the copy at offset %" PRIu64
                 " was dropped"),
              d->stream, d->period, d->counter, offset);
          return FALSE;
        }
    }
  if (d->period == st->last_period && d->counter == st->last_counter)
    {
      self->report->duplicates++;
      custos_report_add (self->report, CUSTOS_ISSUE_DUPLICATE, offset, d->stream, d->period,
                         d->counter, G_MININT64, _ ("stream %u period %u packet %u received twice"),
                         d->stream, d->period, d->counter);
      return FALSE;
    }
  self->report->reordered++;
  custos_report_add (self->report, CUSTOS_ISSUE_REORDERED, offset, d->stream, d->period,
                     d->counter, G_MININT64,
                     _ ("stream %u period %u packet %u arrived after packet %u of period %u"),
                     d->stream, d->period, d->counter, st->last_counter, st->last_period);
  (void) fp_record;
  (void) rec_len;
  return TRUE;
}

static CustosPacket *
packet_new (CustosReader           *self,
            const CustosDataRecord *d,
            guint64                 offset)
{
  CustosPacket *p = g_new0 (CustosPacket, 1);

  p->ref_count = 1;
  p->stream = d->stream;
  p->flags = d->flags;
  p->period = d->period;
  p->counter = d->counter;
  p->pts_us = custos_data_time_us (d->period, self->header.period_ms, d->pts_offset);
  p->dts_us = custos_data_time_us (d->period, self->header.period_ms, d->dts_offset);
  p->utc_us = self->streams[d->stream].info->utc_origin_us + p->pts_us;
  p->offset = offset;
  return p;
}

static void
decrypt_packet (CustosReader           *self,
                StreamState            *st,
                const CustosDataRecord *d,
                const guint8           *rec,
                CustosPacket           *p)
{
  guint8 nonce[CUSTOS_GCM_NONCE_LEN];
  CustosAead *aead;
  guint8 *out;

  if (!self->decrypt)
    {
      p->status = custos_reader_have_key_record (self, d) ? CUSTOS_PACKET_OK : CUSTOS_PACKET_LOCKED;
      return;
    }
  aead = custos_reader_get_aead (self, st, d, p->offset);
  if (aead == NULL)
    {
      p->status = CUSTOS_PACKET_LOCKED;
      return;
    }
  out = g_malloc (MAX (d->payload_len, 1));
  custos_data_record_nonce (d, nonce);
  if (!custos_aead_decrypt (aead, nonce, rec, CUSTOS_RECORD_HEADER_LEN + d->prefix_len,
                            d->payload, d->payload_len, out, d->tag, NULL))
    {
      g_free (out);
      p->status = CUSTOS_PACKET_ALTERED;
      return;
    }
  p->payload = g_bytes_new_take (out, d->payload_len);
  p->status = CUSTOS_PACKET_OK;
}

static void
count_packet (CustosReader *self,
              CustosPacket *p,
              gboolean      encrypted)
{
  self->report->packets++;
  switch (p->status)
    {
    case CUSTOS_PACKET_OK:
      if (encrypted)
        self->report->decrypted++;
      else
        self->report->plaintext++;
      break;
    case CUSTOS_PACKET_LOCKED:
      self->report->locked++;
      /* Name the first locked packet of each period, not every one. */
      if (p->counter == 0 || self->report->locked == 1)
        custos_report_add (self->report, CUSTOS_ISSUE_LOCKED, p->offset, p->stream, p->period,
                           p->counter, p->utc_us,
                           _ ("stream %u period %u: no key for this recipient"), p->stream,
                           p->period);
      break;
    case CUSTOS_PACKET_ALTERED:
    default:
      break;
    }
}

static CustosPacket *
handle_data (CustosReader       *self,
             CustosRecordHeader *h,
             const guint8       *rec,
             guint64             offset)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;
  gsize rec_len = CUSTOS_RECORD_HEADER_LEN + h->length;
  g_autoptr (GError) error = NULL;
  CustosDataRecord d;
  SegEntry e = { 0 };
  StreamState *st;
  CustosPacket *p;
  gboolean stream_encrypted;

  if (!custos_data_record_parse (h->flags, body, h->length, &d, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
      return NULL;
    }
  st = &self->streams[d.stream];
  if (st->info == NULL || !self->have_header)
    {
      custos_report_add (
          self->report, CUSTOS_ISSUE_UNKNOWN_STREAM, offset, d.stream, d.period, d.counter,
          G_MININT64,
          _ ("packet of stream %u at offset %" PRIu64 " before its descriptor; skipped"), d.stream,
          offset);
      return NULL;
    }
  if (!check_order (self, st, &d, rec, rec_len, offset))
    return NULL;

  p = packet_new (self, &d, offset);
  stream_encrypted = (st->info->flags & CUSTOS_STREAM_FLAG_ENCRYPTED) != 0;
  if (d.flags & CUSTOS_DATA_FLAG_ENCRYPTED)
    decrypt_packet (self, st, &d, rec, p);
  else if (stream_encrypted)
    p->status = CUSTOS_PACKET_ALTERED; /* never accept a downgrade to plaintext */
  else
    {
      p->status = CUSTOS_PACKET_OK;
      if (self->decrypt)
        p->payload = g_bytes_new (d.payload, d.payload_len);
    }

  e.stream = d.stream;
  e.period = d.period;
  e.counter = d.counter;
  e.utc_us = p->utc_us;
  e.offset = offset;
  e.gcm_failed = p->status == CUSTOS_PACKET_ALTERED;
  custos_reader_seg_add (self, rec, rec_len, &e);
  count_packet (self, p, (d.flags & CUSTOS_DATA_FLAG_ENCRYPTED) != 0);
  if (p->status == CUSTOS_PACKET_ALTERED && !self->verify)
    {
      self->report->altered++;
      custos_report_add (self->report, CUSTOS_ISSUE_ALTERED, offset, d.stream, d.period, d.counter,
                         p->utc_us, _ ("stream %u period %u packet %u: failed authentication"),
                         d.stream, d.period, d.counter);
    }
  if (offset < self->skip_until)
    g_clear_pointer (&p, custos_packet_unref);
  return p;
}

static void
handle_sealed_descriptor (CustosReader *self,
                          const guint8 *rec,
                          gsize         len,
                          guint64       offset)
{
  SegEntry e = { -1, 0, 0, G_MININT64, offset, 0 };

  custos_reader_seg_add (self, rec, len, &e);
}

/* One record; returns a packet for DATA, NULL otherwise. */
static CustosPacket *
dispatch (CustosReader       *self,
          CustosRecordHeader *h,
          const guint8       *rec,
          guint64             offset,
          GError            **error)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;

  switch (h->type)
    {
    case CUSTOS_RECORD_FILE_HEADER:
      custos_reader_handle_file_header (self, body, h->length, offset, error);
      handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    case CUSTOS_RECORD_STREAM:
      custos_reader_handle_stream (self, body, h->length, offset);
      handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    case CUSTOS_RECORD_SIGNER:
      custos_reader_handle_signer (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_RECIPIENT:
      custos_reader_handle_recipient (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_KEY:
      custos_reader_handle_key (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_DATA:
      return handle_data (self, h, rec, offset);
    case CUSTOS_RECORD_SEAL:
      custos_reader_handle_seal (self, body, h->length, offset);
      return NULL;
    default:
      /* INDEX and TOC serve seeking; unknown types are skipped, sealed
       * ranges still count towards the seal. */
      if (custos_record_type_is_sealed (h->type))
        handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    }
}

static CustosPacket *
next_packet (CustosReader *self,
             GCancellable *cancellable,
             GError      **error);

CustosPacket *
custos_reader_next_packet (CustosReader *self,
                           GCancellable *cancellable,
                           GError      **error)
{
  CustosPacket *p;

  g_return_val_if_fail (CUSTOS_IS_READER (self), NULL);

  g_mutex_lock (&self->busy);
  custos_reader_forget_pending (self);
  p = next_packet (self, cancellable, error);
  custos_reader_forget_pending (self);
  g_mutex_unlock (&self->busy);
  return p;
}

static CustosPacket *
next_packet (CustosReader *self,
             GCancellable *cancellable,
             GError      **error)
{
  g_return_val_if_fail (CUSTOS_IS_READER (self), NULL);

  for (;;)
    {
      CustosRecordHeader h;
      const guint8 *rec;
      guint64 offset;
      CustosPacket *p;
      GError *local = NULL;

      if (!custos_reader_next_record (self, &h, &rec, &offset, cancellable, &local))
        {
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return NULL;
            }
          if (self->report->records == 0)
            {
              g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                                   _ ("no fusion stream records found"));
              return NULL;
            }
          if (self->seg->len > 0)
            custos_reader_finish_unsigned (self, "no seal follows (end of data)");
          return NULL;
        }
      if (offset == 0 && h.type != CUSTOS_RECORD_FILE_HEADER)
        {
          g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                       _ ("not a fusion stream: it starts with a %s record, not a file header"),
                       custos_record_type_to_string (h.type));
          return NULL;
        }
      p = dispatch (self, &h, rec, offset, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (p != NULL)
        return p;
    }
}

