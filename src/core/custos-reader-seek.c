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

/* Where playing from a keyframe starts: the sync point in force, the
 * first record of the keyframe's segment, and the keyframe itself. */
typedef struct
{
  guint64 sync_offset;
  guint64 segment_offset;
  guint64 keyframe;
} SeekPoint;

/* A keyframe of the primary video stream that a scan passed. */
typedef struct
{
  gint64    pts_us;
  SeekPoint point;
} ScanKeyframe;

/* What the scan of a file without a usable index has learnt so far
 * (§6.7 step 1). It resumes where it stopped: seeking again, or asking
 * for the time range after a seek, reads no header twice, and a file
 * that grows (an unfinished recording) is read on from where it was. */
struct _CustosReaderScan
{
  guint64  offset;          /* the next record */
  guint64  sync_offset;
  guint64  segment_offset;
  guint32  period_ms;
  int      primary;
  gint64   first_us;
  gint64   last_us;
  GArray  *keyframes;       /* ScanKeyframe, in file order */
};

void
custos_reader_scan_free (CustosReaderScan *scan)
{
  g_array_unref (scan->keyframes);
  g_free (scan);
}

static CustosReaderScan *
get_scan (CustosReader *self)
{
  if (self->scan == NULL)
    {
      self->scan = g_new0 (CustosReaderScan, 1);
      self->scan->primary = -1;
      self->scan->first_us = G_MAXINT64;
      self->scan->last_us = G_MININT64;
      self->scan->keyframes = g_array_new (FALSE, FALSE, sizeof (ScanKeyframe));
    }
  return self->scan;
}

/* The keyframe a seek to target_us starts from, once the scan has passed
 * a keyframe after it: the last one before the first that is later than
 * the target, or the very first (before it, play from the first). */
static gboolean
scan_pick (CustosReaderScan *scan,
           gint64            target_us,
           SeekPoint        *pick)
{
  for (guint i = 0; i < scan->keyframes->len; i++)
    {
      ScanKeyframe *k = &g_array_index (scan->keyframes, ScanKeyframe, i);

      if (k->pts_us > target_us)
        {
          *pick = i > 0 ? g_array_index (scan->keyframes, ScanKeyframe, i - 1).point : k->point;
          return TRUE;
        }
    }
  return FALSE;
}

/* Stream id and stream time of a DATA record, from its fixed prefix
 * (read with the header). */
static gboolean
data_time (const guint8             *prefix,
           const CustosRecordHeader *h,
           guint32                   period_ms,
           guint                    *stream,
           gint64                   *pts_us,
           GError                  **error)
{
  gsize prefix_len = CUSTOS_DATA_PREFIX_LEN + ((h->flags & CUSTOS_DATA_FLAG_HAS_DTS) ? 4 : 0);
  gsize tag_len = (h->flags & CUSTOS_DATA_FLAG_ENCRYPTED) ? CUSTOS_GCM_TAG_LEN : 0;

  /* As custos_data_record_parse() says it. */
  if (h->length < prefix_len + tag_len)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("data record of %zu bytes is shorter than its "
                      "%zu-byte prefix and tag"),
                   (gsize) h->length, prefix_len + tag_len);
      return FALSE;
    }
  *stream = prefix[0];
  *pts_us = custos_data_time_us (custos_read_u32 (prefix + 4), period_ms,
                                 (gint32) custos_read_u32 (prefix + 8));
  return TRUE;
}

/* Learns what one record says: the file header's key period, the primary
 * video stream, segment starts, time span and keyframes. */
