/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The GStreamer plugin in real pipelines: H.264 from x264enc (with
 * B-frames) and Opus from opusenc, written with CustosWriter or custosmux,
 * read with custosdemux or CustosReader, and checked against the same
 * data without the plugin: decoded frames, payload bytes, ffprobe.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include <gst/app/app.h>
#include <gst/gst.h>

#include "custos-gst-time.h"
#include "custos-test-fusion.h"
#include "custos-test-util.h"
#include "gstcustosdemux.h"

#define N_FRAMES   120
#define START_US   G_GINT64_CONSTANT (1763700000000000) /* 2025-11-21 UTC */
#define TIMEOUT_US (20 * G_USEC_PER_SEC)
#define SOURCE     "videotestsrc num-buffers=%d pattern=ball ! " \
                   "video/x-raw,width=320,height=240,framerate=30/1 ! " \
                   "x264enc threads=1 key-int-max=30 bframes=2 speed-preset=superfast ! " \
                   "video/x-h264,stream-format=byte-stream,alignment=au"

/* Made once: the encoded access units, their decoded frames, and an
 * encrypted, sealed, indexed fusion file of them written by CustosWriter. */
typedef struct
{
  char                   *recipient_cert;
  char                   *recipient_key;
  char                   *other_cert;
  char                   *other_key;
  char                   *signer_cert;
  char                   *signer_key;
  CustosLocalKeyProvider *provider;
  GPtrArray              *samples;  /* GstSample */
  GPtrArray              *frames;   /* SHA-256 hex of each decoded frame */
  gint64                  pts_us[N_FRAMES];
  gint64                  dts_us[N_FRAMES];
  GBytes                 *fusion;
  char                   *fusion_path;
} Fixture;

static Fixture fx;

/* Pipelines */

static GstElement *
pipeline_new (const char *format,
              ...) G_GNUC_PRINTF (1, 2);

static GstElement *
pipeline_new (const char *format,
              ...)
{
  g_autofree char *description = NULL;
  g_autoptr (GError) error = NULL;
  GstElement *pipeline;
  va_list args;

  va_start (args, format);
  description = g_strdup_vprintf (format, args);
  va_end (args);
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  return pipeline;
}

static GstElement *
get_element (GstElement *pipeline,
             const char *name)
{
  GstElement *element = gst_bin_get_by_name (GST_BIN (pipeline), name);

  g_assert_nonnull (element);
  /* The pipeline holds it for as long as the test needs it. */
  gst_object_unref (element);
  return element;
}

/* Everything the bus said, kept on the pipeline: popping with a filter
 * would throw the rest away. */
static GPtrArray *
drain_bus (GstElement *pipeline)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  GPtrArray *kept = g_object_get_data (G_OBJECT (pipeline), "messages");
  GstMessage *message;

  if (kept == NULL)
    {
      kept = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);
      g_object_set_data_full (G_OBJECT (pipeline), "messages", kept,
                              (GDestroyNotify) g_ptr_array_unref);
    }
  while ((message = gst_bus_pop (bus)) != NULL)
    g_ptr_array_add (kept, message);
  return kept;
}

static void
fail_on_error (GstElement *pipeline)
{
  GPtrArray *messages = drain_bus (pipeline);

  for (guint i = 0; i < messages->len; i++)
    {
      GstMessage *message = messages->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;

      if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
        continue;
      gst_message_parse_error (message, &error, &debug);
      g_error ("%s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message,
               debug ? debug : "");
    }
}

static void
set_state (GstElement *pipeline,
           GstState    state)
{
  GstStateChangeReturn ret = gst_element_set_state (pipeline, state);

  if (ret == GST_STATE_CHANGE_FAILURE)
    fail_on_error (pipeline);
  g_assert_cmpint (ret, !=, GST_STATE_CHANGE_FAILURE);
}

static void
wait_for_state (GstElement *pipeline)
{
  GstStateChangeReturn ret = gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);

  fail_on_error (pipeline);
  g_assert_cmpint (ret, ==, GST_STATE_CHANGE_SUCCESS);
}

/* Pulls every sample of the named appsinks, round robin, until all have
 * EOS; fails on an error message or after TIMEOUT_US. */
static void
pull_all (GstElement        *pipeline,
          const char *const *sinks,
          GPtrArray        **out)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  gboolean done = FALSE;

  while (!done)
    {
      done = TRUE;
      for (guint i = 0; sinks[i] != NULL; i++)
        {
          GstAppSink *sink = GST_APP_SINK (get_element (pipeline, sinks[i]));
          GstSample *sample = gst_app_sink_try_pull_sample (sink, 10 * GST_MSECOND);

          if (sample != NULL)
            g_ptr_array_add (out[i], sample);
          done &= sample == NULL && gst_app_sink_is_eos (sink);
        }
      fail_on_error (pipeline);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

static GPtrArray *
samples_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) gst_sample_unref);
}

