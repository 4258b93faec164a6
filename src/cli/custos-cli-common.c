/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include <string.h>

#include "custos-cli-common.h"
#include "custos-cli-interaction.h"
#include "custos-utc.h"

void
custos_cli_options_clear (CustosCliOptions *options)
{
  g_clear_pointer (&options->keys, g_strfreev);
  g_clear_pointer (&options->certs, g_strfreev);
  g_clear_pointer (&options->passphrase_file, g_free);
  g_clear_pointer (&options->ca_file, g_free);
  custos_cli_token_options_clear (&options->token);
}

static gboolean
card_wanted (const CustosCliOptions *options)
{
  return options->card || custos_cli_token_options_given (&options->token);
}

gboolean
custos_cli_options_have_keys (const CustosCliOptions *options)
{
  return (options->keys != NULL && options->keys[0] != NULL) || card_wanted (options);
}

GTlsInteraction *
custos_cli_options_interaction (const CustosCliOptions  *options,
                                GError                 **error)
{
  if (card_wanted (options))
    return custos_cli_pin_interaction_new (&options->token, error);
  return custos_cli_interaction_new ();
}

const char *
custos_cli_exit_codes_help (void)
{
  return _("Exit status:\n"
           "  0  success\n"
           "  1  usage error\n"
           "  2  input unreadable, not a fusion stream, unsupported version, or I/O error\n"
           "  3  some packets are locked (no key for them); what could be read was written\n"
           "  4  verification problems: altered, missing or damaged data (or not signed by\n"
           "     a signer of the --ca)\n"
           "  5  key problem: wrong passphrase, key and certificate do not match, expired\n"
           "     certificate");
}

GOptionContext *
custos_cli_context_new (const char *parameter,
                        const char *summary)
{
  GOptionContext *context = g_option_context_new (parameter);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, custos_cli_exit_codes_help ());
  return context;
}

