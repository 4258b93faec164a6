/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli export and play, run as a user would on a recording made
 * here: H.264 from x264enc (with B-frames), Opus from opusenc and a text
 * metadata stream, encrypted to an RSA recipient and sealed. Every export
 * is checked with tools that are not ours: ffprobe (streams, codecs,
 * frame counts, durations, creation time), ffmpeg (the H.264 taken back
 * out of the MP4 is the source's, NAL unit for NAL unit; decoded frames
 * hash the same), GStreamer's pngdec, and custos-cli's own verify and
 * decrypt for fusion exports, with the original and an added recipient.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gst/app/app.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "custos-gst-time.h"
#include "custos.h"
#include "custos-test-cli.h"
#include "custos-test-util.h"

#define N_VIDEO   150                                  /* 5 s at 30 fps */
#define N_AUDIO   250                                  /* 20 ms Opus packets */
#define START_US  G_GINT64_CONSTANT (1795293240000000) /* 2026-11-21T20:34:00Z */
#define START_ISO "2026-11-21T20:34:00"
#define SECOND    G_USEC_PER_SEC
#define VIDEO_SRC "videotestsrc num-buffers=" G_STRINGIFY (N_VIDEO) " pattern=smpte ! " \
                  "video/x-raw,width=320,height=240,framerate=30/1,format=I420 ! " \
                  "x264enc threads=1 key-int-max=30 bframes=2 speed-preset=superfast ! " \
                  "video/x-h264,stream-format=byte-stream,alignment=au ! " \
                  "appsink name=sink sync=false"
#define AUDIO_SRC "audiotestsrc num-buffers=" G_STRINGIFY (N_AUDIO) " samplesperbuffer=960 ! " \
                  "audio/x-raw,rate=48000,channels=1 ! opusenc ! appsink name=sink sync=false"

typedef struct
{
  guint8  stream;
  gint64  pts_us;
  gint64  dts_us;
  gboolean keyframe;
  GBytes *data;
} Packet;

typedef struct
{
  char      *rsa_cert, *rsa_key;
  char      *ec_cert, *ec_key;
  char      *signer_cert, *signer_key;
  GPtrArray *video;     /* Packet, decode order */
  GPtrArray *audio;
  char      *video_caps;
  char      *audio_caps;
  char      *fusion;    /* video, audio, metadata; to rsa; sealed */
  char      *short_fusion; /* one second of video */
  char      *reference; /* the H.264 access units, Annex B */
  GPtrArray *reference_md5; /* decoded frames, presentation order */
} Fixture;

static Fixture fx;

/* The fixture: encoding */

static GPtrArray *
encode (const char *description,
        int         count,
        char      **caps_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) sink = NULL;
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_sample_unref);
  GstSample *sample;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    g_ptr_array_add (samples, sample);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  /* Encoders may flush a packet more (opusenc's lookahead). */
  g_assert_cmpuint (samples->len, >=, count);
  *caps_out = gst_caps_to_string (gst_sample_get_caps (samples->pdata[0]));
  return samples;
}

static gint64
running_us (GstSample   *sample,
            GstClockTime t)
{
  gint64 us = custos_gst_sample_running_us (sample, t);

  g_assert_cmpint (us, !=, G_MININT64);
  return us;
}

static void
packet_free (Packet *p)
{
  g_bytes_unref (p->data);
  g_free (p);
}

/* Stream time is UTC: START_US plus running time, as custosmux writes it. */
static GPtrArray *
to_packets (GPtrArray *samples,
            guint8     stream)
{
  GPtrArray *packets = g_ptr_array_new_with_free_func ((GDestroyNotify) packet_free);

  for (guint i = 0; i < samples->len; i++)
    {
      GstBuffer *buffer = gst_sample_get_buffer (samples->pdata[i]);
      Packet *p = g_new0 (Packet, 1);
      GstMapInfo map;

      p->stream = stream;
      p->pts_us = START_US + running_us (samples->pdata[i], GST_BUFFER_PTS (buffer));
      p->dts_us = GST_BUFFER_DTS_IS_VALID (buffer) ?
                  START_US + running_us (samples->pdata[i], GST_BUFFER_DTS (buffer)) : p->pts_us;
      p->keyframe = !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      gst_buffer_map (buffer, &map, GST_MAP_READ);
      p->data = g_bytes_new (map.data, map.size);
      gst_buffer_unmap (buffer, &map);
      g_ptr_array_add (packets, p);
    }
  return packets;
}

/* The fixture: writing */

static CustosCertificate *
load_cert (const char *path)
{
  g_autoptr (GError) error = NULL;
  CustosCertificate *cert = custos_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return cert;
}

static CustosWriter *
writer_new (GOutputStream *out)
{
  CustosWriter *writer = custos_writer_new (out, "Gate 1");
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = custos_private_key_load (fx.signer_key, NULL, &error);
  g_autoptr (CustosCertificate) signer = load_cert (fx.signer_cert);
  g_autoptr (CustosCertificate) recipient = load_cert (fx.rsa_cert);
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();

  g_assert_no_error (error);
  g_ptr_array_add (chain, signer);
  custos_writer_set_intervals (writer, 2000, 6000, 1000);
  custos_writer_set_signer (writer, key, chain, &error);
  g_assert_no_error (error);
  custos_writer_add_recipient (writer, recipient, FALSE, &error);
  g_assert_no_error (error);
  return writer;
}

