/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeking in files: trailer, table of contents, index, sync point. */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-reader-private.h"

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
                   _ ("the index points past the end of the file (offset %" PRIu64 ")"),
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
                           _ ("the file has no index (unfinished recording or a live capture)"));
      return NULL;
    }
  rec = read_record_at (self, toc_offset, &h, cancellable, error);
  if (rec == NULL)
    return NULL;
  if (h.type != CUSTOS_RECORD_TOC)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("the file's trailer does not point at its table of contents"));
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
                           _ ("the file's index is empty"));
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
            custos_reader_handle_file_header (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset, NULL);
          else if (h.type == CUSTOS_RECORD_STREAM)
            custos_reader_handle_stream (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_SIGNER)
            custos_reader_handle_signer (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_RECIPIENT)
            custos_reader_handle_recipient (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
          else if (h.type == CUSTOS_RECORD_KEY)
            custos_reader_handle_key (self, rec + CUSTOS_RECORD_HEADER_LEN, h.length, offset);
        }
      offset += CUSTOS_RECORD_HEADER_LEN + h.length;
    }
  return TRUE;
}

static gboolean seek_locked (CustosReader *self,
                             gint64        time_us,
                             GCancellable *cancellable,
                             GError      **error);

gboolean
custos_reader_seek (CustosReader *self,
                    gint64        time_us,
                    GCancellable *cancellable,
                    GError      **error)
{
  gboolean ok;

  g_return_val_if_fail (CUSTOS_IS_READER (self), FALSE);

  g_mutex_lock (&self->busy);
  custos_reader_forget_pending (self);
  /* The window is refilled from its start. */
  custos_reader_window_settle (self);
  ok = seek_locked (self, time_us, cancellable, error);
  g_mutex_unlock (&self->busy);
  return ok;
}

static gboolean
seek_locked (CustosReader *self,
             gint64        time_us,
             GCancellable *cancellable,
             GError      **error)
{
  CustosIndexRecord ir = { 0 };
  guint64 keyframe = 0;
  gboolean ok;

  if (!G_IS_SEEKABLE (self->input) || !g_seekable_can_seek (G_SEEKABLE (self->input)))
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("this input cannot seek"));
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
      custos_reader_segment_reset (self);
      for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
        self->streams[i].have_last = FALSE;
    }
  custos_index_record_clear (&ir);
  return ok;
}

gboolean
custos_reader_get_time_range (CustosReader *self,
                              gint64       *first_us,
                              gint64       *last_us,
                              GCancellable *cancellable,
                              GError      **error)
{
  g_autoptr (GArray) toc = NULL;
  g_autoptr (GError) local = NULL;
  goffset position;

  g_return_val_if_fail (CUSTOS_IS_READER (self), FALSE);

  if (!G_IS_SEEKABLE (self->input) || !g_seekable_can_seek (G_SEEKABLE (self->input)))
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("this input cannot seek"));
      return FALSE;
    }
  /* The window expects the input where it left it; reading may be going
   * on in another thread, so this waits for it. */
  g_mutex_lock (&self->busy);
  position = g_seekable_tell (G_SEEKABLE (self->input));
  toc = read_toc (self, cancellable, &local);
  if (!g_seekable_seek (G_SEEKABLE (self->input), position, G_SEEK_SET, cancellable,
                        local == NULL ? &local : NULL))
    g_clear_pointer (&toc, g_array_unref);
  g_mutex_unlock (&self->busy);
  if (toc == NULL)
    {
      if (local == NULL)
        g_set_error_literal (&local, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                             _ ("the file is too short to hold an index"));
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (toc->len == 0)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("the file's index is empty"));
      return FALSE;
    }
  *first_us = G_MAXINT64;
  *last_us = G_MININT64;
  for (guint i = 0; i < toc->len; i++)
    {
      CustosTocEntry *e = &g_array_index (toc, CustosTocEntry, i);

      *first_us = MIN (*first_us, e->first_us);
      *last_us = MAX (*last_us, e->last_us);
    }
  return TRUE;
}
