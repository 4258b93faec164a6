/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosServer: the archiver's HTTPS API (libsoup 3), JSON and fusion
 * streams.
 *
 *   GET /api/v1/cameras                 cameras: id, name, encrypted, privacy, state, streams
 *   GET /api/v1/cameras/ID              one camera
 *   GET /api/v1/cameras/ID/ranges       recorded time ranges
 *   GET /api/v1/cameras/ID/stream?from=ISO&to=ISO   a fusion stream for a range
 *   GET /api/v1/cameras/ID/stream?live=1            the live fusion stream
 *   GET /api/v1/cameras/ID/ranges?privacy=1         the same for the camera's
 *   GET /api/v1/cameras/ID/stream?privacy=1&…       privacy-protected recording
 *                                       (privacy-stream=true): no certificate needed
 *   PUT /api/v1/cameras/ID/privacy      a Privacy Protector publishes the privacy-
 *                                       protected stream: a chunked plaintext fusion
 *                                       stream, recorded (re-sealed by the archiver)
 *                                       as long as the body lasts
 *   GET /api/v1/health                  per camera: recording or not and why;
 *                                       enrolled certificates with their expiry
 *
 * TLS 1.2 or newer (the GnuTLS backend of glib-networking refuses older
 * versions). Client certificates are requested, not required; one that is
 * presented must chain to the configured CA or the handshake fails (the
 * check is ours, in "accept-certificate": SoupServer refuses every client
 * certificate otherwise). Validity dates are left to the request, which
 * then gets the reason. The certificate is bound to the connection, since
 * libsoup gives it only to the first request on a kept-alive connection.
 *
 * Who gets what: the original streams of an encrypted camera need a client
 * certificate that is enrolled, valid and not revoked, and carry only its
 * own key records; privacy-protected and unencrypted streams need none. A
 * revoked certificate is refused everywhere. Refusals are 403 with
 * {"error": "forbidden", "reason": "…"}.
 *
 * Privacy uploads: only a client certificate listed in privacy-protectors=
 * (and enrolled, valid, not revoked) may PUT; anyone else gets 403 with
 * the reason before any of the body is read; one upload per camera at a
 * time (409 otherwise). The body is never held: chunks go to the
 * recording as they come, and an upload that runs more than
 * privacy-queue-mb ahead of it is cut off; one that stalls for
 * idle-timeout seconds too. Any other request body is cut off after
 * 64 KiB.
 *
 * Hostile input: only GET (and that PUT); paths are matched by exact segments and camera
 * ids are looked up, never used as paths; query and path lengths, the
 * length of a range, the number of concurrent streams and of requests in
 * flight are limited; a connection idle (or not reading) for
 * idle-timeout seconds is closed; a live client too far behind is dropped.
 */
#pragma once

#include <libsoup/soup.h>

#include "custos-enrolment.h"
#include "custos-storage.h"

G_BEGIN_DECLS

typedef struct
{
  guint   max_streams;      /* concurrent fusion streams (range and live) */
  guint   max_requests;     /* requests in flight */
  gint64  max_range_us;     /* longest range one request may ask for */
  guint   idle_timeout_s;   /* socket timeout */
  gsize   live_queue_bytes; /* how far a live client may fall behind */
  gsize   privacy_queue_bytes; /* how far a privacy upload may run ahead of storing */
} CustosServerLimits;

void custos_server_limits_init (CustosServerLimits *limits);

#define CUSTOS_TYPE_SERVER (custos_server_get_type ())

G_DECLARE_FINAL_TYPE (CustosServer, custos_server, CUSTOS, SERVER, GObject)

/* cameras: CustosCamera */
CustosServer *custos_server_new          (GPtrArray                *cameras,
                                          CustosStorage            *storage,
                                          CustosEnrolment          *enrolment,
                                          const CustosServerLimits *limits);
/* The server's certificate with its key (e.g. on a PKCS#11 token), used
 * instead of custos_server_listen()'s files, which may then be NULL. */
void          custos_server_set_certificate (CustosServer    *self,
                                             GTlsCertificate *certificate);
/* port 0 picks a free port (custos_server_get_port says which). */
gboolean      custos_server_listen       (CustosServer             *self,
                                          const char               *address,
                                          guint                     port,
                                          const char               *cert_file,
                                          const char               *key_file,
                                          const char               *client_ca_file,
                                          GError                  **error);
/* A client certificate (SHA-256 of its DER) that may publish privacy-
 * protected streams. Call before listening. */
void          custos_server_add_privacy_protector (CustosServer    *self,
                                                   const guint8     fingerprint[32]);
guint         custos_server_get_port     (CustosServer             *self);
guint         custos_server_get_n_streams (CustosServer            *self);
/* Ends every stream and closes every connection. */
void          custos_server_stop         (CustosServer             *self);

G_END_DECLS
