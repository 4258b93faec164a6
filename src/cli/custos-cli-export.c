/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli export: a fusion file, or a time range of it, as
 *   mp4, mkv  the decrypted streams remuxed, never re-encoded
 *             (CustosMediaExport, src/gst);
 *   png       the frame at --from, with its UTC time;
 *   fusion    an encrypted, sealed file of whole segments that its
 *             recipients open offline, optionally with keys for more
 *             recipients (custos_export_range, src/core).
 * The output appears under its name only when complete (OUT.part until
 * then); SIGINT and SIGTERM cancel and leave nothing behind.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include <inttypes.h>
#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-certinfo.h"
#include "custos-cli-common.h"
#include "custos-cli-progress.h"
#include "custos-media-export.h"
#include "custos-utc.h"

typedef struct
{
  CustosCliOptions   options;
  char              *output;
  char              *format_name;
  char              *from_text;
  char              *to_text;
  char             **recipient_paths;
  const char        *path;

  gboolean           fusion;
  CustosMediaFormat  media_format;
  gboolean           named_by_time; /* PNG: the name comes from the frame's time */
  char              *output_dir;
  char              *part_path;

  gint64             start_utc_us;  /* the first packet's PTS: "seconds from the start" */
  gint64             origin_us;     /* the index's utc_origin: stream time = UTC - origin */
  gboolean           have_end;
  gint64             end_utc_us;    /* the last frame the index knows */
  gint64             from_utc_us;
  gint64             to_utc_us;

  CustosKeyring     *keyring;
  GPtrArray         *key_certs;
  GPtrArray         *recipients;    /* CustosCertificate */
  GTlsInteraction   *interaction;
  GCancellable      *cancellable;
  GMainLoop         *loop;
  CustosCliProgress *progress;

  GError            *error;
  CustosExportInfo   info;          /* fusion */
  CustosReader      *verifier;      /* fusion: read the export back for its seals */
  CustosMediaExport *media;
} Export;

static void
export_clear (Export *self)
{
  custos_cli_options_clear (&self->options);
  g_clear_pointer (&self->output, g_free);
  g_clear_pointer (&self->format_name, g_free);
  g_clear_pointer (&self->from_text, g_free);
  g_clear_pointer (&self->to_text, g_free);
  g_clear_pointer (&self->recipient_paths, g_strfreev);
  g_clear_pointer (&self->output_dir, g_free);
  if (self->part_path != NULL)
    g_unlink (self->part_path);
  g_clear_pointer (&self->part_path, g_free);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->key_certs, g_ptr_array_unref);
  g_clear_pointer (&self->recipients, g_ptr_array_unref);
  g_clear_object (&self->interaction);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->progress, custos_cli_progress_free);
  g_clear_error (&self->error);
  g_clear_object (&self->verifier);
  g_clear_object (&self->media);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Export, export_clear)

/* Arguments */

