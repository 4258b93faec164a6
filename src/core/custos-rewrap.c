/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-rewrap"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-record.h"
#include "custos-rewrap.h"
#include "custos-rewrap-private.h"

typedef struct
{
  CustosCertificate *cert;
  CustosWrapAlg      alg;
  GHashTable        *keks;    /* epoch -> CustosSecret */
  GHashTable        *records; /* epoch -> GBytes: its RECIPIENT record, repeated as is */
} Recipient;

/* Records from this input offset on move by delta bytes in the output. */
typedef struct
{
  guint64 from;
  gint64  delta;
} Shift;

struct _CustosRecordCopy
{
  GOutputStream     *out;
  CustosKeyProvider *provider;
  GTlsInteraction   *interaction;
  GCancellable      *cancellable;
  gboolean           legacy;
  guint64            base;
  GPtrArray         *recipients;   /* Recipient */
  gboolean           have_source;
  guint8             source_id[CUSTOS_RECIPIENT_ID_LEN];
  GHashTable        *source_wraps; /* epoch -> CustosWrappedKek */
  GHashTable        *source_keks;  /* epoch -> CustosSecret */
  guint64            in_offset;
  guint64            out_offset;
  GArray            *shifts;
};

typedef CustosRecordCopy Rewrap;

static void
recipient_free (Recipient *r)
{
  g_object_unref (r->cert);
  g_hash_table_unref (r->keks);
  g_hash_table_unref (r->records);
  g_free (r);
}

CustosRecordCopy *
custos_record_copy_new (GOutputStream     *output,
                        guint64            base,
                        CustosKeyProvider *provider,
                        GTlsInteraction   *interaction,
                        GCancellable      *cancellable)
{
  Rewrap *rw = g_new0 (Rewrap, 1);
  Shift start = { 0, -(gint64) base };

  rw->out = g_object_ref (output);
  rw->provider = provider ? g_object_ref (provider) : NULL;
  rw->interaction = interaction ? g_object_ref (interaction) : NULL;
  rw->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  rw->base = base;
  rw->recipients = g_ptr_array_new_with_free_func ((GDestroyNotify) recipient_free);
  rw->source_wraps = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) custos_wrapped_kek_free);
  rw->source_keks = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) custos_secret_unref);
  rw->shifts = g_array_new (FALSE, FALSE, sizeof (Shift));
  g_array_append_val (rw->shifts, start);
  return rw;
}

void
custos_record_copy_free (CustosRecordCopy *rw)
{
  g_clear_pointer (&rw->recipients, g_ptr_array_unref);
  g_clear_pointer (&rw->source_wraps, g_hash_table_unref);
  g_clear_pointer (&rw->source_keks, g_hash_table_unref);
  g_clear_pointer (&rw->shifts, g_array_unref);
  g_clear_object (&rw->out);
  g_clear_object (&rw->provider);
  g_clear_object (&rw->interaction);
  g_clear_object (&rw->cancellable);
  g_free (rw);
}

guint64
custos_record_copy_get_written (CustosRecordCopy *rw)
{
  return rw->out_offset;
}

