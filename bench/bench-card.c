/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Smart card benchmark (prints figures, judges nothing).
 *
 *   bench-card [--module PATH] PIN CERT...
 *
 * For each certificate (its key on a PKCS#11 token that p11-kit's
 * registry finds, e.g. SoftHSM with SOFTHSM2_CONF set, or on a token of
 * the one module --module loads, e.g. OpenSC with a card; bench/bench-vcard):
 *
 *   1. private-key operations per hour of footage: a 3-hour file with the
 *      default 60 s key period and 1 h wrap epoch, one small packet per
 *      second, decrypted whole through CustosKeyring + CustosPkcs11Provider;
 *      the count of C_Decrypt/C_DeriveKey calls on the token.
 *   2. time to the first decrypted packet with a fresh provider (not logged
 *      in), the PIN answered at once: from reader start to the first OK
 *      packet, so login + one card operation + the software rest; and the
 *      provider's start (module load and C_Initialize, token scan), which
 *      for OpenSC is where it reads the card.
 *
 * bench/run makes the token and prints these.
 */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "custos.h"

#define HOURS          3
#define PAYLOAD        200
#define FIRST_RUNS     5
/* An hour boundary (UTC), so three hours are three wrap epochs. */
#define START_US       G_GINT64_CONSTANT (1763701200000000)

/* --module: one PKCS#11 module instead of p11-kit's registry. */
static const char *module_path;

/* Answers every PIN request at once, as if typed instantly. */

#define BENCH_TYPE_INTERACTION (bench_interaction_get_type ())
G_DECLARE_FINAL_TYPE (BenchInteraction, bench_interaction, BENCH, INTERACTION, GTlsInteraction)

struct _BenchInteraction
{
  GTlsInteraction  parent_instance;
  char            *pin;
  guint            n_asks;
};

G_DEFINE_FINAL_TYPE (BenchInteraction, bench_interaction, G_TYPE_TLS_INTERACTION)

static GTlsInteractionResult
bench_interaction_ask_password (GTlsInteraction  *interaction,
                                GTlsPassword     *password,
                                GCancellable     *cancellable,
                                GError          **error)
{
  BenchInteraction *self = BENCH_INTERACTION (interaction);

  self->n_asks++;
  g_tls_password_set_value (password, (const guchar *) self->pin, -1);
  return G_TLS_INTERACTION_HANDLED;
}

static void
bench_interaction_finalize (GObject *object)
{
  g_free (BENCH_INTERACTION (object)->pin);
  G_OBJECT_CLASS (bench_interaction_parent_class)->finalize (object);
}

static void
bench_interaction_class_init (BenchInteractionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bench_interaction_finalize;
  G_TLS_INTERACTION_CLASS (klass)->ask_password = bench_interaction_ask_password;
}

static void
bench_interaction_init (BenchInteraction *self)
{
}

static BenchInteraction *
bench_interaction_new (const char *pin)
{
  BenchInteraction *self = g_object_new (BENCH_TYPE_INTERACTION, NULL);

  self->pin = g_strdup (pin);
  return self;
}

static GBytes *
make_file (CustosCertificate *cert)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (CustosWriter) writer = custos_writer_new (out, "bench-card");
  g_autoptr (GError) error = NULL;
  guint8 payload[PAYLOAD];

  for (guint i = 0; i < sizeof payload; i++)
    payload[i] = (guint8) (i * 37 + 1);

  /* The defaults: 60 s key period, 1 h wrap epoch. */
  if (!custos_writer_add_recipient (writer, cert, FALSE, &error) ||
      custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, CUSTOS_STREAM_FLAG_ENCRYPTED,
                                "video/x-h264", "video", 0, &error) < 0)
    g_error ("%s", error->message);
  for (guint s = 0; s < HOURS * 3600; s++)
    if (!custos_writer_write_packet (writer, 0, START_US + (gint64) s * G_USEC_PER_SEC,
                                     CUSTOS_NO_TIMESTAMP, TRUE, payload, sizeof payload, &error))
      g_error ("%s", error->message);
  if (!custos_writer_close (writer, &error))
    g_error ("%s", error->message);
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static CustosPkcs11Provider *
new_provider (void)
{
  g_autoptr (GError) error = NULL;
  CustosPkcs11Provider *provider = custos_pkcs11_provider_new_for_module (module_path, NULL, NULL,
                                                                          &error);

  if (provider == NULL)
    g_error ("%s", error->message);
  /* No card comes or goes here; the poll would only add noise. */
  custos_pkcs11_provider_set_poll_interval (provider, 0);
  return provider;
}

