/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosExportJob, the export dialog's work, on a real recording: H.264
 * from x264enc muxed by custosmux, encrypted to Alice and sealed. A time
 * range goes to a decrypted MP4 that ffprobe reads, or to an encrypted
 * .fusion that an extra recipient (Bob) opens with his own key; each comes
 * with NAME.report.json and NAME.report.txt. Cancelling leaves nothing
 * under the final names; an export never replaces an earlier one.
 */
#define G_LOG_DOMAIN "test-export-job"

#include "config.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-export-job.h"
#include "custos-local-key-provider.h"
#include "custos-reader.h"
#include "custos-test-fusion.h"
#include "custos-test-util.h"

#define START_US G_GINT64_CONSTANT (1795293240000000) /* 2026-11-21T20:34:00Z */
#define SECOND G_USEC_PER_SEC
#define WAIT_MS 120000

static char    *recording;
static char    *alice_cert, *alice_key, *bob_cert, *bob_key;
static char    *signer_cert, *signer_key;
static gboolean have_tools;

static void
make_recording (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstElement) mux = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  const char      *recipients[] = { alice_cert, NULL };
  g_autofree char *description = NULL;

  recording = g_build_filename (custos_test_tmpdir (), "gate.fusion", NULL);
  description =
      g_strdup_printf ("videotestsrc num-buffers=180 pattern=smpte ! "
                       "video/x-raw,width=320,height=240,framerate=30/1,format=I420 ! "
                       "x264enc threads=1 key-int-max=30 bframes=0 speed-preset=superfast ! "
                       "video/x-h264,stream-format=byte-stream,alignment=au ! "
                       "custosmux name=mux period-ms=2000 seal-ms=1000 camera-name=Gate ! "
                       "filesink location=\"%s\"",
                       recording);
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  mux = gst_bin_get_by_name (GST_BIN (pipeline), "mux");
  g_object_set (mux, "recipients", recipients, "signer-key", signer_key, "signer-cert", signer_cert,
                "start-utc", START_US, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) gst_error = NULL;

      gst_message_parse_error (msg, &gst_error, NULL);
      g_error ("recording failed: %s", gst_error->message);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static CustosKeyProvider *
provider_for (const char *cert, const char *key)
{
  g_autoptr (GError) error = NULL;
  CustosLocalKeyProvider *provider = custos_local_key_provider_new ();

  custos_local_key_provider_add_key (provider, key, cert, NULL, &error);
  g_assert_no_error (error);
  return CUSTOS_KEY_PROVIDER (provider);
}

