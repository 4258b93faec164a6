/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-export"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-export.h"
#include "custos-i18n-private.h"
#include "custos-record.h"
#include "custos-rewrap-private.h"

/* Progress is worth telling about once per this much input. */
#define PROGRESS_BYTES (512 * 1024)

/* The segments to copy: TOC entries first … last (inclusive), and the
 * input bytes from the sync point to the end of the last INDEX. */
typedef struct
{
  GArray  *toc;   /* CustosTocEntry of the whole input */
  guint    first;
  guint    last;
  guint64  start; /* the sync point's FILE_HEADER */
  guint64  end;
} Range;

static void
range_clear (Range *range)
{
  g_clear_pointer (&range->toc, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Range, range_clear)

/* Reading at offsets */

static gboolean
read_at (GInputStream  *input,
         guint64        offset,
         gsize          len,
         guint8        *out,
         GCancellable  *cancellable,
         GError       **error)
{
  gsize got = 0;

  if (!g_seekable_seek (G_SEEKABLE (input), offset, G_SEEK_SET, cancellable, error) ||
      !g_input_stream_read_all (input, out, len, &got, cancellable, error))
    return FALSE;
  if (got != len)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                   _ ("the index points past the end of the file (offset %" PRIu64 ")"),
                   offset);
      return FALSE;
    }
  return TRUE;
}

/* The record at offset, which the index says has the given type. */
static guint8 *
read_record_at (GInputStream        *input,
                guint64              offset,
                guint8               type,
                CustosRecordHeader  *h,
                GCancellable        *cancellable,
                GError             **error)
{
  g_autofree guint8 *rec = NULL;
  g_autoptr (GError) local = NULL;

  if (!g_seekable_seek (G_SEEKABLE (input), offset, G_SEEK_SET, cancellable, error))
    return NULL;
  rec = custos_record_read_next (input, offset, h, cancellable, &local);
  if (local != NULL && local->domain != CUSTOS_FORMAT_ERROR)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  /* INDEX and TOC are not sealed: an offset that misses is a broken or
   * forged index, not damage to the data. */
  if (rec == NULL || h->type != type)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                   _ ("the index points at offset %" PRIu64 ", where there is no %s "
                      "record"),
                   offset, custos_record_type_to_string (type));
      return NULL;
    }
  return g_steal_pointer (&rec);
}

static GArray *
read_toc (GInputStream  *input,
          GCancellable  *cancellable,
          GError       **error)
{
  guint8 tail[16];
  goffset size;
  guint64 toc_offset;
  CustosRecordHeader h;
  g_autofree guint8 *rec = NULL;

  if (!g_seekable_seek (G_SEEKABLE (input), 0, G_SEEK_END, cancellable, error))
    return NULL;
  size = g_seekable_tell (G_SEEKABLE (input));
  if (size < 16 || !read_at (input, size - 16, 16, tail, cancellable, error))
    return NULL;
  toc_offset = custos_read_u64 (tail);
  if (memcmp (tail + 8, CUSTOS_TOC_MAGIC, CUSTOS_TOC_MAGIC_LEN) != 0 ||
      toc_offset >= (guint64) size)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("the file has no index (an unfinished recording or a live capture); "
                              "a range can only be exported from a finished file"));
      return NULL;
    }
  rec = read_record_at (input, toc_offset, CUSTOS_RECORD_TOC, &h, cancellable, error);
  if (rec == NULL)
    return NULL;
  return custos_toc_record_parse (rec + CUSTOS_RECORD_HEADER_LEN, h.length, toc_offset, error);
}

/* Choosing the segments */

/* The last segment that starts at or before t (the first if none does). */
static guint
segment_at (GArray *toc,
            gint64  t)
{
  guint pick = 0;

  for (guint i = 0; i < toc->len; i++)
    if (g_array_index (toc, CustosTocEntry, i).first_us <= t)
      pick = i;
  return pick;
}

static gboolean
read_index (GInputStream       *input,
            guint64             offset,
            CustosIndexRecord  *ir,
            gsize              *record_len,
            GCancellable       *cancellable,
            GError            **error)
{
  CustosRecordHeader h;
  g_autofree guint8 *rec = read_record_at (input, offset, CUSTOS_RECORD_INDEX, &h, cancellable,
                                           error);

  if (rec == NULL)
    return FALSE;
  *record_len = CUSTOS_RECORD_HEADER_LEN + h.length;
  return custos_index_record_parse (rec + CUSTOS_RECORD_HEADER_LEN, h.length, ir, error);
}

/* The export starts at the sync point in force at the start of the segment
 * holding `from`; segments before that one but after the sync point come
 * along, since a reader cannot start between them. */
static gboolean
find_start (GInputStream  *input,
            Range         *range,
            gint64         from_us,
            GCancellable  *cancellable,
            GError       **error)
{
  CustosIndexRecord ir = { 0 };
  CustosRecordHeader h;
  g_autofree guint8 *header = NULL;
  guint64 index_offset;
  gsize len;

  range->first = segment_at (range->toc, from_us);
  index_offset = g_array_index (range->toc, CustosTocEntry, range->first).index_offset;
  if (!read_index (input, index_offset, &ir, &len, cancellable, error))
    return FALSE;
  range->start = ir.sync_offset;
  custos_index_record_clear (&ir);
  if (range->start > index_offset)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                   _ ("the index at offset %" PRIu64 " names a sync point after it"),
                   index_offset);
      return FALSE;
    }
  header = read_record_at (input, range->start, CUSTOS_RECORD_FILE_HEADER, &h, cancellable, error);
  if (header == NULL)
    return FALSE;
  while (range->first > 0 &&
         g_array_index (range->toc, CustosTocEntry, range->first - 1).index_offset > range->start)
    range->first--;
  return TRUE;
}

