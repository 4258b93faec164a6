/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosArchiverClient: talks to a custos-archiver over HTTPS (libsoup 3):
 * lists its cameras, their recorded ranges and its health, and opens
 * fusion streams (a time range or live, original or privacy-protected).
 *
 * Trust is never silent. The archiver's TLS certificate is accepted when
 *   - a CA file is set: it chains to that CA (hostname included), or else
 *   - a fingerprint is pinned: the SHA-256 of its DER matches the pin.
 * With neither, every request fails with
 * CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED and the client keeps the
 * certificate it was shown (custos_archiver_client_get_peer_fingerprint()),
 * so that a UI can show the fingerprint for the user to compare and pin.
 * A pin that no longer matches fails with
 * CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED naming both
 * fingerprints.
 *
 * Fingerprints are 64 hex digits; the setters accept either case and
 * colons or spaces between the digits (as `openssl x509 -fingerprint
 * -sha256` prints them); the getters give lowercase digits without
 * separators.
 *
 * Changing the trust or the client certificate restarts the connection:
 * a request under way then fails with G_IO_ERROR_CANCELLED although the
 * caller's cancellable is not cancelled; the caller may ask again.
 *
 * All requests are asynchronous (GTask); callbacks run in the thread-
 * default main context of the thread that created the client, which must
 * be the one to use it.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CUSTOS_ARCHIVER_CLIENT_ERROR (custos_archiver_client_error_quark ())

typedef enum
{
  /* The archiver's certificate is not trusted (no CA or pin set, or it
   * does not chain to the CA); the presented one is remembered. */
  CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED,
  /* The pinned fingerprint no longer matches the archiver's certificate. */
  CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED,
  /* The TLS handshake failed over the client certificate: it could not
   * be used (a wrong PIN, a key that does not match) or the archiver
   * refused it. (A missing one is FORBIDDEN: the archiver only requests
   * certificates, and says which requests need one.) */
  CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_REQUIRED,
  /* 403: not enrolled, revoked, expired…; the message has the archiver's reason. */
  CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN,
  /* 404: no such camera, or nothing recorded in the range. */
  CUSTOS_ARCHIVER_CLIENT_ERROR_NOT_FOUND,
  /* The answer is not what the API promises (bad JSON, bad status). */
  CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
  /* Connection refused or dropped, or 503 (too busy). */
  CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE,
  /* 400: the archiver refused the request (e.g. a range too long). */
  CUSTOS_ARCHIVER_CLIENT_ERROR_BAD_REQUEST,
} CustosArchiverClientError;

GQuark custos_archiver_client_error_quark (void);

/* to_us of custos_archiver_client_open_stream_async(): the live stream. */
#define CUSTOS_ARCHIVER_LIVE G_MAXINT64
/* Response header of a live stream: the time (ISO 8601, UTC) of the newest
 * packet the archiver had when it answered. The stream begins before it,
 * at a sync point, so that its seals verify; a viewer shows from here. */
#define CUSTOS_ARCHIVER_LIVE_EDGE_HEADER "X-Custos-Live-Edge"

typedef enum
{
  CUSTOS_ARCHIVER_STREAM_ORIGINAL, /* encrypted; needs an enrolled client certificate */
  CUSTOS_ARCHIVER_STREAM_PRIVACY,  /* privacy-protected; needs no credentials */
} CustosArchiverStreamKind;

/* One recorded range, UTC microseconds, both ends included. */
typedef struct
{
  gint64 from_us;
  gint64 to_us;
} CustosTimeRange;

/* CustosCameraInfo: one camera as the archiver lists it (immutable,
 * reference counted). */
#define CUSTOS_TYPE_CAMERA_INFO (custos_camera_info_get_type ())

typedef struct _CustosCameraInfo CustosCameraInfo;

GType             custos_camera_info_get_type      (void) G_GNUC_CONST;
CustosCameraInfo *custos_camera_info_ref           (CustosCameraInfo *self);
void              custos_camera_info_unref         (CustosCameraInfo *self);
const char       *custos_camera_info_get_id        (CustosCameraInfo *self);
/* The display name; the id when the archiver gives none. */
const char       *custos_camera_info_get_name      (CustosCameraInfo *self);
gboolean          custos_camera_info_get_encrypted (CustosCameraInfo *self);
/* TRUE when a privacy-protected stream of this camera can be opened
 * (CUSTOS_ARCHIVER_STREAM_PRIVACY): it has a privacy-protected recording,
 * or its own streams are the protected ones. */
gboolean          custos_camera_info_get_privacy   (CustosCameraInfo *self);
gboolean          custos_camera_info_get_recording (CustosCameraInfo *self);
/* "idle", "starting", "recording", "stopped", "failed" (archiver words). */
const char       *custos_camera_info_get_state     (CustosCameraInfo *self);
/* Why the camera is not recording, from the archiver; NULL if none. */
const char       *custos_camera_info_get_reason    (CustosCameraInfo *self);
/* UTC µs of the last packet recorded; G_MININT64 when none. */
gint64            custos_camera_info_get_last_packet_us (CustosCameraInfo *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosCameraInfo, custos_camera_info_unref)

#define CUSTOS_TYPE_ARCHIVER_CLIENT (custos_archiver_client_get_type ())

G_DECLARE_FINAL_TYPE (CustosArchiverClient, custos_archiver_client, CUSTOS, ARCHIVER_CLIENT, GObject)

/* base_url: "https://host:port" (a path before /api/v1/ is kept); HTTPS
 * only. */
