/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli keys: the keys this machine can decrypt with. Every smart
 * card and token (p11-kit's modules, or --module), with its flags and
 * certificates: subject, SHA-256 fingerprint (the recipient id an
 * archiver enrols), CKA_ID, key, whether its private key is there, and
 * how long it stays valid; and local key files given with --key/--cert.
 * Private keys of most cards only show after the PIN: --login asks it.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-cli-certinfo.h"
#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-cli-tokens.h"

typedef struct
{
  CustosCliOptions       output;
  CustosCliTokenOptions  tokens;
  gboolean               login;
  char                 **keys;
  char                 **certs;
  char                  *passphrase_file;
  GDateTime             *now;
  GPtrArray             *token_infos; /* CustosPkcs11TokenInfo; NULL when not asked */
  GPtrArray             *key_files;   /* KeyFile */
} Keys;

/* A --key/--cert pair as found. */
typedef struct
{
  char              *key_path;  /* NULL for a certificate alone */
  char              *cert_path; /* NULL when the key file brought it (PKCS#12) */
  CustosCertificate *cert;      /* NULL when unreadable */
  const char        *state;     /* matches, mismatch, encrypted, wrong-passphrase, unreadable, none */
  char              *problem;
} KeyFile;

static void
key_file_free (KeyFile *self)
{
  g_free (self->key_path);
  g_free (self->cert_path);
  g_clear_object (&self->cert);
  g_free (self->problem);
  g_free (self);
}

static void
keys_clear (Keys *self)
{
  custos_cli_options_clear (&self->output);
  custos_cli_token_options_clear (&self->tokens);
  g_clear_pointer (&self->keys, g_strfreev);
  g_clear_pointer (&self->certs, g_strfreev);
  g_clear_pointer (&self->passphrase_file, g_free);
  g_clear_pointer (&self->now, g_date_time_unref);
  g_clear_pointer (&self->token_infos, g_ptr_array_unref);
  g_clear_pointer (&self->key_files, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Keys, keys_clear)

/* Tokens */

static gboolean
login (Keys                  *self,
       CustosPkcs11Provider  *provider,
       GError               **error)
{
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (GTlsInteraction) interaction = NULL;

  /* One token only: a PIN file offered to every card would count down
   * the tries of all those it is wrong for. */
  token = custos_cli_select_one_token (provider, &self->tokens, error);
  if (token == NULL)
    {
      g_prefix_error (error, _("--login: "));
      return FALSE;
    }
  interaction = custos_cli_pin_interaction_new (&self->tokens, error);
  if (interaction == NULL)
    return FALSE;
  return custos_pkcs11_login (provider, token, interaction, NULL, error);
}

static gboolean
list_tokens (Keys    *self,
             GError **error)
{
  g_autoptr (CustosPkcs11Provider) provider = custos_cli_token_provider_new (&self->tokens, error);

  if (provider == NULL)
    return FALSE;
  if (self->login && !login (self, provider, error))
    return FALSE;
  self->token_infos = custos_cli_select_tokens (provider, &self->tokens);
  return TRUE;
}

/* Key files */

static void
check_key (KeyFile     *file,
           const char  *passphrase)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = custos_private_key_load (file->key_path, passphrase, &error);

  if (key != NULL)
    file->state = custos_certificate_matches_key (file->cert, key) ? "matches" : "mismatch";
  else if (g_error_matches (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE))
    file->state = passphrase == NULL ? "encrypted" : "wrong-passphrase";
  else
    {
      file->state = "unreadable";
      file->problem = g_strdup (error->message);
    }
}

/* A key file without --cert: a PKCS#12 file holds its certificate. */
static void
load_bundled_certificate (KeyFile     *file,
                          const char  *passphrase)
{
  g_autoptr (CustosLocalKeyProvider) provider = custos_local_key_provider_new ();
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GError) error = NULL;

  if (!custos_local_key_provider_add_key (provider, file->key_path, NULL, passphrase, &error))
    {
      file->state = g_error_matches (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE)
                      ? (passphrase == NULL ? "encrypted" : "wrong-passphrase")
                      : "unreadable";
      file->problem = g_strdup (error->message);
      return;
    }
  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  if (certs->len > 0)
    file->cert = g_object_ref (g_ptr_array_index (certs, 0));
  file->state = "matches";
}

static KeyFile *
examine (const char *key_path,
         const char *cert_path,
         const char *passphrase)
{
  KeyFile *file = g_new0 (KeyFile, 1);
  g_autoptr (GError) error = NULL;

  file->key_path = g_strdup (key_path);
  file->cert_path = g_strdup (cert_path);
  file->state = "none";
  if (cert_path == NULL)
    {
      load_bundled_certificate (file, passphrase);
      return file;
    }
  file->cert = custos_certificate_new_from_file (cert_path, &error);
  if (file->cert == NULL)
    {
      file->state = "unreadable";
      file->problem = g_strdup_printf ("%s: %s", cert_path, error->message);
      return file;
    }
  if (key_path != NULL)
    check_key (file, passphrase);
  return file;
}

