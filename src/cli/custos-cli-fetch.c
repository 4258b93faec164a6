/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli fetch: downloads a fusion stream from a custos-archiver over
 * HTTPS, as this machine's certificate: a key file (--key/--cert) or the
 * key on a smart card (--uri; GnuTLS signs the TLS handshake on the card).
 * The file is written as NAME.part and renamed when complete;
 * `custos-cli decrypt` opens it with the same key.
 *
 * The card's PIN is asked once (--pin-file or the terminal) and given to
 * GnuTLS in the key's URI (RFC 7512 pin-value): glib-networking 2.74 does
 * not log in to the card by itself and would silently send no
 * certificate. A wrong PIN is therefore tried exactly once.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"

#define MAX_ERROR_BODY (64 * 1024)

typedef struct
{
  char                 *output;
  char                 *ca_file;
  char                 *key;
  char                 *cert;
  gboolean              quiet;
  CustosCliTokenOptions token;
} Fetch;

static void
fetch_clear (Fetch *self)
{
  g_clear_pointer (&self->output, g_free);
  g_clear_pointer (&self->ca_file, g_free);
  g_clear_pointer (&self->key, g_free);
  g_clear_pointer (&self->cert, g_free);
  custos_cli_token_options_clear (&self->token);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fetch, fetch_clear)

static char *
ask_pin (Fetch   *self,
         GError **error)
{
  g_autoptr (GTlsInteraction) interaction = custos_cli_pin_interaction_new (&self->token, error);
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, _("the card"));
  const guchar *value;
  gsize len;

  if (interaction == NULL)
    return NULL;
  if (g_tls_interaction_ask_password (interaction, password, NULL, error) !=
      G_TLS_INTERACTION_HANDLED)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("No PIN was given"));
      return NULL;
    }
  value = g_tls_password_get_value (password, &len);
  return g_uri_escape_bytes (value, len, NULL);
}

static void
wipe_string (char *s)
{
  if (s != NULL)
    {
      memset (s, 0, strlen (s));
      g_free (s);
    }
}

/* The card's certificate and key, for GnuTLS through p11-kit. */
static GTlsCertificate *
card_certificate (Fetch   *self,
                  GError **error)
{
  g_autofree char *escaped = NULL;
  g_autofree char *base = NULL;
  g_autofree char *cert_uri = NULL;
  char *pin = NULL;
  char *key_uri = NULL;
  GTlsCertificate *cert;

  if (self->token.uri != NULL)
    base = g_strdup (self->token.uri);
  else
    {
      escaped = g_uri_escape_string (self->token.token, NULL, FALSE);
      base = g_strdup_printf ("pkcs11:token=%s", escaped);
    }
  /* GnuTLS looks objects up by id or label only. */
  if (strstr (base, "id=") == NULL && strstr (base, "object=") == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Name the card's certificate with --uri, e.g. “%s;id=%%01” "
                     "(custos-cli keys shows the ids)"), base);
      return NULL;
    }
  if ((pin = ask_pin (self, error)) == NULL)
    return NULL;
  cert_uri = g_strdup_printf ("%s;type=cert", base);
  key_uri = g_strdup_printf ("%s;type=private?pin-value=%s", base, pin);
  cert = g_tls_certificate_new_from_pkcs11_uris (cert_uri, key_uri, error);
  wipe_string (pin);
  wipe_string (key_uri);
  return cert;
}

static GTlsCertificate *
client_certificate (Fetch   *self,
                    GError **error)
{
  if (self->key != NULL || self->cert != NULL)
    {
      if (self->key == NULL || self->cert == NULL)
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("--key and --cert go together"));
          return NULL;
        }
      return g_tls_certificate_new_from_files (self->cert, self->key, error);
    }
  if (self->token.uri != NULL || self->token.token != NULL)
    return card_certificate (self, error);
  return NULL;
}

static SoupSession *
session_new (Fetch   *self,
             GError **error)
{
  g_autoptr (GTlsDatabase) db = NULL;
  SoupSession *session = soup_session_new ();

  if (self->ca_file != NULL)
    {
      /* GTlsFileDatabase wants an absolute path. */
      g_autofree char *ca = g_canonicalize_filename (self->ca_file, NULL);

      if ((db = g_tls_file_database_new (ca, error)) == NULL)
        {
          g_object_unref (session);
          return NULL;
        }
      soup_session_set_tls_database (session, db);
    }
  return session;
}

