/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli enroll: makes this machine's encryption key and certificate,
 * here, so the private key never travels. On a smart card or token (the
 * key pair generated on it, never extractable) or in a local key file
 * (encrypted with a passphrase). The result goes to the archiver's
 * administrator: a self-signed certificate (stored on the card next to
 * its key, and printed), or with --csr a certificate request for a CA;
 * --import-cert then stores the CA's certificate next to the key.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include <string.h>

#include "custos-cli-certinfo.h"
#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-cli-interaction.h"
#include "custos-cli-tokens.h"

#define MIN_PASSPHRASE 8

typedef struct
{
  CustosCliOptions       output;
  CustosCliTokenOptions  tokens;
  char                  *local;
  char                  *key_type_name;
  char                  *name;
  char                  *subject;
  char                  *label;
  gint                   days;
  char                  *csr_out;
  char                  *cert_out;
  char                  *import_cert;
  char                  *passphrase_file;
  CustosKeyType          key_type;
  char                  *written;  /* where the certificate or request went */
} Enroll;

static void
enroll_clear (Enroll *self)
{
  custos_cli_options_clear (&self->output);
  custos_cli_token_options_clear (&self->tokens);
  g_free (self->local);
  g_free (self->key_type_name);
  g_free (self->name);
  g_free (self->subject);
  g_free (self->label);
  g_free (self->csr_out);
  g_free (self->cert_out);
  g_free (self->import_cert);
  g_free (self->passphrase_file);
  g_free (self->written);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Enroll, enroll_clear)

/* Options */

static gboolean
check_target (Enroll *self)
{
  gboolean card = custos_cli_token_options_given (&self->tokens);

  if (card == (self->local != NULL))
    return custos_cli_usage_error ("enroll", _("Say where the key is: --token LABEL or --uri URI "
                                               "(a smart card), or --local KEYFILE"));
  if (card && self->passphrase_file != NULL)
    return custos_cli_usage_error ("enroll", _("--passphrase-file is for --local; a card has a "
                                               "PIN (--pin-file)"));
  if (!card && self->tokens.pin_file != NULL)
    return custos_cli_usage_error ("enroll", _("--pin-file is for smart cards; a key file has a "
                                               "passphrase (--passphrase-file)"));
  return TRUE;
}

static gboolean
check_import (Enroll *self)
{
  if (self->name != NULL || self->subject != NULL || self->csr_out != NULL ||
      self->key_type_name != NULL || self->days != 0)
    return custos_cli_usage_error ("enroll", _("--import-cert stores a certificate for an existing "
                                               "key; --name, --subject, --key-type, --days and "
                                               "--csr are for making one"));
  return TRUE;
}

static gboolean
check_generation (Enroll *self)
{
  g_autoptr (GError) error = NULL;

  if ((self->name == NULL) == (self->subject == NULL))
    return custos_cli_usage_error ("enroll", _("Give the certificate's subject: --name CN or "
                                               "--subject DN"));
  if (self->days < 0)
    return custos_cli_usage_error ("enroll", _("--days must be positive"));
  if (self->csr_out != NULL && self->cert_out != NULL)
    return custos_cli_usage_error ("enroll", _("--csr makes a request, not a certificate: drop "
                                               "--cert-out"));
  self->key_type = CUSTOS_KEY_TYPE_RSA_2048;
  if (self->key_type_name != NULL &&
      !custos_key_type_from_string (self->key_type_name, &self->key_type, &error))
    return custos_cli_usage_error ("enroll", "--key-type: %s", error->message);
  return TRUE;
}

static gboolean
check_options (Enroll *self)
{
  if (!check_target (self))
    return FALSE;
  return self->import_cert != NULL ? check_import (self) : check_generation (self);
}

static void
fill_spec (Enroll           *self,
           CustosEnrollSpec *spec)
{
  *spec = (CustosEnrollSpec) {
    .key_type = self->key_type,
    .subject = self->subject,
    .common_name = self->name,
    .days = (guint) self->days,
    .csr = self->csr_out != NULL,
    .label = self->label,
  };
}

/* Output */

static gboolean
write_text (const char  *path,
            const char  *text,
            GError     **error)
{
  g_autoptr (GFile) part = NULL;
  g_autoptr (GOutputStream) out = custos_cli_part_create (path, &part, error);

  if (out == NULL)
    return FALSE;
  if (!g_output_stream_write_all (out, text, strlen (text), NULL, NULL, error) ||
      !g_output_stream_close (out, NULL, error) ||
      !custos_cli_part_commit (part, path, error))
    {
      custos_cli_part_discard (part);
      return FALSE;
    }
  return TRUE;
}

