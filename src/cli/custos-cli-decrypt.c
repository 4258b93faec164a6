/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli decrypt: the plaintext of a fusion file, either as one raw
 * elementary stream file per stream (--format es) or as a plaintext fusion
 * file with the same streams and timestamps (--format fusion). Packets
 * without a key, or that fail authentication, are skipped and counted.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-certinfo.h"
#include "custos-cli-common.h"
#include "custos-cli-interaction.h"

typedef struct
{
  const CustosStreamInfo *info;      /* owned by the reader */
  char                   *file_name; /* es: within the output directory */
  GFile                  *part;
  GOutputStream          *out;
  int                     writer_id; /* fusion: id in the output, -1 for none */
  guint64                 written;
  guint64                 locked;
  guint64                 altered;
  guint64                 bytes;
  gint64                  first_pts_us;
  gint64                  last_pts_us;
} OutStream;

typedef struct
{
  CustosCliOptions options;
  const char      *path;
  char            *output;
  char            *format;
  char            *signer_key;
  char            *signer_cert;
  char            *signer_chain;
  gboolean         fusion;

  CustosKeyring   *keyring;
  GPtrArray       *key_certs;
  CustosReader    *reader;
  OutStream       *streams[CUSTOS_MAX_STREAMS];

  /* --format fusion */
  GFile           *part;
  GOutputStream   *out;
  CustosWriter    *writer;
  gboolean         writer_started;
  guint64          skipped;  /* packets of streams declared after the output started */
} Decrypt;

static void
out_stream_free (OutStream *s)
{
  if (s->out != NULL)
    g_output_stream_close (s->out, NULL, NULL);
  g_clear_object (&s->out);
  /* Still here means the run failed: no partial file is left behind. */
  custos_cli_part_discard (s->part);
  g_clear_object (&s->part);
  g_free (s->file_name);
  g_free (s);
}

static void
decrypt_clear (Decrypt *self)
{
  custos_cli_options_clear (&self->options);
  g_clear_pointer (&self->output, g_free);
  g_clear_pointer (&self->format, g_free);
  g_clear_pointer (&self->signer_key, g_free);
  g_clear_pointer (&self->signer_cert, g_free);
  g_clear_pointer (&self->signer_chain, g_free);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->key_certs, g_ptr_array_unref);
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    g_clear_pointer (&self->streams[i], out_stream_free);
  g_clear_object (&self->writer);
  if (self->out != NULL)
    g_output_stream_close (self->out, NULL, NULL);
  g_clear_object (&self->out);
  custos_cli_part_discard (self->part);
  g_clear_object (&self->part);
  g_clear_object (&self->reader);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Decrypt, decrypt_clear)

/* File names */

static char *
caps_media_type (const char *caps)
{
  return g_strndup (caps, strcspn (caps, ", ;"));
}

static const char *
extension_for_caps (const char *caps)
{
  g_autofree char *media = caps_media_type (caps);

  if (g_str_equal (media, "video/x-h264"))
    return "h264";
  if (g_str_equal (media, "video/x-h265"))
    return "h265";
  if (g_str_equal (media, "audio/x-opus"))
    return "opus";
  if (g_str_equal (media, "audio/mpeg"))
    return strstr (caps, "mpegversion=(int)1") != NULL ? "mp3" : "aac";
  return "bin";
}

/* Opus packets have no framing of their own: the file is only usable by
 * something that knows the packet sizes from streams.json's caps. */
static const char *
note_for_caps (const char *caps)
{
  g_autofree char *media = caps_media_type (caps);

  if (g_str_equal (media, "audio/x-opus"))
    return "raw Opus packets, concatenated without framing (no Ogg container)";
  if (g_str_equal (media, "audio/mpeg") && strstr (caps, "stream-format=(string)raw") != NULL)
    return "raw AAC access units without ADTS headers";
  return NULL;
}

/* Output streams */

static OutStream *
get_stream (Decrypt *self,
            guint8   id)
{
  g_autoptr (GPtrArray) streams = NULL;

  if (self->streams[id] != NULL)
    return self->streams[id];
  streams = custos_reader_get_streams (self->reader);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];

      if (info->id != id)
        continue;
      self->streams[id] = g_new0 (OutStream, 1);
      self->streams[id]->info = info;
      self->streams[id]->writer_id = -1;
      self->streams[id]->first_pts_us = G_MAXINT64;
      self->streams[id]->last_pts_us = G_MININT64;
    }
  return self->streams[id];
}

