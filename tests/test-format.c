/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Writer → reader round trips of the fusion stream format: every recipient
 * algorithm, seals, one card operation per epoch, forward-only enrolment,
 * per-client key streams, seeking through the index and by scanning a file
 * without one, and the known-answer file in tests/data decoded both by the
 * reader and by hand from the spec.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-test-fusion.h"
#include "custos-test-util.h"

typedef struct
{
  char *cert;
  char *key;
} Identity;

static Identity *
identity (const char *spec,
          const char *name)
{
  static GHashTable *cache;
  Identity *id;

  if (cache == NULL)
    cache = g_hash_table_new (g_str_hash, g_str_equal);
  if ((id = g_hash_table_lookup (cache, name)) != NULL)
    return id;
  id = g_new0 (Identity, 1);
  custos_test_make_cert (spec, name, &id->cert, &id->key);
  g_hash_table_insert (cache, g_strdup (name), id);
  return id;
}

static CustosCertificate *
load_cert (const char *path)
{
  g_autoptr (GError) error = NULL;
  CustosCertificate *cert = custos_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return cert;
}

static EVP_PKEY *
load_key (const char *path)
{
  g_autoptr (GError) error = NULL;
  EVP_PKEY *key = custos_private_key_load (path, NULL, &error);

  g_assert_no_error (error);
  return key;
}

static GPtrArray *
certs_of (Identity *first,
          ...)
{
  GPtrArray *certs = g_ptr_array_new_with_free_func (g_object_unref);
  va_list args;

  va_start (args, first);
  for (Identity *id = first; id != NULL; id = va_arg (args, Identity *))
    g_ptr_array_add (certs, load_cert (id->cert));
  va_end (args);
  return certs;
}

static void
assert_all_decrypted (const CustosTestSpec *spec,
                      GPtrArray            *packets)
{
  guint expected = custos_test_packet_count (spec, 0) +
                   (spec->audio ? custos_test_packet_count (spec, 1) : 0);

  g_assert_cmpuint (packets->len, ==, expected);
  for (guint i = 0; i < packets->len; i++)
    custos_test_assert_payload (spec, packets->pdata[i]);
}

static void
roundtrip (const char *key_spec,
           gboolean    legacy)
{
  Identity *who = identity (key_spec, legacy ? "legacy" : key_spec + 3);
  Identity *signer = identity ("ec:P-256", "signer");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosCertificate) signer_cert = load_cert (signer->cert);
  g_autoptr (EVP_PKEY) signer_key = load_key (signer->key);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.audio = TRUE;
  spec.legacy = legacy;
  custos_local_key_provider_set_allow_legacy (provider, legacy);
  file = custos_test_fusion_make (&spec, recipients, NULL, signer_key, signer_cert);
  packets = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (provider), signer->cert, &report);

  assert_all_decrypted (&spec, packets);
  g_assert_cmpuint (report->decrypted, ==, packets->len);
  g_assert_cmpuint (report->locked, ==, 0);
  g_assert_cmpuint (report->altered, ==, 0);
  g_assert_cmpuint (report->missing, ==, 0);
  g_assert_cmpuint (report->unsigned_packets, ==, 0);
  g_assert_cmpuint (report->segments, >=, spec.seconds / 2);
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->verified, >=, packets->len);
}

static void
test_roundtrip_rsa (void)
{
  roundtrip ("rsa:2048", FALSE);
}

static void
test_roundtrip_p256 (void)
{
  roundtrip ("ec:P-256", FALSE);
}

static void
test_roundtrip_p384 (void)
{
  roundtrip ("ec:P-384", FALSE);
}

static void
test_roundtrip_legacy (void)
{
  roundtrip ("rsa:2048", TRUE);
}

/* Legacy PKCS#1 v1.5 stays off unless asked for, on both sides. */
static void
test_legacy_refused (void)
{
  Identity *who = identity ("rsa:2048", "legacy");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.seconds = 2;
  spec.legacy = TRUE;
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  packets = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (provider), NULL, &report);
  g_assert_cmpuint (report->locked, ==, packets->len);
  g_assert_cmpuint (custos_report_count (report, CUSTOS_ISSUE_KEY_FAILED), >=, 1);
}