/* What the administrator needs: the fingerprint (the recipient id) and
 * the certificate as PEM; the explanatory lines before it are skipped by
 * PEM readers (RFC 7468). */
static void
print_certificate_text (Enroll           *self,
                        CustosEnrollment *enrollment,
                        const char       *pem)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  if (enrollment->certificate != NULL)
    custos_cli_cert_print (enrollment->certificate, "", now);
  g_print ("%s", pem);
}

static void
print_status (Enroll           *self,
              CustosEnrollment *enrollment)
{
  if (!custos_cli_text_wanted (&self->output))
    return;
  if (self->import_cert != NULL && enrollment->token_label != NULL)
    g_printerr (enrollment->stored ? _("Stored the certificate on the token “%s” next to its key "
                                       "(CKA_ID %s).\n")
                                   : _("The token “%s” holds this certificate already (CKA_ID "
                                       "%s).\n"),
                enrollment->token_label, enrollment->id_hex);
  else if (enrollment->token_label != NULL)
    {
      g_printerr (_("Generated a %s key pair on the token “%s” (CKA_ID %s, label “%s”); its "
                    "private key cannot leave the token.\n"),
                  custos_key_type_to_string (enrollment->key_type), enrollment->token_label,
                  enrollment->id_hex, enrollment->label);
      if (enrollment->stored)
        g_printerr (_("Stored the self-signed certificate on the token next to its key.\n"));
    }
  else if (self->import_cert == NULL)
    g_printerr (_("Wrote the new %s private key, encrypted, to %s.\n"),
                custos_key_type_to_string (enrollment->key_type), enrollment->key_uri);
  if (self->written != NULL)
    g_printerr (enrollment->certificate != NULL ? _("Wrote the certificate to %s.\n")
                                                : _("Wrote the certificate request to %s; send "
                                                    "it to your CA, then store its answer with "
                                                    "--import-cert.\n"),
                self->written);
  if (enrollment->certificate != NULL)
    g_printerr (_("Give the certificate to the archiver's administrator; its SHA-256 fingerprint "
                  "identifies you as a recipient.\n"));
}

static void
print_json (Enroll           *self,
            CustosEnrollment *enrollment,
            const char       *pem)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  json_builder_begin_object (b);
  custos_cli_json_add_string (b, "token", enrollment->token_label);
  custos_cli_json_add_string (b, "key_file",
                              enrollment->token_label == NULL ? enrollment->key_uri : NULL);
  custos_cli_json_add_string (b, "key_uri", enrollment->key_uri);
  custos_cli_json_add_string (b, "id", enrollment->token_label != NULL ? enrollment->id_hex : NULL);
  custos_cli_json_add_string (b, "label", enrollment->label);
  custos_cli_json_add_string (b, "key_type", custos_key_type_to_string (enrollment->key_type));
  json_builder_set_member_name (b, "stored");
  json_builder_add_boolean_value (b, enrollment->stored);
  custos_cli_json_add_string (b, "output", self->written);
  json_builder_set_member_name (b, "certificate");
  if (enrollment->certificate != NULL)
    {
      json_builder_begin_object (b);
      custos_cli_cert_json_members (b, enrollment->certificate, now);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  custos_cli_json_add_string (b, enrollment->certificate != NULL ? "pem" : "csr_pem", pem);
  json_builder_end_object (b);
  custos_cli_print_json (b);
}

static gboolean
output (Enroll            *self,
        CustosEnrollment  *enrollment,
        const char        *path,
        GError           **error)
{
  g_autofree char *pem = custos_enrollment_dup_pem (enrollment);

  if (path != NULL)
    {
      if (!write_text (path, pem, error))
        return FALSE;
      self->written = g_strdup (path);
    }
  print_status (self, enrollment);
  if (self->output.json)
    print_json (self, enrollment, pem);
  else if (!self->output.quiet)
    print_certificate_text (self, enrollment, pem);
  return TRUE;
}

/* On a smart card */

