/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos_export_range: a time range of a sealed, encrypted fusion file as
 * a file of its own. The export must start at a sync point and end after
 * a seal, keep every sealed record byte for byte (so every seal verifies
 * and the chain of the original is recognisable), open offline with the
 * original keys and with those of an added recipient, and seek.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <string.h>

#include "custos-test-fusion.h"
#include "custos-test-util.h"

#define SECOND G_USEC_PER_SEC

typedef struct
{
  char                   *a_cert, *a_key;
  char                   *b_cert, *b_key;
  char                   *signer_cert, *signer_key;
  CustosLocalKeyProvider *pa;
  CustosLocalKeyProvider *pb;
  CustosTestSpec          spec;
  GBytes                 *file; /* 20 s, video and audio, to a, sealed */
} Fixture;

static Fixture fx;

static CustosCertificate *
load_cert (const char *path)
{
  g_autoptr (GError) error = NULL;
  CustosCertificate *cert = custos_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return cert;
}

static void
fixture_init (void)
{
  g_autoptr (GPtrArray) recipients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (CustosCertificate) signer_cert = NULL;
  g_autoptr (EVP_PKEY) signer_key = NULL;
  g_autoptr (GError) error = NULL;

  custos_test_make_cert ("rsa:2048", "a", &fx.a_cert, &fx.a_key);
  custos_test_make_cert ("ec:P-256", "b", &fx.b_cert, &fx.b_key);
  custos_test_make_cert ("ec:P-256", "signer", &fx.signer_cert, &fx.signer_key);
  fx.pa = custos_test_provider (fx.a_cert, fx.a_key);
  fx.pb = custos_test_provider (fx.b_cert, fx.b_key);
  signer_cert = load_cert (fx.signer_cert);
  signer_key = custos_private_key_load (fx.signer_key, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_add (recipients, load_cert (fx.a_cert));

  custos_test_spec_init (&fx.spec);
  fx.spec.seconds = 20;
  fx.spec.audio = TRUE;
  fx.file = custos_test_fusion_make (&fx.spec, recipients, NULL, signer_key, signer_cert);
}

static void
fixture_clear (void)
{
  g_clear_object (&fx.pa);
  g_clear_object (&fx.pb);
  g_clear_pointer (&fx.file, g_bytes_unref);
  g_free (fx.a_cert);
  g_free (fx.a_key);
  g_free (fx.b_cert);
  g_free (fx.b_key);
  g_free (fx.signer_cert);
  g_free (fx.signer_key);
}

/* Runs an export of the fixture (or of `input`) into memory. */
static GBytes *
export (GBytes            *input,
        gint64             from_us,
        gint64             to_us,
        GPtrArray         *recipients,
        CustosExportInfo  *info,
        GError           **error)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (input ? input : fx.file);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();

  if (!custos_export_range (in, out, from_us, to_us, CUSTOS_KEY_PROVIDER (fx.pa), NULL,
                            recipients, FALSE, NULL, NULL, info, NULL, error))
    return NULL;
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* The sealed records of the bytes [offset, offset + len) of a file. */
static GBytes *
sealed_bytes (GBytes *file,
              gsize   offset,
              gsize   len)
{
  g_autoptr (GArray) recs = custos_test_records (file);
  GByteArray *out = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (file, NULL);

  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);

      if (r->offset >= offset && r->offset < offset + len && custos_record_type_is_sealed (r->type))
        g_byte_array_append (out, p + r->offset, r->length);
    }
  return g_byte_array_free_to_bytes (out);
}

/* Where the export of [from, to] must start and end, found from the SEAL
 * records rather than the index: at the last FILE_HEADER before the
 * segment whose seal starts at or before `from`, and after the INDEX that
 * follows the last seal that starts at or before `to`. */
