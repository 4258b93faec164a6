/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCameraItem: one camera of an archiver as the sidebar shows it
 * (id, title, encrypted, privacy, recording, offline). Updated in place
 * from the archiver's list, so rows bound to it follow.
 */
#pragma once

#include <gio/gio.h>

#include "custos-archiver-client.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_CAMERA_ITEM (custos_camera_item_get_type ())

G_DECLARE_FINAL_TYPE (CustosCameraItem, custos_camera_item, CUSTOS, CAMERA_ITEM, GObject)

CustosCameraItem *
custos_camera_item_new (CustosCameraInfo *info);
/* Takes the new state of the camera; notifies only what changed. */
void
custos_camera_item_update (CustosCameraItem *self, CustosCameraInfo *info);
void
custos_camera_item_set_offline (CustosCameraItem *self, gboolean offline);
const char *
custos_camera_item_get_id (CustosCameraItem *self);
const char *
custos_camera_item_get_title (CustosCameraItem *self);
gboolean
custos_camera_item_get_encrypted (CustosCameraItem *self);
gboolean
custos_camera_item_get_privacy (CustosCameraItem *self);
gboolean
custos_camera_item_get_recording (CustosCameraItem *self);
gboolean
custos_camera_item_get_offline (CustosCameraItem *self);
/* Why it is not recording (the archiver's words), or NULL. */
const char *
custos_camera_item_get_reason (CustosCameraItem *self);
/* One translated sentence for tooltips and screen readers, e.g.
 * "Front door: encrypted, privacy-protected stream available, recording". */
char *
custos_camera_item_dup_status_text (CustosCameraItem *self);

G_END_DECLS
