/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "custos-pixelate.h"
#include "custos-privacy-protector.h"

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

/* The elements every job needs, checked once so that a missing plugin
 * is one clear error rather than a retry loop. */
static gboolean
check_elements (GError **error)
{
  static const char *const needed[][2] = {
    { "h264parse", "gstreamer1.0-plugins-bad" }, { "avdec_h264", "gstreamer1.0-libav" },
    { "x264enc", "gstreamer1.0-plugins-ugly" },  { "videoconvert", "gstreamer1.0-plugins-base" },
    { "appsrc", "gstreamer1.0-plugins-base" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (needed); i++)
    {
      g_autoptr (GstElementFactory) factory = gst_element_factory_find (needed[i][0]);

      if (factory == NULL)
        {
          g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                       _ ("The GStreamer element %s is missing (on Debian: %s)"), needed[i][0],
                       needed[i][1]);
          return FALSE;
        }
    }
  return TRUE;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CustosPrivacyProtector) protector = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *config = NULL;
  g_autofree char   *description = NULL;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
      N_ ("Configuration file (see custos-privacy-protector.h)"), N_ ("FILE") },
    { NULL },
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* A closed upload is an error of the write, not a signal. */
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _ ("The Privacy Protector: publishes a pixelated, unencrypted copy "
                                   "of encrypted cameras back to their archiver."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (config == NULL)
    {
      g_printerr ("%s\n", _ ("Give --config FILE"));
      return 2;
    }
  gst_init (NULL, NULL);
  if (!check_elements (&error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  if (!custos_pixelate_register ())
    {
      g_printerr ("%s\n", _ ("Cannot register the pixelating element"));
      return 1;
    }
  protector = custos_privacy_protector_new_from_file (config, &error);
  if (protector == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  description = custos_privacy_protector_describe (protector);
  g_print ("%s\n", description);
  fflush (stdout);
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  custos_privacy_protector_start (protector);
  g_main_loop_run (loop);
  custos_privacy_protector_stop (protector);
  return 0;
}
