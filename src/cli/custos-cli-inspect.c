/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli inspect: what a fusion file holds, read without any crypto:
 * its streams, who may open them, who sealed them, and for each --cert
 * which time ranges that certificate's key could decrypt.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>

#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"

/* Consecutive packets of one stream with the same status. */
typedef struct
{
  CustosPacketStatus status;
  gint64             first_us;
  gint64             last_us;
  guint64            packets;
} Range;

typedef struct
{
  guint64 packets;
  guint64 keyframes;
  gint64  first_us;
  gint64  last_us;
  GArray *ranges; /* Range */
} StreamScan;

/* One pass over the file, optionally with one certificate as identity. */
typedef struct
{
  CustosReader *reader;
  StreamScan    streams[CUSTOS_MAX_STREAMS];
} Scan;

static void
scan_free (Scan *scan)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    g_clear_pointer (&scan->streams[i].ranges, g_array_unref);
  g_clear_object (&scan->reader);
  g_free (scan);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Scan, scan_free)

static void
add_to_ranges (GArray       *ranges,
               CustosPacket *packet)
{
  Range *last = ranges->len ? &g_array_index (ranges, Range, ranges->len - 1) : NULL;
  Range range = { packet->status, packet->utc_us, packet->utc_us, 1 };

  if (last == NULL || last->status != packet->status)
    {
      g_array_append_val (ranges, range);
      return;
    }
  /* PTS go back and forth with B-frames: keep the extremes. */
  last->first_us = MIN (last->first_us, packet->utc_us);
  last->last_us = MAX (last->last_us, packet->utc_us);
  last->packets++;
}

static void
scan_packet (Scan         *scan,
             CustosPacket *packet)
{
  StreamScan *s = &scan->streams[packet->stream];

  if (s->ranges == NULL)
    {
      s->ranges = g_array_new (FALSE, FALSE, sizeof (Range));
      s->first_us = G_MAXINT64;
      s->last_us = G_MININT64;
    }
  s->packets++;
  if (packet->flags & CUSTOS_DATA_FLAG_KEYFRAME)
    s->keyframes++;
  s->first_us = MIN (s->first_us, packet->utc_us);
  s->last_us = MAX (s->last_us, packet->utc_us);
  add_to_ranges (s->ranges, packet);
}

/* Reads the whole file; with decryption off the reader only says whether
 * a key record for the identity exists, which is what "could decrypt" means. */
static Scan *
scan_file (const char         *path,
           CustosCertificate  *identity,
           GError            **error)
{
  g_autoptr (Scan) scan = g_new0 (Scan, 1);
  GError *local = NULL;

  scan->reader = custos_cli_reader_new (path, error);
  if (scan->reader == NULL)
    return NULL;
  custos_reader_set_decrypt (scan->reader, FALSE);
  custos_reader_set_verify (scan->reader, FALSE);
  if (identity != NULL)
    custos_reader_add_identity (scan->reader, identity);

  for (;;)
    {
      g_autoptr (CustosPacket) packet = custos_reader_next_packet (scan->reader, NULL, &local);

      if (packet == NULL)
        break;
      scan_packet (scan, packet);
    }
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&scan);
}

