/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader's keys: recipient and key records (all copies), unwrapping on demand. */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-reader-private.h"

/* Keys */

GBytes *
custos_reader_kek_key (const guint8 id[CUSTOS_RECIPIENT_ID_LEN],
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
  g_autoptr (GBytes) k = custos_reader_kek_key (rr->recipient_id, rr->epoch);
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

void
custos_reader_handle_recipient (CustosReader *self,
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
                         /* Translators: a byte offset in the file, and what is wrong there. */
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
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

void
custos_reader_handle_key (CustosReader *self,
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
                         _ ("offset %" PRIu64 ": %s"), offset, error->message);
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
                     /* Translators: what could not be opened (a key of a recipient), and why. */
                     d->counter, G_MININT64, _ ("%s: %s"), what, error->message);
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
  g_autoptr (GBytes) k = custos_reader_kek_key (kr->recipient_id, kr->epoch);
  g_autofree char *hex = custos_hex_encode (kr->recipient_id, 8);
  g_autofree char *what = NULL;
  GPtrArray *copies;
  CustosSecret *kek;

  if ((kek = g_hash_table_lookup (self->keks, k)) != NULL)
    return custos_secret_ref (kek);
  if (g_hash_table_contains (self->failed_keks, k))
    return NULL;
  copies = g_hash_table_lookup (self->wrapped_keks, k);
  what = g_strdup_printf (_ ("key of recipient %s… for epoch %u"), hex, kr->epoch);
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
CustosAead *
custos_reader_get_aead (CustosReader           *self,
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
      custos_reader_stream_drop_key (st);
      st->key = custos_kwp_unwrap (kek, kr->wrapped, kr->wrapped_len, &error);
      if (st->key != NULL && (st->aead = custos_aead_new (st->key, &error)) != NULL)
        {
          st->have_key = TRUE;
          st->key_period = d->period;
          return st->aead;
        }
      report_key_failure (self, d, offset, "a copy of the period key", error);
      custos_reader_stream_drop_key (st);
      g_ptr_array_remove_index (copies, 0);
    }
  return NULL;
}

gboolean
custos_reader_have_key_record (CustosReader           *self,
                 const CustosDataRecord *d)
{
  gint64 k = (gint64) d->stream << 32 | d->period;
  GPtrArray *copies = g_hash_table_lookup (self->key_records, &k);

  return copies != NULL && copies->len > 0;
}

void
custos_reader_forget_keys (CustosReader *self,
                           const guint8  recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  GHashTableIter iter;
  GBytes *k;

  g_hash_table_iter_init (&iter, self->keks);
  while (g_hash_table_iter_next (&iter, (gpointer *) &k, NULL))
    if (memcmp (g_bytes_get_data (k, NULL), recipient_id, CUSTOS_RECIPIENT_ID_LEN) == 0)
      g_hash_table_iter_remove (&iter);
  /* Period keys do not record which KEK opened them: drop them all; the
   * keys of other cards come back from the keyring's cache. */
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    custos_reader_stream_drop_key (&self->streams[i]);
}

void
custos_reader_forget_pending (CustosReader *self)
{
  g_autoptr (GByteArray) ids = NULL;

  g_mutex_lock (&self->forget_lock);
  if (self->forget_ids->len > 0)
    {
      ids = g_steal_pointer (&self->forget_ids);
      self->forget_ids = g_byte_array_new ();
    }
  g_mutex_unlock (&self->forget_lock);
  for (guint i = 0; ids != NULL && i < ids->len; i += CUSTOS_RECIPIENT_ID_LEN)
    custos_reader_forget_keys (self, ids->data + i);
}
