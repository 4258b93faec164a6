/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers for the archiver tests: a PKI made with the openssl CLI (a CA,
 * the archiver's TLS and signing certificates, clients with any validity
 * dates through `openssl ca`), the real custos-archiver started on a free
 * port of 127.0.0.1 with real TLS, a libsoup client with or without a
 * client certificate, and reading fusion streams back with CustosReader.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "custos.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  char *cert_path;
  char *key_path;
  char *fingerprint;   /* hex SHA-256 of the DER */
  CustosCertificate *cert;
} TestClient;

typedef struct
{
  char       *dir;
  char       *config_path;
  char       *enrolled_dir;
  char       *revocation_path;
  char       *storage_dir;
  char       *ca_cert;
  GSubprocess *process;
  char       *log_path;
  guint       port;
  char       *base_url;
} TestArchiver;

/* The CA and the archiver's certificates, once per test program. */
void          test_pki_init            (void);
const char   *test_pki_ca_cert         (void);
/* A client certificate issued by the CA. key_spec "ec:P-256" or "rsa:2048";
 * not_before/not_after: UTC µs, or 0 for an hour ago / in 30 days. */
TestClient   *test_client_new          (const char   *name,
                                        const char   *key_spec,
                                        gint64        not_before_us,
                                        gint64        not_after_us);
void          test_client_free         (TestClient   *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestClient, test_client_free)

/* A fresh archiver folder (config, enrolment, storage). cameras: the
 * [camera …] groups and any [recording] lines; archiver_extra: more
 * [archiver] lines (may be NULL). */
TestArchiver *test_archiver_new        (const char   *name,
                                        const char   *archiver_extra,
                                        const char   *cameras);
void          test_archiver_enrol      (TestArchiver *archiver,
                                        TestClient   *client);
void          test_archiver_revoke     (TestArchiver *archiver,
                                        TestClient   *client);
/* Starts it and waits for its "listening" line (fails the test after 20 s). */
void          test_archiver_start      (TestArchiver *archiver);
/* SIGTERM and wait: open files are finished. */
void          test_archiver_stop       (TestArchiver *archiver);
/* SIGKILL: nothing is finished. */
void          test_archiver_kill       (TestArchiver *archiver);
gboolean      test_archiver_is_running (TestArchiver *archiver);
void          test_archiver_free       (TestArchiver *archiver);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestArchiver, test_archiver_free)

/* Waits until /health says the camera is in that state (or the time is up). */
gboolean      test_archiver_wait_state (TestArchiver *archiver,
                                        const char   *camera,
                                        const char   *state,
                                        guint         timeout_ms);

/* A session trusting the test CA, with client's certificate (may be NULL). */
SoupSession  *test_session_new         (TestClient   *client);
/* GET path; returns the body, sets *status. */
GBytes       *test_get                 (SoupSession  *session,
                                        TestArchiver *archiver,
                                        const char   *path,
                                        guint        *status);
JsonNode     *test_get_json            (SoupSession  *session,
                                        TestArchiver *archiver,
                                        const char   *path,
                                        guint        *status);
JsonObject   *test_find_camera         (JsonNode     *health,
                                        const char   *camera);
/* ISO text for UTC µs. */
char         *test_iso                 (gint64        utc_us);

/* Reading fusion streams */
typedef struct
{
  guint   packets;
  guint   ok;
  guint   locked;
  guint   altered;
  guint   video;
  gint64  first_us;
  gint64  last_us;
  GHashTable *payloads;   /* "stream:pts" -> hex SHA-256 of the payload, OK packets */
  GArray *video_pts;      /* gint64, in order */
  guint64 verified;
  guint64 unsigned_packets;
  guint64 missing;
  guint   damaged;
} TestRead;

/* Decrypts with client's key (NULL: no key); ca: to check the seals. */
TestRead     *test_read_fusion         (GBytes       *data,
                                        TestClient   *client);
TestRead     *test_read_file           (const char   *path,
                                        TestClient   *client);
void          test_read_free           (TestRead     *read);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestRead, test_read_free)

/* Recipient ids named by RECIPIENT or KEY records of a fusion stream. */
gboolean      test_fusion_has_recipient (GBytes      *data,
                                         const char  *fingerprint_hex);
/* Every .fusion and .fusion.part of a camera, oldest first. */
GPtrArray    *test_camera_files        (TestArchiver *archiver,
                                        const char   *camera,
                                        gboolean      with_part);

G_END_DECLS