static gboolean
format_from_name (Export     *self,
                  const char *name)
{
  static const struct { const char *name; CustosMediaFormat media; gboolean fusion; } formats[] = {
    { "mp4", CUSTOS_MEDIA_FORMAT_MP4, FALSE },
    { "mkv", CUSTOS_MEDIA_FORMAT_MKV, FALSE },
    { "png", CUSTOS_MEDIA_FORMAT_PNG, FALSE },
    { "fusion", CUSTOS_MEDIA_FORMAT_MP4, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_ascii_strcasecmp (name, formats[i].name) == 0)
      {
        self->media_format = formats[i].media;
        self->fusion = formats[i].fusion;
        return TRUE;
      }
  return FALSE;
}

/* --format, or else the output's extension. */
static gboolean
choose_format (Export *self)
{
  const char *dot = self->output ? strrchr (self->output, '.') : NULL;

  if (self->format_name != NULL)
    {
      if (format_from_name (self, self->format_name))
        return TRUE;
      return custos_cli_usage_error ("export", _("Unknown format “%s”: use mp4, mkv, fusion or "
                                                 "png"), self->format_name);
    }
  if (dot != NULL && format_from_name (self, dot + 1))
    return TRUE;
  return custos_cli_usage_error ("export", _("Give the format with --format (mp4, mkv, fusion or "
                                             "png) or an output name ending in one"));
}

/* PNG may go to a folder (or the current one) under a name that holds the
 * frame's time; everything else needs -o FILE. */
static gboolean
choose_output (Export *self)
{
  gboolean png = !self->fusion && self->media_format == CUSTOS_MEDIA_FORMAT_PNG;

  if (self->output != NULL && !g_file_test (self->output, G_FILE_TEST_IS_DIR))
    {
      self->part_path = g_strconcat (self->output, ".part", NULL);
      return TRUE;
    }
  if (!png)
    return custos_cli_usage_error ("export", self->output == NULL ?
                                   _("Give the output file with -o") :
                                   _("The output %s is a folder; give a file name"), self->output);
  self->named_by_time = TRUE;
  self->output_dir = g_strdup (self->output ? self->output : ".");
  self->part_path = g_build_filename (self->output_dir, ".custos-snapshot.png.part", NULL);
  return TRUE;
}

static gboolean
check_arguments (Export *self,
                 int     argc)
{
  if (!custos_cli_check_one_file ("export", argc))
    return FALSE;
  if ((self->format_name == NULL && self->output == NULL) || !choose_format (self))
    return self->format_name == NULL && self->output == NULL ?
           custos_cli_usage_error ("export", _("Give the output with -o and the format with "
                                               "--format")) : FALSE;
  if (!self->fusion && self->recipient_paths != NULL)
    return custos_cli_usage_error ("export", _("--recipient needs --format fusion: a decrypted "
                                               "export has no recipients"));
  if (!self->fusion && self->media_format == CUSTOS_MEDIA_FORMAT_PNG && self->to_text != NULL)
    return custos_cli_usage_error ("export", _("A snapshot is one frame: give --from, not --to"));
  return choose_output (self);
}

/* The timeline */

/* Where the file starts and how its stream times map to UTC: the first
 * packet, and the utc_origin of the stream the index follows. */
static gboolean
read_timeline (Export  *self,
               GError **error)
{
  g_autoptr (CustosReader) reader = custos_cli_reader_new (self->path, error);
  g_autoptr (CustosPacket) first = NULL;
  g_autoptr (GPtrArray) streams = NULL;
  GError *local = NULL;
  gint64 first_us = 0, last_us = 0;

  if (reader == NULL)
    return FALSE;
  custos_reader_set_decrypt (reader, FALSE);
  custos_reader_set_verify (reader, FALSE);
  first = custos_reader_next_packet (reader, NULL, &local);
  if (first == NULL)
    {
      if (local == NULL)
        local = g_error_new (CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                             _("%s holds no packets"), self->path);
      g_propagate_prefixed_error (error, local, "%s: ", self->path);
      return FALSE;
    }
  streams = custos_reader_get_streams (reader);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];

      /* The start is the first frame shown, as in the exported files. */
      if (info->id == first->stream)
        self->start_utc_us = info->utc_origin_us + first->pts_us;
      if (i == 0 || info->kind == CUSTOS_STREAM_KIND_VIDEO)
        self->origin_us = info->utc_origin_us;
      if (info->kind == CUSTOS_STREAM_KIND_VIDEO)
        break;
    }
  /* Unfinished files have no index: their end is not known. */
  self->have_end = custos_reader_get_time_range (reader, &first_us, &last_us, NULL, NULL);
  self->end_utc_us = last_us + self->origin_us;
  return TRUE;
}

/* TIME: ISO 8601 (UTC unless it says otherwise) or seconds from the start. */
static gboolean
parse_time (Export     *self,
            const char *option,
            const char *text,
            gint64     *utc_us)
{
  char *end = NULL;
  double seconds = g_ascii_strtod (text, &end);

  if (end != text && *end == '\0' && seconds >= 0 && seconds < 1e9)
    {
      *utc_us = self->start_utc_us + (gint64) (seconds * G_USEC_PER_SEC + 0.5);
      return TRUE;
    }
  if (!custos_utc_parse (text, utc_us))
    return custos_cli_usage_error ("export", _("%s needs an ISO 8601 time such as "
                                               "2026-11-21T20:34:00Z or seconds from the start, "
                                               "not “%s”"), option, text);
  return TRUE;
}

