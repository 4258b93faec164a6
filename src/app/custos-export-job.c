/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-export-job"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "custos-export-job.h"
#include "custos-export.h"
#include "custos-media-export.h"
#include "custos-reader.h"
#include "custos-rewrap.h"
#include "custos-utc.h"

/* Progress over the whole job: the export, then the verification. */
#define EXPORT_SHARE 0.9

typedef struct
{
  guint64    verified;
  guint64    unsigned_packets;
  guint64    altered;
  guint64    missing;
  guint64    locked;       /* packets (.fusion) or key periods (MP4) */
  guint64    video_frames; /* MP4 only */
  guint      segments;
  gint64     first_utc_us;
  gint64     last_utc_us;
  GPtrArray *signers;         /* CustosCertificate */
  GArray    *signers_trusted; /* gboolean */
  GPtrArray *problems;        /* char * */
} Findings;

struct _CustosExportJob
{
  GObject parent_instance;

  GFile             *input;
  GFile             *folder;
  char              *name;
  CustosExportFormat format;
  CustosKeyProvider *provider;
  GTlsInteraction   *interaction;
  GPtrArray         *recipients;
  char              *ca_file;
  gint64             from_us;
  gint64             to_us;

  CustosArchiverClient *client; /* or NULL: input is a local file */
  char                 *camera_id;
  GFile                *fetched; /* the archiver's stream, while the job runs */
  GFile                *output;
  GFile                *part;
  GFile                *report_json;
  GFile                *report_text;

  double             fraction;
  gint64             started_us;
  gboolean           started;
  gint64             origin_us; /* stream time = UTC - origin */
  CustosMediaExport *media;
  Findings           findings;
};

G_DEFINE_FINAL_TYPE (CustosExportJob, custos_export_job, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_FRACTION,
  PROP_SECONDS_LEFT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
findings_clear (Findings *findings)
{
  g_clear_pointer (&findings->signers, g_ptr_array_unref);
  g_clear_pointer (&findings->signers_trusted, g_array_unref);
  g_clear_pointer (&findings->problems, g_ptr_array_unref);
}

static void
findings_init (Findings *findings)
{
  findings_clear (findings);
  memset (findings, 0, sizeof *findings);
  findings->first_utc_us = G_MININT64;
  findings->last_utc_us = G_MININT64;
  findings->signers = g_ptr_array_new_with_free_func (g_object_unref);
  findings->signers_trusted = g_array_new (FALSE, FALSE, sizeof (gboolean));
  findings->problems = g_ptr_array_new_with_free_func (g_free);
}

static void
add_signers (Findings *findings, CustosReader *reader)
{
  GPtrArray *signers = custos_reader_get_signers (reader);

  for (guint i = 0; signers != NULL && i < signers->len; i++)
    {
      CustosCertificate *cert = signers->pdata[i];
      gboolean           seen = FALSE;

      for (guint j = 0; j < findings->signers->len && !seen; j++)
        seen = custos_certificate_equal (findings->signers->pdata[j], cert);
      if (!seen)
        {
          gboolean trusted = FALSE;

          g_ptr_array_add (findings->signers, g_object_ref (cert));
          g_array_append_val (findings->signers_trusted, trusted);
        }
    }
}

/* Progress, on the main context */

static void
set_fraction (CustosExportJob *self, double fraction)
{
  fraction = CLAMP (fraction, 0.0, 1.0);
  if (fraction <= self->fraction)
    return;
  self->fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECONDS_LEFT]);
}

typedef struct
{
  GWeakRef ref;
  double   fraction;
} Progress;

static gboolean
progress_idle (gpointer data)
{
  Progress *progress = data;
  g_autoptr (CustosExportJob) self = g_weak_ref_get (&progress->ref);

  if (self != NULL)
    set_fraction (self, progress->fraction);
  g_weak_ref_clear (&progress->ref);
  g_free (progress);
  return G_SOURCE_REMOVE;
}