void
custos_cli_add_key_options (GOptionContext   *context,
                            CustosCliOptions *options)
{
  const GOptionEntry entries[] = {
    { "key", 'k', 0, G_OPTION_ARG_FILENAME_ARRAY, &options->keys,
      N_("Private key (PEM or PKCS#12); repeatable, paired in order with --cert"), N_("FILE") },
    { "cert", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &options->certs,
      N_("Certificate of the --key at the same position (optional for PKCS#12)"), N_("FILE") },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &options->passphrase_file,
      N_("Read the passphrase of the keys from the first line of FILE"), N_("FILE") },
    { "allow-legacy", 0, 0, G_OPTION_ARG_NONE, &options->allow_legacy,
      N_("Allow RSA PKCS#1 v1.5 key wrapping (legacy smart cards)"), NULL },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &options->ca_file,
      N_("CA certificates (PEM) the seal signer must chain to"), N_("FILE") },
    { "card", 0, 0, G_OPTION_ARG_NONE, &options->card,
      N_("Use the keys on smart cards (PKCS#11 modules registered with p11-kit)"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_token_options (context, &options->token);
}

void
custos_cli_add_output_options (GOptionContext   *context,
                               CustosCliOptions *options)
{
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &options->json,
      N_("Print machine-readable JSON on standard output"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options->quiet,
      N_("Print nothing but errors"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}

/* "custos-cli: <message>" on standard error. */
static void print_error_valist (const char *format,
                                va_list     args) G_GNUC_PRINTF (1, 0);

static void
print_error_valist (const char *format,
                    va_list     args)
{
  g_autofree char *message = g_strdup_vprintf (format, args);

  g_printerr ("custos-cli: %s\n", message);
}

gboolean
custos_cli_usage_error (const char *command,
                        const char *format,
                        ...)
{
  va_list args;

  va_start (args, format);
  print_error_valist (format, args);
  va_end (args);
  g_printerr (_("Run “custos-cli %s --help” to see the options.\n"), command);
  return FALSE;
}

gboolean
custos_cli_check_no_arguments (const char  *command,
                               int          argc,
                               char       **argv)
{
  if (argc != 1)
    return custos_cli_usage_error (command, _("Unexpected argument “%s”"), argv[1]);
  return TRUE;
}

gboolean
custos_cli_check_one_file (const char *command,
                           int         argc)
{
  if (argc != 2)
    return custos_cli_usage_error (command, _("Give exactly one fusion file"));
  return TRUE;
}

gboolean
custos_cli_parse (GOptionContext   *context,
                  const char       *command,
                  int              *argc,
                  char           ***argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    return custos_cli_usage_error (command, "%s", error->message);
  return TRUE;
}

CustosSecret *
custos_cli_read_passphrase (const char  *path,
                            GError     **error)
{
  g_autofree char *contents = NULL;
  CustosSecret *secret;
  gsize len = 0;
  gsize line;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  line = strcspn (contents, "\r\n");
  secret = custos_secret_new (line + 1);
  memcpy (custos_secret_get_data (secret), contents, line);
  custos_secret_get_data (secret)[line] = '\0';
  /* The file's copy is not ours to keep. */
  custos_memzero (contents, len);
  return secret;
}

static gboolean
add_keys (CustosLocalKeyProvider *provider,
          CustosCliOptions       *options,
          const char             *passphrase,
          GError                **error)
{
  guint n_keys = options->keys ? g_strv_length (options->keys) : 0;
  guint n_certs = options->certs ? g_strv_length (options->certs) : 0;

  if (n_certs > n_keys)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("Each --cert needs a --key before it"));
      return FALSE;
    }
  for (guint i = 0; i < n_keys; i++)
    {
      const char *cert = i < n_certs ? options->certs[i] : NULL;

      if (!custos_local_key_provider_add_key (provider, options->keys[i], cert, passphrase, error))
        return FALSE;
    }
  return TRUE;
}

/* --token LABEL narrows to that card, as an RFC 7512 token attribute. */
static CustosPkcs11Provider *
card_provider_new (const CustosCliTokenOptions  *token,
                   GError                      **error)
{
  CustosCliTokenOptions narrowed = *token;
  g_autofree char *escaped = NULL;
  g_autofree char *uri = NULL;

  if (token->token != NULL && token->uri == NULL)
    {
      escaped = g_uri_escape_string (token->token, NULL, FALSE);
      uri = g_strdup_printf ("pkcs11:token=%s", escaped);
      narrowed.uri = uri;
    }
  return custos_cli_token_provider_new (&narrowed, error);
}

CustosKeyring *
custos_cli_keyring_new (CustosCliOptions  *options,
                        GPtrArray        **certs_out,
                        GError           **error)
{
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (CustosSecret) passphrase = NULL;
  g_autoptr (CustosKeyring) keyring = NULL;
  gboolean ok;

  if (options->passphrase_file != NULL)
    {
      passphrase = custos_cli_read_passphrase (options->passphrase_file, error);
      if (passphrase == NULL)
        return NULL;
    }
  custos_local_key_provider_set_allow_legacy (provider, options->allow_legacy);
  ok = add_keys (provider, options,
                 passphrase ? (const char *) custos_secret_peek (passphrase) : NULL, error);
  if (!ok)
    return NULL;

  keyring = custos_keyring_new ();
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  if (card_wanted (options))
    {
      g_autoptr (CustosPkcs11Provider) cards = card_provider_new (&options->token, error);

      if (cards == NULL)
        return NULL;
      custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (cards));
    }
  if (certs_out != NULL)
    *certs_out = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (keyring));
  return g_steal_pointer (&keyring);
}

gboolean
custos_cli_load_keyring (CustosCliOptions  *options,
                         CustosKeyring    **keyring,
                         GPtrArray        **certs_out,
                         GError           **error)
{
  /* A --cert alone is named too: custos_cli_keyring_new() says what is missing. */
  if (options->keys == NULL && options->certs == NULL && !custos_cli_options_have_keys (options))
    return TRUE;
  *keyring = custos_cli_keyring_new (options, certs_out, error);
  return *keyring != NULL;
}

