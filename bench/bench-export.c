/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Export and playback benchmarks (not tests: they print figures).
 *
 *   bench-export make DIR SECONDS REPEATS CERT SIGNER-KEY SIGNER-CERT
 *       encodes SECONDS of 1080p30 H.264 at 4 Mbit/s once (x264enc
 *       bitrate=4000 key-int-max=60) and writes those access units REPEATS
 *       times, with advancing timestamps, both as DIR/plain.mkv (the
 *       plaintext for ffmpeg) and as DIR/enc.fusion (encrypted to CERT,
 *       sealed) and DIR/plain.fusion (not encrypted): the same bytes of
 *       H.264 in each; and a minute of the same in DIR/minute.fusion and
 *       DIR/minute-plain.fusion, for playback. The picture is noise
 *       ("snow", the default) or a camera-like "scene" (see source_for)
 *   bench-export cpu FUSION PLAIN-FUSION KEY CERT
 *       process CPU time of custosdemux ! h264parse ! fakesink on the
 *       encrypted and on the plaintext file, and of the same with
 *       avdec_h264: decryption as a share of decoding during playback
 *
 * bench/run drives it, times custos-cli export against ffmpeg -c copy on
 * the same H.264, and prints the ratios.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <gst/app/app.h>
#include <gst/gst.h>

#include <stdlib.h>
#include <sys/resource.h>

#include "bench-clip.h"
#include "custos.h"
#include "gstcustosdemux.h"

#define START_US G_GINT64_CONSTANT (1795293240000000)

/* What the camera sees. "snow" (noise, every frame new) makes x264 code
 * every macroblock: the most a 4 Mbit/s stream can cost to decode.
 * "scene" is closer to a fixed camera: a still picture (colour bars)
 * with sensor noise and an object moving across it; at the same bit rate
 * it decodes ~30 % faster. */
static char *
source_for (const char *content,
            guint       frames)
{
  if (g_str_equal (content, "snow"))
    return bench_clip_snow (frames);
  if (!g_str_equal (content, "scene"))
    g_error ("content \"%s\" is neither snow nor scene", content);
  return g_strdup_printf (
    "videotestsrc num-buffers=%u pattern=smpte ! " BENCH_RAW_1080P " ! mix.sink_0 "
    "videotestsrc num-buffers=%u pattern=snow ! " BENCH_RAW_1080P " ! mix.sink_1 "
    "videotestsrc num-buffers=%u pattern=ball motion=sweep background-color=0x00000000 "
    "foreground-color=0xffe0e0e0 ! " BENCH_RAW_1080P ",format=BGRA ! mix.sink_2 "
    "compositor name=mix background=black sink_1::alpha=0.08 ! videoconvert ! " BENCH_RAW_1080P
    ",format=I420",
    frames, frames, frames);
}

/* The encoded access units, with timestamps from 0. */
static GPtrArray *
encode (guint       seconds,
        const char *content,
        char      **caps_out)
{
  g_autofree char *source = source_for (content, seconds * 30);
  g_autofree char *description = bench_clip_description (source, "speed-preset=veryfast");

  return bench_clip_encode (description, caps_out);
}

/* Writing the fusion files */

static CustosWriter *
new_writer (GOutputStream *out,
            const char    *caps,
            const char    *cert_path,
            const char    *signer_key,
            const char    *signer_cert)
{
  g_autoptr (GError) error = NULL;
  CustosWriter *writer = custos_writer_new (out, "bench");
  g_autoptr (EVP_PKEY) key = custos_private_key_load (signer_key, NULL, &error);
  g_autoptr (CustosCertificate) signer = custos_certificate_new_from_file (signer_cert, &error);
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  g_autoptr (CustosCertificate) cert = NULL;

  if (key == NULL || signer == NULL)
    g_error ("%s", error->message);
  g_ptr_array_add (chain, signer);
  if (!custos_writer_set_signer (writer, key, chain, &error))
    g_error ("%s", error->message);
  if (cert_path != NULL &&
      ((cert = custos_certificate_new_from_file (cert_path, &error)) == NULL ||
       !custos_writer_add_recipient (writer, cert, FALSE, &error)))
    g_error ("%s", error->message);
  if (custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO,
                                cert_path ? CUSTOS_STREAM_FLAG_ENCRYPTED : 0, caps, "video", 0,
                                &error) < 0)
    g_error ("%s", error->message);
  return writer;
}

static void
write_fusion (const char *path,
              GPtrArray  *units,
              guint       repeats,
              guint       seconds,
              const char *caps,
              const char *cert,
              const char *signer_key,
              const char *signer_cert)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileOutputStream) raw = g_file_replace (file, NULL, FALSE, 0, NULL, &error);
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (CustosWriter) writer = NULL;

  if (raw == NULL)
    g_error ("%s", error->message);
  out = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (raw), 4 << 20);
  writer = new_writer (out, caps, cert, signer_key, signer_cert);
  for (guint r = 0; r < repeats; r++)
    for (guint i = 0; i < units->len; i++)
      {
        BenchUnit *u = units->pdata[i];
        gint64 shift = START_US + (gint64) r * seconds * G_USEC_PER_SEC;
        gsize len;
        const guint8 *data = g_bytes_get_data (u->data, &len);

        if (!custos_writer_write_packet (writer, 0, u->pts_us + shift, u->dts_us + shift,
                                         u->keyframe, data, len, &error))
          g_error ("%s", error->message);
      }
  if (!custos_writer_close (writer, &error) || !g_output_stream_close (out, NULL, &error))
    g_error ("%s", error->message);
}