/* From a worker thread. */
static void
post_fraction (CustosExportJob *self, GMainContext *context, double fraction)
{
  Progress *progress = g_new0 (Progress, 1);
  g_autoptr (GSource) source = g_idle_source_new ();

  g_weak_ref_init (&progress->ref, self);
  progress->fraction = fraction;
  g_source_set_callback (source, progress_idle, progress, NULL);
  g_source_attach (source, context);
}

/* Names */

static const char *
extension (CustosExportFormat format)
{
  return format == CUSTOS_EXPORT_FORMAT_MP4 ? "mp4" : "fusion";
}

/* NAME.ext, or NAME (2).ext … when the folder has one already: an export
 * never replaces an earlier one. */
static void
choose_names (CustosExportJob *self)
{
  g_autofree char *stem = NULL;

  for (guint n = 1;; n++)
    {
      g_autofree char *file = NULL;

      g_free (stem);
      stem = n == 1 ? g_strdup (self->name) : g_strdup_printf ("%s (%u)", self->name, n);
      file = g_strdup_printf ("%s.%s", stem, extension (self->format));
      g_set_object (&self->output, NULL);
      self->output = g_file_get_child (self->folder, file);
      if (!g_file_query_exists (self->output, NULL))
        break;
    }

  {
    g_autofree char *part = g_strdup_printf (".%s.%s.part", stem, extension (self->format));
    g_autofree char *fetched = g_strdup_printf (".%s.source.fusion.part", stem);

    if (self->client != NULL)
      self->fetched = g_file_get_child (self->folder, fetched);
    g_autofree char *json = g_strdup_printf ("%s.report.json", stem);
    g_autofree char *text = g_strdup_printf ("%s.report.txt", stem);

    self->part = g_file_get_child (self->folder, part);
    self->report_json = g_file_get_child (self->folder, json);
    self->report_text = g_file_get_child (self->folder, text);
  }
}

/* The report */

static void
json_add_count (JsonBuilder *b, const char *member, guint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, (gint64) value);
}

