/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosStorage: the archive on disk.
 *
 *   ROOT/CAMERA-ID/20250115T100005.500000Z.fusion       finished files
 *   ROOT/CAMERA-ID/20250115T100105.500000Z.fusion.part  the file being written
 *   ROOT/CAMERA-ID/index.json                            the archiver's index
 *
 * Each finished file is a self-contained fusion stream (sync point at its
 * start, every segment sealed, its own INDEX records and TOC for
 * seeking). index.json lists the files of a camera with their time
 * ranges and sizes; it is rewritten atomically after each change, and
 * rebuilt from the files' tables of contents when it disagrees with the
 * directory.
 *
 * Recovery (at start): a .part file left by a crash is cut after its last
 * sealed segment (the records after it were never signed), given a table
 * of contents for the INDEX records it kept, synced and renamed; a .part
 * file without one complete sealed segment is removed.
 *
 * Retention: per camera, files whose last packet is older than the
 * maximum age are removed, then the oldest files while the camera's
 * files exceed the maximum size. The file being written is never touched.
 *
 * Thread-safe: cameras finish files from their recording threads while
 * the server lists them.
 */
#pragma once

#include <gio/gio.h>

#include "custos-segment-file.h"

G_BEGIN_DECLS

typedef struct
{
  char    *path;
  gint64   first_us;
  gint64   last_us;
  guint64  size;
} CustosSegmentInfo;

#define CUSTOS_TYPE_SEGMENT_INFO (custos_segment_info_get_type ())
GType              custos_segment_info_get_type (void) G_GNUC_CONST;
CustosSegmentInfo *custos_segment_info_copy     (const CustosSegmentInfo *self);
void               custos_segment_info_free     (CustosSegmentInfo       *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosSegmentInfo, custos_segment_info_free)

/* What recovery did with one .part file, for the log and the tests. */
typedef struct
{
  guint   recovered;       /* .part files renamed */
  guint   removed;         /* .part files with nothing sealed */
  guint64 bytes_dropped;   /* unsealed tails cut off */
} CustosRecoveryStats;

#define CUSTOS_TYPE_STORAGE (custos_storage_get_type ())

G_DECLARE_FINAL_TYPE (CustosStorage, custos_storage, CUSTOS, STORAGE, GObject)

CustosStorage     *custos_storage_new            (const char          *root,
                                                  GError             **error);
const char        *custos_storage_get_root       (CustosStorage       *self);
/* Creates the camera's folder, recovers its .part files, loads its index. */
gboolean           custos_storage_add_camera     (CustosStorage       *self,
                                                  const char          *camera_id,
                                                  CustosRecoveryStats *stats,
                                                  GError             **error);
/* 0 disables a limit. */
void               custos_storage_set_retention  (CustosStorage       *self,
                                                  const char          *camera_id,
                                                  gint64               max_age_us,
                                                  guint64              max_bytes);
CustosSegmentFile *custos_storage_begin_segment  (CustosStorage       *self,
                                                  const char          *camera_id,
                                                  gint64               start_us,
                                                  GError             **error);
/* Renames the file into place and adds it to the index; the caller still
 * frees file (readers of it stay valid meanwhile). */
gboolean           custos_storage_finish_segment (CustosStorage       *self,
                                                  const char          *camera_id,
                                                  CustosSegmentFile   *file,
                                                  gint64               first_us,
                                                  gint64               last_us,
                                                  GError             **error);
/* CustosSegmentInfo of the camera's finished files, oldest first. */
GPtrArray         *custos_storage_dup_segments   (CustosStorage       *self,
                                                  const char          *camera_id);
void               custos_storage_get_usage      (CustosStorage       *self,
                                                  const char          *camera_id,
                                                  guint               *n_files,
                                                  guint64             *bytes);
/* Applies every camera's retention; returns the number of files removed. */
guint              custos_storage_apply_retention (CustosStorage      *self,
                                                   gint64              now_us);

G_END_DECLS
