/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Privacy Protector: the real archiver records an encrypted camera
 * (SMPTE bars) and a plain one; the real custos-privacy-protector process,
 * enrolled and listed as a privacy protector, takes the encrypted live
 * stream, pixelates it and publishes it back. The tests check what a
 * user would: the privacy-protected stream plays with no certificate and
 * every 16×16 square of its pictures is flat, while the original
 * (decrypted with an enrolled key) is not; the original still needs a
 * certificate; nobody else may publish; the stored privacy-protected
 * files are sealed by the archiver's signing key.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "custos-test-fusion.h"
#include "archiver-test-util.h"
#include "custos-pixelate.h"
#include "custos-test-util.h"

#define BLOCK 16
/* Deblocking may touch up to 3 pixels on each side of a square's edge. */
#define MARGIN 3
/* A square is "flat" when its inside varies by at most this much. */
#define FLAT 24

static const char cameras[] =
    "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=3\n"
    "[camera gate]\nname=Gate\n"
    "source=videotestsrc is-live=true pattern=smpte ! "
    "video/x-raw,width=320,height=240,framerate=15/1\n"
    "encrypted=true\nprivacy-stream=true\n"
    "[camera hall]\nname=Hall\n"
    "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=false\n";

static TestArchiver *archiver;
static TestClient   *protector; /* enrolled, listed in privacy-protectors= */
static TestClient   *alice;     /* enrolled viewer */
static TestClient   *card;      /* a protector whose key is on a SoftHSM token */
static char         *card_pin_file;
static GSubprocess  *protector_process;
static char         *protector_log;

/* Helpers */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* identity: the certificate= and key= lines, or pkcs11-uri= and pin-file=. */
static void
start_protector (const char *name, const char *identity)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *conf_name = g_strdup_printf ("%s.conf", name);
  g_autofree char *log_name = g_strdup_printf ("%s.log", name);
  g_autofree char *config_path = g_build_filename (archiver->dir, conf_name, NULL);
  g_autofree char *config =
      g_strdup_printf ("[privacy-protector]\narchiver=%s\nca-file=%s\n"
                       "%scameras=gate\n"
                       "block-size=%u\nbitrate=1024\nkeyframe-frames=8\n",
                       archiver->base_url, test_pki_ca_cert (), identity, BLOCK);
  const char *binary = g_getenv ("CUSTOS_PRIVACY_PROTECTOR");
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (binary);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  g_free (protector_log);
  protector_log = g_build_filename (archiver->dir, log_name, NULL);
  g_subprocess_launcher_set_stdout_file_path (launcher, protector_log);
  g_subprocess_launcher_set_stderr_file_path (launcher, protector_log);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  protector_process =
      g_subprocess_launcher_spawn (launcher, &error, binary, "--config", config_path, NULL);
  g_assert_no_error (error);
}

static void
dump_protector_log (void)
{
  g_autofree char *text = NULL;

  if (protector_log != NULL && g_file_get_contents (protector_log, &text, NULL, NULL))
    g_test_message ("protector log:\n%s", text);
}

static JsonObject *
find_listed (JsonNode *listed, const char *id)
{
  JsonArray *list = json_object_get_array_member (json_node_get_object (listed), "cameras");

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *o = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member (o, "id"), id) == 0)
        return o;
    }
  return NULL;
}

/* The last privacy-protected range the archiver lists; FALSE: none yet. */
static gboolean
last_privacy_range (gint64 *from_us, gint64 *to_us)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  guint status;
  g_autoptr (JsonNode) node =
      test_get_json (session, archiver, "/api/v1/cameras/gate/ranges?privacy=1", &status);
  JsonArray  *ranges;
  JsonObject *r;

  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  ranges = json_object_get_array_member (json_node_get_object (node), "ranges");
  if (json_array_get_length (ranges) == 0)
    return FALSE;
  r = json_array_get_object_element (ranges, json_array_get_length (ranges) - 1);
  *from_us = json_object_get_int_member (r, "from_us");
  *to_us = json_object_get_int_member (r, "to_us");
  return TRUE;
}

/* A privacy-protected range at least `seconds` long, sealed. */
static void
wait_for_privacy_range (gint64 seconds, gint64 *from_us, gint64 *to_us)
{
  gint64 deadline = g_get_monotonic_time () + (seconds + 40) * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (last_privacy_range (from_us, to_us) && *to_us - *from_us >= seconds * G_USEC_PER_SEC)
        return;
      g_usleep (200 * 1000);
    }
  dump_protector_log ();
  g_error ("no privacy-protected recording of %" G_GINT64_FORMAT " s", seconds);
}

static GBytes *
fetch (TestClient *client, const char *query, gint64 from_us, gint64 to_us, guint *status)
{
  g_autoptr (SoupSession) session = test_session_new (client);
  g_autofree char *from = test_iso (from_us);
  g_autofree char *to = test_iso (to_us);
  g_autofree char *path =
      g_strdup_printf ("/api/v1/cameras/gate/stream?%sfrom=%s&to=%s", query, from, to);

  return test_get (session, archiver, path, status);
}

static char *
reason_of (GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (body == NULL || !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                                   g_bytes_get_size (body), NULL))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (
      json_node_get_object (json_parser_get_root (parser)), "reason", NULL));
}

