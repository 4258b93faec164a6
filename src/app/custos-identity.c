/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-identity"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "custos-archiver-client.h"
#include "custos-credentials.h"
#include "custos-crypto.h"
#include "custos-identity.h"
#include "custos-pin-interaction.h"
#include "custos-pkcs11-token.h"

/* Prompts */

CustosSecret *
custos_identity_ask (GTlsInteraction *interaction, const char *description, GTlsPasswordFlags flags,
                     guint tries_left, GCancellable *cancellable, GError **error)
{
  g_autoptr (GTlsPassword) password = g_tls_password_new (flags, description);
  g_autoptr (GError) local_error = NULL;
  const guchar *value;
  CustosSecret *ret;
  gsize         len;

  if (interaction == NULL)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_LOCKED,
                   _ ("%s is needed, but nothing can ask for it"), description);
      return NULL;
    }
  if (tries_left > 0)
    g_object_set_data (G_OBJECT (password), CUSTOS_PIN_TRIES_LEFT_KEY,
                       GUINT_TO_POINTER (tries_left + 1));

  if (g_tls_interaction_invoke_ask_password (interaction, password, cancellable, &local_error) !=
      G_TLS_INTERACTION_HANDLED)
    {
      if (local_error == NULL)
        g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _ ("Nothing was entered"));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  /* NUL-terminated for the APIs that want a C string; the password
   * object's own buffer belongs to the interaction, which wipes it. */
  value = g_tls_password_get_value (password, &len);
  ret = custos_secret_new (len + 1);
  memcpy (custos_secret_get_data (ret), value, len);
  custos_secret_get_data (ret)[len] = '\0';
  return ret;
}

/* Key files */

gboolean
custos_identity_is_pkcs11 (const char *identity)
{
  return identity != NULL && g_str_has_prefix (identity, "pkcs11:");
}

gboolean
custos_identity_is_on_card (const char *identity, const char *card_uri)
{
  P11KitUri *id = NULL, *card = NULL;
  gboolean   on = FALSE;

  if (!custos_identity_is_pkcs11 (identity) || card_uri == NULL)
    return FALSE;
  id = p11_kit_uri_new ();
  card = p11_kit_uri_new ();
  if (p11_kit_uri_parse (identity, P11_KIT_URI_FOR_ANY, id) == P11_KIT_URI_OK &&
      p11_kit_uri_parse (card_uri, P11_KIT_URI_FOR_TOKEN, card) == P11_KIT_URI_OK)
    on = p11_kit_uri_match_token_info (id, p11_kit_uri_get_token_info (card));
  p11_kit_uri_free (id);
  p11_kit_uri_free (card);
  return on;
}

gboolean
custos_identity_is_pkcs12 (const char *path)
{
  g_autofree char *contents = NULL;
  gsize            len;

  if (g_str_has_suffix (path, ".p12") || g_str_has_suffix (path, ".pfx"))
    return TRUE;
  /* PEM is text; PKCS#12 is DER, which starts with a SEQUENCE. */
  if (!g_file_get_contents (path, &contents, &len, NULL) || len < 2)
    return FALSE;
  return (guchar) contents[0] == 0x30 && strstr (contents, "-----BEGIN") == NULL;
}

gboolean
custos_identity_is_encrypted (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  return strstr (contents, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
         strstr (contents, "Proc-Type: 4,ENCRYPTED") != NULL;
}

static gboolean
has_certificate (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  return strstr (contents, "-----BEGIN CERTIFICATE-----") != NULL;
}

char *
custos_identity_find_certificate (const char *key_path, GError **error)
{
  static const char *const key_suffixes[] = { ".key.pem", ".key", ".pem", NULL };
  static const char *const cert_suffixes[] = { ".cert.pem", ".crt", ".pem", ".cer", NULL };
  g_autofree char         *base = g_path_get_basename (key_path);

  if (has_certificate (key_path))
    return g_strdup (key_path);

  for (guint i = 0; key_suffixes[i] != NULL; i++)
    {
      g_autofree char *stem = NULL;

      if (!g_str_has_suffix (key_path, key_suffixes[i]))
        continue;
      stem = g_strndup (key_path, strlen (key_path) - strlen (key_suffixes[i]));
      for (guint j = 0; cert_suffixes[j] != NULL; j++)
        {
          g_autofree char *candidate = g_strconcat (stem, cert_suffixes[j], NULL);

          if (g_strcmp0 (candidate, key_path) != 0 && has_certificate (candidate))
            return g_steal_pointer (&candidate);
        }
    }

  g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_FILE,
               _ ("No certificate for the key “%s”: put it in the same file, or beside it "
                  "as NAME.cert.pem or NAME.crt"),
               base);
  return NULL;
}

/* The TLS certificate of a key file */