/* The plaintext for ffmpeg: the same access units in Matroska. */
static void
write_mkv (const char *path,
           GPtrArray  *units,
           guint       repeats,
           guint       seconds,
           const char *caps_text)
{
  g_autofree char *description =
    g_strdup_printf ("appsrc name=src format=time ! h264parse ! matroskamux ! "
                     "filesink location=\"%s\"", path);
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, NULL);
  g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_autoptr (GstCaps) caps = gst_caps_from_string (caps_text);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) done = NULL;

  g_object_set (src, "caps", caps, "max-bytes", (guint64) 64 << 20, "block", TRUE, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint r = 0; r < repeats; r++)
    for (guint i = 0; i < units->len; i++)
      {
        BenchUnit *u = units->pdata[i];
        GstClockTime shift = (GstClockTime) r * seconds * GST_SECOND;
        GstBuffer *buffer = gst_buffer_new_wrapped_bytes (u->data);

        GST_BUFFER_PTS (buffer) = shift + u->pts_us * GST_USECOND + GST_SECOND;
        GST_BUFFER_DTS (buffer) = shift + u->dts_us * GST_USECOND + GST_SECOND;
        GST_BUFFER_DURATION (buffer) = GST_SECOND / 30;
        if (!u->keyframe)
          GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
        gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
      }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  done = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (done) == GST_MESSAGE_ERROR)
    g_error ("writing %s failed", path);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static void
make (char      **argv,
      const char *content)
{
  const char *dir = argv[0];
  guint seconds = atoi (argv[1]), repeats = atoi (argv[2]);
  g_autofree char *caps = NULL;
  g_autoptr (GPtrArray) units = NULL;
  g_autofree char *enc = g_build_filename (dir, "enc.fusion", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain.fusion", NULL);
  g_autofree char *mkv = g_build_filename (dir, "plain.mkv", NULL);
  g_autofree char *minute = g_build_filename (dir, "minute.fusion", NULL);
  g_autofree char *minute_plain = g_build_filename (dir, "minute-plain.fusion", NULL);
  guint minute_repeats = MAX (60 / MAX (seconds, 1), 1);
  guint64 bytes = 0;
  gint64 t0 = g_get_monotonic_time ();

  units = encode (seconds, content, &caps);
  for (guint i = 0; i < units->len; i++)
    bytes += g_bytes_get_size (((BenchUnit *) units->pdata[i])->data);
  g_print ("encode_s %.2f\nunits %u\nes_bytes %" G_GUINT64_FORMAT "\nmbit_s %.3f\n",
           (g_get_monotonic_time () - t0) / 1e6, units->len, bytes * repeats,
           bytes * 8.0 / seconds / 1e6);
  write_fusion (enc, units, repeats, seconds, caps, argv[3], argv[4], argv[5]);
  write_fusion (plain, units, repeats, seconds, caps, NULL, argv[4], argv[5]);
  write_mkv (mkv, units, repeats, seconds, caps);
  write_fusion (minute, units, minute_repeats, seconds, caps, argv[3], argv[4], argv[5]);
  write_fusion (minute_plain, units, minute_repeats, seconds, caps, NULL, argv[4], argv[5]);
}

/* CPU time of whole pipelines */

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static double
run_pipeline (const char        *tail,
              const char        *path,
              CustosKeyProvider *provider)
{
  g_autofree char *description = g_strdup_printf ("filesrc location=\"%s\" ! custosdemux name=d "
                                                  "! h264parse ! %s", path, tail);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) demux = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) done = NULL;
  double start;

  if (pipeline == NULL)
    g_error ("%s", error->message);
  demux = gst_bin_get_by_name (GST_BIN (pipeline), "d");
  g_object_set (demux, "key-provider", provider, NULL);
  bus = gst_element_get_bus (pipeline);
  start = cpu_seconds ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  done = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (GST_MESSAGE_TYPE (done) == GST_MESSAGE_ERROR)
    g_error ("%s failed", description);
  return cpu_seconds () - start;
}

static double
best_of (int                n,
         const char        *tail,
         const char        *path,
         CustosKeyProvider *provider)
{
  double best = G_MAXDOUBLE;

  for (int i = 0; i < n; i++)
    best = MIN (best, run_pipeline (tail, path, provider));
  return best;
}

static void
cpu (char **argv)
{
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;
  double demux_enc, demux_plain, decode;

  if (!custos_local_key_provider_add_key (provider, argv[2], argv[3], NULL, &error))
    g_error ("%s", error->message);
  demux_enc = best_of (3, "fakesink", argv[0], CUSTOS_KEY_PROVIDER (provider));
  demux_plain = best_of (3, "fakesink", argv[1], CUSTOS_KEY_PROVIDER (provider));
  decode = best_of (1, "avdec_h264 ! fakesink sync=false", argv[0],
                    CUSTOS_KEY_PROVIDER (provider));
  g_print ("demux_encrypted_cpu_s %.3f\ndemux_plain_cpu_s %.3f\ndecode_cpu_s %.3f\n", demux_enc,
           demux_plain, decode);
}

int
main (int    argc,
      char **argv)
{
  gst_init (&argc, &argv);
  if ((argc == 8 || argc == 9) && g_str_equal (argv[1], "make"))
    make (argv + 2, argc == 9 ? argv[8] : "snow");
  else if (argc == 6 && g_str_equal (argv[1], "cpu"))
    cpu (argv + 2);
  else
    {
      g_printerr ("usage: bench-export make DIR SECONDS REPEATS CERT SIGNER-KEY SIGNER-CERT [snow|scene]\n"
                  "       bench-export cpu FUSION PLAIN-FUSION KEY CERT\n");
      return 1;
    }
  return 0;
}
