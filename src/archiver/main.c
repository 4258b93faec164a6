/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "custos-archiver.h"
#include "custos-demo.h"

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static int
run (CustosArchiver *archiver,
     CustosDemo     *demo)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;

  if (!custos_archiver_start (archiver, &error))
    {
      g_printerr ("custos-archiver: %s\n", error->message);
      return EXIT_FAILURE;
    }
  /* One line a supervisor (or a test) can wait for. */
  g_print ("custos-archiver: listening on https://%s:%u/\n",
           custos_archiver_get_address (archiver), custos_archiver_get_port (archiver));
  if (demo != NULL && !custos_demo_start_protector (demo, archiver, &error))
    {
      g_message (_("The demo's Privacy Protector did not start: %s"), error->message);
      g_clear_error (&error);
    }
  if (demo != NULL)
    custos_demo_print_instructions (demo, archiver);
  fflush (stdout);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_main_loop_run (loop);
  g_message (_("Stopping: finishing open files"));
  /* The protector first, so that its last upload ends cleanly. */
  if (demo != NULL)
    custos_demo_stop_protector (demo);
  custos_archiver_stop (archiver);
  return EXIT_SUCCESS;
}

/* TLS 1.2 at least. glib-networking's GnuTLS backend reads its priority
 * string once, from the environment, when the first TLS connection is
 * made; left alone it also speaks TLS 1.0 and 1.1. Whatever the
 * administrator set, the old versions are removed after it. */
static void
require_tls_1_2 (void)
{
  const char *set = g_getenv ("G_TLS_GNUTLS_PRIORITY");
  g_autofree char *priority = g_strdup_printf ("%s:-VERS-TLS1.0:-VERS-TLS1.1",
                                               set && *set ? set : "NORMAL:%COMPAT");

  g_setenv ("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CustosArchiver) archiver = NULL;
  g_autoptr (CustosDemo) the_demo = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *dir = NULL;
  gboolean demo = FALSE;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, N_("Configuration file"), N_("FILE") },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo,
      N_("Make a CA, certificates, a SoftHSM card and two test cameras, and run"), NULL },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, N_("Folder for --demo"), N_("DIR") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
    { NULL }
  };

  require_tls_1_2 ();
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("The Custos reference archiver: records cameras "
                                           "encrypted, serves fusion streams over HTTPS."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("custos-archiver: %s\n", error->message);
      return 1;
    }
  if (version)
    {
      g_print ("custos-archiver %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (demo)
    {
      the_demo = custos_demo_new (dir, &error);
      archiver = the_demo ? custos_demo_create_archiver (the_demo, &error) : NULL;
    }
  else if (config != NULL)
    archiver = custos_archiver_new_from_file (config, &error);
  else
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                         _("Give --config FILE, or --demo"));
  if (archiver == NULL)
    {
      g_printerr ("custos-archiver: %s\n", error->message);
      return 1;
    }
  return run (archiver, the_demo);
}