static gboolean
is_yours (const guint8  id[CUSTOS_RECIPIENT_ID_LEN],
          GPtrArray    *certs)
{
  for (guint i = 0; i < certs->len; i++)
    if (memcmp (custos_certificate_get_fingerprint (certs->pdata[i]), id,
                CUSTOS_RECIPIENT_ID_LEN) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_recipients (gconstpointer a,
                    gconstpointer b)
{
  const CustosRecipientInfo *ra = *(CustosRecipientInfo * const *) a;
  const CustosRecipientInfo *rb = *(CustosRecipientInfo * const *) b;
  int cmp = g_strcmp0 (ra->label, rb->label);

  return cmp != 0 ? cmp : memcmp (ra->id, rb->id, CUSTOS_RECIPIENT_ID_LEN);
}

/* Recipients in a stable order, so output can be compared between runs. */
static GPtrArray *
sorted_recipients (CustosReader *reader)
{
  GPtrArray *recipients = custos_reader_get_recipients (reader);

  g_ptr_array_sort (recipients, compare_recipients);
  return recipients;
}

static const char *
status_label (CustosPacketStatus status)
{
  switch (status)
    {
    case CUSTOS_PACKET_OK:      return _("readable");
    case CUSTOS_PACKET_LOCKED:  return _("locked");
    case CUSTOS_PACKET_ALTERED: return _("altered");
    default:                    return _("unknown");
    }
}

static guint64
count_status (const StreamScan   *s,
              CustosPacketStatus  status)
{
  guint64 n = 0;

  for (guint i = 0; s->ranges != NULL && i < s->ranges->len; i++)
    if (g_array_index (s->ranges, Range, i).status == status)
      n += g_array_index (s->ranges, Range, i).packets;
  return n;
}

/* Text output */

static void
print_header (const char             *path,
              const CustosFileHeader *header)
{
  g_autofree char *source = custos_cli_format_source_id (header->source_id);
  g_autofree char *created = custos_cli_format_utc (header->created_us);

  g_print (_("File:           %s\n"), path);
  g_print (_("Format version: %u.%u\n"), header->version_major, header->version_minor);
  g_print (_("Camera:         %s\n"), header->name);
  g_print (_("Source:         %s\n"), source);
  g_print (_("Created:        %s\n"), created);
  g_print (_("Key period:     %u ms\n"), header->period_ms);
  g_print (_("Wrap epoch:     %u ms\n"), header->epoch_ms);
}

static void
print_stream (const CustosStreamInfo *info,
              const StreamScan       *s)
{
  g_autofree char *first = custos_cli_format_utc (s->packets ? s->first_us : G_MININT64);
  g_autofree char *last = custos_cli_format_utc (s->packets ? s->last_us : G_MININT64);

  g_print (_("  Stream %u: %s%s%s\n"), info->id, custos_stream_kind_to_string (info->kind),
           (info->flags & CUSTOS_STREAM_FLAG_ENCRYPTED) ? _(", encrypted") : _(", not encrypted"),
           (info->flags & CUSTOS_STREAM_FLAG_PRIVACY) ? _(", privacy-protected") : "");
  g_print (_("    Name:      %s\n"), info->name);
  g_print (_("    Caps:      %s\n"), info->caps);
  g_print (_("    Packets:   %" PRIu64 " (%" PRIu64 " keyframes)\n"),
           s->packets, s->keyframes);
  g_print (_("    First:     %s\n"), first);
  g_print (_("    Last:      %s\n"), last);
}

static void
print_streams (Scan *scan)
{
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (scan->reader);

  g_print ("\n%s\n", _("Streams:"));
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];

      print_stream (info, &scan->streams[info->id]);
    }
}

static void
print_recipients (CustosReader *reader,
                  GPtrArray    *certs)
{
  g_autoptr (GPtrArray) recipients = sorted_recipients (reader);

  g_print ("\n%s\n", _("Recipients:"));
  if (recipients->len == 0)
    g_print ("  %s\n", _("none"));
  for (guint i = 0; i < recipients->len; i++)
    {
      const CustosRecipientInfo *r = recipients->pdata[i];
      g_autofree char *hex = custos_hex_encode (r->id, CUSTOS_RECIPIENT_ID_LEN);

      g_print ("  %s  %s%s\n      %s\n", hex, custos_wrap_alg_to_string (r->alg),
               is_yours (r->id, certs) ? _("  (yours)") : "", r->label);
    }
}

static void
print_signers (CustosReader *reader)
{
  g_autoptr (GPtrArray) signers = custos_reader_get_signers (reader);

  g_print ("\n%s\n", _("Signers:"));
  if (signers->len == 0)
    g_print ("  %s\n", _("none (the file is not sealed)"));
  for (guint i = 0; i < signers->len; i++)
    {
      g_autofree char *hex = custos_certificate_dup_fingerprint_hex (signers->pdata[i]);
      g_autofree char *subject = custos_certificate_dup_subject (signers->pdata[i]);

      g_print ("  %s\n      %s\n", hex, subject);
    }
}

static void
print_access (const char        *cert_path,
              CustosCertificate *cert,
              Scan              *access)
{
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (access->reader);
  g_autofree char *subject = custos_certificate_dup_subject (cert);

  g_print ("\n");
  g_print (_("Access for %s (%s):\n"), cert_path, subject);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];
      const StreamScan *s = &access->streams[info->id];

      g_print (_("  Stream %u: %" PRIu64 " of %" PRIu64 " packets readable\n"),
               info->id, count_status (s, CUSTOS_PACKET_OK), s->packets);
      for (guint j = 0; s->ranges != NULL && j < s->ranges->len; j++)
        {
          const Range *r = &g_array_index (s->ranges, Range, j);
          g_autofree char *first = custos_cli_format_utc (r->first_us);
          g_autofree char *last = custos_cli_format_utc (r->last_us);
          /* Padded by display width: %-8s alone counts bytes. */
          g_autofree char *status = custos_cli_pad (status_label (r->status), 8);

          g_print (_("    %-8s %s – %s (%" PRIu64 " packets)\n"), status, first, last, r->packets);
        }
    }
}

/* JSON output */