static void
test_plain_stream (void)
{
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.encrypted = FALSE;
  file = custos_test_fusion_make (&spec, NULL, NULL, NULL, NULL);
  packets = custos_test_fusion_read (file, NULL, NULL, &report);
  assert_all_decrypted (&spec, packets);
  g_assert_cmpuint (report->plaintext, ==, packets->len);
  /* Nothing signed it, and the report says so rather than "verified". */
  g_assert_cmpuint (report->verified, ==, 0);
  g_assert_cmpuint (report->unsigned_packets, >=, packets->len);
}

/* The point of the two-level wrap: one private-key operation per recipient
 * and epoch, however many key periods the epoch holds. */
static void
test_one_unwrap_per_epoch (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) local = custos_test_provider (who->cert, who->key);
  g_autoptr (CustosKeyring) keyring = custos_keyring_new ();
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.seconds = 30;
  spec.audio = TRUE;
  spec.period_ms = 1000;
  spec.epoch_ms = 10000;
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (local));
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  packets = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (keyring), NULL, NULL);
  assert_all_decrypted (&spec, packets);
  /* 30 periods per stream, 2 streams, 3 epochs: 3 card operations. */
  g_assert_cmpuint (custos_keyring_get_unwrap_count (keyring), ==, 3);
}

/* A certificate enrolled later opens only what was recorded after it. */
static void
test_enrolled_later (void)
{
  Identity *early = identity ("rsa:2048", "rsa2048");
  Identity *late = identity ("ec:P-256", "P-256");
  g_autoptr (GPtrArray) recipients = certs_of (early, NULL);
  g_autoptr (GPtrArray) later = certs_of (late, NULL);
  g_autoptr (CustosLocalKeyProvider) p_early = custos_test_provider (early->cert, early->key);
  g_autoptr (CustosLocalKeyProvider) p_late = custos_test_provider (late->cert, late->key);
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) some = NULL;
  g_autoptr (GBytes) file = NULL;
  gint64 enrolled_at, first_open = G_MAXINT64, last_locked = G_MININT64;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.seconds = 12;
  file = custos_test_fusion_make (&spec, recipients, later, NULL, NULL);
  all = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (p_early), NULL, NULL);
  assert_all_decrypted (&spec, all);

  some = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (p_late), NULL, NULL);
  enrolled_at = spec.start_us + (gint64) (custos_test_packet_count (&spec, 0) / 3) * 33333;
  for (guint i = 0; i < some->len; i++)
    {
      CustosPacket *p = some->pdata[i];

      if (p->status == CUSTOS_PACKET_OK)
        {
          custos_test_assert_payload (&spec, p);
          first_open = MIN (first_open, p->pts_us);
        }
      else
        {
          g_assert_cmpint (p->status, ==, CUSTOS_PACKET_LOCKED);
          last_locked = MAX (last_locked, p->pts_us);
        }
    }
  /* Nothing before the enrolment opens; everything from the next period on does. */
  g_assert_cmpint (first_open, >, enrolled_at);
  g_assert_cmpint (last_locked, <, first_open);
  g_assert_cmpint (first_open - enrolled_at, <=, (gint64) spec.period_ms * 1000);
}

/* A server sends each client only its own RECIPIENT and KEY records; the
 * client still decrypts and verifies everything. */
static GBytes *
strip_other_recipients (GBytes       *file,
                        const guint8 *keep_id)
{
  g_autoptr (GArray) recs = custos_test_records (file);
  GByteArray *out = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (file, NULL);

  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);
      const guint8 *body = p + r->offset + CUSTOS_RECORD_HEADER_LEN;
      const guint8 *id = NULL;

      if (r->type == CUSTOS_RECORD_RECIPIENT)
        id = body;
      else if (r->type == CUSTOS_RECORD_KEY)
        id = body + 5;
      else if (r->type == CUSTOS_RECORD_INDEX || r->type == CUSTOS_RECORD_TOC)
        continue;
      if (id != NULL && memcmp (id, keep_id, CUSTOS_RECIPIENT_ID_LEN) != 0)
        continue;
      g_byte_array_append (out, p + r->offset, r->length);
    }
  return g_byte_array_free_to_bytes (out);
}

