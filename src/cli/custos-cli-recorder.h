/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCliRecorder: runs a GStreamer pipeline that ends in one appsink per
 * encoded stream (a gst-launch description, or a media file through
 * parsebin) and writes every buffer into a CustosWriter. Stream time is
 * UTC, as the archiver writes it: start time plus the buffer's running time.
 */
#pragma once

#include "custos.h"

G_BEGIN_DECLS

typedef struct _CustosCliRecorder CustosCliRecorder;

/* What was recorded into one writer stream. */
typedef struct
{
  int              stream;       /* writer stream id */
  CustosStreamKind kind;
  const char      *caps;         /* owned by the recorder */
  guint64          packets;
  guint64          bytes;
  gint64           first_pts_us; /* stream time (UTC) */
  gint64           last_pts_us;
} CustosCliRecordedStream;

/* The description must produce an encoded stream; an appsink is appended. */
CustosCliRecorder *custos_cli_recorder_new_for_description (const char         *description,
                                                            GError            **error);
/* Every stream of a media file (MP4, Matroska, …), H.264 and H.265 as
 * Annex B access units, anything else as the demuxer gives it. */
CustosCliRecorder *custos_cli_recorder_new_for_file        (const char         *path,
                                                            GError            **error);
void               custos_cli_recorder_free                (CustosCliRecorder  *self);
/* Waits until every stream's caps are known and adds one writer stream
 * each, with flags; then starts playing. */
gboolean           custos_cli_recorder_start               (CustosCliRecorder  *self,
                                                            CustosWriter       *writer,
                                                            CustosStreamFlags   flags,
                                                            gint64              start_utc_us,
                                                            GError            **error);
/* Writes packets until every stream has ended. */
gboolean           custos_cli_recorder_run                 (CustosCliRecorder  *self,
                                                            GError            **error);
/* Ends the recording early (SIGINT): an EOS runs through the pipeline so
 * that run() returns with everything written. */
void               custos_cli_recorder_stop                (CustosCliRecorder  *self);
/* CustosCliRecordedStream of each writer stream, by id. */
GArray            *custos_cli_recorder_dup_streams         (CustosCliRecorder  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosCliRecorder, custos_cli_recorder_free)

G_END_DECLS