static char *
report_json (CustosExportJob *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *input = g_file_get_parse_name (self->input);
  g_autofree char *output = g_file_get_basename (self->output);
  Findings        *f = &self->findings;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, output);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, extension (self->format));
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, input);
  json_builder_set_member_name (b, "requested");
  json_builder_begin_object (b);
  custos_utc_json_add (b, "from", self->from_us, 6);
  custos_utc_json_add (b, "to", self->to_us, 6);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "exported");
  json_builder_begin_object (b);
  custos_utc_json_add (b, "from", f->first_utc_us, 6);
  custos_utc_json_add (b, "to", f->last_utc_us, 6);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "packets");
  json_builder_begin_object (b);
  json_add_count (b, "verified", f->verified);
  json_add_count (b, "unsigned", f->unsigned_packets);
  json_add_count (b, "altered", f->altered);
  json_add_count (b, "missing", f->missing);
  json_builder_end_object (b);
  json_add_count (
      b, self->format == CUSTOS_EXPORT_FORMAT_MP4 ? "locked_key_periods" : "locked_packets",
      f->locked);
  if (self->format == CUSTOS_EXPORT_FORMAT_MP4)
    json_add_count (b, "video_frames", f->video_frames);
  json_add_count (b, "segments", f->segments);

  json_builder_set_member_name (b, "signers");
  json_builder_begin_array (b);
  for (guint i = 0; i < f->signers->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (f->signers->pdata[i]);
      g_autofree char *fp = custos_certificate_dup_fingerprint_hex (f->signers->pdata[i]);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, subject);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, fp);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; self->recipients != NULL && i < self->recipients->len; i++)
    {
      g_autofree char *fp = custos_certificate_dup_fingerprint_hex (self->recipients->pdata[i]);

      json_builder_add_string_value (b, fp);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < f->problems->len; i++)
    json_builder_add_string_value (b, f->problems->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

static char *
report_text (CustosExportJob *self)
{
  GString         *t = g_string_new (NULL);
  g_autofree char *input = g_file_get_parse_name (self->input);
  g_autofree char *output = g_file_get_basename (self->output);
  g_autofree char *first = custos_utc_format (self->findings.first_utc_us, 6);
  g_autofree char *last = custos_utc_format (self->findings.last_utc_us, 6);
  Findings        *f = &self->findings;
  gboolean         clean = f->altered == 0 && f->missing == 0 && f->unsigned_packets == 0;

  g_string_append_printf (t, _ ("Custos export verification report\n\n"));
  g_string_append_printf (t, _ ("File:        %s (%s)\n"), output,
                          self->format == CUSTOS_EXPORT_FORMAT_MP4 ? _ ("decrypted MP4")
                                                                   : _ ("encrypted .fusion"));
  g_string_append_printf (t, _ ("Source:      %s\n"), input);
  g_string_append_printf (t, _ ("Time range:  %s – %s (UTC)\n"), first ? first : _ ("unknown"),
                          last ? last : _ ("unknown"));
  g_string_append_printf (t, _ ("Segments:    %u\n"), f->segments);
  g_string_append_printf (t, _ ("Verified:    %" PRIu64 " packets\n"), f->verified);
  g_string_append_printf (t, _ ("Unsigned:    %" PRIu64 " packets\n"), f->unsigned_packets);
  g_string_append_printf (t, _ ("Altered:     %" PRIu64 " packets (left out)\n"), f->altered);
  g_string_append_printf (t, _ ("Missing:     %" PRIu64 " packets\n"), f->missing);
  if (self->format == CUSTOS_EXPORT_FORMAT_MP4)
    {
      g_string_append_printf (t, _ ("Locked:      %" PRIu64 " key periods (left out)\n"),
                              f->locked);
      g_string_append_printf (t, _ ("Frames:      %" PRIu64 " video frames written\n"),
                              f->video_frames);
    }
  else
    g_string_append_printf (t, _ ("Locked:      %" PRIu64 " packets (no key of yours)\n"),
                            f->locked);

  if (f->signers->len == 0)
    g_string_append (t, _ ("Signer:      none (the video is not signed)\n"));
  for (guint i = 0; i < f->signers->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (f->signers->pdata[i]);
      g_autofree char *fp = custos_certificate_dup_fingerprint_hex (f->signers->pdata[i]);

      g_string_append_printf (t, _ ("Signer:      %s\n             SHA-256 %s\n"), subject, fp);
    }
  if (f->signers->len > 0 && self->ca_file == NULL)
    g_string_append (t, _ ("             (not checked against a CA: compare the fingerprint)\n"));
  for (guint i = 0; self->recipients != NULL && i < self->recipients->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (self->recipients->pdata[i]);

      g_string_append_printf (t, _ ("Recipient:   %s\n"), subject);
    }
  for (guint i = 0; i < f->problems->len; i++)
    g_string_append_printf (t, _ ("Problem:     %s\n"), (const char *) f->problems->pdata[i]);

  g_string_append_printf (t, "\n%s\n",
                          clean ? _ ("Result: every exported packet is verified by its seal")
                                : _ ("Result: NOT everything is verified; see above"));
  return g_string_free (t, FALSE);
}

static gboolean
write_reports (CustosExportJob *self, GCancellable *cancellable, GError **error)
{
  g_autofree char *json = report_json (self);
  g_autofree char *text = report_text (self);

  return g_file_replace_contents (self->report_json, json, strlen (json), NULL, FALSE,
                                  G_FILE_CREATE_NONE, NULL, cancellable, error) &&
         g_file_replace_contents (self->report_text, text, strlen (text), NULL, FALSE,
                                  G_FILE_CREATE_NONE, NULL, cancellable, error);
}

/* Reading the fusion data */

static CustosReader *
open_reader (CustosExportJob *self, GFile *file, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFileInputStream) in = g_file_read (file, cancellable, error);
  CustosReader *reader;

  if (in == NULL)
    return NULL;
  reader = custos_reader_new (G_INPUT_STREAM (in));
  /* Only which key records are ours: the report never touches a card. */
  custos_reader_set_decrypt (reader, FALSE);
  custos_reader_set_verify (reader, TRUE);
  if (self->provider != NULL)
    custos_reader_set_key_provider (reader, self->provider);
  if (self->ca_file != NULL)
    custos_reader_set_ca_file (reader, self->ca_file);
  return reader;
}