static void
test_own_key_stream_only (void)
{
  Identity *a = identity ("rsa:2048", "rsa2048");
  Identity *b = identity ("ec:P-256", "P-256");
  Identity *signer = identity ("ec:P-256", "signer");
  g_autoptr (GPtrArray) recipients = certs_of (a, b, NULL);
  g_autoptr (CustosCertificate) signer_cert = load_cert (signer->cert);
  g_autoptr (EVP_PKEY) signer_key = load_key (signer->key);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (b->cert, b->key);
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GBytes) mine = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.audio = TRUE;
  file = custos_test_fusion_make (&spec, recipients, NULL, signer_key, signer_cert);
  mine = strip_other_recipients (file,
                                 custos_certificate_get_fingerprint (recipients->pdata[1]));
  g_assert_cmpuint (g_bytes_get_size (mine), <, g_bytes_get_size (file));
  packets = custos_test_fusion_read (mine, CUSTOS_KEY_PROVIDER (provider), signer->cert, &report);
  assert_all_decrypted (&spec, packets);
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->altered + report->missing + report->unsigned_packets, ==, 0);
}

/* Seeking reads the trailer, one index record, the sync point and record
 * headers: a small part of the file, and lands on the keyframe before T. */
static void
test_seek (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) error = NULL;
  char *path;
  CustosTestSpec spec;
  gint64 targets[] = { 0, 7500000, 31200000, 59900000 };

  custos_test_spec_init (&spec);
  spec.seconds = 60;
  spec.audio = TRUE;
  spec.period_ms = 10000;
  spec.epoch_ms = 30000;
  spec.max_payload = 8000;
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  path = custos_test_write_file ("seek.fusion", g_bytes_get_data (file, NULL),
                                 g_bytes_get_size (file));

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autoptr (GFile) gfile = g_file_new_for_path (path);
      g_autoptr (GFileInputStream) in = g_file_read (gfile, NULL, &error);
      g_autoptr (CustosReader) reader = custos_reader_new (G_INPUT_STREAM (in));
      g_autoptr (CustosPacket) first = NULL;
      gint64 t = spec.start_us + targets[i];
      guint64 seek_bytes;

      custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
      custos_reader_seek (reader, t, NULL, &error);
      g_assert_no_error (error);
      seek_bytes = custos_reader_get_bytes_read (reader);
      g_assert_cmpuint (seek_bytes, <, g_bytes_get_size (file) / 20);

      do
        {
          g_clear_pointer (&first, custos_packet_unref);
          first = custos_reader_next_packet (reader, NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (first);
        }
      while (first->stream != 0);
      g_assert_true (first->flags & CUSTOS_DATA_FLAG_KEYFRAME);
      g_assert_cmpint (first->pts_us, <=, t);
      g_assert_cmpint (t - first->pts_us, <, 1000000); /* keyframes are 1 s apart */
      custos_test_assert_payload (&spec, first);
    }
  g_free (path);
}

typedef struct
{
  guint64 packets, decrypted, verified, unsigned_packets, segments_failed, locked;
} Counts;

/* Seeks to t, then reads to the end: the first video packet it hands out,
 * and what the seals of the rest said. */
static CustosPacket *
seek_and_read (const char           *path,
               CustosKeyProvider    *provider,
               const char           *ca_file,
               gint64                t,
               guint64              *seek_bytes,
               Counts               *counts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) gfile = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (gfile, NULL, &error);
  g_autoptr (CustosReader) reader = custos_reader_new (G_INPUT_STREAM (in));
  CustosPacket *first = NULL;
  CustosPacket *p;

  g_assert_no_error (error);
  custos_reader_set_key_provider (reader, provider);
  custos_reader_set_ca_file (reader, ca_file);
  custos_reader_seek (reader, t, NULL, &error);
  g_assert_no_error (error);
  *seek_bytes = custos_reader_get_bytes_read (reader);
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
      if (first == NULL && p->stream == 0)
        first = custos_packet_ref (p);
      custos_packet_unref (p);
    }
  g_assert_no_error (error);
  g_assert_nonnull (first);
  {
    CustosReport *r = custos_reader_get_report (reader);

    *counts = (Counts) { r->packets, r->decrypted, r->verified, r->unsigned_packets,
                         r->segments_failed, r->locked };
  }
  return first;
}

/* A fetched range or an unfinished recording has no index: seeking scans
 * its records and lands on the keyframe the index would have named, with
 * the keys and seals after it as usable as when seeking by the index. */