static gboolean
open_es_file (Decrypt   *self,
              OutStream *s,
              GError   **error)
{
  g_autofree char *path = NULL;

  s->file_name = g_strdup_printf ("stream%u-%s.%s", s->info->id,
                                  custos_stream_kind_to_string (s->info->kind),
                                  extension_for_caps (s->info->caps));
  path = g_build_filename (self->output, s->file_name, NULL);
  s->out = custos_cli_part_create (path, &s->part, error);
  return s->out != NULL;
}

/* The writer needs every stream before the first packet; the reader knows
 * them all once it hands out the first one (they precede data). */
static gboolean
start_writer (Decrypt *self,
              GError **error)
{
  const CustosFileHeader *header = custos_reader_get_header (self->reader);
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (self->reader);

  self->writer = custos_writer_new (self->out, header->name);
  custos_writer_set_intervals (self->writer, header->period_ms, header->epoch_ms,
                               CUSTOS_DEFAULT_SEAL_MS);
  if (self->signer_key != NULL &&
      !custos_cli_set_signer (self->writer, self->signer_key, self->signer_cert, self->signer_chain,
                              self->options.passphrase_file, error))
    return FALSE;
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];
      OutStream *s = get_stream (self, info->id);

      s->writer_id = custos_writer_add_stream (self->writer, info->kind,
                                               info->flags & ~CUSTOS_STREAM_FLAG_ENCRYPTED,
                                               info->caps, info->name, info->utc_origin_us, error);
      if (s->writer_id < 0)
        return FALSE;
    }
  self->writer_started = TRUE;
  return TRUE;
}

static gboolean
write_fusion (Decrypt      *self,
              OutStream    *s,
              CustosPacket *packet,
              GError      **error)
{
  const guint8 *data;
  gsize len;

  if (!self->writer_started && !start_writer (self, error))
    return FALSE;
  if (s->writer_id < 0)
    {
      self->skipped++;
      return TRUE;
    }
  data = g_bytes_get_data (packet->payload, &len);
  return custos_writer_write_packet (self->writer, s->writer_id, packet->pts_us, packet->dts_us,
                                     (packet->flags & CUSTOS_DATA_FLAG_KEYFRAME) != 0, data, len,
                                     error);
}

static gboolean
write_es (Decrypt      *self,
          OutStream    *s,
          CustosPacket *packet,
          GError      **error)
{
  const guint8 *data;
  gsize len;

  if (s->out == NULL && !open_es_file (self, s, error))
    return FALSE;
  data = g_bytes_get_data (packet->payload, &len);
  return g_output_stream_write_all (s->out, data, len, NULL, NULL, error);
}

static gboolean
handle_packet (Decrypt      *self,
               CustosPacket *packet,
               GError      **error)
{
  OutStream *s = get_stream (self, packet->stream);

  if (s == NULL)
    return TRUE;
  switch (packet->status)
    {
    case CUSTOS_PACKET_LOCKED:
      s->locked++;
      return TRUE;
    case CUSTOS_PACKET_ALTERED:
      s->altered++;
      return TRUE;
    case CUSTOS_PACKET_OK:
    default:
      break;
    }
  if (packet->payload == NULL)
    return TRUE;
  if (!(self->fusion ? write_fusion (self, s, packet, error) : write_es (self, s, packet, error)))
    return FALSE;
  s->written++;
  s->bytes += g_bytes_get_size (packet->payload);
  s->first_pts_us = MIN (s->first_pts_us, packet->pts_us);
  s->last_pts_us = MAX (s->last_pts_us, packet->pts_us);
  return TRUE;
}

static gboolean
read_all (Decrypt *self,
          GError **error)
{
  GError *local = NULL;

  for (;;)
    {
      g_autoptr (CustosPacket) packet = custos_reader_next_packet (self->reader, NULL, &local);

      if (packet == NULL)
        break;
      if (!handle_packet (self, packet, error))
        return FALSE;
    }
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, local, "%s: ", self->path);
      return FALSE;
    }
  return TRUE;
}

/* Finishing */