/* Opens a key file with a passphrase (NULL: none); a wrong one is
 * G_TLS_ERROR_BAD_CERTIFICATE_PASSWORD. */
typedef gpointer (*KeyFileOpener) (const char *passphrase, gpointer user_data, GError **error);

/* What a key file needs: its passphrase asked up to CUSTOS_IDENTITY_MAX_TRIES
 * times (again flagged RETRY), after one try without when without is TRUE. */
static gpointer
open_key_file (const char *path, gboolean without, KeyFileOpener opener, gpointer user_data,
               GTlsInteraction *interaction, GCancellable *cancellable, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *description = g_strdup_printf (_ ("Passphrase for the key file “%s”"), base);

  for (guint asked = without ? 0 : 1; asked <= CUSTOS_IDENTITY_MAX_TRIES; asked++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (CustosSecret) pass = NULL;
      gpointer result;

      if (asked > 0)
        {
          pass = custos_identity_ask (interaction, description,
                                      asked > 1 ? G_TLS_PASSWORD_RETRY : G_TLS_PASSWORD_NONE, 0,
                                      cancellable, error);
          if (pass == NULL)
            return NULL;
        }
      result = opener (pass != NULL ? (const char *) custos_secret_get_data (pass) : NULL,
                       user_data, &local_error);
      if (result != NULL)
        return result;
      if (!g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE_PASSWORD))
        {
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_FILE,
                       _ ("Cannot use the key file “%s”: %s"), base, local_error->message);
          return NULL;
        }
    }
  g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_PIN,
               _ ("Wrong passphrase for the key file “%s”"), base);
  return NULL;
}

static gpointer
open_pkcs12 (const char *passphrase, gpointer user_data, GError **error)
{
  GBytes *data = user_data;

  return g_tls_certificate_new_from_pkcs12 (g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                                            passphrase, error);
}

/* An unencrypted PKCS#12 opens without asking. */
static GTlsCertificate *
pkcs12_certificate (const char *path, GTlsInteraction *interaction, GCancellable *cancellable,
                    GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  bytes = g_bytes_new_take (g_steal_pointer (&data), len);
  return open_key_file (path, TRUE, open_pkcs12, bytes, interaction, cancellable, error);
}

static gpointer
open_pem_key (const char *passphrase, gpointer user_data, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  EVP_PKEY *pkey = custos_private_key_load (user_data, passphrase, &local_error);

  if (pkey == NULL &&
      g_error_matches (local_error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE))
    g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE_PASSWORD,
                         local_error->message);
  else if (pkey == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return pkey;
}

/* An encrypted PEM key: OpenSSL decrypts it, and GLib gets the plain PEM
 * from memory that is wiped right after (glib-networking 2.74 takes no
 * passphrase for PEM). */
static GTlsCertificate *
encrypted_pem_certificate (const char *key_path, const char *cert_path,
                           GTlsInteraction *interaction, GCancellable *cancellable, GError **error)
{
  g_autofree char *base = g_path_get_basename (key_path);
  g_autofree char *cert_pem = NULL;
  g_autoptr (EVP_PKEY) pkey = NULL;
  GTlsCertificate *ret = NULL;
  char            *key_pem = NULL;
  long             key_len;
  BIO             *bio;
  char            *pem;

  if (!g_file_get_contents (cert_path, &cert_pem, NULL, error))
    return NULL;
  pkey = open_key_file (key_path, FALSE, open_pem_key, (gpointer) key_path, interaction,
                        cancellable, error);
  if (pkey == NULL)
    return NULL;

  bio = BIO_new (BIO_s_secmem ());
  if (bio == NULL || !PEM_write_bio_PrivateKey (bio, pkey, NULL, NULL, 0, NULL, NULL))
    {
      BIO_free (bio);
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_FAILED,
                   _ ("Cannot use the key file “%s”"), base);
      return NULL;
    }
  key_len = BIO_get_mem_data (bio, &key_pem);
  pem = g_strdup_printf ("%s\n%.*s", cert_pem, (int) key_len, key_pem);
  ret = g_tls_certificate_new_from_pem (pem, -1, error);
  custos_memzero (pem, strlen (pem));
  g_free (pem);
  BIO_free (bio); /* secure memory: wiped when freed */
  return ret;
}

static GTlsCertificate *
file_certificate (const char *path, GTlsInteraction *interaction, GCancellable *cancellable,
                  GError **error)
{
  g_autofree char *cert_path = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                   _ ("The key file “%s” does not exist"), path);
      return NULL;
    }
  if (custos_identity_is_pkcs12 (path))
    return pkcs12_certificate (path, interaction, cancellable, error);
  if ((cert_path = custos_identity_find_certificate (path, error)) == NULL)
    return NULL;
  if (custos_identity_is_encrypted (path))
    return encrypted_pem_certificate (path, cert_path, interaction, cancellable, error);
  return g_tls_certificate_new_from_files (cert_path, path, error);
}

