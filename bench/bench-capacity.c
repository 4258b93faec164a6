/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Capacity cost of encryption (not a test: it prints figures).
 *
 *   bench-capacity DIR CAMERAS SECONDS SIGNER-KEY SIGNER-CERT CERT...
 *       encodes 10 s of 1080p30 H.264 at 4 Mbit/s once, then ingests
 *       CAMERAS cameras of SECONDS each (the same access units repeated
 *       with advancing timestamps) through CustosWriter into files in DIR,
 *       as the archiver does: period 60 s, epoch 1 h, seal 2 s, indexed,
 *       signed, one write per packet. Configurations: plaintext, and
 *       encrypted to the first 1, 5 and 20 CERTs. Best of 3 each, rounds
 *       interleaved; prints process CPU and wall time per configuration.
 *
 * bench/run turns them into capacities (camera-seconds per CPU-second)
 * and compares them with plaintext.
 *
 * What this measures is the writer alone: no source, no demuxer or
 * parser, no thread hand-off, tmpfs. Plaintext there costs a memcpy, the
 * seals' SHA-256 and a write(2) per packet, so AES-GCM (in place, one
 * context per stream and key period, only the nonce set per packet) is a
 * large share of it: an upper bound of encryption's cost, not an
 * archiver's capacity. bench-capacity-archiver measures that.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <glib/gstdio.h>
#include <gst/app/app.h>
#include <gst/gst.h>

#include <stdlib.h>
#include <time.h>

#include "bench-clip.h"
#include "custos.h"

/* A minute boundary, so each 60 s camera file is one key period. */
#define START_US      G_GINT64_CONSTANT (1795293240000000)
#define CLIP_SECONDS  10
#define ROUNDS        3
#define N_CONFIGS     G_N_ELEMENTS (recipient_counts)

static const guint recipient_counts[] = { 0, 1, 5, 20 };

typedef struct
{
  const char *dir;
  guint       cameras;
  guint       seconds;
  char       *caps;
  GPtrArray  *units;   /* BenchUnit */
  EVP_PKEY   *signer_key;
  GPtrArray  *chain;   /* CustosCertificate, signer first */
  GPtrArray  *certs;   /* CustosCertificate */
} Bench;

static double
cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Encoding */

/* The clip's access units, timestamps from 0. Snow is the worst case for
 * the encoder, so the bitrate sits at the 4 Mbit/s a camera sends. */
static GPtrArray *
encode (char **caps_out)
{
  g_autofree char *source = bench_clip_snow (CLIP_SECONDS * 30);
  g_autofree char *description =
    bench_clip_description (source, "speed-preset=ultrafast threads=2");

  return bench_clip_encode (description, caps_out);
}

/* Ingest */

/* Set up as custos-camera.c's open_file() does. */
static CustosWriter *
new_writer (Bench         *bench,
            GOutputStream *out,
            guint          n_recipients)
{
  g_autoptr (GError) error = NULL;
  CustosWriter *writer = custos_writer_new (out, "bench");
  CustosStreamFlags flags = n_recipients > 0 ? CUSTOS_STREAM_FLAG_ENCRYPTED : 0;

  custos_writer_set_intervals (writer, 60 * 1000, 3600 * 1000, 2 * 1000);
  custos_writer_set_indexed (writer, TRUE);
  if (!custos_writer_set_signer (writer, bench->signer_key, bench->chain, &error) ||
      custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, flags, bench->caps, "video", 0,
                                &error) < 0)
    g_error ("%s", error->message);
  for (guint i = 0; i < n_recipients; i++)
    if (!custos_writer_add_recipient (writer, bench->certs->pdata[i], FALSE, &error))
      g_error ("%s", error->message);
  return writer;
}

static void
write_units (Bench         *bench,
             CustosWriter  *writer,
             GOutputStream *out)
{
  g_autoptr (GError) error = NULL;
  guint repeats = MAX (bench->seconds / CLIP_SECONDS, 1);

  for (guint r = 0; r < repeats; r++)
    for (guint i = 0; i < bench->units->len; i++)
      {
        BenchUnit *u = bench->units->pdata[i];
        gint64 shift = START_US + (gint64) r * CLIP_SECONDS * G_USEC_PER_SEC;
        gsize len;
        const guint8 *data = g_bytes_get_data (u->data, &len);

        /* The flush is the archiver's one write(2) per packet. */
        if (!custos_writer_write_packet (writer, 0, u->pts_us + shift, u->dts_us + shift,
                                         u->keyframe, data, len, &error) ||
            !g_output_stream_flush (out, NULL, &error))
          g_error ("%s", error->message);
      }
}

/* CPU seconds to ingest one camera's file; the file is removed after,
 * outside the timing, so DIR never holds more than one. */
