/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosExportJob with an archiver camera as the source, against the real
 * custos-archiver with real TLS: Alice (enrolled) exports four seconds of
 * the encrypted camera as an MP4 that ffprobe reads, and as a .fusion
 * re-wrapped for Bob (not enrolled), who opens it with his own key; each
 * with its two reports, and no hidden file left behind.
 */
#define G_LOG_DOMAIN "test-export-archiver"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-test-fusion.h"
#include "archiver-test-util.h"
#include "custos-export-job.h"
#include "custos-local-key-provider.h"
#include "custos-record.h"
#include "custos-test-util.h"

static const char cameras[] =
    "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
    "[camera gate]\nname=Gate\n"
    "source=videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=320,height=240,framerate=15/1\n"
    "encrypted=true\n";

static TestArchiver *archiver;
static TestClient   *alice;
static TestClient   *bob;

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static CustosArchiverClient *
client_new (TestClient *who)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  CustosArchiverClient *client = custos_archiver_client_new (archiver->base_url, &error);

  g_assert_no_error (error);
  custos_archiver_client_set_ca_file (client, test_pki_ca_cert (), &error);
  g_assert_no_error (error);
  cert = g_tls_certificate_new_from_files (who->cert_path, who->key_path, &error);
  g_assert_no_error (error);
  custos_archiver_client_set_client_certificate (client, cert);
  return client;
}

/* A recorded span of gate at least `seconds` long. */
static void
wait_for_recording (CustosArchiverClient *client, gint64 seconds, gint64 *from_us, gint64 *to_us)
{
  gint64 deadline = g_get_monotonic_time () + (seconds + 20) * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) ranges = NULL;

      custos_archiver_client_get_ranges_async (client, "gate", NULL, on_done, &result);
      ranges = custos_archiver_client_get_ranges_finish (client, wait_for (&result), &error);
      g_assert_no_error (error);
      if (ranges->len > 0)
        {
          CustosTimeRange *r = &g_array_index (ranges, CustosTimeRange, 0);

          *from_us = r->from_us;
          *to_us = r->to_us;
          if (r->to_us - r->from_us >= seconds * G_USEC_PER_SEC)
            return;
        }
      g_usleep (200 * 1000);
    }
  g_error ("gate did not record %" G_GINT64_FORMAT " s", seconds);
}

static CustosKeyProvider *
provider_for (TestClient *who)
{
  return CUSTOS_KEY_PROVIDER (custos_test_provider (who->cert_path, who->key_path));
}

static GFile *
fresh_folder (const char *name)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return g_file_new_for_path (path);
}

