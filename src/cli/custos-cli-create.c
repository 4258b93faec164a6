/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli create: records the encoded output of a GStreamer source
 * description (--source) or the streams of a media file (--input) into a
 * fusion file, encrypted to the given recipients and optionally sealed.
 * Stream time is UTC, as the archiver writes it: each packet's time is the
 * start time plus its running time.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include <inttypes.h>
#include <signal.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-cli-recorder.h"
#include "custos-utc.h"

#define MAX_PERIOD_MS 1800000
#define MAX_EPOCH_MS  86400000

typedef struct
{
  CustosCliOptions   options;
  char              *output;
  char              *source;
  char              *input;
  char              *name;
  char              *start;
  char              *signer_key;
  char              *signer_cert;
  char              *signer_chain;
  char             **recipients;
  gboolean           plain;
  gboolean           privacy;
  int                period_ms;
  int                epoch_ms;
  int                seal_ms;

  gint64             start_us;
  GPtrArray         *recipient_certs; /* CustosCertificate */
  GFile             *part;
  GOutputStream     *out;
  CustosWriter      *writer;
  CustosCliRecorder *recorder;
  GArray            *streams;         /* CustosCliRecordedStream, once recorded */
  guint              signal_sources[2];
} Create;

static void
create_clear (Create *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_clear_pointer (&self->streams, g_array_unref);
  g_clear_pointer (&self->recorder, custos_cli_recorder_free);
  g_clear_object (&self->writer);
  if (self->out != NULL)
    g_output_stream_close (self->out, NULL, NULL);
  g_clear_object (&self->out);
  /* Still set means the run failed: no partial file is left behind. */
  custos_cli_part_discard (self->part);
  g_clear_object (&self->part);
  g_clear_pointer (&self->recipient_certs, g_ptr_array_unref);
  custos_cli_options_clear (&self->options);
  g_clear_pointer (&self->output, g_free);
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->input, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->start, g_free);
  g_clear_pointer (&self->signer_key, g_free);
  g_clear_pointer (&self->signer_cert, g_free);
  g_clear_pointer (&self->signer_chain, g_free);
  g_clear_pointer (&self->recipients, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Create, create_clear)

/* Arguments */

static gboolean
parse_start (Create *self)
{
  if (self->start == NULL)
    {
      self->start_us = g_get_real_time ();
      return TRUE;
    }
  if (!custos_utc_parse (self->start, &self->start_us))
    return custos_cli_usage_error ("create", _("--start needs an ISO 8601 time such as "
                                               "2025-01-15T10:00:00Z, not “%s”"), self->start);
  return TRUE;
}

static gboolean
check_intervals (Create *self)
{
  if (self->period_ms == 0)
    self->period_ms = CUSTOS_DEFAULT_PERIOD_MS;
  if (self->period_ms < 1000 || self->period_ms > MAX_PERIOD_MS)
    return custos_cli_usage_error ("create", _("--period-ms must be between 1000 and %d"),
                                   MAX_PERIOD_MS);
  /* The default epoch, rounded to whole key periods. */
  if (self->epoch_ms == 0)
    self->epoch_ms = MAX (CUSTOS_DEFAULT_EPOCH_MS / self->period_ms, 1) * self->period_ms;
  if (self->epoch_ms < self->period_ms || self->epoch_ms > MAX_EPOCH_MS ||
      self->epoch_ms % self->period_ms != 0)
    return custos_cli_usage_error ("create", _("--epoch-ms must be a multiple of the key period, "
                                               "at most %d"), MAX_EPOCH_MS);
  if (self->seal_ms == 0)
    self->seal_ms = CUSTOS_DEFAULT_SEAL_MS;
  if (self->seal_ms < 0)
    return custos_cli_usage_error ("create", _("--seal-ms must be positive"));
  return TRUE;
}

static gboolean
check_arguments (Create *self,
                 int     argc,
                 char  **argv)
{
  if (!custos_cli_check_no_arguments ("create", argc, argv))
    return FALSE;
  if (self->output == NULL)
    return custos_cli_usage_error ("create", _("Give the output file with -o"));
  if ((self->source == NULL) == (self->input == NULL))
    return custos_cli_usage_error ("create", _("Give either --source or --input"));
  if (!self->plain && self->recipients == NULL)
    return custos_cli_usage_error ("create", _("Encrypted output needs at least one --recipient "
                                               "(or --plain for an unencrypted file)"));
  if (self->plain && self->recipients != NULL)
    return custos_cli_usage_error ("create", _("--plain and --recipient exclude each other"));
  if ((self->signer_key == NULL) != (self->signer_cert == NULL))
    return custos_cli_usage_error ("create", _("Give both --signer-key and --signer-cert"));
  return check_intervals (self) && parse_start (self);
}

/* Writer */

