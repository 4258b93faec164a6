/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosArchiver: the daemon. It reads the configuration, recovers and
 * opens the storage, loads the signing key, watches the enrolment folder
 * and revocation list, records every camera and serves the HTTPS API.
 *
 * Configuration (GKeyFile; relative paths are relative to the file):
 *
 *   [archiver]
 *   listen=127.0.0.1            address to listen on
 *   port=8443                   0: any free port (the start-up line says which)
 *   tls-certificate=FILE        the server's certificate (PEM, chain allowed)
 *   tls-key=FILE                its private key (PEM)
 *   tls-pkcs11-uri=URI          or both on a PKCS#11 token, instead of the files:
 *                               "pkcs11:token=Archiver;id=%02" (GnuTLS finds objects
 *                               by id or label); the key never leaves the token
 *   tls-pin-file=FILE           the token's PIN (first line; read at start, wiped)
 *   client-ca=FILE              CA certificates client certificates must chain to
 *   signer-key=FILE             private key that seals segments (PEM; ECDSA P-256
 *                               or RSA). TODO: a PKCS#11 URI
 *   signer-certificate=FILE     its certificate chain (PEM, signing certificate first)
 *   storage=DIR                 the archive (see custos-storage.h)
 *   enrolment-folder=DIR        recipients' certificates (see custos-enrolment.h)
 *   revocation-list=FILE        revoked SHA-256 fingerprints, one per line
 *   enrolment-rescan=30         seconds between re-reads without a change notice
 *   retention-interval=60       seconds between retention runs
 *   max-streams=32              concurrent fusion streams
 *   max-requests=256            requests in flight
 *   max-range-hours=24          longest range one request may ask for
 *   idle-timeout=30             seconds without I/O before a connection is closed
 *   live-queue-mb=32            how far a live client may fall behind
 *   privacy-protectors=HEX;HEX  SHA-256 fingerprints of the client certificates that
 *                               may publish privacy-protected streams (PUT
 *                               /api/v1/cameras/ID/privacy; see docs/privacy-protector.md)
 *   privacy-queue-mb=8          how far such an upload may run ahead of storing
 *
 *   [recording]                 defaults for every camera
 *   period-ms=60000             key period (a new key per stream)
 *   epoch-ms=3600000            wrap epoch (a new KEK per recipient), a multiple of period-ms
 *   seal-ms=500                 seal interval; segments are cut at video keyframes,
 *                               so a crash loses at most about max(seal-ms, keyframe-ms)
 *   sync-ms=2000                sync points (where live and range answers begin;
 *                               each repeats descriptors and keys), 0: per key period
 *   keyframe-ms=500             keyframe interval when encoding
 *   file-seconds=300            a new file at the first keyframe after this
 *   retention-hours=720         files older than this are removed (0: never)
 *   retention-seconds=          the same in seconds (wins over retention-hours)
 *   retention-mb=0              per camera size limit, MiB, fractions allowed (0: none)
 *   start-timeout=15            seconds to wait for the source's first keyframe
 *
 *   [camera ID]                 ID: 1–64 of [A-Za-z0-9_-]
 *   name=Gate 1
 *   source=DESCRIPTION          a gst-launch description of the video source
 *                               (videotestsrc, "rtspsrc location=… ! rtph264depay",
 *                               "filesrc location=… ! decodebin", …)
 *   uri=URI                     or a URI (rtsp://, file://): video, and audio and
 *                               metadata where the source has them
 *   audio=DESCRIPTION           an audio source (with source=)
 *   metadata=DESCRIPTION        a metadata source (with source=): its buffers (ONVIF
 *                               XML, JSON events, KLV; application/x-onvif-metadata,
 *                               application/x-custos-metadata, meta/x-klv, text/x-raw)
 *                               are recorded byte for byte with their times (an
 *                               example in data/custos-archiver.conf.sample)
 *   encode=h264                 h264: encode (x264enc tune=zerolatency, Opus for
 *                               audio); none: pass the source's H.264 through
 *   framerate=15 width= height= bitrate=1024   when encoding (kbit/s)
 *   encrypted=true              encrypt to the enrolled certificates (fail closed)
 *   privacy=false               the streams are privacy-protected derivatives
 *   privacy-stream=false        true: a Privacy Protector publishes a privacy-protected
 *                               copy, recorded as "ID.privacy" and served without a
 *                               certificate (?privacy=1)
 *   and any [recording] key, for this camera only.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_ARCHIVER (custos_archiver_get_type ())

G_DECLARE_FINAL_TYPE (CustosArchiver, custos_archiver, CUSTOS, ARCHIVER, GObject)

CustosArchiver *custos_archiver_new_from_file    (const char      *path,
                                                  GError         **error);
/* base_dir: what relative paths in the configuration are relative to. */
CustosArchiver *custos_archiver_new_from_keyfile (GKeyFile        *config,
                                                  const char      *base_dir,
                                                  GError         **error);
/* Recovers storage, starts every camera and the server. */
gboolean        custos_archiver_start            (CustosArchiver  *self,
                                                  GError         **error);
const char     *custos_archiver_get_address      (CustosArchiver  *self);
guint           custos_archiver_get_port         (CustosArchiver  *self);
/* Stops serving, finishes every open file. */
void            custos_archiver_stop             (CustosArchiver  *self);

G_END_DECLS
