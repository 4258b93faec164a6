/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli fetch: downloads a fusion stream from a custos-archiver over
 * HTTPS (CustosArchiverClient), as this machine's certificate: a key file
 * (--key/--cert) or the key on a smart card (--uri; GnuTLS signs the TLS
 * handshake on the card). The file is written as NAME.part and renamed
 * when complete; `custos-cli decrypt` opens it with the same key. A
 * connection that drops is taken up again where it broke off.
 *
 * The archiver's certificate must chain to --ca or match
 * --pin-fingerprint; with neither, fetch refuses and prints the
 * fingerprint it was shown, for the user to compare and pin.
 *
 * The card's PIN is asked once (--pin-file or the terminal) and given to
 * GnuTLS in the key's URI (RFC 7512 pin-value): glib-networking 2.74 does
 * not log in to the card by itself and would silently send no
 * certificate. A wrong PIN is therefore tried exactly once.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-utc.h"

#define API_PREFIX "/api/v1/"

typedef struct
{
  char                 *output;
  char                 *ca_file;
  char                 *pin_fingerprint;
  char                 *key;
  char                 *cert;
  gboolean              quiet;
  CustosCliTokenOptions token;
} Fetch;

/* What the URL asks for. */
typedef struct
{
  char                    *base_url;
  char                    *camera_id;
  gint64                   from_us;
  gint64                   to_us;
  CustosArchiverStreamKind kind;
} StreamUrl;

static void
fetch_clear (Fetch *self)
{
  g_clear_pointer (&self->output, g_free);
  g_clear_pointer (&self->ca_file, g_free);
  g_clear_pointer (&self->pin_fingerprint, g_free);
  g_clear_pointer (&self->key, g_free);
  g_clear_pointer (&self->cert, g_free);
  custos_cli_token_options_clear (&self->token);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fetch, fetch_clear)

static void
stream_url_clear (StreamUrl *url)
{
  g_clear_pointer (&url->base_url, g_free);
  g_clear_pointer (&url->camera_id, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StreamUrl, stream_url_clear)

static void
wipe_string (char *s)
{
  if (s != NULL)
    {
      memset (s, 0, strlen (s));
      g_free (s);
    }
}

static char *
ask_pin (Fetch *self, GError **error)
{
  g_autoptr (GTlsInteraction) interaction = custos_cli_pin_interaction_new (&self->token, error);
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, _ ("the card"));
  const guchar *value;
  gsize         len;

  if (interaction == NULL)
    return NULL;
  if (g_tls_interaction_ask_password (interaction, password, NULL, error) !=
      G_TLS_INTERACTION_HANDLED)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("No PIN was given"));
      return NULL;
    }
  value = g_tls_password_get_value (password, &len);
  return g_strndup ((const char *) value, len);
}

/* The card's certificate and key, for GnuTLS through p11-kit. */
static GTlsCertificate *
card_certificate (Fetch *self, GError **error)
{
  g_autofree char *escaped = NULL;
  g_autofree char *base = NULL;
  char            *pin = NULL;
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
                   _ ("Name the card's certificate with --uri, e.g. “%s;id=%%01” "
                      "(custos-cli keys shows the ids)"),
                   base);
      return NULL;
    }
  if ((pin = ask_pin (self, error)) == NULL)
    return NULL;
  cert = custos_archiver_client_certificate_new_from_pkcs11 (base, pin, error);
  wipe_string (pin);
  return cert;
}

static GTlsCertificate *
client_certificate (Fetch *self, GError **error)
{
  if (self->key != NULL || self->cert != NULL)
    {
      if (self->key == NULL || self->cert == NULL)
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _ ("--key and --cert go together"));
          return NULL;
        }
      return g_tls_certificate_new_from_files (self->cert, self->key, error);
    }
  if (self->token.uri != NULL || self->token.token != NULL)
    return card_certificate (self, error);
  return NULL;
}

/* https://HOST:PORT[/PREFIX]/api/v1/cameras/ID/stream?from=…&to=… (or live=1,
 * and privacy=1 for the privacy-protected stream). */
static gboolean
parse_stream_url (const char *text, StreamUrl *url)
{
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_ENCODED_QUERY, NULL);
  g_autoptr (GHashTable) params = NULL;
  g_auto (GStrv) parts = NULL;
  const char      *path, *api;
  g_autofree char *prefix = NULL;
  g_autofree char *root = NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return FALSE;
  path = g_uri_get_path (uri);
  if ((api = strstr (path, API_PREFIX)) == NULL)
    return FALSE;
  parts = g_strsplit (api + strlen (API_PREFIX), "/", -1);
  if (g_strv_length (parts) != 3 || !g_str_equal (parts[0], "cameras") ||
      !g_str_equal (parts[2], "stream"))
    return FALSE;
  if (g_uri_get_query (uri) != NULL)
    params = g_uri_parse_params (g_uri_get_query (uri), -1, "&", G_URI_PARAMS_NONE, NULL);
  if (params == NULL)
    return FALSE;
  prefix = g_strndup (path, api - path);
  root = g_uri_join (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL, g_uri_get_host (uri),
                     g_uri_get_port (uri), prefix, NULL, NULL);
  url->base_url = g_steal_pointer (&root);
  url->camera_id = g_uri_unescape_string (parts[1], NULL);
  url->kind = g_strcmp0 (g_hash_table_lookup (params, "privacy"), "1") == 0
                  ? CUSTOS_ARCHIVER_STREAM_PRIVACY
                  : CUSTOS_ARCHIVER_STREAM_ORIGINAL;
  if (g_strcmp0 (g_hash_table_lookup (params, "live"), "1") == 0)
    {
      url->from_us = 0;
      url->to_us = CUSTOS_ARCHIVER_LIVE;
      return url->camera_id != NULL;
    }
  return url->camera_id != NULL &&
         custos_utc_parse (g_hash_table_lookup (params, "from"), &url->from_us) &&
         custos_utc_parse (g_hash_table_lookup (params, "to"), &url->to_us);
}