/* method a body to path as client (NULL: no certificate). */
static guint
send_body (TestClient *client, const char *method, const char *path, char **reason)
{
  g_autoptr (SoupSession) session = test_session_new (client);
  g_autofree char *url = g_strconcat (archiver->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  GTlsCertificate *cert = g_object_get_data (G_OBJECT (session), "client-cert");
  g_autoptr (GBytes) sent = g_bytes_new_static ("not a fusion stream", 19);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;

  if (cert != NULL)
    soup_message_set_tls_client_certificate (msg, cert);
  soup_message_set_request_body_from_bytes (msg, "application/x-custos-fusion", sent);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  *reason = reason_of (body);
  return soup_message_get_status (msg);
}

static guint
put_privacy (TestClient *client, char **reason)
{
  return send_body (client, "PUT", "/api/v1/cameras/gate/privacy", reason);
}

/* Pictures */

typedef struct
{
  guint  frames;
  double max_busy; /* most squares not flat in one picture (fraction) */
  double min_busy;
  double min_spread; /* least standard deviation of the squares' means */
} Pictures;

static void
measure_frame (Pictures *p, const GstVideoFrame *frame)
{
  const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint          stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  gint          width = GST_VIDEO_FRAME_WIDTH (frame);
  gint          height = GST_VIDEO_FRAME_HEIGHT (frame);
  guint         squares = 0, busy = 0;
  double        sum = 0, sum2 = 0, spread, fraction;

  for (gint y0 = 0; y0 + BLOCK <= height; y0 += BLOCK)
    for (gint x0 = 0; x0 + BLOCK <= width; x0 += BLOCK)
      {
        guint lo = 255, hi = 0, total = 0;

        for (gint y = y0 + MARGIN; y < y0 + BLOCK - MARGIN; y++)
          for (gint x = x0 + MARGIN; x < x0 + BLOCK - MARGIN; x++)
            {
              guint v = data[y * stride + x];

              lo = MIN (lo, v);
              hi = MAX (hi, v);
              total += v;
            }
        squares++;
        busy += hi - lo > FLAT;
        sum += total / (double) ((BLOCK - 2 * MARGIN) * (BLOCK - 2 * MARGIN));
        sum2 += (total / (double) ((BLOCK - 2 * MARGIN) * (BLOCK - 2 * MARGIN))) *
                (total / (double) ((BLOCK - 2 * MARGIN) * (BLOCK - 2 * MARGIN)));
      }
  g_assert_cmpuint (squares, >, 0);
  fraction = busy / (double) squares;
  spread = sqrt (MAX (sum2 / squares - (sum / squares) * (sum / squares), 0));
  p->max_busy = p->frames == 0 ? fraction : MAX (p->max_busy, fraction);
  p->min_busy = p->frames == 0 ? fraction : MIN (p->min_busy, fraction);
  p->min_spread = p->frames == 0 ? spread : MIN (p->min_spread, spread);
  p->frames++;
}

/* Decodes the video of a fusion stream (decrypted with client's key, or
 * none) with a real GStreamer pipeline and measures every picture. */
static Pictures
decode (GBytes *fusion, TestClient *client)
{
  g_autoptr (CustosReader) reader = custos_reader_new_for_bytes (fusion);
  g_autoptr (CustosLocalKeyProvider) keys = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (
      "appsrc name=src format=time caps=video/x-h264,stream-format=byte-stream,alignment=au "
      "! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=GRAY8 "
      "! appsink name=sink sync=false",
      &error);
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstElement) sink = NULL;
  Pictures      p = { 0 };
  gint64        origin = G_MININT64;
  CustosPacket *packet;
  GstSample    *sample;

  g_assert_no_error (error);
  if (client != NULL)
    {
      keys = custos_test_provider (client->cert_path, client->key_path);
      custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (keys));
    }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "max-bytes", (guint64) 0, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      g_autoptr (CustosPacket) pk = packet;
      GstBuffer *buffer;

      if (pk->stream != 0 || pk->status != CUSTOS_PACKET_OK)
        continue;
      if (origin == G_MININT64)
        {
          if (!(pk->flags & CUSTOS_DATA_FLAG_KEYFRAME))
            continue;
          origin = pk->utc_us;
        }
      buffer = gst_buffer_new_wrapped_bytes (pk->payload);
      GST_BUFFER_PTS (buffer) = (GstClockTime) (pk->utc_us - origin) * GST_USECOND;
      g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), buffer), ==, GST_FLOW_OK);
    }
  g_assert_no_error (error);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      GstVideoInfo  info;
      GstVideoFrame frame;

      g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
      g_assert_true (
          gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ));
      measure_frame (&p, &frame);
      gst_video_frame_unmap (&frame);
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return p;
}

/* Tests */