static CustosReader *
new_reader (GBytes          *file,
            CustosKeyring   *keyring,
            GTlsInteraction *interaction)
{
  CustosReader *reader = custos_reader_new_for_bytes (file);

  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (keyring));
  custos_reader_set_interaction (reader, interaction);
  return reader;
}

static void
ops_per_hour (GBytes     *file,
              const char *pin)
{
  g_autoptr (CustosPkcs11Provider) provider = new_provider ();
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (BenchInteraction) interaction = bench_interaction_new (pin);
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  guint packets = 0;
  gint64 start;
  CustosPacket *p;

  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  reader = new_reader (file, keyring, G_TLS_INTERACTION (interaction));
  start = g_get_monotonic_time ();
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      if (p->status != CUSTOS_PACKET_OK)
        g_error ("packet at %" G_GINT64_FORMAT " not decrypted", p->pts_us);
      packets++;
      custos_packet_unref (p);
    }
  if (error != NULL)
    g_error ("%s", error->message);

  g_print ("hours %d\n", HOURS);
  g_print ("packets %u\n", packets);
  g_print ("decrypt_all_s %.3f\n", (g_get_monotonic_time () - start) / 1e6);
  g_print ("pin_prompts %u\n", interaction->n_asks);
  g_print ("private_key_ops %u\n", custos_pkcs11_provider_get_private_key_ops (provider));
  g_print ("private_key_ops_per_hour %.2f\n",
           custos_pkcs11_provider_get_private_key_ops (provider) / (double) HOURS);
  g_print ("mechanism 0x%lx\n", custos_pkcs11_provider_get_last_mechanism (provider));
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* One fresh provider per run: when the last one goes, the module closes
 * its sessions and the token logs out, so every run logs in again. */
static double
first_packet_ms (GBytes     *file,
                 const char *pin,
                 double     *provider_ms)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (BenchInteraction) interaction = bench_interaction_new (pin);
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (CustosPacket) p = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start;
  double ms;

  start = g_get_monotonic_time ();
  provider = new_provider ();
  *provider_ms = (g_get_monotonic_time () - start) / 1e3;
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));

  start = g_get_monotonic_time ();
  reader = new_reader (file, keyring, G_TLS_INTERACTION (interaction));
  p = custos_reader_next_packet (reader, NULL, &error);
  ms = (g_get_monotonic_time () - start) / 1e3;
  if (p == NULL || p->status != CUSTOS_PACKET_OK || interaction->n_asks != 1)
    g_error ("the first packet was not decrypted after one PIN prompt%s%s",
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  return ms;
}

static void
time_to_first_packet (GBytes     *file,
                      const char *pin)
{
  double runs[FIRST_RUNS];
  double provider_runs[FIRST_RUNS];

  for (guint i = 0; i < FIRST_RUNS; i++)
    runs[i] = first_packet_ms (file, pin, &provider_runs[i]);
  qsort (runs, FIRST_RUNS, sizeof runs[0], compare_doubles);
  qsort (provider_runs, FIRST_RUNS, sizeof provider_runs[0], compare_doubles);

  g_print ("first_packet_ms_median %.2f\n", runs[FIRST_RUNS / 2]);
  g_print ("first_packet_ms_min %.2f\n", runs[0]);
  g_print ("first_packet_ms_max %.2f\n", runs[FIRST_RUNS - 1]);
  g_print ("provider_start_ms_median %.2f\n", provider_runs[FIRST_RUNS / 2]);
  g_print ("provider_start_ms_min %.2f\n", provider_runs[0]);
  g_print ("provider_start_ms_max %.2f\n", provider_runs[FIRST_RUNS - 1]);
}

int
main (int   argc,
      char *argv[])
{
  if (argc > 2 && g_str_equal (argv[1], "--module"))
    {
      module_path = argv[2];
      argv[2] = argv[0];
      argv += 2;
      argc -= 2;
    }
  if (argc < 3)
    {
      g_printerr ("usage: %s [--module PATH] PIN CERT...\n", argv[0]);
      return 2;
    }

  for (int i = 2; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (argv[i], &error);
      g_autoptr (GBytes) file = NULL;
      CustosWrapAlg alg;

      if (cert == NULL || !custos_certificate_get_wrap_alg (cert, FALSE, &alg, &error))
        g_error ("%s", error->message);
      file = make_file (cert);

      g_print ("== %s\n", custos_wrap_alg_to_string (alg));
      g_print ("file_bytes %" G_GSIZE_FORMAT "\n", g_bytes_get_size (file));
      ops_per_hour (file, argv[1]);
      time_to_first_packet (file, argv[1]);
    }
  return 0;
}