static CustosArchiverClient *
client_new (Fetch *self, StreamUrl *url, GError **error)
{
  g_autoptr (CustosArchiverClient) client = custos_archiver_client_new (url->base_url, error);
  g_autoptr (GTlsCertificate) cert = NULL;

  if (client == NULL)
    return NULL;
  if (self->ca_file != NULL && !custos_archiver_client_set_ca_file (client, self->ca_file, error))
    return NULL;
  if (self->pin_fingerprint != NULL &&
      !custos_archiver_client_set_pinned_fingerprint (client, self->pin_fingerprint, error))
    return NULL;
  cert = client_certificate (self, error);
  if (error != NULL && *error != NULL)
    return NULL;
  custos_archiver_client_set_client_certificate (client, cert);
  return g_steal_pointer (&client);
}

static void
on_opened (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GInputStream *
open_stream (CustosArchiverClient *client, StreamUrl *url, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  custos_archiver_client_open_resumable_stream_async (
      client, url->camera_id, url->from_us, url->to_us, url->kind, NULL, on_opened, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return custos_archiver_client_open_resumable_stream_finish (client, result, error);
}

static int
exit_code (GError *error)
{
  if (g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                       CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_REQUIRED) ||
      g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_FORBIDDEN))
    return CUSTOS_CLI_EXIT_KEY;
  return CUSTOS_CLI_EXIT_INPUT;
}

static void
report_error (GError *error)
{
  custos_cli_error ("%s", error->message);
  if (g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                       CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED) ||
      g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                       CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED))
    g_printerr (_ ("Give the CA of the archiver’s certificate with --ca FILE, or compare the "
                   "fingerprint with the archiver’s administrator and give it with "
                   "--pin-fingerprint HEX.\n"));
}

static int
save (Fetch *self, GInputStream *input)
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
      report_error (error);
      return exit_code (error);
    }
  if (!self->quiet)
    g_printerr (_ ("%" PRId64 " bytes written to %s\n"), (gint64) n, self->output);
  return CUSTOS_CLI_EXIT_OK;
}

static int
run (Fetch *self, const char *text)
{
  g_auto (StreamUrl) url = { NULL };
  g_autoptr (CustosArchiverClient) client = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GError) error = NULL;

  if (!parse_stream_url (text, &url))
    {
      custos_cli_usage_error ("fetch",
                              _ ("%s is not the URL of an archiver's stream "
                                 "(https://HOST:PORT/api/v1/cameras/ID/stream?from=TIME&to=TIME, "
                                 "or ?live=1)"),
                              text);
      return CUSTOS_CLI_EXIT_USAGE;
    }
  if ((client = client_new (self, &url, &error)) == NULL)
    {
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_KEY;
    }
  if ((input = open_stream (client, &url, &error)) == NULL)
    {
      report_error (error);
      return exit_code (error);
    }
  return save (self, input);
}

int
custos_cli_fetch (int argc, char **argv)
{
  g_auto (Fetch) self = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &self.output, N_ ("Write the stream to FILE"),
      N_ ("FILE") },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &self.ca_file,
      N_ ("CA certificates (PEM) the archiver's TLS certificate must chain to"), N_ ("FILE") },
    { "pin-fingerprint", 0, 0, G_OPTION_ARG_STRING, &self.pin_fingerprint,
      N_ ("Trust the archiver's TLS certificate with this SHA-256 fingerprint (without --ca)"),
      N_ ("HEX") },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &self.key,
      N_ ("Private key (PEM) of this machine's client certificate"), N_ ("FILE") },
    { "cert", 'c', 0, G_OPTION_ARG_FILENAME, &self.cert, N_ ("The client certificate (PEM)"),
      N_ ("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &self.quiet, N_ ("Print nothing but errors"), NULL },
    { NULL }
  };

  context =
      custos_cli_context_new (_ ("URL"), _ ("Fetch a fusion stream (a time range, or live) from a "
                                            "custos-archiver, as this machine's or this card's "
                                            "certificate."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_token_options (context, &self.token);
  if (!custos_cli_parse (context, "fetch", &argc, &argv))
    return CUSTOS_CLI_EXIT_USAGE;
  if (argc != 2 || self.output == NULL)
    {
      custos_cli_usage_error ("fetch", _ ("give one URL and -o FILE"));
      return CUSTOS_CLI_EXIT_USAGE;
    }
  return run (&self, argv[1]);
}
