/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Camera sources beyond test patterns, each recorded by the real archiver:
 *
 *  - rtsp: rtsp:// cameras (uri=, and source=rtspsrc … ! rtph264depay;
 *    encode=none). An RTSP server in this process (gst-rtsp-server, when
 *    built with it) serves 25 fps H.264 from videotestsrc on 127.0.0.1,
 *    once as a camera sends it and once with its pictures split (SPS/PPS
 *    repeated before every slice); every recorded packet must be one
 *    whole picture, decode, at the source's rate, with the UTC times of
 *    when it was recorded.
 *  - metadata: a camera with a metadata stream (metadata=, JSON events as
 *    application/x-custos-metadata) besides its video, encrypted; the
 *    events are served over HTTPS to an enrolled client and must decrypt
 *    to exactly what was sent, in order.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <string.h>

#ifdef HAVE_GST_RTSP_SERVER
#include <gst/rtsp-server/rtsp-server.h>
#endif

#include "custos-test-fusion.h"
#include "archiver-test-util.h"
#include "custos-local-key-provider.h"
#include "custos-test-util.h"

#define RTSP_FPS 25
#define RECORD_S 6
#define N_EVENTS 8

typedef struct
{
  guint8  stream;
  gint64  utc_us;
  GBytes *payload;
} ReadPacket;

static void
read_packet_free (ReadPacket *p)
{
  g_bytes_unref (p->payload);
  g_free (p);
}

/* Every decrypted packet of a fusion stream, in order; the kinds and caps
 * of its streams in *kinds_out and *caps_out. */
static GPtrArray *
read_packets (CustosReader *reader, TestClient *client, GPtrArray **kinds_out, GPtrArray **caps_out)
{
  GPtrArray *packets = g_ptr_array_new_with_free_func ((GDestroyNotify) read_packet_free);
  g_autoptr (CustosLocalKeyProvider) provider = NULL;
  g_autoptr (GError) error = NULL;
  CustosPacket *packet;
  GPtrArray    *streams;

  if (client != NULL)
    {
      provider = custos_test_provider (client->cert_path, client->key_path);
      custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
    }
  custos_reader_set_ca_file (reader, test_pki_ca_cert ());
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      ReadPacket *p = g_new0 (ReadPacket, 1);

      g_assert_cmpint (packet->status, ==, CUSTOS_PACKET_OK);
      p->stream = packet->stream;
      p->utc_us = packet->utc_us;
      p->payload = g_bytes_ref (packet->payload);
      g_ptr_array_add (packets, p);
      custos_packet_unref (packet);
    }
  g_assert_no_error (error);
  streams = custos_reader_get_streams (reader);
  if (kinds_out != NULL)
    {
      *kinds_out = g_ptr_array_new ();
      *caps_out = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < streams->len; i++)
        {
          CustosStreamInfo *info = streams->pdata[i];

          g_ptr_array_add (*kinds_out, GUINT_TO_POINTER (info->kind));
          g_ptr_array_add (*caps_out, g_strdup (info->caps));
        }
    }
  return packets;
}

/* RTSP */

#ifdef HAVE_GST_RTSP_SERVER
/* Pictures in an H.264 byte-stream access unit: slices (NAL types 1 and
 * 5) whose first_mb_in_slice is 0, i.e. whose first coded bit is 1. */
static guint
count_pictures (GBytes *au)
{
  gsize         len;
  const guint8 *d = g_bytes_get_data (au, &len);
  guint         pictures = 0;

  for (gsize i = 0; i + 4 < len; i++)
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1)
      {
        guint type = d[i + 3] & 0x1f;

        if ((type == 1 || type == 5) && (d[i + 4] & 0x80))
          pictures++;
        i += 2;
      }
  return pictures;
}

/* Decodes an H.264 byte stream with GStreamer: the number of pictures. */
static guint
decode_frames (const char *path)
{
  g_autofree char *description =
      g_strdup_printf ("filesrc location=\"%s\" ! h264parse ! avdec_h264 ! "
                       "appsink name=sink sync=false",
                       path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) sink = NULL;
  GstSample *sample;
  guint      frames = 0;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      frames++;
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return frames;
}

typedef struct
{
  GMainContext  *context;
  GMainLoop     *loop;
  GstRTSPServer *server;
  GThread       *thread;
  guint          port;
} RtspServer;

static gpointer
rtsp_thread (gpointer user_data)
{
  RtspServer *rtsp = user_data;

  g_main_context_push_thread_default (rtsp->context);
  g_main_loop_run (rtsp->loop);
  g_main_context_pop_thread_default (rtsp->context);
  return NULL;
}

