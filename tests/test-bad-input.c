/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Damaged and hostile fusion files: truncated, bit-flipped, reordered,
 * duplicated, oversized lengths, downgraded, wrong key, wrong recipient.
 * Each gives a precise report naming what was lost, and loses only the
 * damaged packets.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "custos-test-fusion.h"
#include "custos-test-util.h"

typedef struct
{
  CustosTestSpec          spec;
  char                   *cert;
  char                   *key;
  char                   *signer_cert;
  GBytes                 *file;
  GArray                 *records;
  /* Longer than the reader's window: it slides while records are hashed. */
  CustosTestSpec          long_spec;
  GBytes                 *long_file;
  CustosLocalKeyProvider *provider;
} Fixture;

static Fixture fx;

static void
fixture_init (void)
{
  g_autofree char *signer_key_path = NULL;
  g_autoptr (GPtrArray) recipients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (CustosCertificate) signer = NULL;
  g_autoptr (EVP_PKEY) signer_key = NULL;

  custos_test_spec_init (&fx.spec);
  fx.spec.seconds = 6;
  custos_test_make_cert ("rsa:2048", "owner", &fx.cert, &fx.key);
  custos_test_make_cert ("ec:P-256", "signer", &fx.signer_cert, &signer_key_path);
  g_ptr_array_add (recipients, custos_certificate_new_from_file (fx.cert, NULL));
  signer = custos_certificate_new_from_file (fx.signer_cert, NULL);
  signer_key = custos_private_key_load (signer_key_path, NULL, NULL);
  fx.file = custos_test_fusion_make (&fx.spec, recipients, NULL, signer_key, signer);
  custos_test_spec_init (&fx.long_spec);
  fx.long_spec.seconds = 20;
  fx.long_spec.max_payload = 40000;
  fx.long_file = custos_test_fusion_make (&fx.long_spec, recipients, NULL, signer_key, signer);
  fx.records = custos_test_records (fx.file);
  fx.provider = custos_test_provider (fx.cert, fx.key);
}

static guint
total_packets (void)
{
  return custos_test_packet_count (&fx.spec, 0);
}

/* The n-th DATA record of the file. */
static CustosTestRecord *
data_record (guint n)
{
  for (guint i = 0; i < fx.records->len; i++)
    {
      CustosTestRecord *r = &g_array_index (fx.records, CustosTestRecord, i);

      if (r->type == CUSTOS_RECORD_DATA && n-- == 0)
        return r;
    }
  g_assert_not_reached ();
}

static GByteArray *
copy_file (void)
{
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, g_bytes_get_data (fx.file, NULL), g_bytes_get_size (fx.file));
  return a;
}

static GPtrArray *
read_damaged (GByteArray    *data,
              CustosReport **report)
{
  g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (data);

  return custos_test_fusion_read (bytes, CUSTOS_KEY_PROVIDER (fx.provider), fx.signer_cert, report);
}

/* Packets that read back as written (each one checked). */
static guint
count_ok_of (const CustosTestSpec *spec,
             GPtrArray            *packets)
{
  guint n = 0;

  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];

      if (p->status == CUSTOS_PACKET_OK)
        {
          custos_test_assert_payload (spec, p);
          n++;
        }
    }
  return n;
}

static guint
count_ok (GPtrArray *packets)
{
  return count_ok_of (&fx.spec, packets);
}

static CustosIssue *
find_issue (CustosReport   *report,
            CustosIssueKind kind)
{
  for (guint i = 0; i < report->issues->len; i++)
    if (((CustosIssue *) report->issues->pdata[i])->kind == kind)
      return report->issues->pdata[i];
  return NULL;
}

static void
test_intact (void)
{
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = read_damaged (copy_file (), &report);

  g_assert_cmpuint (count_ok (packets), ==, total_packets ());
  g_assert_cmpuint (report->issues->len, ==, 0);
}

static void
test_truncated (void)
{
  CustosTestRecord *r = data_record (100);
  GByteArray *data = copy_file ();
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  CustosIssue *issue;

  /* Cut in the middle of the 101st packet. */
  g_byte_array_set_size (data, r->offset + r->length / 2);
  packets = read_damaged (data, &report);
  g_assert_cmpuint (count_ok (packets), ==, 100);
  g_assert_true (report->truncated);
  issue = find_issue (report, CUSTOS_ISSUE_TRUNCATED);
  g_assert_nonnull (issue);
  g_assert_cmpuint (issue->offset, ==, r->offset);
  /* The last segment lost its seal with the cut: its packets are said to be unsigned. */
  g_assert_cmpuint (report->unsigned_packets, >, 0);
  g_assert_cmpuint (report->altered, ==, 0);
}

