/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <string.h>

#include "custos-crypto.h"
#include "custos-reader.h"

#define READ_CHUNK      (256 * 1024)
#define MAX_KEY_RECORDS 65536
#define MAX_KEKS        8
/* Without one valid record in this many bytes, the input is not a fusion
 * stream at all (a video file given by mistake): say so instead of
 * scanning gigabytes. */
#define NOT_FUSION_SCAN (1024 * 1024)

typedef struct
{
  CustosStreamInfo *info;
  gboolean          have_last;
  guint32           last_period;
  guint32           last_counter;
  gboolean          have_key;
  guint32           key_period;
  CustosSecret     *key;
  CustosAead       *aead;
} StreamState;

/* A sealed record of the open segment, remembered until its seal arrives. */
typedef struct
{
  int     stream; /* -1 for descriptors */
  guint32 period;
  guint32 counter;
  gint64  utc_us;
  guint64 offset;
  guint8  gcm_failed;
} SegEntry;

typedef struct
{
  CustosCertificate *cert;
  gboolean           trusted;
  char              *problem;
} Signer;

struct _CustosReader
{
  GObject            parent_instance;

  GInputStream      *input;
  GBytes            *whole;         /* zero-copy mode: the window is these bytes */
  CustosKeyProvider *provider;
  GPtrArray         *identities;    /* CustosCertificate */
  GTlsInteraction   *interaction;
  char              *ca_file;
  gboolean           verify;
  gboolean           decrypt;

  /* Input window: buf[pos..end) is unread, buf[0] is at file offset base. */
  guint8            *buf;
  gsize              cap;
  gsize              pos;
  gsize              end;
  gsize              mark;          /* bytes from here on are kept when the window moves */
  guint64            base;
  gboolean           eof;
  guint64            bytes_read;

  CustosFileHeader   header;
  gboolean           have_header;
  StreamState        streams[CUSTOS_MAX_STREAMS];
  GHashTable        *recipients;    /* id (GBytes) -> CustosRecipientInfo */
  /* Key records are written twice; a damaged copy fails its integrity
   * check (OAEP, KWP) and the next distinct copy is tried. */
  GHashTable        *wrapped_keks;  /* id||epoch (GBytes) -> GPtrArray of CustosWrappedKek, ours */
  GHashTable        *key_records;   /* stream<<32|period (gint64*) -> GPtrArray of CustosKeyRecord */
  GHashTable        *keks;          /* id||epoch -> CustosSecret */
  GHashTable        *failed_keks;   /* id||epoch: never retried (a wrong PIN stays wrong) */
  GHashTable        *signers;       /* id (GBytes) -> Signer */

  CustosSealChain   *chain;
  GArray            *seg;           /* SegEntry */
  gboolean           have_prev;
  guint32            prev_segment;
  guint8             prev_digest[CUSTOS_SHA256_LEN];
  guint64            skip_until;    /* after a seek: packets before this offset are hashed only */

  CustosReport      *report;
};

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

static void
stream_state_drop_key (StreamState *st)
{
  g_clear_pointer (&st->aead, custos_aead_free);
  g_clear_pointer (&st->key, custos_secret_unref);
  st->have_key = FALSE;
}

static void
custos_reader_finalize (GObject *object)
{
  CustosReader *self = CUSTOS_READER (object);

  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      stream_state_drop_key (&self->streams[i]);
      g_clear_pointer (&self->streams[i].info, custos_stream_info_free);
    }
  g_clear_object (&self->input);
  g_clear_object (&self->provider);
  g_clear_pointer (&self->identities, g_ptr_array_unref);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->ca_file, g_free);
  if (self->whole == NULL)
    g_clear_pointer (&self->buf, g_free);
  g_clear_pointer (&self->whole, g_bytes_unref);
  custos_file_header_clear (&self->header);
  g_clear_pointer (&self->recipients, g_hash_table_unref);
  g_clear_pointer (&self->wrapped_keks, g_hash_table_unref);
  g_clear_pointer (&self->key_records, g_hash_table_unref);
  g_clear_pointer (&self->keks, g_hash_table_unref);
  g_clear_pointer (&self->failed_keks, g_hash_table_unref);
  g_clear_pointer (&self->signers, g_hash_table_unref);
  g_clear_pointer (&self->chain, custos_seal_chain_free);
  g_clear_pointer (&self->seg, g_array_unref);
  g_clear_pointer (&self->report, custos_report_free);

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
  self->identities = g_ptr_array_new_with_free_func (g_object_unref);
  self->report = custos_report_new ();
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