static void
add_mount (GstRTSPMountPoints *mounts, const char *path, const char *pay_options)
{
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new ();
  g_autofree char     *launch =
      g_strdup_printf ("( videotestsrc is-live=true pattern=ball ! "
                       "video/x-raw,width=320,height=240,framerate=%u/1 ! "
                       "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%u ! "
                       "rtph264pay name=pay0 pt=96 %s )",
                       RTSP_FPS, RTSP_FPS, pay_options);

  gst_rtsp_media_factory_set_launch (factory, launch);
  gst_rtsp_media_factory_set_shared (factory, TRUE);
  gst_rtsp_mount_points_add_factory (mounts, path, factory);
}

/* videotestsrc at 25 fps, H.264 with a keyframe a second, shared by every
 * client, on a free port of 127.0.0.1, served from a thread. /cam as a
 * camera sends it; /sliced repeats SPS/PPS before every IDR slice of
 * x264's multi-slice pictures (config-interval=-1), which splits them. */
static RtspServer *
rtsp_server_start (void)
{
  RtspServer *rtsp = g_new0 (RtspServer, 1);
  g_autoptr (GstRTSPMountPoints) mounts = NULL;

  rtsp->context = g_main_context_new ();
  rtsp->loop = g_main_loop_new (rtsp->context, FALSE);
  rtsp->server = gst_rtsp_server_new ();
  gst_rtsp_server_set_address (rtsp->server, "127.0.0.1");
  gst_rtsp_server_set_service (rtsp->server, "0");
  mounts = gst_rtsp_server_get_mount_points (rtsp->server);
  add_mount (mounts, "/cam", "");
  add_mount (mounts, "/sliced", "config-interval=-1");
  g_assert_cmpuint (gst_rtsp_server_attach (rtsp->server, rtsp->context), >, 0);
  rtsp->port = gst_rtsp_server_get_bound_port (rtsp->server);
  g_assert_cmpuint (rtsp->port, >, 0);
  rtsp->thread = g_thread_new ("rtsp-server", rtsp_thread, rtsp);
  return rtsp;
}

static void
rtsp_server_stop (RtspServer *rtsp)
{
  g_main_loop_quit (rtsp->loop);
  g_thread_join (rtsp->thread);
  g_object_unref (rtsp->server);
  g_main_loop_unref (rtsp->loop);
  g_main_context_unref (rtsp->context);
  g_free (rtsp);
}

/* What one camera recorded: its video, decoded, at the source's rate and
 * with the UTC times of when it was recorded. */
static void
check_rtsp_camera (TestArchiver *archiver, const char *camera, gint64 started_us, gint64 stopped_us)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, camera, FALSE);
  g_autoptr (GPtrArray) kinds = NULL;
  g_autoptr (GPtrArray) caps = NULL;
  g_autofree char *name = g_strdup_printf ("%s.h264", camera);
  g_autofree char *es_path = g_build_filename (archiver->dir, name, NULL);
  g_autoptr (GByteArray) es = g_byte_array_new ();
  gint64 first_us = G_MAXINT64, last_us = G_MININT64;
  guint  video = 0, decoded;
  g_autoptr (GError) error = NULL;
  double fps;

  g_assert_cmpuint (files->len, >=, 1);
  for (guint f = 0; f < files->len; f++)
    {
      g_autoptr (GFile) file = g_file_new_for_path (files->pdata[f]);
      g_autoptr (GFileInputStream) input = g_file_read (file, NULL, &error);
      g_autoptr (CustosReader) reader = NULL;
      g_autoptr (GPtrArray) packets = NULL;

      g_assert_no_error (error);
      reader = custos_reader_new (G_INPUT_STREAM (input));
      g_clear_pointer (&kinds, g_ptr_array_unref);
      g_clear_pointer (&caps, g_ptr_array_unref);
      packets = read_packets (reader, NULL, &kinds, &caps);
      for (guint i = 0; i < packets->len; i++)
        {
          ReadPacket *p = packets->pdata[i];

          if (p->stream != 0)
            continue;
          video++;
          /* An access unit is one picture: a packet of half a picture
           * plays as a broken frame and moves the next one's time. */
          g_assert_cmpuint (count_pictures (p->payload), ==, 1);
          first_us = MIN (first_us, p->utc_us);
          last_us = MAX (last_us, p->utc_us);
          g_byte_array_append (es, g_bytes_get_data (p->payload, NULL),
                               g_bytes_get_size (p->payload));
        }
    }
  g_assert_cmpuint (kinds->len, >=, 1);
  g_assert_cmpuint (GPOINTER_TO_UINT (kinds->pdata[0]), ==, CUSTOS_STREAM_KIND_VIDEO);
  g_assert_true (g_str_has_prefix (caps->pdata[0], "video/x-h264"));
  g_assert_cmpuint (video, >, 1);
  g_assert_cmpint (last_us, >, first_us);
  fps = (video - 1) * 1e6 / (last_us - first_us);
  g_test_message ("%s: %u video packets, %.2f fps, from %+.2f s to %+.2f s of the recording",
                  camera, video, fps, (first_us - started_us) / 1e6, (last_us - started_us) / 1e6);

  /* Every recorded access unit decodes: the file starts at a keyframe and
   * carries its parameter sets. */
  g_file_set_contents (es_path, (const char *) es->data, es->len, &error);
  g_assert_no_error (error);
  decoded = decode_frames (es_path);
  g_assert_cmpuint (decoded, ==, video);

  /* The source's rate over what was recorded (RTP times, not arrival). */
  g_assert_cmpfloat (fps, >, RTSP_FPS * 0.9);
  g_assert_cmpfloat (fps, <, RTSP_FPS * 1.1);
  /* UTC: the pictures are of the time they were recorded (the state says
   * "recording" a little after the first keyframe), and the span is the
   * span recorded. */
  g_assert_cmpint (first_us, >, started_us - 10 * G_USEC_PER_SEC);
  g_assert_cmpint (last_us, <, stopped_us + 2 * G_USEC_PER_SEC);
  g_assert_cmpint (last_us - first_us, >=, (RECORD_S - 2) * G_USEC_PER_SEC);
}