static gboolean
scan_record (CustosReader             *self,
             CustosReaderScan         *scan,
             const CustosRecordHeader *h,
             const guint8             *head,
             gsize                     have,
             GCancellable             *cancellable,
             GError                  **error)
{
  g_autofree guint8 *rec = NULL;
  guint stream;
  gint64 pts_us;

  if (h->type == CUSTOS_RECORD_FILE_HEADER || h->type == CUSTOS_RECORD_STREAM)
    {
      CustosRecordHeader again;

      rec = read_record_at (self, scan->offset, &again, cancellable, error);
      if (rec == NULL)
        return FALSE;
    }
  if (h->type == CUSTOS_RECORD_FILE_HEADER)
    {
      CustosFileHeader fh;

      if (!custos_file_header_parse (rec + CUSTOS_RECORD_HEADER_LEN, h->length, &fh, error))
        return FALSE;
      scan->period_ms = fh.period_ms;
      custos_file_header_clear (&fh);
      /* Sync points only begin segments (§4.2). */
      scan->sync_offset = scan->segment_offset = scan->offset;
    }
  else if (h->type == CUSTOS_RECORD_STREAM)
    {
      CustosStreamInfo info;

      if (!custos_stream_info_parse (rec + CUSTOS_RECORD_HEADER_LEN, h->length, &info, error))
        return FALSE;
      /* The writer cuts segments and indexes keyframes of the first
       * video stream. */
      if (scan->primary < 0 && info.kind == CUSTOS_STREAM_KIND_VIDEO)
        scan->primary = info.id;
      custos_stream_info_clear (&info);
    }
  else if (h->type == CUSTOS_RECORD_SEAL)
    scan->segment_offset = scan->offset + CUSTOS_RECORD_HEADER_LEN + h->length;
  else if (h->type == CUSTOS_RECORD_DATA && scan->period_ms > 0)
    {
      if (have < CUSTOS_RECORD_HEADER_LEN + CUSTOS_DATA_PREFIX_LEN)
        {
          g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                       _ ("the file ends inside the record at offset %" PRIu64), scan->offset);
          return FALSE;
        }
      if (!data_time (head + CUSTOS_RECORD_HEADER_LEN, h, scan->period_ms, &stream, &pts_us, error))
        return FALSE;
      scan->first_us = MIN (scan->first_us, pts_us);
      scan->last_us = MAX (scan->last_us, pts_us);
      if ((h->flags & CUSTOS_DATA_FLAG_KEYFRAME) && ((int) stream == scan->primary || scan->primary < 0))
        {
          ScanKeyframe k = { pts_us, { MIN (scan->sync_offset, scan->segment_offset),
                                       scan->segment_offset, scan->offset } };

          g_array_append_val (scan->keyframes, k);
        }
    }
  return TRUE;
}

/* Steps through the file by record lengths from where the last scan
 * stopped, reading only headers, descriptors and the fixed prefix of DATA
 * records: a fetched range or an unfinished recording has no index to
 * seek by, and this builds what its INDEX records would have said. Stops
 * once it has passed a keyframe of the primary video stream after
 * target_us (G_MAXINT64: the whole file). A damaged record ends the scan
 * with an error rather than guessing where the next is. */
static gboolean
scan_records (CustosReader *self,
              gint64        target_us,
              GCancellable *cancellable,
              GError      **error)
{
  CustosReaderScan *scan = get_scan (self);
  SeekPoint pick;
  guint n_keyframes;
  guint64 size;
  goffset end;

  if (!g_seekable_seek (G_SEEKABLE (self->input), 0, G_SEEK_END, cancellable, error))
    return FALSE;
  end = g_seekable_tell (G_SEEKABLE (self->input));
  size = end > 0 ? (guint64) end : 0;

  if (scan_pick (scan, target_us, &pick))
    return TRUE;
  while (scan->offset + CUSTOS_RECORD_HEADER_LEN <= size)
    {
      /* The header and a DATA record's prefix in one read. */
      guint8 head[CUSTOS_RECORD_HEADER_LEN + CUSTOS_DATA_PREFIX_LEN];
      gsize have = MIN (sizeof head, size - scan->offset);
      CustosRecordHeader h;

      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !read_at (self, scan->offset, have, head, cancellable, error) ||
          !custos_record_header_parse (head, have, &h, error))
        return FALSE;
      /* The cut tail of an unfinished recording: read on when it grows. */
      if (scan->offset + CUSTOS_RECORD_HEADER_LEN + h.length > size)
        break;
      n_keyframes = scan->keyframes->len;
      if (!scan_record (self, scan, &h, head, have, cancellable, error))
        return FALSE;
      scan->offset += CUSTOS_RECORD_HEADER_LEN + h.length;
      /* Past a keyframe after the target: the pick is known. */
      if (scan->keyframes->len > n_keyframes &&
          g_array_index (scan->keyframes, ScanKeyframe, n_keyframes).pts_us > target_us)
        break;
    }
  g_debug ("no index: scanned %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes", scan->offset,
           size);
  return TRUE;
}

