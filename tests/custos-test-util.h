/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers shared by the test programs: a temp dir per test run, running
 * the `openssl` CLI (the independent reference every crypto result is
 * cross-checked against), and certificates made by it.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A fresh directory under $TMPDIR, removed at exit unless CUSTOS_TEST_KEEP is set. */
const char *custos_test_tmpdir        (void);
/* Runs argv (NULL-terminated); fails the test with its stderr when it exits non-zero.
 * Returns stdout. stdin_data may be NULL. */
GBytes     *custos_test_run           (const char *const *argv,
                                       GBytes            *stdin_data);
/* Runs `openssl <args…>` (NULL-terminated) and returns its stdout. */
GBytes     *custos_test_openssl       (const char  *first,
                                       ...) G_GNUC_NULL_TERMINATED;
/* Runs `FIRST ARGS…` (NULL-terminated) and fails the test if it fails;
 * the output is dropped. */
void        custos_test_run_args      (const char  *first,
                                       ...) G_GNUC_NULL_TERMINATED;
/* A SoftHSM2 configuration with its token directory in the tmpdir, set as
 * SOFTHSM2_CONF (children inherit it). Call it before p11-kit loads
 * SoftHSM in this process. Returns the configuration's path. */
char       *custos_test_softhsm_setup (void);
/* Like custos_test_run but returns FALSE instead of failing. */
gboolean    custos_test_try_run       (const char *const *argv,
                                       GBytes            *stdin_data,
                                       GBytes           **stdout_out,
                                       char             **stderr_out);
/* A self-signed certificate with the openssl CLI.
 * key_spec: "rsa:2048", "rsa:3072", "ec:P-256", "ec:P-384".
 * Writes <name>.key.pem (unencrypted PKCS#8) and <name>.cert.pem into the tmpdir
 * and returns their paths. */
void        custos_test_make_cert     (const char  *key_spec,
                                       const char  *name,
                                       char       **cert_path,
                                       char       **key_path);
char       *custos_test_write_file    (const char  *name,
                                       const void  *data,
                                       gsize        len);
GBytes     *custos_test_hex_decode    (const char  *hex);

/* What ffprobe (not ours) says of a media file: -count_frames
 * -show_streams -show_format as JSON; select: -select_streams or NULL. */
JsonObject *custos_test_ffprobe      (const char  *path,
                                      const char  *select);
/* The frames ffprobe decodes from the first video stream; its codec. */
guint64     custos_test_video_frames (const char  *path,
                                      char       **codec);

G_END_DECLS