/* Two ways to configure an RTSP camera: uri= (rtspsrc found by
 * urisourcebin, depayloaded by parsebin), and source= with rtspsrc and
 * the depayloader spelled out, as the configuration documents it; and a
 * server that splits its pictures, which the archiver joins again. */
static void
test_rtsp (void)
{
  RtspServer      *rtsp = rtsp_server_start ();
  g_autofree char *cameras =
      g_strdup_printf ("[recording]\nseal-ms=500\n"
                       "[camera door]\nname=Door\nuri=rtsp://127.0.0.1:%u/cam\n"
                       "encode=none\nencrypted=false\n"
                       "[camera gate]\nname=Gate\n"
                       "source=rtspsrc location=rtsp://127.0.0.1:%u/cam ! rtph264depay\n"
                       "encode=none\nencrypted=false\n"
                       "[camera yard]\nname=Yard\nuri=rtsp://127.0.0.1:%u/sliced\n"
                       "encode=none\nencrypted=false\n",
                       rtsp->port, rtsp->port, rtsp->port);
  g_autoptr (TestArchiver) archiver = test_archiver_new ("rtsp", NULL, cameras);
  gint64 started_us, stopped_us;

  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "door", "recording", 20000));
  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 20000));
  g_assert_true (test_archiver_wait_state (archiver, "yard", "recording", 20000));
  started_us = g_get_real_time ();
  g_usleep (RECORD_S * G_USEC_PER_SEC);
  stopped_us = g_get_real_time ();
  test_archiver_stop (archiver);
  rtsp_server_stop (rtsp);
  check_rtsp_camera (archiver, "door", started_us, stopped_us);
  check_rtsp_camera (archiver, "gate", started_us, stopped_us);
  check_rtsp_camera (archiver, "yard", started_us, stopped_us);
}
#else
static void
test_rtsp (void)
{
  g_test_skip ("built without gst-rtsp-server (libgstrtspserver-1.0-dev)");
}
#endif

/* Metadata */