static void
add_stream (CustosWriter     *writer,
            CustosStreamKind  kind,
            const char       *caps,
            int               expected_id)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (custos_writer_add_stream (writer, kind, CUSTOS_STREAM_FLAG_ENCRYPTED, caps,
                                             custos_stream_kind_to_string (kind), 0, &error),
                   ==, expected_id);
  g_assert_no_error (error);
}

static void
write_packet (CustosWriter *writer,
              const Packet *p,
              gint64        shift_us)
{
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (p->data, &len);

  custos_writer_write_packet (writer, p->stream, p->pts_us + shift_us, p->dts_us + shift_us,
                              p->keyframe, data, len, &error);
  g_assert_no_error (error);
}

/* A line of text every second, as an analytics event stream might say. */
static Packet *
metadata_packet (guint second)
{
  Packet *p = g_new0 (Packet, 1);
  g_autofree char *text = g_strdup_printf ("motion %u", second);

  p->stream = 2;
  p->pts_us = p->dts_us = START_US + second * SECOND + 500000;
  p->keyframe = TRUE;
  p->data = g_bytes_new (text, strlen (text));
  return p;
}

/* Every packet, interleaved by decoding time as a recorder writes them;
 * `repeat` copies of the recording one after the other. */
static void
write_all (CustosWriter *writer,
           guint         n_video,
           gboolean      with_audio,
           guint         repeat)
{
  g_autoptr (GPtrArray) meta = g_ptr_array_new_with_free_func ((GDestroyNotify) packet_free);
  gint64 length = (gint64) N_VIDEO * SECOND / 30;

  for (guint s = 0; with_audio && s < N_VIDEO / 30; s++)
    g_ptr_array_add (meta, metadata_packet (s));
  for (guint r = 0; r < repeat; r++)
    {
      guint v = 0, a = 0, m = 0;
      guint na = with_audio ? fx.audio->len : 0, nm = meta->len;

      while (v < n_video || a < na || m < nm)
        {
          const Packet *pv = v < n_video ? fx.video->pdata[v] : NULL;
          const Packet *pa = a < na ? fx.audio->pdata[a] : NULL;
          const Packet *pm = m < nm ? meta->pdata[m] : NULL;
          const Packet *p = pv;

          if (p == NULL || (pa != NULL && pa->dts_us < p->dts_us))
            p = pa;
          if (p == NULL || (pm != NULL && pm->dts_us < p->dts_us))
            p = pm;
          write_packet (writer, p, r * length);
          v += p == pv;
          a += p == pa && p != pv;
          m += p == pm && p != pv && p != pa;
        }
    }
}

static char *
make_fusion (const char *name,
             guint       n_video,
             gboolean    with_audio,
             guint       repeat)
{
  g_autofree char *path = custos_test_tmp_path (name);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileOutputStream) out = g_file_replace (file, NULL, FALSE, 0, NULL, NULL);
  g_autoptr (GOutputStream) buffered = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (out),
                                                                           1 << 20);
  g_autoptr (CustosWriter) writer = writer_new (buffered);
  g_autoptr (GError) error = NULL;

  add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, fx.video_caps, 0);
  if (with_audio)
    {
      add_stream (writer, CUSTOS_STREAM_KIND_AUDIO, fx.audio_caps, 1);
      add_stream (writer, CUSTOS_STREAM_KIND_METADATA, "text/x-raw, format=(string)utf8", 2);
    }
  write_all (writer, n_video, with_audio, repeat);
  custos_writer_close (writer, &error);
  g_assert_no_error (error);
  g_output_stream_close (buffered, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

/* The fixture: references */

static void
write_reference (void)
{
  g_autoptr (GByteArray) all = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < fx.video->len; i++)
    {
      const Packet *p = fx.video->pdata[i];

      g_byte_array_append (all, g_bytes_get_data (p->data, NULL), g_bytes_get_size (p->data));
    }
  fx.reference = custos_test_tmp_path ("reference.h264");
  g_file_set_contents (fx.reference, (const char *) all->data, all->len, &error);
  g_assert_no_error (error);
}

/* MD5 of each decoded frame, in presentation order, by ffmpeg: every
 * frame in the file, also those an edit list does not show. */
static GPtrArray *
frame_md5s (const char *path)
{
  const char *mp4[] = { "ffmpeg", "-v", "error", "-ignore_editlist", "1", "-i", path, "-map",
                        "0:v", "-f", "framemd5", "-", NULL };
  const char *other[] = { "ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5",
                          "-", NULL };
  g_autofree char *text = custos_test_run_output (g_str_has_suffix (path, ".mp4") ? mp4 : other);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *md5s = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *comma = strrchr (lines[i], ',');

      if (lines[i][0] == '#' || comma == NULL)
        continue;
      g_ptr_array_add (md5s, g_strdup (g_strstrip (comma + 1)));
    }
  return md5s;
}

static void
fixture_init (void)
{
  g_autoptr (GPtrArray) video = NULL;
  g_autoptr (GPtrArray) audio = NULL;

  custos_test_make_cert ("rsa:2048", "export-rsa", &fx.rsa_cert, &fx.rsa_key);
  custos_test_make_cert ("ec:P-256", "export-ec", &fx.ec_cert, &fx.ec_key);
  custos_test_make_cert ("ec:P-256", "export-signer", &fx.signer_cert, &fx.signer_key);
  video = encode (VIDEO_SRC, N_VIDEO, &fx.video_caps);
  audio = encode (AUDIO_SRC, N_AUDIO, &fx.audio_caps);
  fx.video = to_packets (video, 0);
  fx.audio = to_packets (audio, 1);
  fx.fusion = make_fusion ("recording.fusion", N_VIDEO, TRUE, 1);
  fx.short_fusion = make_fusion ("short.fusion", 30, FALSE, 1);
  write_reference ();
  if (custos_test_have_program ("ffmpeg"))
    fx.reference_md5 = frame_md5s (fx.reference);
}

