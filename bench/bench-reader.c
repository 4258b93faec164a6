/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reader benchmarks (not tests: they print figures, they do not judge).
 *
 *   bench-reader throughput KEY CERT     decrypt throughput of 16 KiB packets,
 *                                        reader + GCM: in memory, through a
 *                                        GInputStream, and with seals checked
 *   bench-reader make-file MIB PATH KEY CERT SIGNER-KEY SIGNER-CERT
 *                                        writes an encrypted, sealed file
 *   bench-reader decrypt-file PATH KEY CERT
 *                                        decrypts it; prints peak RSS
 *
 * bench/run drives them and computes the ratios against `openssl speed`
 * measured in the same run.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "custos.h"

#define PACKET (16 * 1024)

static CustosLocalKeyProvider *
provider_for (const char *key,
              const char *cert)
{
  CustosLocalKeyProvider *p = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  if (!custos_local_key_provider_add_key (p, key, cert, NULL, &error))
    g_error ("%s", error->message);
  return p;
}

static gboolean
write_packets (CustosWriter  *writer,
               guint64        bytes,
               GError       **error)
{
  g_autofree guint8 *payload = g_malloc (PACKET);
  gint64 t = G_GINT64_CONSTANT (1763700000000000);

  for (guint i = 0; i < PACKET; i++)
    payload[i] = (guint8) (i * 131 + 7);
  for (guint64 i = 0; i * PACKET < bytes; i++, t += 33333)
    if (!custos_writer_write_packet (writer, 0, t, CUSTOS_NO_TIMESTAMP, i % 30 == 0, payload,
                                     PACKET, error))
      return FALSE;
  return TRUE;
}

static CustosWriter *
new_writer (GOutputStream *out,
            const char    *cert_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (cert_path, &error);
  CustosWriter *writer = custos_writer_new (out, "bench");

  if (cert == NULL || !custos_writer_add_recipient (writer, cert, FALSE, &error))
    g_error ("%s", error->message);
  custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, CUSTOS_STREAM_FLAG_ENCRYPTED,
                            "video/x-h264", "video", 0, NULL);
  return writer;
}

static double
read_all (GBytes            *file,
          CustosKeyProvider *provider,
          gboolean           verify,
          gboolean           streamed,
          guint64           *payload_bytes)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (file);
  g_autoptr (CustosReader) reader = streamed ? custos_reader_new (in)
                                             : custos_reader_new_for_bytes (file);
  g_autoptr (GError) error = NULL;
  gint64 start;
  CustosPacket *p;

  *payload_bytes = 0;
  custos_reader_set_key_provider (reader, provider);
  custos_reader_set_verify (reader, verify);
  start = g_get_monotonic_time ();
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      if (p->status != CUSTOS_PACKET_OK)
        g_error ("packet not decrypted");
      *payload_bytes += g_bytes_get_size (p->payload);
      custos_packet_unref (p);
    }
  if (error != NULL)
    g_error ("%s", error->message);
  return (g_get_monotonic_time () - start) / 1e6;
}

static int
throughput (const char *key,
            const char *cert)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (CustosWriter) writer = new_writer (out, cert);
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (key, cert);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) error = NULL;
  double best = 1e9, best_verify = 1e9, best_streamed = 1e9;
  guint64 bytes = 0;

  if (!write_packets (writer, 256 * 1024 * 1024, &error) || !custos_writer_close (writer, &error))
    g_error ("%s", error->message);
  g_output_stream_close (out, NULL, NULL);
  file = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));

  /* Best of three, the way `openssl speed` reports a steady state. */
  for (guint i = 0; i < 3; i++)
    {
      best = MIN (best, read_all (file, CUSTOS_KEY_PROVIDER (keyring), FALSE, FALSE, &bytes));
      best_streamed = MIN (best_streamed,
                           read_all (file, CUSTOS_KEY_PROVIDER (keyring), FALSE, TRUE, &bytes));
      best_verify = MIN (best_verify,
                         read_all (file, CUSTOS_KEY_PROVIDER (keyring), TRUE, FALSE, &bytes));
    }
  g_print ("decrypt_bytes_per_s %.0f\n", bytes / best);
  g_print ("decrypt_streamed_bytes_per_s %.0f\n", bytes / best_streamed);
  g_print ("decrypt_verify_bytes_per_s %.0f\n", bytes / best_verify);
  g_print ("payload_bytes %" G_GUINT64_FORMAT "\n", bytes);
  return 0;
}

static int
make_file (guint64     mib,
           const char *path,
           const char *cert,
           const char *signer_key,
           const char *signer_cert)
{
  g_autoptr (GFile) gfile = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileOutputStream) fout = g_file_replace (gfile, NULL, FALSE, 0, NULL, &error);
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (CustosWriter) writer = NULL;
  g_autoptr (EVP_PKEY) skey = custos_private_key_load (signer_key, NULL, &error);
  g_autoptr (GPtrArray) chain = custos_certificate_load_chain (signer_cert, &error);

  if (fout == NULL || skey == NULL || chain == NULL)
    g_error ("%s", error->message);
  out = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (fout), 1024 * 1024);
  writer = new_writer (out, cert);
  if (!custos_writer_set_signer (writer, skey, chain, &error) ||
      !write_packets (writer, mib * 1024 * 1024, &error) || !custos_writer_close (writer, &error) ||
      !g_output_stream_close (out, NULL, &error))
    g_error ("%s", error->message);
  return 0;
}

static int
decrypt_file (const char *path,
              const char *key,
              const char *cert)
{
  g_autoptr (GFile) gfile = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInputStream) in = g_file_read (gfile, NULL, &error);
  g_autoptr (CustosLocalKeyProvider) provider = provider_for (key, cert);
  g_autoptr (CustosReader) reader = NULL;
  struct rusage ru;
  guint64 packets = 0;
  CustosPacket *p;

  if (in == NULL)
    g_error ("%s", error->message);
  reader = custos_reader_new (G_INPUT_STREAM (in));
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      if (p->status != CUSTOS_PACKET_OK)
        g_error ("packet not decrypted");
      packets++;
      custos_packet_unref (p);
    }
  if (error != NULL)
    g_error ("%s", error->message);
  getrusage (RUSAGE_SELF, &ru);
  g_print ("packets %" G_GUINT64_FORMAT "\n", packets);
  g_print ("verified %" G_GUINT64_FORMAT "\n", custos_reader_get_report (reader)->verified);
  g_print ("peak_rss_kib %ld\n", ru.ru_maxrss);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && g_str_equal (argv[1], "throughput"))
    return throughput (argv[2], argv[3]);
  if (argc == 8 && g_str_equal (argv[1], "make-file"))
    return make_file (g_ascii_strtoull (argv[2], NULL, 10), argv[3], argv[5], argv[6], argv[7]);
  if (argc == 5 && g_str_equal (argv[1], "decrypt-file"))
    return decrypt_file (argv[2], argv[3], argv[4]);
  g_printerr ("usage: see the comment at the top of bench/bench-reader.c\n");
  return 1;
}