static gboolean
contains (const char *data, gsize len, const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= len; i++)
    if (memcmp (data + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

static GPtrArray *
write_events (const char *dir)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < N_EVENTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("event-%u.json", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      /* Markup characters and UTF-8 must come back untouched. */
      g_autofree char *text =
          g_strdup_printf ("{\"event\":\"motion\",\"seq\":%u,\"zone\":\"<entrée & \\\"hall\\\">\","
                           "\"score\":0.%u}",
                           i, 90 + i);
      g_autoptr (GError) error = NULL;

      g_file_set_contents (path, text, -1, &error);
      g_assert_no_error (error);
      g_ptr_array_add (events, g_bytes_new (text, strlen (text)));
    }
  return events;
}

/* The camera whose first event came after its streams had settled: the
 * metadata stream is there all the same, with both events. */
static void
assert_late_events (GBytes *body, GPtrArray *events, TestClient *client)
{
  g_autoptr (CustosReader) reader = custos_reader_new_for_bytes (body);
  g_autoptr (GPtrArray) kinds = NULL;
  g_autoptr (GPtrArray) caps = NULL;
  g_autoptr (GPtrArray) packets = read_packets (reader, client, &kinds, &caps);
  guint n = 0;

  g_assert_cmpuint (kinds->len, ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (kinds->pdata[1]), ==, CUSTOS_STREAM_KIND_METADATA);
  for (guint i = 0; i < packets->len; i++)
    {
      ReadPacket *p = packets->pdata[i];

      if (p->stream != 1)
        continue;
      g_assert_cmpuint (n, <, 2);
      g_assert_true (g_bytes_equal (p->payload, events->pdata[n]));
      n++;
    }
  g_assert_cmpuint (n, ==, 2);
}

static void
test_metadata (void)
{
  g_autofree char *events_dir = g_build_filename (custos_test_tmpdir (), "events", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autofree char *cameras = NULL;
  g_autoptr (TestArchiver) archiver = NULL;
  g_autoptr (TestClient) alice = test_client_new ("alice", "ec:P-256", 0, 0);
  g_autoptr (SoupSession) session = test_session_new (alice);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GPtrArray) kinds = NULL;
  g_autoptr (GPtrArray) caps = NULL;
  g_autofree char *path = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *porch_path = NULL;
  g_autoptr (GBytes) porch = NULL;
  gint64           started_us;
  guint            status, n = 0, video = 0;

  g_assert_cmpint (g_mkdir_with_parents (events_dir, 0700), ==, 0);
  events = write_events (events_dir);
  /* One event file every half second, stamped with the pipeline clock. */
  cameras = g_strdup_printf (
      "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\n"
      "[camera lobby]\nname=Lobby\n"
      "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
      "metadata=multifilesrc location=\"%s/event-%%d.json\" stop-index=%u do-timestamp=true "
      "caps=application/x-custos-metadata ! identity sleep-time=500000\n"
      "encrypted=true\n"
      /* Events come rarely: the first one after the 2 s in which a
       * camera's streams settle. */
      "[camera porch]\nname=Porch\n"
      "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
      "metadata=multifilesrc location=\"%s/event-%%d.json\" stop-index=1 do-timestamp=true "
      "caps=application/x-custos-metadata ! identity sleep-time=3000000\n"
      "encrypted=false\n",
      events_dir, N_EVENTS - 1, events_dir);
  archiver = test_archiver_new ("metadata", NULL, cameras);
  test_archiver_enrol (archiver, alice);
  started_us = g_get_real_time ();
  test_archiver_start (archiver);
  g_assert_true (test_archiver_wait_state (archiver, "lobby", "recording", 20000));
  /* The events take N_EVENTS / 2 s; then a few seals more. */
  g_usleep ((N_EVENTS / 2 + 3) * G_USEC_PER_SEC);

  from = test_iso (started_us - 60 * G_USEC_PER_SEC);
  to = test_iso (g_get_real_time () + 60 * G_USEC_PER_SEC);
  path = g_strdup_printf ("/api/v1/cameras/lobby/stream?from=%s&to=%s", from, to);
  body = test_get (session, archiver, path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (body);
  porch_path = g_strdup_printf ("/api/v1/cameras/porch/stream?from=%s&to=%s", from, to);
  porch = test_get (session, archiver, porch_path, &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (porch);
  test_archiver_stop (archiver);
  assert_late_events (porch, events, alice);

  reader = custos_reader_new_for_bytes (body);
  packets = read_packets (reader, alice, &kinds, &caps);
  g_assert_cmpuint (kinds->len, ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (kinds->pdata[0]), ==, CUSTOS_STREAM_KIND_VIDEO);
  g_assert_cmpuint (GPOINTER_TO_UINT (kinds->pdata[1]), ==, CUSTOS_STREAM_KIND_METADATA);
  g_assert_cmpstr (caps->pdata[1], ==, "application/x-custos-metadata");
  g_assert_true (test_fusion_has_recipient (body, alice->fingerprint));
  for (guint i = 0; i < packets->len; i++)
    {
      ReadPacket *p = packets->pdata[i];

      if (p->stream == 0)
        {
          video++;
          continue;
        }
      g_assert_cmpuint (n, <, events->len);
      /* Byte for byte what the source sent, in its order. */
      g_assert_true (g_bytes_equal (p->payload, events->pdata[n]));
      n++;
    }
  g_assert_cmpuint (n, ==, N_EVENTS);
  g_assert_cmpuint (video, >, 0);
  /* Encrypted at rest too: no event text in the file on disk. */
  {
    g_autoptr (GPtrArray) files = test_camera_files (archiver, "lobby", TRUE);
    g_autofree char *contents = NULL;
    gsize            len;

    g_assert_cmpuint (files->len, >=, 1);
    g_assert_true (g_file_get_contents (files->pdata[0], &contents, &len, NULL));
    g_assert_false (contains (contents, len, "motion"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/archiver/sources/rtsp", test_rtsp);
  g_test_add_func ("/archiver/sources/metadata", test_metadata);
  return g_test_run ();
}
