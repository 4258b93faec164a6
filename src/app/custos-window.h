/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "custos-application.h"
#include "custos-player.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_WINDOW (custos_window_get_type ())

G_DECLARE_FINAL_TYPE (CustosWindow, custos_window, CUSTOS, WINDOW, AdwApplicationWindow)

CustosWindow *
custos_window_new (CustosApplication *application);
/* Checks it is a fusion file (a toast names the problem when not), lists
 * it under Local Files and plays it. */
void
custos_window_open_file (CustosWindow *self, GFile *file);
/* Plays a camera: its privacy-protected stream when it has one and
 * "original" is off, else the original (asks for the card). */
void
custos_window_open_camera (CustosWindow        *self,
                           CustosArchiverEntry *entry,
                           CustosCameraItem    *camera,
                           gboolean             add_to_grid);
void
custos_window_add_toast (CustosWindow *self, AdwToast *toast);
/* The single tile (shown unless the grid is). */
CustosPlayer *
custos_window_get_player (CustosWindow *self);
/* The frame the selected tile shows, as PNG (custos_player_snapshot_async())
 * written to file, replacing it: what Ctrl+S does once the user chose where
 * (the chooser asked before replacing). A toast says how it went. */
void
custos_window_save_snapshot_async (CustosWindow       *self,
                                   GFile              *file,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
gboolean
custos_window_save_snapshot_finish (CustosWindow *self, GAsyncResult *result, GError **error);
/* The page shown: "empty", "player", "grid" or "archiver". */
const char *
custos_window_get_page (CustosWindow *self);

G_END_DECLS
