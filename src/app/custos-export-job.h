/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosExportJob: what the export dialog runs, without any widget.
 *
 * It exports a time range of a local .fusion file either
 *   - as a decrypted MP4 (CustosMediaExport: remuxed, never re-encoded), or
 *   - as an encrypted, self-contained .fusion (custos_export_range), with
 *     the period keys re-wrapped for extra recipient certificates,
 * into a folder, then writes a verification report alongside:
 *   NAME.report.json  the counts and problems, for scripts
 *   NAME.report.txt   a readable summary: verified, unsigned, altered,
 *                     missing and locked frames, the signer, the range.
 * The report comes from reading the exported data again with CustosReader
 * (seals recomputed, keys from the same provider).
 *
 * Output is written under a temporary name (.NAME.part) and renamed at the
 * end, so a failed or cancelled export leaves nothing under the final
 * name. Progress ("fraction", 0 … 1, and "seconds-left", -1 when unknown)
 * is notified on the main context the job was started from.
 */
#pragma once

#include <gio/gio.h>

#include "custos-archiver-client.h"
#include "custos-key-provider.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_EXPORT_FORMAT_MP4,    /* decrypted */
  CUSTOS_EXPORT_FORMAT_FUSION, /* encrypted, for its recipients */
} CustosExportFormat;

#define CUSTOS_TYPE_EXPORT_JOB (custos_export_job_get_type ())

G_DECLARE_FINAL_TYPE (CustosExportJob, custos_export_job, CUSTOS, EXPORT_JOB, GObject)

/* name: the file name without extension ("Entrance 2026-11-21 10-00"); the
 * extension (.mp4/.fusion) is added. */
CustosExportJob *custos_export_job_new              (GFile              *input,
                                                     GFile              *folder,
                                                     const char         *name,
                                                     CustosExportFormat  format);
/* A camera of an archiver as the source: the range (which must be bounded)
 * is fetched first (resuming a dropped connection) into a hidden file in
 * the folder, removed again at the end. Archivers send whole segments
 * without a table of contents, so an MP4 holds every frame they sent
 * (at least the range), and a .fusion is the fetched stream re-wrapped
 * for the extra recipients (custos_rewrap). */
CustosExportJob *custos_export_job_new_for_archiver (CustosArchiverClient *client,
                                                     const char           *camera_id,
                                                     GFile                *folder,
                                                     const char           *name,
                                                     CustosExportFormat    format);
void             custos_export_job_set_key_provider (CustosExportJob    *self,
                                                     CustosKeyProvider  *provider,
                                                     GTlsInteraction    *interaction);
/* UTC µs, both ends included; G_MININT64 / G_MAXINT64 for no bound. */
void             custos_export_job_set_range        (CustosExportJob    *self,
                                                     gint64              from_us,
                                                     gint64              to_us);
/* CustosCertificate: who else may open a .fusion export. */
void             custos_export_job_set_recipients   (CustosExportJob    *self,
                                                     GPtrArray          *recipients);
/* CA file the signer must chain to, for the report; NULL: not checked. */
void             custos_export_job_set_ca_file      (CustosExportJob    *self,
                                                     const char         *ca_file);

double           custos_export_job_get_fraction     (CustosExportJob    *self);
/* Estimated from the progress so far; -1 when not known yet. */
int              custos_export_job_get_seconds_left (CustosExportJob    *self);

/* The files, known once the job finished. */
GFile           *custos_export_job_get_output       (CustosExportJob    *self);
GFile           *custos_export_job_get_report_json  (CustosExportJob    *self);
GFile           *custos_export_job_get_report_text  (CustosExportJob    *self);

/* Call once. */
void             custos_export_job_run_async        (CustosExportJob    *self,
                                                     GCancellable       *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer            user_data);
gboolean         custos_export_job_run_finish       (CustosExportJob    *self,
                                                     GAsyncResult       *result,
                                                     GError            **error);

G_END_DECLS