static void
test_bit_flip_payload (void)
{
  CustosTestRecord *r = data_record (57);
  GByteArray *data = copy_file ();
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  CustosIssue *issue;

  data->data[r->offset + r->length - 30] ^= 0x04;
  packets = read_damaged (data, &report);
  g_assert_cmpuint (packets->len, ==, total_packets ());
  g_assert_cmpuint (count_ok (packets), ==, total_packets () - 1);
  g_assert_cmpint (((CustosPacket *) packets->pdata[57])->status, ==, CUSTOS_PACKET_ALTERED);
  g_assert_null (((CustosPacket *) packets->pdata[57])->payload);
  g_assert_cmpuint (report->altered, ==, 1);
  issue = find_issue (report, CUSTOS_ISSUE_ALTERED);
  g_assert_nonnull (issue);
  g_assert_cmpuint (issue->offset, ==, r->offset);
  g_assert_cmpint (issue->stream, ==, 0);
  g_assert_cmpuint (issue->counter, ==, ((CustosPacket *) packets->pdata[57])->counter);
}

/* A flipped length makes the record unframeable: it is skipped as damage,
 * the reader finds the next record, and the seal names the missing one. */
static void
test_bit_flip_length (void)
{
  CustosTestRecord *r = data_record (80);
  GByteArray *data = copy_file ();
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  CustosIssue *issue;

  data->data[r->offset + 4] ^= 0x10;
  packets = read_damaged (data, &report);
  g_assert_cmpuint (count_ok (packets), ==, total_packets () - 1);
  g_assert_cmpuint (report->damaged_regions, ==, 1);
  g_assert_cmpuint (report->damaged_bytes, ==, r->length);
  g_assert_cmpuint (report->missing, ==, 1);
  g_assert_nonnull (find_issue (report, CUSTOS_ISSUE_DAMAGED));
  /* The seal names the lost packet: the one after packet 79. */
  issue = find_issue (report, CUSTOS_ISSUE_MISSING);
  g_assert_nonnull (issue);
  g_assert_cmpint (issue->stream, ==, 0);
  g_assert_cmpuint (issue->period, ==, ((CustosPacket *) packets->pdata[79])->period);
  g_assert_cmpuint (issue->counter, ==, ((CustosPacket *) packets->pdata[79])->counter + 1);
}

static void
test_oversized_length (void)
{
  CustosTestRecord *r = data_record (10);
  GByteArray *data = copy_file ();
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  data->data[r->offset + 3] = 0xff;
  data->data[r->offset + 4] = 0xff;
  data->data[r->offset + 5] = 0xff;
  packets = read_damaged (data, &report);
  g_assert_cmpuint (count_ok (packets), ==, total_packets () - 1);
  g_assert_cmpuint (report->damaged_regions, ==, 1);
}

static void
test_reordered (void)
{
  CustosTestRecord *a = data_record (40), *b = data_record (41);
  GByteArray *data = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (fx.file, NULL);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  g_assert_cmpuint (a->offset + a->length, ==, b->offset);
  g_byte_array_append (data, p, a->offset);
  g_byte_array_append (data, p + b->offset, b->length);
  g_byte_array_append (data, p + a->offset, a->length);
  g_byte_array_append (data, p + b->offset + b->length,
                       g_bytes_get_size (fx.file) - b->offset - b->length);
  packets = read_damaged (data, &report);
  /* Both still decrypt (GCM binds each packet, not the order)... */
  g_assert_cmpuint (count_ok (packets), ==, total_packets ());
  /* ...but the order is named and the seal does not hold for them. */
  g_assert_cmpuint (report->reordered, ==, 1);
  g_assert_cmpuint (report->segments_failed, ==, 1);
  g_assert_cmpuint (report->altered + report->missing, >=, 1);
}

static void
test_duplicated (void)
{
  CustosTestRecord *a = data_record (33);
  GByteArray *data = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (fx.file, NULL);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  g_byte_array_append (data, p, a->offset + a->length);
  g_byte_array_append (data, p + a->offset, g_bytes_get_size (fx.file) - a->offset);
  packets = read_damaged (data, &report);
  g_assert_cmpuint (packets->len, ==, total_packets ());
  g_assert_cmpuint (count_ok (packets), ==, total_packets ());
  g_assert_cmpuint (report->duplicates, ==, 1);
  /* The copy is dropped before the seal check, so the segment verifies. */
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_nonnull (find_issue (report, CUSTOS_ISSUE_DUPLICATE));
}

