/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosStreamResponse: one fusion stream on the wire (docs/fusion-stream.md
 * §7.1), as a chunked HTTP response body.
 *
 * A range response holds the sealed segments of the camera's files that
 * cover [from, to]: it starts at the last segment beginning with a sync
 * point at or before `from` (each file starts with one) and ends after
 * the seal of the segment that contains `to`. A live response starts at
 * the open file's last sync point and then follows the camera as it
 * writes, record by record (the latency is the camera's, not a buffer's).
 * Either way only the requesting client's RECIPIENT and KEY records pass
 * (CustosRecordFilter), and no INDEX or TOC.
 *
 * Files are read in GTask threads, never on the main loop, and the body
 * is produced only as fast as the client takes it (at most a few hundred
 * KiB ahead), so a slow client costs no memory. A live client that falls
 * more than max_queue bytes behind is dropped.
 */
#pragma once

#include <libsoup/soup.h>

#include "custos-camera.h"
#include "custos-storage.h"

G_BEGIN_DECLS

#define CUSTOS_STREAM_RESPONSE_ERROR (custos_stream_response_error_quark ())

typedef enum
{
  CUSTOS_STREAM_RESPONSE_ERROR_NO_DATA,  /* nothing recorded in the range */
} CustosStreamResponseError;

GQuark custos_stream_response_error_quark (void);

typedef struct _CustosStreamResponse CustosStreamResponse;
typedef void (*CustosStreamResponseDone) (CustosStreamResponse *response,
                                          gpointer              user_data);

#define CUSTOS_TYPE_STREAM_RESPONSE (custos_stream_response_get_type ())

G_DECLARE_FINAL_TYPE (CustosStreamResponse, custos_stream_response, CUSTOS, STREAM_RESPONSE,
                      GObject)

/* recipient_id: SHA-256 of the client's certificate, or NULL. */
CustosStreamResponse *custos_stream_response_new_range  (CustosCamera         *camera,
                                                         CustosStorage        *storage,
                                                         gint64                from_us,
                                                         gint64                to_us,
                                                         const guint8         *recipient_id);
CustosStreamResponse *custos_stream_response_new_live   (CustosCamera         *camera,
                                                         const guint8         *recipient_id,
                                                         gsize                 max_queue);
/* Finds the files and segments to send (reads file indexes: in a thread). */
void                  custos_stream_response_prepare_async  (CustosStreamResponse *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean              custos_stream_response_prepare_finish (CustosStreamResponse *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);
/* Sends the body on msg (status and headers set here) until the range
 * ends, the client goes, or the server stops. done is called once, on
 * the main thread, when the message is finished. */
void                  custos_stream_response_start      (CustosStreamResponse *self,
                                                         SoupServerMessage    *msg,
                                                         CustosStreamResponseDone done,
                                                         gpointer              user_data);
/* Data waits for the client, and none was taken for timeout_us. */
gboolean              custos_stream_response_is_stalled (CustosStreamResponse *self,
                                                         gint64                now_us,
                                                         gint64                timeout_us);
/* A live stream with nothing to send for timeout_us (its camera stopped). */
gboolean              custos_stream_response_is_idle    (CustosStreamResponse *self,
                                                         gint64                now_us,
                                                         gint64                timeout_us);
/* Drops the client's connection. */
void                  custos_stream_response_abort      (CustosStreamResponse *self);
/* Ends the body now (the server is stopping). */
void                  custos_stream_response_close      (CustosStreamResponse *self);
guint64               custos_stream_response_get_bytes_sent (CustosStreamResponse *self);

G_END_DECLS