static GFile *
fresh_folder (const char *name)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return g_file_new_for_path (path);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
run_job (CustosExportJob *job, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  custos_export_job_run_async (job, cancellable, on_done, &result);
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  return custos_export_job_run_finish (job, result, error);
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

static char *
load_text (GFile *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  char            *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static guint
count_children (GFile *folder)
{
  g_autoptr (GFileEnumerator) e =
      g_file_enumerate_children (folder, "standard::name", G_FILE_QUERY_INFO_NONE, NULL, NULL);
  guint n = 0;

  while (g_file_enumerator_next_file (e, NULL, NULL) != NULL)
    n++;
  return n;
}

/* Two seconds of video as a decrypted MP4, with its report. */
static void
test_mp4 (void)
{
  g_autoptr (GFile) input = g_file_new_for_path (recording);
  g_autoptr (GFile) folder = fresh_folder ("mp4");
  g_autoptr (CustosKeyProvider) alice = provider_for (alice_cert, alice_key);
  g_autoptr (CustosExportJob) job = NULL;
  g_autoptr (CustosExportJob) again = NULL;
  g_autoptr (JsonObject) probe = NULL;
  g_autoptr (JsonObject) report = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  JsonObject      *stream, *packets;
  gboolean         has_signer;
  gint64           frames;

  if (!have_tools)
    {
      g_test_skip ("ffprobe or x264enc is not installed");
      return;
    }

  job = custos_export_job_new (input, folder, "Gate 20:34", CUSTOS_EXPORT_FORMAT_MP4);
  custos_export_job_set_key_provider (job, alice, NULL);
  custos_export_job_set_range (job, START_US + 1 * SECOND, START_US + 3 * SECOND);
  g_assert_true (run_job (job, NULL, &error) || error != NULL);
  g_assert_no_error (error);
  g_assert_cmpfloat (custos_export_job_get_fraction (job), ==, 1.0);

  name = g_file_get_basename (custos_export_job_get_output (job));
  g_assert_cmpstr (name, ==, "Gate 20:34.mp4");
  {
    g_autofree char *output = g_file_get_path (custos_export_job_get_output (job));

    probe = custos_test_ffprobe (output, NULL);
  }
  stream = json_array_get_object_element (json_object_get_array_member (probe, "streams"), 0);
  g_assert_cmpstr (json_object_get_string_member (stream, "codec_name"), ==, "h264");
  g_assert_cmpint (json_object_get_int_member (stream, "width"), ==, 320);
  frames = g_ascii_strtoll (json_object_get_string_member (stream, "nb_read_frames"), NULL, 10);
  /* 1 s to 3 s at 30 fps, from the keyframe at 1 s: about 61 frames. */
  g_assert_cmpint (frames, >=, 60);
  g_assert_cmpint (frames, <=, 62);

  report = load_json (custos_export_job_get_report_json (job));
  g_assert_cmpstr (json_object_get_string_member (report, "file"), ==, "Gate 20:34.mp4");
  g_assert_cmpstr (json_object_get_string_member (report, "format"), ==, "mp4");
  packets = json_object_get_object_member (report, "packets");
  g_assert_cmpint (json_object_get_int_member (packets, "verified"), >=, frames);
  g_assert_cmpint (json_object_get_int_member (packets, "altered"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (packets, "missing"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "locked_key_periods"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "video_frames"), ==, frames);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "signers")), ==,
                    1);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (report, "exported"), "from"),
      ==, "2026-11-21T20:34:01.000000Z");

  text = load_text (custos_export_job_get_report_text (job));
  g_assert_nonnull (strstr (text, "Gate 20:34.mp4"));
  has_signer = strstr (text, "Signer:      O=Custos Tests,CN=signer") != NULL;
  g_assert_true (has_signer);
  g_assert_nonnull (strstr (text, "Altered:     0 packets"));
  g_assert_nonnull (strstr (text, "Result: every exported packet is verified"));
  g_assert_cmpuint (count_children (folder), ==, 3);

  /* Again into the same folder: a new name, the first one untouched. */
  again = custos_export_job_new (input, folder, "Gate 20:34", CUSTOS_EXPORT_FORMAT_MP4);
  custos_export_job_set_key_provider (again, alice, NULL);
  custos_export_job_set_range (again, START_US + 1 * SECOND, START_US + 2 * SECOND);
  g_assert_true (run_job (again, NULL, &error));
  g_clear_pointer (&name, g_free);
  name = g_file_get_basename (custos_export_job_get_output (again));
  g_assert_cmpstr (name, ==, "Gate 20:34 (2).mp4");
  g_clear_pointer (&name, g_free);
  name = g_file_get_basename (custos_export_job_get_report_json (again));
  g_assert_cmpstr (name, ==, "Gate 20:34 (2).report.json");
  g_assert_cmpuint (count_children (folder), ==, 6);
}

/* The range as an encrypted .fusion, re-wrapped for Bob, who opens it
 * with his own key. */