static guint
count_children (GFile *folder)
{
  g_autoptr (GFileEnumerator) e =
      g_file_enumerate_children (folder, "standard::name", G_FILE_QUERY_INFO_NONE, NULL, NULL);
  GFileInfo *info;
  guint      n = 0;

  while ((info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
    {
      n++;
      g_object_unref (info);
    }
  return n;
}

static gboolean
run_job (CustosExportJob *job, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_export_job_run_async (job, NULL, on_done, &result);
  return custos_export_job_run_finish (job, wait_for (&result), error);
}

static JsonObject *
load_json (GFile *file)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* 15 frames a second: one frame is the tolerance of what a user checks
 * (and 1 ms for the rounding of ffprobe's and the MP4's times). */
#define FRAME_US (G_USEC_PER_SEC / 15 + 1000)

/* The UTC of the MP4's first frame, as players show it: its comment (the
 * creation time of an MP4 holds whole seconds only). */
static gint64
start_time_us (JsonObject *probe)
{
  JsonObject *tags =
      json_object_get_object_member (json_object_get_object_member (probe, "format"), "tags");
  const char      *comment, *from;
  g_autofree char *iso = NULL;
  g_autoptr (GDateTime) dt = NULL;

  g_assert_nonnull (tags);
  comment = json_object_get_string_member (tags, "comment");
  g_assert_nonnull (comment);
  from = strstr (comment, "Recorded from ");
  g_assert_nonnull (from);
  from += strlen ("Recorded from ");
  iso = g_strndup (from, strcspn (from, " "));
  dt = g_date_time_new_from_iso8601 (iso, NULL);
  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* Offsets of the keyframes in data that begin a segment without a sync
 * point: a fetched range cannot start there (wire responses start at a
 * sync point), so an export from there is cut, not sent that way. */
static GHashTable *
keyframes_without_sync (GBytes *data)
{
  GHashTable   *out = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  gsize         len;
  const guint8 *p = g_bytes_get_data (data, &len);
  gboolean      in_sync = FALSE, segment_start = TRUE;
  gsize         pos = 0;

  while (pos + CUSTOS_RECORD_HEADER_LEN <= len)
    {
      CustosRecordHeader h;

      if (!custos_record_header_parse (p + pos, len - pos, &h, NULL) ||
          pos + CUSTOS_RECORD_HEADER_LEN + h.length > len)
        break;
      if (h.type == CUSTOS_RECORD_FILE_HEADER)
        in_sync = TRUE;
      else if (h.type == CUSTOS_RECORD_SEAL)
        {
          in_sync = FALSE;
          segment_start = TRUE;
        }
      else if (h.type == CUSTOS_RECORD_DATA)
        {
          if (segment_start && !in_sync && (h.flags & CUSTOS_DATA_FLAG_KEYFRAME))
            g_hash_table_add (out, g_memdup2 (&(gint64){ pos }, sizeof (gint64)));
          segment_start = FALSE;
        }
      pos += CUSTOS_RECORD_HEADER_LEN + h.length;
    }
  return out;
}

/* The UTC of the first video keyframe at or after after_us that a fetched
 * range cannot start at, from the camera's files on the archiver's disk. */
static gint64
keyframe_inside_segments (gint64 after_us)
{
  g_autoptr (GPtrArray) files = test_camera_files (archiver, "gate", TRUE);

  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (GMappedFile) mapped = g_mapped_file_new (files->pdata[i], FALSE, NULL);
      g_autoptr (GBytes) data = NULL;
      g_autoptr (GHashTable) inside = NULL;
      g_autoptr (CustosReader) reader = NULL;
      CustosPacket *p;

      if (mapped == NULL)
        continue;
      data = g_mapped_file_get_bytes (mapped);
      inside = keyframes_without_sync (data);
      reader = custos_reader_new_for_bytes (data);
      custos_reader_set_decrypt (reader, FALSE);
      while ((p = custos_reader_next_packet (reader, NULL, NULL)) != NULL)
        {
          gint64   offset = (gint64) p->offset;
          gint64   utc_us = p->utc_us;
          gboolean found =
              p->stream == 0 && utc_us >= after_us && g_hash_table_contains (inside, &offset);

          custos_packet_unref (p);
          if (found)
            return utc_us;
        }
    }
  g_error ("no keyframe inside a segment after %" G_GINT64_FORMAT, after_us);
}

static void
test_mp4 (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (alice);
  g_autoptr (CustosKeyProvider) keys = provider_for (alice);
  g_autoptr (GFile) folder = fresh_folder ("archiver-mp4");
  g_autoptr (CustosExportJob) job = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = NULL;
  g_autoptr (JsonObject) probe = NULL;
  g_autofree char *path = NULL;
  g_autofree char *from_iso = NULL;
  g_autofree char *start_iso = NULL;
  JsonObject      *stream;
  gint64           from_us, to_us, frames, duration_us;

  wait_for_recording (client, 6, &from_us, &to_us);
  /* A range from a keyframe that the archiver can only send with the
   * segments before it (the sync point in force, up to 2 s earlier): an
   * MP4 export starts at the keyframe at or before `from` (it copies
   * H.264, it cannot start between keyframes), so this is the time a
   * user sees it start at. */
  from_us = keyframe_inside_segments (from_us + G_USEC_PER_SEC);
  to_us = from_us + 3 * G_USEC_PER_SEC;
  job =
      custos_export_job_new_for_archiver (client, "gate", folder, "Gate", CUSTOS_EXPORT_FORMAT_MP4);
  custos_export_job_set_key_provider (job, keys, NULL);
  custos_export_job_set_range (job, from_us, to_us);
  run_job (job, &error);
  g_assert_no_error (error);

  path = g_file_get_path (custos_export_job_get_output (job));
  probe = custos_test_ffprobe (path, "v:0");
  stream = json_array_get_object_element (json_object_get_array_member (probe, "streams"), 0);
  g_assert_cmpstr (json_object_get_string_member (stream, "codec_name"), ==, "h264");
  frames = g_ascii_strtoll (json_object_get_string_member (stream, "nb_read_frames"), NULL, 10);
  duration_us =
      (gint64) (g_ascii_strtod (json_object_get_string_member (stream, "duration"), NULL) *
                G_USEC_PER_SEC);
  g_test_message ("asked for %s + 3 s; the MP4 starts at %s and lasts %" G_GINT64_FORMAT
                  " µs, %" G_GINT64_FORMAT " frames",
                  from_iso = test_iso (from_us), start_iso = test_iso (start_time_us (probe)),
                  duration_us, frames);
  /* The three seconds asked for at 15 fps, to the frame: not the whole
   * segments the archiver sent around them. */
  g_assert_cmpint (frames, >=, 45 - 1);
  g_assert_cmpint (frames, <=, 45 + 1);
  g_assert_cmpint (ABS (duration_us - 3 * G_USEC_PER_SEC), <=, FRAME_US);
  g_assert_cmpint (ABS (start_time_us (probe) - from_us), <=, FRAME_US);

  report = load_json (custos_export_job_get_report_json (job));
  g_assert_cmpint (json_object_get_int_member (report, "video_frames"), ==, frames);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (report, "packets"), "altered"), ==,
      0);
  g_assert_cmpint (json_object_get_int_member (report, "locked_key_periods"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "signers")), ==,
                    1);
  /* The fetched stream is gone: the MP4 and its two reports. */
  g_assert_cmpuint (count_children (folder), ==, 3);
}