/* Plays to EOS and returns what the appsink "sink" got. */
static GPtrArray *
run_to_sink (GstElement *pipeline)
{
  const char *const sinks[] = { "sink", NULL };
  GPtrArray *samples = samples_new ();

  set_state (pipeline, GST_STATE_PLAYING);
  pull_all (pipeline, sinks, &samples);
  return samples;
}

/* For pipelines that end in a file: plays until the bus says EOS. */
static void
run_to_eos (GstElement *pipeline)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  set_state (pipeline, GST_STATE_PLAYING);
  for (;;)
    {
      GPtrArray *messages = drain_bus (pipeline);

      fail_on_error (pipeline);
      for (guint i = 0; i < messages->len; i++)
        if (GST_MESSAGE_TYPE (messages->pdata[i]) == GST_MESSAGE_EOS)
          return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
}

/* The messages of one type (and, for element messages, one name). */
static GPtrArray *
find_messages (GstElement     *pipeline,
               GstMessageType  type,
               const char     *name)
{
  GPtrArray *messages = drain_bus (pipeline);
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);

  for (guint i = 0; i < messages->len; i++)
    {
      GstMessage *message = messages->pdata[i];

      if (GST_MESSAGE_TYPE (message) == type && (name == NULL || gst_message_has_name (message, name)))
        g_ptr_array_add (found, gst_message_ref (message));
    }
  return found;
}

static void
pipeline_free (GstElement *pipeline)
{
  set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

/* A pipeline that is stopped as well as released at the end of a scope. */
typedef GstElement Pipeline;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pipeline, pipeline_free)

/* Data */

static char *
sample_hash (GstSample *sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstMapInfo map;
  char *hash;

  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  return hash;
}

static GPtrArray *
hash_samples (GPtrArray *samples)
{
  GPtrArray *hashes = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < samples->len; i++)
    g_ptr_array_add (hashes, sample_hash (samples->pdata[i]));
  return hashes;
}

static void
assert_frames (GPtrArray *frames,
               guint      first)
{
  g_assert_cmpuint (frames->len, ==, fx.frames->len - first);
  for (guint i = 0; i < frames->len; i++)
    g_assert_cmpstr (frames->pdata[i], ==, fx.frames->pdata[first + i]);
}

static gboolean
buffer_equals_bytes (GstBuffer *buffer,
                     GBytes    *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return gst_buffer_get_size (buffer) == len && gst_buffer_memcmp (buffer, 0, data, len) == 0;
}

static gboolean
buffers_equal (GstBuffer *a,
               GstBuffer *b)
{
  GstMapInfo map;
  gboolean equal;

  g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
  equal = gst_buffer_get_size (a) == map.size && gst_buffer_memcmp (a, 0, map.data, map.size) == 0;
  gst_buffer_unmap (b, &map);
  return equal;
}

static gint64
running_time_us (GstSample   *sample,
                 GstClockTime t)
{
  gint64 us = custos_gst_sample_running_us (sample, t);

  g_assert_cmpint (us, !=, G_MININT64);
  return us;
}

/* Output time of packet i: UTC minus that of the first packet's DTS. */
static GstClockTime
output_pts (guint i)
{
  return (GstClockTime) (fx.pts_us[i] - fx.dts_us[0]) * GST_USECOND;
}

static GBytes *
concat_samples (GPtrArray *samples)
{
  GByteArray *all = g_byte_array_new ();

  for (guint i = 0; i < samples->len; i++)
    {
      GstBuffer *buffer = gst_sample_get_buffer (samples->pdata[i]);
      GstMapInfo map;

      g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
      g_byte_array_append (all, map.data, map.size);
      gst_buffer_unmap (buffer, &map);
    }
  return g_byte_array_free_to_bytes (all);
}

static GPtrArray *
read_packets (GBytes        *file,
              CustosReport **report)
{
  return custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (fx.provider), NULL, report);
}

/* The fixture */

static GPtrArray *
encode (int frames)
{
  g_autoptr (Pipeline) pipeline = pipeline_new (SOURCE " ! appsink name=sink sync=false",
                                                  frames);

  return run_to_sink (pipeline);
}

static GPtrArray *
decode (GPtrArray *samples)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("appsrc name=src format=time ! h264parse ! avdec_h264 ! "
                  "appsink name=sink sync=false");
  GstAppSrc *src = GST_APP_SRC (get_element (pipeline, "src"));
  g_autoptr (GPtrArray) frames = NULL;

  for (guint i = 0; i < samples->len; i++)
    g_assert_cmpint (gst_app_src_push_sample (src, samples->pdata[i]), ==, GST_FLOW_OK);
  gst_app_src_end_of_stream (src);
  frames = run_to_sink (pipeline);
  return hash_samples (frames);
}

static void
set_signer (CustosWriter *writer)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = custos_private_key_load (fx.signer_key, NULL, &error);
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (fx.signer_cert, &error);
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();

  g_assert_no_error (error);
  g_ptr_array_add (chain, cert);
  custos_writer_set_signer (writer, key, chain, &error);
  g_assert_no_error (error);
}