static void
test_seek_without_index (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  Identity *signer = identity ("ec:P-256", "signer");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosCertificate) signer_cert = load_cert (signer->cert);
  g_autoptr (EVP_PKEY) signer_key = load_key (signer->key);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autofree char *indexed = NULL;
  g_autofree char *bare = NULL;
  g_autoptr (GBytes) bare_file = NULL;
  CustosTestSpec spec;
  gint64 targets[] = { -5000000, 0, 7500000, 31200000, 59900000 };

  custos_test_spec_init (&spec);
  spec.seconds = 60;
  spec.audio = TRUE;
  spec.period_ms = 10000;
  spec.epoch_ms = 30000;
  spec.max_payload = 8000;
  {
    g_autoptr (GBytes) file = custos_test_fusion_make (&spec, recipients, NULL, signer_key,
                                                       signer_cert);

    indexed = custos_test_write_file ("seek-indexed.fusion", g_bytes_get_data (file, NULL),
                                      g_bytes_get_size (file));
  }
  spec.indexed = FALSE;
  bare_file = custos_test_fusion_make (&spec, recipients, NULL, signer_key, signer_cert);
  bare = custos_test_write_file ("seek-bare.fusion", g_bytes_get_data (bare_file, NULL),
                                 g_bytes_get_size (bare_file));

  /* The time range too: from the table of contents, or from the scan. */
  {
    gint64 range[2][2];
    const char *paths[] = { indexed, bare };

    for (guint i = 0; i < 2; i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (GFile) gfile = g_file_new_for_path (paths[i]);
        g_autoptr (GFileInputStream) in = g_file_read (gfile, NULL, &error);
        g_autoptr (CustosReader) reader = custos_reader_new (G_INPUT_STREAM (in));

        custos_reader_get_time_range (reader, &range[i][0], &range[i][1], NULL, &error);
        g_assert_no_error (error);
      }
    g_assert_cmpint (range[1][0], ==, range[0][0]);
    g_assert_cmpint (range[1][1], ==, range[0][1]);
    g_assert_cmpint (range[1][0], ==, spec.start_us);
  }

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autoptr (CustosPacket) want = NULL;
      g_autoptr (CustosPacket) got = NULL;
      Counts want_report, got_report;
      gint64 t = spec.start_us + targets[i];
      guint64 bytes;

      want = seek_and_read (indexed, CUSTOS_KEY_PROVIDER (provider), signer->cert, t, &bytes,
                            &want_report);
      got = seek_and_read (bare, CUSTOS_KEY_PROVIDER (provider), signer->cert, t, &bytes,
                           &got_report);
      /* Headers and prefixes only: not the file. */
      g_assert_cmpuint (bytes, <, g_bytes_get_size (bare_file) / 10);

      g_assert_true (got->flags & CUSTOS_DATA_FLAG_KEYFRAME);
      g_assert_cmpuint (got->period, ==, want->period);
      g_assert_cmpuint (got->counter, ==, want->counter);
      g_assert_cmpint (got->pts_us, ==, want->pts_us);
      custos_test_assert_payload (&spec, got);
      if (targets[i] >= 0)
        {
          g_assert_cmpint (got->pts_us, <=, t);
          g_assert_cmpint (t - got->pts_us, <, 1000000); /* keyframes are 1 s apart */
        }
      /* Every packet from the keyframe on decrypted, and verified by the
       * seals of the segments from the keyframe's on. */
      g_assert_cmpuint (got_report.packets, ==, want_report.packets);
      g_assert_cmpuint (got_report.decrypted, ==, want_report.decrypted);
      g_assert_cmpuint (got_report.verified, ==, want_report.verified);
      g_assert_cmpuint (got_report.verified, >, 0);
      g_assert_cmpuint (got_report.unsigned_packets, ==, 0);
      g_assert_cmpuint (got_report.segments_failed, ==, 0);
      g_assert_cmpuint (got_report.locked, ==, 0);
    }
}

/* Period keys change at every period, for every stream: no two streams and
 * no two periods share a key, visible as distinct KEY record contents. */
static void
test_key_per_stream_and_period (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GArray) recs = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                       (GDestroyNotify) g_bytes_unref, NULL);
  CustosTestSpec spec;
  guint keys = 0;

  custos_test_spec_init (&spec);
  spec.audio = TRUE;
  spec.period_ms = 1000;
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  recs = custos_test_records (file);
  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);
      const guint8 *body = (const guint8 *) g_bytes_get_data (file, NULL) + r->offset + 6;
      CustosKeyRecord kr;

      if (r->type != CUSTOS_RECORD_KEY)
        continue;
      g_assert_true (custos_key_record_parse (body, r->length - 6, &kr, NULL));
      /* the same (stream, period) repeated at a sync point is the same key */
      g_hash_table_add (seen, g_bytes_new (&kr.stream, 1 + 4));
      keys++;
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 2 * spec.seconds);
  g_assert_cmpuint (keys, >=, 2 * spec.seconds);
}


