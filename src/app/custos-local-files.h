/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosLocalFiles: the .fusion files opened in this session, as a
 * GListModel of GFile (most recent last, each once). A file joins only
 * once it is known to start with a fusion stream header, so that the user
 * hears at once that a file is something else.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_LOCAL_FILES_ERROR (custos_local_files_error_quark ())

typedef enum
{
  CUSTOS_LOCAL_FILES_ERROR_NOT_FUSION,
} CustosLocalFilesError;

GQuark
custos_local_files_error_quark (void);

#define CUSTOS_TYPE_LOCAL_FILES (custos_local_files_get_type ())

G_DECLARE_FINAL_TYPE (CustosLocalFiles, custos_local_files, CUSTOS, LOCAL_FILES, GObject)

CustosLocalFiles *
custos_local_files_new (void);
/* Reads the start of the file; adds it (unless it is there already) and
 * returns the GFile in the list. */
void
custos_local_files_add_async (CustosLocalFiles   *self,
                              GFile              *file,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data);
GFile *
custos_local_files_add_finish (CustosLocalFiles *self, GAsyncResult *result, GError **error);
gboolean
custos_local_files_remove (CustosLocalFiles *self, GFile *file);

G_END_DECLS