static void
write_packets (CustosWriter *writer)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < fx.samples->len; i++)
    {
      GstSample *sample = fx.samples->pdata[i];
      GstBuffer *buffer = gst_sample_get_buffer (sample);
      GstMapInfo map;

      fx.pts_us[i] = START_US + running_time_us (sample, GST_BUFFER_PTS (buffer));
      fx.dts_us[i] = START_US + running_time_us (sample, GST_BUFFER_DTS (buffer));
      g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
      custos_writer_write_packet (writer, 0, fx.pts_us[i], fx.dts_us[i],
                                  !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT),
                                  map.data, map.size, &error);
      gst_buffer_unmap (buffer, &map);
      g_assert_no_error (error);
    }
}

static void
write_fusion (void)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (CustosWriter) writer = custos_writer_new (out, "Gate 1");
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (fx.recipient_cert, NULL);
  g_autofree char *caps = gst_caps_to_string (gst_sample_get_caps (fx.samples->pdata[0]));
  g_autoptr (GError) error = NULL;

  custos_writer_set_intervals (writer, 2000, 6000, 1000);
  set_signer (writer);
  custos_writer_add_recipient (writer, cert, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO,
                                             CUSTOS_STREAM_FLAG_ENCRYPTED, caps, "Gate 1 video",
                                             0, &error), ==, 0);
  write_packets (writer);
  custos_writer_close (writer, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, NULL);
  fx.fusion = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  fx.fusion_path = custos_test_write_file ("gate.fusion", g_bytes_get_data (fx.fusion, NULL),
                                          g_bytes_get_size (fx.fusion));
}

static void
fixture_init (void)
{
  custos_test_make_cert ("rsa:2048", "recipient", &fx.recipient_cert, &fx.recipient_key);
  custos_test_make_cert ("ec:P-256", "other", &fx.other_cert, &fx.other_key);
  custos_test_make_cert ("ec:P-256", "signer", &fx.signer_cert, &fx.signer_key);
  fx.provider = custos_test_provider (fx.recipient_cert, fx.recipient_key);
  fx.samples = encode (N_FRAMES);
  g_assert_cmpuint (fx.samples->len, ==, N_FRAMES);
  fx.frames = decode (fx.samples);
  g_assert_cmpuint (fx.frames->len, ==, N_FRAMES);
  write_fusion ();
}

static void
fixture_clear (void)
{
  g_clear_object (&fx.provider);
  g_clear_pointer (&fx.samples, g_ptr_array_unref);
  g_clear_pointer (&fx.frames, g_ptr_array_unref);
  g_clear_pointer (&fx.fusion, g_bytes_unref);
  g_free (fx.fusion_path);
  g_free (fx.recipient_cert);
  g_free (fx.recipient_key);
  g_free (fx.other_cert);
  g_free (fx.other_key);
  g_free (fx.signer_cert);
  g_free (fx.signer_key);
}

static void
set_provider (GstElement             *pipeline,
              CustosLocalKeyProvider *provider)
{
  g_object_set (get_element (pipeline, "d"), "key-provider", provider, NULL);
}

/* Messages */

static guint
get_uint (const GstStructure *s,
          const char         *field)
{
  guint v = G_MAXUINT;

  g_assert_true (gst_structure_get_uint (s, field, &v));
  return v;
}

/* Every packet of a correct file is verified, segment by segment. */
static void
assert_all_verified (GPtrArray *messages,
                     guint      packets)
{
  guint verified = 0;

  g_assert_cmpuint (messages->len, >, 1);
  for (guint i = 0; i < messages->len; i++)
    {
      const GstStructure *s = gst_message_get_structure (messages->pdata[i]);
      gboolean sealed = FALSE;

      g_assert_true (gst_structure_get_boolean (s, "sealed", &sealed) && sealed);
      g_assert_cmpstr (gst_structure_get_string (s, "status"), ==, "verified");
      g_assert_cmpstr (gst_structure_get_string (s, "signer"), ==, "O=Custos Tests,CN=signer");
      g_assert_cmpuint (get_uint (s, "altered"), ==, 0);
      g_assert_cmpuint (gst_value_array_get_size (gst_structure_get_value (s, "problems")), ==, 0);
      verified += get_uint (s, "verified");
    }
  g_assert_cmpuint (verified, ==, packets);
}

/* Demuxing */

static void
test_demux_pull (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! h264parse ! avdec_h264 ! "
                  "appsink name=sink sync=false", fx.fusion_path);
  g_autoptr (GPtrArray) frames = NULL;
  g_autoptr (GPtrArray) hashes = NULL;
  g_autoptr (GPtrArray) messages = NULL;

  set_provider (pipeline, fx.provider);
  frames = run_to_sink (pipeline);
  hashes = hash_samples (frames);
  assert_frames (hashes, 0);
  messages = find_messages (pipeline, GST_MESSAGE_ELEMENT, "custos-verification");
  assert_all_verified (messages, N_FRAMES);
}