/* The sealed records of a file, concatenated: what a re-wrap must not touch. */
static GBytes *
sealed_bytes (GBytes *file)
{
  g_autoptr (GArray) recs = custos_test_records (file);
  GByteArray *out = g_byte_array_new ();
  const guint8 *p = g_bytes_get_data (file, NULL);

  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);

      if (custos_record_type_is_sealed (r->type))
        g_byte_array_append (out, p + r->offset, r->length);
    }
  return g_byte_array_free_to_bytes (out);
}

/* An export for another investigator: the period keys are wrapped for
 * them, nothing is re-encrypted, and the seals still hold. */
static void
test_rewrap_extra_recipient (void)
{
  Identity *a = identity ("rsa:2048", "rsa2048");
  Identity *b = identity ("ec:P-384", "P-384");
  Identity *signer = identity ("ec:P-256", "signer");
  g_autoptr (GPtrArray) recipients = certs_of (a, NULL);
  g_autoptr (GPtrArray) extra = certs_of (b, NULL);
  g_autoptr (CustosCertificate) signer_cert = load_cert (signer->cert);
  g_autoptr (EVP_PKEY) signer_key = load_key (signer->key);
  g_autoptr (CustosLocalKeyProvider) pa = custos_test_provider (a->cert, a->key);
  g_autoptr (CustosLocalKeyProvider) pb = custos_test_provider (b->cert, b->key);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (CustosReport) report = NULL;
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GBytes) shared = NULL;
  g_autoptr (GBytes) sealed_a = NULL;
  g_autoptr (GBytes) sealed_b = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (CustosPacket) first = NULL;
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.audio = TRUE;
  spec.seconds = 20;
  file = custos_test_fusion_make (&spec, recipients, NULL, signer_key, signer_cert);
  before = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (pb), NULL, NULL);
  g_assert_cmpint (((CustosPacket *) before->pdata[0])->status, ==, CUSTOS_PACKET_LOCKED);

  in = g_memory_input_stream_new_from_bytes (file);
  custos_rewrap (in, out, CUSTOS_KEY_PROVIDER (pa), NULL, extra, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, NULL);
  shared = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));

  sealed_a = sealed_bytes (file);
  sealed_b = sealed_bytes (shared);
  g_assert_true (g_bytes_equal (sealed_a, sealed_b));

  packets = custos_test_fusion_read (shared, CUSTOS_KEY_PROVIDER (pb), signer->cert, &report);
  assert_all_decrypted (&spec, packets);
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->altered + report->missing + report->unsigned_packets, ==, 0);
  g_clear_pointer (&packets, g_ptr_array_unref);
  packets = custos_test_fusion_read (shared, CUSTOS_KEY_PROVIDER (pa), NULL, NULL);
  assert_all_decrypted (&spec, packets);

  /* The index was rewritten for the new offsets: seeking still lands. */
  reader = custos_reader_new_for_bytes (shared);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (pb));
  custos_reader_seek (reader, spec.start_us + 15500000, NULL, &error);
  g_assert_no_error (error);
  do
    {
      g_clear_pointer (&first, custos_packet_unref);
      first = custos_reader_next_packet (reader, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (first);
    }
  while (first->stream != 0);
  g_assert_true (first->flags & CUSTOS_DATA_FLAG_KEYFRAME);
  g_assert_cmpint (first->pts_us, ==, spec.start_us + 15 * 30 * 33333);
  custos_test_assert_payload (&spec, first);
}

/* Data already in memory reads the same without a copy. */
static void
test_read_bytes (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  CustosTestSpec spec;
  CustosPacket *p;
  guint n = 0;

  custos_test_spec_init (&spec);
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  reader = custos_reader_new_for_bytes (file);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      custos_test_assert_payload (&spec, p);
      custos_packet_unref (p);
      n++;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, custos_test_packet_count (&spec, 0));
}