static void
json_stream_description (JsonBuilder *b,
                         OutStream   *s)
{
  const char *note = note_for_caps (s->info->caps);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, s->info->id);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, custos_stream_kind_to_string (s->info->kind));
  json_builder_set_member_name (b, "caps");
  json_builder_add_string_value (b, s->info->caps);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, s->info->name);
  json_builder_set_member_name (b, "utc_origin");
  json_builder_add_int_value (b, s->info->utc_origin_us);
  custos_cli_json_add_string (b, "file", s->file_name);
  json_builder_set_member_name (b, "packets");
  json_builder_add_int_value (b, s->written);
  json_builder_set_member_name (b, "locked");
  json_builder_add_int_value (b, s->locked);
  json_builder_set_member_name (b, "altered");
  json_builder_add_int_value (b, s->altered);
  json_builder_set_member_name (b, "bytes");
  json_builder_add_int_value (b, s->bytes);
  json_builder_set_member_name (b, "first_pts");
  if (s->written > 0)
    json_builder_add_int_value (b, s->first_pts_us);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "last_pts");
  if (s->written > 0)
    json_builder_add_int_value (b, s->last_pts_us);
  else
    json_builder_add_null_value (b);
  if (note != NULL)
    {
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, note);
    }
  json_builder_end_object (b);
}

/* Every declared stream, in id order, even those nothing was written for. */
static void
json_streams (Decrypt     *self,
              JsonBuilder *b)
{
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (self->reader);

  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (guint i = 0; i < streams->len; i++)
    {
      OutStream *s = get_stream (self, ((CustosStreamInfo *) streams->pdata[i])->id);

      json_stream_description (b, s);
    }
  json_builder_end_array (b);
}

static gboolean
write_streams_json (Decrypt *self,
                    GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *path = g_build_filename (self->output, "streams.json", NULL);
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, self->path);
  json_streams (self, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
finish_es (Decrypt *self,
           GError **error)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      OutStream *s = self->streams[i];
      g_autofree char *path = NULL;

      if (s == NULL || s->out == NULL)
        continue;
      path = g_build_filename (self->output, s->file_name, NULL);
      if (!g_output_stream_close (s->out, NULL, error) ||
          !custos_cli_part_commit (s->part, path, error))
        return FALSE;
      g_clear_object (&s->out);
      g_clear_object (&s->part);
    }
  return write_streams_json (self, error);
}

static gboolean
finish_fusion (Decrypt *self,
               GError **error)
{
  /* A writer that got no packet wrote nothing: no file beats an empty,
   * invalid one. */
  if (!self->writer_started)
    {
      g_output_stream_close (self->out, NULL, NULL);
      g_clear_object (&self->out);
      custos_cli_part_discard (self->part);
      g_clear_object (&self->part);
      return TRUE;
    }
  if (!custos_writer_close (self->writer, error))
    return FALSE;
  if (!g_output_stream_close (self->out, NULL, error) ||
      !custos_cli_part_commit (self->part, self->output, error))
    return FALSE;
  g_clear_object (&self->out);
  g_clear_object (&self->part);
  return TRUE;
}

/* Reporting */

static void
totals (Decrypt *self,
        guint64 *written,
        guint64 *locked,
        guint64 *altered)
{
  *written = *locked = *altered = 0;
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    if (self->streams[i] != NULL)
      {
        *written += self->streams[i]->written;
        *locked += self->streams[i]->locked;
        *altered += self->streams[i]->altered;
      }
}

static gboolean
has_verification_problems (Decrypt *self)
{
  CustosReport *report = custos_reader_get_report (self->reader);
  guint64 written, locked, altered;

  totals (self, &written, &locked, &altered);
  if (altered || report->altered || report->missing || report->damaged_regions ||
      report->truncated || custos_report_count (report, CUSTOS_ISSUE_MISSING_SEGMENT) > 0)
    return TRUE;
  /* Unsigned data is only a problem when a trusted signer was asked for. */
  return self->options.ca_file != NULL &&
         (report->unsigned_packets > 0 || custos_report_count (report, CUSTOS_ISSUE_BAD_SEAL) > 0);
}

static int
exit_code (Decrypt *self)
{
  CustosReport *report = custos_reader_get_report (self->reader);
  guint64 written, locked, altered;

  totals (self, &written, &locked, &altered);
  if (has_verification_problems (self))
    return CUSTOS_CLI_EXIT_VERIFY;
  if (custos_report_count (report, CUSTOS_ISSUE_KEY_FAILED) > 0)
    return CUSTOS_CLI_EXIT_KEY;
  if (locked > 0)
    return CUSTOS_CLI_EXIT_LOCKED;
  return CUSTOS_CLI_EXIT_OK;
}