/* It ends after the INDEX that follows the seal of the segment holding `to`. */
static gboolean
find_end (GInputStream  *input,
          Range         *range,
          gint64         to_us,
          GCancellable  *cancellable,
          GError       **error)
{
  CustosIndexRecord ir = { 0 };
  guint64 index_offset;
  gsize len = 0;

  range->last = MAX (segment_at (range->toc, to_us), range->first);
  index_offset = g_array_index (range->toc, CustosTocEntry, range->last).index_offset;
  if (!read_index (input, index_offset, &ir, &len, cancellable, error))
    return FALSE;
  custos_index_record_clear (&ir);
  range->end = index_offset + len;
  return TRUE;
}

static gboolean
find_range (GInputStream  *input,
            Range         *range,
            gint64         from_us,
            gint64         to_us,
            GCancellable  *cancellable,
            GError       **error)
{
  range->toc = read_toc (input, cancellable, error);
  if (range->toc == NULL)
    return FALSE;
  if (range->toc->len == 0)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("the file's index is empty"));
      return FALSE;
    }
  return find_start (input, range, from_us, cancellable, error) &&
         find_end (input, range, to_us, cancellable, error);
}

/* Copying */

typedef struct
{
  CustosExportProgressFunc func;
  gpointer                 user_data;
  guint64                  total;
  guint64                  reported;
} Progress;

static void
report_progress (Progress *progress,
                 guint64   done,
                 gboolean  last)
{
  if (progress->func == NULL || (!last && done - progress->reported < PROGRESS_BYTES))
    return;
  progress->reported = done;
  progress->func (done, progress->total, progress->user_data);
}

static gboolean
copy_records (GInputStream      *input,
              CustosRecordCopy  *copy,
              const Range       *range,
              Progress          *progress,
              GCancellable      *cancellable,
              GError           **error)
{
  guint64 offset = range->start;

  if (!g_seekable_seek (G_SEEKABLE (input), offset, G_SEEK_SET, cancellable, error))
    return FALSE;
  while (offset < range->end)
    {
      CustosRecordHeader h;
      g_autofree guint8 *rec = NULL;

      /* Streams in memory never look at the cancellable themselves. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      rec = custos_record_read_next (input, offset, &h, cancellable, error);
      if (rec == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                         _ ("the file ends at offset %" PRIu64 ", before its index says"),
                         offset);
          return FALSE;
        }
      if (!custos_record_copy_record (copy, offset, &h, rec, error))
        return FALSE;
      offset += CUSTOS_RECORD_HEADER_LEN + h.length;
      report_progress (progress, offset - range->start, FALSE);
    }
  if (offset != range->end)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                   _ ("a record crosses the end of the index at offset %" PRIu64), range->end);
      return FALSE;
    }
  return TRUE;
}

/* The TOC of the export: the entries of the copied segments. */
static GArray *
range_toc (const Range *range)
{
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));

  for (guint i = range->first; i <= range->last; i++)
    g_array_append_val (entries, g_array_index (range->toc, CustosTocEntry, i));
  return entries;
}

static void
fill_info (CustosExportInfo *info,
           const Range      *range,
           CustosRecordCopy *copy)
{
  info->first_us = G_MAXINT64;
  info->last_us = G_MININT64;
  for (guint i = range->first; i <= range->last; i++)
    {
      const CustosTocEntry *e = &g_array_index (range->toc, CustosTocEntry, i);

      info->first_us = MIN (info->first_us, e->first_us);
      info->last_us = MAX (info->last_us, e->last_us);
    }
  info->input_offset = range->start;
  info->input_length = range->end - range->start;
  info->written = custos_record_copy_get_written (copy);
  info->segments = range->last - range->first + 1;
}

gboolean
custos_export_range (GInputStream              *input,
                     GOutputStream             *output,
                     gint64                     from_us,
                     gint64                     to_us,
                     CustosKeyProvider         *provider,
                     GTlsInteraction           *interaction,
                     GPtrArray                 *recipients,
                     gboolean                   legacy,
                     CustosExportProgressFunc   progress_func,
                     gpointer                   user_data,
                     CustosExportInfo          *info,
                     GCancellable              *cancellable,
                     GError                   **error)
{
  g_auto (Range) range = { 0 };
  g_autoptr (CustosRecordCopy) copy = NULL;
  g_autoptr (GArray) toc = NULL;
  gboolean adding = recipients != NULL && recipients->len > 0;
  Progress progress = { progress_func, user_data };

  g_return_val_if_fail (G_IS_INPUT_STREAM (input) && G_IS_SEEKABLE (input), FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), FALSE);
  g_return_val_if_fail (!adding || CUSTOS_IS_KEY_PROVIDER (provider), FALSE);

  if (from_us > to_us)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("the range ends before it starts"));
      return FALSE;
    }
  if (!g_seekable_can_seek (G_SEEKABLE (input)))
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,
                           _ ("a range can only be exported from a file"));
      return FALSE;
    }
  if (!find_range (input, &range, from_us, to_us, cancellable, error))
    return FALSE;
  progress.total = range.end - range.start;

  copy = custos_record_copy_new (output, range.start, adding ? provider : NULL, interaction,
                                 cancellable);
  if (adding && !custos_record_copy_add_recipients (copy, recipients, legacy, error))
    return FALSE;
  toc = range_toc (&range);
  if (!copy_records (input, copy, &range, &progress, cancellable, error) ||
      !custos_record_copy_write_toc (copy, toc, error) ||
      !custos_record_copy_finish (copy, error))
    return FALSE;
  report_progress (&progress, progress.total, TRUE);
  if (info != NULL)
    fill_info (info, &range, copy);
  return TRUE;
}
