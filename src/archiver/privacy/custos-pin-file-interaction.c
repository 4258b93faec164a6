/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <glib/gi18n.h>
#include <openssl/crypto.h>
#include <string.h>

#include "custos-pin-file-interaction.h"

#define MAX_PIN 256

struct _CustosPinFileInteraction
{
  GTlsInteraction parent_instance;

  char *path;
};

G_DEFINE_FINAL_TYPE (CustosPinFileInteraction, custos_pin_file_interaction, G_TYPE_TLS_INTERACTION)

void
custos_pin_free (char *pin)
{
  if (pin == NULL)
    return;
  OPENSSL_cleanse (pin, strlen (pin));
  g_free (pin);
}

char *
custos_pin_file_read (const char *path, GError **error)
{
  char *contents = NULL;
  gsize len = 0;
  char *pin;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  contents[strcspn (contents, "\r\n")] = '\0';
  if (*contents == '\0' || strlen (contents) > MAX_PIN)
    {
      OPENSSL_cleanse (contents, len);
      g_free (contents);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("%s: the first line must be the PIN (1 to %u characters)"), path, MAX_PIN);
      return NULL;
    }
  pin = g_strdup (contents);
  OPENSSL_cleanse (contents, len);
  g_free (contents);
  return pin;
}

static GTlsInteractionResult
custos_pin_file_interaction_ask_password (GTlsInteraction *interaction, GTlsPassword *password,
                                          GCancellable *cancellable, GError **error)
{
  CustosPinFileInteraction *self = CUSTOS_PIN_FILE_INTERACTION (interaction);
  char                     *pin;

  if (g_tls_password_get_flags (password) & G_TLS_PASSWORD_RETRY)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _ ("The token refused the PIN in %s; not trying it again"), self->path);
      return G_TLS_INTERACTION_FAILED;
    }
  if ((pin = custos_pin_file_read (self->path, error)) == NULL)
    return G_TLS_INTERACTION_FAILED;
  /* The password owns pin from here and wipes it when it goes. */
  g_tls_password_set_value_full (password, (guchar *) pin, -1, (GDestroyNotify) custos_pin_free);
  return G_TLS_INTERACTION_HANDLED;
}

static void
custos_pin_file_interaction_finalize (GObject *object)
{
  CustosPinFileInteraction *self = CUSTOS_PIN_FILE_INTERACTION (object);

  g_free (self->path);
  G_OBJECT_CLASS (custos_pin_file_interaction_parent_class)->finalize (object);
}

static void
custos_pin_file_interaction_class_init (CustosPinFileInteractionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_pin_file_interaction_finalize;
  G_TLS_INTERACTION_CLASS (klass)->ask_password = custos_pin_file_interaction_ask_password;
}

static void
custos_pin_file_interaction_init (CustosPinFileInteraction *self)
{
}

GTlsInteraction *
custos_pin_file_interaction_new (const char *path)
{
  CustosPinFileInteraction *self = g_object_new (CUSTOS_TYPE_PIN_FILE_INTERACTION, NULL);

  self->path = g_strdup (path);
  return G_TLS_INTERACTION (self);
}