/* How stream time maps to UTC: the origin of the (first video) stream. */
static gboolean
read_origin (CustosExportJob *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (CustosReader) reader = open_reader (self, self->input, cancellable, error);
  g_autoptr (CustosPacket) first = NULL;
  GPtrArray *streams;
  GError    *local = NULL;

  if (reader == NULL)
    return FALSE;
  custos_reader_set_verify (reader, FALSE);
  first = custos_reader_next_packet (reader, cancellable, &local);
  if (first == NULL)
    {
      if (local == NULL)
        local = g_error_new (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_NOTHING,
                             _ ("The recording holds no video"));
      g_propagate_error (error, local);
      return FALSE;
    }
  streams = custos_reader_get_streams (reader);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];

      if (i == 0 || info->kind == CUSTOS_STREAM_KIND_VIDEO)
        self->origin_us = info->utc_origin_us;
      if (info->kind == CUSTOS_STREAM_KIND_VIDEO)
        break;
    }
  return TRUE;
}

/* The exported .fusion, read as its recipients will read it. */
static gboolean
verify_fusion (CustosExportJob *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (CustosReader) reader = open_reader (self, self->part, cancellable, error);
  CustosReport *report;
  GError       *local = NULL;
  CustosPacket *p;
  Findings     *f = &self->findings;

  if (reader == NULL)
    return FALSE;
  while ((p = custos_reader_next_packet (reader, cancellable, &local)) != NULL)
    {
      if (p->utc_us != G_MININT64)
        {
          if (f->first_utc_us == G_MININT64 || p->utc_us < f->first_utc_us)
            f->first_utc_us = p->utc_us;
          if (f->last_utc_us == G_MININT64 || p->utc_us > f->last_utc_us)
            f->last_utc_us = p->utc_us;
        }
      custos_packet_unref (p);
    }
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }

  report = custos_reader_get_report (reader);
  f->verified = report->verified;
  f->unsigned_packets = report->unsigned_packets;
  f->altered = report->altered;
  f->missing = report->missing;
  f->locked = report->locked;
  f->segments = report->segments;
  for (guint i = 0; i < report->issues->len && f->problems->len < 50; i++)
    {
      CustosIssue *issue = report->issues->pdata[i];

      if (issue->kind != CUSTOS_ISSUE_LOCKED)
        g_ptr_array_add (
            f->problems,
            g_strdup_printf ("%s: %s", custos_issue_kind_to_string (issue->kind), issue->message));
    }
  add_signers (f, reader);
  return TRUE;
}

/* The signer of the exported range of the input: the first seal there. */
static void
stop_at_seal (CustosReader *reader, const CustosSealResult *result, gpointer user_data)
{
  gboolean *sealed = user_data;

  if (result->sealed)
    *sealed = TRUE;
}

static gboolean
find_signer (CustosExportJob *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (CustosReader) reader = open_reader (self, self->input, cancellable, error);
  gboolean      sealed = FALSE;
  GError       *local = NULL;
  CustosPacket *p;

  if (reader == NULL)
    return FALSE;
  /* A fetched stream has no index: the reader then scans for the range. */
  if (self->from_us != G_MININT64 &&
      !custos_reader_seek (reader, self->from_us - self->origin_us, cancellable, &local))
    {
      /* A failed seek leaves the reader anywhere: start again from the top. */
      g_debug ("cannot seek for the signer: %s", local->message);
      g_clear_error (&local);
      g_clear_object (&reader);
      if ((reader = open_reader (self, self->input, cancellable, error)) == NULL)
        return FALSE;
    }
  custos_reader_set_seal_func (reader, stop_at_seal, &sealed, NULL);
  while (!sealed && (p = custos_reader_next_packet (reader, cancellable, &local)) != NULL)
    custos_packet_unref (p);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  add_signers (&self->findings, reader);
  return TRUE;
}