static void
test_fusion (void)
{
  g_autoptr (GFile) input = g_file_new_for_path (recording);
  g_autoptr (GFile) folder = fresh_folder ("fusion");
  g_autoptr (CustosKeyProvider) alice = provider_for (alice_cert, alice_key);
  g_autoptr (CustosKeyProvider) bob = provider_for (bob_cert, bob_key);
  g_autoptr (CustosExportJob) job = NULL;
  g_autoptr (GPtrArray) recipients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (CustosCertificate) bob_certificate = NULL;
  g_autoptr (JsonObject) report = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) data = NULL;
  g_autoptr (GPtrArray) read = NULL;
  g_autoptr (CustosReport) bob_report = NULL;
  g_autofree char *output = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *bob_fp = NULL;
  JsonArray       *array;
  gsize            len;

  if (!have_tools)
    {
      g_test_skip ("ffprobe or x264enc is not installed");
      return;
    }
  bob_certificate = custos_certificate_new_from_file (bob_cert, &error);
  g_assert_no_error (error);
  g_ptr_array_add (recipients, g_object_ref (bob_certificate));

  job = custos_export_job_new (input, folder, "Gate", CUSTOS_EXPORT_FORMAT_FUSION);
  custos_export_job_set_key_provider (job, alice, NULL);
  custos_export_job_set_range (job, START_US + 2 * SECOND, START_US + 4 * SECOND);
  custos_export_job_set_recipients (job, recipients);
  g_assert_true (run_job (job, NULL, &error) || error != NULL);
  g_assert_no_error (error);

  output = g_file_get_path (custos_export_job_get_output (job));
  g_assert_true (g_str_has_suffix (output, "/Gate.fusion"));
  g_file_get_contents (output, &contents, &len, &error);
  g_assert_no_error (error);
  data = g_bytes_new_take (g_steal_pointer (&contents), len);
  read = custos_test_fusion_read (data, bob, NULL, &bob_report);
  g_assert_cmpuint (bob_report->decrypted, >=, 60);
  g_assert_cmpuint (bob_report->locked, ==, 0);
  g_assert_cmpuint (bob_report->altered, ==, 0);

  report = load_json (custos_export_job_get_report_json (job));
  g_assert_cmpstr (json_object_get_string_member (report, "format"), ==, "fusion");
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (report, "packets"), "verified"),
      ==, bob_report->verified);
  g_assert_cmpint (json_object_get_int_member (report, "locked_packets"), ==, 0);
  array = json_object_get_array_member (report, "recipients");
  bob_fp = custos_certificate_dup_fingerprint_hex (bob_certificate);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (array, 0), ==, bob_fp);
  g_assert_true (g_file_query_exists (custos_export_job_get_report_text (job), NULL));
}

static void
cancel_on_progress (CustosExportJob *job, GParamSpec *pspec, GCancellable *cancellable)
{
  if (custos_export_job_get_fraction (job) > 0.0)
    g_cancellable_cancel (cancellable);
}

/* Cancelled while it runs: an error, and nothing in the folder. */
static void
test_cancel (gconstpointer data)
{
  CustosExportFormat format = GPOINTER_TO_INT (data);
  g_autoptr (GFile) input = g_file_new_for_path (recording);
  g_autoptr (GFile) folder =
      fresh_folder (format == CUSTOS_EXPORT_FORMAT_MP4 ? "cancel-mp4" : "cancel-fusion");
  g_autoptr (CustosKeyProvider) alice = provider_for (alice_cert, alice_key);
  g_autoptr (CustosExportJob) job = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  if (!have_tools)
    {
      g_test_skip ("ffprobe or x264enc is not installed");
      return;
    }

  job = custos_export_job_new (input, folder, "Gate", format);
  custos_export_job_set_key_provider (job, alice, NULL);
  g_signal_connect (job, "notify::fraction", G_CALLBACK (cancel_on_progress), cancellable);
  g_assert_false (run_job (job, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_assert_false (g_file_query_exists (custos_export_job_get_output (job), NULL));
  g_assert_false (g_file_query_exists (custos_export_job_get_report_json (job), NULL));
  g_assert_cmpuint (count_children (folder), ==, 0);
}

static gboolean
tools_available (void)
{
  g_autofree char *ffprobe_path = g_find_program_in_path ("ffprobe");
  g_autoptr (GstElementFactory) x264 = gst_element_factory_find ("x264enc");

  return ffprobe_path != NULL && x264 != NULL;
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);

  custos_test_make_cert ("ec:P-256", "alice", &alice_cert, &alice_key);
  custos_test_make_cert ("rsa:2048", "bob", &bob_cert, &bob_key);
  custos_test_make_cert ("ec:P-256", "signer", &signer_cert, &signer_key);
  have_tools = tools_available ();
  if (have_tools)
    make_recording ();

  g_test_add_func ("/export-job/mp4", test_mp4);
  g_test_add_func ("/export-job/fusion", test_fusion);
  g_test_add_data_func ("/export-job/cancel/mp4", GINT_TO_POINTER (CUSTOS_EXPORT_FORMAT_MP4),
                        test_cancel);
  g_test_add_data_func ("/export-job/cancel/fusion", GINT_TO_POINTER (CUSTOS_EXPORT_FORMAT_FUSION),
                        test_cancel);
  return g_test_run ();
}
