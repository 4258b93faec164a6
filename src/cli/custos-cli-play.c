/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-cli play: a fusion file in a window, through playbin (which finds
 * custosdemux by the file's type) and autovideosink. The keys go to the
 * demuxer as a "custos.key-provider" context. What is locked or fails
 * verification is said on stderr as it comes; Ctrl-C stops.
 */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>

#include <string.h>

#include "custos-cli-commands.h"
#include "custos-cli-common.h"
#include "custos-cli-progress.h"
#include "custos-media-export.h"
#include "gstcustosdemux.h"

typedef struct
{
  CustosCliOptions options;
  const char      *path;
  CustosKeyring   *keyring;
  GPtrArray       *key_certs;
  GstElement      *playbin;
  GstContext      *context;
  GMainLoop       *loop;
  GCancellable    *stop;
  int              code;
  gboolean         told_locked;
} Play;

static void
play_clear (Play *self)
{
  if (self->playbin != NULL)
    gst_element_set_state (self->playbin, GST_STATE_NULL);
  gst_clear_object (&self->playbin);
  g_clear_pointer (&self->context, gst_context_unref);
  custos_cli_options_clear (&self->options);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->key_certs, g_ptr_array_unref);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_object (&self->stop);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Play, play_clear)

static gboolean
have_display (void)
{
  return g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL;
}

/* Messages */

static void
worse (Play *self,
       int   code)
{
  /* Verification problems outrank locked packets, as in decrypt. */
  if (self->code == CUSTOS_CLI_EXIT_OK || code == CUSTOS_CLI_EXIT_VERIFY)
    self->code = code;
}

static void
on_locked (Play               *self,
           const GstStructure *s)
{
  gint64 start = G_MININT64;
  g_autofree char *when = NULL;

  worse (self, CUSTOS_CLI_EXIT_LOCKED);
  if (self->told_locked)
    return;
  self->told_locked = TRUE;
  gst_structure_get_int64 (s, "start-utc", &start);
  when = custos_cli_format_utc (start);
  custos_cli_error (self->keyring == NULL ?
                    _("Locked from %s: no keys were given (use --key and --cert)") :
                    _("Locked from %s: none of your keys opens this recording"), when);
}

static void
on_verification (Play               *self,
                 const GstStructure *s)
{
  const char *status = gst_structure_get_string (s, "status");
  const char *problem = gst_structure_get_string (s, "problem");
  gint64 start = G_MININT64;
  g_autofree char *when = NULL;

  if (g_strcmp0 (status, "altered") != 0 && g_strcmp0 (status, "missing") != 0)
    return;
  worse (self, CUSTOS_CLI_EXIT_VERIFY);
  gst_structure_get_int64 (s, "start-utc", &start);
  when = custos_cli_format_utc (start);
  /* Whole sentences per status, so that translators can order them. */
  if (g_strcmp0 (status, "altered") == 0 && problem != NULL)
    /* Translators: a time, then why the segment is altered. */
    custos_cli_error (_("Verification: the segment from %s is altered: %s"), when, problem);
  else if (g_strcmp0 (status, "altered") == 0)
    custos_cli_error (_("Verification: the segment from %s is altered"), when);
  else if (problem != NULL)
    /* Translators: a time, then why the segment is missing. */
    custos_cli_error (_("Verification: the segment from %s is missing: %s"), when, problem);
  else
    custos_cli_error (_("Verification: the segment from %s is missing"), when);
}

/* Closing the video window is how a viewer stops, not a failure. */
static gboolean
is_window_closed (GstMessage   *message,
                  const GError *error)
{
  GstElementFactory *factory;

  if (!g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND) ||
      !GST_IS_ELEMENT (GST_MESSAGE_SRC (message)))
    return FALSE;
  factory = gst_element_get_factory (GST_ELEMENT (GST_MESSAGE_SRC (message)));
  return factory != NULL &&
         strstr (gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS),
                 "Sink/Video") != NULL;
}

static void
on_error (Play       *self,
          GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;

  gst_message_parse_error (message, &error, &debug);
  g_debug ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), debug ? debug : "");
  if (!is_window_closed (message, error))
    {
      custos_cli_error ("%s", error->message);
      self->code = CUSTOS_CLI_EXIT_INPUT;
    }
  g_main_loop_quit (self->loop);
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  Play *self = user_data;
  const GstStructure *s = gst_message_get_structure (message);

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_EOS:
      g_main_loop_quit (self->loop);
      break;
    case GST_MESSAGE_ERROR:
      on_error (self, message);
      break;
    case GST_MESSAGE_ELEMENT:
      if (gst_structure_has_name (s, "custos-locked"))
        on_locked (self, s);
      else if (gst_structure_has_name (s, "custos-verification"))
        on_verification (self, s);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* Elements that playbin makes later ask for the keys on the bus; answered
 * in their thread, before they read anything. */
static GstBusSyncReply
on_sync_message (GstBus     *bus,
                 GstMessage *message,
                 gpointer    user_data)
{
  Play *self = user_data;
  const char *type = NULL;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_NEED_CONTEXT &&
      gst_message_parse_context_type (message, &type) &&
      g_str_equal (type, GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE) && self->context != NULL)
    gst_element_set_context (GST_ELEMENT (GST_MESSAGE_SRC (message)), self->context);
  return GST_BUS_PASS;
}

