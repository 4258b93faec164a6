/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosExportDialog: the modal export window. The user picks the sources
 * (the cameras given to the dialog: local files or archiver cameras), the time range (shown in the
 * `time-zone` setting's zone), MP4 (decrypted) or encrypted .fusion with
 * extra recipient certificates, and the destination folder. Export runs a
 * CustosExportJob per source with a progress bar and the time left;
 * Cancel stops it (nothing is left under the final names).
 *
 * When every job is done the dialog closes, emits "done" (GFile *folder)
 * and completes custos_export_dialog_run_async(); the window shows the
 * toast made by custos_export_dialog_make_toast() ("Export finished" with
 * an "Open Folder" button).
 *
 * Actions (for buttons and tests): export.start, export.cancel (stops a
 * running export, else closes), export.add-recipient, export.choose-folder.
 */
#pragma once

#include <adwaita.h>

#include "custos-credentials.h"
#include "custos-export-job.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_EXPORT_DIALOG (custos_export_dialog_get_type ())

G_DECLARE_FINAL_TYPE (CustosExportDialog, custos_export_dialog, CUSTOS, EXPORT_DIALOG, AdwWindow)

/* settings: org.custos.Custos (time-zone); credentials give the key
 * provider and the interaction. */
CustosExportDialog *custos_export_dialog_new             (GtkWindow          *parent,
                                                          CustosCredentials  *credentials,
                                                          GSettings          *settings);
/* A source: a local .fusion file (an archiver camera is fetched into one
 * first). Selected by default. */
void                custos_export_dialog_add_source      (CustosExportDialog *self,
                                                          const char         *title,
                                                          GFile              *file);
/* A camera of an archiver (the range must then be bounded); selected by
 * default. */
void                custos_export_dialog_add_archiver_camera (CustosExportDialog   *self,
                                                              const char           *title,
                                                              CustosArchiverClient *client,
                                                              const char           *camera_id);
/* UTC µs; the default is the whole recording. */
void                custos_export_dialog_set_range       (CustosExportDialog *self,
                                                          gint64              from_us,
                                                          gint64              to_us);
void                custos_export_dialog_set_folder      (CustosExportDialog *self,
                                                          GFile              *folder);
void                custos_export_dialog_set_format      (CustosExportDialog *self,
                                                          CustosExportFormat  format);
/* An extra recipient of a .fusion export (the file chooser adds them too). */
void                custos_export_dialog_add_recipient   (CustosExportDialog *self,
                                                          CustosCertificate  *certificate);

/* Whether an export runs now. */
gboolean            custos_export_dialog_get_running     (CustosExportDialog *self);

/* Presents the dialog; completes with the destination folder when the
 * export finished, or G_IO_ERROR_CANCELLED when the user closed it. */
void                custos_export_dialog_run_async       (CustosExportDialog *self,
                                                          GCancellable       *cancellable,
                                                          GAsyncReadyCallback callback,
                                                          gpointer            user_data);
GFile              *custos_export_dialog_run_finish      (CustosExportDialog *self,
                                                          GAsyncResult       *result,
                                                          GError            **error);

/* "Export finished" with an "Open Folder" button that opens folder in the
 * file manager (g_app_info_launch_default_for_uri). */
AdwToast           *custos_export_dialog_make_toast      (GFile              *folder);

G_END_DECLS