static void
test_fusion_for_bob (void)
{
  g_autoptr (CustosArchiverClient) client = client_new (alice);
  g_autoptr (CustosKeyProvider) keys = provider_for (alice);
  g_autoptr (GFile) folder = fresh_folder ("archiver-fusion");
  g_autoptr (CustosExportJob) job = NULL;
  g_autoptr (GPtrArray) recipients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (TestRead) as_bob = NULL;
  g_autoptr (TestRead) as_nobody = NULL;
  g_autofree char *path = NULL;
  g_autofree char *from_iso = NULL;
  g_autofree char *first_iso = NULL;
  g_autofree char *last_iso = NULL;
  gint64           from_us, to_us;

  wait_for_recording (client, 5, &from_us, &to_us);
  g_ptr_array_add (recipients, g_object_ref (bob->cert));
  job = custos_export_job_new_for_archiver (client, "gate", folder, "Gate",
                                            CUSTOS_EXPORT_FORMAT_FUSION);
  custos_export_job_set_key_provider (job, keys, NULL);
  custos_export_job_set_recipients (job, recipients);
  custos_export_job_set_range (job, from_us + G_USEC_PER_SEC, from_us + 4 * G_USEC_PER_SEC);
  run_job (job, &error);
  g_assert_no_error (error);

  path = g_file_get_path (custos_export_job_get_output (job));
  as_bob = test_read_file (path, bob);
  as_nobody = test_read_file (path, NULL);
  g_test_message ("asked for %s + 3 s; the .fusion holds %s to %s",
                  from_iso = test_iso (from_us + G_USEC_PER_SEC),
                  first_iso = test_iso (as_bob->first_us), last_iso = test_iso (as_bob->last_us));
  g_assert_cmpuint (as_bob->video, >=, 45);
  /* Whole segments, as a .fusion export of a file (fusion-stream.md
   * §7.1): from the sync point in force at the segment holding `from`
   * (sync points every period, 2 s; segments of 0.5 s) to the seal of
   * the segment holding `to`. */
  g_assert_cmpint (as_bob->first_us, <=, from_us + G_USEC_PER_SEC);
  g_assert_cmpint (as_bob->first_us, >, from_us + G_USEC_PER_SEC - 3 * G_USEC_PER_SEC);
  g_assert_cmpint (as_bob->last_us, >=, from_us + 4 * G_USEC_PER_SEC - FRAME_US);
  g_assert_cmpint (as_bob->last_us, <, from_us + 4 * G_USEC_PER_SEC + G_USEC_PER_SEC);
  g_assert_cmpuint (as_bob->locked, ==, 0);
  g_assert_cmpuint (as_bob->altered, ==, 0);
  g_assert_cmpuint (as_bob->ok, ==, as_bob->packets);
  /* Without a key nothing opens: the export is still encrypted. */
  g_assert_cmpuint (as_nobody->ok, ==, 0);
  g_assert_cmpuint (as_nobody->locked, ==, as_bob->packets);
  g_assert_true (g_file_query_exists (custos_export_job_get_report_text (job), NULL));
  g_assert_cmpuint (count_children (folder), ==, 3);
}

int
main (int argc, char *argv[])
{
  int result;

  g_test_init (&argc, &argv, NULL);
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  bob = test_client_new ("bob", "rsa:2048", 0, 0);
  archiver = test_archiver_new ("export", NULL, cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_start (archiver);

  g_test_add_func ("/export-archiver/mp4", test_mp4);
  g_test_add_func ("/export-archiver/fusion-for-bob", test_fusion_for_bob);
  result = g_test_run ();

  test_archiver_free (archiver);
  test_client_free (alice);
  test_client_free (bob);
  return result;
}
