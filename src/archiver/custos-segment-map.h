/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sealed segments of one fusion file, with their byte ranges and
 * times: what the archiver needs to serve a time range (a response must
 * start at a segment that begins with a sync point and should end after
 * a seal) and to recover a file after a crash. Finished files are mapped
 * from their own table of contents and INDEX records (a few small reads);
 * files being written, recovered files and files whose index does not
 * check out are mapped by walking the record headers.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  guint64  start;        /* offset of the segment's first record */
  guint64  end;          /* offset just after its SEAL */
  gint64   first_us;     /* stream time (UTC) of its first and last packet */
  gint64   last_us;
  gboolean sync;         /* begins with a sync point (FILE_HEADER …) */
  guint64  index_offset; /* the INDEX record after the SEAL, 0 when none */
  guint64  index_end;    /* just after that INDEX record */
} CustosSegmentSpan;

/* From the table of contents, falling back to a scan. */
GArray   *custos_segment_map_read   (int           fd,
                                     GError      **error);
/* Walks the record headers of [0, limit). valid_end is set to the end of
 * the last whole record (a live file grows; a crashed one is cut). */
GArray   *custos_segment_map_scan   (int           fd,
                                     guint64       limit,
                                     guint64      *valid_end,
                                     GError      **error);
/* The spans to send for [from_us, to_us]: from the last sync span that
 * starts at or before from_us (or the first span), through the last span
 * starting at or before to_us. FALSE when none overlaps. */
gboolean  custos_segment_map_select (GArray       *spans,
                                     gint64        from_us,
                                     gint64        to_us,
                                     gboolean      from_start,
                                     guint        *first,
                                     guint        *last);

G_END_DECLS