static gboolean
load_recipients (Create  *self,
                 GError **error)
{
  self->recipient_certs = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; self->recipients != NULL && self->recipients[i] != NULL; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_file (self->recipients[i], error);

      if (cert == NULL)
        {
          g_prefix_error (error, "%s: ", self->recipients[i]);
          return FALSE;
        }
      g_ptr_array_add (self->recipient_certs, cert);
    }
  return TRUE;
}

static char *
default_name (Create *self)
{
  if (self->name != NULL)
    return g_strdup (self->name);
  if (self->input != NULL)
    return g_path_get_basename (self->input);
  return g_strdup ("custos-cli");
}

static gboolean
open_writer (Create  *self,
             GError **error)
{
  g_autofree char *name = default_name (self);

  self->out = custos_cli_part_create (self->output, &self->part, error);
  if (self->out == NULL)
    return FALSE;
  self->writer = custos_writer_new (self->out, name);
  custos_writer_set_intervals (self->writer, self->period_ms, self->epoch_ms, self->seal_ms);
  for (guint i = 0; i < self->recipient_certs->len; i++)
    if (!custos_writer_add_recipient (self->writer, self->recipient_certs->pdata[i],
                                      self->options.allow_legacy, error))
      {
        g_prefix_error (error, "%s: ", self->recipients[i]);
        return FALSE;
      }
  if (self->signer_key != NULL &&
      !custos_cli_set_signer (self->writer, self->signer_key, self->signer_cert,
                              self->signer_chain, self->options.passphrase_file, error))
    return FALSE;
  return TRUE;
}

/* Recording */

/* SIGINT and SIGTERM end a live recording cleanly: the EOS flows through
 * the pipeline, the writer seals what it has, and the file is complete. */
static gboolean
on_stop_signal (gpointer user_data)
{
  Create *self = user_data;

  custos_cli_recorder_stop (self->recorder);
  return G_SOURCE_CONTINUE;
}

static CustosStreamFlags
stream_flags (Create *self)
{
  return (self->plain ? 0 : CUSTOS_STREAM_FLAG_ENCRYPTED) |
         (self->privacy ? CUSTOS_STREAM_FLAG_PRIVACY : 0);
}

static gboolean
record (Create  *self,
        GError **error)
{
  if (self->source != NULL)
    self->recorder = custos_cli_recorder_new_for_description (self->source, error);
  else
    self->recorder = custos_cli_recorder_new_for_file (self->input, error);
  if (self->recorder == NULL)
    return FALSE;
  self->signal_sources[0] = g_unix_signal_add (SIGINT, on_stop_signal, self);
  self->signal_sources[1] = g_unix_signal_add (SIGTERM, on_stop_signal, self);
  if (!custos_cli_recorder_start (self->recorder, self->writer, stream_flags (self),
                                  self->start_us, error) ||
      !custos_cli_recorder_run (self->recorder, error))
    return FALSE;
  self->streams = custos_cli_recorder_dup_streams (self->recorder);
  return TRUE;
}

static gboolean
finish (Create  *self,
        GError **error)
{
  if (!custos_writer_close (self->writer, error) ||
      !g_output_stream_close (self->out, NULL, error) ||
      !custos_cli_part_commit (self->part, self->output, error))
    return FALSE;
  g_clear_object (&self->part);
  return TRUE;
}

/* Summary */

static gint64
total_duration_us (Create *self)
{
  gint64 first = G_MAXINT64, last = G_MININT64;

  for (guint i = 0; i < self->streams->len; i++)
    {
      const CustosCliRecordedStream *s = &g_array_index (self->streams, CustosCliRecordedStream, i);

      if (s->packets == 0)
        continue;
      first = MIN (first, s->first_pts_us);
      last = MAX (last, s->last_pts_us);
    }
  return last >= first ? last - first : 0;
}

static void
print_text (Create *self)
{
  g_print (_("Wrote %s: %" PRIu64 " bytes, %.3f s\n"), self->output,
           custos_writer_get_offset (self->writer), total_duration_us (self) / 1e6);
  for (guint i = 0; i < self->streams->len; i++)
    {
      const CustosCliRecordedStream *s = &g_array_index (self->streams, CustosCliRecordedStream, i);

      g_print (_("  Stream %d (%s%s): %" PRIu64 " packets, %" PRIu64
                 " bytes\n    %s\n"),
               s->stream, custos_stream_kind_to_string (s->kind),
               self->plain ? "" : _(", encrypted"), s->packets, s->bytes, s->caps);
    }
  for (guint i = 0; i < self->recipient_certs->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (self->recipient_certs->pdata[i]);

      g_print (_("  Recipient: %s\n"), subject);
    }
  if (self->signer_cert != NULL)
    g_print (_("  Sealed with the key of %s\n"), self->signer_cert);
}

