/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPrivacyJob: the Privacy Protector's work on one camera, in a
 * thread of its own, over and over until stopped:
 *
 *   GET  /api/v1/cameras/ID/stream?live=1    (the protector's client certificate)
 *     → CustosReader, decrypting with the protector's own key (it is an
 *       enrolled recipient like any client)
 *     → appsrc ! h264parse ! avdec_h264 ! videoconvert ! custospixelate
 *       ! x264enc tune=zerolatency ! h264parse ! appsink
 *     → CustosWriter, plaintext, streams flagged privacy-protected, each
 *       packet at the UTC of the original frame it came from
 *     → a pipe
 *   PUT  /api/v1/cameras/ID/privacy          (chunked body read from that pipe)
 *
 * The archiver records the upload as the camera's privacy-protected
 * stream and seals it with its own key. Whatever ends one side (the
 * archiver stops, the live stream ends, the upload is refused) ends the
 * other; the job then starts again after a delay growing from 1 s to
 * 30 s. Only the video stream is transformed; audio and metadata of the
 * original are not published.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char            *archiver_url; /* https://host:port */
  char            *ca_path;      /* CA the archiver's certificate chains to */
  GTlsDatabase    *ca;           /* the same, for the upload */
  GTlsCertificate *client_cert;  /* the protector's, for TLS */
  char            *cert_path;    /* the protector's certificate and key, */
  char            *key_path;     /* to decrypt as a recipient */
  char            *pkcs11_uri;   /* or a token holding both */
  char            *pin_path;     /* and the file with its PIN */
  guint            block_size;
  gboolean         blur;   /* blur instead of pixelating */
  gboolean         motion; /* only where something moved */
  guint            bitrate_kbps;
  guint            keyframe_frames;
} CustosPrivacySettings;

typedef struct _CustosPrivacyJob CustosPrivacyJob;

/* settings are shared, not copied: they outlive every job. */
CustosPrivacyJob *
custos_privacy_job_new (const CustosPrivacySettings *settings, const char *camera_id);
void
custos_privacy_job_start (CustosPrivacyJob *self);
/* Ends the current attempt and waits for the thread. */
void
custos_privacy_job_free (CustosPrivacyJob *self);

G_END_DECLS