static double
ingest_camera (Bench *bench,
               guint  camera,
               guint  n_recipients)
{
  g_autofree char *name = g_strdup_printf ("camera-%u.fusion", camera);
  g_autofree char *path = g_build_filename (bench->dir, name, NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileOutputStream) raw = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (CustosWriter) writer = NULL;
  double start = cpu_seconds (), spent;

  raw = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  if (raw == NULL)
    g_error ("%s", error->message);
  out = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (raw), 1 << 20);
  writer = new_writer (bench, out, n_recipients);
  write_units (bench, writer, out);
  if (!custos_writer_close (writer, &error) || !g_output_stream_close (out, NULL, &error))
    g_error ("%s", error->message);
  spent = cpu_seconds () - start;
  g_unlink (path);
  return spent;
}

static void
ingest (Bench  *bench,
        guint   n_recipients,
        double *cpu_s,
        double *wall_s)
{
  gint64 start = g_get_monotonic_time ();

  *cpu_s = 0;
  for (guint c = 0; c < bench->cameras; c++)
    *cpu_s += ingest_camera (bench, c, n_recipients);
  *wall_s = (g_get_monotonic_time () - start) / 1e6;
}

/* Best of ROUNDS per configuration. Each round starts at another
 * configuration, so slow drift (clock, heat) does not favour one. */
static void
measure (Bench  *bench,
         double *best_cpu,
         double *best_wall)
{
  for (guint i = 0; i < N_CONFIGS; i++)
    best_cpu[i] = best_wall[i] = G_MAXDOUBLE;
  for (guint r = 0; r < ROUNDS; r++)
    for (guint k = 0; k < N_CONFIGS; k++)
      {
        guint i = (k + r) % N_CONFIGS;
        double cpu, wall;

        ingest (bench, recipient_counts[i], &cpu, &wall);
        best_cpu[i] = MIN (best_cpu[i], cpu);
        best_wall[i] = MIN (best_wall[i], wall);
      }
}

/* Setup */

static void
load_keys (Bench  *bench,
           char  **argv,
           int     n_certs)
{
  g_autoptr (GError) error = NULL;
  CustosCertificate *signer;

  bench->signer_key = custos_private_key_load (argv[0], NULL, &error);
  if (bench->signer_key == NULL || (signer = custos_certificate_new_from_file (argv[1],
                                                                              &error)) == NULL)
    g_error ("%s", error->message);
  bench->chain = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (bench->chain, signer);
  bench->certs = g_ptr_array_new_with_free_func (g_object_unref);
  for (int i = 0; i < n_certs; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_file (argv[2 + i], &error);

      if (cert == NULL)
        g_error ("%s", error->message);
      g_ptr_array_add (bench->certs, cert);
    }
}

static void
print_clip (Bench  *bench,
            double  encode_s)
{
  guint64 bytes = 0;

  for (guint i = 0; i < bench->units->len; i++)
    bytes += g_bytes_get_size (((BenchUnit *) bench->units->pdata[i])->data);
  g_print ("encode_s %.2f\nunits %u\nmbit_s %.3f\ncamera_s %u\n", encode_s, bench->units->len,
           bytes * 8.0 / CLIP_SECONDS / 1e6,
           bench->cameras * MAX (bench->seconds / CLIP_SECONDS, 1) * CLIP_SECONDS);
}

int
main (int    argc,
      char **argv)
{
  Bench bench = { 0 };
  double cpu[N_CONFIGS], wall[N_CONFIGS];
  gint64 t0;

  gst_init (&argc, &argv);
  if (argc < 6 + (int) recipient_counts[N_CONFIGS - 1])
    {
      g_printerr ("usage: bench-capacity DIR CAMERAS SECONDS SIGNER-KEY SIGNER-CERT "
                  "CERT... (%u certificates)\n", recipient_counts[N_CONFIGS - 1]);
      return 1;
    }
  bench.dir = argv[1];
  bench.cameras = MAX (atoi (argv[2]), 1);
  bench.seconds = MAX (atoi (argv[3]), CLIP_SECONDS);
  load_keys (&bench, argv + 4, argc - 6);
  t0 = g_get_monotonic_time ();
  bench.units = encode (&bench.caps);
  print_clip (&bench, (g_get_monotonic_time () - t0) / 1e6);
  measure (&bench, cpu, wall);
  for (guint i = 0; i < N_CONFIGS; i++)
    g_print ("config %u cpu_s %.4f wall_s %.4f\n", recipient_counts[i], cpu[i], wall[i]);
  g_ptr_array_unref (bench.units);
  g_ptr_array_unref (bench.certs);
  g_ptr_array_unref (bench.chain);
  EVP_PKEY_free (bench.signer_key);
  g_free (bench.caps);
  return 0;
}