static void
test_listed (void)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  gint64   deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gboolean live = FALSE;

  while (!live && g_get_monotonic_time () < deadline)
    {
      guint status;
      g_autoptr (JsonNode) node = test_get_json (session, archiver, "/api/v1/cameras", &status);
      JsonObject *gate, *hall, *stream;

      g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
      gate = find_listed (node, "gate");
      hall = find_listed (node, "hall");
      g_assert_nonnull (gate);
      g_assert_nonnull (hall);
      g_assert_true (json_object_get_boolean_member (gate, "encrypted"));
      g_assert_true (json_object_get_boolean_member (gate, "privacy"));
      g_assert_false (json_object_get_boolean_member (hall, "privacy"));
      g_assert_true (json_object_get_null_member (hall, "privacy_stream"));
      stream = json_object_get_object_member (gate, "privacy_stream");
      g_assert_cmpstr (json_object_get_string_member (stream, "stream"), ==,
                       "/api/v1/cameras/gate/stream?privacy=1");
      live = json_object_get_boolean_member (stream, "live");
      if (!live)
        g_usleep (250 * 1000);
    }
  if (!live)
    dump_protector_log ();
  g_assert_true (live);
}

static void
test_pixelated_without_certificate (void)
{
  g_autoptr (GBytes) privacy = NULL;
  g_autoptr (GBytes) original = NULL;
  g_autoptr (GBytes) refused = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autofree char *reason = NULL;
  gint64           from_us, to_us;
  Pictures         pp, po;
  guint            status;

  wait_for_privacy_range (3, &from_us, &to_us);
  /* No client certificate at all. */
  privacy = fetch (NULL, "privacy=1&", from_us, to_us, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  read = test_read_fusion (privacy, NULL);
  g_assert_cmpuint (read->ok, >, 10);
  g_assert_cmpuint (read->locked, ==, 0);
  g_assert_cmpuint (read->altered, ==, 0);
  pp = decode (privacy, NULL);
  g_test_message ("privacy-protected: %u pictures, busy squares %.3f..%.3f, spread %.1f", pp.frames,
                  pp.min_busy, pp.max_busy, pp.min_spread);
  g_assert_cmpuint (pp.frames, >, 10);
  /* Every square flat, yet the picture is not blank: the bars show. */
  g_assert_cmpfloat (pp.max_busy, <, 0.02);
  g_assert_cmpfloat (pp.min_spread, >, 20);

  /* The original of the same time: needs a certificate... */
  refused = fetch (NULL, "", from_us, to_us, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_FORBIDDEN);
  reason = reason_of (refused);
  g_assert_nonnull (strstr (reason, "certificate"));
  /* ...and decrypted with an enrolled key, it is sharp. */
  original = fetch (alice, "", from_us, to_us, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  po = decode (original, alice);
  g_test_message ("original: %u pictures, busy squares %.3f..%.3f", po.frames, po.min_busy,
                  po.max_busy);
  g_assert_cmpuint (po.frames, >, 10);
  g_assert_cmpfloat (po.min_busy, >, 0.10);
  /* Without a key, the original gives nothing to decode. */
  g_assert_cmpuint (decode (original, NULL).frames, ==, 0);
}

static void
test_publish_refused (void)
{
  g_autofree char *reason = NULL;
  g_autofree char *reason2 = NULL;
  g_autofree char *reason3 = NULL;
  g_autofree char *reason4 = NULL;
  g_autofree char *reason5 = NULL;
  g_autofree char *reason6 = NULL;

  /* An enrolled viewer is not a privacy protector. */
  g_assert_cmpuint (put_privacy (alice, &reason), ==, SOUP_STATUS_FORBIDDEN);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, "not a privacy protector"));
  g_assert_nonnull (strstr (reason, alice->fingerprint));
  g_assert_cmpuint (put_privacy (NULL, &reason2), ==, SOUP_STATUS_FORBIDDEN);
  g_assert_nonnull (strstr (reason2, "privacy protector"));
  /* The protector itself, while its upload runs: one at a time. */
  g_assert_cmpuint (put_privacy (protector, &reason3), ==, SOUP_STATUS_CONFLICT);
  g_assert_nonnull (strstr (reason3, "already publishing"));
  /* A camera without a privacy-protected stream, other methods, other paths. */
  g_assert_cmpuint (send_body (protector, "PUT", "/api/v1/cameras/hall/privacy", &reason4), ==,
                    SOUP_STATUS_NOT_FOUND);
  g_assert_nonnull (strstr (reason4, "no privacy-protected stream"));
  g_assert_cmpuint (send_body (protector, "POST", "/api/v1/cameras/gate/privacy", &reason5), ==,
                    SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_cmpuint (send_body (protector, "PUT", "/api/v1/cameras/gate/stream", &reason6), ==,
                    SOUP_STATUS_METHOD_NOT_ALLOWED);
}

/* The end of the last privacy-protected range (0: none yet). */
static gint64
privacy_range_end (void)
{
  gint64 from_us, to_us;

  return last_privacy_range (&from_us, &to_us) ? to_us : 0;
}

/* A protector whose connection dies without a word (stopped here with
 * SIGSTOP: its upload stays open and sends nothing, as behind a pulled
 * cable) is replaced by the next upload after a few seconds of silence,
 * not refused until the idle timeout; running again, it reconnects and
 * the privacy-protected recording goes on. */
static void
test_silent_upload_replaced (void)
{
  const char *pid_text = g_subprocess_get_identifier (protector_process);
  pid_t       pid = pid_text ? (pid_t) g_ascii_strtoll (pid_text, NULL, 10) : 0;
  g_autofree char *reason = NULL;
  gint64      from_us, to_us, resumed_us, deadline;
  guint       status;

  g_assert_cmpint (pid, >, 0);
  wait_for_privacy_range (1, &from_us, &to_us);
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  g_usleep (4 * G_USEC_PER_SEC);
  status = put_privacy (protector, &reason);
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
  resumed_us = g_get_real_time ();
  g_test_message ("upload after 4 s of silence: %u (%s)", status, reason ? reason : "");
  g_assert_cmpuint (status, !=, SOUP_STATUS_CONFLICT);
  g_assert_true (reason == NULL || strstr (reason, "already publishing") == NULL);
  /* The protector's old upload was cut off: it reconnects and publishes. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (privacy_range_end () < resumed_us + 2 * G_USEC_PER_SEC)
    {
      if (g_get_monotonic_time () > deadline)
        {
          dump_protector_log ();
          g_error ("the privacy protector did not publish again after it was replaced");
        }
      g_usleep (250 * 1000);
    }
}

typedef struct
{
  CustosCertificate *expected;
  guint              seals;
  guint              by_archiver;
} SealCount;

static void
count_seal (CustosReader *reader, const CustosSealResult *result, gpointer user_data)
{
  SealCount *count = user_data;

  if (!result->sealed)
    return;
  count->seals++;
  if (result->problem == NULL && result->signer != NULL && result->signer_trusted &&
      custos_certificate_equal (result->signer, count->expected))
    count->by_archiver++;
}

/* Every finished privacy-protected file: sealed by the archiver's key. */
static void
test_stored_sealed (void)
{
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *signer_path = NULL;
  g_autoptr (CustosCertificate) signer = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  do
    {
      g_clear_pointer (&files, g_ptr_array_unref);
      files = test_camera_files (archiver, "gate.privacy", FALSE);
      if (files->len < 1)
        g_usleep (250 * 1000);
    }
  while (files->len < 1 && g_get_monotonic_time () < deadline);
  g_assert_cmpuint (files->len, >=, 1);
  g_key_file_load_from_file (config, archiver->config_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  signer_path = g_key_file_get_string (config, "archiver", "signer-certificate", &error);
  g_assert_no_error (error);
  signer = custos_certificate_new_from_file (signer_path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (TestRead) read = test_read_file (files->pdata[i], NULL);
      g_autoptr (CustosReader) reader = NULL;
      g_autoptr (GFile) file = g_file_new_for_path (files->pdata[i]);
      g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &error);
      GPtrArray    *streams;
      CustosPacket *packet;

      g_assert_no_error (error);
      g_assert_cmpuint (read->ok, >, 0);
      g_assert_cmpuint (read->verified, >=, read->ok);
      g_assert_cmpuint (read->missing, ==, 0);
      g_assert_cmpuint (read->unsigned_packets, ==, 0);
      g_assert_cmpuint (read->damaged, ==, 0);
      g_assert_cmpuint (read->altered, ==, 0);
      /* Flagged privacy-protected, not encrypted. */
      SealCount count = { signer };

      reader = custos_reader_new (G_INPUT_STREAM (in));
      custos_reader_set_ca_file (reader, test_pki_ca_cert ());
      custos_reader_set_seal_func (reader, count_seal, &count, NULL);
      while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
        custos_packet_unref (packet);
      g_assert_no_error (error);
      g_assert_cmpuint (count.seals, >, 0);
      g_assert_cmpuint (count.by_archiver, ==, count.seals);
      streams = custos_reader_get_streams (reader);
      g_assert_cmpuint (streams->len, >=, 1);
      g_assert_true (((CustosStreamInfo *) streams->pdata[0])->flags & CUSTOS_STREAM_FLAG_PRIVACY);
      g_assert_false (((CustosStreamInfo *) streams->pdata[0])->flags &
                      CUSTOS_STREAM_FLAG_ENCRYPTED);
    }
  g_assert_nonnull (signer);
}

/* A protector on a card */

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static gboolean
have_program (const char *name)
{
  g_autofree char *path = g_find_program_in_path (name);

  return path != NULL;
}

static gboolean
have_softhsm (void)
{
  return g_file_test (SOFTHSM_MODULE, G_FILE_TEST_EXISTS) && have_program ("softhsm2-util") &&
         have_program ("pkcs11-tool");
}

/* A SoftHSM token `label` (PIN 1234) with an EC key generated on it
 * (CKA_ID 01) and its certificate from the test CA (extensions: an
 * openssl extfile text, or NULL); returns the certificate's PEM path. */
static char *
make_token (const char *label, const char *subject, const char *extensions)
{
  g_autofree char *pki = g_path_get_dirname (test_pki_ca_cert ());
  g_autofree char *ca_key = g_build_filename (pki, "ca.key.pem", NULL);
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), label, NULL);
  g_autofree char *pub_der = g_build_filename (dir, "pub.der", NULL);
  g_autofree char *pub_pem = g_build_filename (dir, "pub.pem", NULL);
  g_autofree char *throwaway = g_build_filename (dir, "throwaway.key", NULL);
  g_autofree char *csr = g_build_filename (dir, "req.csr", NULL);
  g_autofree char *ext = g_build_filename (dir, "ext.cnf", NULL);
  g_autofree char *cert_der = g_build_filename (dir, "cert.der", NULL);
  char            *cert_pem = g_build_filename (dir, "cert.pem", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (ext, extensions ? extensions : "basicConstraints=CA:FALSE\n", -1, &error);
  g_assert_no_error (error);
  custos_test_run_args ("softhsm2-util", "--init-token", "--free", "--label", label, "--pin",
                        "1234", "--so-pin", "5678", NULL);
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", label,
                        "--login", "--pin", "1234", "--keypairgen", "--key-type", "EC:prime256v1",
                        "--id", "01", "--label", "key", NULL);
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", label,
                        "--read-object", "--type", "pubkey", "--id", "01", "-o", pub_der, NULL);
  g_bytes_unref (custos_test_openssl ("pkey", "-pubin", "-inform", "DER", "-in", pub_der, "-out",
                                      pub_pem, NULL));
  g_bytes_unref (custos_test_openssl ("req", "-new", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", throwaway,
                                      "-subj", subject, "-out", csr, NULL));
  g_bytes_unref (custos_test_openssl ("x509", "-req", "-in", csr, "-CA", test_pki_ca_cert (),
                                      "-CAkey", ca_key, "-force_pubkey", pub_pem, "-days", "30",
                                      "-CAcreateserial", "-extfile", ext, "-out", cert_pem, NULL));
  g_bytes_unref (
      custos_test_openssl ("x509", "-in", cert_pem, "-outform", "DER", "-out", cert_der, NULL));
  custos_test_run_args ("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", label,
                        "--login", "--pin", "1234", "--write-object", cert_der, "--type", "cert",
                        "--id", "01", "--label", "key", NULL);
  return cert_pem;
}

