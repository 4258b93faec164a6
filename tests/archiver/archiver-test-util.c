/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "custos-test-fusion.h"
#include "archiver-test-util.h"
#include "custos-test-util.h"

#define START_TIMEOUT_US (20 * G_USEC_PER_SEC)

static char *pki_dir;
static char *ca_cert;
static char *ca_key;
static char *ca_config;

/* PKI */

static char *
pki_path (const char *name)
{
  return g_build_filename (pki_dir, name, NULL);
}

static void
run_openssl (const char *first,
             ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  out = custos_test_run ((const char *const *) argv->pdata, NULL);
}

static void
make_key (const char *key_spec,
          const char *path)
{
  if (g_str_has_prefix (key_spec, "rsa:"))
    {
      g_autofree char *bits = g_strdup_printf ("rsa_keygen_bits:%s", key_spec + 4);

      run_openssl ("genpkey", "-algorithm", "RSA", "-pkeyopt", bits, "-out", path, NULL);
    }
  else
    {
      g_autofree char *curve = g_strdup_printf ("ec_paramgen_curve:%s", key_spec + 3);

      run_openssl ("genpkey", "-algorithm", "EC", "-pkeyopt", curve, "-out", path, NULL);
    }
}

static char *
asn1_time (gint64 utc_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);

  return g_date_time_format (dt, "%Y%m%d%H%M%SZ");
}