static void
expected_range (GBytes *file,
                gint64  from,
                gint64  to,
                gsize  *start,
                gsize  *end)
{
  g_autoptr (GArray) recs = custos_test_records (file);
  const guint8 *p = g_bytes_get_data (file, NULL);
  gsize sync = 0, segment_sync = 0, first_sync = 0;
  gboolean first_found = FALSE;

  *end = 0;
  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);
      CustosSealRecord seal;

      if (r->type == CUSTOS_RECORD_FILE_HEADER)
        sync = r->offset;
      if (i == 0 || g_array_index (recs, CustosTestRecord, i - 1).type == CUSTOS_RECORD_INDEX)
        segment_sync = sync;
      if (r->type != CUSTOS_RECORD_SEAL)
        continue;
      g_assert_true (custos_seal_record_parse (p + r->offset + CUSTOS_RECORD_HEADER_LEN,
                                               r->length - CUSTOS_RECORD_HEADER_LEN, &seal, NULL));
      if (seal.start_us <= from || !first_found)
        {
          first_sync = segment_sync;
          first_found = TRUE;
        }
      if (seal.start_us <= to || *end == 0)
        *end = g_array_index (recs, CustosTestRecord, i + 1).offset +
               g_array_index (recs, CustosTestRecord, i + 1).length;
    }
  *start = first_sync;
}

static void
assert_clean (CustosReport *report,
              GPtrArray    *packets)
{
  g_assert_cmpuint (report->decrypted, ==, packets->len);
  g_assert_cmpuint (report->locked + report->altered + report->missing, ==, 0);
  g_assert_cmpuint (report->unsigned_packets, ==, 0);
  g_assert_cmpuint (report->damaged_regions, ==, 0);
  g_assert_cmpuint (report->segments, >, 0);
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->verified, >=, packets->len);
  g_assert_cmpuint (custos_report_count (report, CUSTOS_ISSUE_MISSING_SEGMENT), ==, 0);
}

/* Every packet decrypts to what was written, and the video packets are
 * one run of the original's with nothing missing. Returns the first and
 * last video PTS. */
static void
assert_packets (GPtrArray *packets,
                gint64    *first_us,
                gint64    *last_us)
{
  gint64 prev = G_MININT64;

  *first_us = G_MAXINT64;
  *last_us = G_MININT64;
  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];

      custos_test_assert_payload (&fx.spec, p);
      if (p->stream != 0)
        continue;
      g_assert_true (prev == G_MININT64 || p->pts_us - prev == 33333);
      prev = p->pts_us;
      *first_us = MIN (*first_us, p->pts_us);
      *last_us = MAX (*last_us, p->pts_us);
    }
}

static void
assert_starts_at_sync_point (GBytes *file)
{
  g_autoptr (GArray) recs = custos_test_records (file);
  const guint8 *p = g_bytes_get_data (file, NULL);
  gsize len = g_bytes_get_size (file);

  g_assert_cmpuint (g_array_index (recs, CustosTestRecord, 0).type, ==, CUSTOS_RECORD_FILE_HEADER);
  g_assert_cmpmem (p + CUSTOS_RECORD_HEADER_LEN, 8, CUSTOS_FILE_MAGIC, 8);
  g_assert_cmpmem (p + len - 8, 8, CUSTOS_TOC_MAGIC, 8);
  g_assert_cmpuint (g_array_index (recs, CustosTestRecord, recs->len - 1).type, ==,
                    CUSTOS_RECORD_TOC);
  g_assert_cmpuint (g_array_index (recs, CustosTestRecord, recs->len - 2).type, ==,
                    CUSTOS_RECORD_INDEX);
  g_assert_cmpuint (g_array_index (recs, CustosTestRecord, recs->len - 3).type, ==,
                    CUSTOS_RECORD_SEAL);
}

/* A range in the middle: it grows to a sync point before and a seal after,
 * and nothing sealed changes. */
