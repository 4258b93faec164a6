/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosSegmentFile: one fusion file being recorded. It is written as
 * NAME.fusion.part and only renamed to NAME.fusion once it is complete
 * (final seal, index and table of contents written and fsync'ed), so a
 * file without ".part" is always whole. A crash leaves the .part file,
 * which CustosStorage recovers at the next start. NAME is the UTC time
 * of the file's first packet ("20250115T100005.500000Z"), so names sort
 * by time.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_SEGMENT_SUFFIX      ".fusion"
#define CUSTOS_SEGMENT_PART_SUFFIX ".fusion.part"

typedef struct _CustosSegmentFile CustosSegmentFile;

CustosSegmentFile *custos_segment_file_create        (const char         *dir,
                                                      gint64              start_us,
                                                      GError            **error);
gboolean           custos_segment_file_append        (CustosSegmentFile  *self,
                                                      const guint8       *data,
                                                      gsize               len,
                                                      GError            **error);
/* fdatasync; a no-op when nothing was written since the last one. */
gboolean           custos_segment_file_sync          (CustosSegmentFile  *self,
                                                      GError            **error);
/* Monotonic time of the oldest write not yet synced, 0 when none. */
gint64             custos_segment_file_get_dirty_since (CustosSegmentFile *self);
guint64            custos_segment_file_get_size      (CustosSegmentFile  *self);
gint64             custos_segment_file_get_start     (CustosSegmentFile  *self);
const char        *custos_segment_file_get_part_path (CustosSegmentFile  *self);
/* A new read-only descriptor of the file (a dup of one opened with it): it
 * stays valid across the rename and after the object is freed. */
int                custos_segment_file_open_reader   (CustosSegmentFile  *self,
                                                      GError            **error);
/* Syncs, closes for writing and renames to NAME.fusion (then syncs the
 * directory). Returns the final path, owned by the object, which still
 * hands out readers until it is freed. */
const char        *custos_segment_file_finish        (CustosSegmentFile  *self,
                                                      GError            **error);
/* Closes; an unfinished file stays as .part for recovery. */
void               custos_segment_file_free          (CustosSegmentFile  *self);

/* Syncs a directory, so that a rename or unlink in it is durable. */
gboolean           custos_sync_directory             (const char         *dir,
                                                      GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosSegmentFile, custos_segment_file_free)

G_END_DECLS