CustosArchiverClient *custos_archiver_client_new             (const char            *base_url,
                                                              GError               **error);
const char           *custos_archiver_client_get_base_url    (CustosArchiverClient  *self);

/* Trust (see above). NULL clears. path may be relative. */
gboolean              custos_archiver_client_set_ca_file     (CustosArchiverClient  *self,
                                                              const char            *path,
                                                              GError               **error);
gboolean              custos_archiver_client_set_pinned_fingerprint (CustosArchiverClient *self,
                                                                     const char           *hex,
                                                                     GError              **error);
/* The certificate the archiver presented on the last connection (trusted
 * or not); NULL before any. */
const char           *custos_archiver_client_get_peer_fingerprint (CustosArchiverClient *self);
GTlsCertificate      *custos_archiver_client_dup_peer_certificate (CustosArchiverClient *self);

/* The certificate (with its private key) this client authenticates with;
 * NULL for none. Taken from files with g_tls_certificate_new_from_files(),
 * or from a card with the helper below. */
void                  custos_archiver_client_set_client_certificate (CustosArchiverClient *self,
                                                                     GTlsCertificate      *cert);
GTlsCertificate      *custos_archiver_client_get_client_certificate (CustosArchiverClient *self);

/* A certificate whose key stays on a PKCS#11 token, for mutual TLS.
 * uri names the token and the object without type, e.g.
 * "pkcs11:token=Custos;id=%01" (GnuTLS looks objects up by id or label:
 * one of them is required). pin may be NULL for a token without login.
 * The PIN is given to GnuTLS in the key's URI (RFC 7512 pin-value), since
 * glib-networking does not log in by itself; every copy made here is
 * wiped. A wrong PIN shows only at the handshake, as
 * CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_REQUIRED; it is tried once. */
GTlsCertificate *custos_archiver_client_certificate_new_from_pkcs11 (const char  *uri,
                                                                     const char  *pin,
                                                                     GError     **error);

/* GPtrArray of CustosCameraInfo (owning). */
void       custos_archiver_client_list_cameras_async  (CustosArchiverClient *self,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
GPtrArray *custos_archiver_client_list_cameras_finish (CustosArchiverClient *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);

/* GArray of CustosTimeRange, oldest first. */
void    custos_archiver_client_get_ranges_async  (CustosArchiverClient *self,
                                                  const char           *camera_id,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GArray *custos_archiver_client_get_ranges_finish (CustosArchiverClient *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* The ranges of one kind of stream (the privacy-protected recording has
 * its own); finish with custos_archiver_client_get_ranges_finish(). */
void    custos_archiver_client_get_stream_ranges_async (CustosArchiverClient    *self,
                                                        const char              *camera_id,
                                                        CustosArchiverStreamKind kind,
                                                        GCancellable            *cancellable,
                                                        GAsyncReadyCallback      callback,
                                                        gpointer                 user_data);

/* The archiver's /api/v1/health object: "status" ("ok"/"degraded"),
 * "cameras", "certificates", "storage", "streams". */
void        custos_archiver_client_get_health_async  (CustosArchiverClient *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
JsonObject *custos_archiver_client_get_health_finish (CustosArchiverClient *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

/* The fusion stream body of a camera: from_us..to_us (UTC µs), or live
 * when to_us is CUSTOS_ARCHIVER_LIVE (from_us is then ignored). The
 * stream is the HTTP body as it comes: if the connection drops, reading
 * fails (CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE) or ends early. */
void          custos_archiver_client_open_stream_async  (CustosArchiverClient     *self,
                                                         const char               *camera_id,
                                                         gint64                    from_us,
                                                         gint64                    to_us,
                                                         CustosArchiverStreamKind  kind,
                                                         GCancellable             *cancellable,
                                                         GAsyncReadyCallback       callback,
                                                         gpointer                  user_data);
GInputStream *custos_archiver_client_open_stream_finish (CustosArchiverClient     *self,
                                                         GAsyncResult             *result,
                                                         GError                  **error);
/* A live stream of either: the time of the newest packet when the
 * archiver answered (CUSTOS_ARCHIVER_LIVE_EDGE_HEADER); the stream begins
 * before it. G_MININT64 when the archiver did not say. */
gint64        custos_archiver_stream_get_live_edge      (GInputStream             *stream);

/* The same, but a body that ends early or a connection that drops is
 * asked for again from the last complete record on, and continued without
 * repeating a record: the bytes read are one valid fusion stream. For a
 * live stream, what was sent while disconnected is missing (the reader
 * reports it), and a live stream the archiver ends (e.g. as it restarts)
 * is asked for again too. After 5 tries without a new record (about
 * 15 s), a range stream fails with the last error and a live one ends;
 * a refusal (e.g. FORBIDDEN after a revocation) fails at once. Read it in
 * the client's thread: asynchronous reads (e.g.
 * g_output_stream_splice_async()) keep a UI responsive while it resumes. */
void          custos_archiver_client_open_resumable_stream_async  (CustosArchiverClient     *self,
                                                                   const char               *camera_id,
                                                                   gint64                    from_us,
                                                                   gint64                    to_us,
                                                                   CustosArchiverStreamKind  kind,
                                                                   GCancellable             *cancellable,
                                                                   GAsyncReadyCallback       callback,
                                                                   gpointer                  user_data);
GInputStream *custos_archiver_client_open_resumable_stream_finish (CustosArchiverClient     *self,
                                                                   GAsyncResult             *result,
                                                                   GError                  **error);

G_END_DECLS