/* Pulling the card wipes what an open reader unwrapped with it, at once. */
static void
test_card_removed_wipes_reader (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  guint baseline = custos_secret_get_live_count ();
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  spec.audio = TRUE;
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  reader = custos_reader_new_for_bytes (file);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (CustosPacket) p = custos_reader_next_packet (reader, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
    }
  /* A KEK and the period keys of both streams are held. */
  g_assert_cmpuint (custos_secret_get_live_count (), >=, baseline + 3);
  custos_key_provider_emit_certificate_removed (CUSTOS_KEY_PROVIDER (provider),
                                                recipients->pdata[0]);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}


typedef struct
{
  CustosKeyProvider *provider;
  CustosCertificate *cert;
  guint              live_inside;
  gboolean           fired;
} RemovalInSeal;

static void
remove_card_in_seal (CustosReader           *reader,
                     const CustosSealResult *result,
                     gpointer                user_data)
{
  RemovalInSeal *r = user_data;

  if (r->fired)
    return;
  r->fired = TRUE;
  custos_key_provider_emit_certificate_removed (r->provider, r->cert);
  /* The reader is busy in this thread: its keys wait for it. */
  r->live_inside = custos_secret_get_live_count ();
}

/* The removal arrives while the reader is reading (as in custosdemux's
 * streaming thread): the keys go before the reader returns. */
static void
test_card_removed_while_reading (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  Identity *signer = identity ("ec:P-256", "signer");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosCertificate) signer_cert = load_cert (signer->cert);
  g_autoptr (EVP_PKEY) signer_key = load_key (signer->key);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosReader) reader = NULL;
  g_autoptr (GError) error = NULL;
  guint baseline = custos_secret_get_live_count ();
  RemovalInSeal r = { CUSTOS_KEY_PROVIDER (provider), NULL, 0, FALSE };
  CustosTestSpec spec;

  custos_test_spec_init (&spec);
  file = custos_test_fusion_make (&spec, recipients, NULL, signer_key, signer_cert);
  r.cert = recipients->pdata[0];
  reader = custos_reader_new_for_bytes (file);
  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (provider));
  custos_reader_set_seal_func (reader, remove_card_in_seal, &r, NULL);
  while (!r.fired)
    {
      g_autoptr (CustosPacket) p = custos_reader_next_packet (reader, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (p);
    }
  g_assert_cmpuint (r.live_inside, >, baseline);
  g_assert_cmpuint (custos_secret_get_live_count (), ==, baseline);
}

static char *
data_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", name, NULL);
}

/* Decodes the known-answer file by hand, following docs/fusion-stream.md
 * with the primitives only: an independent path to the reader's. */
static void
kat_decode_by_hand (GBytes     *file,
                    JsonObject *expected)
{
  g_autofree char *key_path = data_path ("kat-recipient.key.pem");
  g_autofree char *cert_path = data_path ("kat-recipient.cert.pem");
  g_autoptr (EVP_PKEY) key = load_key (key_path);
  g_autoptr (CustosCertificate) cert = load_cert (cert_path);
  g_autoptr (GArray) recs = custos_test_records (file);
  g_autoptr (CustosSecret) kek = NULL;
  g_autoptr (CustosSecret) period_key = NULL;
  JsonArray *hashes = json_object_get_array_member (expected, "packet_sha256");
  const guint8 *p = g_bytes_get_data (file, NULL);
  guint n = 0;

  for (guint i = 0; i < recs->len; i++)
    {
      CustosTestRecord *r = &g_array_index (recs, CustosTestRecord, i);
      const guint8 *body = p + r->offset + CUSTOS_RECORD_HEADER_LEN;
      gsize len = r->length - CUSTOS_RECORD_HEADER_LEN;
      g_autoptr (GError) error = NULL;

      if (r->type == CUSTOS_RECORD_RECIPIENT)
        {
          CustosRecipientRecord rr;
          g_autofree char *hex = NULL;

          g_assert_true (custos_recipient_record_parse (body, len, &rr, NULL));
          g_assert_cmpmem (rr.recipient_id, 32, custos_certificate_get_fingerprint (cert), 32);
          g_clear_pointer (&kek, custos_secret_unref);
          kek = custos_unwrap_kek (key, rr.alg, rr.recipient_id, rr.epoch,
                                   g_bytes_get_data (rr.wrapped, NULL),
                                   g_bytes_get_size (rr.wrapped), &error);
          g_assert_no_error (error);
          hex = custos_hex_encode (custos_secret_peek (kek), 16);
          g_assert_cmpstr (hex, ==, json_object_get_string_member (expected, "kek"));
          custos_recipient_record_clear (&rr);
        }
      else if (r->type == CUSTOS_RECORD_KEY)
        {
          CustosKeyRecord kr;
          g_autofree char *hex = NULL;

          g_assert_true (custos_key_record_parse (body, len, &kr, NULL));
          g_clear_pointer (&period_key, custos_secret_unref);
          period_key = custos_kwp_unwrap (kek, kr.wrapped, kr.wrapped_len, &error);
          g_assert_no_error (error);
          hex = custos_hex_encode (custos_secret_peek (period_key), 16);
          g_assert_cmpstr (hex, ==, json_object_get_string_member (expected, "period_key"));
        }
      else if (r->type == CUSTOS_RECORD_DATA)
        {
          g_autoptr (CustosAead) aead = custos_aead_new (period_key, &error);
          CustosDataRecord d;
          guint8 nonce[12], digest[32];
          g_autofree guint8 *plain = NULL;
          g_autofree char *hex = NULL;

          g_assert_true (custos_data_record_parse (r->flags, body, len, &d, NULL));
          /* nonce = stream || counter (u24) || period (u32) || 0000 */
          custos_data_record_nonce (&d, nonce);
          g_assert_cmpuint (nonce[0], ==, d.stream);
          g_assert_cmpuint (custos_read_u24 (nonce + 1), ==, d.counter);
          g_assert_cmpuint (custos_read_u32 (nonce + 4), ==, d.period);
          plain = g_malloc (d.payload_len + 1);
          custos_aead_decrypt (aead, nonce, p + r->offset, 6 + d.prefix_len, d.payload,
                               d.payload_len, plain, d.tag, &error);
          g_assert_no_error (error);
          custos_sha256 (plain, d.payload_len, digest);
          hex = custos_hex_encode (digest, 32);
          g_assert_cmpstr (hex, ==, json_array_get_string_element (hashes, n++));
        }
    }
  g_assert_cmpuint (n, ==, json_array_get_length (hashes));
}