static void
json_header (JsonBuilder            *b,
             const char             *path,
             const CustosFileHeader *header)
{
  g_autofree char *version = g_strdup_printf ("%u.%u", header->version_major,
                                              header->version_minor);
  g_autofree char *source = custos_cli_format_source_id (header->source_id);

  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, version);
  json_builder_set_member_name (b, "camera");
  json_builder_add_string_value (b, header->name);
  json_builder_set_member_name (b, "source_id");
  json_builder_add_string_value (b, source);
  custos_cli_json_add_utc (b, "created", header->created_us);
  json_builder_set_member_name (b, "created_us");
  json_builder_add_int_value (b, header->created_us);
  json_builder_set_member_name (b, "period_ms");
  json_builder_add_int_value (b, header->period_ms);
  json_builder_set_member_name (b, "epoch_ms");
  json_builder_add_int_value (b, header->epoch_ms);
}

static void
json_stream (JsonBuilder            *b,
             const CustosStreamInfo *info,
             const StreamScan       *s)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, info->id);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, custos_stream_kind_to_string (info->kind));
  json_builder_set_member_name (b, "encrypted");
  json_builder_add_boolean_value (b, (info->flags & CUSTOS_STREAM_FLAG_ENCRYPTED) != 0);
  json_builder_set_member_name (b, "privacy_protected");
  json_builder_add_boolean_value (b, (info->flags & CUSTOS_STREAM_FLAG_PRIVACY) != 0);
  json_builder_set_member_name (b, "caps");
  json_builder_add_string_value (b, info->caps);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "utc_origin_us");
  json_builder_add_int_value (b, info->utc_origin_us);
  json_builder_set_member_name (b, "packets");
  json_builder_add_int_value (b, s->packets);
  json_builder_set_member_name (b, "keyframes");
  json_builder_add_int_value (b, s->keyframes);
  custos_cli_json_add_utc (b, "first", s->packets ? s->first_us : G_MININT64);
  custos_cli_json_add_utc (b, "last", s->packets ? s->last_us : G_MININT64);
  json_builder_end_object (b);
}

static void
json_streams (JsonBuilder *b,
              Scan        *scan)
{
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (scan->reader);

  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];

      json_stream (b, info, &scan->streams[info->id]);
    }
  json_builder_end_array (b);
}

