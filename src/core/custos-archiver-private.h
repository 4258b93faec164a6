/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private parts shared by the archiver client's files.
 */
#pragma once

#include <libsoup/soup.h>

#include "custos-archiver-client.h"

G_BEGIN_DECLS

/* From one element of /api/v1/cameras; NULL (with error) when it has no id. */
CustosCameraInfo *_custos_camera_info_new_from_json (JsonObject *object,
                                                     GError    **error);

/* The camera's own streams are the privacy-protected ones. */
gboolean          _custos_camera_info_get_protected (CustosCameraInfo *self);

/* "2025-01-15T10:00:05.500000Z" */
char             *_custos_archiver_format_time      (gint64      utc_us);

/* The path and query (after base_url) of a camera's stream. */
char             *_custos_archiver_client_stream_path (CustosArchiverClient    *self,
                                                       const char              *camera_id,
                                                       gint64                   from_us,
                                                       gint64                   to_us,
                                                       CustosArchiverStreamKind kind);
/* Sends GET base_url + path_and_query; the result is the body (status 200)
 * or an error in CUSTOS_ARCHIVER_CLIENT_ERROR. */
void              _custos_archiver_client_send_async  (CustosArchiverClient *self,
                                                       const char           *path_and_query,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
GInputStream     *_custos_archiver_client_send_finish (CustosArchiverClient *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
GInputStream     *_custos_archiver_client_send        (CustosArchiverClient *self,
                                                       const char           *path_and_query,
                                                       GCancellable         *cancellable,
                                                       GError              **error);
/* What a live answer's CUSTOS_ARCHIVER_LIVE_EDGE_HEADER said, kept with
 * its body by _custos_archiver_client_send_async(); G_MININT64 if nothing. */
gint64            _custos_archiver_body_get_live_edge (GInputStream *body);

/* A read error of a body: a dropped connection becomes UNAVAILABLE. */
void              _custos_archiver_client_map_read_error (GError **error);

/* CustosArchiverStream: a resumable stream body (custos-archiver-stream.c). */
GInputStream     *_custos_archiver_stream_new (CustosArchiverClient *client,
                                               GInputStream         *first_body,
                                               const char           *camera_id,
                                               gint64                from_us,
                                               gint64                to_us,
                                               CustosArchiverStreamKind kind,
                                               gboolean              resumable);

G_END_DECLS