static CustosEnrollment *
run_on_card (Enroll                 *self,
             CustosPkcs11Provider   *provider,
             CustosPkcs11TokenInfo  *token,
             GTlsInteraction        *interaction,
             GError                **error)
{
  g_autoptr (CustosCertificate) cert = NULL;
  CustosEnrollSpec spec;

  if (self->import_cert == NULL)
    {
      fill_spec (self, &spec);
      return custos_pkcs11_enroll (provider, token, &spec, interaction, NULL, error);
    }
  cert = custos_certificate_new_from_file (self->import_cert, error);
  if (cert == NULL)
    {
      g_prefix_error (error, "%s: ", self->import_cert);
      return NULL;
    }
  return custos_pkcs11_import_certificate (provider, token, cert, self->label, interaction, NULL,
                                           error);
}

static gboolean
enroll_on_card (Enroll  *self,
                GError **error)
{
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosPkcs11TokenInfo) token = NULL;
  g_autoptr (GTlsInteraction) interaction = NULL;
  g_autoptr (CustosEnrollment) enrollment = NULL;

  provider = custos_cli_token_provider_new (&self->tokens, error);
  if (provider == NULL)
    return FALSE;
  token = custos_cli_select_one_token (provider, &self->tokens, error);
  if (token == NULL)
    return FALSE;
  interaction = custos_cli_pin_interaction_new (&self->tokens, error);
  if (interaction == NULL)
    return FALSE;

  enrollment = run_on_card (self, provider, token, interaction, error);
  if (enrollment == NULL)
    return FALSE;
  return output (self, enrollment, self->csr_out != NULL ? self->csr_out : self->cert_out, error);
}

/* In a key file */

/* alice.key.pem, alice.key, alice -> alice.cert.pem */
static char *
cert_path_for (const char *key_path)
{
  g_autofree char *base = g_strdup (key_path);

  if (g_str_has_suffix (base, ".pem"))
    base[strlen (base) - 4] = '\0';
  if (g_str_has_suffix (base, ".key"))
    base[strlen (base) - 4] = '\0';
  return g_strconcat (base, ".cert.pem", NULL);
}

static CustosSecret *
ask_passphrase (GTlsInteraction  *interaction,
                const char       *description,
                GError          **error)
{
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, description);
  const guchar *value;
  gsize len;

  if (g_tls_interaction_ask_password (interaction, password, NULL, error) !=
      G_TLS_INTERACTION_HANDLED)
    return NULL;
  value = g_tls_password_get_value (password, &len);
  {
    CustosSecret *secret = custos_secret_new (len + 1);

    memcpy (custos_secret_get_data (secret), value, len);
    return secret;
  }
}

/* A new key file's passphrase: the file's, or typed twice. */
static CustosSecret *
new_passphrase (Enroll  *self,
                GError **error)
{
  g_autoptr (GTlsInteraction) interaction = NULL;
  g_autoptr (CustosSecret) first = NULL;
  g_autoptr (CustosSecret) second = NULL;
  g_autofree char *prompt = NULL;

  if (self->passphrase_file != NULL)
    first = custos_cli_read_passphrase (self->passphrase_file, error);
  else
    {
      interaction = custos_cli_interaction_new ();
      prompt = g_strdup_printf (_("New passphrase for %s"), self->local);
      first = ask_passphrase (interaction, prompt, error);
      if (first != NULL)
        second = ask_passphrase (interaction, _("The same passphrase again"), error);
      if (second == NULL)
        return NULL;
      if (!custos_secret_equal (first, second))
        {
          g_set_error_literal (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                               _("The two passphrases differ"));
          return NULL;
        }
    }
  if (first != NULL && strlen ((const char *) custos_secret_peek (first)) < MIN_PASSPHRASE)
    {
      g_set_error (error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE,
                   _("The passphrase of a key file needs at least %d characters"), MIN_PASSPHRASE);
      return NULL;
    }
  return g_steal_pointer (&first);
}

/* The passphrase of an existing key file: the file's, or typed once. */
static CustosSecret *
existing_passphrase (Enroll  *self,
                     GError **error)
{
  g_autoptr (GTlsInteraction) interaction = NULL;
  g_autofree char *prompt = NULL;

  if (self->passphrase_file != NULL)
    return custos_cli_read_passphrase (self->passphrase_file, error);
  interaction = custos_cli_interaction_new ();
  prompt = g_strdup_printf (_("Passphrase for %s"), self->local);
  return ask_passphrase (interaction, prompt, error);
}

/* --local KEY --import-cert CERT: checked against the key, then put next
 * to it. */
