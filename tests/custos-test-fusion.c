/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "custos-test-fusion.h"

#define VIDEO_US 33333
#define AUDIO_US 20000

void
custos_test_spec_init (CustosTestSpec *spec)
{
  memset (spec, 0, sizeof *spec);
  spec->seconds = 10;
  spec->encrypted = TRUE;
  spec->period_ms = 2000;
  spec->epoch_ms = 6000;
  spec->seal_ms = 1000;
  spec->start_us = G_GINT64_CONSTANT (1763700000000000); /* 2025-11-21 UTC */
  spec->max_payload = 1500;
  spec->indexed = TRUE;
}

guint
custos_test_packet_count (const CustosTestSpec *spec,
                          guint                 stream)
{
  return spec->seconds * (stream == 0 ? 30 : 50);
}

GBytes *
custos_test_payload (guint stream,
                     guint index,
                     guint max_payload)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (stream * 1000003u + index);
  gsize len = 16 + g_rand_int_range (rand, 0, MAX (max_payload, 17) - 16);
  guint8 *p = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    p[i] = g_rand_int (rand) & 0xff;
  return g_bytes_new_take (p, len);
}

static gint64
packet_time (const CustosTestSpec *spec,
             guint                 stream,
             guint                 index)
{
  return spec->start_us + (gint64) index * (stream == 0 ? VIDEO_US : AUDIO_US);
}

static void
add_streams (CustosWriter         *writer,
             const CustosTestSpec *spec)
{
  CustosStreamFlags flags = spec->encrypted ? CUSTOS_STREAM_FLAG_ENCRYPTED : 0;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, flags,
                                             "video/x-h264, stream-format=(string)byte-stream",
                                             "video", 0, &error), ==, 0);
  g_assert_no_error (error);
  if (spec->audio)
    {
      g_assert_cmpint (custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_AUDIO, flags,
                                                 "audio/x-opus", "audio", 0, &error), ==, 1);
      g_assert_no_error (error);
    }
}

static void
write_packet (CustosWriter         *writer,
              const CustosTestSpec *spec,
              guint                 stream,
              guint                 index)
{
  g_autoptr (GBytes) payload = custos_test_payload (stream, index, spec->max_payload);
  g_autoptr (GError) error = NULL;
  gboolean keyframe = stream != 0 || index % 30 == 0;

  custos_writer_write_packet (writer, stream, packet_time (spec, stream, index),
                              CUSTOS_NO_TIMESTAMP, keyframe, g_bytes_get_data (payload, NULL),
                              g_bytes_get_size (payload), &error);
  g_assert_no_error (error);
}

GBytes *
custos_test_fusion_make (const CustosTestSpec *spec,
                         GPtrArray            *recipients,
                         GPtrArray            *late_recipients,
                         EVP_PKEY             *signer_key,
                         CustosCertificate    *signer_cert)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (CustosWriter) writer = custos_writer_new (out, "Test camera");
  g_autoptr (GError) error = NULL;
  guint nv = custos_test_packet_count (spec, 0);
  guint na = spec->audio ? custos_test_packet_count (spec, 1) : 0;
  guint iv = 0, ia = 0;

  custos_writer_set_intervals (writer, spec->period_ms, spec->epoch_ms, spec->seal_ms);
  custos_writer_set_indexed (writer, spec->indexed);
  if (signer_key != NULL)
    {
      g_autoptr (GPtrArray) chain = g_ptr_array_new ();

      g_ptr_array_add (chain, signer_cert);
      custos_writer_set_signer (writer, signer_key, chain, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; recipients != NULL && i < recipients->len; i++)
    {
      custos_writer_add_recipient (writer, recipients->pdata[i], spec->legacy, &error);
      g_assert_no_error (error);
    }
  add_streams (writer, spec);

  /* Interleave by time, as a recorder would. */
  while (iv < nv || ia < na)
    {
      if (late_recipients != NULL && iv == nv / 3 && ia == 0 + ia)
        {
          for (guint i = 0; i < late_recipients->len; i++)
            {
              custos_writer_add_recipient (writer, late_recipients->pdata[i], spec->legacy, &error);
              g_assert_no_error (error);
            }
          late_recipients = NULL;
        }
      if (ia >= na || (iv < nv && packet_time (spec, 0, iv) <= packet_time (spec, 1, ia)))
        write_packet (writer, spec, 0, iv++);
      else
        write_packet (writer, spec, 1, ia++);
    }
  custos_writer_close (writer, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

GPtrArray *
custos_test_fusion_read (GBytes            *file,
                         CustosKeyProvider *provider,
                         const char        *ca_file,
                         CustosReport     **report)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (file);
  g_autoptr (CustosReader) reader = custos_reader_new (in);
  GPtrArray *packets = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_packet_unref);
  g_autoptr (GError) error = NULL;
  CustosPacket *p;

  custos_reader_set_key_provider (reader, provider);
  custos_reader_set_ca_file (reader, ca_file);
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    g_ptr_array_add (packets, p);
  g_assert_no_error (error);
  if (report != NULL)
    {
      CustosReport *r = custos_reader_get_report (reader);
      /* Hand the report over: the reader keeps a fresh one. */
      *report = custos_report_new ();
      CustosReport tmp = **report;
      **report = *r;
      *r = tmp;
    }
  return packets;
}

CustosLocalKeyProvider *
custos_test_provider (const char *cert_path,
                      const char *key_path)
{
  CustosLocalKeyProvider *provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  custos_local_key_provider_add_key (provider, key_path, cert_path, NULL, &error);
  g_assert_no_error (error);
  return provider;
}

void
custos_test_assert_payload (const CustosTestSpec *spec,
                            CustosPacket         *packet)
{
  gint64 step = packet->stream == 0 ? VIDEO_US : AUDIO_US;
  guint index = (packet->pts_us - spec->start_us) / step;
  g_autoptr (GBytes) expected = custos_test_payload (packet->stream, index, spec->max_payload);

  g_assert_cmpint (packet->pts_us, ==, packet_time (spec, packet->stream, index));
  g_assert_cmpint (packet->status, ==, CUSTOS_PACKET_OK);
  g_assert_nonnull (packet->payload);
  g_assert_true (g_bytes_equal (expected, packet->payload));
}

GArray *
custos_test_records (GBytes *file)
{
  GArray *recs = g_array_new (FALSE, FALSE, sizeof (CustosTestRecord));
  gsize len;
  const guint8 *p = g_bytes_get_data (file, &len);
  gsize off = 0;

  while (off + CUSTOS_RECORD_HEADER_LEN <= len)
    {
      CustosRecordHeader h;
      CustosTestRecord r;

      g_assert_true (custos_record_header_parse (p + off, len - off, &h, NULL));
      r.offset = off;
      r.type = h.type;
      r.flags = h.flags;
      r.length = CUSTOS_RECORD_HEADER_LEN + h.length;
      g_array_append_val (recs, r);
      off += r.length;
    }
  g_assert_cmpuint (off, ==, len);
  return recs;
}