static gboolean
append_chain (GPtrArray   *chain,
              const char  *path,
              GError     **error)
{
  g_autoptr (GPtrArray) certs = custos_certificate_load_chain (path, error);

  if (certs == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  for (guint i = 0; i < certs->len; i++)
    g_ptr_array_add (chain, g_object_ref (certs->pdata[i]));
  return TRUE;
}

gboolean
custos_cli_set_signer (CustosWriter  *writer,
                       const char    *key_path,
                       const char    *cert_path,
                       const char    *chain_path,
                       const char    *passphrase_file,
                       GError       **error)
{
  g_autoptr (CustosSecret) passphrase = NULL;
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (EVP_PKEY) key = NULL;

  if (passphrase_file != NULL &&
      (passphrase = custos_cli_read_passphrase (passphrase_file, error)) == NULL)
    return FALSE;
  key = custos_private_key_load (key_path,
                                 passphrase ? (const char *) custos_secret_peek (passphrase) : NULL,
                                 error);
  if (key == NULL)
    {
      g_prefix_error (error, _("Signing key %s: "), key_path);
      return FALSE;
    }
  if (!append_chain (chain, cert_path, error) ||
      (chain_path != NULL && !append_chain (chain, chain_path, error)))
    return FALSE;
  return custos_writer_set_signer (writer, key, chain, error);
}

int
custos_cli_exit_for_error (const GError *error)
{
  if (error->domain == G_OPTION_ERROR)
    return CUSTOS_CLI_EXIT_USAGE;
  if (error->domain == CUSTOS_KEY_ERROR || error->domain == CUSTOS_CRYPTO_ERROR)
    return CUSTOS_CLI_EXIT_KEY;
  return CUSTOS_CLI_EXIT_INPUT;
}

int
custos_cli_fail (const GError *error)
{
  custos_cli_error ("%s", error->message);
  return custos_cli_exit_for_error (error);
}

CustosReader *
custos_cli_reader_new (const char  *path,
                       GError     **error)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr (GFileInputStream) input = g_file_read (file, NULL, error);

  if (input == NULL)
    return NULL;
  return custos_reader_new (G_INPUT_STREAM (input));
}

GOutputStream *
custos_cli_part_create (const char  *path,
                        GFile      **part_out,
                        GError     **error)
{
  g_autofree char *part_path = g_strconcat (path, ".part", NULL);
  g_autoptr (GFile) part = g_file_new_for_path (part_path);
  g_autoptr (GFileOutputStream) out = NULL;

  out = g_file_replace (part, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, error);
  if (out == NULL)
    return NULL;
  *part_out = g_steal_pointer (&part);
  /* Packets are small writes; the buffer turns them into large ones. */
  return g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (out), 256 * 1024);
}

gboolean
custos_cli_part_commit (GFile       *part,
                        const char  *path,
                        GError     **error)
{
  g_autoptr (GFile) final = g_file_new_for_path (path);

  return g_file_move (part, final, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

void
custos_cli_part_discard (GFile *part)
{
  if (part != NULL)
    g_file_delete (part, NULL, NULL);
}

void
custos_cli_error (const char *format,
                  ...)
{
  va_list args;

  va_start (args, format);
  print_error_valist (format, args);
  va_end (args);
}

/* Columns a string takes on a terminal: wide (CJK) characters take two,
 * combining marks none. */
static guint
display_width (const char *text)
{
  guint width = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

char *
custos_cli_pad (const char *label,
                guint       columns)
{
  GString *padded = g_string_new (label);

  for (guint width = display_width (label); width < columns; width++)
    g_string_append_c (padded, ' ');
  return g_string_free (padded, FALSE);
}

void
custos_cli_print_field (const char *indent,
                        guint       columns,
                        const char *label,
                        const char *format,
                        ...)
{
  g_autofree char *padded = custos_cli_pad (label, columns);
  g_autofree char *value = NULL;
  va_list args;

  va_start (args, format);
  value = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s%s %s\n", indent, padded, value);
}

gboolean
custos_cli_text_wanted (const CustosCliOptions *options)
{
  return !options->quiet && !options->json;
}

/* ISO 8601 in UTC with milliseconds, e.g. 2025-01-15T10:00:05.500Z. */
char *
custos_cli_format_utc (gint64 utc_us)
{
  char *text = custos_utc_format (utc_us, 3);

  if (text != NULL)
    return text;
  if (utc_us == G_MININT64)
    return g_strdup (_("unknown time"));
  return g_strdup_printf ("%" G_GINT64_FORMAT " µs", utc_us);
}

char *
custos_cli_format_source_id (const guint8 id[16])
{
  g_autofree char *hex = custos_hex_encode (id, 16);

  return g_strdup_printf ("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void
custos_cli_json_add_utc (JsonBuilder *builder,
                         const char  *member,
                         gint64       utc_us)
{
  custos_utc_json_add (builder, member, utc_us, 3);
}

void
custos_cli_json_add_string (JsonBuilder *builder,
                            const char  *member,
                            const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
custos_cli_print_json (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}