void
custos_reader_set_key_provider (CustosReader      *self,
                                CustosKeyProvider *provider)
{
  g_set_object (&self->provider, provider);
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

/* Input window */

static gboolean
fill (CustosReader *self,
      gsize         want,
      GCancellable *cancellable,
      GError      **error)
{
  gsize drop;

  if (self->end - self->pos >= want || self->eof)
    return TRUE;

  /* Keep only the unread (and marked) bytes, then grow to fit. */
  drop = MIN (self->pos, self->mark);
  if (drop > 0)
    {
      memmove (self->buf, self->buf + drop, self->end - drop);
      self->end -= drop;
      self->base += drop;
      self->pos -= drop;
      if (self->mark != G_MAXSIZE)
        self->mark -= drop;
    }
  want += self->pos;
  if (want + READ_CHUNK > self->cap)
    {
      self->cap = want + READ_CHUNK;
      self->buf = g_realloc (self->buf, self->cap);
    }
  while (self->end < want && !self->eof)
    {
      gssize n = g_input_stream_read (self->input, self->buf + self->end, self->cap - self->end,
                                      cancellable, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        self->eof = TRUE;
      self->end += n;
      self->bytes_read += n;
    }
  return TRUE;
}

static inline gsize
avail (CustosReader *self)
{
  return self->end - self->pos;
}

static inline guint64
cur_offset (CustosReader *self)
{
  return self->base + self->pos;
}

static gboolean
header_ok (const guint8       *p,
           gsize               len,
           CustosRecordHeader *h)
{
  return custos_record_header_parse (p, len, h, NULL);
}

/* A record at buf[p] is believed when its header is valid and the bytes
 * after it start another valid header or end the data: one byte 0xCF in
 * random data is common, two consistent headers in a row are not. */
static int
candidate_ok (CustosReader *self,
              gsize         p,
              GCancellable *cancellable,
              GError      **error)
{
  CustosRecordHeader h, next;
  gsize rel = p - self->pos, need;

  if (self->buf[p] != CUSTOS_RECORD_SYNC || !header_ok (self->buf + p, self->end - p, &h))
    return 0;
  need = rel + CUSTOS_RECORD_HEADER_LEN + h.length + CUSTOS_RECORD_HEADER_LEN;
  if (!fill (self, need, cancellable, error))
    return -1;
  p = self->pos + rel; /* fill may have moved the window */
  if (avail (self) == need - CUSTOS_RECORD_HEADER_LEN)
    return 1;
  if (avail (self) < need)
    return 0;
  return header_ok (self->buf + p + CUSTOS_RECORD_HEADER_LEN + h.length, CUSTOS_RECORD_HEADER_LEN,
                    &next) ? 1 : 0;
}

static void
report_damage (CustosReader *self,
               guint64       from,
               guint64       to,
               const char   *why)
{
  self->report->damaged_bytes += to - from;
  self->report->damaged_regions++;
  custos_report_add (self->report, CUSTOS_ISSUE_DAMAGED, from, -1, 0, 0, G_MININT64,
                     "%" G_GUINT64_FORMAT " damaged bytes at offset %" G_GUINT64_FORMAT
                     " skipped (%s)", to - from, from, why);
}

/* Moves to the next believable record after the current position; FALSE
 * in *found when the data ends first. */
static gboolean
scan (CustosReader *self,
      gboolean     *found,
      GCancellable *cancellable,
      GError      **error)
{
  *found = FALSE;
  self->pos++;
  for (;;)
    {
      int ok;

      if (!fill (self, CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (avail (self) < CUSTOS_RECORD_HEADER_LEN)
        {
          self->pos = self->end;
          return TRUE;
        }
      ok = candidate_ok (self, self->pos, cancellable, error);
      if (ok < 0)
        return FALSE;
      if (ok > 0)
        {
          *found = TRUE;
          return TRUE;
        }
      if (self->report->records == 0 && cur_offset (self) > NOT_FUSION_SCAN)
        {
          self->pos = self->end;
          self->eof = TRUE;
          return TRUE;
        }
      self->pos++;
    }
}

/* Skips to the next believable record; what lies between is reported as
 * damaged. */
static gboolean
resync (CustosReader *self,
        const char   *why,
        GCancellable *cancellable,
        GError      **error)
{
  guint64 from = cur_offset (self);
  gboolean found;

  if (!scan (self, &found, cancellable, error))
    return FALSE;
  report_damage (self, from, cur_offset (self), why);
  return TRUE;
}

static void
report_truncated (CustosReader *self,
                  guint64       offset,
                  gsize         present,
                  gsize         wanted)
{
  self->report->truncated = TRUE;
  custos_report_add (self->report, CUSTOS_ISSUE_TRUNCATED, offset, -1, 0, 0, G_MININT64,
                     "the data ends inside a record at offset %" G_GUINT64_FORMAT
                     " (%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes present)",
                     offset, present, wanted);
}

/* A record that runs past the end is either the cut-off last record or a
 * damaged length in the middle: only if no record follows is it the end. */
static gboolean
past_end (CustosReader *self,
          gsize         wanted,
          GCancellable *cancellable,
          GError      **error)
{
  guint64 from = cur_offset (self);
  gsize present = avail (self);
  gsize saved = self->pos;
  gboolean found;

  if (!scan (self, &found, cancellable, error))
    return FALSE;
  if (found)
    {
      report_damage (self, from, cur_offset (self), "record length runs past the end of the data");
      return TRUE;
    }
  self->pos = saved;
  report_truncated (self, from, present, wanted);
  self->pos = self->end;
  return TRUE;
}

/* The bytes after a record do not start another. Either its length is
 * wrong (a record starts inside it: drop it) or junk follows it (keep it
 * and skip the junk). On keep, the record stays at buf + mark. */
static gboolean
after_bad_successor (CustosReader *self,
                     gsize         len,
                     gboolean     *keep,
                     GCancellable *cancellable,
                     GError      **error)
{
  guint64 start = cur_offset (self);
  gboolean found;

  self->mark = self->pos;
  if (!scan (self, &found, cancellable, error))
    {
      self->mark = G_MAXSIZE;
      return FALSE;
    }
  *keep = cur_offset (self) >= start + len;
  if (*keep)
    report_damage (self, start + len, cur_offset (self), "bytes between records");
  else
    {
      self->mark = G_MAXSIZE;
      report_damage (self, start, cur_offset (self), "record length inconsistent with what follows");
    }
  return TRUE;
}

/* The next framed record: *rec points at its header in the window, valid
 * until the next call. FALSE with no error at the end of the data. */
static gboolean
next_record (CustosReader        *self,
             CustosRecordHeader  *h,
             const guint8       **rec,
             guint64             *offset,
             GCancellable        *cancellable,
             GError             **error)
{
  for (;;)
    {
      CustosRecordHeader next;
      gsize len;

      if (!fill (self, CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (avail (self) == 0)
        return FALSE;
      if (avail (self) < CUSTOS_RECORD_HEADER_LEN ||
          !header_ok (self->buf + self->pos, avail (self), h))
        {
          if (avail (self) >= CUSTOS_RECORD_HEADER_LEN || !self->eof)
            {
              if (!resync (self, "no valid record header", cancellable, error))
                return FALSE;
              continue;
            }
        }
      len = avail (self) >= CUSTOS_RECORD_HEADER_LEN ? CUSTOS_RECORD_HEADER_LEN + h->length : 0;
      if (!fill (self, len + CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (len == 0)
        {
          report_truncated (self, cur_offset (self), avail (self), CUSTOS_RECORD_HEADER_LEN);
          self->pos = self->end;
          return FALSE;
        }
      if (avail (self) < len)
        {
          if (!past_end (self, len, cancellable, error))
            return FALSE;
          continue;
        }
      *offset = cur_offset (self);
      if (avail (self) >= len + CUSTOS_RECORD_HEADER_LEN &&
          !header_ok (self->buf + self->pos + len, CUSTOS_RECORD_HEADER_LEN, &next))
        {
          gboolean keep;

          if (!after_bad_successor (self, len, &keep, cancellable, error))
            return FALSE;
          if (!keep)
            continue;
          *rec = self->buf + self->mark;
          self->mark = G_MAXSIZE;
        }
      else
        {
          *rec = self->buf + self->pos;
          self->pos += len;
        }
      self->report->records++;
      return TRUE;
    }
}

/* Keys */

static GBytes *
kek_key (const guint8 id[CUSTOS_RECIPIENT_ID_LEN],
         guint32      epoch)
{
  guint8 k[CUSTOS_RECIPIENT_ID_LEN + 4];

  memcpy (k, id, CUSTOS_RECIPIENT_ID_LEN);
  k[32] = epoch >> 24;
  k[33] = (epoch >> 16) & 0xff;
  k[34] = (epoch >> 8) & 0xff;
  k[35] = epoch & 0xff;
  return g_bytes_new (k, sizeof k);
}

static gboolean
is_ours (CustosReader *self,
         const guint8  id[CUSTOS_RECIPIENT_ID_LEN])
{
  for (guint i = 0; i < self->identities->len; i++)
    if (memcmp (custos_certificate_get_fingerprint (self->identities->pdata[i]), id,
                CUSTOS_RECIPIENT_ID_LEN) == 0)
      return TRUE;
  return self->provider != NULL && custos_key_provider_has_recipient (self->provider, id);
}

#define MAX_COPIES 4

static void
add_wrapped_kek (CustosReader          *self,
                 CustosRecipientRecord *rr)
{
  g_autoptr (GBytes) k = kek_key (rr->recipient_id, rr->epoch);
  GPtrArray *copies = g_hash_table_lookup (self->wrapped_keks, k);

  if (copies == NULL)
    {
      copies = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_wrapped_kek_free);
      g_hash_table_insert (self->wrapped_keks, g_bytes_ref (k), copies);
    }
  for (guint i = 0; i < copies->len; i++)
    if (g_bytes_equal (((CustosWrappedKek *) copies->pdata[i])->wrapped, rr->wrapped))
      return;
  if (copies->len < MAX_COPIES)
    g_ptr_array_add (copies,
                     custos_wrapped_kek_new (rr->recipient_id, rr->epoch, rr->alg, rr->wrapped));
}

static void
handle_recipient (CustosReader *self,
                  const guint8 *body,
                  gsize         len,
                  guint64       offset)
{
  CustosRecipientRecord rr;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) id = NULL;

  if (!custos_recipient_record_parse (body, len, &rr, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      return;
    }
  id = g_bytes_new (rr.recipient_id, CUSTOS_RECIPIENT_ID_LEN);
  if (!g_hash_table_contains (self->recipients, id) && g_hash_table_size (self->recipients) < 1024)
    {
      CustosRecipientInfo *info = g_new0 (CustosRecipientInfo, 1);

      memcpy (info->id, rr.recipient_id, CUSTOS_RECIPIENT_ID_LEN);
      info->label = g_strdup (rr.label);
      info->alg = rr.alg;
      info->ours = is_ours (self, rr.recipient_id);
      g_hash_table_insert (self->recipients, g_bytes_ref (id), info);
    }
  if (is_ours (self, rr.recipient_id))
    add_wrapped_kek (self, &rr);
  custos_recipient_record_clear (&rr);
}

static void
handle_key (CustosReader *self,
            const guint8 *body,
            gsize         len,
            guint64       offset)
{
  CustosKeyRecord kr;
  g_autoptr (GError) error = NULL;
  GPtrArray *copies;
  gint64 *k;

  memset (&kr, 0, sizeof kr);
  if (!custos_key_record_parse (body, len, &kr, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0, G_MININT64,
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      return;
    }
  if (!is_ours (self, kr.recipient_id))
    return;
  /* Bounded whatever the file: a day of one-minute periods on a few
   * streams is far below this. */
  if (g_hash_table_size (self->key_records) >= MAX_KEY_RECORDS)
    g_hash_table_remove_all (self->key_records);
  k = g_new (gint64, 1);
  *k = (gint64) kr.stream << 32 | kr.period;
  copies = g_hash_table_lookup (self->key_records, k);
  if (copies == NULL)
    {
      copies = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->key_records, k, copies);
    }
  else
    g_free (k);
  for (guint i = 0; i < copies->len; i++)
    if (memcmp (copies->pdata[i], &kr, sizeof kr) == 0)
      return;
  if (copies->len < MAX_COPIES)
    g_ptr_array_add (copies, g_memdup2 (&kr, sizeof kr));
}

static void
report_key_failure (CustosReader           *self,
                    const CustosDataRecord *d,
                    guint64                 offset,
                    const char             *what,
                    const GError           *error)
{
  custos_report_add (self->report, CUSTOS_ISSUE_KEY_FAILED, offset, d->stream, d->period,
                     d->counter, G_MININT64, "%s: %s", what, error->message);
}

/* The KEK of a key record's (recipient, epoch). Only a damaged copy makes
 * it try the next one: a wrong PIN or passphrase is final (a card locks
 * after a few), and so is a declined prompt. */
static CustosSecret *
get_kek (CustosReader           *self,
         const CustosKeyRecord  *kr,
         const CustosDataRecord *d,
         guint64                 offset)
{
  g_autoptr (GBytes) k = kek_key (kr->recipient_id, kr->epoch);
  g_autofree char *hex = custos_hex_encode (kr->recipient_id, 8);
  g_autofree char *what = NULL;
  GPtrArray *copies;
  CustosSecret *kek;

  if ((kek = g_hash_table_lookup (self->keks, k)) != NULL)
    return custos_secret_ref (kek);
  if (g_hash_table_contains (self->failed_keks, k))
    return NULL;
  copies = g_hash_table_lookup (self->wrapped_keks, k);
  what = g_strdup_printf ("key of recipient %s… for epoch %u", hex, kr->epoch);
  while (copies != NULL && copies->len > 0)
    {
      g_autoptr (GError) error = NULL;

      kek = custos_key_provider_unwrap_kek (self->provider, copies->pdata[0], self->interaction,
                                            NULL, &error);
      if (kek != NULL)
        {
          if (g_hash_table_size (self->keks) >= MAX_KEKS)
            g_hash_table_remove_all (self->keks);
          g_hash_table_insert (self->keks, g_bytes_ref (k), custos_secret_ref (kek));
          return kek;
        }
      report_key_failure (self, d, offset, what, error);
      if (!g_error_matches (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED))
        {
          g_hash_table_add (self->failed_keks, g_bytes_ref (k));
          return NULL;
        }
      g_ptr_array_remove_index (copies, 0);
    }
  return NULL;
}

/* The GCM context of (stream, period), unwrapping what is needed; NULL
 * when this reader holds no key for it. */
static CustosAead *
get_aead (CustosReader           *self,
          StreamState            *st,
          const CustosDataRecord *d,
          guint64                 offset)
{
  gint64 k = (gint64) d->stream << 32 | d->period;
  GPtrArray *copies;

  if (st->have_key && st->key_period == d->period)
    return st->aead;
  copies = g_hash_table_lookup (self->key_records, &k);
  while (copies != NULL && copies->len > 0 && self->provider != NULL)
    {
      CustosKeyRecord *kr = copies->pdata[0];
      g_autoptr (CustosSecret) kek = get_kek (self, kr, d, offset);
      g_autoptr (GError) error = NULL;

      if (kek == NULL)
        return NULL;
      stream_state_drop_key (st);
      st->key = custos_kwp_unwrap (kek, kr->wrapped, kr->wrapped_len, &error);
      if (st->key != NULL && (st->aead = custos_aead_new (st->key, &error)) != NULL)
        {
          st->have_key = TRUE;
          st->key_period = d->period;
          return st->aead;
        }
      report_key_failure (self, d, offset, "a copy of the period key", error);
      stream_state_drop_key (st);
      g_ptr_array_remove_index (copies, 0);
    }
  return NULL;
}

static gboolean
have_key_record (CustosReader           *self,
                 const CustosDataRecord *d)
{
  gint64 k = (gint64) d->stream << 32 | d->period;
  GPtrArray *copies = g_hash_table_lookup (self->key_records, &k);

  return copies != NULL && copies->len > 0;
}

/* Descriptors */

static void
handle_file_header (CustosReader *self,
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
                           "offset %" G_GUINT64_FORMAT ": %s", offset, local->message);
      return;
    }
  custos_file_header_clear (&self->header);
  self->header = fh;
  self->have_header = TRUE;
}

static void
handle_stream (CustosReader *self,
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
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      return;
    }
  st = &self->streams[info.id];
  if (st->info == NULL)
    st->info = custos_stream_info_copy (&info);
  else if (!custos_stream_info_equal (st->info, &info))
    custos_report_add (self->report, CUSTOS_ISSUE_CONFLICT, offset, info.id, 0, 0, G_MININT64,
                       "stream %u is described differently at offset %" G_GUINT64_FORMAT
                       "; keeping the first description", info.id, offset);
  custos_stream_info_clear (&info);
}

static void
handle_signer (CustosReader *self,
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
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      return;
    }
  chain = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < ders->len; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_der (ders->pdata[i], &error);

      if (cert == NULL)
        {
          custos_report_add (self->report, CUSTOS_ISSUE_BAD_RECORD, offset, -1, 0, 0,
                             G_MININT64, "signer certificate %u: %s", i, error->message);
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

/* Seals */

static void
segment_reset (CustosReader *self)
{
  g_clear_pointer (&self->chain, custos_seal_chain_free);
  g_array_set_size (self->seg, 0);
}

static void
seg_add (CustosReader *self,
         const guint8 *rec,
         gsize         len,
         SegEntry     *e)
{
  if (!self->verify)
    return;
  if (self->chain == NULL)
    self->chain = custos_seal_chain_new ();
  custos_seal_chain_add (self->chain, rec, len);
  g_array_append_val (self->seg, *e);
}

static void
note_packet (CustosReader      *self,
             const SegEntry    *e,
             CustosVerifyStatus status,
             const char        *why)
{
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
                       "descriptor at offset %" G_GUINT64_FORMAT ": %s", e->offset, why);
  else
    custos_report_add (self->report,
                       status == CUSTOS_VERIFY_ALTERED ? CUSTOS_ISSUE_ALTERED
                       : status == CUSTOS_VERIFY_MISSING ? CUSTOS_ISSUE_MISSING
                                                         : CUSTOS_ISSUE_UNSIGNED,
                       e->offset, e->stream, e->period, e->counter, e->utc_us,
                       "stream %d period %u packet %u: %s", e->stream, e->period, e->counter, why);
}

static void
finish_segment_unsigned (CustosReader *self,
                         const char   *why)
{
  for (guint i = 0; i < self->seg->len; i++)
    {
      SegEntry *e = &g_array_index (self->seg, SegEntry, i);

      note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : CUSTOS_VERIFY_UNSIGNED,
                   e->gcm_failed ? "failed authentication (GCM)" : why);
    }
  segment_reset (self);
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
      return "sealed by an unknown signer (no signer certificate in the data)";
    }
  if (!custos_verify_signature (custos_certificate_get_public_key (signer->cert), seal->sig_alg,
                                body, seal->signed_len, seal->sig, seal->sig_len, &error))
    {
      *status = CUSTOS_VERIFY_ALTERED;
      return "the seal's signature is invalid";
    }
  if (self->ca_file != NULL && !signer->trusted)
    {
      *status = CUSTOS_VERIFY_UNSIGNED;
      return signer->problem ? signer->problem : "the signer is not trusted";
    }
  *status = CUSTOS_VERIFY_VERIFIED;
  return NULL;
}

static void
check_continuity (CustosReader           *self,
                  const CustosSealRecord *seal,
                  guint64                 offset)
{
  if (!self->have_prev)
    return;
  if (seal->segment != self->prev_segment + 1)
    custos_report_add (self->report, CUSTOS_ISSUE_MISSING_SEGMENT, offset, -1, 0, 0, G_MININT64,
                       "segments %u to %u are missing before offset %" G_GUINT64_FORMAT,
                       self->prev_segment + 1, seal->segment - 1, offset);
  else if (memcmp (seal->prev, self->prev_digest, CUSTOS_SHA256_LEN) != 0)
    custos_report_add (self->report, CUSTOS_ISSUE_MISSING_SEGMENT, offset, -1, 0, 0, G_MININT64,
                       "segment %u does not follow the segment before it (replaced or spliced)",
                       seal->segment);
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
          custos_report_add (self->report, CUSTOS_ISSUE_MISSING, 0, r.stream, r.period, c,
                             G_MININT64, "stream %u period %u packet %u: sealed in segment %u, "
                             "never received", r.stream, r.period, c, seal->segment);
        }
    }
  return missing;
}