static void
fixture_clear (void)
{
  g_clear_pointer (&fx.video, g_ptr_array_unref);
  g_clear_pointer (&fx.audio, g_ptr_array_unref);
  g_clear_pointer (&fx.reference_md5, g_ptr_array_unref);
  g_free (fx.video_caps);
  g_free (fx.audio_caps);
  g_free (fx.fusion);
  g_free (fx.short_fusion);
  g_free (fx.reference);
  g_free (fx.rsa_cert);
  g_free (fx.rsa_key);
  g_free (fx.ec_cert);
  g_free (fx.ec_key);
  g_free (fx.signer_cert);
  g_free (fx.signer_key);
}

static gboolean
skip_without_ffmpeg (void)
{
  if (custos_test_have_program ("ffmpeg") && custos_test_have_program ("ffprobe"))
    return FALSE;
  g_test_skip ("ffmpeg and ffprobe are needed to check exports independently");
  return TRUE;
}

/* ffprobe */

/* "key=value" lines of ffprobe for one stream (or the format). */
static GHashTable *
probe (const char *path,
       const char *select,
       const char *entries)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-count_frames", "-count_packets",
                         "-select_streams", select,
                         "-show_entries", entries, "-of", "default=noprint_wrappers=1", path,
                         NULL };
  const char *format_argv[] = { "ffprobe", "-v", "error", "-show_entries", entries, "-of",
                                "default=noprint_wrappers=1", path, NULL };
  g_autofree char *text = custos_test_run_output (select ? argv : format_argv);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        g_hash_table_insert (values, g_strndup (lines[i], eq - lines[i]), g_strdup (eq + 1));
    }
  return values;
}

static guint
count_streams (const char *path)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-show_entries", "stream=index", "-of", "csv",
                         path, NULL };
  g_autofree char *text = custos_test_run_output (argv);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);

  return g_strv_length (lines);
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Presentation times of the video packets, in seconds, sorted. */
static GArray *
packet_times (const char *path)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "packet=pts_time", "-of", "csv=p=0", path, NULL };
  g_autofree char *text = custos_test_run_output (argv);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      double t = g_ascii_strtod (lines[i], NULL);

      g_array_append_val (times, t);
    }
  g_array_sort (times, compare_double);
  return times;
}

/* The H.264 side: NAL units and frames */

static GPtrArray *
split_nals (GBytes *annexb)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (annexb, &len);
  GPtrArray *nals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gsize start = G_MAXSIZE;

  for (gsize i = 0; i + 3 <= len; i++)
    {
      gsize end;

      if (!(p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1))
        continue;
      /* A 4-byte start code's leading zero is not part of the NAL before. */
      end = i > 0 && p[i - 1] == 0 ? i - 1 : i;
      if (start != G_MAXSIZE)
        g_ptr_array_add (nals, g_bytes_new (p + start, end - start));
      start = i + 3;
      i += 2;
    }
  if (start != G_MAXSIZE)
    g_ptr_array_add (nals, g_bytes_new (p + start, len - start));
  return nals;
}

static GBytes *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* The access units first … last (decode order) as Annex B. */
static GBytes *
reference_range (guint first,
                 guint last)
{
  GByteArray *all = g_byte_array_new ();

  for (guint i = first; i <= last; i++)
    {
      const Packet *p = fx.video->pdata[i];

      g_byte_array_append (all, g_bytes_get_data (p->data, NULL), g_bytes_get_size (p->data));
    }
  return g_byte_array_free_to_bytes (all);
}

/* The H.264 in a container, back out as Annex B, is the source's. */
static void
assert_same_h264 (const char *container,
                  GBytes     *expected)
{
  g_autofree char *out = g_strconcat (container, ".h264", NULL);
  const char *argv[] = { "ffmpeg", "-v", "error", "-y", "-i", container, "-map", "0:v", "-c",
                         "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", out, NULL };
  g_autofree char *unused = custos_test_run_output (argv);
  g_autoptr (GBytes) got = read_file (out);
  g_autoptr (GPtrArray) a = split_nals (got);
  g_autoptr (GPtrArray) b = split_nals (expected);

  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpuint (a->len, >, 0);
  for (guint i = 0; i < a->len; i++)
    g_assert_true (g_bytes_equal (a->pdata[i], b->pdata[i]));
}

/* Presentation index of a video packet: its rank by PTS. */
static guint
presentation_index (gint64 pts_us)
{
  guint rank = 0;

  for (guint i = 0; i < fx.video->len; i++)
    rank += ((const Packet *) fx.video->pdata[i])->pts_us < pts_us;
  return rank;
}

