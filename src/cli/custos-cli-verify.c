/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli verify: recomputes every seal of a fusion file (and, given
 * keys, every GCM tag) and lists what is altered, missing or damaged.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-cli-interaction.h"

typedef struct
{
  CustosCliOptions options;
  const char      *path;
  CustosKeyring   *keyring;
  CustosReader    *reader;
} Verify;

static void
verify_clear (Verify *self)
{
  custos_cli_options_clear (&self->options);
  g_clear_object (&self->keyring);
  g_clear_object (&self->reader);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Verify, verify_clear)

static gboolean
has_keys (Verify *self)
{
  return custos_cli_options_have_keys (&self->options);
}

static gboolean
read_all (Verify  *self,
          GError **error)
{
  GError *local = NULL;

  custos_reader_set_verify (self->reader, TRUE);
  /* Without keys nothing could be decrypted; with them, GCM tags are
   * checked as well. */
  custos_reader_set_decrypt (self->reader, has_keys (self));
  if (self->keyring != NULL)
    {
      g_autoptr (GTlsInteraction) interaction = custos_cli_options_interaction (&self->options,
                                                                                NULL);

      custos_reader_set_key_provider (self->reader, CUSTOS_KEY_PROVIDER (self->keyring));
      custos_reader_set_interaction (self->reader, interaction);
    }
  if (self->options.ca_file != NULL)
    custos_reader_set_ca_file (self->reader, self->options.ca_file);

  for (;;)
    {
      g_autoptr (CustosPacket) packet = custos_reader_next_packet (self->reader, NULL, &local);

      if (packet == NULL)
        break;
    }
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/* Kinds that mean the file is not what was sealed, or not all of it. */
static gboolean
issue_is_problem (CustosIssueKind kind)
{
  switch (kind)
    {
    case CUSTOS_ISSUE_LOCKED:
    case CUSTOS_ISSUE_KEY_FAILED:
      return FALSE;
    case CUSTOS_ISSUE_DAMAGED:
    case CUSTOS_ISSUE_TRUNCATED:
    case CUSTOS_ISSUE_BAD_RECORD:
    case CUSTOS_ISSUE_DUPLICATE:
    case CUSTOS_ISSUE_REORDERED:
    case CUSTOS_ISSUE_UNKNOWN_STREAM:
    case CUSTOS_ISSUE_CONFLICT:
    case CUSTOS_ISSUE_ALTERED:
    case CUSTOS_ISSUE_MISSING:
    case CUSTOS_ISSUE_UNSIGNED:
    case CUSTOS_ISSUE_BAD_SEAL:
    case CUSTOS_ISSUE_MISSING_SEGMENT:
    default:
      return TRUE;
    }
}

/* Without keys every encrypted packet is "locked"; saying so is noise
 * when nobody asked to decrypt. */
static gboolean
issue_is_listed (Verify            *self,
                 const CustosIssue *issue)
{
  return has_keys (self) || issue->kind != CUSTOS_ISSUE_LOCKED;
}

static gboolean
report_is_clean (CustosReport *report)
{
  if (report->unsigned_packets || report->matched || report->missing || report->altered ||
      report->duplicates ||
      report->reordered || report->damaged_regions || report->truncated ||
      report->segments_failed || report->issues_dropped)
    return FALSE;
  for (guint i = 0; i < report->issues->len; i++)
    if (issue_is_problem (((CustosIssue *) report->issues->pdata[i])->kind))
      return FALSE;
  return TRUE;
}

static int
exit_code (CustosReport *report)
{
  if (!report_is_clean (report))
    return CUSTOS_CLI_EXIT_VERIFY;
  if (custos_report_count (report, CUSTOS_ISSUE_KEY_FAILED) > 0)
    return CUSTOS_CLI_EXIT_KEY;
  return CUSTOS_CLI_EXIT_OK;
}

/* Text output */

static void
print_summary (CustosReport *report,
               gboolean      decrypted)
{
  g_print (_("Segments:         %u (%u failed)\n"), report->segments, report->segments_failed);
  g_print (_("Packets:          %" PRIu64 "\n"), report->packets);
  /* The reader counts every sealed record here, descriptors included. */
  g_print (_("Sealed records:   %" PRIu64 " verified, %" PRIu64 " matched "
             "(consistent with the seal, not verified), %" PRIu64 " not signed, "
             "%" PRIu64 " missing, %" PRIu64 " altered\n"),
           report->verified, report->matched, report->unsigned_packets, report->missing,
           report->altered);
  if (decrypted)
    g_print (_("Decrypted:        %" PRIu64 " (%" PRIu64 " locked)\n"),
             report->decrypted, report->locked);
  g_print (_("Duplicates:       %" PRIu64 "\n"), report->duplicates);
  g_print (_("Reordered:        %" PRIu64 "\n"), report->reordered);
  g_print (_("Damaged:          %u regions, %" PRIu64 " bytes\n"),
           report->damaged_regions, report->damaged_bytes);
  g_print (_("Truncated:        %s\n"), report->truncated ? _("yes") : _("no"));
}

static void
print_signers (CustosReader *reader,
               gboolean      have_ca)
{
  g_autoptr (GPtrArray) signers = custos_reader_get_signers (reader);

  for (guint i = 0; i < signers->len; i++)
    {
      g_autofree char *subject = custos_certificate_dup_subject (signers->pdata[i]);
      g_autofree char *hex = custos_certificate_dup_fingerprint_hex (signers->pdata[i]);

      g_print (_("Signer:           %s\n                  %s\n"), subject, hex);
    }
  if (signers->len > 0 && !have_ca)
    g_print (_("                  (not checked against a CA: give --ca)\n"));
}

static void
print_issue (const CustosIssue *issue)
{
  g_autoptr (GString) where = g_string_new (NULL);

  g_string_append_printf (where, _("offset %" PRIu64), issue->offset);
  if (issue->stream >= 0)
    g_string_append_printf (where, _(", stream %d, period %u, packet %u"), issue->stream,
                            issue->period, issue->counter);
  if (issue->utc_us != G_MININT64)
    {
      g_autofree char *utc = custos_cli_format_utc (issue->utc_us);

      g_string_append_printf (where, ", %s", utc);
    }
  g_print ("  %-15s %s: %s\n", custos_issue_kind_to_string (issue->kind), where->str,
           issue->message);
}

static void
print_text (Verify *self)
{
  CustosReport *report = custos_reader_get_report (self->reader);
  guint listed = 0;

  print_summary (report, has_keys (self));
  print_signers (self->reader, self->options.ca_file != NULL);
  g_print ("\n%s\n", _("Issues:"));
  for (guint i = 0; i < report->issues->len; i++)
    if (issue_is_listed (self, report->issues->pdata[i]))
      {
        print_issue (report->issues->pdata[i]);
        listed++;
      }
  if (listed == 0 && report->issues_dropped == 0)
    g_print ("  %s\n", _("none"));
  if (report->issues_dropped > 0)
    g_print (_("  %" PRIu64 " more issues not listed\n"), report->issues_dropped);
  g_print ("\n%s\n", report_is_clean (report) ? _("Result: everything verified")
                                              : _("Result: PROBLEMS FOUND"));
}

/* JSON output */

static void
json_int (JsonBuilder *b,
          const char  *member,
          gint64       value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, value);
}