static void
take_media_summary (CustosExportJob *self)
{
  const CustosMediaExportSummary *s = custos_media_export_get_summary (self->media);
  Findings                       *f = &self->findings;

  f->verified = s->verified;
  f->unsigned_packets = s->not_signed;
  f->altered = s->altered;
  f->missing = s->missing;
  f->locked = s->locked != NULL ? s->locked->len : 0;
  f->video_frames = s->video_frames;
  f->segments = s->segments;
  f->first_utc_us = s->start_utc_us;
  f->last_utc_us = s->end_utc_us;
  for (guint i = 0; s->skipped != NULL && i < s->skipped->len; i++)
    g_ptr_array_add (f->problems,
                     g_strdup_printf (_ ("Not exported: %s"), (const char *) s->skipped->pdata[i]));
  for (guint i = 0; s->problems != NULL && i < s->problems->len; i++)
    g_ptr_array_add (f->problems, g_strdup (s->problems->pdata[i]));
  if (self->ca_file != NULL && s->segments_untrusted > 0)
    g_ptr_array_add (f->problems, g_strdup_printf (_ ("%u segments signed by a signer that does "
                                                      "not chain to the CA"),
                                                   s->segments_untrusted));
}

/* The steps */

static void
discard_fetched (CustosExportJob *self)
{
  if (self->fetched != NULL)
    g_file_delete (self->fetched, NULL, NULL);
}

static void
discard_part (CustosExportJob *self)
{
  if (self->part != NULL)
    g_file_delete (self->part, NULL, NULL);
  discard_fetched (self);
}

static void
finish_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CustosExportJob *self = source_object;
  GMainContext    *context = task_data;
  GError          *error = NULL;
  gboolean         ok;

  if (self->format == CUSTOS_EXPORT_FORMAT_FUSION)
    ok = verify_fusion (self, cancellable, &error);
  else
    ok = find_signer (self, cancellable, &error);
  post_fraction (self, context, 0.97);

  /* The part becomes the final file only once the reports are there, so
   * a finished name always comes with its report. */
  ok = ok && write_reports (self, cancellable, &error) &&
       g_file_move (self->part, self->output, G_FILE_COPY_NONE, cancellable, NULL, NULL, &error);
  if (!ok)
    {
      discard_part (self);
      g_file_delete (self->report_json, NULL, NULL);
      g_file_delete (self->report_text, NULL, NULL);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_finished (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      CustosExportJob *self = g_task_get_source_object (task);

      /* Cancelled just after the thread moved the file into place: the
       * user asked for nothing, so nothing stays. */
      discard_part (self);
      g_file_delete (self->output, NULL, NULL);
      g_file_delete (self->report_json, NULL, NULL);
      g_file_delete (self->report_text, NULL, NULL);
      g_task_return_error (task, error);
      return;
    }
  discard_fetched (g_task_get_source_object (task));
  set_fraction (g_task_get_source_object (task), 1.0);
  g_task_return_boolean (task, TRUE);
}

static void
run_finish_step (GTask *task)
{
  CustosExportJob *self = g_task_get_source_object (task);
  g_autoptr (GTask) step =
      g_task_new (self, g_task_get_cancellable (task), on_finished, g_object_ref (task));

  set_fraction (self, EXPORT_SHARE);
  g_task_set_task_data (step, g_main_context_ref_thread_default (),
                        (GDestroyNotify) g_main_context_unref);
  g_task_run_in_thread (step, finish_thread);
}