/* The protector's card; NULL without SoftHSM's tools. */
static TestClient *
make_card (void)
{
  g_autoptr (GError) error = NULL;
  TestClient *client;

  if (!have_softhsm ())
    return NULL;
  g_free (custos_test_softhsm_setup ());
  client = g_new0 (TestClient, 1);
  client->name = g_strdup ("card");
  client->cert_path = make_token ("protector-card", "/CN=protector card", NULL);
  card_pin_file = g_build_filename (custos_test_tmpdir (), "protector-card", "pin", NULL);
  g_file_set_contents (card_pin_file, "1234\n", -1, &error);
  g_assert_no_error (error);
  client->cert = custos_certificate_new_from_file (client->cert_path, &error);
  g_assert_no_error (error);
  client->fingerprint = custos_certificate_dup_fingerprint_hex (client->cert);
  return client;
}

/* tls-pkcs11-uri=: an archiver whose TLS key is on a token serves, and
 * the certificate clients see is the token's. */
static void
test_server_token (void)
{
  g_autofree char *cert_pem = NULL;
  g_autofree char *extra = NULL;
  g_autoptr (TestArchiver) hsm = NULL;
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) expected = NULL;
  g_autoptr (GByteArray) der = NULL;
  g_autofree char *url = NULL;
  g_autofree char *pin_file = NULL;
  GTlsCertificate *peer;

  if (card == NULL)
    {
      g_test_skip ("SoftHSM is not installed");
      return;
    }
  cert_pem = make_token ("archiver-card", "/CN=127.0.0.1",
                         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                         "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n");
  pin_file = g_build_filename (custos_test_tmpdir (), "archiver-card", "pin", NULL);
  g_file_set_contents (pin_file, "1234\n", -1, &error);
  g_assert_no_error (error);
  extra = g_strdup_printf ("tls-pkcs11-uri=pkcs11:token=archiver-card;id=%%01\n"
                           "tls-pin-file=%s\n",
                           pin_file);
  hsm = test_archiver_new ("privacy-hsm", extra,
                           "[camera hall]\nsource=videotestsrc is-live=true ! "
                           "video/x-raw,width=160,height=120,framerate=10/1\nencrypted=false\n");
  test_archiver_start (hsm);

  session = test_session_new (NULL);
  url = g_strconcat (hsm->base_url, "/api/v1/cameras", NULL);
  msg = soup_message_new ("GET", url);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  peer = soup_message_get_tls_peer_certificate (msg);
  g_assert_nonnull (peer);
  g_object_get (peer, "certificate", &der, NULL);
  expected = custos_certificate_new_from_file (cert_pem, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (der->data, der->len,
                   g_bytes_get_data (custos_certificate_get_der (expected), NULL),
                   g_bytes_get_size (custos_certificate_get_der (expected)));
  test_archiver_stop (hsm);
}

