/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "custos-cli-interaction.h"
#include "custos-pin-pad.h"
#include "custos-secret.h"

#define MAX_PASSPHRASE 1024

struct _CustosCliInteraction
{
  GTlsInteraction parent_instance;
};

static void pin_pad_prompt_iface_init (CustosPinPadPromptInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosCliInteraction, custos_cli_interaction,
                               G_TYPE_TLS_INTERACTION,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_PIN_PAD_PROMPT,
                                                      pin_pad_prompt_iface_init))

/* A reader with a PIN pad asks by itself: say so, or the command seems to hang. */
static void
pin_pad_begin (CustosPinPadPrompt *prompt,
               const char         *token_label)
{
  g_printerr (_("Enter the PIN on the reader of the card “%s”…\n"), token_label);
}

static void
pin_pad_prompt_iface_init (CustosPinPadPromptInterface *iface)
{
  iface->begin = pin_pad_begin;
}

/* The password object frees its value with this: the bytes are a
 * passphrase, so they are wiped first. */
static void
wipe_and_free (gpointer data)
{
  char *text = data;

  custos_memzero (text, strlen (text));
  g_free (text);
}

void
custos_cli_password_set_text (GTlsPassword *password,
                              const char   *text)
{
  g_tls_password_set_value_full (password, (guchar *) g_strdup (text), -1, wipe_and_free);
}

/* Reads one line from fd into buf (NUL-terminated); FALSE on EOF or error. */
static gboolean
read_line (int    fd,
           char  *buf,
           gsize  size)
{
  gsize len = 0;

  for (;;)
    {
      char c;
      ssize_t n = read (fd, &c, 1);

      if (n <= 0)
        return FALSE;
      if (c == '\n' || c == '\r')
        break;
      if (len + 1 < size)
        buf[len++] = c;
    }
  buf[len] = '\0';
  return TRUE;
}

static gboolean
ask_on_terminal (int          fd,
                 const char  *description,
                 char        *buf,
                 gsize        size)
{
  struct termios saved, quiet;
  g_autofree char *prompt = g_strdup_printf ("%s: ", description);
  gboolean echo_off;
  gboolean ok;

  echo_off = tcgetattr (fd, &saved) == 0;
  if (echo_off)
    {
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      echo_off = tcsetattr (fd, TCSAFLUSH, &quiet) == 0;
    }
  if (write (fd, prompt, strlen (prompt)) < 0)
    g_debug ("cannot write the passphrase prompt");
  ok = read_line (fd, buf, size);
  if (echo_off)
    tcsetattr (fd, TCSAFLUSH, &saved);
  if (write (fd, "\n", 1) < 0)
    g_debug ("cannot end the passphrase prompt");
  return ok;
}

static GTlsInteractionResult
custos_cli_interaction_ask_password (GTlsInteraction  *interaction,
                                     GTlsPassword     *password,
                                     GCancellable     *cancellable,
                                     GError          **error)
{
  const char *description = g_tls_password_get_description (password);
  g_autoptr (CustosSecret) buf = custos_secret_new (MAX_PASSPHRASE);
  char *text = (char *) custos_secret_get_data (buf);
  int fd;
  gboolean ok;

  fd = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("%s is needed but there is no terminal to ask it on; use "
                     "--passphrase-file (--pin-file for a smart card)"),
                   description);
      return G_TLS_INTERACTION_FAILED;
    }
  ok = ask_on_terminal (fd, description, text, MAX_PASSPHRASE);
  close (fd);
  if (!ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("No passphrase was entered"));
      return G_TLS_INTERACTION_FAILED;
    }
  custos_cli_password_set_text (password, text);
  return G_TLS_INTERACTION_HANDLED;
}

static void
custos_cli_interaction_class_init (CustosCliInteractionClass *klass)
{
  GTlsInteractionClass *interaction_class = G_TLS_INTERACTION_CLASS (klass);

  interaction_class->ask_password = custos_cli_interaction_ask_password;
}

static void
custos_cli_interaction_init (CustosCliInteraction *self)
{
}

GTlsInteraction *
custos_cli_interaction_new (void)
{
  return g_object_new (CUSTOS_CLI_TYPE_INTERACTION, NULL);
}