static gboolean
find_keyframe_by_scan (CustosReader *self,
                       gint64        time_us,
                       SeekPoint    *point,
                       GCancellable *cancellable,
                       GError      **error)
{
  CustosReaderScan *scan;

  if (!scan_records (self, time_us, cancellable, error))
    return FALSE;
  scan = self->scan;
  if (scan_pick (scan, time_us, point))
    return TRUE;
  /* No keyframe after the target: the last; none at all: from the start,
   * where a sequential read begins. */
  if (scan->keyframes->len > 0)
    *point = g_array_index (scan->keyframes, ScanKeyframe, scan->keyframes->len - 1).point;
  else
    *point = (SeekPoint){ 0, 0, 0 };
  return TRUE;
}

/* A file without a usable table of contents is scanned instead (§6.7);
 * any other failure (I/O, cancellation) is the seek's. */
static gboolean
no_usable_toc (GError **local)
{
  /* No error: too short to end in a trailer. */
  if (*local == NULL)
    return TRUE;
  if (!g_error_matches (*local, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE))
    return FALSE;
  g_debug ("seeking by scanning: %s", (*local)->message);
  g_clear_error (local);
  return TRUE;
}

static gboolean
find_keyframe (CustosReader *self,
               gint64        time_us,
               SeekPoint    *point,
               GCancellable *cancellable,
               GError      **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GArray) toc = read_toc (self, cancellable, &local);
  CustosIndexRecord ir = { 0 };
  g_autofree guint8 *rec = NULL;
  CustosRecordHeader h;
  guint pick = 0;

  if (toc == NULL)
    {
      if (no_usable_toc (&local))
        return find_keyframe_by_scan (self, time_us, point, cancellable, error);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (toc->len == 0)
    return find_keyframe_by_scan (self, time_us, point, cancellable, error);
  for (guint i = 0; i < toc->len; i++)
    if (g_array_index (toc, CustosTocEntry, i).first_us <= time_us)
      pick = i;

  rec = read_record_at (self, g_array_index (toc, CustosTocEntry, pick).index_offset, &h,
                        cancellable, error);
  if (rec == NULL || !custos_index_record_parse (rec + CUSTOS_RECORD_HEADER_LEN, h.length, &ir, error))
    return FALSE;
  point->sync_offset = ir.sync_offset;
  point->segment_offset = ir.segment_offset;
  point->keyframe = ir.segment_offset;
  for (guint i = 0; i < ir.entries->len; i++)
    {
      CustosIndexEntry *e = &g_array_index (ir.entries, CustosIndexEntry, i);

      if (e->pts_us <= time_us || i == 0)
        point->keyframe = e->offset;
    }
  custos_index_record_clear (&ir);
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
  SeekPoint point = { 0 };
  gboolean ok;

  if (!G_IS_SEEKABLE (self->input) || !g_seekable_can_seek (G_SEEKABLE (self->input)))
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("this input cannot seek"));
      return FALSE;
    }
  ok = find_keyframe (self, time_us, &point, cancellable, error) &&
       read_preamble (self, point.sync_offset, point.segment_offset, cancellable, error) &&
       g_seekable_seek (G_SEEKABLE (self->input), point.segment_offset, G_SEEK_SET, cancellable,
                        error);
  if (ok)
    {
      /* Read from the segment start so its seal can be checked, but hand
       * out packets only from the keyframe on. */
      if (self->whole != NULL)
        self->pos = MIN (point.segment_offset, self->end);
      else
        {
          self->pos = self->end = 0;
          self->base = point.segment_offset;
          self->eof = FALSE;
        }
      self->skip_until = point.keyframe;
      self->have_prev = FALSE;
      custos_reader_segment_reset (self);
      for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
        self->streams[i].have_last = FALSE;
    }
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
  if (toc == NULL && no_usable_toc (&local))
    {
      /* A fetched range or an unfinished recording: its records say. */
      if (scan_records (self, G_MAXINT64, cancellable, &local))
        {
          CustosTocEntry whole = { 0, self->scan->first_us, self->scan->last_us };

          toc = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));
          if (whole.first_us <= whole.last_us)
            g_array_append_val (toc, whole);
        }
    }
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