/* Clearing the ENCRYPTED flag must not make ciphertext pass as plaintext. */
static void
test_downgrade (void)
{
  CustosTestRecord *r = data_record (5);
  GByteArray *data = copy_file ();
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  data->data[r->offset + 2] &= ~CUSTOS_DATA_FLAG_ENCRYPTED;
  packets = read_damaged (data, &report);
  g_assert_cmpint (((CustosPacket *) packets->pdata[5])->status, ==, CUSTOS_PACKET_ALTERED);
  g_assert_null (((CustosPacket *) packets->pdata[5])->payload);
  g_assert_cmpuint (count_ok (packets), ==, total_packets () - 1);
}

static void
test_garbage_between_records (void)
{
  CustosTestRecord *r = data_record (20);
  GByteArray *data = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (fx.file, NULL);
  guint8 junk[333];
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = i % 7 == 0 ? CUSTOS_RECORD_SYNC : (guint8) (i * 37);
  g_byte_array_append (data, p, r->offset);
  g_byte_array_append (data, junk, sizeof junk);
  g_byte_array_append (data, p + r->offset, g_bytes_get_size (fx.file) - r->offset);
  packets = read_damaged (data, &report);
  g_assert_cmpuint (count_ok (packets), ==, total_packets ());
  g_assert_cmpuint (report->damaged_bytes, ==, sizeof junk);
}

static void
test_wrong_key (void)
{
  g_autofree char *cert = NULL, *key = NULL;
  g_autoptr (CustosLocalKeyProvider) other = NULL;
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) bytes = g_bytes_ref (fx.file);
  CustosIssue *issue;

  custos_test_make_cert ("rsa:2048", "stranger", &cert, &key);
  other = custos_test_provider (cert, key);
  packets = custos_test_fusion_read (bytes, CUSTOS_KEY_PROVIDER (other), fx.signer_cert, &report);
  g_assert_cmpuint (packets->len, ==, total_packets ());
  g_assert_cmpuint (report->locked, ==, total_packets ());
  g_assert_cmpuint (count_ok (packets), ==, 0);
  issue = find_issue (report, CUSTOS_ISSUE_LOCKED);
  g_assert_nonnull (issue);
  g_assert_nonnull (strstr (issue->message, "no key"));
  /* Locked packets still verify: the seal covers the ciphertext. */
  g_assert_cmpuint (report->segments_failed, ==, 0);
}

/* A key that claims to be the recipient but is not (a certificate paired
 * with the wrong private key) cannot be added at all. */