static gboolean
list_key_files (Keys    *self,
                GError **error)
{
  guint n_keys = self->keys != NULL ? g_strv_length (self->keys) : 0;
  guint n_certs = self->certs != NULL ? g_strv_length (self->certs) : 0;
  g_autoptr (CustosSecret) passphrase = NULL;

  if (self->passphrase_file != NULL)
    {
      passphrase = custos_cli_read_passphrase (self->passphrase_file, error);
      if (passphrase == NULL)
        return FALSE;
    }
  self->key_files = g_ptr_array_new_with_free_func ((GDestroyNotify) key_file_free);
  for (guint i = 0; i < MAX (n_keys, n_certs); i++)
    g_ptr_array_add (self->key_files,
                     examine (i < n_keys ? self->keys[i] : NULL, i < n_certs ? self->certs[i] : NULL,
                              passphrase != NULL ? (const char *) custos_secret_peek (passphrase)
                                                 : NULL));
  return TRUE;
}

/* Text */

static const char *
describe_key_state (CustosPkcs11KeyState state)
{
  switch (state)
    {
    case CUSTOS_PKCS11_KEY_PRESENT:
      return _("present");
    case CUSTOS_PKCS11_KEY_ABSENT:
      return _("absent (this token cannot decrypt for it)");
    case CUSTOS_PKCS11_KEY_UNKNOWN:
    default:
      return _("not shown before the PIN (use --login)");
    }
}

static void
print_token (Keys                  *self,
             CustosPkcs11TokenInfo *token)
{
  g_autofree char *flags = custos_cli_describe_token_flags (token->flags);

  g_print (_("Token “%s”\n"), token->label);
  custos_cli_print_field ("  ", 12, _("Made by"), "%s %s, %s %s", token->manufacturer, token->model,
                          _("serial"), token->serial);
  custos_cli_print_field ("  ", 12, _("Module"), "%s (%s %lu)", token->module_name, _("slot"),
                          token->slot_id);
  custos_cli_print_field ("  ", 12, _("URI"), "%s", token->uri);
  custos_cli_print_field ("  ", 12, _("Flags"), "%s", *flags != '\0' ? flags : _("none"));
  if (token->certificates->len == 0)
    g_print ("  %s\n", _("No certificates."));

  for (guint i = 0; i < token->certificates->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (token->certificates, i);

      g_print (_("  Certificate “%s”\n"), cert->label);
      custos_cli_print_field ("    ", 12, _("CKA_ID"), "%s", cert->id_hex);
      custos_cli_cert_print (cert->certificate, "    ", self->now);
      custos_cli_print_field ("    ", 12, _("Private key"), "%s",
                              describe_key_state (cert->key_state));
    }
}

static const char *
describe_file_state (const char *state)
{
  if (g_str_equal (state, "matches"))
    return _("matches the certificate");
  if (g_str_equal (state, "mismatch"))
    return _("DOES NOT MATCH the certificate");
  if (g_str_equal (state, "encrypted"))
    return _("encrypted (give --passphrase-file to check it)");
  if (g_str_equal (state, "wrong-passphrase"))
    return _("wrong passphrase");
  if (g_str_equal (state, "unreadable"))
    return _("unreadable");
  return _("not given");
}

static void
print_key_file (Keys    *self,
                KeyFile *file)
{
  g_print (_("Key file %s\n"), file->key_path != NULL ? file->key_path : _("(none)"));
  if (file->cert_path != NULL)
    custos_cli_print_field ("  ", 12, _("Certificate"), "%s", file->cert_path);
  if (file->cert != NULL)
    custos_cli_cert_print (file->cert, "  ", self->now);
  custos_cli_print_field ("  ", 12, _("Private key"), "%s", describe_file_state (file->state));
  if (file->problem != NULL)
    custos_cli_print_field ("  ", 12, _("Problem"), "%s", file->problem);
}

static void
print_text (Keys *self)
{
  if (self->token_infos != NULL && self->token_infos->len == 0)
    g_print ("%s\n", _("No smart card or token is present."));
  for (guint i = 0; self->token_infos != NULL && i < self->token_infos->len; i++)
    {
      if (i > 0)
        g_print ("\n");
      print_token (self, g_ptr_array_index (self->token_infos, i));
    }
  for (guint i = 0; i < self->key_files->len; i++)
    {
      if (i > 0 || (self->token_infos != NULL && self->token_infos->len > 0))
        g_print ("\n");
      print_key_file (self, g_ptr_array_index (self->key_files, i));
    }
}