static void
assert_buffer (GstSample *sample,
               guint      i)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstBuffer *original = gst_sample_get_buffer (fx.samples->pdata[i]);
  g_autoptr (GstCaps) unix_caps = gst_caps_new_empty_simple ("timestamp/x-unix");
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta (buffer, unix_caps);

  g_assert_true (buffers_equal (buffer, original));
  g_assert_cmpuint (GST_BUFFER_PTS (buffer), ==, output_pts (i));
  g_assert_cmpuint (GST_BUFFER_DTS (buffer), ==,
                    (GstClockTime) (fx.dts_us[i] - fx.dts_us[0]) * GST_USECOND);
  g_assert_cmpuint (GST_BUFFER_DURATION (buffer), ==, GST_SECOND / 30);
  g_assert_cmpint (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT), ==,
                   GST_BUFFER_FLAG_IS_SET (original, GST_BUFFER_FLAG_DELTA_UNIT));
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->timestamp, ==, (GstClockTime) fx.pts_us[i] * GST_USECOND);
}

static void
assert_start_tags (GstElement *pipeline)
{
  g_autoptr (GPtrArray) messages = find_messages (pipeline, GST_MESSAGE_TAG, NULL);
  GstMessage *message = messages->len > 0 ? messages->pdata[0] : NULL;
  g_autoptr (GstTagList) tags = NULL;
  g_autoptr (GstDateTime) start = NULL;
  g_autoptr (GDateTime) utc = NULL;
  g_autofree char *title = NULL;

  g_assert_nonnull (message);
  gst_message_parse_tag (message, &tags);
  g_assert_true (gst_tag_list_get_date_time (tags, GST_TAG_DATE_TIME, &start));
  utc = gst_date_time_to_g_date_time (start);
  g_assert_cmpint (g_date_time_to_unix (utc) * G_USEC_PER_SEC + g_date_time_get_microsecond (utc),
                   ==, fx.dts_us[0]);
  g_assert_true (gst_tag_list_get_string (tags, GST_TAG_TITLE, &title));
  g_assert_cmpstr (title, ==, "Gate 1");
}

/* Buffers straight out of the demuxer: bytes, timestamps, flags, UTC, tags. */
static void
test_demux_timestamps (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! appsink name=sink sync=false",
                  fx.fusion_path);
  g_autoptr (GPtrArray) samples = NULL;

  set_provider (pipeline, fx.provider);
  samples = run_to_sink (pipeline);
  g_assert_cmpuint (samples->len, ==, N_FRAMES);
  for (guint i = 0; i < samples->len; i++)
    assert_buffer (samples->pdata[i], i);
  g_assert_cmpuint (GST_BUFFER_DTS (gst_sample_get_buffer (samples->pdata[0])), ==, 0);
  assert_start_tags (pipeline);
}

/* decodebin finds the demuxer by the typefinder, the key provider by the
 * context set on the pipeline. */
static void
test_decodebin_context (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! decodebin ! appsink name=sink sync=false",
                  fx.fusion_path);
  g_autoptr (GstContext) context =
    gst_custos_key_provider_context_new (G_OBJECT (fx.provider), NULL);
  g_autoptr (GPtrArray) frames = NULL;
  g_autoptr (GPtrArray) hashes = NULL;

  gst_element_set_context (pipeline, context);
  frames = run_to_sink (pipeline);
  hashes = hash_samples (frames);
  assert_frames (hashes, 0);
}

/* Push mode: the reader runs in the demuxer's task, fed from chain(). */
static void
test_demux_push (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("pushfilesrc location=%s ! custosdemux name=d ! h264parse ! avdec_h264 ! "
                  "appsink name=sink sync=false", fx.fusion_path);
  g_autoptr (GPtrArray) frames = NULL;
  g_autoptr (GPtrArray) hashes = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  GstQuery *query = gst_query_new_seeking (GST_FORMAT_TIME);
  gboolean seekable = TRUE;

  set_provider (pipeline, fx.provider);
  frames = run_to_sink (pipeline);
  hashes = hash_samples (frames);
  assert_frames (hashes, 0);
  messages = find_messages (pipeline, GST_MESSAGE_ELEMENT, "custos-verification");
  assert_all_verified (messages, N_FRAMES);
  g_assert_true (gst_element_query (pipeline, query));
  gst_query_parse_seeking (query, NULL, &seekable, NULL, NULL);
  g_assert_false (seekable);
  gst_query_unref (query);
}