static void
test_known_answer_file (void)
{
  g_autofree char *fusion = data_path ("kat-v1.fusion");
  g_autofree char *json = data_path ("kat-v1.json");
  g_autofree char *cert = data_path ("kat-recipient.cert.pem");
  g_autofree char *key = data_path ("kat-recipient.key.pem");
  g_autofree char *signer = data_path ("kat-signer.cert.pem");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (fusion, FALSE, &error);
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (cert, key);
  g_autoptr (GPtrArray) packets = NULL;
  g_autoptr (CustosReport) report = NULL;
  JsonObject *expected;
  JsonArray *hashes;

  g_assert_no_error (error);
  file = g_mapped_file_get_bytes (mapped);
  json_parser_load_from_file (parser, json, &error);
  g_assert_no_error (error);
  expected = json_node_get_object (json_parser_get_root (parser));
  hashes = json_object_get_array_member (expected, "packet_sha256");

  packets = custos_test_fusion_read (file, CUSTOS_KEY_PROVIDER (provider), signer, &report);
  g_assert_cmpuint (packets->len, ==, json_array_get_length (hashes));
  for (guint i = 0; i < packets->len; i++)
    {
      CustosPacket *p = packets->pdata[i];
      guint8 digest[32];
      g_autofree char *hex = NULL;

      g_assert_cmpint (p->status, ==, CUSTOS_PACKET_OK);
      custos_sha256 (g_bytes_get_data (p->payload, NULL), g_bytes_get_size (p->payload), digest);
      hex = custos_hex_encode (digest, 32);
      g_assert_cmpstr (hex, ==, json_array_get_string_element (hashes, i));
    }
  g_assert_cmpuint (report->segments_failed, ==, 0);
  g_assert_cmpuint (report->verified, >=, packets->len);
  kat_decode_by_hand (file, expected);
}

/* The first video packet after seeking reader to t, and the bytes the
 * seek itself read. */