/* JSON */

static const char *
key_state_name (CustosPkcs11KeyState state)
{
  switch (state)
    {
    case CUSTOS_PKCS11_KEY_PRESENT:
      return "present";
    case CUSTOS_PKCS11_KEY_ABSENT:
      return "absent";
    case CUSTOS_PKCS11_KEY_UNKNOWN:
    default:
      return "unknown";
    }
}

static void
json_token (Keys                  *self,
            JsonBuilder           *b,
            CustosPkcs11TokenInfo *token)
{
  g_auto (GStrv) flags = custos_cli_token_flag_names (token->flags);

  json_builder_begin_object (b);
  custos_cli_json_add_string (b, "label", token->label);
  custos_cli_json_add_string (b, "manufacturer", token->manufacturer);
  custos_cli_json_add_string (b, "model", token->model);
  custos_cli_json_add_string (b, "serial", token->serial);
  custos_cli_json_add_string (b, "module", token->module_name);
  json_builder_set_member_name (b, "slot");
  json_builder_add_int_value (b, token->slot_id);
  custos_cli_json_add_string (b, "uri", token->uri);
  json_builder_set_member_name (b, "flags");
  json_builder_begin_array (b);
  for (guint i = 0; flags[i] != NULL; i++)
    json_builder_add_string_value (b, flags[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "logged_in");
  json_builder_add_boolean_value (b, token->logged_in);
  json_builder_set_member_name (b, "certificates");
  json_builder_begin_array (b);
  for (guint i = 0; i < token->certificates->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (token->certificates, i);

      json_builder_begin_object (b);
      custos_cli_json_add_string (b, "label", cert->label);
      custos_cli_json_add_string (b, "id", cert->id_hex);
      custos_cli_json_add_string (b, "uri", cert->uri);
      custos_cli_json_add_string (b, "private_key", key_state_name (cert->key_state));
      custos_cli_cert_json_members (b, cert->certificate, self->now);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
json_key_file (Keys        *self,
               JsonBuilder *b,
               KeyFile     *file)
{
  json_builder_begin_object (b);
  custos_cli_json_add_string (b, "key", file->key_path);
  custos_cli_json_add_string (b, "cert", file->cert_path);
  custos_cli_json_add_string (b, "private_key", file->state);
  custos_cli_json_add_string (b, "problem", file->problem);
  if (file->cert != NULL)
    custos_cli_cert_json_members (b, file->cert, self->now);
  json_builder_end_object (b);
}

static void
print_json (Keys *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tokens");
  json_builder_begin_array (b);
  for (guint i = 0; self->token_infos != NULL && i < self->token_infos->len; i++)
    json_token (self, b, g_ptr_array_index (self->token_infos, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "key_files");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->key_files->len; i++)
    json_key_file (self, b, g_ptr_array_index (self->key_files, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

/* The command */

static gboolean
wants_tokens (Keys *self)
{
  /* Files named alone list only those files. */
  return custos_cli_token_options_given (&self->tokens) || self->login ||
         (self->keys == NULL && self->certs == NULL);
}

static gboolean
check_options (Keys *self)
{
  if (self->tokens.pin_file != NULL && !self->login)
    return custos_cli_usage_error ("keys", _("--pin-file is for --login"));
  return TRUE;
}

int
custos_cli_keys (int    argc,
                 char **argv)
{
  g_auto (Keys) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "login", 'l', 0, G_OPTION_ARG_NONE, &self.login,
      N_("Log in to the token (asks its PIN) to show which private keys it holds"), NULL },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME_ARRAY, &self.keys,
      N_("A private key file (PEM or PKCS#12) to check; repeatable, paired with --cert"),
      N_("FILE") },
    { "cert", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &self.certs,
      N_("The certificate of the --key at the same position; repeatable"), N_("FILE") },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &self.passphrase_file,
      N_("Read the passphrase of the key files from the first line of FILE"), N_("FILE") },
    { NULL }
  };

  context = custos_cli_context_new (NULL,
                                    _("Lists the smart cards and tokens with their certificates, "
                                      "fingerprints and expiry dates, and checks local key "
                                      "files."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_token_options (context, &self.tokens);
  custos_cli_add_output_options (context, &self.output);
  if (!custos_cli_parse (context, "keys", &argc, &argv) ||
      !custos_cli_check_no_arguments ("keys", argc, argv) || !check_options (&self))
    return CUSTOS_CLI_EXIT_USAGE;

  self.now = g_date_time_new_now_utc ();
  if ((wants_tokens (&self) && !list_tokens (&self, &error)) || !list_key_files (&self, &error))
    return custos_cli_fail (error);

  if (self.output.json)
    print_json (&self);
  else if (!self.output.quiet)
    print_text (&self);
  return CUSTOS_CLI_EXIT_OK;
}