static void
json_recipients (JsonBuilder  *b,
                 CustosReader *reader,
                 GPtrArray    *certs)
{
  g_autoptr (GPtrArray) recipients = sorted_recipients (reader);

  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; i < recipients->len; i++)
    {
      const CustosRecipientInfo *r = recipients->pdata[i];
      g_autofree char *hex = custos_hex_encode (r->id, CUSTOS_RECIPIENT_ID_LEN);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, hex);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, r->label);
      json_builder_set_member_name (b, "algorithm");
      json_builder_add_string_value (b, custos_wrap_alg_to_string (r->alg));
      json_builder_set_member_name (b, "yours");
      json_builder_add_boolean_value (b, is_yours (r->id, certs));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_signers (JsonBuilder  *b,
              CustosReader *reader)
{
  g_autoptr (GPtrArray) signers = custos_reader_get_signers (reader);

  json_builder_set_member_name (b, "signers");
  json_builder_begin_array (b);
  for (guint i = 0; i < signers->len; i++)
    {
      g_autofree char *hex = custos_certificate_dup_fingerprint_hex (signers->pdata[i]);
      g_autofree char *subject = custos_certificate_dup_subject (signers->pdata[i]);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, hex);
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, subject);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_ranges (JsonBuilder      *b,
             const StreamScan *s)
{
  json_builder_set_member_name (b, "ranges");
  json_builder_begin_array (b);
  for (guint j = 0; s->ranges != NULL && j < s->ranges->len; j++)
    {
      const Range *r = &g_array_index (s->ranges, Range, j);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, custos_packet_status_to_string (r->status));
      custos_cli_json_add_utc (b, "first", r->first_us);
      custos_cli_json_add_utc (b, "last", r->last_us);
      json_builder_set_member_name (b, "packets");
      json_builder_add_int_value (b, r->packets);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_access (JsonBuilder       *b,
             const char        *cert_path,
             CustosCertificate *cert,
             Scan              *access)
{
  g_autoptr (GPtrArray) streams = custos_reader_get_streams (access->reader);
  g_autofree char *hex = custos_certificate_dup_fingerprint_hex (cert);
  g_autofree char *subject = custos_certificate_dup_subject (cert);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "certificate");
  json_builder_add_string_value (b, cert_path);
  json_builder_set_member_name (b, "fingerprint");
  json_builder_add_string_value (b, hex);
  json_builder_set_member_name (b, "subject");
  json_builder_add_string_value (b, subject);
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (guint i = 0; i < streams->len; i++)
    {
      const CustosStreamInfo *info = streams->pdata[i];
      const StreamScan *s = &access->streams[info->id];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, info->id);
      json_builder_set_member_name (b, "readable_packets");
      json_builder_add_int_value (b, count_status (s, CUSTOS_PACKET_OK));
      json_builder_set_member_name (b, "locked_packets");
      json_builder_add_int_value (b, count_status (s, CUSTOS_PACKET_LOCKED));
      json_ranges (b, s);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* The command */

typedef struct
{
  CustosCliOptions options;
  const char      *path;
  GPtrArray       *certs;  /* CustosCertificate, in --cert order */
  Scan            *main;   /* with the first --cert as identity */
  GPtrArray       *access; /* Scan per --cert */
} Inspect;

static void
inspect_clear (Inspect *self)
{
  custos_cli_options_clear (&self->options);
  g_clear_pointer (&self->certs, g_ptr_array_unref);
  g_clear_pointer (&self->access, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Inspect, inspect_clear)

static gboolean
load_certs (Inspect  *self,
            GError  **error)
{
  self->certs = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; self->options.certs != NULL && self->options.certs[i] != NULL; i++)
    {
      CustosCertificate *cert = custos_certificate_new_from_file (self->options.certs[i], error);

      if (cert == NULL)
        {
          g_prefix_error (error, "%s: ", self->options.certs[i]);
          return FALSE;
        }
      g_ptr_array_add (self->certs, cert);
    }
  return TRUE;
}

/* The reader answers "could decrypt" for all its identities at once, so
 * each certificate gets its own pass; the first pass doubles as the main
 * one. Without crypto a pass costs little more than reading the file. */
static gboolean
scan_all (Inspect  *self,
          GError  **error)
{
  self->access = g_ptr_array_new_with_free_func ((GDestroyNotify) scan_free);
  for (guint i = 0; i < MAX (self->certs->len, 1); i++)
    {
      Scan *scan = scan_file (self->path, i < self->certs->len ? self->certs->pdata[i] : NULL,
                              error);

      if (scan == NULL)
        return FALSE;
      g_ptr_array_add (self->access, scan);
    }
  self->main = self->access->pdata[0];
  if (custos_reader_get_header (self->main->reader) == NULL)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                           _("no file header found: not a fusion stream"));
      return FALSE;
    }
  return TRUE;
}

static void
print_text (Inspect *self)
{
  CustosReader *reader = self->main->reader;
  CustosReport *report = custos_reader_get_report (reader);

  print_header (self->path, custos_reader_get_header (reader));
  if (report->truncated)
    g_print (_("Truncated:      yes (an unfinished recording)\n"));
  print_streams (self->main);
  print_recipients (reader, self->certs);
  print_signers (reader);
  for (guint i = 0; i < self->certs->len; i++)
    print_access (self->options.certs[i], self->certs->pdata[i], self->access->pdata[i]);
}

static void
print_json (Inspect *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  CustosReader *reader = self->main->reader;

  json_builder_begin_object (b);
  json_header (b, self->path, custos_reader_get_header (reader));
  json_builder_set_member_name (b, "truncated");
  json_builder_add_boolean_value (b, custos_reader_get_report (reader)->truncated);
  json_streams (b, self->main);
  json_recipients (b, reader, self->certs);
  json_signers (b, reader);
  json_builder_set_member_name (b, "access");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->certs->len; i++)
    json_access (b, self->options.certs[i], self->certs->pdata[i], self->access->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

int
custos_cli_inspect (int    argc,
                    char **argv)
{
  g_auto (Inspect) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "cert", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &self.options.certs,
      N_("Also show what the key of this certificate could decrypt; repeatable"), N_("FILE") },
    { NULL }
  };

  context = custos_cli_context_new (_("FILE"),
                                    _("Shows the streams, recipients and signers of a fusion "
                                      "file without decrypting it."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_output_options (context, &self.options);
  if (!custos_cli_parse (context, "inspect", &argc, &argv) ||
      !custos_cli_check_one_file ("inspect", argc))
    return CUSTOS_CLI_EXIT_USAGE;
  self.path = argv[1];

  if (!load_certs (&self, &error))
    return custos_cli_fail (error);
  if (!scan_all (&self, &error))
    {
      custos_cli_error ("%s: %s", self.path, error->message);
      return custos_cli_exit_for_error (error);
    }
  if (self.options.json)
    print_json (&self);
  else if (!self.options.quiet)
    print_text (&self);
  return CUSTOS_CLI_EXIT_OK;
}
