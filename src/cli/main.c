/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>

#include <locale.h>
#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"

typedef struct
{
  const char *name;
  const char *summary;
  int       (*run) (int    argc,
                    char **argv);
  gboolean    needs_gstreamer;
} Command;

static const Command commands[] = {
  { "inspect", N_("Show the streams, recipients and signers of a fusion file"),
    custos_cli_inspect, FALSE },
  { "verify", N_("Check the seals of a fusion file and list every problem"),
    custos_cli_verify, FALSE },
  { "decrypt", N_("Decrypt a fusion file to elementary streams or a plaintext fusion file"),
    custos_cli_decrypt, FALSE },
  { "create", N_("Encrypt a recording or a GStreamer source into a fusion file"),
    custos_cli_create, TRUE },
  { "keys", N_("List smart cards, certificates, fingerprints and expiry dates"),
    custos_cli_keys, FALSE },
  { "enroll", N_("Make this machine's key pair and encryption certificate"),
    custos_cli_enroll, FALSE },
  { "export", N_("Export a fusion file or a time range of it as MP4, MKV, fusion or PNG"),
    custos_cli_export, TRUE },
  { "play", N_("Play a fusion file in a window"),
    custos_cli_play, TRUE },
  { "fetch", N_("Fetch a time range or the live stream of a camera from an archiver"),
    custos_cli_fetch, FALSE },
};

static void
print_usage (gboolean to_stderr)
{
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "%s\n  custos-cli %s\n\n%s\n", _("Usage:"),
                          _("COMMAND [OPTION…]"), _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-11s %s\n", commands[i].name, _(commands[i].summary));
  g_string_append_printf (text, "\n%s\n  %-11s %s\n  %-11s %s\n\n%s\n\n%s\n", _("Options:"),
                          "--help", _("Show this help"), "--version", _("Show the version"),
                          _("Run “custos-cli COMMAND --help” for the options of a command."),
                          custos_cli_exit_codes_help ());
  if (to_stderr)
    g_printerr ("%s", text->str);
  else
    g_print ("%s", text->str);
}

static const Command *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *prgname = NULL;
  const Command *command;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (TRUE);
      return CUSTOS_CLI_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (FALSE);
      return CUSTOS_CLI_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("custos-cli %s\n", PACKAGE_VERSION);
      return CUSTOS_CLI_EXIT_OK;
    }

  command = find_command (argv[1]);
  if (command == NULL)
    {
      custos_cli_error (_("Unknown command “%s”"), argv[1]);
      print_usage (TRUE);
      return CUSTOS_CLI_EXIT_USAGE;
    }
  /* Set once (GLib wants that): --help then reads “custos-cli COMMAND …”. */
  prgname = g_strdup_printf ("custos-cli %s", command->name);
  g_set_prgname (prgname);
  /* Only the commands that run pipelines start GStreamer; the others stay quick. */
  if (command->needs_gstreamer)
    gst_init (NULL, NULL);
  return command->run (argc - 1, argv + 1);
}