/* The TLS certificate of a card */

typedef struct
{
  CK_FUNCTION_LIST *funcs;
  CK_SLOT_ID        slot;
  CK_SESSION_HANDLE session;
  CK_TOKEN_INFO     info;
  char             *label;
} Token;

static void
token_clear (Token *token)
{
  if (token->session != CK_INVALID_HANDLE)
    token->funcs->C_CloseSession (token->session);
  token->session = CK_INVALID_HANDLE;
  g_clear_pointer (&token->label, g_free);
}

static gboolean
find_token (CK_FUNCTION_LIST **modules, P11KitUri *uri, Token *out)
{
  for (guint m = 0; modules[m] != NULL; m++)
    {
      CK_FUNCTION_LIST      *funcs = modules[m];
      CK_INFO                module_info;
      g_autofree CK_SLOT_ID *slots = NULL;
      CK_ULONG               n_slots = 0;

      if (funcs->C_GetInfo (&module_info) != CKR_OK ||
          !p11_kit_uri_match_module_info (uri, &module_info))
        continue;
      if (funcs->C_GetSlotList (CK_TRUE, NULL, &n_slots) != CKR_OK || n_slots == 0)
        continue;
      slots = g_new0 (CK_SLOT_ID, n_slots);
      if (funcs->C_GetSlotList (CK_TRUE, slots, &n_slots) != CKR_OK)
        continue;
      for (CK_ULONG s = 0; s < n_slots; s++)
        {
          CK_TOKEN_INFO info;

          if (funcs->C_GetTokenInfo (slots[s], &info) != CKR_OK ||
              !(info.flags & CKF_TOKEN_INITIALIZED) || !p11_kit_uri_match_token_info (uri, &info))
            continue;
          out->funcs = funcs;
          out->slot = slots[s];
          out->info = info;
          out->label = g_strstrip (g_strndup ((const char *) info.label, sizeof info.label));
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_logged_in (Token *token)
{
  CK_SESSION_INFO info;

  if (token->funcs->C_GetSessionInfo (token->session, &info) != CKR_OK)
    return FALSE;
  return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
}

/* Logs in as the user would with the card, to tell a wrong PIN now. The
 * session is closed again without C_Logout: another session of this
 * process (the key provider's) may share the login. Returns the PIN for
 * GnuTLS, or an empty secret when none is needed. */
static CustosSecret *
check_pin (Token *token, GTlsInteraction *interaction, CustosPinPadFunc pin_pad_func,
           gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autofree char *description = g_strdup_printf ("PIN for the token “%s”", token->label);
  CK_RV            rv;

  rv = token->funcs->C_OpenSession (token->slot, CKF_SERIAL_SESSION, NULL, NULL, &token->session);
  if (rv != CKR_OK)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_FAILED,
                   _ ("Cannot open the card “%s”: %s"), token->label, p11_kit_strerror (rv));
      return NULL;
    }

  /* Unlocked already in this process (by the key provider, or an earlier
   * connection): the login is shared by every session of the module, so
   * GnuTLS needs no PIN and the user is not asked again. */
  if (is_logged_in (token))
    return custos_secret_new (1);

  for (guint n_wrong = 0;;)
    {
      g_autoptr (CustosSecret) pin = NULL;
      GTlsPasswordFlags       flags = G_TLS_PASSWORD_NONE;
      CustosPkcs11TokenFlags  token_flags;
      CustosPkcs11LoginAction action;

      if (token->funcs->C_GetTokenInfo (token->slot, &token->info) != CKR_OK)
        {
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                       _ ("The card “%s” was removed"), token->label);
          return NULL;
        }
      token_flags = custos_pkcs11_token_flags_from_ck (token->info.flags);
      action = custos_pkcs11_login_action (token_flags, n_wrong > 0, &flags);

      switch (action)
        {
        case CUSTOS_PKCS11_LOGIN_NOT_NEEDED:
          return custos_secret_new (1);

        case CUSTOS_PKCS11_LOGIN_LOCKED:
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_LOCKED,
                       _ ("The PIN of the card “%s” is locked"), token->label);
          return NULL;

        case CUSTOS_PKCS11_LOGIN_PIN_PAD:
          if (pin_pad_func != NULL)
            pin_pad_func (TRUE, token->label, user_data);
          rv = token->funcs->C_Login (token->session, CKU_USER, NULL, 0);
          if (pin_pad_func != NULL)
            pin_pad_func (FALSE, token->label, user_data);
          pin = custos_secret_new (1);
          break;

        case CUSTOS_PKCS11_LOGIN_ASK_PIN:
        default:
          pin = custos_identity_ask (interaction, description, flags,
                                     (token_flags & CUSTOS_PKCS11_TOKEN_PIN_FINAL_TRY) ? 1 : 0,
                                     cancellable, error);
          if (pin == NULL)
            return NULL;
          rv = token->funcs->C_Login (token->session, CKU_USER,
                                      (CK_UTF8CHAR_PTR) custos_secret_get_data (pin),
                                      strlen ((char *) custos_secret_get_data (pin)));
          break;
        }

      if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return g_steal_pointer (&pin);
      if (rv == CKR_PIN_LOCKED)
        {
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_LOCKED,
                       _ ("The PIN of the card “%s” is locked"), token->label);
          return NULL;
        }
      if (rv != CKR_PIN_INCORRECT || action == CUSTOS_PKCS11_LOGIN_PIN_PAD)
        {
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_FAILED,
                       _ ("Cannot log in to the card “%s”: %s"), token->label,
                       p11_kit_strerror (rv));
          return NULL;
        }
      if (++n_wrong >= CUSTOS_IDENTITY_MAX_TRIES)
        {
          g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_BAD_PIN,
                       _ ("Wrong PIN for the card “%s”"), token->label);
          return NULL;
        }
    }
}

