/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosSidebar: the archivers as sections, each with its cameras (status
 * icons, tooltips and accessible labels saying encrypted, privacy-
 * protected, recording, offline), and a Local Files section.
 *
 * Signals:
 *   "camera-activated" (CustosArchiverEntry *, CustosCameraItem *, gboolean add)
 *   "file-activated"   (GFile *, gboolean add)
 *   "archiver-activated" (CustosArchiverEntry *): its header was clicked
 * add is TRUE for Ctrl+click or "Add to Grid" (the row's context menu).
 */
#pragma once

#include <gtk/gtk.h>

#include "custos-archiver-list.h"
#include "custos-local-files.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_SIDEBAR (custos_sidebar_get_type ())

G_DECLARE_FINAL_TYPE (CustosSidebar, custos_sidebar, CUSTOS, SIDEBAR, GtkWidget)

CustosSidebar *
custos_sidebar_new (void);
void
custos_sidebar_set_models (CustosSidebar      *self,
                           CustosArchiverList *archivers,
                           CustosLocalFiles   *files);
/* The icon and one translated line for an archiver's state. */
const char *
custos_sidebar_state_icon (CustosArchiverState state);
const char *
custos_sidebar_state_text (CustosArchiverState state);

G_END_DECLS
