/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPrivacyProtector: the Privacy Protector role, its own process
 * (custos-privacy-protector). For each configured camera it receives the
 * original encrypted live stream from the archiver as a client, decrypts
 * it with its own key (its certificate is enrolled like any client's),
 * pixelates or blurs the whole picture, re-encodes it and publishes it
 * back as the camera's privacy-protected stream, which the archiver
 * stores sealed and serves to anyone without a certificate. See
 * custos-privacy-job.h for one camera's pipeline.
 *
 * Configuration (GKeyFile; relative paths are relative to the file):
 *
 *   [privacy-protector]
 *   archiver=https://127.0.0.1:8443   the archiver
 *   ca-file=FILE            CA that the archiver's TLS certificate chains to
 *   certificate=FILE        the protector's certificate (PEM): its TLS client
 *                           certificate, and the recipient it decrypts as. The
 *                           archiver must have it in its enrolment folder and
 *                           its SHA-256 in privacy-protectors=
 *   key=FILE                its private key (PEM)
 *   pkcs11-uri=URI          or both on a token: "pkcs11:token=Protector;id=%01"
 *                           (GnuTLS finds objects by id or label)
 *   pin-file=FILE           the token's PIN (first line), read when needed
 *   cameras=ID;ID           the cameras to protect (each configured with
 *                           privacy-stream=true on the archiver)
 *   mode=pixelate           pixelate: squares of block-size pixels take their
 *                           average colour; blur: a box blur of that radius
 *   regions=whole           whole: the whole picture (safe); motion: only the squares
 *                           where something moved in the last 30 frames, and their
 *                           neighbours (what never moves stays visible)
 *   block-size=16
 *   bitrate=1024            of the re-encoded video, kbit/s
 *   keyframe-frames=15      a keyframe every so many frames
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PRIVACY_PROTECTOR (custos_privacy_protector_get_type ())

G_DECLARE_FINAL_TYPE (CustosPrivacyProtector, custos_privacy_protector, CUSTOS, PRIVACY_PROTECTOR,
                      GObject)

CustosPrivacyProtector *
custos_privacy_protector_new_from_file (const char *path, GError **error);
/* Starts one job per camera. */
void
custos_privacy_protector_start (CustosPrivacyProtector *self);
/* Ends every job (their uploads are finished and sealed). */
void
custos_privacy_protector_stop (CustosPrivacyProtector *self);
/* A line for people: what it protects, where it publishes. */
char *
custos_privacy_protector_describe (CustosPrivacyProtector *self);

G_END_DECLS