/* MP4 */

static void
on_media_progress (double fraction, gpointer user_data)
{
  set_fraction (user_data, fraction * EXPORT_SHARE);
}

static void
on_media_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CustosExportJob *self = g_task_get_source_object (task);
  GError          *error = NULL;

  take_media_summary (self);
  if (!custos_media_export_run_finish (CUSTOS_MEDIA_EXPORT (source), result, &error))
    {
      discard_part (self);
      g_task_return_error (task, error);
      return;
    }
  run_finish_step (task);
}

static void
origin_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (read_origin (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
start_media (GTask *task)
{
  CustosExportJob *self = g_task_get_source_object (task);
  g_autofree char *input = g_file_get_path (self->input);
  g_autofree char *part = g_file_get_path (self->part);
  GError          *error = NULL;

  /* Idempotent; the app has done it already, a test or tool may not. */
  if (!gst_init_check (NULL, NULL, &error) || !custos_media_export_ensure_plugin (&error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  self->media = custos_media_export_new (input, part, CUSTOS_MEDIA_FORMAT_MP4);
  custos_media_export_set_key_provider (self->media, self->provider, self->interaction);
  custos_media_export_set_ca_file (self->media, self->ca_file);
  /* A fetched stream holds whole segments around the range and has no
   * index: the demuxer scans it to seek, so it is cut to the frame too. */
  custos_media_export_set_range (self->media, self->from_us, self->to_us);
  custos_media_export_set_progress_func (self->media, on_media_progress, self, NULL);
  custos_media_export_run_async (self->media, g_task_get_cancellable (task), on_media_done, task);
}

/* .fusion */

typedef struct
{
  CustosExportJob *self;
  GMainContext    *context;
} FusionProgress;

static void
on_fusion_progress (guint64 done, guint64 total, gpointer user_data)
{
  FusionProgress *progress = user_data;

  post_fraction (progress->self, progress->context,
                 (total > 0 ? (double) done / total : 1.0) * EXPORT_SHARE);
}

static gboolean
export_fusion (CustosExportJob *self, GMainContext *context, GCancellable *cancellable,
               GError **error)
{
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GFileOutputStream) out = NULL;
  g_autoptr (GOutputStream) buffered = NULL;
  FusionProgress progress = { self, context };
  gboolean       ok;

  if (!read_origin (self, cancellable, error))
    return FALSE;
  if ((in = g_file_read (self->input, cancellable, error)) == NULL)
    return FALSE;
  out = g_file_replace (self->part, NULL, FALSE, G_FILE_CREATE_PRIVATE, cancellable, error);
  if (out == NULL)
    return FALSE;
  buffered = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (out), 1024 * 1024);

  if (self->client != NULL)
    ok = custos_rewrap (G_INPUT_STREAM (in), buffered, self->provider, self->interaction,
                        self->recipients, FALSE, cancellable, error);
  else
    ok = custos_export_range (
        G_INPUT_STREAM (in), buffered,
        self->from_us == G_MININT64 ? CUSTOS_EXPORT_START : self->from_us - self->origin_us,
        self->to_us == G_MAXINT64 ? CUSTOS_EXPORT_END : self->to_us - self->origin_us,
        self->provider, self->interaction, self->recipients, FALSE, on_fusion_progress, &progress,
        NULL, cancellable, error);
  return g_output_stream_close (buffered, NULL, ok ? error : NULL) && ok;
}

static void
fusion_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (export_fusion (source_object, task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      discard_part (source_object);
      g_task_return_error (task, error);
    }
}

static void
on_step_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask           *task = user_data;
  CustosExportJob *self = g_task_get_source_object (task);
  GError          *error = NULL;

  /* A step cancelled after its thread finished reports the cancellation
   * too (GTask checks the cancellable), so clean up here as well. */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      discard_part (self);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (self->format == CUSTOS_EXPORT_FORMAT_MP4 && self->media == NULL)
    start_media (task);
  else
    {
      run_finish_step (task);
      g_object_unref (task);
    }
}

static void
run_step (GTask *task, GTaskThreadFunc func)
{
  CustosExportJob *self = g_task_get_source_object (task);
  g_autoptr (GTask) step = g_task_new (self, g_task_get_cancellable (task), on_step_done, task);

  g_task_set_task_data (step, g_main_context_ref_thread_default (),
                        (GDestroyNotify) g_main_context_unref);
  g_task_run_in_thread (step, func);
}

/* GObject */

static void
custos_export_job_finalize (GObject *object)
{
  CustosExportJob *self = (CustosExportJob *) object;

  g_clear_object (&self->input);
  g_clear_object (&self->client);
  g_clear_pointer (&self->camera_id, g_free);
  g_clear_object (&self->fetched);
  g_clear_object (&self->folder);
  g_clear_pointer (&self->name, g_free);
  g_clear_object (&self->provider);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  g_clear_pointer (&self->ca_file, g_free);
  g_clear_object (&self->output);
  g_clear_object (&self->part);
  g_clear_object (&self->report_json);
  g_clear_object (&self->report_text);
  g_clear_object (&self->media);
  findings_clear (&self->findings);

  G_OBJECT_CLASS (custos_export_job_parent_class)->finalize (object);
}

static void
custos_export_job_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosExportJob *self = CUSTOS_EXPORT_JOB (object);

  switch (prop_id)
    {
    case PROP_FRACTION:
      g_value_set_double (value, self->fraction);
      break;
    case PROP_SECONDS_LEFT:
      g_value_set_int (value, custos_export_job_get_seconds_left (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_export_job_class_init (CustosExportJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_export_job_finalize;
  object_class->get_property = custos_export_job_get_property;

  properties[PROP_FRACTION] =
      g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECONDS_LEFT] =
      g_param_spec_int ("seconds-left", NULL, NULL, -1, G_MAXINT, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_export_job_init (CustosExportJob *self)
{
  self->from_us = G_MININT64;
  self->to_us = G_MAXINT64;
  findings_init (&self->findings);
}

CustosExportJob *
custos_export_job_new (GFile *input, GFile *folder, const char *name, CustosExportFormat format)
{
  CustosExportJob *self;

  g_return_val_if_fail (G_IS_FILE (input), NULL);
  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (name != NULL && name[0] != '\0', NULL);

  self = g_object_new (CUSTOS_TYPE_EXPORT_JOB, NULL);
  self->input = g_object_ref (input);
  self->folder = g_object_ref (folder);
  /* A name is a file name: no folders sneak in through it. */
  self->name = g_strdelimit (g_strdup (name), "/\\", '-');
  self->format = format;
  return self;
}

CustosExportJob *
custos_export_job_new_for_archiver (CustosArchiverClient *client, const char *camera_id,
                                    GFile *folder, const char *name, CustosExportFormat format)
{
  CustosExportJob *self;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (client), NULL);
  g_return_val_if_fail (camera_id != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (name != NULL && name[0] != '\0', NULL);

  self = g_object_new (CUSTOS_TYPE_EXPORT_JOB, NULL);
  self->client = g_object_ref (client);
  self->camera_id = g_strdup (camera_id);
  self->folder = g_object_ref (folder);
  self->name = g_strdelimit (g_strdup (name), "/\\", '-');
  self->format = format;
  return self;
}

void
custos_export_job_set_key_provider (CustosExportJob *self, CustosKeyProvider *provider,
                                    GTlsInteraction *interaction)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_JOB (self));

  g_set_object (&self->provider, provider);
  g_set_object (&self->interaction, interaction);
}

void
custos_export_job_set_range (CustosExportJob *self, gint64 from_us, gint64 to_us)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_JOB (self));

  self->from_us = from_us;
  self->to_us = to_us;
}

void
custos_export_job_set_recipients (CustosExportJob *self, GPtrArray *recipients)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_JOB (self));

  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  if (recipients != NULL)
    self->recipients = g_ptr_array_ref (recipients);
}

