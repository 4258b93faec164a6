/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos-record.h"
#include "custos-segment-map.h"

#define TOC_TRAILER_LEN 16
/* More than any real SEAL (255 ranges and a 512-byte RSA signature). */
#define MAX_SEAL_BODY   (8 * 1024)
#define MAX_INDEX_BODY  (64 * 1024 * 18 + 64)

static gboolean
read_exact (int           fd,
            guint64       offset,
            void         *buf,
            gsize         len,
            GError      **error)
{
  guint8 *p = buf;

  while (len > 0)
    {
      gssize n = pread (fd, p, len, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, n < 0 ? g_io_error_from_errno (errno) : G_IO_ERROR_FAILED,
                       "read at offset %" G_GUINT64_FORMAT ": %s", offset,
                       n < 0 ? g_strerror (errno) : "unexpected end of file");
          return FALSE;
        }
      p += n;
      len -= n;
      offset += n;
    }
  return TRUE;
}

static gboolean
read_header (int                 fd,
             guint64             offset,
             CustosRecordHeader *header,
             GError            **error)
{
  guint8 buf[CUSTOS_RECORD_HEADER_LEN];

  return read_exact (fd, offset, buf, sizeof buf, error) &&
         custos_record_header_parse (buf, sizeof buf, header, error);
}

static guint8 *
read_body (int                       fd,
           guint64                   offset,
           const CustosRecordHeader *header,
           gsize                     max,
           GError                  **error)
{
  g_autofree guint8 *body = NULL;

  if (header->length > max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "record at offset %" G_GUINT64_FORMAT " is implausibly large", offset);
      return NULL;
    }
  body = g_malloc (MAX (header->length, 1));
  if (!read_exact (fd, offset + CUSTOS_RECORD_HEADER_LEN, body, header->length, error))
    return NULL;
  return g_steal_pointer (&body);
}

/* Scanning */

typedef struct
{
  GArray           *spans;
  CustosSegmentSpan open;     /* the segment being walked */
  gboolean          in_segment;
} Scan;

static void
scan_seal (Scan        *scan,
           int          fd,
           guint64      offset,
           const CustosRecordHeader *header,
           guint64      end)
{
  g_autofree guint8 *body = read_body (fd, offset, header, MAX_SEAL_BODY, NULL);

  if (body == NULL || header->length < 54)
    return;
  scan->open.first_us = (gint64) custos_read_u64 (body + 38);
  scan->open.last_us = (gint64) custos_read_u64 (body + 46);
  scan->open.end = end;
  g_array_append_val (scan->spans, scan->open);
  scan->in_segment = FALSE;
}

GArray *
custos_segment_map_scan (int       fd,
                         guint64   limit,
                         guint64  *valid_end,
                         GError  **error)
{
  Scan scan = { g_array_new (FALSE, TRUE, sizeof (CustosSegmentSpan)) };
  guint64 pos = 0;

  while (pos + CUSTOS_RECORD_HEADER_LEN <= limit)
    {
      CustosRecordHeader header;
      guint64 end;

      /* A bad header in a file we wrote is where a crash cut it. */
      if (!read_header (fd, pos, &header, NULL))
        break;
      end = pos + CUSTOS_RECORD_HEADER_LEN + header.length;
      if (end > limit)
        break;
      if (header.type == CUSTOS_RECORD_INDEX && scan.spans->len > 0 && !scan.in_segment)
        {
          CustosSegmentSpan *last = &g_array_index (scan.spans, CustosSegmentSpan,
                                                    scan.spans->len - 1);
          if (last->end == pos)
            {
              last->index_offset = pos;
              last->index_end = end;
            }
        }
      else if (header.type == CUSTOS_RECORD_TOC)
        ;
      else if (!scan.in_segment)
        {
          memset (&scan.open, 0, sizeof scan.open);
          scan.open.start = pos;
          scan.open.sync = header.type == CUSTOS_RECORD_FILE_HEADER;
          scan.in_segment = TRUE;
        }
      if (header.type == CUSTOS_RECORD_SEAL)
        scan_seal (&scan, fd, pos, &header, end);
      pos = end;
    }
  if (valid_end != NULL)
    *valid_end = pos;
  return scan.spans;
}

/* From the table of contents */