static int
compare_uint (gconstpointer a,
              gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

/* Decoded frames of the export hash like the source's frames of the
 * packets first … last (decode order), in presentation order. */
static void
assert_same_frames (const char *container,
                    guint       first,
                    guint       last)
{
  g_autoptr (GPtrArray) got = frame_md5s (container);
  g_autoptr (GArray) shown = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = first; i <= last; i++)
    {
      guint k = presentation_index (((const Packet *) fx.video->pdata[i])->pts_us);

      g_array_append_val (shown, k);
    }
  g_array_sort (shown, compare_uint);
  g_assert_cmpuint (got->len, ==, shown->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_cmpstr (got->pdata[i], ==, fx.reference_md5->pdata[g_array_index (shown, guint, i)]);
}

static gint64
video_pts (guint i)
{
  return ((const Packet *) fx.video->pdata[i])->pts_us;
}

/* Tests: usage */

static void
test_usage (void)
{
  g_autofree char *out = custos_test_tmp_path ("usage.mp4");
  g_autoptr (CustosCliResult) help = custos_test_cli_run ("export", "--help", NULL);
  g_autoptr (CustosCliResult) no_out = custos_test_cli_run ("export", fx.fusion, NULL);
  g_autoptr (CustosCliResult) bad_format = custos_test_cli_run ("export", fx.fusion, "-o", out, "--format", "avi",
                                           NULL);
  g_autoptr (CustosCliResult) recipient = custos_test_cli_run ("export", fx.fusion, "-o", out, "--recipient",
                                          fx.ec_cert, NULL);
  g_autoptr (CustosCliResult) backwards = custos_test_cli_run ("export", fx.fusion, "-o", out, "--from", "3", "--to",
                                          "1", NULL);
  g_autoptr (CustosCliResult) bad_time = custos_test_cli_run ("export", fx.fusion, "-o", out, "--from", "yesterday",
                                         NULL);
  g_autoptr (CustosCliResult) top = custos_test_cli_run ("--help", NULL);
  g_autoptr (CustosCliResult) after_end = custos_test_cli_run ("export", fx.fusion, "-o", out, "--from", "60", NULL);
  g_autoptr (CustosCliResult) before_start = custos_test_cli_run ("export", fx.fusion, "-o", out, "--to",
                                             "2026-11-21T20:33:00Z", NULL);

  custos_test_cli_assert_status (help, 0);
  g_assert_nonnull (strstr (help->out, "sync point at or before"));
  g_assert_nonnull (strstr (help->out, "--recipient"));
  custos_test_cli_assert_status (no_out, 1);
  custos_test_cli_assert_status (bad_format, 1);
  custos_test_cli_assert_status (recipient, 1);
  custos_test_cli_assert_status (backwards, 1);
  custos_test_cli_assert_status (bad_time, 1);
  g_assert_nonnull (strstr (bad_time->err, "ISO 8601"));
  custos_test_cli_assert_status (after_end, 1);
  g_assert_nonnull (strstr (after_end->err, "after the recording ends (2026-11-21T20:34:0"));
  custos_test_cli_assert_status (before_start, 1);
  custos_test_cli_assert_status (top, 0);
  g_assert_nonnull (strstr (top->out, "export"));
  g_assert_nonnull (strstr (top->out, "play"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Tests: MP4 and MKV */

static char *
creation_time (const char *path)
{
  g_autoptr (GHashTable) format = probe (path, NULL, "format_tags=creation_time");

  return g_strdup (g_hash_table_lookup (format, "TAG:creation_time"));
}

static void
assert_times (const char *path,
              guint       first,
              guint       count)
{
  g_autoptr (GArray) times = packet_times (path);
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = first; i < first + count; i++)
    g_array_append_val (expected, ((const Packet *) fx.video->pdata[i])->pts_us);
  g_array_sort (expected, compare_int64);
  g_assert_cmpuint (times->len, ==, count);
  /* The file's time 0 is its first frame; times follow the source's. */
  for (guint i = 0; i < count; i++)
    {
      gint64 want = g_array_index (expected, gint64, i) - g_array_index (expected, gint64, 0);

      g_assert_cmpfloat_with_epsilon (g_array_index (times, double, i), want / 1e6, 0.0015);
    }
}

static void
test_mp4 (void)
{
  g_autofree char *out = custos_test_tmp_path ("all.mp4");
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (JsonObject) json = NULL;
  g_autoptr (GHashTable) video = NULL;
  g_autoptr (GHashTable) audio = NULL;
  g_autoptr (GHashTable) format = NULL;
  g_autoptr (GBytes) reference = NULL;
  g_autofree char *created = NULL;
  JsonArray *skipped;

  if (skip_without_ffmpeg ())
    return;
  result = custos_test_cli_run ("export", fx.fusion, "-o", out, "--key", fx.rsa_key, "--cert", fx.rsa_cert,
                    "--ca", fx.signer_cert, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  json = custos_test_parse_json_object (result->out);
  g_assert_cmpstr (json_object_get_string_member (json, "format"), ==, "mp4");
  g_assert_cmpint (json_object_get_int_member (json, "frames"), ==, N_VIDEO);
  g_assert_cmpstr (json_object_get_string_member (json, "start"), ==, START_ISO ".000Z");
  /* The metadata stream is not in the MP4, and the output says so. */
  skipped = json_object_get_array_member (json, "skipped");
  g_assert_cmpuint (json_array_get_length (skipped), ==, 1);
  g_assert_nonnull (strstr (json_array_get_string_element (skipped, 0), "metadata"));

  g_assert_cmpuint (count_streams (out), ==, 2);
  video = probe (out, "v:0", "stream=codec_name,nb_read_frames,width,height");
  g_assert_cmpstr (g_hash_table_lookup (video, "codec_name"), ==, "h264");
  g_assert_cmpstr (g_hash_table_lookup (video, "nb_read_frames"), ==, G_STRINGIFY (N_VIDEO));
  g_assert_cmpstr (g_hash_table_lookup (video, "width"), ==, "320");
  /* Packets: Opus decoders drop the pre-skip and the padding at the end. */
  audio = probe (out, "a:0", "stream=codec_name,nb_read_packets");
  g_assert_cmpstr (g_hash_table_lookup (audio, "codec_name"), ==, "opus");
  g_assert_cmpint (atoi (g_hash_table_lookup (audio, "nb_read_packets")), ==, fx.audio->len);
  format = probe (out, NULL, "format=duration:format_tags=comment");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (g_hash_table_lookup (format, "duration"), NULL),
                                  N_VIDEO / 30.0, 0.05);
  g_assert_nonnull (strstr (g_hash_table_lookup (format, "TAG:comment"), START_ISO ".000Z"));
  created = creation_time (out);
  g_assert_cmpstr (created, ==, START_ISO ".000000Z");

  reference = read_file (fx.reference);
  assert_same_h264 (out, reference);
  assert_same_frames (out, 0, N_VIDEO - 1);
  assert_times (out, 0, N_VIDEO);
}

static void
test_mkv (void)
{
  g_autofree char *out = custos_test_tmp_path ("all.mkv");
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (GHashTable) video = NULL;
  g_autoptr (GHashTable) audio = NULL;
  g_autoptr (GHashTable) text = NULL;
  g_autoptr (GBytes) reference = NULL;
  g_autofree char *created = NULL;
  g_autofree char *srt = NULL;
  const char *srt_argv[] = { "ffmpeg", "-v", "error", "-i", out, "-map", "0:s", "-f", "srt", "-",
                             NULL };

  if (skip_without_ffmpeg ())
    return;
  result = custos_test_cli_run ("export", fx.fusion, "-o", out, "--key", fx.rsa_key, "--cert", fx.rsa_cert,
                    "-q", NULL);
  custos_test_cli_assert_status (result, 0);
  /* Video, audio and the metadata, as a text track. */
  g_assert_cmpuint (count_streams (out), ==, 3);
  video = probe (out, "v:0", "stream=codec_name,nb_read_frames");
  g_assert_cmpstr (g_hash_table_lookup (video, "codec_name"), ==, "h264");
  g_assert_cmpstr (g_hash_table_lookup (video, "nb_read_frames"), ==, G_STRINGIFY (N_VIDEO));
  /* Packets: Opus decoders drop the pre-skip and the padding at the end. */
  audio = probe (out, "a:0", "stream=codec_name,nb_read_packets");
  g_assert_cmpstr (g_hash_table_lookup (audio, "codec_name"), ==, "opus");
  g_assert_cmpint (atoi (g_hash_table_lookup (audio, "nb_read_packets")), ==, fx.audio->len);
  /* S_TEXT/UTF8, which ffmpeg calls subrip. */
  text = probe (out, "s:0", "stream=codec_name,nb_read_packets");
  g_assert_cmpstr (g_hash_table_lookup (text, "codec_name"), ==, "subrip");
  g_assert_cmpint (atoi (g_hash_table_lookup (text, "nb_read_packets")), ==, N_VIDEO / 30);
  srt = custos_test_run_output (srt_argv);
  g_assert_nonnull (strstr (srt, "motion 0"));
  g_assert_nonnull (strstr (srt, "motion 4"));
  created = creation_time (out);
  g_assert_cmpstr (created, ==, START_ISO ".000000Z");

  reference = read_file (fx.reference);
  assert_same_h264 (out, reference);
  assert_same_frames (out, 0, N_VIDEO - 1);
  assert_times (out, 0, N_VIDEO);
}

/* A range: from the keyframe at or before --from to the last frame
 * decoded at or before --to. */
static void
expected_range (gint64  from_us,
                gint64  to_us,
                guint  *first,
                guint  *last)
{
  *first = 0;
  for (guint i = 0; i < fx.video->len; i++)
    if (((const Packet *) fx.video->pdata[i])->keyframe && video_pts (i) <= from_us)
      *first = i;
  *last = *first;
  for (guint i = *first; i < fx.video->len; i++)
    if (((const Packet *) fx.video->pdata[i])->dts_us <= to_us)
      *last = i;
}

/* Frames the file shows (an MP4 edit list may hide the reference frame
 * after --to). */
static guint
shown_frames (const char *path)
{
  g_autoptr (GHashTable) video = probe (path, "v:0", "stream=nb_read_frames");

  return atoi (g_hash_table_lookup (video, "nb_read_frames"));
}

static void
check_range_mp4 (const char *from,
                 const char *to,
                 gint64      from_us,
                 gint64      to_us)
{
  g_autofree char *out = custos_test_tmp_path ("range.mp4");
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (GHashTable) video = NULL;
  g_autoptr (GBytes) expected = NULL;
  g_autofree char *created = NULL;
  g_autofree char *count = NULL;
  g_autofree char *iso = NULL;
  guint first, last, shown = 0;

  expected_range (from_us, to_us, &first, &last);
  g_assert_cmpuint (first, ==, 30);
  result = custos_test_cli_run ("export", fx.fusion, "-o", out, "--from", from, "--to", to, "--key",
                    fx.rsa_key, "--cert", fx.rsa_cert, "-q", NULL);
  custos_test_cli_assert_status (result, 0);
  video = probe (out, "v:0", "stream=nb_read_packets");
  count = g_strdup_printf ("%u", last - first + 1);
  g_assert_cmpstr (g_hash_table_lookup (video, "nb_read_packets"), ==, count);
  /* Every frame shown up to --to is there, and shown. */
  for (guint i = 0; i < fx.video->len; i++)
    if (video_pts (i) <= to_us && video_pts (i) >= video_pts (first))
      {
        g_assert_cmpuint (i, <=, last);
        shown++;
      }
  g_assert_cmpuint (shown_frames (out), >=, shown);
  created = creation_time (out);
  iso = g_strdup_printf ("2026-11-21T20:34:%02d.000000Z",
                         (int) ((video_pts (first) - START_US) / SECOND));
  g_assert_cmpstr (created, ==, iso);
  expected = reference_range (first, last);
  assert_same_h264 (out, expected);
  assert_same_frames (out, first, last);
  assert_times (out, first, last - first + 1);
}

static void
test_range_mp4 (void)
{
  if (skip_without_ffmpeg ())
    return;
  check_range_mp4 ("1.5", "3.2", START_US + 1500000, START_US + 3200000);
  check_range_mp4 ("2026-11-21T20:34:01.400Z", "2026-11-21T21:34:03.1+01:00",
                   START_US + 1400000, START_US + 3100000);
}

/* Tests: fusion */

/* The access units a decrypted export holds are one run of the source's. */
static guint
find_run (GBytes *es,
          guint  *n)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (es, &len);

  for (guint first = 0; first < fx.video->len; first++)
    {
      gsize off = 0;
      guint i = first;

      while (i < fx.video->len && off < len)
        {
          GBytes *au = ((const Packet *) fx.video->pdata[i])->data;

          if (off + g_bytes_get_size (au) > len ||
              memcmp (p + off, g_bytes_get_data (au, NULL), g_bytes_get_size (au)) != 0)
            break;
          off += g_bytes_get_size (au);
          i++;
        }
      if (off == len && i > first)
        {
          *n = i - first;
          return first;
        }
    }
  g_assert_not_reached ();
  return 0;
}

static GBytes *
decrypt_video (const char *fusion,
               const char *dir_name,
               const char *key,
               const char *cert)
{
  g_autofree char *dir = custos_test_tmp_path (dir_name);
  g_autofree char *h264 = g_build_filename (dir, "stream0-video.h264", NULL);
  g_autoptr (CustosCliResult) result = custos_test_cli_run ("decrypt", fusion, "-o", dir, "--key", key, "--cert", cert,
                                       "--ca", fx.signer_cert, "-q", NULL);

  custos_test_cli_assert_status (result, 0);
  return read_file (h264);
}

static void
test_fusion_range (void)
{
  g_autofree char *out = custos_test_tmp_path ("range.fusion");
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (CustosCliResult) verify = NULL;
  g_autoptr (CustosCliResult) before = NULL;
  g_autoptr (JsonObject) json = NULL;
  g_autoptr (JsonObject) verified = NULL;
  JsonObject *summary;
  g_autoptr (GBytes) by_rsa = NULL;
  g_autoptr (GBytes) by_ec = NULL;
  g_autofree char *no_key_dir = custos_test_tmp_path ("no-ec-key");
  guint first, n;

  result = custos_test_cli_run ("export", fx.fusion, "-o", out, "--from", "1.5", "--to", "3.2",
                    "--recipient", fx.ec_cert, "--key", fx.rsa_key, "--cert", fx.rsa_cert,
                    "--ca", fx.signer_cert, "--json", NULL);
  custos_test_cli_assert_status (result, 0);
  json = custos_test_parse_json_object (result->out);
  g_assert_cmpint (json_object_get_int_member (json, "recipients_added"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json, "altered"), ==, 0);
  /* Whole segments around the range, from a sync point. */
  g_assert_cmpstr (json_object_get_string_member (json, "start"), <=, START_ISO ".000Z");
  g_assert_cmpstr (json_object_get_string_member (json, "start"), <=, "2026-11-21T20:34:01.500Z");
  g_assert_cmpstr (json_object_get_string_member (json, "end"), >=, "2026-11-21T20:34:03.200Z");

  verify = custos_test_cli_run ("verify", out, "--ca", fx.signer_cert, "--json", NULL);
  custos_test_cli_assert_status (verify, 0);
  verified = custos_test_parse_json_object (verify->out);
  summary = json_object_get_object_member (verified, "summary");
  g_assert_true (json_object_get_boolean_member (summary, "ok"));
  g_assert_cmpint (json_object_get_int_member (summary, "not_signed"), ==, 0);

  /* Offline, with the original key and with the added recipient's. */
  by_rsa = decrypt_video (out, "range-rsa", fx.rsa_key, fx.rsa_cert);
  by_ec = decrypt_video (out, "range-ec", fx.ec_key, fx.ec_cert);
  g_assert_true (g_bytes_equal (by_rsa, by_ec));
  first = find_run (by_ec, &n);
  g_assert_true (((const Packet *) fx.video->pdata[first])->keyframe);
  g_assert_cmpint (video_pts (first), <=, START_US + 1500000);
  g_assert_cmpint (video_pts (first + n - 1), >=, START_US + 3200000 - SECOND / 30);

  /* The added recipient had no key to the original. */
  before = custos_test_cli_run ("decrypt", fx.fusion, "-o", no_key_dir, "--key", fx.ec_key, "--cert",
                    fx.ec_cert, "-q", NULL);
  custos_test_cli_assert_status (before, 3);
}

/* Adding a recipient needs keys that open the file. */
static void
test_fusion_not_ours (void)
{
  g_autofree char *out = custos_test_tmp_path ("not-ours.fusion");
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  g_autoptr (CustosCliResult) result = custos_test_cli_run ("export", fx.fusion, "-o", out, "--recipient",
                                       fx.rsa_cert, "--key", fx.ec_key, "--cert", fx.ec_cert,
                                       NULL);

  custos_test_cli_assert_status (result, 3);
  g_assert_nonnull (strstr (result->err, "Locked"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* Tests: PNG */

typedef struct
{
  guint  width;
  guint  height;
  char  *creation_time;
} PngInfo;

static void
png_info_clear (PngInfo *info)
{
  g_free (info->creation_time);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PngInfo, png_info_clear)

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* Size and the "Creation Time" text chunk, read chunk by chunk. */
static void
read_png_info (const char *path,
               PngInfo    *info)
{
  g_autoptr (GBytes) bytes = read_file (path);
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);

  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (p + 1, 3, "PNG", 3);
  info->width = be32 (p + 16);
  info->height = be32 (p + 20);
  for (gsize off = 8; off + 12 <= len;)
    {
      guint32 n = be32 (p + off);
      const char *data = (const char *) p + off + 8;

      if (memcmp (p + off + 4, "tEXt", 4) == 0 && strcmp (data, "Creation Time") == 0)
        info->creation_time = g_strndup (data + 14, n - 14);
      off += 12 + n;
    }
}

static GstSample *
pull_one (const char *description)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, NULL);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  sample = gst_app_sink_pull_sample (GST_APP_SINK (sink));
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_assert_nonnull (sample);
  return sample;
}

/* The pixels by GStreamer's own PNG decoder, as RGB. */
static GstSample *
decode_png (const char *path)
{
  g_autofree char *description =
    g_strdup_printf ("filesrc location=\"%s\" ! pngdec ! videoconvert ! "
                     "video/x-raw,format=RGB ! appsink name=sink", path);

  return pull_one (description);
}

/* The source pattern itself, before encoding, in the same colours. */
static GstSample *
source_frame (void)
{
  return pull_one ("videotestsrc num-buffers=1 pattern=smpte ! "
                   "video/x-raw,width=320,height=240,format=I420 ! videoconvert ! "
                   "video/x-raw,format=RGB ! appsink name=sink");
}

static const guint8 *
pixel (GstVideoFrame *frame,
       guint          x,
       guint          y)
{
  return (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, 0) +
         y * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0) + 3 * x;
}

static void
map_sample (GstSample     *sample,
            GstVideoFrame *frame)
{
  GstVideoInfo info;

  g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
  g_assert_true (gst_video_frame_map (frame, &info, gst_sample_get_buffer (sample),
                                      GST_MAP_READ));
}

/* In the middle of each of the seven colour bars, the snapshot has the
 * source's colour, give or take what H.264 made of it. */
static void
assert_bars (const char *path)
{
  g_autoptr (GstSample) got = decode_png (path);
  g_autoptr (GstSample) want = source_frame ();
  GstVideoFrame a, b;

  map_sample (got, &a);
  map_sample (want, &b);
  for (guint bar = 0; bar < 7; bar++)
    {
      guint x = (2 * bar + 1) * 320 / 14;
      const guint8 *pa = pixel (&a, x, 60), *pb = pixel (&b, x, 60);

      for (guint c = 0; c < 3; c++)
        g_assert_cmpint (ABS ((int) pa[c] - (int) pb[c]), <=, 12);
    }
  /* And they are the bars: the first is light, the last blue. */
  g_assert_cmpint (pixel (&a, 20, 60)[1], >, 150);
  g_assert_cmpint (pixel (&a, 300, 60)[2], >, 150);
  g_assert_cmpint (pixel (&a, 300, 60)[0], <, 60);
  gst_video_frame_unmap (&a);
  gst_video_frame_unmap (&b);
}

static void
test_png (void)
{
  g_autofree char *dir = custos_test_tmp_path ("snapshots");
  /* The frame shown at 2.51 s is the one at 2.5 s. */
  g_autofree char *expected = g_build_filename (dir, "recording-20261121T203402.500Z.png", NULL);
  g_autoptr (CustosCliResult) result = NULL;
  g_auto (PngInfo) info = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  result = custos_test_cli_run ("export", fx.fusion, "--format", "png", "-o", dir, "--from", "2.51",
                    "--key", fx.rsa_key, "--cert", fx.rsa_cert, NULL);
  custos_test_cli_assert_status (result, 0);
  g_assert_nonnull (strstr (result->out, "2026-11-21T20:34:02.500Z"));
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_REGULAR));
  read_png_info (expected, &info);
  g_assert_cmpuint (info.width, ==, 320);
  g_assert_cmpuint (info.height, ==, 240);
  g_assert_cmpstr (info.creation_time, ==, "2026-11-21T20:34:02.500Z");
  assert_bars (expected);
}