gboolean
custos_record_copy_add_recipients (CustosRecordCopy  *rw,
                                   GPtrArray         *certs,
                                   gboolean           legacy,
                                   GError           **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  g_return_val_if_fail (certs->len == 0 || rw->provider != NULL, FALSE);

  rw->legacy = legacy;
  for (guint i = 0; i < certs->len; i++)
    {
      Recipient *r = g_new0 (Recipient, 1);

      r->cert = g_object_ref (certs->pdata[i]);
      r->keks = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) custos_secret_unref);
      r->records = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_bytes_unref);
      g_ptr_array_add (rw->recipients, r);
      if (!custos_certificate_check_validity (r->cert, now, error) ||
          !custos_certificate_get_wrap_alg (r->cert, rw->legacy, &r->alg, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
emit (Rewrap       *rw,
      const guint8 *data,
      gsize         len,
      GError      **error)
{
  if (!g_output_stream_write_all (rw->out, data, len, NULL, rw->cancellable, error))
    return FALSE;
  rw->out_offset += len;
  return TRUE;
}

/* Called after inserted records: the input from `from` on moves. */
static void
note_shift (Rewrap  *rw,
            guint64  from)
{
  Shift s = { from, (gint64) rw->out_offset - (gint64) from };

  g_array_append_val (rw->shifts, s);
}

static guint64
map_offset (Rewrap  *rw,
            guint64  old)
{
  gint64 delta = 0;

  for (guint i = 0; i < rw->shifts->len; i++)
    {
      Shift *s = &g_array_index (rw->shifts, Shift, i);

      if (s->from > old)
        break;
      delta = s->delta;
    }
  return old + delta;
}

static gboolean emit_recipient_records (Rewrap  *rw,
                                        guint32  epoch,
                                        GError **error);

/* A recipient record of ours: learn the wrapped KEK, and give each new
 * recipient its own KEK for the same epoch, once, repeated as is. */
static gboolean
on_recipient (Rewrap       *rw,
              const guint8 *body,
              gsize         len,
              GError      **error)
{
  CustosRecipientRecord rr;

  if (!custos_recipient_record_parse (body, len, &rr, error))
    return FALSE;
  if (!rw->have_source && custos_key_provider_has_recipient (rw->provider, rr.recipient_id))
    {
      rw->have_source = TRUE;
      memcpy (rw->source_id, rr.recipient_id, CUSTOS_RECIPIENT_ID_LEN);
    }
  if (!rw->have_source || memcmp (rr.recipient_id, rw->source_id, CUSTOS_RECIPIENT_ID_LEN) != 0)
    {
      custos_recipient_record_clear (&rr);
      return TRUE;
    }
  g_hash_table_replace (rw->source_wraps, GUINT_TO_POINTER (rr.epoch),
                        custos_wrapped_kek_new (rr.recipient_id, rr.epoch, rr.alg, rr.wrapped));
  custos_recipient_record_clear (&rr);
  /* Wherever ours stands (its epoch start, every sync point), theirs too. */
  return emit_recipient_records (rw, rr.epoch, error);
}

static GBytes *
new_recipient_record (Recipient *r,
                      guint32    epoch,
                      GError   **error)
{
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  g_autoptr (CustosSecret) kek = custos_secret_new_random (CUSTOS_AES_KEY_LEN, error);
  CustosRecipientRecord rr = { 0 };
  gsize start;

  if (kek == NULL)
    return NULL;
  memcpy (rr.recipient_id, custos_certificate_get_fingerprint (r->cert), CUSTOS_RECIPIENT_ID_LEN);
  rr.epoch = epoch;
  rr.alg = r->alg;
  rr.wrapped = custos_wrap_kek (custos_certificate_get_public_key (r->cert), r->alg,
                                rr.recipient_id, epoch, kek, error);
  if (rr.wrapped == NULL)
    return NULL;
  rr.label = custos_certificate_dup_subject (r->cert);
  start = custos_record_begin (rec, CUSTOS_RECORD_RECIPIENT, 0);
  custos_recipient_record_append (rec, &rr);
  custos_recipient_record_clear (&rr);
  if (!custos_record_finish (rec, start, error))
    return NULL;
  g_hash_table_insert (r->keks, GUINT_TO_POINTER (epoch), g_steal_pointer (&kek));
  return g_byte_array_free_to_bytes (g_steal_pointer (&rec));
}

static gboolean
emit_recipient_records (Rewrap  *rw,
                        guint32  epoch,
                        GError **error)
{
  for (guint i = 0; i < rw->recipients->len; i++)
    {
      Recipient *r = rw->recipients->pdata[i];
      GBytes *rec = g_hash_table_lookup (r->records, GUINT_TO_POINTER (epoch));

      if (rec == NULL)
        {
          rec = new_recipient_record (r, epoch, error);
          if (rec == NULL)
            return FALSE;
          g_hash_table_insert (r->records, GUINT_TO_POINTER (epoch), rec);
        }
      if (!emit (rw, g_bytes_get_data (rec, NULL), g_bytes_get_size (rec), error))
        return FALSE;
    }
  return TRUE;
}

static CustosSecret *
source_kek (Rewrap  *rw,
            guint32  epoch,
            GError **error)
{
  CustosSecret *kek = g_hash_table_lookup (rw->source_keks, GUINT_TO_POINTER (epoch));
  CustosWrappedKek *wrapped;

  if (kek != NULL)
    return kek;
  wrapped = g_hash_table_lookup (rw->source_wraps, GUINT_TO_POINTER (epoch));
  if (wrapped == NULL)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("a key record of epoch %u comes before its recipient record"), epoch);
      return NULL;
    }
  kek = custos_key_provider_unwrap_kek (rw->provider, wrapped, rw->interaction, rw->cancellable,
                                        error);
  if (kek != NULL)
    g_hash_table_insert (rw->source_keks, GUINT_TO_POINTER (epoch), kek);
  return kek;
}

