/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosDemo: `custos-archiver --demo [--dir DIR]`. Makes, in DIR or a new
 * folder under $XDG_RUNTIME_DIR (else $TMPDIR, else /tmp):
 *
 *   ca.cert.pem, ca.key.pem              a demo CA (EC P-256)
 *   server.cert.pem, server.key.pem      the archiver's TLS certificate (127.0.0.1, localhost)
 *   signer.cert.pem, signer.key.pem      the archiver's sealing key (ECDSA P-256)
 *   softhsm2.conf, tokens/               a SoftHSM token "custos-demo" holding the operator's
 *                                        key (generated on the token) and certificate (issued
 *                                        by the CA); its PIN is printed once
 *   enrolled/operator.cert.pem           the operator's certificate, enrolled
 *   protector.cert.pem, protector.key.pem  the Privacy Protector's certificate, enrolled
 *                                        too, and listed in privacy-protectors=
 *   protector.conf, protector.log        its configuration and log, written when
 *                                        custos_demo_start_protector() starts it
 *   revoked.txt                          an empty revocation list
 *   storage/                             the archive
 *   archiver.conf                        two test cameras: "front-door" (encrypted, with audio,
 *                                        and a privacy-protected stream) and "lobby" (not
 *                                        encrypted), on 127.0.0.1, any free port
 *
 * Without SoftHSM's tools the operator gets a local key file instead
 * (operator.key.pem) and the demo says so.
 */
#pragma once

#include "custos-archiver.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_DEMO (custos_demo_get_type ())

G_DECLARE_FINAL_TYPE (CustosDemo, custos_demo, CUSTOS, DEMO, GObject)

CustosDemo     *custos_demo_new                (const char      *dir,
                                                GError         **error);
CustosArchiver *custos_demo_create_archiver    (CustosDemo      *self,
                                                GError         **error);
/* Once the archiver listens: starts custos-privacy-protector as a child
 * process for front-door (stopped with the demo). */
gboolean        custos_demo_start_protector    (CustosDemo      *self,
                                                CustosArchiver  *archiver,
                                                GError         **error);
/* Stops it (its upload is finished and sealed); also on finalize. */
void            custos_demo_stop_protector     (CustosDemo      *self);
/* How to connect: URL, CA, SOFTHSM2_CONF, token and PIN, commands. */
void            custos_demo_print_instructions (CustosDemo      *self,
                                                CustosArchiver  *archiver);

G_END_DECLS