static void
json_streams (Create      *self,
              JsonBuilder *b)
{
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->streams->len; i++)
    {
      const CustosCliRecordedStream *s = &g_array_index (self->streams, CustosCliRecordedStream, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, s->stream);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, custos_stream_kind_to_string (s->kind));
      json_builder_set_member_name (b, "caps");
      json_builder_add_string_value (b, s->caps);
      json_builder_set_member_name (b, "encrypted");
      json_builder_add_boolean_value (b, !self->plain);
      json_builder_set_member_name (b, "packets");
      json_builder_add_int_value (b, s->packets);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, s->bytes);
      custos_cli_json_add_utc (b, "first", s->packets ? s->first_pts_us : G_MININT64);
      custos_cli_json_add_utc (b, "last", s->packets ? s->last_pts_us : G_MININT64);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
print_json (Create *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "output");
  json_builder_add_string_value (b, self->output);
  json_builder_set_member_name (b, "bytes");
  json_builder_add_int_value (b, custos_writer_get_offset (self->writer));
  json_builder_set_member_name (b, "duration_us");
  json_builder_add_int_value (b, total_duration_us (self));
  json_streams (self, b);
  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->recipient_certs->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (self->recipient_certs->pdata[i]);

      json_builder_add_string_value (b, subject);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "signed");
  json_builder_add_boolean_value (b, self->signer_key != NULL);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

/* The command */

static int
exit_for_create_error (const GError *error)
{
  if (error->domain == GST_PARSE_ERROR)
    return CUSTOS_CLI_EXIT_USAGE;
  return custos_cli_exit_for_error (error);
}

static int
run (Create *self)
{
  g_autoptr (GError) error = NULL;

  if (!load_recipients (self, &error) || !open_writer (self, &error) ||
      !record (self, &error) || !finish (self, &error))
    {
      custos_cli_error ("%s", error->message);
      return exit_for_create_error (error);
    }
  if (self->options.json)
    print_json (self);
  else if (!self->options.quiet)
    print_text (self);
  return CUSTOS_CLI_EXIT_OK;
}

int
custos_cli_create (int    argc,
                   char **argv)
{
  g_auto (Create) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &self.output,
      N_("The fusion file to write"), N_("FILE") },
    { "source", 0, 0, G_OPTION_ARG_STRING, &self.source,
      N_("gst-launch description of an encoded stream, e.g. “videotestsrc ! x264enc”"),
      N_("DESCRIPTION") },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &self.input,
      N_("A media file (MP4, Matroska, …) whose streams to record"), N_("FILE") },
    { "recipient", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &self.recipients,
      N_("Certificate of someone who may decrypt; repeatable"), N_("CERT") },
    { "signer-key", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_key,
      N_("Seal the file with this private key"), N_("FILE") },
    { "signer-cert", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_cert,
      N_("Certificate of the --signer-key"), N_("FILE") },
    { "signer-chain", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_chain,
      N_("Intermediate certificates (PEM) of the signer"), N_("FILE") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &self.name,
      N_("Camera name stored in the file"), N_("NAME") },
    { "plain", 0, 0, G_OPTION_ARG_NONE, &self.plain,
      N_("Do not encrypt (no recipients)"), NULL },
    { "privacy", 0, 0, G_OPTION_ARG_NONE, &self.privacy,
      N_("Mark the streams as privacy-protected derivatives"), NULL },
    { "period-ms", 0, 0, G_OPTION_ARG_INT, &self.period_ms,
      N_("Key period (default 60000)"), N_("MS") },
    { "epoch-ms", 0, 0, G_OPTION_ARG_INT, &self.epoch_ms,
      N_("Wrap epoch, a multiple of the key period (default 3600000)"), N_("MS") },
    { "seal-ms", 0, 0, G_OPTION_ARG_INT, &self.seal_ms,
      N_("Seal interval (default 2000)"), N_("MS") },
    { "start", 0, 0, G_OPTION_ARG_STRING, &self.start,
      N_("UTC time of the first frame, ISO 8601 (default: now)"), N_("TIME") },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &self.options.passphrase_file,
      N_("Read the passphrase of the signing key from the first line of FILE"), N_("FILE") },
    { "allow-legacy", 0, 0, G_OPTION_ARG_NONE, &self.options.allow_legacy,
      N_("Wrap to RSA recipients with PKCS#1 v1.5 (legacy smart cards)"), NULL },
    { NULL }
  };

  context = custos_cli_context_new (NULL,
                                    _("Encrypts a recording into a fusion file, from a GStreamer "
                                      "source description that produces an encoded stream "
                                      "(--source) or from a media file (--input)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_output_options (context, &self.options);
  if (!custos_cli_parse (context, "create", &argc, &argv) || !check_arguments (&self, argc, argv))
    return CUSTOS_CLI_EXIT_USAGE;
  return run (&self);
}