static void
test_range (void)
{
  gint64 from = fx.spec.start_us + 7300 * 1000, to = fx.spec.start_us + 12600 * 1000;
  CustosExportInfo info = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = export (NULL, from, to, NULL, &info, &error);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) sealed_in = NULL;
  g_autoptr (GBytes) sealed_out = NULL;
  gint64 first, last;
  gsize start, end;

  g_assert_no_error (error);
  assert_starts_at_sync_point (out);
  g_assert_cmpuint (info.written, ==, g_bytes_get_size (out));
  g_assert_cmpuint (info.input_offset, >, 0);
  g_assert_cmpuint (info.input_offset + info.input_length, <, g_bytes_get_size (fx.file));
  g_assert_cmpint (info.first_us, <=, from);
  g_assert_cmpint (info.last_us, >=, to);
  expected_range (fx.file, from, to, &start, &end);
  g_assert_cmpuint (info.input_offset, ==, start);
  g_assert_cmpuint (info.input_offset + info.input_length, ==, end);

  packets = custos_test_fusion_read (out, CUSTOS_KEY_PROVIDER (fx.pa), fx.signer_cert, &report);
  assert_clean (report, packets);
  assert_packets (packets, &first, &last);
  /* Keyframes every second, seals at the first keyframe a second after
   * the segment start (so every 2 s), sync points at the first segment
   * start 2 s after the last (so every 4 s). */
  g_assert_cmpint (first, <=, from);
  g_assert_cmpint (first, >, from - 4 * SECOND - 2 * SECOND);
  g_assert_cmpint (last, >=, to);
  g_assert_cmpint (last, <, to + 2 * SECOND);
  g_assert_cmpint (first, ==, info.first_us);

  sealed_in = sealed_bytes (fx.file, info.input_offset, info.input_length);
  sealed_out = sealed_bytes (out, 0, g_bytes_get_size (out));
  g_assert_true (g_bytes_equal (sealed_in, sealed_out));
}

/* The whole file exported without recipients is the file itself. */
static void
test_whole (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = export (NULL, CUSTOS_EXPORT_START, CUSTOS_EXPORT_END, NULL, NULL,
                                   &error);

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (out, fx.file));
}

/* Seeking in the export goes through its rewritten index and TOC. */
static void
assert_seeks (GBytes                 *file,
              CustosLocalKeyProvider *provider,
              gint64                  t)
{
  g_autoptr (CustosReader) reader = custos_reader_new_for_bytes (file);
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosPacket) p = NULL;
  gint64 first = 0, last = 0;

  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  g_assert_true (custos_reader_get_time_range (reader, &first, &last, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (first, <=, t);
  g_assert_cmpint (last, >=, t);
  custos_reader_seek (reader, t, NULL, &error);
  g_assert_no_error (error);
  do
    {
      g_clear_pointer (&p, custos_packet_unref);
      p = custos_reader_next_packet (reader, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (p);
    }
  while (p->stream != 0);
  g_assert_true (p->flags & CUSTOS_DATA_FLAG_KEYFRAME);
  g_assert_cmpint (p->pts_us, <=, t);
  g_assert_cmpint (p->pts_us, >, t - SECOND - 1);
  custos_test_assert_payload (&fx.spec, p);
}

/* An added recipient opens the export offline, as does the original one,
 * and the seals still hold. */
static void
test_added_recipient (void)
{
  gint64 from = fx.spec.start_us + 3 * SECOND, to = fx.spec.start_us + 15 * SECOND;
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (CustosReport) report_a = NULL;
  g_autoptr (CustosReport) report_b = NULL;
  g_autoptr (GPtrArray) by_a = NULL;
  g_autoptr (GPtrArray) by_b = NULL;
  g_autoptr (GPtrArray) before = NULL;
  CustosExportInfo info = { 0 };
  gint64 first, last;

  before = custos_test_fusion_read (fx.file, CUSTOS_KEY_PROVIDER (fx.pb), NULL, NULL);
  g_assert_cmpint (((CustosPacket *) before->pdata[0])->status, ==, CUSTOS_PACKET_LOCKED);

  g_ptr_array_add (extra, load_cert (fx.b_cert));
  out = export (NULL, from, to, extra, &info, &error);
  g_assert_no_error (error);
  assert_starts_at_sync_point (out);

  by_b = custos_test_fusion_read (out, CUSTOS_KEY_PROVIDER (fx.pb), fx.signer_cert, &report_b);
  assert_clean (report_b, by_b);
  assert_packets (by_b, &first, &last);
  g_assert_cmpint (first, <=, from);
  g_assert_cmpint (last, >=, to);
  by_a = custos_test_fusion_read (out, CUSTOS_KEY_PROVIDER (fx.pa), fx.signer_cert, &report_a);
  assert_clean (report_a, by_a);
  g_assert_cmpuint (by_a->len, ==, by_b->len);
  assert_seeks (out, fx.pb, fx.spec.start_us + 9500 * 1000);
}

/* An export can be exported again (narrower), recipients and all. */
static void
test_reexport (void)
{
  gint64 t = fx.spec.start_us + 10 * SECOND;
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) second = NULL;
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  gint64 lo, hi;

  g_ptr_array_add (extra, load_cert (fx.b_cert));
  first = export (NULL, fx.spec.start_us + 4 * SECOND, fx.spec.start_us + 16 * SECOND, extra, NULL,
                  &error);
  g_assert_no_error (error);
  second = export (first, t, t, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (second), <, g_bytes_get_size (first));
  packets = custos_test_fusion_read (second, CUSTOS_KEY_PROVIDER (fx.pb), fx.signer_cert, &report);
  assert_clean (report, packets);
  assert_packets (packets, &lo, &hi);
  g_assert_cmpint (lo, <=, t);
  g_assert_cmpint (hi, >=, t);
}

static void
cancel_on_progress (guint64  done,
                    guint64  total,
                    gpointer user_data)
{
  g_assert_cmpuint (done, <=, total);
  g_cancellable_cancel (user_data);
}

static void
test_cancel (void)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (fx.file);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  gboolean ok;

  ok = custos_export_range (in, out, CUSTOS_EXPORT_START, CUSTOS_EXPORT_END, NULL, NULL, NULL,
                            FALSE, cancel_on_progress, cancellable, NULL, cancellable, &error);
  g_assert_false (ok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)), <,
                    g_bytes_get_size (fx.file));
}

