/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-cli-common.h"
#include "custos-cli-interaction.h"
#include "custos-cli-tokens.h"

/* Options */

void
custos_cli_token_options_clear (CustosCliTokenOptions *options)
{
  g_clear_pointer (&options->module, g_free);
  g_clear_pointer (&options->uri, g_free);
  g_clear_pointer (&options->token, g_free);
  g_clear_pointer (&options->pin_file, g_free);
}

void
custos_cli_add_token_options (GOptionContext        *context,
                              CustosCliTokenOptions *options)
{
  const GOptionEntry entries[] = {
    { "token", 't', 0, G_OPTION_ARG_STRING, &options->token,
      N_("The smart card or token with this label"), N_("LABEL") },
    { "uri", 0, 0, G_OPTION_ARG_STRING, &options->uri,
      N_("The token (or module, or objects) an RFC 7512 PKCS#11 URI selects"), N_("URI") },
    { "module", 0, 0, G_OPTION_ARG_FILENAME, &options->module,
      N_("Use this PKCS#11 module instead of those registered with p11-kit"), N_("PATH") },
    { "pin-file", 0, 0, G_OPTION_ARG_FILENAME, &options->pin_file,
      N_("Read the PIN from the first line of FILE (else it is asked on the terminal)"),
      N_("FILE") },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}

gboolean
custos_cli_token_options_given (const CustosCliTokenOptions *options)
{
  return options->module != NULL || options->uri != NULL || options->token != NULL;
}

CustosPkcs11Provider *
custos_cli_token_provider_new (const CustosCliTokenOptions  *options,
                               GError                      **error)
{
  CustosPkcs11Provider *provider;

  provider = custos_pkcs11_provider_new_for_module (options->module, options->uri, NULL, error);
  if (provider != NULL)
    custos_pkcs11_provider_set_poll_interval (provider, 0);
  return provider;
}

GPtrArray *
custos_cli_select_tokens (CustosPkcs11Provider        *provider,
                          const CustosCliTokenOptions *options)
{
  g_autoptr (GPtrArray) tokens = custos_pkcs11_provider_list_tokens (provider);
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_token_info_unref);

  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *token = g_ptr_array_index (tokens, i);

      if (options->token == NULL || g_str_equal (token->label, options->token))
        g_ptr_array_add (ret, custos_pkcs11_token_info_ref (token));
    }
  return ret;
}

CustosPkcs11TokenInfo *
custos_cli_select_one_token (CustosPkcs11Provider         *provider,
                             const CustosCliTokenOptions  *options,
                             GError                      **error)
{
  g_autoptr (GPtrArray) tokens = custos_cli_select_tokens (provider, options);
  g_autoptr (GString) names = g_string_new (NULL);

  if (tokens->len == 1)
    return custos_pkcs11_token_info_ref (g_ptr_array_index (tokens, 0));
  if (tokens->len == 0)
    {
      if (options->token != NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     _("No token labelled “%s” is present (see “custos-cli keys”)"),
                     options->token);
      else
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                             _("No smart card or token is present"));
      return NULL;
    }
  for (guint i = 0; i < tokens->len; i++)
    {
      CustosPkcs11TokenInfo *token = g_ptr_array_index (tokens, i);

      g_string_append_printf (names, "\n  %s", token->uri);
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("%u tokens match; choose one with --uri:%s"), tokens->len, names->str);
  return NULL;
}

/* The PIN from a file */

#define CUSTOS_CLI_TYPE_PIN_FILE (custos_cli_pin_file_get_type ())
G_DECLARE_FINAL_TYPE (CustosCliPinFile, custos_cli_pin_file, CUSTOS_CLI, PIN_FILE, GTlsInteraction)

struct _CustosCliPinFile
{
  GTlsInteraction  parent_instance;
  CustosSecret    *pin;  /* NUL-terminated; dropped (wiped) once given */
  char            *path;
};

G_DEFINE_FINAL_TYPE (CustosCliPinFile, custos_cli_pin_file, G_TYPE_TLS_INTERACTION)

static GTlsInteractionResult
custos_cli_pin_file_ask_password (GTlsInteraction  *interaction,
                                  GTlsPassword     *password,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  CustosCliPinFile *self = CUSTOS_CLI_PIN_FILE (interaction);
  g_autoptr (CustosSecret) pin = g_steal_pointer (&self->pin);

  /* Once only: asked again means the token refused it, and trying the
   * same PIN again would only count down the card's tries. */
  if (pin == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("The PIN from %s was used already"), self->path);
      return G_TLS_INTERACTION_FAILED;
    }
  /* The password copies it into its own wiped memory and wipes this. */
  custos_cli_password_set_text (password, (const char *) custos_secret_peek (pin));
  return G_TLS_INTERACTION_HANDLED;
}

static void
custos_cli_pin_file_finalize (GObject *object)
{
  CustosCliPinFile *self = CUSTOS_CLI_PIN_FILE (object);

  g_clear_pointer (&self->pin, custos_secret_unref);
  g_free (self->path);
  G_OBJECT_CLASS (custos_cli_pin_file_parent_class)->finalize (object);
}

static void
custos_cli_pin_file_class_init (CustosCliPinFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_cli_pin_file_finalize;
  G_TLS_INTERACTION_CLASS (klass)->ask_password = custos_cli_pin_file_ask_password;
}

static void
custos_cli_pin_file_init (CustosCliPinFile *self)
{
}

GTlsInteraction *
custos_cli_pin_interaction_new (const CustosCliTokenOptions  *options,
                                GError                      **error)
{
  CustosCliPinFile *self;
  CustosSecret *pin;

  if (options->pin_file == NULL)
    return custos_cli_interaction_new ();

  pin = custos_cli_read_passphrase (options->pin_file, error);
  if (pin == NULL)
    return NULL;
  self = g_object_new (CUSTOS_CLI_TYPE_PIN_FILE, NULL);
  self->pin = pin;
  self->path = g_strdup (options->pin_file);
  return G_TLS_INTERACTION (self);
}

/* Flags */

static const struct
{
  CustosPkcs11TokenFlags  flag;
  const char             *name;
  const char             *text;
} token_flags[] = {
  { CUSTOS_PKCS11_TOKEN_LOGIN_REQUIRED, "login-required", N_("login required") },
  { CUSTOS_PKCS11_TOKEN_PROTECTED_AUTH_PATH, "pin-pad", N_("PIN pad") },
  { CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW, "pin-count-low", N_("PIN count low (a wrong PIN was entered)") },
  { CUSTOS_PKCS11_TOKEN_PIN_FINAL_TRY, "pin-final-try", N_("final PIN try") },
  { CUSTOS_PKCS11_TOKEN_PIN_LOCKED, "pin-locked", N_("PIN LOCKED (unblock it with the SO PIN)") },
  { CUSTOS_PKCS11_TOKEN_WRITE_PROTECTED, "write-protected", N_("write-protected") },
};

char *
custos_cli_describe_token_flags (CustosPkcs11TokenFlags flags)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (token_flags); i++)
    if (flags & token_flags[i].flag)
      g_string_append_printf (text, "%s%s", text->len > 0 ? ", " : "", _(token_flags[i].text));
  return g_string_free (text, FALSE);
}

GStrv
custos_cli_token_flag_names (CustosPkcs11TokenFlags flags)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < G_N_ELEMENTS (token_flags); i++)
    if (flags & token_flags[i].flag)
      g_strv_builder_add (builder, token_flags[i].name);
  return g_strv_builder_end (builder);
}