static char *
privacy_reason (void)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  guint status;
  g_autoptr (JsonNode) node = test_get_json (session, archiver, "/api/v1/cameras", &status);
  JsonObject *gate = find_listed (node, "gate");

  return g_strdup (json_object_get_string_member_with_default (
      json_object_get_object_member (gate, "privacy_stream"), "reason", NULL));
}

static gboolean
privacy_live (void)
{
  g_autoptr (SoupSession) session = test_session_new (NULL);
  guint status;
  g_autoptr (JsonNode) node = test_get_json (session, archiver, "/api/v1/cameras", &status);
  JsonObject *gate = find_listed (node, "gate");

  return json_object_get_boolean_member (json_object_get_object_member (gate, "privacy_stream"),
                                         "live");
}

/* The key-file protector stops (its upload ends cleanly), one whose key
 * is on a token takes over: it decrypts on the card and publishes. */
static void
test_token (void)
{
  g_autofree char *identity = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) privacy = NULL;
  g_autoptr (TestRead) read = NULL;
  gint64   deadline, switched_us, from_us = 0, to_us = 0;
  Pictures pp;
  guint    status;

  if (card == NULL)
    {
      g_test_skip ("SoftHSM is not installed");
      return;
    }
  g_subprocess_send_signal (protector_process, SIGTERM);
  g_subprocess_wait (protector_process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (protector_process));
  g_clear_object (&protector_process);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (privacy_live () && g_get_monotonic_time () < deadline)
    g_usleep (100 * 1000);
  g_assert_false (privacy_live ());

  /* An upload that is no fusion stream is accepted as a body, and the
   * archiver says why it recorded nothing. */
  {
    g_autofree char *reason = NULL;
    g_autofree char *state = NULL;

    g_assert_cmpuint (put_privacy (protector, &reason), ==, SOUP_STATUS_OK);
    deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    do
      {
        g_clear_pointer (&state, g_free);
        state = privacy_reason ();
        g_usleep (100 * 1000);
      }
    while ((state == NULL || strstr (state, "last upload ended") == NULL) &&
           g_get_monotonic_time () < deadline);
    g_test_message ("after a bad upload: %s", state);
    g_assert_nonnull (strstr (state, "last upload ended"));
    g_assert_false (privacy_live ());
  }

  switched_us = g_get_real_time ();
  identity = g_strdup_printf ("pkcs11-uri=pkcs11:token=protector-card;id=%%01\npin-file=%s\n",
                              card_pin_file);
  start_protector ("card-protector", identity);
  deadline = g_get_monotonic_time () + 40 * G_USEC_PER_SEC;
  while (to_us < switched_us + 3 * G_USEC_PER_SEC && g_get_monotonic_time () < deadline)
    {
      g_usleep (250 * 1000);
      wait_for_privacy_range (0, &from_us, &to_us);
    }
  if (to_us < switched_us + 3 * G_USEC_PER_SEC)
    dump_protector_log ();
  g_assert_cmpint (to_us, >=, switched_us + 3 * G_USEC_PER_SEC);
  g_assert_true (privacy_live ());
  {
    g_autofree char *log = NULL;

    /* It is the card's protector that publishes. */
    g_file_get_contents (protector_log, &log, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (strstr (log, "publishing its privacy-protected stream"));
  }
  privacy = fetch (NULL, "privacy=1&", switched_us + G_USEC_PER_SEC, to_us, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  read = test_read_fusion (privacy, NULL);
  g_assert_cmpuint (read->ok, >, 10);
  pp = decode (privacy, NULL);
  g_test_message ("from the card's protector: %u pictures, busy squares up to %.3f", pp.frames,
                  pp.max_busy);
  g_assert_cmpuint (pp.frames, >, 10);
  g_assert_cmpfloat (pp.max_busy, <, 0.02);
}

static void
assert_clean_log (const char *name)
{
  g_autofree char *path = g_build_filename (archiver->dir, name, NULL);
  g_autofree char *log = NULL;

  if (!g_file_get_contents (path, &log, NULL, NULL))
    return;
  g_assert_null (strstr (log, "runtime error"));
  g_assert_null (strstr (log, "Sanitizer"));
  g_assert_null (strstr (log, "CRITICAL"));
}

/* The protector stops cleanly on SIGTERM, and nothing went wrong inside
 * the processes (sanitizer builds report into the logs). */
static void
test_clean_exit (void)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (protector_process, SIGTERM);
  g_subprocess_wait (protector_process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (protector_process));
  g_clear_object (&protector_process);
  assert_clean_log ("protector.log");
  assert_clean_log ("card-protector.log");
  assert_clean_log ("archiver.log");
}