static CustosEnrollment *
import_local (Enroll  *self,
              GError **error)
{
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (self->import_cert, error);
  g_autoptr (CustosSecret) passphrase = NULL;

  if (cert == NULL)
    {
      g_prefix_error (error, "%s: ", self->import_cert);
      return NULL;
    }
  passphrase = existing_passphrase (self, error);
  if (passphrase == NULL)
    return NULL;
  return custos_local_import_certificate (self->local, cert,
                                          (const char *) custos_secret_peek (passphrase), error);
}

static gboolean
enroll_local (Enroll  *self,
              GError **error)
{
  g_autoptr (CustosEnrollment) enrollment = NULL;
  g_autoptr (CustosSecret) passphrase = NULL;
  g_autofree char *cert_path = NULL;
  CustosEnrollSpec spec;

  if (self->import_cert != NULL)
    enrollment = import_local (self, error);
  else
    {
      if (g_file_test (self->local, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("%s exists already; a key file is never overwritten"), self->local);
          return FALSE;
        }
      passphrase = new_passphrase (self, error);
      if (passphrase == NULL)
        return FALSE;
      fill_spec (self, &spec);
      enrollment = custos_local_enroll (self->local, &spec,
                                        (const char *) custos_secret_peek (passphrase), NULL,
                                        error);
    }
  if (enrollment == NULL)
    return FALSE;

  if (self->csr_out != NULL)
    return output (self, enrollment, self->csr_out, error);
  cert_path = self->cert_out != NULL ? g_strdup (self->cert_out) : cert_path_for (self->local);
  return output (self, enrollment, cert_path, error);
}

/* The command */

int
custos_cli_enroll (int    argc,
                   char **argv)
{
  g_auto (Enroll) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "local", 0, 0, G_OPTION_ARG_FILENAME, &self.local,
      N_("Make the key in a new, encrypted key file instead of on a smart card"), N_("KEYFILE") },
    { "key-type", 0, 0, G_OPTION_ARG_STRING, &self.key_type_name,
      N_("rsa:2048 (default), rsa:3072 or ec:P-256"), N_("TYPE") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &self.name,
      N_("The certificate's subject is CN=NAME"), N_("NAME") },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &self.subject,
      N_("The certificate's subject, e.g. “CN=Alice,O=Police,C=FR” or “/C=FR/O=Police/CN=Alice”"),
      N_("DN") },
    { "label", 0, 0, G_OPTION_ARG_STRING, &self.label,
      N_("Label of the key and certificate on the card (default: the common name)"),
      N_("LABEL") },
    { "days", 0, 0, G_OPTION_ARG_INT, &self.days,
      N_("Validity of a self-signed certificate (default 730)"), N_("N") },
    { "csr", 0, 0, G_OPTION_ARG_FILENAME, &self.csr_out,
      N_("Write a certificate request for a CA to FILE instead of a self-signed certificate"),
      N_("FILE") },
    { "cert-out", 'o', 0, G_OPTION_ARG_FILENAME, &self.cert_out,
      N_("Also write the certificate to FILE (with --local: instead of KEYFILE's .cert.pem)"),
      N_("FILE") },
    { "import-cert", 0, 0, G_OPTION_ARG_FILENAME, &self.import_cert,
      N_("Store a CA's certificate for a key made earlier next to that key"), N_("FILE") },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &self.passphrase_file,
      N_("The key file's passphrase from the first line of FILE (else asked twice)"),
      N_("FILE") },
    { NULL }
  };
  gboolean ok;

  context = custos_cli_context_new (NULL,
                                    _("Makes this machine's encryption key pair, on a smart card "
                                      "(generated on it, never extractable) or in an encrypted "
                                      "key file, and its self-signed certificate or a certificate "
                                      "request. The certificate and its SHA-256 fingerprint go to "
                                      "the archiver's administrator. The PIN is read from "
                                      "--pin-file or asked on the terminal, never taken as an "
                                      "argument."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  custos_cli_add_token_options (context, &self.tokens);
  custos_cli_add_output_options (context, &self.output);
  if (!custos_cli_parse (context, "enroll", &argc, &argv) ||
      !custos_cli_check_no_arguments ("enroll", argc, argv) || !check_options (&self))
    return CUSTOS_CLI_EXIT_USAGE;

  ok = self.local != NULL ? enroll_local (&self, &error) : enroll_on_card (&self, &error);
  if (!ok)
    return custos_cli_fail (error);
  return CUSTOS_CLI_EXIT_OK;
}