static gboolean
parse_range (Export *self)
{
  self->from_utc_us = G_MININT64;
  self->to_utc_us = G_MAXINT64;
  if (self->from_text != NULL && !parse_time (self, "--from", self->from_text, &self->from_utc_us))
    return FALSE;
  if (self->to_text != NULL && !parse_time (self, "--to", self->to_text, &self->to_utc_us))
    return FALSE;
  if (self->from_utc_us > self->to_utc_us)
    return custos_cli_usage_error ("export", _("--to is before --from"));
  if (self->to_utc_us != G_MAXINT64 && self->to_utc_us < self->start_utc_us)
    {
      g_autofree char *start = custos_cli_format_utc (self->start_utc_us);

      return custos_cli_usage_error ("export", _("--to is before the recording starts (%s)"),
                                     start);
    }
  if (self->have_end && self->from_utc_us != G_MININT64 && self->from_utc_us > self->end_utc_us)
    {
      g_autofree char *end = custos_cli_format_utc (self->end_utc_us);

      return custos_cli_usage_error ("export", _("--from is after the recording ends (%s)"), end);
    }
  return TRUE;
}

/* Keys and recipients */

static gboolean
load_recipients (Export  *self,
                 GError **error)
{
  self->recipients = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; self->recipient_paths != NULL && self->recipient_paths[i] != NULL; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_file (self->recipient_paths[i], error);

      if (cert == NULL)
        {
          g_prefix_error (error, "%s: ", self->recipient_paths[i]);
          return FALSE;
        }
      g_ptr_array_add (self->recipients, cert);
    }
  return TRUE;
}

/* Running: --format fusion */

static void
on_fusion_progress (guint64  done,
                    guint64  total,
                    gpointer user_data)
{
  custos_cli_progress_update (user_data, total > 0 ? (double) done / total : 1.0);
}

typedef struct
{
  Export        *self;
  GInputStream  *input;
  GOutputStream *output;
} FusionJob;

static void
fusion_job_free (FusionJob *job)
{
  g_clear_object (&job->input);
  g_clear_object (&job->output);
  g_free (job);
}

static void
run_fusion_thread (GTask        *task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  FusionJob *job = task_data;
  Export *self = job->self;
  GError *error = NULL;
  gboolean ok;

  ok = custos_export_range (job->input, job->output,
                            self->from_utc_us == G_MININT64 ? CUSTOS_EXPORT_START :
                            self->from_utc_us - self->origin_us,
                            self->to_utc_us == G_MAXINT64 ? CUSTOS_EXPORT_END :
                            self->to_utc_us - self->origin_us,
                            self->keyring ? CUSTOS_KEY_PROVIDER (self->keyring) : NULL,
                            self->interaction, self->recipients, self->options.allow_legacy,
                            on_fusion_progress, self->progress, &self->info, cancellable, &error) &&
       g_output_stream_close (job->output, cancellable, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Export *self = user_data;

  g_task_propagate_boolean (G_TASK (result), &self->error);
  g_main_loop_quit (self->loop);
}

static void
start_fusion (Export *self)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (self->path);
  g_autoptr (GFile) part = g_file_new_for_path (self->part_path);
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, on_job_done, self);
  FusionJob *job = g_new0 (FusionJob, 1);
  GFileOutputStream *out;

  job->self = self;
  job->input = G_INPUT_STREAM (g_file_read (file, NULL, &self->error));
  out = job->input ? g_file_replace (part, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &self->error) :
        NULL;
  if (out != NULL)
    job->output = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (out), 1024 * 1024);
  g_clear_object (&out);
  g_task_set_task_data (task, job, (GDestroyNotify) fusion_job_free);
  if (self->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&self->error));
      return;
    }
  g_task_run_in_thread (task, run_fusion_thread);
}