/* The filter itself, in-process on synthetic pictures */

#define FW 320
#define FH 240
#define PATCH 48

/* A static checkerboard of 8-pixel squares, and a striped patch moving
 * right by one square per frame along the top rows. */
static GstBuffer *
synthetic_frame (const GstVideoInfo *info, guint index)
{
  GstBuffer    *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstVideoFrame frame;
  gint          px = (gint) index * BLOCK;

  g_assert_true (gst_video_frame_map (&frame, (GstVideoInfo *) info, buffer, GST_MAP_WRITE));
  for (gint y = 0; y < FH; y++)
    {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
                    y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

      for (gint x = 0; x < FW; x++)
        {
          gboolean in_patch = x >= px && x < px + PATCH && y >= BLOCK && y < BLOCK + PATCH;

          row[x] = in_patch ? ((x / 2) % 2 ? 255 : 200) : (((x / 8) + (y / 8)) % 2 ? 255 : 0);
        }
    }
  for (guint p = 1; p < 3; p++)
    for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, p); y++)
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, p) +
                  y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p),
              128, GST_VIDEO_FRAME_COMP_WIDTH (&frame, p));
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buffer) = index * GST_SECOND / 15;
  return buffer;
}

/* Range of luma values inside one 16×16 square (no margin: no codec here). */
static guint
square_range (const GstVideoFrame *frame, guint col, guint row)
{
  const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint          stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  guint         lo = 255, hi = 0;

  for (guint y = row * BLOCK; y < (row + 1) * BLOCK; y++)
    for (guint x = col * BLOCK; x < (col + 1) * BLOCK; x++)
      {
        lo = MIN (lo, data[y * stride + x]);
        hi = MAX (hi, data[y * stride + x]);
      }
  return hi - lo;
}