/* The segment does not match its seal: name what can be named (missing,
 * failed GCM, packets the seal never listed); the rest is consistent but
 * unprovable, or, when nothing explains the mismatch, altered. */
static void
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
                     e->gcm_failed ? "failed authentication (GCM)" : "not in its seal");
      else if (named > 0)
        note_packet (self, e, CUSTOS_VERIFY_MATCHED, NULL);
      else
        note_packet (self, e, CUSTOS_VERIFY_ALTERED,
                     missing < 0 ? "its seal is inconsistent"
                                 : "its segment differs from the seal (changed by a key holder, "
                                   "reordered, or a plaintext stream altered)");
    }
}

static void
handle_seal (CustosReader *self,
             const guint8 *body,
             gsize         len,
             guint64       offset)
{
  CustosSealRecord seal;
  g_autoptr (GError) error = NULL;
  CustosVerifyStatus sig_status;
  const char *why;
  guint8 digest[CUSTOS_SHA256_LEN];

  if (!self->verify)
    return;
  if (!custos_seal_record_parse (body, len, &seal, &error))
    {
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_SEAL, offset, -1, 0, 0, G_MININT64,
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      finish_segment_unsigned (self, "its seal is unreadable");
      return;
    }
  self->report->segments++;
  check_continuity (self, &seal, offset);
  if (self->chain == NULL)
    self->chain = custos_seal_chain_new ();

  why = check_seal_signature (self, &seal, body, &sig_status);
  custos_seal_chain_get_digest (self->chain, seal.segment, seal.prev, digest);
  if (sig_status != CUSTOS_VERIFY_VERIFIED)
    {
      self->report->segments_failed++;
      custos_report_add (self->report, CUSTOS_ISSUE_BAD_SEAL, offset, -1, 0, 0, G_MININT64,
                         "segment %u: %s", seal.segment, why);
      for (guint i = 0; i < self->seg->len; i++)
        {
          SegEntry *e = &g_array_index (self->seg, SegEntry, i);
          note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : sig_status, why);
        }
    }
  else if (seal.n == self->seg->len && memcmp (digest, seal.digest, sizeof digest) == 0)
    {
      for (guint i = 0; i < self->seg->len; i++)
        {
          SegEntry *e = &g_array_index (self->seg, SegEntry, i);
          note_packet (self, e, e->gcm_failed ? CUSTOS_VERIFY_ALTERED : CUSTOS_VERIFY_VERIFIED,
                       "failed authentication (GCM)");
        }
    }
  else
    {
      self->report->segments_failed++;
      localise_failure (self, &seal);
    }
  self->have_prev = TRUE;
  self->prev_segment = seal.segment;
  memcpy (self->prev_digest, seal.digest, CUSTOS_SHA256_LEN);
  segment_reset (self);
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
          custos_report_add (self->report, CUSTOS_ISSUE_DUPLICATE, offset, d->stream, d->period,
                             d->counter, e->utc_us,
                             "stream %u period %u packet %u received twice; the copy at offset %"
                             G_GUINT64_FORMAT " was dropped", d->stream, d->period, d->counter,
                             offset);
          return FALSE;
        }
    }
  if (d->period == st->last_period && d->counter == st->last_counter)
    {
      self->report->duplicates++;
      custos_report_add (self->report, CUSTOS_ISSUE_DUPLICATE, offset, d->stream, d->period,
                         d->counter, G_MININT64, "stream %u period %u packet %u received twice",
                         d->stream, d->period, d->counter);
      return FALSE;
    }
  self->report->reordered++;
  custos_report_add (self->report, CUSTOS_ISSUE_REORDERED, offset, d->stream, d->period,
                     d->counter, G_MININT64,
                     "stream %u period %u packet %u arrived after packet %u of period %u",
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
  gint64 base = (gint64) d->period * self->header.period_ms * 1000;

  p->ref_count = 1;
  p->stream = d->stream;
  p->flags = d->flags;
  p->period = d->period;
  p->counter = d->counter;
  p->pts_us = base + d->pts_offset;
  p->dts_us = base + d->dts_offset;
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
      p->status = have_key_record (self, d) ? CUSTOS_PACKET_OK : CUSTOS_PACKET_LOCKED;
      return;
    }
  aead = get_aead (self, st, d, p->offset);
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
                           "stream %u period %u: no key for this recipient", p->stream,
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
                         "offset %" G_GUINT64_FORMAT ": %s", offset, error->message);
      return NULL;
    }
  st = &self->streams[d.stream];
  if (st->info == NULL || !self->have_header)
    {
      custos_report_add (self->report, CUSTOS_ISSUE_UNKNOWN_STREAM, offset, d.stream, d.period,
                         d.counter, G_MININT64,
                         "packet of stream %u at offset %" G_GUINT64_FORMAT
                         " before its descriptor; skipped", d.stream, offset);
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
  seg_add (self, rec, rec_len, &e);
  count_packet (self, p, (d.flags & CUSTOS_DATA_FLAG_ENCRYPTED) != 0);
  if (p->status == CUSTOS_PACKET_ALTERED && !self->verify)
    {
      self->report->altered++;
      custos_report_add (self->report, CUSTOS_ISSUE_ALTERED, offset, d.stream, d.period, d.counter,
                         p->utc_us, "stream %u period %u packet %u: failed authentication",
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

  seg_add (self, rec, len, &e);
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
      handle_file_header (self, body, h->length, offset, error);
      handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    case CUSTOS_RECORD_STREAM:
      handle_stream (self, body, h->length, offset);
      handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    case CUSTOS_RECORD_SIGNER:
      handle_signer (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_RECIPIENT:
      handle_recipient (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_KEY:
      handle_key (self, body, h->length, offset);
      return NULL;
    case CUSTOS_RECORD_DATA:
      return handle_data (self, h, rec, offset);
    case CUSTOS_RECORD_SEAL:
      handle_seal (self, body, h->length, offset);
      return NULL;
    default:
      /* INDEX and TOC serve seeking; unknown types are skipped, sealed
       * ranges still count towards the seal. */
      if (custos_record_type_is_sealed (h->type))
        handle_sealed_descriptor (self, rec, CUSTOS_RECORD_HEADER_LEN + h->length, offset);
      return NULL;
    }
}

CustosPacket *
custos_reader_next_packet (CustosReader *self,
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

      if (!next_record (self, &h, &rec, &offset, cancellable, &local))
        {
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return NULL;
            }
          if (self->report->records == 0)
            {
              g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                                   "no fusion stream records found");
              return NULL;
            }
          if (self->seg->len > 0)
            finish_segment_unsigned (self, "no seal follows (end of data)");
          return NULL;
        }
      if (offset == 0 && h.type != CUSTOS_RECORD_FILE_HEADER)
        {
          g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                       "not a fusion stream: it starts with a %s record, not a file header",
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

/* Seeking */

static gboolean
read_at (CustosReader *self,
         guint64       offset,
         gsize         len,
         guint8       *out,
         GCancellable *cancellable,
         GError      **error)
{
  gsize got = 0;

  if (!g_seekable_seek (G_SEEKABLE (self->input), offset, G_SEEK_SET, cancellable, error) ||
      !g_input_stream_read_all (self->input, out, len, &got, cancellable, error))
    return FALSE;
  self->bytes_read += got;
  if (got != len)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                   "the index points past the end of the file (offset %" G_GUINT64_FORMAT ")",
                   offset);
      return FALSE;
    }
  return TRUE;
}

/* Reads the record at offset into a new buffer (header + body). */
static guint8 *
read_record_at (CustosReader       *self,
                guint64             offset,
                CustosRecordHeader *h,
                GCancellable       *cancellable,
                GError            **error)
{
  guint8 head[CUSTOS_RECORD_HEADER_LEN];
  g_autofree guint8 *rec = NULL;

  if (!read_at (self, offset, sizeof head, head, cancellable, error) ||
      !custos_record_header_parse (head, sizeof head, h, error))
    return NULL;
  rec = g_malloc (CUSTOS_RECORD_HEADER_LEN + h->length);
  memcpy (rec, head, sizeof head);
  if (!read_at (self, offset + sizeof head, h->length, rec + sizeof head, cancellable, error))
    return NULL;
  return g_steal_pointer (&rec);
}

static GArray *
read_toc (CustosReader *self,
          GCancellable *cancellable,
          GError      **error)
{
  guint8 tail[16];
  goffset size;
  guint64 toc_offset;
  CustosRecordHeader h;
  g_autofree guint8 *rec = NULL;

  if (!g_seekable_seek (G_SEEKABLE (self->input), 0, G_SEEK_END, cancellable, error))
    return NULL;
  size = g_seekable_tell (G_SEEKABLE (self->input));
  if (size < 16 || !read_at (self, size - 16, 16, tail, cancellable, error))
    return NULL;
  toc_offset = custos_read_u64 (tail);
  if (memcmp (tail + 8, CUSTOS_TOC_MAGIC, CUSTOS_TOC_MAGIC_LEN) != 0 || toc_offset >= (guint64) size)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           "the file has no index (unfinished recording or a live capture)");
      return NULL;
    }
  rec = read_record_at (self, toc_offset, &h, cancellable, error);
  if (rec == NULL)
    return NULL;
  if (h.type != CUSTOS_RECORD_TOC)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           "the file's trailer does not point at its table of contents");
      return NULL;
    }
  return custos_toc_record_parse (rec + CUSTOS_RECORD_HEADER_LEN, h.length, toc_offset, error);
}