/* The identity without its object class: GnuTLS wants the same object
 * once as type=cert and once as type=private. The label is dropped when
 * there is an id, since a key's label often differs from its
 * certificate's. */
static char *
object_base_uri (P11KitUri *uri)
{
  char *ret = NULL;

  p11_kit_uri_clear_attribute (uri, CKA_CLASS);
  if (p11_kit_uri_get_attribute (uri, CKA_ID) != NULL)
    p11_kit_uri_clear_attribute (uri, CKA_LABEL);
  if (p11_kit_uri_format (uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &ret) != P11_KIT_URI_OK)
    return NULL;
  return ret;
}

static GTlsCertificate *
card_certificate (const char *identity, GTlsInteraction *interaction, CustosPinPadFunc pin_pad_func,
                  gpointer user_data, GCancellable *cancellable, GError **error)
{
  P11KitUri         *uri = p11_kit_uri_new ();
  CK_FUNCTION_LIST **modules = NULL;
  g_autoptr (CustosSecret) pin = NULL;
  g_autofree char *base = NULL;
  Token            token = { NULL, 0, CK_INVALID_HANDLE };
  GTlsCertificate *ret = NULL;
  int              res;

  res = p11_kit_uri_parse (identity, P11_KIT_URI_FOR_ANY, uri);
  if (res != P11_KIT_URI_OK)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                   _ ("“%s” is not a PKCS#11 URI: %s"), identity, p11_kit_uri_message (res));
      goto out;
    }
  if (p11_kit_uri_get_attribute (uri, CKA_ID) == NULL &&
      p11_kit_uri_get_attribute (uri, CKA_LABEL) == NULL)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                   _ ("“%s” names no certificate (it needs an id or object)"), identity);
      goto out;
    }

  /* The registry, as GnuTLS loads it: a card it cannot see is no use. */
  modules = p11_kit_modules_load_and_initialize (0);
  if (modules == NULL)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_FAILED,
                   _ ("Cannot load the PKCS#11 modules: %s"), p11_kit_message ());
      goto out;
    }
  if (!find_token (modules, uri, &token))
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,
                   _ ("The card for “%s” is not inserted"), identity);
      goto out;
    }
  pin = check_pin (&token, interaction, pin_pad_func, user_data, cancellable, error);
  if (pin == NULL)
    goto out;

  /* The checked PIN goes to GnuTLS in the key's URI, as for any client. */
  base = object_base_uri (uri);
  if (base == NULL)
    {
      g_set_error (error, CUSTOS_CREDENTIALS_ERROR, CUSTOS_CREDENTIALS_ERROR_FAILED,
                   _ ("“%s” is not a PKCS#11 URI of a certificate"), identity);
      goto out;
    }
  ret = custos_archiver_client_certificate_new_from_pkcs11 (
      base,
      custos_secret_get_data (pin)[0] != '\0' ? (const char *) custos_secret_get_data (pin) : NULL,
      error);

out:
  token_clear (&token);
  if (modules != NULL)
    p11_kit_modules_finalize_and_release (modules);
  p11_kit_uri_free (uri);
  return ret;
}

GTlsCertificate *
custos_identity_load_tls_certificate (const char *identity, GTlsInteraction *interaction,
                                      CustosPinPadFunc pin_pad_func, gpointer user_data,
                                      GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (identity != NULL, NULL);

  if (custos_identity_is_pkcs11 (identity))
    return card_certificate (identity, interaction, pin_pad_func, user_data, cancellable, error);
  return file_certificate (identity, interaction, cancellable, error);
}