/* Push mode with awkward chunks, as a network source delivers them. */
static void
test_demux_push_chunks (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("appsrc name=src caps=application/x-custos-fusion max-bytes=0 ! "
                  "custosdemux name=d ! appsink name=sink sync=false");
  GstAppSrc *src = GST_APP_SRC (get_element (pipeline, "src"));
  gsize len = g_bytes_get_size (fx.fusion);
  g_autoptr (GPtrArray) samples = NULL;

  set_provider (pipeline, fx.provider);
  for (gsize off = 0, chunk = 1; off < len; off += chunk, chunk = chunk * 7 % 4093 + 1)
    {
      g_autoptr (GBytes) part = g_bytes_new_from_bytes (fx.fusion, off, MIN (chunk, len - off));

      g_assert_cmpint (gst_app_src_push_buffer (src, gst_buffer_new_wrapped_bytes (part)), ==,
                       GST_FLOW_OK);
    }
  gst_app_src_end_of_stream (src);
  samples = run_to_sink (pipeline);
  g_assert_cmpuint (samples->len, ==, N_FRAMES);
  for (guint i = 0; i < samples->len; i++)
    assert_buffer (samples->pdata[i], i);
}

/* The keyframe at or before output time t. */
static guint
keyframe_before (GstClockTime t)
{
  guint k = 0;

  for (guint i = 0; i < fx.samples->len; i++)
    if (!GST_BUFFER_FLAG_IS_SET (gst_sample_get_buffer (fx.samples->pdata[i]),
                                 GST_BUFFER_FLAG_DELTA_UNIT) && output_pts (i) <= t)
      k = i;
  return k;
}

static void
seek (GstElement  *pipeline,
      GstClockTime t)
{
  g_assert_true (gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
                                          GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT |
                                          GST_SEEK_FLAG_SNAP_BEFORE, t));
}

static void
assert_seek_lands (GstElement  *pipeline,
                   GstClockTime t)
{
  const char *const sinks[] = { "sink", NULL };
  g_autoptr (GPtrArray) samples = samples_new ();
  guint k = keyframe_before (t);

  g_assert_cmpuint (k, >, 0);
  seek (pipeline, t);
  set_state (pipeline, GST_STATE_PLAYING);
  pull_all (pipeline, sinks, &samples);
  /* Every packet from the keyframe on, in file (decoding) order. */
  g_assert_cmpuint (samples->len, ==, N_FRAMES - k);
  for (guint i = 0; i < samples->len; i++)
    assert_buffer (samples->pdata[i], k + i);
  g_assert_cmpuint (gst_sample_get_segment (samples->pdata[0])->start, ==, output_pts (k));
}

/* The index spans up to the latest presentation time. */
static GstClockTime
last_output_pts (void)
{
  GstClockTime last = 0;

  for (guint i = 0; i < N_FRAMES; i++)
    last = MAX (last, output_pts (i));
  return last;
}

static void
test_demux_seek (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! appsink name=sink sync=false",
                  fx.fusion_path);
  gint64 duration = -1;

  set_provider (pipeline, fx.provider);
  set_state (pipeline, GST_STATE_PAUSED);
  wait_for_state (pipeline);
  g_assert_true (gst_element_query_duration (pipeline, GST_FORMAT_TIME, &duration));
  g_assert_cmpint (duration, ==, last_output_pts ());
  assert_seek_lands (pipeline, 2500 * GST_MSECOND);
  /* Again after EOS, backwards. */
  assert_seek_lands (pipeline, 1100 * GST_MSECOND);
}

/* After a key-unit seek, decoding starts clean at the keyframe. */
static void
test_demux_seek_decode (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! h264parse ! avdec_h264 ! "
                  "appsink name=sink sync=false", fx.fusion_path);
  const char *const sinks[] = { "sink", NULL };
  g_autoptr (GPtrArray) frames = samples_new ();
  g_autoptr (GPtrArray) hashes = NULL;
  GstClockTime t = 3200 * GST_MSECOND;

  set_provider (pipeline, fx.provider);
  set_state (pipeline, GST_STATE_PAUSED);
  wait_for_state (pipeline);
  seek (pipeline, t);
  set_state (pipeline, GST_STATE_PLAYING);
  pull_all (pipeline, sinks, &frames);
  hashes = hash_samples (frames);
  assert_frames (hashes, keyframe_before (t));
}

static void
assert_locked_message (GstMessage *message,
                       const char *reason)
{
  const GstStructure *s = gst_message_get_structure (message);
  const GValue *recipients = gst_structure_get_value (s, "recipients");
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (fx.recipient_cert, NULL);
  g_autofree char *id = custos_certificate_dup_fingerprint_hex (cert);
  const GstStructure *r;
  guint64 start = 0, stop = 0;

  g_assert_cmpuint (get_uint (s, "stream"), ==, 0);
  g_assert_cmpstr (gst_structure_get_string (s, "reason"), ==, reason);
  g_assert_true (gst_structure_get_uint64 (s, "start", &start));
  g_assert_true (gst_structure_get_uint64 (s, "stop", &stop));
  g_assert_cmpuint (start, <, stop);
  g_assert_cmpuint (gst_value_array_get_size (recipients), ==, 1);
  r = gst_value_get_structure (gst_value_array_get_value (recipients, 0));
  g_assert_cmpstr (gst_structure_get_string (r, "id"), ==, id);
  g_assert_cmpstr (gst_structure_get_string (r, "label"), ==, "O=Custos Tests,CN=recipient");
}