/* Tests: failures */

static void
test_locked (void)
{
  g_autofree char *out = custos_test_tmp_path ("locked.mp4");
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  g_autoptr (CustosCliResult) none = custos_test_cli_run ("export", fx.fusion, "-o", out, NULL);
  g_autoptr (CustosCliResult) wrong = custos_test_cli_run ("export", fx.fusion, "-o", out, "--key", fx.ec_key,
                                      "--cert", fx.ec_cert, NULL);

  custos_test_cli_assert_status (none, 3);
  g_assert_nonnull (strstr (none->err, "Locked"));
  g_assert_nonnull (strstr (none->err, "CN=export-rsa"));
  g_assert_nonnull (strstr (none->err, "--key"));
  custos_test_cli_assert_status (wrong, 3);
  g_assert_nonnull (strstr (wrong->err, "CN=export-ec"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* A flipped ciphertext byte: that frame is left out, and exit 4 says why. */
static void
test_tampered (void)
{
  g_autofree char *out = custos_test_tmp_path ("tampered.mp4");
  g_autoptr (GBytes) original = read_file (fx.fusion);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (original, NULL),
                                       g_bytes_get_size (original));
  g_autofree char *tampered = NULL;
  g_autoptr (CustosCliResult) result = NULL;
  g_autoptr (CustosCliResult) fusion = NULL;
  g_autofree char *fusion_out = custos_test_tmp_path ("tampered-range.fusion");
  g_autoptr (GHashTable) video = NULL;
  gsize len = g_bytes_get_size (original);
  gsize at = len / 2;

  /* Into the body of the DATA record that holds the middle of the file. */
  for (gsize off = 0; off + 6 <= len;)
    {
      gsize rec = 6 + ((gsize) data[off + 3] << 16 | data[off + 4] << 8 | data[off + 5]);

      if (off + rec > len / 2)
        {
          g_assert_cmpuint (data[off + 1], ==, 0x10);
          at = off + rec - 20;
          break;
        }
      off += rec;
    }
  data[at] ^= 0x40;
  tampered = custos_test_write_file ("tampered.fusion", data, len);
  result = custos_test_cli_run ("export", tampered, "-o", out, "--key", fx.rsa_key, "--cert", fx.rsa_cert,
                    NULL);
  custos_test_cli_assert_status (result, 4);
  g_assert_nonnull (strstr (result->err, "Verification problems"));
  if (custos_test_have_program ("ffprobe"))
    {
      video = probe (out, "v:0", "stream=nb_read_frames");
      g_assert_cmpint (atoi (g_hash_table_lookup (video, "nb_read_frames")), <, N_VIDEO);
    }
  /* A fusion export copies the altered record as it is; its seal says so. */
  fusion = custos_test_cli_run ("export", tampered, "-o", fusion_out, "-q", NULL);
  custos_test_cli_assert_status (fusion, 4);
}

/* Cancelling: SIGINT (or SIGTERM) once progress shows; nothing is left. */
static void
cancel_export (const char *input,
               const char *name,
               int         signum)
{
  g_autofree char *out = custos_test_tmp_path (name);
  g_autofree char *part = g_strconcat (out, ".part", NULL);
  const char *argv[] = { g_getenv ("CUSTOS_CLI"), "export", input, "-o", out, "--key", fx.rsa_key,
                         "--cert", fx.rsa_cert, "--json", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                    G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_autoptr (GDataInputStream) err = NULL;
  g_autofree char *line = NULL;

  g_assert_no_error (error);
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  /* The first progress line says the export is under way. */
  line = g_data_input_stream_read_line_utf8 (err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "\"progress\""));
  g_subprocess_send_signal (proc, signum);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 128 + signum);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

static void
test_cancel (void)
{
  /* Ten minutes: long enough to be caught in the middle. */
  g_autofree char *long_fusion = make_fusion ("long.fusion", N_VIDEO, TRUE, 120);

  cancel_export (long_fusion, "cancelled.mp4", SIGINT);
  cancel_export (long_fusion, "cancelled.fusion", SIGTERM);
}

/* Tests: play */

static void
test_play_no_display (void)
{
  const char *unset[] = { "DISPLAY", "WAYLAND_DISPLAY", NULL };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (CustosCliResult) result = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("CUSTOS_CLI"));
  g_ptr_array_add (argv, (char *) "play");
  g_ptr_array_add (argv, fx.short_fusion);
  g_ptr_array_add (argv, NULL);
  result = custos_test_spawn ((const char *const *) argv->pdata, unset);
  custos_test_cli_assert_status (result, 1);
  g_assert_nonnull (strstr (result->err, "No display"));
}

/* In a real X server (Xvfb), a second of video plays to the end. */
static void
test_play_xvfb (void)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (CustosCliResult) result = NULL;

  if (!custos_test_have_program ("xvfb-run"))
    {
      g_test_skip ("xvfb-run is not installed (package xvfb): no X server to play in");
      return;
    }
  g_ptr_array_add (argv, (char *) "xvfb-run");
  g_ptr_array_add (argv, (char *) "-a");
  g_ptr_array_add (argv, (char *) "-s");
  g_ptr_array_add (argv, (char *) "-screen 0 1280x800x24");
  g_ptr_array_add (argv, (char *) g_getenv ("CUSTOS_CLI"));
  g_ptr_array_add (argv, (char *) "play");
  g_ptr_array_add (argv, fx.short_fusion);
  g_ptr_array_add (argv, (char *) "--key");
  g_ptr_array_add (argv, fx.rsa_key);
  g_ptr_array_add (argv, (char *) "--cert");
  g_ptr_array_add (argv, fx.rsa_cert);
  g_ptr_array_add (argv, NULL);
  result = custos_test_spawn ((const char *const *) argv->pdata, NULL);
  custos_test_cli_assert_status (result, 0);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  fixture_init ();

  g_test_add_func ("/cli/export/usage", test_usage);
  g_test_add_func ("/cli/export/mp4", test_mp4);
  g_test_add_func ("/cli/export/mkv", test_mkv);
  g_test_add_func ("/cli/export/range-mp4", test_range_mp4);
  g_test_add_func ("/cli/export/fusion-range", test_fusion_range);
  g_test_add_func ("/cli/export/fusion-not-ours", test_fusion_not_ours);
  g_test_add_func ("/cli/export/png", test_png);
  g_test_add_func ("/cli/export/locked", test_locked);
  g_test_add_func ("/cli/export/tampered", test_tampered);
  g_test_add_func ("/cli/export/cancel", test_cancel);
  g_test_add_func ("/cli/play/no-display", test_play_no_display);
  g_test_add_func ("/cli/play/xvfb", test_play_xvfb);
  ret = g_test_run ();

  fixture_clear ();
  return ret;
}