/* The export's seals, checked the way its recipients will. */
static gboolean
verify_fusion (Export  *self,
               GError **error)
{
  GError *local = NULL;
  CustosPacket *p;

  self->verifier = custos_cli_reader_new (self->part_path, error);
  if (self->verifier == NULL)
    return FALSE;
  custos_reader_set_decrypt (self->verifier, FALSE);
  custos_reader_set_verify (self->verifier, TRUE);
  if (self->options.ca_file != NULL)
    custos_reader_set_ca_file (self->verifier, self->options.ca_file);
  while ((p = custos_reader_next_packet (self->verifier, self->cancellable, &local)) != NULL)
    custos_packet_unref (p);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/* Running: mp4, mkv, png */

static void
on_media_progress (double   fraction,
                   gpointer user_data)
{
  custos_cli_progress_update (user_data, fraction);
}

static void
on_media_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Export *self = user_data;

  custos_media_export_run_finish (CUSTOS_MEDIA_EXPORT (source), result, &self->error);
  g_main_loop_quit (self->loop);
}

static void
start_media (Export *self)
{
  self->media = custos_media_export_new (self->path, self->part_path, self->media_format);
  custos_media_export_set_key_provider (self->media,
                                        self->keyring ? CUSTOS_KEY_PROVIDER (self->keyring) : NULL,
                                        self->interaction);
  custos_media_export_set_ca_file (self->media, self->options.ca_file);
  custos_media_export_set_range (self->media, self->from_utc_us, self->to_utc_us);
  custos_media_export_set_progress_func (self->media, on_media_progress, self->progress, NULL);
  custos_media_export_run_async (self->media, self->cancellable, on_media_done, self);
}

/* Runs the export in a main loop that also hears SIGINT and SIGTERM;
 * returns the signal that cancelled it, or 0. */
static int
run_export (Export *self)
{
  self->cancellable = g_cancellable_new ();
  self->loop = g_main_loop_new (NULL, FALSE);
  self->progress = custos_cli_progress_new (_("Exporting"), self->options.json,
                                            !self->options.quiet);
  custos_cli_cancel_on_signals (self->cancellable);
  if (self->fusion)
    start_fusion (self);
  else
    start_media (self);
  g_main_loop_run (self->loop);
  custos_cli_progress_finish (self->progress);
  return custos_cli_cancel_on_signals_stop ();
}

/* Naming the result */

static char *
time_for_name (gint64 utc_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  g_autofree char *seconds = dt ? g_date_time_format (dt, "%Y%m%dT%H%M%S") : g_strdup ("unknown");

  return g_strdup_printf ("%s.%03dZ", seconds, (int) (utc_us % G_USEC_PER_SEC / 1000));
}

/* e.g. gate-20261121T203400.033Z.png: the input's name and the frame's UTC. */
static char *
snapshot_name (Export *self,
               gint64  utc_us)
{
  g_autofree char *base = g_path_get_basename (self->path);
  g_autofree char *stamp = time_for_name (utc_us);
  char *dot = strrchr (base, '.');
  g_autofree char *name = NULL;

  if (dot != NULL && dot != base)
    *dot = '\0';
  name = g_strdup_printf ("%s-%s.png", base, stamp);
  return g_build_filename (self->output_dir, name, NULL);
}

static gboolean
commit (Export  *self,
        GError **error)
{
  g_autoptr (GFile) part = g_file_new_for_path (self->part_path);

  if (self->named_by_time)
    {
      const CustosMediaExportSummary *summary = custos_media_export_get_summary (self->media);

      g_free (self->output);
      self->output = snapshot_name (self, summary->start_utc_us);
    }
  if (!custos_cli_part_commit (part, self->output, error))
    return FALSE;
  g_clear_pointer (&self->part_path, g_free);
  return TRUE;
}

/* Explaining */