/* Without a key nothing is pushed, the UI is told, and the pipeline ends. */
static void
run_locked (const char             *source,
            CustosLocalKeyProvider *provider,
            const char             *reason)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("%s location=%s ! custosdemux name=d ! h264parse ! "
                  "appsink name=sink sync=false", source, fx.fusion_path);
  g_autoptr (GPtrArray) samples = NULL;
  g_autoptr (GPtrArray) locked = NULL;
  g_autoptr (GPtrArray) warnings = NULL;
  g_autoptr (GError) error = NULL;

  if (provider != NULL)
    set_provider (pipeline, provider);
  samples = run_to_sink (pipeline);
  g_assert_cmpuint (samples->len, ==, 0);
  locked = find_messages (pipeline, GST_MESSAGE_ELEMENT, "custos-locked");
  warnings = find_messages (pipeline, GST_MESSAGE_WARNING, NULL);
  /* Four seconds of two-second key periods. */
  g_assert_cmpuint (locked->len, >=, 2);
  for (guint i = 0; i < locked->len; i++)
    assert_locked_message (locked->pdata[i], reason);
  g_assert_cmpuint (warnings->len, ==, 1);
  gst_message_parse_warning (warnings->pdata[0], &error, NULL);
  g_assert_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECRYPT_NOKEY);
}

static void
test_demux_no_key (void)
{
  run_locked ("filesrc", NULL, "no-key-provider");
}

static void
test_demux_wrong_key (void)
{
  g_autoptr (CustosLocalKeyProvider) other = custos_test_provider (fx.other_cert, fx.other_key);

  /* And in push mode. */
  run_locked ("pushfilesrc", other, "no-key");
}

/* The index of the record of the n-th DATA packet. */
static const CustosTestRecord *
nth_data_record (GArray *records,
                 guint   n)
{
  for (guint i = 0; i < records->len; i++)
    {
      const CustosTestRecord *r = &g_array_index (records, CustosTestRecord, i);

      if (r->type == CUSTOS_RECORD_DATA && n-- == 0)
        return r;
    }
  g_assert_not_reached ();
  return NULL;
}

static char *
write_tampered (guint  victim,
                gsize *offset)
{
  g_autoptr (GArray) records = custos_test_records (fx.fusion);
  const CustosTestRecord *r = nth_data_record (records, victim);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (fx.fusion, NULL),
                                       g_bytes_get_size (fx.fusion));

  /* A byte of ciphertext, before the 16-byte tag. */
  data[r->offset + r->length - 20] ^= 0x01;
  *offset = r->offset;
  return custos_test_write_file ("tampered.fusion", data, g_bytes_get_size (fx.fusion));
}

