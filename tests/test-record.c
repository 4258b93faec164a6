/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The record codec on its own: header validation, every body's encoding
 * round trip, limits, and the seal alignment that names missing and
 * altered records.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include <openssl/ec.h>

#include "custos.h"

static void
test_header (void)
{
  guint8 h[6];
  CustosRecordHeader hdr;
  g_autoptr (GError) error = NULL;

  custos_record_header_write (h, CUSTOS_RECORD_DATA, CUSTOS_DATA_FLAG_KEYFRAME, 1234);
  g_assert_cmpmem (h, 6, "\xCF\x10\x02\x00\x04\xD2", 6);
  g_assert_true (custos_record_header_parse (h, 6, &hdr, &error));
  g_assert_cmpuint (hdr.length, ==, 1234);

  h[0] = 0xCE;
  g_assert_false (custos_record_header_parse (h, 6, &hdr, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_HEADER);
  g_clear_error (&error);

  /* flags on a non-DATA record, unknown DATA flags, too short a body */
  custos_record_header_write (h, CUSTOS_RECORD_KEY, 1, 66);
  g_assert_false (custos_record_header_parse (h, 6, &hdr, NULL));
  custos_record_header_write (h, CUSTOS_RECORD_DATA, 0x10, 100);
  g_assert_false (custos_record_header_parse (h, 6, &hdr, NULL));
  custos_record_header_write (h, CUSTOS_RECORD_DATA, 0, 11);
  g_assert_false (custos_record_header_parse (h, 6, &hdr, NULL));
  /* a key record cannot be megabytes long */
  custos_record_header_write (h, CUSTOS_RECORD_KEY, 0, 100000);
  g_assert_false (custos_record_header_parse (h, 6, &hdr, NULL));
  /* unknown types are framed (and skipped by readers) */
  custos_record_header_write (h, 0x42, 0, 100000);
  g_assert_true (custos_record_header_parse (h, 6, &hdr, NULL));
  g_assert_false (custos_record_header_parse (h, 5, &hdr, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED);
}

static void
test_sealed_types (void)
{
  g_assert_true (custos_record_type_is_sealed (CUSTOS_RECORD_FILE_HEADER));
  g_assert_true (custos_record_type_is_sealed (CUSTOS_RECORD_STREAM));
  g_assert_true (custos_record_type_is_sealed (CUSTOS_RECORD_DATA));
  g_assert_true (custos_record_type_is_sealed (0x1F));
  g_assert_false (custos_record_type_is_sealed (CUSTOS_RECORD_KEY));
  g_assert_false (custos_record_type_is_sealed (CUSTOS_RECORD_RECIPIENT));
  g_assert_false (custos_record_type_is_sealed (CUSTOS_RECORD_SEAL));
  g_assert_false (custos_record_type_is_sealed (CUSTOS_RECORD_TOC));
}

static void
test_file_header (void)
{
  CustosFileHeader in = { 0 }, out;
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  memset (in.source_id, 7, 16);
  in.created_us = G_GINT64_CONSTANT (1763700000123456);
  in.period_ms = 60000;
  in.epoch_ms = 3600000;
  in.name = (char *) "Gate 3 — north";
  custos_file_header_append (rec, &in);
  g_assert_cmpuint (rec->len, ==, 46 + strlen (in.name));
  g_assert_true (custos_file_header_parse (rec->data, rec->len, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out.name, ==, in.name);
  g_assert_cmpint (out.created_us, ==, in.created_us);
  g_assert_cmpmem (out.source_id, 16, in.source_id, 16);
  custos_file_header_clear (&out);

  /* epoch not a multiple of the period */
  rec->data[36 + 4 + 3] ^= 1;
  g_assert_false (custos_file_header_parse (rec->data, rec->len, &out, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_LIMIT);
  g_clear_error (&error);

  /* invalid UTF-8 in the name */
  rec->data[36 + 4 + 3] ^= 1;
  rec->data[rec->len - 1] = 0xff;
  g_assert_false (custos_file_header_parse (rec->data, rec->len, &out, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD);
}

static void
test_stream_and_key (void)
{
  CustosStreamInfo si = { 3, CUSTOS_STREAM_KIND_AUDIO, CUSTOS_STREAM_FLAG_ENCRYPTED, -5,
                          (char *) "audio/x-opus", (char *) "mic" }, so;
  CustosKeyRecord kin = { 0 }, kout;
  g_autoptr (GByteArray) rec = g_byte_array_new ();

  custos_stream_info_append (rec, &si);
  g_assert_true (custos_stream_info_parse (rec->data, rec->len, &so, NULL));
  g_assert_true (custos_stream_info_equal (&si, &so));
  custos_stream_info_clear (&so);

  g_byte_array_set_size (rec, 0);
  kin.stream = 3;
  kin.period = 29395000;
  memset (kin.recipient_id, 0xAB, 32);
  kin.epoch = 489916;
  kin.wrapped_len = 24;
  memset (kin.wrapped, 0x5A, 24);
  custos_key_record_append (rec, &kin);
  g_assert_cmpuint (rec->len, ==, 66);
  g_assert_true (custos_key_record_parse (rec->data, rec->len, &kout, NULL));
  g_assert_cmpmem (&kout, sizeof kout, &kin, sizeof kin);
  /* a trailing byte is an error, not ignored */
  g_byte_array_append (rec, (guint8 *) "", 1);
  g_assert_false (custos_key_record_parse (rec->data, rec->len, &kout, NULL));
}

static void
test_data_prefix_and_nonce (void)
{
  CustosDataRecord d = { CUSTOS_DATA_FLAG_ENCRYPTED | CUSTOS_DATA_FLAG_HAS_DTS, 2, 0x010203,
                         0x0A0B0C0D, -40000, -80000 }, out;
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  guint8 nonce[12];
  guint8 tag[16] = { 0 };

  custos_data_record_append_prefix (rec, &d);
  g_assert_cmpuint (rec->len, ==, 16);
  g_byte_array_append (rec, (guint8 *) "payload", 7);
  g_byte_array_append (rec, tag, 16);
  g_assert_true (custos_data_record_parse (d.flags, rec->data, rec->len, &out, NULL));
  g_assert_cmpuint (out.counter, ==, 0x010203);
  g_assert_cmpuint (out.period, ==, 0x0A0B0C0D);
  g_assert_cmpint (out.pts_offset, ==, -40000);
  g_assert_cmpint (out.dts_offset, ==, -80000);
  g_assert_cmpuint (out.payload_len, ==, 7);
  g_assert_true (out.tag == rec->data + rec->len - 16);
  custos_data_record_nonce (&out, nonce);
  g_assert_cmpmem (nonce, 12, "\x02\x01\x02\x03\x0A\x0B\x0C\x0D\0\0\0\0", 12);
  /* body too short for prefix and tag */
  g_assert_false (custos_data_record_parse (d.flags, rec->data, 20, &out, NULL));
}

static void
test_toc (void)
{
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));
  g_autoptr (GArray) parsed = NULL;
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  CustosTocEntry e = { 1000, 5, 9 };

  g_array_append_val (entries, e);
  custos_toc_record_append (rec, entries, 777);
  /* the last 16 bytes locate the TOC */
  g_assert_cmpuint (custos_read_u64 (rec->data + rec->len - 16), ==, 777);
  g_assert_cmpmem (rec->data + rec->len - 8, 8, CUSTOS_TOC_MAGIC, 8);
  parsed = custos_toc_record_parse (rec->data, rec->len, 777, NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (g_array_index (parsed, CustosTocEntry, 0).index_offset, ==, 1000);
  /* a TOC found at another offset than it names is refused */
  g_assert_null (custos_toc_record_parse (rec->data, rec->len, 778, NULL));
}

/* A seal lists, per stream and key period, the counters it covers; a
 * segment crossing a period boundary gets two ranges for that stream. */
static void
test_seal_ranges (void)
{
  g_autoptr (CustosSealChain) chain = custos_seal_chain_new ();
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  g_autoptr (EVP_PKEY) key = EVP_EC_gen ("P-256");
  g_autoptr (GError) error = NULL;
  guint8 signer[32] = { 1 }, prev[32] = { 0 }, digest[32];
  CustosRecordHeader h;
  CustosSealRecord seal;
  CustosSealRange r;

  custos_seal_chain_add (chain, (const guint8 *) "descriptor", 10);
  for (guint c = 1790; c < 1800; c++)
    custos_seal_chain_add_packet (chain, (const guint8 *) "v", 1, 0, 7, c);
  for (guint c = 0; c < 50; c++)
    custos_seal_chain_add_packet (chain, (const guint8 *) "v", 1, 0, 8, c);
  for (guint c = 100; c < 120; c++)
    custos_seal_chain_add_packet (chain, (const guint8 *) "a", 1, 1, 8, c);
  g_assert_cmpuint (custos_seal_chain_get_length (chain), ==, 81);
  g_assert_cmpuint (custos_seal_chain_get_n_ranges (chain), ==, 3);

  custos_seal_chain_write (chain, rec, 42, prev, signer, key, 10, 20, &error);
  g_assert_no_error (error);
  g_assert_true (custos_record_header_parse (rec->data, rec->len, &h, NULL));
  g_assert_true (custos_seal_record_parse (rec->data + 6, h.length, &seal, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seal.segment, ==, 42);
  g_assert_cmpuint (seal.n, ==, 81);
  g_assert_cmpuint (seal.n_ranges, ==, 3);
  custos_seal_record_get_range (&seal, 0, &r);
  g_assert_cmpuint (r.stream, ==, 0);
  g_assert_cmpuint (r.period, ==, 7);
  g_assert_cmpuint (r.first, ==, 1790);
  g_assert_cmpuint (r.last, ==, 1799);
  custos_seal_record_get_range (&seal, 2, &r);
  g_assert_cmpuint (r.stream, ==, 1);
  g_assert_cmpuint (r.first, ==, 100);
  g_assert_cmpuint (r.last, ==, 119);

  /* The digest in the seal is the chain's, and the signature covers it. */
  custos_seal_chain_get_digest (chain, 42, prev, digest);
  g_assert_cmpmem (seal.digest, 32, digest, 32);
  g_assert_true (custos_verify_signature (key, seal.sig_alg, rec->data + 6, seal.signed_len,
                                          seal.sig, seal.sig_len, &error));
  rec->data[6 + 4 + 32 + 2 + 16 + 32 + 4 + 1 + 7] ^= 1; /* a range's counter */
  g_assert_false (custos_verify_signature (key, seal.sig_alg, rec->data + 6, seal.signed_len,
                                           seal.sig, seal.sig_len, NULL));
}

/* The times of reports and of the archiver's API, against date(1)'s idea
 * of the same instants. */
static void
test_utc_format (void)
{
  static const gint64 times[] = { 0, 1795293242080000, 1795293242000001, -1, -1500000 };

  for (guint i = 0; i < G_N_ELEMENTS (times); i++)
    {
      g_autofree char *ours = custos_utc_format (times[i], 6);
      g_autofree char *secs = g_strdup_printf ("@%" G_GINT64_FORMAT,
                                               times[i] >= 0 ? times[i] / G_USEC_PER_SEC
                                                             : (times[i] - 999999) / G_USEC_PER_SEC);
      g_autofree char *out = NULL;
      g_autofree char *expected = NULL;
      g_autoptr (GError) error = NULL;
      const char *argv[] = { "date", "-u", "-d", secs, "+%Y-%m-%dT%H:%M:%S", NULL };
      gint64 frac = ((times[i] % G_USEC_PER_SEC) + G_USEC_PER_SEC) % G_USEC_PER_SEC;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   &out, NULL, NULL, &error));
      g_assert_no_error (error);
      g_strchomp (out);
      expected = g_strdup_printf ("%s.%06dZ", out, (int) frac);
      g_assert_cmpstr (ours, ==, expected);
    }
  {
    g_autofree char *ms = custos_utc_format (1795293242080999, 3);
    g_autofree char *s = custos_utc_format (1795293242080999, 0);

    g_assert_true (g_str_has_suffix (ms, ":02.080Z"));
    g_assert_true (g_str_has_suffix (s, ":02Z"));
  }
  g_assert_null (custos_utc_format (G_MININT64, 3));
  g_assert_null (custos_utc_format (G_MAXINT64, 3));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/record/header", test_header);
  g_test_add_func ("/record/sealed-types", test_sealed_types);
  g_test_add_func ("/record/file-header", test_file_header);
  g_test_add_func ("/record/stream-and-key", test_stream_and_key);
  g_test_add_func ("/record/data-prefix-and-nonce", test_data_prefix_and_nonce);
  g_test_add_func ("/record/toc", test_toc);
  g_test_add_func ("/record/seal-ranges", test_seal_ranges);
  g_test_add_func ("/record/utc-format", test_utc_format);

  return g_test_run ();
}