static CustosPacket *
seek_first_video (CustosReader *reader,
                  gint64        t,
                  guint64      *seek_bytes)
{
  g_autoptr (GError) error = NULL;
  guint64 before = custos_reader_get_bytes_read (reader);
  CustosPacket *p;

  custos_reader_seek (reader, t, NULL, &error);
  g_assert_no_error (error);
  *seek_bytes = custos_reader_get_bytes_read (reader) - before;
  while ((p = custos_reader_next_packet (reader, NULL, &error)) != NULL && p->stream != 0)
    custos_packet_unref (p);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* Seeking again in a file without an index does not scan it again, and a
 * file that grew since (an unfinished recording) is scanned on from where
 * the last scan stopped: each seek lands where the indexed file's does. */
static void
test_seek_without_index_again (void)
{
  Identity *who = identity ("rsa:2048", "rsa2048");
  g_autoptr (GPtrArray) recipients = certs_of (who, NULL);
  g_autoptr (CustosLocalKeyProvider) provider = custos_test_provider (who->cert, who->key);
  g_autoptr (GBytes) indexed = NULL, bare = NULL;
  g_autoptr (CustosReader) want = NULL, got = NULL;
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GFile) gfile = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  const guint8 *data;
  gsize size, half;
  CustosTestSpec spec;
  gint64 targets[] = { 20500000, 3200000, 11000000, 19000000, 55300000, 40100000 };
  guint64 first_scan = 0;

  custos_test_spec_init (&spec);
  spec.seconds = 60;
  spec.max_payload = 8000;
  indexed = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  spec.indexed = FALSE;
  bare = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);
  data = g_bytes_get_data (bare, &size);
  /* The first 25 s or so, as a recording still being written. */
  half = size * 25 / 60;
  path = custos_test_write_file ("growing.fusion", data, half);
  gfile = g_file_new_for_path (path);
  in = g_file_read (gfile, NULL, &error);
  g_assert_no_error (error);
  want = custos_reader_new_for_bytes (indexed);
  got = custos_reader_new (G_INPUT_STREAM (in));
  custos_reader_set_key_provider (want, CUSTOS_KEY_PROVIDER (provider));
  custos_reader_set_key_provider (got, CUSTOS_KEY_PROVIDER (provider));

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      gint64 t = spec.start_us + targets[i];
      g_autoptr (CustosPacket) a = NULL, b = NULL;
      guint64 bytes, ignored;

      if (i == 4)
        {
          /* The recording goes on. */
          g_autoptr (GFileOutputStream) out = g_file_append_to (gfile, G_FILE_CREATE_NONE, NULL, &error);

          g_assert_no_error (error);
          g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (out), data + half, size - half,
                                                    NULL, NULL, &error));
          g_assert_no_error (error);
        }
      a = seek_first_video (want, t, &ignored);
      b = seek_first_video (got, t, &bytes);
      g_assert_true (b->flags & CUSTOS_DATA_FLAG_KEYFRAME);
      g_assert_cmpint (b->pts_us, ==, a->pts_us);
      g_assert_cmpuint (b->counter, ==, a->counter);
      custos_test_assert_payload (&spec, b);
      if (i == 0)
        first_scan = bytes;
      /* Behind the first seek's scan: no second scan. */
      else if (i < 4)
        g_assert_cmpuint (bytes, <, first_scan / 4);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/format/roundtrip/rsa-oaep", test_roundtrip_rsa);
  g_test_add_func ("/format/roundtrip/ecdh-p256", test_roundtrip_p256);
  g_test_add_func ("/format/roundtrip/ecdh-p384", test_roundtrip_p384);
  g_test_add_func ("/format/roundtrip/rsa-pkcs1-legacy", test_roundtrip_legacy);
  g_test_add_func ("/format/legacy-refused-by-default", test_legacy_refused);
  g_test_add_func ("/format/plain-stream", test_plain_stream);
  g_test_add_func ("/format/one-unwrap-per-epoch", test_one_unwrap_per_epoch);
  g_test_add_func ("/format/enrolled-later", test_enrolled_later);
  g_test_add_func ("/format/own-key-stream-only", test_own_key_stream_only);
  g_test_add_func ("/format/key-per-stream-and-period", test_key_per_stream_and_period);
  g_test_add_func ("/format/seek", test_seek);
  g_test_add_func ("/format/seek-without-index", test_seek_without_index);
  g_test_add_func ("/format/seek-without-index-again", test_seek_without_index_again);
  g_test_add_func ("/format/read-bytes", test_read_bytes);
  g_test_add_func ("/format/card-removed-wipes-reader", test_card_removed_wipes_reader);
  g_test_add_func ("/format/card-removed-while-reading", test_card_removed_while_reading);
  g_test_add_func ("/format/rewrap-extra-recipient", test_rewrap_extra_recipient);
  g_test_add_func ("/format/known-answer-file", test_known_answer_file);

  return g_test_run ();
}