static gboolean
names_altered_packet (const GstStructure *s,
                      gsize               offset)
{
  const GValue *problems = gst_structure_get_value (s, "problems");

  for (guint i = 0; i < gst_value_array_get_size (problems); i++)
    {
      const GstStructure *p = gst_value_get_structure (gst_value_array_get_value (problems, i));
      guint64 at = 0;

      if (gst_structure_get_uint64 (p, "offset", &at) && at == offset &&
          g_strcmp0 (gst_structure_get_string (p, "status"), "altered") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_demux_tampered (void)
{
  guint victim = 40;
  gsize offset = 0;
  g_autofree char *path = write_tampered (victim, &offset);
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! appsink name=sink sync=false", path);
  g_autoptr (GPtrArray) samples = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  guint altered_segments = 0;

  set_provider (pipeline, fx.provider);
  samples = run_to_sink (pipeline);
  g_assert_cmpuint (samples->len, ==, N_FRAMES - 1);
  for (guint i = 0, j = 0; i < samples->len; i++, j++)
    {
      if (j == victim)
        j++;
      assert_buffer (samples->pdata[i], j);
    }
  messages = find_messages (pipeline, GST_MESSAGE_ELEMENT, "custos-verification");
  for (guint i = 0; i < messages->len; i++)
    {
      const GstStructure *s = gst_message_get_structure (messages->pdata[i]);

      if (g_strcmp0 (gst_structure_get_string (s, "status"), "altered") != 0)
        continue;
      altered_segments++;
      g_assert_cmpuint (get_uint (s, "altered"), ==, 1);
      g_assert_true (names_altered_packet (s, offset));
    }
  g_assert_cmpuint (altered_segments, ==, 1);
}

/* Remuxing */

static void
test_remux_mp4 (void)
{
  g_autofree char *mp4 = g_build_filename (custos_test_tmpdir (), "remux.mp4", NULL);
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d ! h264parse ! mp4mux ! "
                  "filesink location=%s", fx.fusion_path, mp4);
  const char *argv[] = { "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                         "-show_entries", "stream=codec_name,nb_read_frames,width",
                         "-of", "default=noprint_wrappers=1", mp4, NULL };
  g_autoptr (GBytes) out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;

  if (g_find_program_in_path ("ffprobe") == NULL)
    {
      g_test_skip ("ffprobe is not installed");
      return;
    }
  set_provider (pipeline, fx.provider);
  run_to_eos (pipeline);
  set_state (pipeline, GST_STATE_NULL);
  g_assert_true (custos_test_try_run (argv, NULL, &out, &err));
  text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  g_test_message ("ffprobe: %s", text);
  g_assert_nonnull (strstr (text, "codec_name=h264"));
  g_assert_nonnull (strstr (text, "width=320"));
  g_assert_nonnull (strstr (text, "nb_read_frames=120"));
}

/* Muxing */

static void
set_mux (GstElement *pipeline,
         gboolean    recipients_property)
{
  GstElement *mux = get_element (pipeline, "m");
  const char *recipients[] = { fx.recipient_cert, NULL };
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (fx.recipient_cert, NULL);
  gboolean added = FALSE;

  g_object_set (mux, "signer-key", fx.signer_key, "signer-cert", fx.signer_cert,
                "period-ms", 2000, "seal-ms", 500, "camera-name", "Gate 2", NULL);
  if (recipients_property)
    {
      g_object_set (mux, "recipients", recipients, NULL);
      return;
    }
  g_signal_emit_by_name (mux, "add-recipient", cert, &added);
  g_assert_true (added);
}

static void
assert_packets_match (GPtrArray *packets,
                      guint      stream,
                      GPtrArray *reference)
{
  guint n = 0;
  gint64 first_pts = 0, first_ref = 0;

  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];
      GstSample *sample;
      GstBuffer *buffer;

      if (p->stream != stream)
        continue;
      g_assert_cmpuint (n, <, reference->len);
      sample = reference->pdata[n++];
      buffer = gst_sample_get_buffer (sample);
      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
      g_assert_true (buffer_equals_bytes (buffer, p->payload));
      g_assert_cmpint (!!(p->flags & CUSTOS_DATA_FLAG_KEYFRAME), ==,
                       !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT));
      if (n == 1)
        {
          first_pts = p->pts_us;
          first_ref = running_time_us (sample, GST_BUFFER_PTS (buffer));
        }
      g_assert_cmpint (p->pts_us - first_pts, ==,
                       running_time_us (sample, GST_BUFFER_PTS (buffer)) - first_ref);
    }
  g_assert_cmpuint (n, ==, reference->len);
}

static void
assert_indexed (GBytes *file)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);

  g_assert_cmpuint (len, >, 16);
  g_assert_cmpmem (data + len - 8, 8, CUSTOS_TOC_MAGIC, 8);
}

/* Every seal checks out (counts include the sealed descriptors). */
static void
assert_report_clean (CustosReport *report,
                     guint         packets)
{
  g_assert_cmpuint (report->decrypted, ==, packets);
  g_assert_cmpuint (report->verified, >=, packets);
  g_assert_cmpuint (report->segments, >, 1);
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->unsigned_packets, ==, 0);
  g_assert_cmpuint (report->altered, ==, 0);
  g_assert_cmpuint (report->missing, ==, 0);
}

static void
test_mux_roundtrip (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new (SOURCE " ! tee name=t "
                  "t. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! "
                  "custosmux name=m ! appsink name=out sync=false "
                  "t. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! "
                  "appsink name=ref sync=false", 90);
  const char *const sinks[] = { "out", "ref", NULL };
  GPtrArray *got[] = { samples_new (), samples_new () };
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (CustosReport) report = NULL;

  set_mux (pipeline, TRUE);
  set_state (pipeline, GST_STATE_PLAYING);
  pull_all (pipeline, sinks, got);
  file = concat_samples (got[0]);
  assert_indexed (file);
  packets = read_packets (file, &report);
  g_assert_cmpuint (packets->len, ==, 90);
  assert_packets_match (packets, 0, got[1]);
  assert_report_clean (report, 90);
  g_ptr_array_unref (got[0]);
  g_ptr_array_unref (got[1]);
}

static void
assert_interleaved (GPtrArray *packets)
{
  gint64 last = G_MININT64;

  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];

      g_assert_cmpint (p->dts_us, >=, last);
      last = p->dts_us;
    }
}