static void
json_summary (JsonBuilder  *b,
              CustosReport *report)
{
  json_builder_set_member_name (b, "summary");
  json_builder_begin_object (b);
  json_int (b, "segments", report->segments);
  json_int (b, "segments_failed", report->segments_failed);
  json_int (b, "records", report->records);
  json_int (b, "packets", report->packets);
  json_int (b, "decrypted", report->decrypted);
  json_int (b, "plaintext", report->plaintext);
  json_int (b, "locked", report->locked);
  json_int (b, "verified", report->verified);
  json_int (b, "matched", report->matched);
  json_int (b, "not_signed", report->unsigned_packets);
  json_int (b, "missing", report->missing);
  json_int (b, "altered", report->altered);
  json_int (b, "duplicates", report->duplicates);
  json_int (b, "reordered", report->reordered);
  json_int (b, "damaged_regions", report->damaged_regions);
  json_int (b, "damaged_bytes", report->damaged_bytes);
  json_builder_set_member_name (b, "truncated");
  json_builder_add_boolean_value (b, report->truncated);
  json_int (b, "issues_dropped", report->issues_dropped);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, report_is_clean (report));
  json_builder_end_object (b);
}

static void
json_issue (JsonBuilder       *b,
            const CustosIssue *issue)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, custos_issue_kind_to_string (issue->kind));
  json_int (b, "offset", issue->offset);
  json_builder_set_member_name (b, "stream");
  if (issue->stream >= 0)
    json_builder_add_int_value (b, issue->stream);
  else
    json_builder_add_null_value (b);
  json_int (b, "period", issue->period);
  json_int (b, "counter", issue->counter);
  custos_cli_json_add_utc (b, "utc", issue->utc_us);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, issue->message);
  json_builder_end_object (b);
}

static void
print_json (Verify *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  CustosReport *report = custos_reader_get_report (self->reader);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, self->path);
  json_summary (b, report);
  json_builder_set_member_name (b, "issues");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->issues->len; i++)
    if (issue_is_listed (self, report->issues->pdata[i]))
      json_issue (b, report->issues->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

/* The command */

int
custos_cli_verify (int    argc,
                   char **argv)
{
  g_auto (Verify) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;

  context = custos_cli_context_new (_("FILE"),
                                    _("Checks the seals of a fusion file and lists every "
                                      "altered, missing or damaged part. With keys, the "
                                      "packets' authentication tags are checked too."));
  custos_cli_add_key_options (context, &self.options);
  custos_cli_add_output_options (context, &self.options);
  if (!custos_cli_parse (context, "verify", &argc, &argv) ||
      !custos_cli_check_one_file ("verify", argc))
    return CUSTOS_CLI_EXIT_USAGE;
  self.path = argv[1];

  if (!custos_cli_load_keyring (&self.options, &self.keyring, NULL, &error))
    return custos_cli_fail (error);
  self.reader = custos_cli_reader_new (self.path, &error);
  if (self.reader == NULL || !read_all (&self, &error))
    {
      custos_cli_error ("%s: %s", self.path, error->message);
      return custos_cli_exit_for_error (error);
    }

  if (self.options.json)
    print_json (&self);
  else if (!self.options.quiet)
    print_text (&self);
  return exit_code (custos_reader_get_report (self.reader));
}