static char *
describe_recipients (Decrypt *self)
{
  g_autoptr (GPtrArray) recipients = custos_reader_get_recipients (self->reader);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < recipients->len; i++)
    {
      const CustosRecipientInfo *r = recipients->pdata[i];
      g_autofree char *hex = custos_hex_encode (r->id, 8);

      g_string_append_printf (text, "%s%s… (%s)", i ? ", " : "", hex, r->label);
    }
  if (recipients->len == 0)
    g_string_append (text, _("(none received)"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
append_problem (GString    *text,
                const char *problem)
{
  if (text->len > 0)
    g_string_append (text, "; ");
  g_string_append (text, problem);
}

/* Only what happened, e.g. "1 packets failed authentication and were skipped". */
static char *
describe_problems (Decrypt *self,
                   guint64  skipped_altered)
{
  CustosReport *report = custos_reader_get_report (self->reader);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *altered = NULL;
  g_autofree char *sealed = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *unsigned_records = NULL;

  if (skipped_altered > 0)
    append_problem (text, altered = g_strdup_printf (_("%" PRIu64 " packets failed "
                                                       "authentication and were skipped"),
                                                     skipped_altered));
  if (report->altered > skipped_altered)
    append_problem (text, sealed = g_strdup_printf (_("%" PRIu64 " sealed records "
                                                      "differ from what was sealed"),
                                                    report->altered));
  if (report->missing > 0 || custos_report_count (report, CUSTOS_ISSUE_MISSING_SEGMENT) > 0)
    append_problem (text, missing = g_strdup_printf (_("%" PRIu64 " sealed records "
                                                       "are missing"), report->missing));
  if (report->damaged_regions > 0)
    append_problem (text, damaged = g_strdup_printf (_("%u damaged regions were skipped"),
                                                     report->damaged_regions));
  if (report->truncated)
    append_problem (text, _("the file ends inside a record (truncated)"));
  if (self->options.ca_file != NULL && report->unsigned_packets > 0)
    append_problem (text, unsigned_records = g_strdup_printf (_("%" PRIu64 " records "
                                                                "are not signed by a signer of "
                                                                "the CA"),
                                                              report->unsigned_packets));
  if (text->len == 0)
    append_problem (text, _("a seal failed"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
print_key_failures (CustosReport *report)
{
  for (guint i = 0; i < report->issues->len; i++)
    {
      const CustosIssue *issue = report->issues->pdata[i];

      if (issue->kind == CUSTOS_ISSUE_KEY_FAILED)
        custos_cli_error ("%s", issue->message);
    }
}

static void
print_problems (Decrypt *self)
{
  CustosReport *report = custos_reader_get_report (self->reader);
  guint64 written, locked, altered;

  totals (self, &written, &locked, &altered);
  print_key_failures (report);
  if (locked > 0)
    {
      g_autofree char *recipients = describe_recipients (self);
      g_autofree char *keys = custos_cli_describe_key_certificates (self->key_certs);

      custos_cli_error (_("%" PRIu64 " packets locked: this file is for recipients %s; "
                          "your keys: %s"), locked, recipients, keys);
    }
  if (has_verification_problems (self))
    {
      g_autofree char *problems = describe_problems (self, altered);

      custos_cli_error (_("Verification problems: %s. Run “custos-cli verify” for details."),
                        problems);
    }
  if (self->skipped > 0)
    custos_cli_error (_("%" PRIu64 " packets of streams that appeared later in the "
                        "file were not written"), self->skipped);
}

static void
print_text (Decrypt *self)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      OutStream *s = self->streams[i];

      if (s == NULL)
        continue;
      g_print (_("Stream %u (%s): %" PRIu64 " packets, %" PRIu64 " bytes"),
               s->info->id, custos_stream_kind_to_string (s->info->kind), s->written, s->bytes);
      if (s->file_name != NULL)
        g_print (" → %s", s->file_name);
      if (s->locked || s->altered)
        g_print (_(" (skipped: %" PRIu64 " locked, %" PRIu64 " altered)"),
                 s->locked, s->altered);
      g_print ("\n");
    }
  if (self->fusion && !self->writer_started)
    g_print (_("Nothing could be decrypted; %s was not written\n"), self->output);
  else
    g_print (_("Written to %s\n"), self->output);
}

static void
print_json (Decrypt *self,
            int      code)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 written, locked, altered;

  totals (self, &written, &locked, &altered);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "output");
  json_builder_add_string_value (b, self->output);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, self->fusion ? "fusion" : "es");
  json_streams (self, b);
  json_builder_set_member_name (b, "written");
  json_builder_add_int_value (b, written);
  json_builder_set_member_name (b, "locked");
  json_builder_add_int_value (b, locked);
  json_builder_set_member_name (b, "altered");
  json_builder_add_int_value (b, altered);
  json_builder_set_member_name (b, "exit_code");
  json_builder_add_int_value (b, code);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

/* The command */

static gboolean
check_arguments (Decrypt *self,
                 int      argc)
{
  if (!custos_cli_check_one_file ("decrypt", argc))
    return FALSE;
  if (self->output == NULL)
    return custos_cli_usage_error ("decrypt", _("Give the output with -o"));
  if (self->format != NULL && !g_str_equal (self->format, "es") &&
      !g_str_equal (self->format, "fusion"))
    return custos_cli_usage_error ("decrypt", _("Unknown format “%s”: use es or fusion"),
                                   self->format);
  self->fusion = self->format != NULL && g_str_equal (self->format, "fusion");
  if (!self->fusion && (self->signer_key != NULL || self->signer_cert != NULL))
    return custos_cli_usage_error ("decrypt",
                                   _("--signer-key and --signer-cert need --format fusion"));
  if ((self->signer_key == NULL) != (self->signer_cert == NULL))
    return custos_cli_usage_error ("decrypt", _("Give both --signer-key and --signer-cert"));
  return TRUE;
}

static gboolean
open_input (Decrypt *self,
            GError **error)
{
  g_autoptr (GTlsInteraction) interaction = custos_cli_options_interaction (&self->options, error);

  if (interaction == NULL)
    return FALSE;
  self->reader = custos_cli_reader_new (self->path, error);
  if (self->reader == NULL)
    return FALSE;
  /* Verifying costs a hash per record and tells what was altered. */
  custos_reader_set_verify (self->reader, TRUE);
  custos_reader_set_decrypt (self->reader, TRUE);
  custos_reader_set_interaction (self->reader, interaction);
  if (self->keyring != NULL)
    custos_reader_set_key_provider (self->reader, CUSTOS_KEY_PROVIDER (self->keyring));
  if (self->options.ca_file != NULL)
    custos_reader_set_ca_file (self->reader, self->options.ca_file);
  return TRUE;
}

static gboolean
open_output (Decrypt *self,
             GError **error)
{
  if (self->fusion)
    {
      self->out = custos_cli_part_create (self->output, &self->part, error);
      return self->out != NULL;
    }
  if (g_mkdir_with_parents (self->output, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot create %s: %s"),
                   self->output, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static int
run (Decrypt *self)
{
  g_autoptr (GError) error = NULL;
  int code;

  if (!custos_cli_load_keyring (&self->options, &self->keyring, &self->key_certs, &error) ||
      !open_input (self, &error) || !open_output (self, &error) || !read_all (self, &error) ||
      !(self->fusion ? finish_fusion (self, &error) : finish_es (self, &error)))
    return custos_cli_fail (error);

  code = exit_code (self);
  /* They explain a non-zero exit: printed even with --quiet. */
  print_problems (self);
  if (self->options.json)
    print_json (self, code);
  else if (!self->options.quiet)
    print_text (self);
  return code;
}

int
custos_cli_decrypt (int    argc,
                    char **argv)
{
  g_auto (Decrypt) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &self.output,
      N_("Output directory (es) or file (fusion)"), N_("PATH") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &self.format,
      N_("es: one raw elementary stream file per stream (default); fusion: a plaintext fusion "
         "file"), N_("FORMAT") },
    { "signer-key", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_key,
      N_("Seal the plaintext fusion file with this private key"), N_("FILE") },
    { "signer-cert", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_cert,
      N_("Certificate of the --signer-key"), N_("FILE") },
    { "signer-chain", 0, 0, G_OPTION_ARG_FILENAME, &self.signer_chain,
      N_("Intermediate certificates (PEM) of the signer"), N_("FILE") },
    { NULL }
  };

  context = custos_cli_context_new (_("FILE"),
                                    _("Decrypts a fusion file with your keys. Packets without a "
                                      "key, or that fail authentication, are skipped and "
                                      "counted."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_key_options (context, &self.options);
  custos_cli_add_output_options (context, &self.options);
  if (!custos_cli_parse (context, "decrypt", &argc, &argv) || !check_arguments (&self, argc))
    return CUSTOS_CLI_EXIT_USAGE;
  self.path = argv[1];
  return run (&self);
}