static void
test_mux_two_streams (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new (SOURCE " ! tee name=vt "
                  "vt. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! m.video_0 "
                  "vt. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! "
                  "appsink name=vref sync=false "
                  "audiotestsrc num-buffers=100 samplesperbuffer=960 ! "
                  "audio/x-raw,rate=48000,channels=1 ! opusenc ! tee name=at "
                  "at. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! m.audio_0 "
                  "at. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! "
                  "appsink name=aref sync=false "
                  "custosmux name=m ! appsink name=out sync=false", 60);
  const char *const sinks[] = { "out", "vref", "aref", NULL };
  GPtrArray *got[] = { samples_new (), samples_new (), samples_new () };
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GPtrArray) streams = NULL;
  g_autoptr (CustosPacket) first = NULL;

  set_mux (pipeline, FALSE);
  set_state (pipeline, GST_STATE_PLAYING);
  pull_all (pipeline, sinks, got);
  file = concat_samples (got[0]);
  packets = read_packets (file, &report);
  g_assert_cmpuint (packets->len, ==, got[1]->len + got[2]->len);
  assert_packets_match (packets, 0, got[1]);
  assert_packets_match (packets, 1, got[2]);
  assert_interleaved (packets);
  assert_report_clean (report, packets->len);

  in = g_memory_input_stream_new_from_bytes (file);
  reader = custos_reader_new (in);
  first = custos_reader_next_packet (reader, NULL, NULL);
  g_assert_nonnull (first);
  streams = custos_reader_get_streams (reader);
  g_assert_cmpuint (streams->len, ==, 2);
  g_assert_cmpint (((CustosStreamInfo *) streams->pdata[0])->kind, ==, CUSTOS_STREAM_KIND_VIDEO);
  g_assert_cmpint (((CustosStreamInfo *) streams->pdata[1])->kind, ==, CUSTOS_STREAM_KIND_AUDIO);
  g_assert_true (g_str_has_prefix (((CustosStreamInfo *) streams->pdata[1])->caps, "audio/x-opus"));
  for (guint i = 0; i < G_N_ELEMENTS (got); i++)
    g_ptr_array_unref (got[i]);
}

/* Re-packaging keeps the wall clock: custosdemux's UTC metas become
 * custosmux's stream times. */
static void
test_repackage_keeps_utc (void)
{
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d  d.video_0 ! queue ! m.video_0 "
                  "custosmux name=m encrypted=false ! appsink name=sink sync=false",
                  fx.fusion_path);
  g_autoptr (GPtrArray) out = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  set_provider (pipeline, fx.provider);
  out = run_to_sink (pipeline);
  file = concat_samples (out);
  packets = custos_test_fusion_read (file, NULL, NULL, NULL);
  g_assert_cmpuint (packets->len, ==, N_FRAMES);
  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];

      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
      g_assert_cmpint (p->pts_us, ==, fx.pts_us[i]);
      g_assert_cmpint (p->dts_us, ==, fx.dts_us[i]);
      g_assert_true (buffer_equals_bytes (gst_sample_get_buffer (fx.samples->pdata[i]), p->payload));
    }
}

/* Re-packaging drops what cannot be authenticated: custosdemux's gap
 * becomes nothing in custosmux's output. */
static void
test_repackage_tampered (void)
{
  guint victim = 40;
  gsize offset = 0;
  g_autofree char *path = write_tampered (victim, &offset);
  g_autoptr (Pipeline) pipeline =
    pipeline_new ("filesrc location=%s ! custosdemux name=d  d.video_0 ! m.video_0 "
                  "custosmux name=m encrypted=false ! appsink name=sink sync=false", path);
  g_autoptr (GPtrArray) out = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  set_provider (pipeline, fx.provider);
  out = run_to_sink (pipeline);
  file = concat_samples (out);
  packets = custos_test_fusion_read (file, NULL, NULL, NULL);
  g_assert_cmpuint (packets->len, ==, N_FRAMES - 1);
  for (guint i = 0, j = 0; i < packets->len; i++, j++)
    {
      CustosPacket *p = packets->pdata[i];

      if (j == victim)
        j++;
      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
      g_assert_cmpint (p->pts_us, ==, fx.pts_us[j]);
    }
}

int
main (int    argc,
      char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  fixture_init ();

  g_test_add_func ("/gst/demux/pull", test_demux_pull);
  g_test_add_func ("/gst/demux/timestamps", test_demux_timestamps);
  g_test_add_func ("/gst/demux/decodebin-context", test_decodebin_context);
  g_test_add_func ("/gst/demux/push", test_demux_push);
  g_test_add_func ("/gst/demux/push-chunks", test_demux_push_chunks);
  g_test_add_func ("/gst/demux/seek", test_demux_seek);
  g_test_add_func ("/gst/demux/seek-decode", test_demux_seek_decode);
  g_test_add_func ("/gst/demux/no-key", test_demux_no_key);
  g_test_add_func ("/gst/demux/wrong-key", test_demux_wrong_key);
  g_test_add_func ("/gst/demux/tampered", test_demux_tampered);
  g_test_add_func ("/gst/remux/mp4", test_remux_mp4);
  g_test_add_func ("/gst/mux/roundtrip", test_mux_roundtrip);
  g_test_add_func ("/gst/mux/two-streams", test_mux_two_streams);
  g_test_add_func ("/gst/mux/repackage-keeps-utc", test_repackage_keeps_utc);
  g_test_add_func ("/gst/mux/repackage-tampered", test_repackage_tampered);
  ret = g_test_run ();

  fixture_clear ();
  gst_deinit ();
  return ret;
}