/* The CA for the seals is a property of the demuxer, not of the context. */
static void
on_element_setup (GstElement *playbin,
                  GstElement *element,
                  gpointer    user_data)
{
  Play *self = user_data;
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "custosdemux") &&
      self->options.ca_file != NULL)
    g_object_set (element, "ca-file", self->options.ca_file, NULL);
}

static void
on_stop (GCancellable *cancellable,
         gpointer      user_data)
{
  Play *self = user_data;

  g_main_loop_quit (self->loop);
}

/* Running */

/* autovideosink takes sinks by rank, and Debian's kmssink and dfbvideosink
 * rank above the window sinks: under a display server they fail slowly,
 * and DirectFB leaves a thread behind that crashes. With a display, they
 * are no choice. */
static void
prefer_window_sinks (void)
{
  const char *console_sinks[] = { "kmssink", "dfbvideosink", "fbdevsink" };

  for (guint i = 0; i < G_N_ELEMENTS (console_sinks); i++)
    {
      g_autoptr (GstElementFactory) factory = gst_element_factory_find (console_sinks[i]);

      if (factory != NULL)
        gst_plugin_feature_set_rank (GST_PLUGIN_FEATURE (factory), GST_RANK_NONE);
    }
}

static gboolean
build (Play    *self,
       GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (self->path);
  g_autofree char *uri = g_file_get_uri (file);
  g_autoptr (GstBus) bus = NULL;
  GstElement *sink;

  if (!g_file_query_exists (file, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("%s: no such file"), self->path);
      return FALSE;
    }
  self->playbin = gst_element_factory_make ("playbin", NULL);
  sink = gst_element_factory_make ("autovideosink", NULL);
  if (self->playbin == NULL || sink == NULL)
    {
      gst_clear_object (&sink);
      g_set_error_literal (error, CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_MISSING,
                           _("GStreamer’s playbin or autovideosink is missing"));
      return FALSE;
    }
  gst_object_ref_sink (self->playbin);
  prefer_window_sinks ();
  g_object_set (self->playbin, "uri", uri, "video-sink", sink, NULL);
  g_signal_connect (self->playbin, "element-setup", G_CALLBACK (on_element_setup), self);
  if (self->keyring != NULL)
    {
      g_autoptr (GTlsInteraction) interaction = custos_cli_options_interaction (&self->options,
                                                                                 error);

      if (interaction == NULL)
        return FALSE;
      self->context = gst_custos_key_provider_context_new (G_OBJECT (self->keyring),
                                                           G_OBJECT (interaction));
      gst_element_set_context (self->playbin, self->context);
    }
  bus = gst_element_get_bus (self->playbin);
  gst_bus_set_sync_handler (bus, on_sync_message, self, NULL);
  gst_bus_add_watch (bus, on_bus_message, self);
  return TRUE;
}

static int
run (Play *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstBus) bus = NULL;

  if (!have_display ())
    {
      custos_cli_error (_("No display: play needs a window (neither DISPLAY nor "
                          "WAYLAND_DISPLAY is set). Use “custos-cli export” to write a file "
                          "instead."));
      return CUSTOS_CLI_EXIT_USAGE;
    }
  if (!custos_cli_load_keyring (&self->options, &self->keyring, &self->key_certs, &error))
    return custos_cli_fail (error);
  if (!custos_media_export_ensure_plugin (&error) || !build (self, &error))
    {
      custos_cli_error ("%s", error->message);
      return CUSTOS_CLI_EXIT_INPUT;
    }
  self->loop = g_main_loop_new (NULL, FALSE);
  self->stop = g_cancellable_new ();
  g_cancellable_connect (self->stop, G_CALLBACK (on_stop), self, NULL);
  custos_cli_cancel_on_signals (self->stop);
  if (gst_element_set_state (self->playbin, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
    g_main_loop_run (self->loop);
  else
    self->code = CUSTOS_CLI_EXIT_INPUT;
  custos_cli_cancel_on_signals_stop ();
  gst_element_set_state (self->playbin, GST_STATE_NULL);
  bus = gst_element_get_bus (self->playbin);
  gst_bus_remove_watch (bus);
  return self->code;
}

int
custos_cli_play (int    argc,
                 char **argv)
{
  g_auto (Play) self = { { 0 } };
  g_autoptr (GOptionContext) context = NULL;

  context = custos_cli_context_new (_("FILE"),
                                    _("Plays a fusion file in a window (autovideosink), "
                                      "decrypting with your --key and --cert. Locked and altered "
                                      "parts are skipped and said on standard error. Ctrl-C "
                                      "stops. Needs a display (DISPLAY or WAYLAND_DISPLAY); "
                                      "without one it fails with exit status 1."));
  custos_cli_add_key_options (context, &self.options);
  if (!custos_cli_parse (context, "play", &argc, &argv) ||
      !custos_cli_check_one_file ("play", argc))
    return CUSTOS_CLI_EXIT_USAGE;
  self.path = argv[1];
  return run (&self);
}