/* A key record of ours: the same period key, wrapped for each new recipient. */
static gboolean
on_key (Rewrap       *rw,
        const guint8 *body,
        gsize         len,
        GError      **error)
{
  CustosKeyRecord kr;
  g_autoptr (CustosSecret) period_key = NULL;
  CustosSecret *kek;

  if (!custos_key_record_parse (body, len, &kr, error))
    return FALSE;
  if (!rw->have_source || memcmp (kr.recipient_id, rw->source_id, CUSTOS_RECIPIENT_ID_LEN) != 0)
    return TRUE;
  if ((kek = source_kek (rw, kr.epoch, error)) == NULL ||
      (period_key = custos_kwp_unwrap (kek, kr.wrapped, kr.wrapped_len, error)) == NULL)
    return FALSE;

  for (guint i = 0; i < rw->recipients->len; i++)
    {
      Recipient *r = rw->recipients->pdata[i];
      CustosSecret *new_kek = g_hash_table_lookup (r->keks, GUINT_TO_POINTER (kr.epoch));
      g_autoptr (GBytes) wrapped = NULL;
      g_autoptr (GByteArray) rec = g_byte_array_new ();
      CustosKeyRecord out = kr;
      gsize start;

      if (new_kek == NULL && !emit_recipient_records (rw, kr.epoch, error))
        return FALSE;
      new_kek = g_hash_table_lookup (r->keks, GUINT_TO_POINTER (kr.epoch));
      wrapped = custos_kwp_wrap (new_kek, period_key, error);
      if (wrapped == NULL)
        return FALSE;
      memcpy (out.recipient_id, custos_certificate_get_fingerprint (r->cert),
              CUSTOS_RECIPIENT_ID_LEN);
      out.wrapped_len = g_bytes_get_size (wrapped);
      memcpy (out.wrapped, g_bytes_get_data (wrapped, NULL), out.wrapped_len);
      start = custos_record_begin (rec, CUSTOS_RECORD_KEY, 0);
      custos_key_record_append (rec, &out);
      if (!custos_record_finish (rec, start, error) || !emit (rw, rec->data, rec->len, error))
        return FALSE;
    }
  return TRUE;
}

/* INDEX offsets are not sealed: one that points before the copied range
 * cannot be mapped, and says the index does not describe this file. */
static gboolean
check_in_range (Rewrap   *rw,
                guint64   offset,
                GError  **error)
{
  if (offset >= rw->base)
    return TRUE;
  g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
               _ ("the index at offset %" PRIu64 " points before the exported range "
                  "(offset %" PRIu64 ")"),
               rw->in_offset, offset);
  return FALSE;
}

static gboolean
map_index (Rewrap            *rw,
           CustosIndexRecord *ir,
           GError           **error)
{
  if (!check_in_range (rw, ir->sync_offset, error) ||
      !check_in_range (rw, ir->segment_offset, error))
    return FALSE;
  ir->sync_offset = map_offset (rw, ir->sync_offset);
  ir->segment_offset = map_offset (rw, ir->segment_offset);
  for (guint i = 0; i < ir->entries->len; i++)
    {
      CustosIndexEntry *e = &g_array_index (ir->entries, CustosIndexEntry, i);

      if (!check_in_range (rw, e->offset, error))
        return FALSE;
      e->offset = map_offset (rw, e->offset);
    }
  return TRUE;
}

static gboolean
rewrite_index (Rewrap       *rw,
               const guint8 *body,
               gsize         len,
               GError      **error)
{
  CustosIndexRecord ir;
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  gsize start;
  gboolean ok;

  if (!custos_index_record_parse (body, len, &ir, error))
    return FALSE;
  ok = map_index (rw, &ir, error);
  if (ok)
    {
      start = custos_record_begin (rec, CUSTOS_RECORD_INDEX, 0);
      custos_index_record_append (rec, &ir);
      ok = custos_record_finish (rec, start, error) && emit (rw, rec->data, rec->len, error);
    }
  custos_index_record_clear (&ir);
  return ok;
}

gboolean
custos_record_copy_write_toc (CustosRecordCopy  *rw,
                              GArray            *entries,
                              GError           **error)
{
  g_autoptr (GArray) mapped = g_array_copy (entries);
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  gsize start;

  for (guint i = 0; i < mapped->len; i++)
    {
      CustosTocEntry *e = &g_array_index (mapped, CustosTocEntry, i);

      if (!check_in_range (rw, e->index_offset, error))
        return FALSE;
      e->index_offset = map_offset (rw, e->index_offset);
    }
  start = custos_record_begin (rec, CUSTOS_RECORD_TOC, 0);
  custos_toc_record_append (rec, mapped, rw->out_offset);
  return custos_record_finish (rec, start, error) && emit (rw, rec->data, rec->len, error);
}