/* Runs n synthetic frames through custospixelate with props; the
 * ranges of every square of the last one (FW/BLOCK × FH/BLOCK). */
static guint *
run_filter (const char *props, guint n)
{
  g_autofree char *description = g_strdup_printf (
      "appsrc name=src format=time caps=video/x-raw,format=I420,width=%d,height=%d,"
      "framerate=15/1 ! custospixelate block-size=%d %s ! appsink name=sink sync=false",
      FW, FH, BLOCK, props);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstElement) sink = NULL;
  g_autoptr (GstSample) last = NULL;
  guint        *ranges = g_new0 (guint, (FW / BLOCK) * (FH / BLOCK));
  GstVideoInfo  info;
  GstVideoFrame frame;
  GstSample    *sample;

  g_assert_no_error (error);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, FW, FH);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), synthetic_frame (&info, i)), ==,
                     GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      g_clear_pointer (&last, gst_sample_unref);
      last = sample;
    }
  g_assert_nonnull (last);
  g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (last)));
  g_assert_true (gst_video_frame_map (&frame, &info, gst_sample_get_buffer (last), GST_MAP_READ));
  for (guint r = 0; r < FH / BLOCK; r++)
    for (guint c = 0; c < FW / BLOCK; c++)
      ranges[r * (FW / BLOCK) + c] = square_range (&frame, c, r);
  gst_video_frame_unmap (&frame);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return ranges;
}

/* Whole picture: every square flat, pixelated or blurred. */
static void
test_filter_whole (void)
{
  g_autofree guint *pixelated = run_filter ("", 3);
  g_autofree guint *blurred = run_filter ("mode=blur", 3);

  for (guint i = 0; i < (FW / BLOCK) * (FH / BLOCK); i++)
    {
      g_assert_cmpuint (pixelated[i], ==, 0);
      /* Away from the picture's edge, the 8-pixel checks blur to grey. */
      if (i % (FW / BLOCK) > 0 && i % (FW / BLOCK) < FW / BLOCK - 1 && i / (FW / BLOCK) > 0 &&
          i / (FW / BLOCK) < FH / BLOCK - 1)
        g_assert_cmpuint (blurred[i], <, 40);
    }
}

/* regions=motion: the moving patch (and around it) is hidden, the
 * static checkerboard far from it stays sharp. */
static void
test_filter_motion (void)
{
  const guint       frames = 10;
  g_autofree guint *ranges = run_filter ("regions=motion", frames);
  guint             patch_col = frames - 1; /* the patch's left square in the last frame */

  for (guint r = 1; r < 1 + PATCH / BLOCK; r++)
    for (guint c = patch_col; c < patch_col + PATCH / BLOCK; c++)
      g_assert_cmpuint (ranges[r * (FW / BLOCK) + c], ==, 0);
  /* Two squares below the patch's rows, nothing ever moved. */
  for (guint r = 1 + PATCH / BLOCK + 2; r < FH / BLOCK; r++)
    for (guint c = 0; c < FW / BLOCK; c++)
      g_assert_cmpuint (ranges[r * (FW / BLOCK) + c], ==, 255);
}

/* The demo */

static char *
wait_for_demo (const char *out_path, GSubprocess *proc)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline && g_subprocess_get_identifier (proc) != NULL)
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (out_path, &text, NULL, NULL) && strstr (text, "Ctrl+C") != NULL)
        return g_steal_pointer (&text);
      g_usleep (100 * 1000);
    }
  return NULL;
}

static JsonNode *
demo_get_json (SoupSession *session, const char *url)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  return node;
}

/* The newest privacy-protected range of front-door, and whether it is live. */
static gboolean
demo_poll (SoupSession *session, const char *base, gint64 *from_us, gint64 *to_us)
{
  g_autofree char *url = g_strconcat (base, "/api/v1/cameras", NULL);
  g_autofree char *ranges_url =
      g_strconcat (base, "/api/v1/cameras/front-door/ranges?privacy=1", NULL);
  g_autoptr (JsonNode) node = demo_get_json (session, url);
  g_autoptr (JsonNode) ranges = demo_get_json (session, ranges_url);
  JsonObject *front = find_listed (node, "front-door");
  JsonObject *lobby = find_listed (node, "lobby");
  JsonArray  *list = json_object_get_array_member (json_node_get_object (ranges), "ranges");

  g_assert_true (json_object_get_boolean_member (front, "encrypted"));
  g_assert_true (json_object_get_boolean_member (front, "privacy"));
  g_assert_false (json_object_get_boolean_member (lobby, "encrypted"));
  g_assert_false (json_object_get_boolean_member (lobby, "privacy"));
  if (json_array_get_length (list) > 0)
    {
      JsonObject *r = json_array_get_object_element (list, json_array_get_length (list) - 1);

      *from_us = json_object_get_int_member (r, "from_us");
      *to_us = json_object_get_int_member (r, "to_us");
    }
  return json_object_get_boolean_member (json_object_get_object_member (front, "privacy_stream"),
                                         "live");
}