/* Who can open the locked parts, from the demuxer's "custos-locked". */
static char *
describe_recipients (const GstStructure *locked)
{
  const GValue *list = gst_structure_get_value (locked, "recipients");
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; list != NULL && i < gst_value_array_get_size (list); i++)
    {
      const GstStructure *r = gst_value_get_structure (gst_value_array_get_value (list, i));

      g_string_append_printf (text, "%s%.16s… (%s)", i ? ", " : "",
                              gst_structure_get_string (r, "id"),
                              gst_structure_get_string (r, "label"));
    }
  if (text->len == 0)
    g_string_append (text, _("(none received)"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
print_locked (Export                         *self,
              const CustosMediaExportSummary *summary)
{
  const GstStructure *first = summary->locked->pdata[0];
  g_autofree char *recipients = describe_recipients (first);
  g_autofree char *keys = custos_cli_describe_key_certificates (self->key_certs);
  gint64 start = G_MININT64;
  g_autofree char *when = NULL;

  gst_structure_get_int64 (first, "start-utc", &start);
  when = custos_cli_format_utc (start);
  custos_cli_error (_("Locked: %u key periods (the first from %s) cannot be opened with your "
                      "keys and were left out; this file is for recipients %s; your keys: %s"),
                    summary->locked->len, when, recipients, keys);
}

static gboolean
media_has_verification_problems (Export                         *self,
                                 const CustosMediaExportSummary *summary)
{
  if (summary->altered > 0 || summary->missing > 0)
    return TRUE;
  return self->options.ca_file != NULL &&
         (summary->not_signed > 0 || summary->segments_untrusted > 0);
}

static void
print_media_problems (Export                         *self,
                      const CustosMediaExportSummary *summary)
{
  for (guint i = 0; !self->options.quiet && i < summary->skipped->len; i++)
    custos_cli_error (_("Not exported: %s"), (const char *) summary->skipped->pdata[i]);
  if (summary->locked->len > 0)
    print_locked (self, summary);
  if (media_has_verification_problems (self, summary))
    custos_cli_error (_("Verification problems: %" PRIu64 " packets altered, "
                        "%" PRIu64 " missing, %" PRIu64 " not signed%s%s; what "
                        "failed authentication was left out. Run “custos-cli verify” for "
                        "details."), summary->altered, summary->missing, summary->not_signed,
                      summary->problems->len > 0 ? ": " : "",
                      summary->problems->len > 0 ? (const char *) summary->problems->pdata[0] : "");
}

static int
media_exit_code (Export                         *self,
                 const CustosMediaExportSummary *summary)
{
  if (media_has_verification_problems (self, summary))
    return CUSTOS_CLI_EXIT_VERIFY;
  if (summary->locked->len > 0)
    return CUSTOS_CLI_EXIT_LOCKED;
  return CUSTOS_CLI_EXIT_OK;
}

static gboolean
fusion_has_verification_problems (Export *self)
{
  CustosReport *r = custos_reader_get_report (self->verifier);

  if (r->altered || r->missing || r->damaged_regions || r->truncated ||
      custos_report_count (r, CUSTOS_ISSUE_MISSING_SEGMENT) > 0)
    return TRUE;
  return self->options.ca_file != NULL &&
         (r->unsigned_packets > 0 || custos_report_count (r, CUSTOS_ISSUE_BAD_SEAL) > 0);
}

/* Output */

static const char *
format_label (Export *self)
{
  if (self->fusion)
    return "fusion";
  switch (self->media_format)
    {
    case CUSTOS_MEDIA_FORMAT_MKV:
      return "mkv";
    case CUSTOS_MEDIA_FORMAT_PNG:
      return "png";
    case CUSTOS_MEDIA_FORMAT_MP4:
    default:
      return "mp4";
    }
}

/* The seal checks of what was exported, the same members for both formats. */
static void
json_add_seal_counts (JsonBuilder *b,
                      guint64      verified,
                      guint64      altered,
                      guint64      missing)
{
  json_builder_set_member_name (b, "verified");
  json_builder_add_int_value (b, verified);
  json_builder_set_member_name (b, "altered");
  json_builder_add_int_value (b, altered);
  json_builder_set_member_name (b, "missing");
  json_builder_add_int_value (b, missing);
}

static void
json_add_media (JsonBuilder                    *b,
                const CustosMediaExportSummary *s)
{
  custos_cli_json_add_utc (b, "start", s->start_utc_us);
  custos_cli_json_add_utc (b, "end", s->end_utc_us);
  json_builder_set_member_name (b, "packets");
  json_builder_add_int_value (b, s->packets);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, s->video_frames);
  json_builder_set_member_name (b, "skipped");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->skipped->len; i++)
    json_builder_add_string_value (b, s->skipped->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "locked_periods");
  json_builder_add_int_value (b, s->locked->len);
  json_add_seal_counts (b, s->verified, s->altered, s->missing);
  json_builder_set_member_name (b, "not_signed");
  json_builder_add_int_value (b, s->not_signed);
}