static GArray *
read_toc (int       fd,
          guint64   size,
          GError  **error)
{
  guint8 trailer[TOC_TRAILER_LEN];
  g_autofree guint8 *body = NULL;
  CustosRecordHeader header;
  guint64 toc_offset;

  if (size < TOC_TRAILER_LEN + CUSTOS_RECORD_HEADER_LEN ||
      !read_exact (fd, size - TOC_TRAILER_LEN, trailer, sizeof trailer, error))
    return NULL;
  if (memcmp (trailer + 8, CUSTOS_TOC_MAGIC, CUSTOS_TOC_MAGIC_LEN) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no table of contents");
      return NULL;
    }
  toc_offset = custos_read_u64 (trailer);
  if (toc_offset >= size || !read_header (fd, toc_offset, &header, error))
    return NULL;
  if (header.type != CUSTOS_RECORD_TOC ||
      toc_offset + CUSTOS_RECORD_HEADER_LEN + header.length != size)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad table of contents");
      return NULL;
    }
  body = read_body (fd, toc_offset, &header, CUSTOS_RECORD_MAX_BODY, error);
  return body ? custos_toc_record_parse (body, header.length, toc_offset, error) : NULL;
}

static gboolean
span_from_index (int                fd,
                 const CustosTocEntry *entry,
                 guint64            previous_end,
                 CustosSegmentSpan *span,
                 GError           **error)
{
  CustosIndexRecord index;
  CustosRecordHeader header;
  g_autofree guint8 *body = NULL;
  gboolean ok;

  if (!read_header (fd, entry->index_offset, &header, error) ||
      header.type != CUSTOS_RECORD_INDEX ||
      (body = read_body (fd, entry->index_offset, &header, MAX_INDEX_BODY, error)) == NULL ||
      !custos_index_record_parse (body, header.length, &index, error))
    return FALSE;
  ok = index.segment_offset >= previous_end && index.segment_offset < entry->index_offset &&
       index.sync_offset <= index.segment_offset;
  span->start = index.segment_offset;
  span->end = entry->index_offset;
  span->first_us = entry->first_us;
  span->last_us = entry->last_us;
  span->sync = index.sync_offset == index.segment_offset;
  span->index_offset = entry->index_offset;
  span->index_end = entry->index_offset + CUSTOS_RECORD_HEADER_LEN + header.length;
  custos_index_record_clear (&index);
  if (!ok)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "index out of order");
  return ok;
}

static GArray *
map_from_toc (int       fd,
              guint64   size,
              GError  **error)
{
  g_autoptr (GArray) toc = read_toc (fd, size, error);
  g_autoptr (GArray) spans = NULL;
  guint64 previous_end = 0;

  if (toc == NULL)
    return NULL;
  spans = g_array_sized_new (FALSE, TRUE, sizeof (CustosSegmentSpan), toc->len);
  for (guint i = 0; i < toc->len; i++)
    {
      CustosSegmentSpan span;

      if (!span_from_index (fd, &g_array_index (toc, CustosTocEntry, i), previous_end, &span,
                            error))
        return NULL;
      previous_end = span.end;
      g_array_append_val (spans, span);
    }
  return g_steal_pointer (&spans);
}

GArray *
custos_segment_map_read (int      fd,
                         GError **error)
{
  g_autoptr (GError) toc_error = NULL;
  struct stat st;
  GArray *spans;

  if (fstat (fd, &st) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
      return NULL;
    }
  spans = map_from_toc (fd, (guint64) st.st_size, &toc_error);
  if (spans != NULL)
    return spans;
  g_debug ("no usable table of contents (%s): scanning", toc_error->message);
  return custos_segment_map_scan (fd, (guint64) st.st_size, NULL, error);
}

gboolean
custos_segment_map_select (GArray   *spans,
                           gint64    from_us,
                           gint64    to_us,
                           gboolean  from_start,
                           guint    *first,
                           guint    *last)
{
  int start = -1, stop = -1;

  for (guint i = 0; i < spans->len; i++)
    {
      CustosSegmentSpan *s = &g_array_index (spans, CustosSegmentSpan, i);

      if (s->sync && (start < 0 || s->first_us <= from_us))
        start = i;
      if (s->first_us <= to_us)
        stop = i;
    }
  if (from_start)
    start = 0;
  if (start < 0 || stop < start)
    return FALSE;
  /* The start span may begin after from_us; it must still overlap. */
  if (g_array_index (spans, CustosSegmentSpan, stop).last_us < from_us)
    return FALSE;
  *first = start;
  *last = stop;
  return TRUE;
}