void
custos_export_job_set_ca_file (CustosExportJob *self, const char *ca_file)
{
  g_return_if_fail (CUSTOS_IS_EXPORT_JOB (self));

  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
}

double
custos_export_job_get_fraction (CustosExportJob *self)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), 0.0);
  return self->fraction;
}

int
custos_export_job_get_seconds_left (CustosExportJob *self)
{
  double elapsed;

  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), -1);

  /* Too early to tell: the first percent is mostly start-up. */
  if (!self->started || self->fraction < 0.02 || self->fraction >= 1.0)
    return self->fraction >= 1.0 ? 0 : -1;
  elapsed = (g_get_monotonic_time () - self->started_us) / (double) G_USEC_PER_SEC;
  return (int) (elapsed * (1.0 - self->fraction) / self->fraction + 0.5);
}

GFile *
custos_export_job_get_output (CustosExportJob *self)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), NULL);
  return self->output;
}

GFile *
custos_export_job_get_report_json (CustosExportJob *self)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), NULL);
  return self->report_json;
}

GFile *
custos_export_job_get_report_text (CustosExportJob *self)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), NULL);
  return self->report_text;
}

/* Both formats read the origin first: MP4 for the signer lookup. */
static void
start_export (GTask *task)
{
  CustosExportJob *self = g_task_get_source_object (task);

  run_step (task, self->format == CUSTOS_EXPORT_FORMAT_MP4 ? origin_thread : fusion_thread);
}