static void
json_add_fusion (Export      *self,
                 JsonBuilder *b)
{
  CustosReport *report = custos_reader_get_report (self->verifier);

  custos_cli_json_add_utc (b, "start", self->info.first_us + self->origin_us);
  custos_cli_json_add_utc (b, "end", self->info.last_us + self->origin_us);
  json_builder_set_member_name (b, "bytes");
  json_builder_add_int_value (b, self->info.written);
  json_builder_set_member_name (b, "segments");
  json_builder_add_int_value (b, self->info.segments);
  json_builder_set_member_name (b, "recipients_added");
  json_builder_add_int_value (b, self->recipients->len);
  json_add_seal_counts (b, report->verified, report->altered, report->missing);
}

static void
print_json (Export *self,
            int     code)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "output");
  json_builder_add_string_value (b, self->output);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, format_label (self));
  custos_cli_json_add_utc (b, "from", self->from_utc_us == G_MININT64 ? G_MININT64 :
                           self->from_utc_us);
  custos_cli_json_add_utc (b, "to", self->to_utc_us == G_MAXINT64 ? G_MININT64 : self->to_utc_us);
  if (self->fusion)
    json_add_fusion (self, b);
  else
    json_add_media (b, custos_media_export_get_summary (self->media));
  json_builder_set_member_name (b, "exit_code");
  json_builder_add_int_value (b, code);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

static void
print_text (Export *self)
{
  gint64 start, end;
  g_autofree char *start_text = NULL;
  g_autofree char *end_text = NULL;

  if (self->fusion)
    {
      start = self->info.first_us + self->origin_us;
      end = self->info.last_us + self->origin_us;
    }
  else
    {
      start = custos_media_export_get_summary (self->media)->start_utc_us;
      end = custos_media_export_get_summary (self->media)->end_utc_us;
    }
  start_text = custos_cli_format_utc (start);
  end_text = custos_cli_format_utc (end);
  if (self->fusion)
    g_print (_("Wrote %s: %u segments from %s to %s, %" PRIu64 " bytes, %u recipients "
               "added\n"), self->output, self->info.segments, start_text, end_text,
             self->info.written, self->recipients->len);
  else if (self->media_format == CUSTOS_MEDIA_FORMAT_PNG)
    g_print (_("Wrote %s: the frame at %s\n"), self->output, start_text);
  else
    g_print (_("Wrote %s: %" PRIu64 " frames from %s to %s\n"), self->output,
             custos_media_export_get_summary (self->media)->video_frames, start_text, end_text);
}

/* Finishing */

/* What was written, as --json or --quiet want it; returns code. */
static int
print_result (Export *self,
              int     code)
{
  if (self->options.json)
    print_json (self, code);
  else if (!self->options.quiet)
    print_text (self);
  return code;
}

static int
finish_media (Export *self)
{
  const CustosMediaExportSummary *summary = custos_media_export_get_summary (self->media);
  g_autoptr (GError) error = NULL;
  int code;

  print_media_problems (self, summary);
  if (g_error_matches (self->error, CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_NOTHING))
    {
      code = media_exit_code (self, summary);
      custos_cli_error (_("Nothing could be exported (%s); %s was not written"),
                        self->error->message, self->output ? self->output : _("the snapshot"));
      return code != CUSTOS_CLI_EXIT_OK ? code : CUSTOS_CLI_EXIT_INPUT;
    }
  if (self->error != NULL)
    return custos_cli_fail (self->error);
  if (!commit (self, &error))
    return custos_cli_fail (error);
  code = media_exit_code (self, summary);
  return print_result (self, code);
}

static int
finish_fusion (Export *self)
{
  g_autoptr (GError) error = NULL;
  int code = CUSTOS_CLI_EXIT_OK;

  if (g_error_matches (self->error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY))
    {
      g_autofree char *keys = custos_cli_describe_key_certificates (self->key_certs);

      custos_cli_error (_("Locked: %s; your keys: %s"), self->error->message, keys);
      return CUSTOS_CLI_EXIT_LOCKED;
    }
  if (self->error != NULL)
    return custos_cli_fail (self->error);
  if (!verify_fusion (self, &error) || !commit (self, &error))
    return custos_cli_fail (error);
  if (fusion_has_verification_problems (self))
    {
      CustosReport *report = custos_reader_get_report (self->verifier);

      custos_cli_error (_("Verification problems in the exported segments: %" PRIu64
                          " records altered, %" PRIu64 " missing. Run “custos-cli "
                          "verify” for details."), report->altered, report->missing);
      code = CUSTOS_CLI_EXIT_VERIFY;
    }
  return print_result (self, code);
}