static gboolean
rewrite_toc (Rewrap       *rw,
             const guint8 *body,
             gsize         len,
             GError      **error)
{
  g_autoptr (GArray) entries = custos_toc_record_parse (body, len, rw->in_offset, error);

  return entries != NULL && custos_record_copy_write_toc (rw, entries, error);
}

guint8 *
custos_record_read_next (GInputStream        *in,
                         guint64              offset,
                         CustosRecordHeader  *h,
                         GCancellable        *cancellable,
                         GError             **error)
{
  guint8 head[CUSTOS_RECORD_HEADER_LEN];
  g_autofree guint8 *rec = NULL;
  gsize got;

  if (!g_input_stream_read_all (in, head, sizeof head, &got, cancellable, error))
    return NULL;
  if (got == 0)
    return NULL;
  if (!custos_record_header_parse (head, got, h, error))
    {
      g_prefix_error (error, _ ("offset %" PRIu64 ": an export needs an intact file: "),
                      offset);
      return NULL;
    }
  rec = g_malloc (sizeof head + h->length);
  memcpy (rec, head, sizeof head);
  if (!g_input_stream_read_all (in, rec + sizeof head, h->length, &got, cancellable, error))
    return NULL;
  if (got != h->length)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                   _ ("the file ends inside a record at offset %" PRIu64), offset);
      return NULL;
    }
  return g_steal_pointer (&rec);
}

/* Key records are only looked at when there is someone to share them with. */
static gboolean
sharing (Rewrap *rw)
{
  return rw->provider != NULL;
}

gboolean
custos_record_copy_record (CustosRecordCopy          *rw,
                           guint64                    offset,
                           const CustosRecordHeader  *h,
                           const guint8              *rec,
                           GError                   **error)
{
  const guint8 *body = rec + CUSTOS_RECORD_HEADER_LEN;
  gsize len = CUSTOS_RECORD_HEADER_LEN + h->length;
  guint64 out_before = rw->out_offset;
  gboolean ok;

  rw->in_offset = offset;
  switch (h->type)
    {
    case CUSTOS_RECORD_INDEX:
      return rewrite_index (rw, body, h->length, error);
    case CUSTOS_RECORD_TOC:
      return rewrite_toc (rw, body, h->length, error);
    case CUSTOS_RECORD_RECIPIENT:
      ok = emit (rw, rec, len, error) &&
           (!sharing (rw) || on_recipient (rw, body, h->length, error));
      break;
    case CUSTOS_RECORD_KEY:
      ok = emit (rw, rec, len, error) && (!sharing (rw) || on_key (rw, body, h->length, error));
      break;
    default:
      return emit (rw, rec, len, error);
    }
  if (ok && rw->out_offset - out_before != len)
    note_shift (rw, offset + len);
  return ok;
}

gboolean
custos_record_copy_finish (CustosRecordCopy  *rw,
                           GError           **error)
{
  if (rw->provider != NULL && !rw->have_source)
    {
      g_set_error_literal (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
                           _ ("none of your keys opens this file, so its keys cannot be shared"));
      return FALSE;
    }
  return g_output_stream_flush (rw->out, rw->cancellable, error);
}

gboolean
custos_rewrap (GInputStream      *input,
               GOutputStream     *output,
               CustosKeyProvider *provider,
               GTlsInteraction   *interaction,
               GPtrArray         *recipients,
               gboolean           legacy,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr (CustosRecordCopy) copy = NULL;
  guint64 offset = 0;

  g_return_val_if_fail (G_IS_INPUT_STREAM (input), FALSE);
  g_return_val_if_fail (CUSTOS_IS_KEY_PROVIDER (provider), FALSE);

  copy = custos_record_copy_new (output, 0, provider, interaction, cancellable);
  if (!custos_record_copy_add_recipients (copy, recipients, legacy, error))
    return FALSE;
  for (;;)
    {
      CustosRecordHeader h;
      GError *local = NULL;
      g_autofree guint8 *rec = custos_record_read_next (input, offset, &h, cancellable, &local);

      if (rec == NULL)
        {
          if (local != NULL)
            {
              g_propagate_error (error, local);
              return FALSE;
            }
          break;
        }
      if (!custos_record_copy_record (copy, offset, &h, rec, error))
        return FALSE;
      offset += CUSTOS_RECORD_HEADER_LEN + h.length;
    }
  return custos_record_copy_finish (copy, error);
}