static void
test_wrong_recipient_key (void)
{
  g_autofree char *cert = NULL, *key = NULL;
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GError) error = NULL;

  custos_test_make_cert ("rsa:2048", "impostor", &cert, &key);
  g_assert_false (custos_local_key_provider_add_key (provider, key, fx.cert, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_not_fusion (void)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static ("RIFF....WAVEfmt this is not a fusion file", 41);
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr (CustosReader) reader = custos_reader_new (in);
  g_autoptr (GError) error = NULL;

  g_assert_null (custos_reader_next_packet (reader, NULL, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION);
}

static void
test_unsupported_version (void)
{
  GByteArray *data = copy_file ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;

  data->data[CUSTOS_RECORD_HEADER_LEN + CUSTOS_FILE_MAGIC_LEN] = 2;
  bytes = g_byte_array_free_to_bytes (data);
  in = g_memory_input_stream_new_from_bytes (bytes);
  reader = custos_reader_new (in);
  g_assert_null (custos_reader_next_packet (reader, NULL, &error));
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_UNSUPPORTED_VERSION);
  g_assert_nonnull (strstr (error->message, "2.0"));
}

/* Keys are written twice (announced ahead, and again at their period):
 * damage to any one KEY or RECIPIENT record costs no packet at all. */
static void
test_damaged_key_records (void)
{
  guint damaged = 0;

  for (guint i = 0; i < fx.records->len; i++)
    {
      CustosTestRecord *r = &g_array_index (fx.records, CustosTestRecord, i);
      g_autoptr (CustosReport) report = NULL;
      g_autoptr (GPtrArray) packets = NULL;
      GByteArray *data;

      if (r->type != CUSTOS_RECORD_KEY && r->type != CUSTOS_RECORD_RECIPIENT)
        continue;
      data = copy_file ();
      data->data[r->offset + r->length - 3] ^= 0x80;
      packets = read_damaged (data, &report);
      g_assert_cmpuint (count_ok (packets), ==, total_packets ());
      damaged++;
    }
  g_assert_cmpuint (damaged, >=, 6);
}

/* Random damage anywhere never crashes, and never yields a payload that
 * differs from what was written. */
static void
test_random_damage (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (4242);

  for (guint round = 0; round < 40; round++)
    {
      GByteArray *data = copy_file ();
      g_autoptr (CustosReport) report = NULL;
      g_autoptr (GPtrArray) packets = NULL;
      guint flips = g_rand_int_range (rand, 1, 6);

      for (guint i = 0; i < flips; i++)
        data->data[g_rand_int_range (rand, 200, data->len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      packets = read_damaged (data, &report);
      g_assert_cmpuint (count_ok (packets), >=, total_packets () - 3 * flips - 2);
    }
}

/* The first DATA record that starts at or after a fraction of the file. */
static CustosTestRecord *
data_record_after (GArray *records,
                   gsize   offset)
{
  for (guint i = 0; i < records->len; i++)
    {
      CustosTestRecord *r = &g_array_index (records, CustosTestRecord, i);

      if (r->type == CUSTOS_RECORD_DATA && r->offset >= offset)
        return r;
    }
  g_assert_not_reached ();
}

/* A stream many times the reader's input window, which moves on while the
 * seal thread still digests the records before: intact, every packet
 * verifies; a flipped byte and a run of junk far apart cost one packet
 * and one segment, and the junk is skipped to the byte. */
static void
test_long_stream (void)
{
  g_autoptr (GArray) records = custos_test_records (fx.long_file);
  gsize len = g_bytes_get_size (fx.long_file);
  const guint8 *p = g_bytes_get_data (fx.long_file, NULL);
  guint total = custos_test_packet_count (&fx.long_spec, 0);
  CustosTestRecord *flip = data_record_after (records, len * 2 / 5);
  CustosTestRecord *junk_at = data_record_after (records, len * 3 / 4);
  g_autoptr (CustosReport) intact = NULL, damaged = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  GByteArray *data = g_byte_array_new ();
  guint8 junk[4099];

  g_assert_cmpuint (len, >, 8 * 1024 * 1024);
  packets = custos_test_fusion_read (fx.long_file, CUSTOS_KEY_PROVIDER (fx.provider),
                                     fx.signer_cert, &intact);
  g_assert_cmpuint (count_ok_of (&fx.long_spec, packets), ==, total);
  /* Stream descriptors are sealed too. */
  g_assert_cmpuint (intact->verified, >=, total);
  g_assert_cmpuint (intact->segments_failed, ==, 0);
  g_clear_pointer (&packets, g_ptr_array_unref);

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = i % 5 == 0 ? CUSTOS_RECORD_SYNC : (guint8) (i * 61);
  g_byte_array_append (data, p, junk_at->offset);
  g_byte_array_append (data, junk, sizeof junk);
  g_byte_array_append (data, p + junk_at->offset, len - junk_at->offset);
  data->data[flip->offset + flip->length - 100] ^= 0x10;
  packets = read_damaged (data, &damaged);
  g_assert_cmpuint (count_ok_of (&fx.long_spec, packets), ==, total - 1);
  g_assert_cmpuint (damaged->altered, ==, 1);
  g_assert_cmpuint (damaged->damaged_bytes, ==, sizeof junk);
  g_assert_cmpuint (damaged->segments_failed, ==, 1);
  /* The rest of that segment still matches its fingerprints. */
  g_assert_cmpuint (damaged->verified + damaged->matched + damaged->altered, ==, intact->verified);
  g_assert_cmpuint (damaged->matched, <=, intact->verified / intact->segments);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  fixture_init ();

  g_test_add_func ("/bad-input/intact", test_intact);
  g_test_add_func ("/bad-input/truncated", test_truncated);
  g_test_add_func ("/bad-input/bit-flip-payload", test_bit_flip_payload);
  g_test_add_func ("/bad-input/bit-flip-length", test_bit_flip_length);
  g_test_add_func ("/bad-input/oversized-length", test_oversized_length);
  g_test_add_func ("/bad-input/reordered", test_reordered);
  g_test_add_func ("/bad-input/duplicated", test_duplicated);
  g_test_add_func ("/bad-input/downgrade", test_downgrade);
  g_test_add_func ("/bad-input/garbage-between-records", test_garbage_between_records);
  g_test_add_func ("/bad-input/wrong-key", test_wrong_key);
  g_test_add_func ("/bad-input/wrong-recipient-key", test_wrong_recipient_key);
  g_test_add_func ("/bad-input/not-fusion", test_not_fusion);
  g_test_add_func ("/bad-input/unsupported-version", test_unsupported_version);
  g_test_add_func ("/bad-input/damaged-key-records", test_damaged_key_records);
  g_test_add_func ("/bad-input/random-damage", test_random_damage);
  g_test_add_func ("/bad-input/long-stream", test_long_stream);

  return g_test_run ();
}