static gboolean
find_keyframe (CustosReader      *self,
               gint64             time_us,
               CustosIndexRecord *ir,
               guint64           *keyframe_offset,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr (GArray) toc = read_toc (self, cancellable, error);
  g_autofree guint8 *rec = NULL;
  CustosRecordHeader h;
  guint pick = 0;

  if (toc == NULL)
    return FALSE;
  if (toc->len == 0)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           "the file's index is empty");
      return FALSE;
    }
  for (guint i = 0; i < toc->len; i++)
    if (g_array_index (toc, CustosTocEntry, i).first_us <= time_us)
      pick = i;

  rec = read_record_at (self, g_array_index (toc, CustosTocEntry, pick).index_offset, &h,
                        cancellable, error);
  if (rec == NULL || !custos_index_record_parse (rec + CUSTOS_RECORD_HEADER_LEN, h.length, ir, error))
    return FALSE;
  *keyframe_offset = ir->segment_offset;
  for (guint i = 0; i < ir->entries->len; i++)
    {
      CustosIndexEntry *e = &g_array_index (ir->entries, CustosIndexEntry, i);

      if (e->pts_us <= time_us || i == 0)
        *keyframe_offset = e->offset;
    }
  return TRUE;
}

/* From the sync point to the segment: descriptors and key records are
 * read, everything else is stepped over by its length. */