/* Sharing keys needs keys: b cannot give what it cannot open. */
static void
test_not_ours (void)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (fx.file);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (extra, load_cert (fx.a_cert));
  g_assert_false (custos_export_range (in, out, CUSTOS_EXPORT_START, CUSTOS_EXPORT_END,
                                       CUSTOS_KEY_PROVIDER (fx.pb), NULL, extra, FALSE, NULL, NULL,
                                       NULL, NULL, &error));
  g_assert_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY);
}

/* A file without an index (a live capture) has no segments to pick. */
static void
test_no_index (void)
{
  CustosTestSpec spec;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = NULL;

  custos_test_spec_init (&spec);
  spec.seconds = 3;
  spec.encrypted = FALSE;
  spec.indexed = FALSE;
  file = custos_test_fusion_make (&spec, NULL, NULL, NULL, NULL);
  out = export (file, CUSTOS_EXPORT_START, CUSTOS_EXPORT_END, NULL, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE);
}

/* Index offsets are not sealed: a forged one is refused, never followed
 * into a broken file. */
static void
test_bad_index (void)
{
  g_autoptr (GArray) recs = custos_test_records (fx.file);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (fx.file, NULL),
                                       g_bytes_get_size (fx.file));
  g_autoptr (GBytes) forged = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;

  /* Every INDEX's sync_offset now points into its own body. */
  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);

      if (r->type == CUSTOS_RECORD_INDEX)
        data[r->offset + CUSTOS_RECORD_HEADER_LEN + 7] ^= 0x03;
    }
  forged = g_bytes_new (data, g_bytes_get_size (fx.file));
  out = export (forged, fx.spec.start_us + 5 * SECOND, CUSTOS_EXPORT_END, NULL, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_SEEKABLE);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  fixture_init ();

  g_test_add_func ("/export/range", test_range);
  g_test_add_func ("/export/whole", test_whole);
  g_test_add_func ("/export/added-recipient", test_added_recipient);
  g_test_add_func ("/export/reexport", test_reexport);
  g_test_add_func ("/export/cancel", test_cancel);
  g_test_add_func ("/export/not-ours", test_not_ours);
  g_test_add_func ("/export/no-index", test_no_index);
  g_test_add_func ("/export/bad-index", test_bad_index);
  ret = g_test_run ();

  fixture_clear ();
  return ret;
}
