/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <string.h>

#include "custos-record.h"
#include "custos-record-filter.h"

/* Offsets of the recipient id in RECIPIENT and KEY bodies (§4.7). */
#define RECIPIENT_ID_OFFSET 0
#define KEY_RECIPIENT_ID_OFFSET 5
/* start and end in a SEAL body (§4.8). */
#define SEAL_START_OFFSET 38

struct _CustosRecordFilter
{
  gboolean have_recipient;
  guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN];
  guint64  dropped_keys;
};

gboolean
custos_record_walk_next (const guint8      *data,
                         gsize              len,
                         gsize             *pos,
                         CustosRecordView  *view,
                         gsize             *need,
                         GError           **error)
{
  CustosRecordHeader header;
  gsize left = len - *pos;

  if (need != NULL)
    *need = 0;
  if (left < CUSTOS_RECORD_HEADER_LEN)
    {
      if (need != NULL && left > 0)
        *need = CUSTOS_RECORD_HEADER_LEN;
      return FALSE;
    }
  if (!custos_record_header_parse (data + *pos, left, &header, error))
    return FALSE;
  if (left < CUSTOS_RECORD_HEADER_LEN + (gsize) header.length)
    {
      if (need != NULL)
        *need = CUSTOS_RECORD_HEADER_LEN + (gsize) header.length;
      return FALSE;
    }
  view->offset = *pos;
  view->type = header.type;
  view->flags = header.flags;
  view->length = header.length;
  view->body = data + *pos + CUSTOS_RECORD_HEADER_LEN;
  *pos += CUSTOS_RECORD_HEADER_LEN + header.length;
  return TRUE;
}

gboolean
custos_record_seal_times (const CustosRecordView *view,
                          gint64                 *start_us,
                          gint64                 *end_us)
{
  if (view->type != CUSTOS_RECORD_SEAL || view->length < SEAL_START_OFFSET + 16)
    return FALSE;
  *start_us = (gint64) custos_read_u64 (view->body + SEAL_START_OFFSET);
  *end_us = (gint64) custos_read_u64 (view->body + SEAL_START_OFFSET + 8);
  return TRUE;
}

CustosRecordFilter *
custos_record_filter_new (const guint8 *recipient_id)
{
  CustosRecordFilter *self = g_new0 (CustosRecordFilter, 1);

  if (recipient_id != NULL)
    {
      self->have_recipient = TRUE;
      memcpy (self->recipient_id, recipient_id, CUSTOS_RECIPIENT_ID_LEN);
    }
  return self;
}

void
custos_record_filter_free (CustosRecordFilter *self)
{
  g_free (self);
}

guint64
custos_record_filter_get_dropped_keys (CustosRecordFilter *self)
{
  return self->dropped_keys;
}

static gboolean
addressed_to_client (CustosRecordFilter     *self,
                     const CustosRecordView *view,
                     gsize                   id_offset)
{
  if (!self->have_recipient || view->length < id_offset + CUSTOS_RECIPIENT_ID_LEN)
    return FALSE;
  return memcmp (view->body + id_offset, self->recipient_id, CUSTOS_RECIPIENT_ID_LEN) == 0;
}

static gboolean
record_passes (CustosRecordFilter     *self,
               const CustosRecordView *view)
{
  switch (view->type)
    {
    case CUSTOS_RECORD_SIGNER:
    case CUSTOS_RECORD_SEAL:
      return TRUE;
    case CUSTOS_RECORD_RECIPIENT:
      return addressed_to_client (self, view, RECIPIENT_ID_OFFSET);
    case CUSTOS_RECORD_KEY:
      return addressed_to_client (self, view, KEY_RECIPIENT_ID_OFFSET);
    case CUSTOS_RECORD_INDEX:
    case CUSTOS_RECORD_TOC:
    case CUSTOS_RECORD_PADDING:
      return FALSE;
    default:
      /* Sealed types must pass or the seal breaks; anything else unknown
       * is not ours to forward. */
      return custos_record_type_is_sealed (view->type);
    }
}

gssize
custos_record_filter_apply (CustosRecordFilter *self,
                            const guint8       *data,
                            gsize               len,
                            GByteArray         *out,
                            gsize              *need,
                            GError            **error)
{
  CustosRecordView view;
  gsize pos = 0;
  GError *local = NULL;

  while (custos_record_walk_next (data, len, &pos, &view, need, &local))
    {
      if (record_passes (self, &view))
        g_byte_array_append (out, data + view.offset, CUSTOS_RECORD_HEADER_LEN + view.length);
      else if (view.type == CUSTOS_RECORD_KEY || view.type == CUSTOS_RECORD_RECIPIENT)
        self->dropped_keys++;
    }
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, local, "offset %" G_GSIZE_FORMAT ": ", pos);
      return -1;
    }
  return (gssize) pos;
}