/* The archiver says why in {"reason": …}. */
static void
report_refusal (SoupMessage  *msg,
                GInputStream *input)
{
  g_autoptr (GBytes) body = g_input_stream_read_bytes (input, MAX_ERROR_BODY, NULL, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *reason = NULL;

  if (body != NULL && json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                                  g_bytes_get_size (body), NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    reason = json_object_get_string_member_with_default (
      json_node_get_object (json_parser_get_root (parser)), "reason", NULL);
  custos_cli_error (_("The archiver answered %u %s%s%s"), soup_message_get_status (msg),
                    soup_message_get_reason_phrase (msg), reason ? ": " : "",
                    reason ? reason : "");
}

static int
save (Fetch        *self,
      GInputStream *input)
{
  g_autoptr (GFile) part = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  gssize n;

  out = custos_cli_part_create (self->output, &part, &error);
  if (out == NULL)
    {
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_INPUT;
    }
  n = g_output_stream_splice (out, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  if (n < 0 || !custos_cli_part_commit (part, self->output, &error))
    {
      custos_cli_part_discard (part);
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_INPUT;
    }
  if (!self->quiet)
    g_printerr (_("%" G_GSSIZE_FORMAT " bytes written to %s\n"), n, self->output);
  return CUSTOS_CLI_EXIT_OK;
}

static int
run (Fetch      *self,
     const char *url)
{
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GError) error = NULL;

  if ((msg = soup_message_new ("GET", url)) == NULL)
    {
      custos_cli_usage_error ("fetch", _("%s is not a URL"), url);
      return CUSTOS_CLI_EXIT_USAGE;
    }
  if ((session = session_new (self, &error)) == NULL)
    {
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_KEY;
    }
  cert = client_certificate (self, &error);
  if (error != NULL)
    {
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_KEY;
    }
  if (cert != NULL)
    soup_message_set_tls_client_certificate (msg, cert);
  input = soup_session_send (session, msg, NULL, &error);
  if (input == NULL && cert != NULL &&
      g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
    {
      custos_cli_error (_("The archiver wanted the client certificate, which could not be used "
                          "(a wrong PIN, or a key that does not match)"));
      return CUSTOS_CLI_EXIT_KEY;
    }
  if (input == NULL)
    {
      custos_cli_error ("%s: %s", url, error->message);
      return CUSTOS_CLI_EXIT_INPUT;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      report_refusal (msg, input);
      return soup_message_get_status (msg) == SOUP_STATUS_FORBIDDEN ? CUSTOS_CLI_EXIT_KEY
                                                                     : CUSTOS_CLI_EXIT_INPUT;
    }
  return save (self, input);
}

int
custos_cli_fetch (int    argc,
                  char **argv)
{
  g_auto (Fetch) self = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &self.output, N_("Write the stream to FILE"),
      N_("FILE") },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &self.ca_file,
      N_("CA certificates (PEM) the archiver's TLS certificate must chain to"), N_("FILE") },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &self.key,
      N_("Private key (PEM) of this machine's client certificate"), N_("FILE") },
    { "cert", 'c', 0, G_OPTION_ARG_FILENAME, &self.cert, N_("The client certificate (PEM)"),
      N_("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &self.quiet, N_("Print nothing but errors"), NULL },
    { NULL }
  };

  context = custos_cli_context_new (_("URL"),
                                    _("Fetch a fusion stream (a time range, or live) from a "
                                      "custos-archiver, as this machine's or this card's "
                                      "certificate."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_token_options (context, &self.token);
  if (!custos_cli_parse (context, "fetch", &argc, &argv))
    return CUSTOS_CLI_EXIT_USAGE;
  if (argc != 2 || self.output == NULL)
    {
      custos_cli_usage_error ("fetch", _("give one URL and -o FILE"));
      return CUSTOS_CLI_EXIT_USAGE;
    }
  return run (&self, argv[1]);
}