/* Any validity dates, any extensions: `openssl ca`. */
static void
issue (const char *name,
       const char *key_path,
       const char *extensions,
       gint64      not_before_us,
       gint64      not_after_us,
       const char *cert_path)
{
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", pki_dir, name);
  g_autofree char *ext = g_strdup_printf ("%s/%s.ext", pki_dir, name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s/O=Custos Tests", name);
  g_autofree char *start = asn1_time (not_before_us);
  g_autofree char *end = asn1_time (not_after_us);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (ext, extensions, -1, &error);
  g_assert_no_error (error);
  run_openssl ("req", "-new", "-key", key_path, "-subj", subj, "-out", csr, NULL);
  run_openssl ("ca", "-config", ca_config, "-batch", "-notext", "-in", csr, "-out", cert_path,
               "-startdate", start, "-enddate", end, "-extfile", ext, NULL);
}

static void
write_ca_config (void)
{
  g_autofree char *db = pki_path ("index.txt");
  g_autofree char *serial = pki_path ("serial");
  g_autofree char *text = g_strdup_printf ("[ca]\ndefault_ca = test\n"
                                           "[test]\ndatabase = %s\nnew_certs_dir = %s\n"
                                           "serial = %s\ncertificate = %s\nprivate_key = %s\n"
                                           "default_md = sha256\npolicy = any\n"
                                           "unique_subject = no\n"
                                           "[any]\ncommonName = supplied\n"
                                           "organizationName = optional\n",
                                           db, pki_dir, serial, ca_cert, ca_key);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (db, "", 0, &error);
  g_assert_no_error (error);
  g_file_set_contents (serial, "1000\n", -1, &error);
  g_assert_no_error (error);
  ca_config = pki_path ("ca.cnf");
  g_file_set_contents (ca_config, text, -1, &error);
  g_assert_no_error (error);
}

void
test_pki_init (void)
{
  gint64 now = g_get_real_time ();
  g_autofree char *server_key = NULL;
  g_autofree char *server_cert = NULL;
  g_autofree char *signer_key = NULL;
  g_autofree char *signer_cert = NULL;

  if (pki_dir != NULL)
    return;
  g_mkdir_with_parents (g_get_tmp_dir (), 0700);
  pki_dir = g_build_filename (custos_test_tmpdir (), "pki", NULL);
  g_assert_cmpint (g_mkdir_with_parents (pki_dir, 0700), ==, 0);
  ca_key = pki_path ("ca.key.pem");
  ca_cert = pki_path ("ca.cert.pem");
  make_key ("ec:P-256", ca_key);
  run_openssl ("req", "-new", "-x509", "-key", ca_key, "-out", ca_cert, "-days", "30",
               "-subj", "/CN=Custos Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL);
  write_ca_config ();
  server_key = pki_path ("server.key.pem");
  server_cert = pki_path ("server.cert.pem");
  make_key ("ec:P-256", server_key);
  issue ("server", server_key, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
         now - (gint64) 3600 * G_USEC_PER_SEC, now + (gint64) 30 * 86400 * G_USEC_PER_SEC, server_cert);
  signer_key = pki_path ("signer.key.pem");
  signer_cert = pki_path ("signer.cert.pem");
  make_key ("ec:P-256", signer_key);
  issue ("signer", signer_key, "keyUsage=critical,digitalSignature\n",
         now - (gint64) 3600 * G_USEC_PER_SEC, now + (gint64) 30 * 86400 * G_USEC_PER_SEC, signer_cert);
}

const char *
test_pki_ca_cert (void)
{
  return ca_cert;
}

TestClient *
test_client_new (const char *name,
                 const char *key_spec,
                 gint64      not_before_us,
                 gint64      not_after_us)
{
  TestClient *client = g_new0 (TestClient, 1);
  gint64 now = g_get_real_time ();
  g_autoptr (GError) error = NULL;

  test_pki_init ();
  client->name = g_strdup (name);
  client->key_path = g_strdup_printf ("%s/%s.key.pem", pki_dir, name);
  client->cert_path = g_strdup_printf ("%s/%s.cert.pem", pki_dir, name);
  make_key (key_spec, client->key_path);
  issue (name, client->key_path,
         g_str_has_prefix (key_spec, "rsa:")
           ? "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
           : "keyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n",
         not_before_us ? not_before_us : now - (gint64) 3600 * G_USEC_PER_SEC,
         not_after_us ? not_after_us : now + (gint64) 30 * 86400 * G_USEC_PER_SEC,
         client->cert_path);
  client->cert = custos_certificate_new_from_file (client->cert_path, &error);
  g_assert_no_error (error);
  client->fingerprint = custos_certificate_dup_fingerprint_hex (client->cert);
  return client;
}

void
test_client_free (TestClient *client)
{
  if (client == NULL)
    return;
  g_free (client->name);
  g_free (client->cert_path);
  g_free (client->key_path);
  g_free (client->fingerprint);
  g_clear_object (&client->cert);
  g_free (client);
}

/* The archiver */

TestArchiver *
test_archiver_new (const char *name,
                   const char *archiver_extra,
                   const char *cameras)
{
  TestArchiver *archiver = g_new0 (TestArchiver, 1);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  test_pki_init ();
  archiver->dir = g_build_filename (custos_test_tmpdir (), name, NULL);
  archiver->enrolled_dir = g_build_filename (archiver->dir, "enrolled", NULL);
  archiver->storage_dir = g_build_filename (archiver->dir, "storage", NULL);
  archiver->revocation_path = g_build_filename (archiver->dir, "revoked.txt", NULL);
  archiver->config_path = g_build_filename (archiver->dir, "archiver.conf", NULL);
  archiver->log_path = g_build_filename (archiver->dir, "archiver.log", NULL);
  archiver->ca_cert = g_strdup (ca_cert);
  g_assert_cmpint (g_mkdir_with_parents (archiver->enrolled_dir, 0700), ==, 0);
  g_file_set_contents (archiver->revocation_path, "# revoked\n", -1, &error);
  g_assert_no_error (error);
  text = g_strdup_printf ("[archiver]\nlisten=127.0.0.1\nport=0\n"
                          "tls-certificate=%s/server.cert.pem\ntls-key=%s/server.key.pem\n"
                          "client-ca=%s\nsigner-key=%s/signer.key.pem\n"
                          "signer-certificate=%s/signer.cert.pem\nstorage=storage\n"
                          "enrolment-folder=enrolled\nrevocation-list=revoked.txt\n"
                          "enrolment-rescan=2\n%s\n%s\n",
                          pki_dir, pki_dir, ca_cert, pki_dir, pki_dir,
                          archiver_extra ? archiver_extra : "", cameras);
  g_file_set_contents (archiver->config_path, text, -1, &error);
  g_assert_no_error (error);
  return archiver;
}

void
test_archiver_enrol (TestArchiver *archiver,
                     TestClient   *client)
{
  g_autofree char *contents = NULL;
  g_autofree char *path = g_strdup_printf ("%s/%s.cert.pem", archiver->enrolled_dir, client->name);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.tmp", archiver->enrolled_dir, client->name);
  gsize len;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (client->cert_path, &contents, &len, &error);
  g_assert_no_error (error);
  /* Written aside and renamed in, as an administrator's tools would. */
  g_file_set_contents (tmp, contents, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

void
test_archiver_revoke (TestArchiver *archiver,
                      TestClient   *client)
{
  g_autofree char *contents = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (archiver->revocation_path, &contents, NULL, NULL);
  text = g_strdup_printf ("%s%s  # %s\n", contents ? contents : "", client->fingerprint,
                          client->name);
  g_file_set_contents (archiver->revocation_path, text, -1, &error);
  g_assert_no_error (error);
}

static gboolean
read_port (TestArchiver *archiver)
{
  g_autofree char *out_path = g_build_filename (archiver->dir, "archiver.out", NULL);
  g_autofree char *text = NULL;
  const char *found;

  if (!g_file_get_contents (out_path, &text, NULL, NULL) ||
      (found = strstr (text, "listening on https://127.0.0.1:")) == NULL)
    return FALSE;
  archiver->port = (guint) g_ascii_strtoull (found + strlen ("listening on https://127.0.0.1:"),
                                             NULL, 10);
  g_free (archiver->base_url);
  archiver->base_url = g_strdup_printf ("https://127.0.0.1:%u", archiver->port);
  return archiver->port > 0;
}

static void
dump_log (TestArchiver *archiver)
{
  g_autofree char *log = NULL;

  if (g_file_get_contents (archiver->log_path, &log, NULL, NULL))
    g_printerr ("---- archiver log ----\n%s\n----\n", log);
}

/* A test that fails aborts: its archiver must not outlive it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

void
test_archiver_start (TestArchiver *archiver)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *out_path = g_build_filename (archiver->dir, "archiver.out", NULL);
  const char *binary = g_getenv ("CUSTOS_ARCHIVER");
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_US;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (binary);
  g_unlink (out_path);
  archiver->port = 0;
  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, archiver->log_path);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  archiver->process = g_subprocess_launcher_spawn (launcher, &error, binary, "--config",
                                                   archiver->config_path, NULL);
  g_assert_no_error (error);
  while (!read_port (archiver))
    {
      if (g_get_monotonic_time () > deadline || !test_archiver_is_running (archiver))
        {
          dump_log (archiver);
          g_error ("custos-archiver did not start");
        }
      g_usleep (50 * 1000);
    }
}

gboolean
test_archiver_is_running (TestArchiver *archiver)
{
  /* GSubprocess reaps its child in GLib's worker thread; the identifier
   * is gone once it has exited. */
  return archiver->process != NULL && g_subprocess_get_identifier (archiver->process) != NULL;
}

static void
wait_process (TestArchiver *archiver)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_wait (archiver->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&archiver->process);
}

/* A clean stop: exit status 0, and no sanitizer report on the way. */
void
test_archiver_stop (TestArchiver *archiver)
{
  g_autofree char *log = NULL;
  gboolean clean;

  if (archiver->process == NULL)
    return;
  g_subprocess_send_signal (archiver->process, SIGTERM);
  g_subprocess_wait (archiver->process, NULL, NULL);
  clean = g_subprocess_get_if_exited (archiver->process) &&
          g_subprocess_get_exit_status (archiver->process) == 0;
  g_clear_object (&archiver->process);
  g_file_get_contents (archiver->log_path, &log, NULL, NULL);
  if (!clean || (log && (strstr (log, "runtime error") || strstr (log, "Sanitizer"))))
    {
      dump_log (archiver);
      g_error ("custos-archiver did not stop cleanly");
    }
}

void
test_archiver_kill (TestArchiver *archiver)
{
  if (archiver->process == NULL)
    return;
  g_subprocess_force_exit (archiver->process);
  wait_process (archiver);
}

void
test_archiver_free (TestArchiver *archiver)
{
  if (archiver == NULL)
    return;
  if (archiver->process != NULL)
    test_archiver_stop (archiver);
  g_free (archiver->dir);
  g_free (archiver->config_path);
  g_free (archiver->enrolled_dir);
  g_free (archiver->revocation_path);
  g_free (archiver->storage_dir);
  g_free (archiver->ca_cert);
  g_free (archiver->log_path);
  g_free (archiver->base_url);
  g_free (archiver);
}

/* HTTP */

SoupSession *
test_session_new (TestClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca_cert, &error);
  SoupSession *session;

  g_assert_no_error (error);
  session = g_object_new (SOUP_TYPE_SESSION, "tls-database", db, "timeout", 30, NULL);
  if (client != NULL)
    {
      GTlsCertificate *cert = g_tls_certificate_new_from_files (client->cert_path,
                                                                client->key_path, &error);

      g_assert_no_error (error);
      g_object_set_data_full (G_OBJECT (session), "client-cert", cert, g_object_unref);
    }
  return session;
}

GBytes *
test_get (SoupSession  *session,
          TestArchiver *archiver,
          const char   *path,
          guint        *status)
{
  g_autofree char *url = g_strconcat (archiver->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  GTlsCertificate *cert = g_object_get_data (G_OBJECT (session), "client-cert");
  g_autoptr (GError) error = NULL;
  GBytes *body;

  g_assert_nonnull (msg);
  if (cert != NULL)
    soup_message_set_tls_client_certificate (msg, cert);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  if (error != NULL)
    {
      *status = 0;
      g_test_message ("GET %s: %s", path, error->message);
      return NULL;
    }
  *status = soup_message_get_status (msg);
  return body;
}

JsonNode *
test_get_json (SoupSession  *session,
               TestArchiver *archiver,
               const char   *path,
               guint        *status)
{
  g_autoptr (GBytes) body = test_get (session, archiver, path, status);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (body);
  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                              &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

JsonObject *
test_find_camera (JsonNode   *health,
                  const char *camera)
{
  JsonArray *cameras = json_object_get_array_member (json_node_get_object (health), "cameras");

  for (guint i = 0; i < json_array_get_length (cameras); i++)
    {
      JsonObject *o = json_array_get_object_element (cameras, i);

      if (g_str_equal (json_object_get_string_member (o, "id"), camera))
        return o;
    }
  return NULL;
}

gboolean
test_archiver_wait_state (TestArchiver *archiver,
                          const char   *camera,
                          const char   *state,
                          guint         timeout_ms)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  do
    {
      guint status;
      g_autoptr (JsonNode) health = test_get_json (session, archiver, "/api/v1/health", &status);
      JsonObject *cam = test_find_camera (health, camera);

      if (cam != NULL && g_strcmp0 (json_object_get_string_member (cam, "state"), state) == 0)
        return TRUE;
      g_usleep (100 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  return FALSE;
}

char *
test_iso (gint64 utc_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%06dZ", base, (int) (utc_us % G_USEC_PER_SEC));
}

/* Reading */

void
test_read_free (TestRead *read)
{
  if (read == NULL)
    return;
  g_clear_pointer (&read->payloads, g_hash_table_unref);
  g_clear_pointer (&read->video_pts, g_array_unref);
  g_free (read);
}

static void
note_packet (TestRead     *read,
             CustosPacket *packet)
{
  read->packets++;
  if (packet->status == CUSTOS_PACKET_OK)
    {
      guint8 digest[32];

      read->ok++;
      custos_sha256 (g_bytes_get_data (packet->payload, NULL), g_bytes_get_size (packet->payload),
                     digest);
      g_hash_table_insert (read->payloads,
                           g_strdup_printf ("%u:%" G_GINT64_FORMAT, packet->stream, packet->utc_us),
                           custos_hex_encode (digest, sizeof digest));
    }
  else if (packet->status == CUSTOS_PACKET_LOCKED)
    read->locked++;
  else
    read->altered++;
  if (packet->stream == 0)
    {
      read->video++;
      g_array_append_val (read->video_pts, packet->utc_us);
    }
  read->first_us = MIN (read->first_us, packet->utc_us);
  read->last_us = MAX (read->last_us, packet->utc_us);
}

static TestRead *
read_all (CustosReader *reader,
          TestClient   *client)
{
  TestRead *read = g_new0 (TestRead, 1);
  g_autoptr (CustosLocalKeyProvider) provider = NULL;
  CustosPacket *packet;
  CustosReport *report;
  g_autoptr (GError) error = NULL;

  read->payloads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  read->video_pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  read->first_us = G_MAXINT64;
  read->last_us = G_MININT64;
  if (client != NULL)
    {
      provider = custos_test_provider (client->cert_path, client->key_path);
      custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
    }
  custos_reader_set_ca_file (reader, ca_cert);
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      note_packet (read, packet);
      custos_packet_unref (packet);
    }
  g_assert_no_error (error);
  report = custos_reader_get_report (reader);
  read->verified = report->verified;
  read->unsigned_packets = report->unsigned_packets;
  read->missing = report->missing;
  read->damaged = report->damaged_regions;
  return read;
}

TestRead *
test_read_fusion (GBytes     *data,
                  TestClient *client)
{
  g_autoptr (CustosReader) reader = custos_reader_new_for_bytes (data);

  return read_all (reader, client);
}

TestRead *
test_read_file (const char *path,
                TestClient *client)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInputStream) input = g_file_read (file, NULL, &error);
  g_autoptr (CustosReader) reader = NULL;

  g_assert_no_error (error);
  reader = custos_reader_new (G_INPUT_STREAM (input));
  return read_all (reader, client);
}

gboolean
test_fusion_has_recipient (GBytes     *data,
                           const char *fingerprint_hex)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);
  gsize pos = 0;

  while (pos + CUSTOS_RECORD_HEADER_LEN <= len)
    {
      CustosRecordHeader header;
      const guint8 *body = p + pos + CUSTOS_RECORD_HEADER_LEN;
      g_autofree char *hex = NULL;

      if (!custos_record_header_parse (p + pos, len - pos, &header, NULL) ||
          pos + CUSTOS_RECORD_HEADER_LEN + header.length > len)
        break;
      if (header.type == CUSTOS_RECORD_RECIPIENT && header.length >= 32)
        hex = custos_hex_encode (body, 32);
      else if (header.type == CUSTOS_RECORD_KEY && header.length >= 37)
        hex = custos_hex_encode (body + 5, 32);
      if (hex != NULL && g_str_equal (hex, fingerprint_hex))
        return TRUE;
      pos += CUSTOS_RECORD_HEADER_LEN + header.length;
    }
  return FALSE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char **) a, *(const char **) b);
}

GPtrArray *
test_camera_files (TestArchiver *archiver,
                   const char   *camera,
                   gboolean      with_part)
{
  g_autofree char *dir_path = g_build_filename (archiver->storage_dir, camera, NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".fusion") || (with_part && g_str_has_suffix (name, ".fusion.part")))
      g_ptr_array_add (files, g_build_filename (dir_path, name, NULL));
  g_ptr_array_sort (files, compare_strings);
  return files;
}