static gboolean
read_preamble (CustosReader *self,
               guint64       from,
               guint64       to,
               GCancellable *cancellable,
               GError      **error)
{
  guint64 offset = from;

  while (offset < to)
    {
      guint8 head[CUSTOS_RECORD_HEADER_LEN];
      CustosRecordHeader h;
      g_autofree guint8 *rec = NULL;

      if (!read_at (self, offset, sizeof head, head, cancellable, error) ||
          !custos_record_header_parse (head, sizeof head, &h, error))
        return FALSE;
      if (h.type <= CUSTOS_RECORD_KEY)
        {
          rec = read_record_at (self, offset, &h, cancellable, error);
          if (rec == NULL)
            return FALSE;
          if (h.type == CUSTOS_RECORD_FILE_HEADER)
            handle_file_header (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset, NULL);
          else if (h.type == CUSTOS_RECORD_STREAM)
            handle_stream (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_SIGNER)
            handle_signer (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_RECIPIENT)
            handle_recipient (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_KEY)
            handle_key (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
        }
      offset += CUSTOS_RECORD_HEADER_LEN + h.length;
    }
  return TRUE;
}

gboolean
custos_reader_seek (CustosReader *self,
                    gint64        time_us,
                    GCancellable *cancellable,
                    GError      **error)
{
  CustosIndexRecord ir = { 0 };
  guint64 keyframe = 0;
  gboolean ok;

  g_return_val_if_fail (CUSTOS_IS_READER (self), FALSE);

  if (!G_IS_SEEKABLE (self->input) || !g_seekable_can_seek (G_SEEKABLE (self->input)))
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           "this input cannot seek");
      return FALSE;
    }
  ok = find_keyframe (self, time_us, &ir, &keyframe, cancellable, error) &&
       read_preamble (self, ir.sync_offset, ir.segment_offset, cancellable, error) &&
       g_seekable_seek (G_SEEKABLE (self->input), ir.segment_offset, G_SEEK_SET, cancellable,
                        error);
  if (ok)
    {
      /* Read from the segment start so its seal can be checked, but hand
       * out packets only from the keyframe on. */
      if (self->whole != NULL)
        self->pos = MIN (ir.segment_offset, self->end);
      else
        {
          self->pos = self->end = 0;
          self->base = ir.segment_offset;
          self->eof = FALSE;
        }
      self->skip_until = keyframe;
      self->have_prev = FALSE;
      segment_reset (self);
      for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
        self->streams[i].have_last = FALSE;
    }
  custos_index_record_clear (&ir);
  return ok;
}