static void
on_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask           *task = user_data;
  CustosExportJob *self = g_task_get_source_object (task);
  GError          *error = NULL;
  gssize           n = g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error);

  g_debug ("fetched %" G_GSSIZE_FORMAT " bytes of %s", n, self->camera_id);
  if (n < 0)
    {
      discard_fetched (self);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_set_object (&self->input, self->fetched);
  start_export (task);
}

static void
on_stream_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask           *task = user_data;
  CustosExportJob *self = g_task_get_source_object (task);
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GFileOutputStream) out = NULL;
  GError *error = NULL;

  stream = custos_archiver_client_open_resumable_stream_finish (CUSTOS_ARCHIVER_CLIENT (source),
                                                                result, &error);
  if (stream != NULL)
    out = g_file_replace (self->fetched, NULL, FALSE, G_FILE_CREATE_PRIVATE,
                          g_task_get_cancellable (task), &error);
  if (out == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Asynchronous reads: resuming needs the client's main context. */
  g_output_stream_splice_async (
      G_OUTPUT_STREAM (out), stream,
      G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, G_PRIORITY_DEFAULT,
      g_task_get_cancellable (task), on_fetched, task);
}

void
custos_export_job_run_async (CustosExportJob *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CUSTOS_IS_EXPORT_JOB (self));
  g_return_if_fail (!self->started);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_export_job_run_async);
  self->started = TRUE;
  self->started_us = g_get_monotonic_time ();

  if (self->from_us != G_MININT64 && self->to_us != G_MAXINT64 && self->from_us > self->to_us)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _ ("The export ends before it starts"));
      g_object_unref (task);
      return;
    }
  choose_names (self);
  if (self->client != NULL)
    {
      if (self->from_us == G_MININT64 || self->to_us == G_MAXINT64)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _ ("An export from an archiver needs a start and an end"));
          g_object_unref (task);
          return;
        }
      custos_archiver_client_open_resumable_stream_async (
          self->client, self->camera_id, self->from_us, self->to_us,
          CUSTOS_ARCHIVER_STREAM_ORIGINAL, cancellable, on_stream_opened, task);
      return;
    }
  start_export (task);
}

gboolean
custos_export_job_run_finish (CustosExportJob *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (CUSTOS_IS_EXPORT_JOB (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