static int
run (Export *self)
{
  g_autoptr (GError) error = NULL;
  int signum;

  self->interaction = custos_cli_options_interaction (&self->options, &error);
  if (self->interaction == NULL ||
      !custos_cli_load_keyring (&self->options, &self->keyring, &self->key_certs, &error) ||
      !load_recipients (self, &error) || !read_timeline (self, &error))
    return custos_cli_fail (error);
  if (!parse_range (self))
    return CUSTOS_CLI_EXIT_USAGE;
  if (self->fusion && self->recipients->len > 0 && self->keyring == NULL)
    {
      custos_cli_usage_error ("export", _("--recipient needs your keys (--key and --cert, or "
                                          "--card): only a recipient can share them"));
      return CUSTOS_CLI_EXIT_USAGE;
    }
  signum = run_export (self);
  if (signum != 0)
    {
      custos_cli_error (_("Export cancelled; nothing was written"));
      return 128 + signum;
    }
  return self->fusion ? finish_fusion (self) : finish_media (self);
}

static const char *
export_summary (void)
{
  return _("Exports a fusion file, or the part of it between --from and --to.\n"
           "\n"
           "  mp4, mkv  the decrypted streams, remuxed without re-encoding. The file starts at\n"
           "            the keyframe at or before --from and ends with the last frame decoded\n"
           "            at or before --to. Its creation time is the UTC of its first frame.\n"
           "            MKV keeps audio and text metadata streams; MP4 keeps audio but no\n"
           "            metadata streams (they are listed as not exported).\n"
           "  png       the frame shown at --from (default: the first frame), with its UTC\n"
           "            time in the PNG text chunk “Creation Time” and, without -o FILE, in\n"
           "            the file name.\n"
           "  fusion    still encrypted and sealed, for its recipients to open offline. Seals\n"
           "            cover whole segments and a reader can only start at a sync point, so\n"
           "            the export starts at the sync point at or before the segment holding\n"
           "            --from and ends at the end of the segment holding --to: a little more\n"
           "            than asked. --recipient adds keys for more people without\n"
           "            re-encrypting; that needs your --key and --cert.\n"
           "\n"
           "TIME is ISO 8601 (UTC unless a zone is given), e.g. 2026-11-21T20:34:00Z, or\n"
           "seconds from the start of the file, e.g. 90 or 12.5.\n"
           "\n"
           "Packets without a key, or that fail authentication, are left out (exit 3 or 4).\n"
           "Progress goes to standard error. The output is written as FILE.part and renamed\n"
           "when complete; Ctrl-C (SIGINT) or SIGTERM cancel and remove it (exit 130 or\n"
           "143).");
}

int
custos_cli_export (int    argc,
                   char **argv)
{
  g_auto (Export) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &self.output,
      N_("The file to write (png: may be a folder, or left out)"), N_("PATH") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &self.format_name,
      N_("mp4, mkv, fusion or png (default: from the output's extension)"), N_("FORMAT") },
    { "from", 0, 0, G_OPTION_ARG_STRING, &self.from_text,
      N_("Start: ISO 8601 UTC (2026-11-21T20:34:00Z) or seconds from the start"), N_("TIME") },
    { "to", 0, 0, G_OPTION_ARG_STRING, &self.to_text,
      N_("End, the same way"), N_("TIME") },
    { "recipient", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &self.recipient_paths,
      N_("fusion: also give the keys to this certificate's owner; repeatable"), N_("CERT") },
    { NULL }
  };

  context = custos_cli_context_new (_("FILE"), export_summary ());
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_key_options (context, &self.options);
  custos_cli_add_output_options (context, &self.options);
  if (!custos_cli_parse (context, "export", &argc, &argv) || !check_arguments (&self, argc))
    return CUSTOS_CLI_EXIT_USAGE;
  self.path = argv[1];
  return run (&self);
}