/* --demo: one encrypted camera with a privacy-protected stream (the
 * protector started as a process of its own), one plain camera; the
 * privacy-protected stream plays without any certificate, and stopping
 * the demo stops the protector. */
static void
test_demo (void)
{
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), "privacy-demo", NULL);
  g_autofree char *out_path = g_build_filename (custos_test_tmpdir (), "privacy-demo.out", NULL);
  g_autofree char *err_path = g_build_filename (custos_test_tmpdir (), "privacy-demo.log", NULL);
  g_autofree char *ca = g_build_filename (dir, "ca.cert.pem", NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GTlsDatabase) db = NULL;
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (TestRead) read = NULL;
  g_autofree char *text = NULL;
  g_autofree char *base = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *url = NULL;
  const char      *found;
  gint64           deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gint64           from_us = 0, to_us = 0;
  gboolean         live = FALSE;
  int              pid;

  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CUSTOS_ARCHIVER"), "--demo",
                                      "--dir", dir, NULL);
  g_assert_no_error (error);
  text = wait_for_demo (out_path, proc);
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  /* It says what it started. */
  g_assert_nonnull ((found = strstr (text, "started custos-privacy-protector for front-door")));
  g_assert_nonnull ((found = strstr (found, "pid ")));
  pid = atoi (found + 4);
  g_assert_cmpint (pid, >, 0);
  g_assert_nonnull ((found = strstr (text, "listening on https://127.0.0.1:")));
  base = g_strdup_printf (
      "https://127.0.0.1:%u",
      (guint) g_ascii_strtoull (found + strlen ("listening on https://127.0.0.1:"), NULL, 10));

  db = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  session = g_object_new (SOUP_TYPE_SESSION, "tls-database", db, "timeout", 30, NULL);
  while (g_get_monotonic_time () < deadline && (!live || to_us - from_us < 2 * G_USEC_PER_SEC))
    {
      live = demo_poll (session, base, &from_us, &to_us);
      g_usleep (250 * 1000);
    }
  g_assert_true (live);
  g_assert_cmpint (to_us - from_us, >=, 2 * G_USEC_PER_SEC);

  /* No certificate at all. */
  from = test_iso (from_us);
  to = test_iso (to_us);
  url = g_strdup_printf ("%s/api/v1/cameras/front-door/stream?privacy=1&from=%s&to=%s", base, from,
                         to);
  msg = soup_message_new ("GET", url);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  read = test_read_fusion (body, NULL);
  g_assert_cmpuint (read->ok, >, 10);
  g_assert_cmpuint (read->locked, ==, 0);

  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  g_assert_cmpint (kill (pid, 0), ==, -1);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_assert_true (custos_pixelate_register ());
  test_pki_init ();
  protector = test_client_new ("protector", "ec:P-256", 0, 0);
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  card = make_card ();
  {
    g_autofree char *extra = g_strdup_printf ("privacy-protectors=%s;%s\n", protector->fingerprint,
                                              card ? card->fingerprint : protector->fingerprint);

    archiver = test_archiver_new ("privacy", extra, cameras);
  }
  test_archiver_enrol (archiver, protector);
  test_archiver_enrol (archiver, alice);
  if (card != NULL)
    test_archiver_enrol (archiver, card);
  test_archiver_start (archiver);
  {
    g_autofree char *identity =
        g_strdup_printf ("certificate=%s\nkey=%s\n", protector->cert_path, protector->key_path);

    start_protector ("protector", identity);
  }

  g_test_add_func ("/archiver/privacy/filter-whole", test_filter_whole);
  g_test_add_func ("/archiver/privacy/filter-motion", test_filter_motion);
  g_test_add_func ("/archiver/privacy/listed", test_listed);
  g_test_add_func ("/archiver/privacy/pixelated-without-certificate",
                   test_pixelated_without_certificate);
  g_test_add_func ("/archiver/privacy/publish-refused", test_publish_refused);
  g_test_add_func ("/archiver/privacy/silent-upload-replaced", test_silent_upload_replaced);
  g_test_add_func ("/archiver/privacy/stored-sealed", test_stored_sealed);
  g_test_add_func ("/archiver/privacy/token", test_token);
  g_test_add_func ("/archiver/privacy/server-key-on-token", test_server_token);
  g_test_add_func ("/archiver/privacy/clean-exit", test_clean_exit);
  g_test_add_func ("/archiver/privacy/demo", test_demo);
  ret = g_test_run ();

  if (protector_process != NULL)
    {
      g_subprocess_send_signal (protector_process, SIGTERM);
      g_subprocess_wait (protector_process, NULL, &error);
      g_clear_object (&protector_process);
    }
  test_archiver_stop (archiver);
  g_clear_pointer (&archiver, test_archiver_free);
  g_clear_pointer (&protector, test_client_free);
  g_clear_pointer (&alice, test_client_free);
  g_clear_pointer (&card, test_client_free);
  g_free (card_pin_file);
  g_free (protector_log);
  return ret;
}
