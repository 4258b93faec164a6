/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-export"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include <string.h>

#include "custos-export-files.h"
#include "custos-media-export-private.h"

GST_DEBUG_CATEGORY (custos_media_export_debug);

#define PROGRESS_INTERVAL_MS 250

G_DEFINE_FINAL_TYPE (CustosMediaExport, custos_media_export, G_TYPE_OBJECT)
G_DEFINE_QUARK (custos-media-export-error-quark, custos_media_export_error)

static void complete (CustosMediaExport *self,
                      GError            *error);

/* Construction */

static void
summary_clear (CustosMediaExportSummary *summary)
{
  g_clear_pointer (&summary->skipped, g_ptr_array_unref);
  g_clear_pointer (&summary->locked, g_ptr_array_unref);
  g_clear_pointer (&summary->problems, g_ptr_array_unref);
}

static void
summary_init (CustosMediaExportSummary *summary)
{
  summary_clear (summary);
  memset (summary, 0, sizeof *summary);
  summary->start_utc_us = G_MININT64;
  summary->end_utc_us = G_MININT64;
  summary->skipped = g_ptr_array_new_with_free_func (g_free);
  summary->locked = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  summary->problems = g_ptr_array_new_with_free_func (g_free);
}

static void
custos_media_export_finalize (GObject *object)
{
  CustosMediaExport *self = CUSTOS_MEDIA_EXPORT (object);

  g_assert (self->task == NULL);
  if (self->progress_notify != NULL)
    self->progress_notify (self->progress_data);
  g_clear_object (&self->provider);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->frame, gst_sample_unref);
  g_clear_pointer (&self->blocked, g_ptr_array_unref);
  g_clear_pointer (&self->new_pads, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  summary_clear (&self->summary);
  g_mutex_clear (&self->lock);
  g_free (self->input);
  g_free (self->output);
  g_free (self->ca_file);
  g_free (self->title);

  G_OBJECT_CLASS (custos_media_export_parent_class)->finalize (object);
}

static void
custos_media_export_class_init (CustosMediaExportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_media_export_finalize;
  GST_DEBUG_CATEGORY_INIT (custos_media_export_debug, "custosexport", 0, "Custos media export");
}

static void
custos_media_export_init (CustosMediaExport *self)
{
  g_mutex_init (&self->lock);
  self->blocked =
    g_ptr_array_new_with_free_func ((GDestroyNotify) custos_media_export_blocked_pad_free);
  self->new_pads = g_ptr_array_new_with_free_func (gst_object_unref);
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->from_utc_us = G_MININT64;
  self->to_utc_us = G_MAXINT64;
  summary_init (&self->summary);
}

CustosMediaExport *
custos_media_export_new (const char        *input,
                         const char        *output,
                         CustosMediaFormat  format)
{
  CustosMediaExport *self = g_object_new (CUSTOS_TYPE_MEDIA_EXPORT, NULL);

  self->input = g_strdup (input);
  self->output = g_strdup (output);
  self->format = format;
  return self;
}

void
custos_media_export_set_key_provider (CustosMediaExport *self,
                                      CustosKeyProvider *provider,
                                      GTlsInteraction   *interaction)
{
  g_return_if_fail (CUSTOS_IS_MEDIA_EXPORT (self));

  g_set_object (&self->provider, provider);
  g_set_object (&self->interaction, interaction);
}

void
custos_media_export_set_ca_file (CustosMediaExport *self,
                                 const char        *ca_file)
{
  g_return_if_fail (CUSTOS_IS_MEDIA_EXPORT (self));

  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
}

void
custos_media_export_set_range (CustosMediaExport *self,
                               gint64             from_utc_us,
                               gint64             to_utc_us)
{
  g_return_if_fail (CUSTOS_IS_MEDIA_EXPORT (self));

  self->from_utc_us = from_utc_us;
  self->to_utc_us = to_utc_us;
}

void
custos_media_export_set_progress_func (CustosMediaExport             *self,
                                       CustosMediaExportProgressFunc  func,
                                       gpointer                       user_data,
                                       GDestroyNotify                 notify)
{
  g_return_if_fail (CUSTOS_IS_MEDIA_EXPORT (self));

  if (self->progress_notify != NULL)
    self->progress_notify (self->progress_data);
  self->progress_func = func;
  self->progress_data = user_data;
  self->progress_notify = notify;
}

const CustosMediaExportSummary *
custos_media_export_get_summary (CustosMediaExport *self)
{
  g_return_val_if_fail (CUSTOS_IS_MEDIA_EXPORT (self), NULL);

  return &self->summary;
}

/* The plugin */

gboolean
custos_media_export_ensure_plugin (GError **error)
{
  g_autoptr (GstElementFactory) factory = gst_element_factory_find ("custosdemux");

  if (factory != NULL)
    return TRUE;
  gst_registry_scan_path (gst_registry_get (), CUSTOS_GST_PLUGINDIR);
  factory = gst_element_factory_find ("custosdemux");
  if (factory != NULL)
    return TRUE;
  g_set_error (error, CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_MISSING,
               _ ("the GStreamer plugin “custos” is not installed (looked in GStreamer’s plugin "
                  "path and in %s; set GST_PLUGIN_PATH to the folder of libgstcustos.so)"),
               CUSTOS_GST_PLUGINDIR);
  return FALSE;
}

static GstClockTime
to_output (CustosMediaExport *self,
           gint64             utc_us)
{
  return utc_us > self->base_utc_us ? (GstClockTime) (utc_us - self->base_utc_us) * GST_USECOND : 0;
}
/* Main context: seeking, messages, progress */

static void
reset_verdicts (CustosMediaExportSummary *summary)
{
  g_ptr_array_set_size (summary->locked, 0);
  g_ptr_array_set_size (summary->problems, 0);
  summary->verified = summary->matched = summary->not_signed = 0;
  summary->missing = summary->altered = 0;
  summary->segments = summary->segments_untrusted = 0;
}

/* A file without an index cannot seek: exported whole, it starts at the
 * demuxer's time 0, and the first data goes on as it is. */
static void
go_on_without_seeking (CustosMediaExport *self)
{
  g_autoptr (GPtrArray) blocked = NULL;

  g_mutex_lock (&self->lock);
  blocked = g_steal_pointer (&self->blocked);
  self->blocked =
    g_ptr_array_new_with_free_func ((GDestroyNotify) custos_media_export_blocked_pad_free);
  if (!self->have_start)
    custos_media_export_set_start (self, 0);
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < blocked->len; i++)
    {
      BlockedPad *b = blocked->pdata[i];

      gst_pad_remove_probe (b->pad, b->probe);
    }
}

static void
seek (CustosMediaExport *self)
{
  GstSeekFlags flags = GST_SEEK_FLAG_FLUSH;
  gboolean ranged = self->from_utc_us != G_MININT64 || self->to_utc_us != G_MAXINT64;
  gboolean ok;

  g_mutex_lock (&self->lock);
  self->seek_sent = TRUE;
  self->seek_start = self->from_utc_us == G_MININT64 ? 0 : to_output (self, self->from_utc_us);
  if (GST_CLOCK_TIME_IS_VALID (self->first_pts))
    self->seek_start = MAX (self->seek_start, self->first_pts);
  self->seek_stop = self->to_utc_us == G_MAXINT64 ? GST_CLOCK_TIME_NONE :
                    to_output (self, self->to_utc_us);
  /* What the demuxer said about data before the range is not about the export. */
  reset_verdicts (&self->summary);
  g_mutex_unlock (&self->lock);

  /* A snapshot shows the frame at the time asked; files start at a keyframe. */
  flags |= self->format == CUSTOS_MEDIA_FORMAT_PNG ? GST_SEEK_FLAG_ACCURATE :
           GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE;
  GST_INFO ("seeking to %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT, GST_TIME_ARGS (self->seek_start),
            GST_TIME_ARGS (self->seek_stop));
  ok = gst_element_seek (self->demux, 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET,
                         self->seek_start,
                         GST_CLOCK_TIME_IS_VALID (self->seek_stop) ? GST_SEEK_TYPE_SET :
                         GST_SEEK_TYPE_NONE, self->seek_stop);
  if (ok)
    return;
  if (!ranged)
    {
      GST_INFO ("the file cannot seek; exporting it from its first packet");
      go_on_without_seeking (self);
      return;
    }
  complete (self,
            g_error_new_literal (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_NO_INDEX,
                                 _ ("the file has no index (an unfinished recording or a "
                                    "live capture): a time range needs a finished file")));
}

static void
add_verdict (CustosMediaExportSummary *summary,
             const GstStructure       *s)
{
  const char *problem = gst_structure_get_string (s, "problem");
  gboolean sealed = FALSE, trusted = FALSE;
  guint counts[5] = { 0 };
  const char *fields[] = { "verified", "matched", "not-signed", "missing", "altered" };

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    gst_structure_get_uint (s, fields[i], &counts[i]);
  summary->verified += counts[0];
  summary->matched += counts[1];
  summary->not_signed += counts[2];
  summary->missing += counts[3];
  summary->altered += counts[4];
  gst_structure_get_boolean (s, "sealed", &sealed);
  gst_structure_get_boolean (s, "signer-trusted", &trusted);
  if (sealed)
    {
      summary->segments++;
      summary->segments_untrusted += trusted ? 0 : 1;
    }
  if (problem != NULL && (counts[1] || counts[3] || counts[4] || !sealed))
    g_ptr_array_add (summary->problems, g_strdup (problem));
}

static void
on_element_message (CustosMediaExport *self,
                    GstMessage        *message)
{
  const GstStructure *s = gst_message_get_structure (message);

  g_mutex_lock (&self->lock);
  if (gst_structure_has_name (s, "custos-verification"))
    add_verdict (&self->summary, s);
  else if (gst_structure_has_name (s, "custos-locked"))
    g_ptr_array_add (self->summary.locked, gst_structure_copy (s));
  g_mutex_unlock (&self->lock);
}

static GError *
error_from_message (GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;

  gst_message_parse_error (message, &error, &debug);
  GST_WARNING ("%s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message,
               debug ? debug : "");
  return g_error_new (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_FAILED, "%s",
                      error->message);
}

static GError *
finish_file (CustosMediaExport *self)
{
  g_autoptr (GError) error = NULL;

  if (self->summary.packets == 0)
    return g_error_new_literal (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_NOTHING,
                                _ ("nothing could be exported"));
  if (self->format == CUSTOS_MEDIA_FORMAT_MP4 && self->have_start &&
      !custos_mp4_set_creation_time (self->output, self->summary.start_utc_us, &error))
    return g_steal_pointer (&error);
  return NULL;
}

/* The frame's own time: a decoder clips a frame that starts before the
 * seek target to the target, but keeps the demuxer's reference meta. */
static gint64
frame_utc (CustosMediaExport *self,
           GstBuffer         *buffer)
{
  g_autoptr (GstCaps) unix_caps = gst_caps_new_empty_simple ("timestamp/x-unix");
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta (buffer, unix_caps);

  if (meta != NULL)
    return (gint64) (meta->timestamp / GST_USECOND);
  GST_INFO ("the decoder dropped the frame's UTC; taking it from its timestamp");
  return self->base_utc_us + (gint64) (GST_BUFFER_PTS (buffer) / GST_USECOND);
}

static GError *
write_png (CustosMediaExport *self,
           GstSample         *frame)
{
  g_autoptr (GstCaps) png_caps = gst_caps_new_empty_simple ("image/png");
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSample) png = gst_video_convert_sample (frame, png_caps, 10 * GST_SECOND, &error);
  GstBuffer *buffer = png ? gst_sample_get_buffer (png) : NULL;
  GstBuffer *source = gst_sample_get_buffer (frame);
  g_autofree char *iso = NULL;
  g_autofree char *software = g_strdup_printf ("Custos %s", PACKAGE_VERSION);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GBytes) tagged = NULL;
  const char *pairs[] = { "Creation Time", NULL, "Title", self->title, "Software", software, NULL };
  GstMapInfo map;

  if (buffer == NULL)
    return g_error_new (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_FAILED,
                        _ ("the frame could not be encoded as PNG: %s"),
                        error ? error->message : "no output");
  self->summary.start_utc_us = self->summary.end_utc_us = frame_utc (self, source);
  pairs[1] = iso = custos_media_export_format_utc (self->summary.start_utc_us);
  if (self->title == NULL)
    pairs[2] = NULL;
  gst_buffer_map (buffer, &map, GST_MAP_READ);
  bytes = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  tagged = custos_png_add_text (bytes, pairs, &error);
  if (tagged == NULL ||
      !g_file_set_contents (self->output, g_bytes_get_data (tagged, NULL),
                            g_bytes_get_size (tagged), &error))
    return g_steal_pointer (&error);
  return NULL;
}

static void
finish_snapshot (CustosMediaExport *self)
{
  g_autoptr (GstSample) frame = NULL;

  g_mutex_lock (&self->lock);
  frame = g_steal_pointer (&self->frame);
  g_mutex_unlock (&self->lock);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  if (frame == NULL)
    complete (self, g_error_new_literal (CUSTOS_MEDIA_EXPORT_ERROR,
                                         CUSTOS_MEDIA_EXPORT_ERROR_NOTHING,
                                         _ ("no frame could be decoded")));
  else
    complete (self, write_png (self, frame));
}

static void
on_eos (CustosMediaExport *self)
{
  if (self->format == CUSTOS_MEDIA_FORMAT_PNG)
    {
      finish_snapshot (self);
      return;
    }
  /* Closing the file first: the muxer wrote its index at EOS. */
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  complete (self, finish_file (self));
}

static void
on_application_message (CustosMediaExport *self,
                        GstMessage        *message)
{
  const GstStructure *s = gst_message_get_structure (message);

  if (gst_structure_has_name (s, "custos-export-seek"))
    seek (self);
  else if (gst_structure_has_name (s, "custos-export-frame"))
    finish_snapshot (self);
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  CustosMediaExport *self = user_data;

  if (self->task == NULL)
    return G_SOURCE_CONTINUE;
  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      complete (self, error_from_message (message));
      break;
    case GST_MESSAGE_EOS:
      on_eos (self);
      break;
    case GST_MESSAGE_ELEMENT:
      on_element_message (self, message);
      break;
    case GST_MESSAGE_APPLICATION:
      on_application_message (self, message);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
report_progress (gpointer user_data)
{
  CustosMediaExport *self = user_data;
  gint64 position = -1, duration = -1;
  GstClockTime start, stop;
  double fraction;

  if (!gst_element_query_position (self->demux, GST_FORMAT_TIME, &position) || position < 0)
    return G_SOURCE_CONTINUE;
  gst_element_query_duration (self->demux, GST_FORMAT_TIME, &duration);
  g_mutex_lock (&self->lock);
  start = self->seek_sent ? self->seek_start : 0;
  stop = self->seek_sent && GST_CLOCK_TIME_IS_VALID (self->seek_stop) ? self->seek_stop :
         (GstClockTime) duration;
  g_mutex_unlock (&self->lock);
  if (duration > 0 && stop > (GstClockTime) duration)
    stop = duration;
  if (!GST_CLOCK_TIME_IS_VALID (stop) || stop <= start)
    return G_SOURCE_CONTINUE;
  fraction = CLAMP ((double) ((GstClockTime) position - MIN (start, (GstClockTime) position)) /
                    (double) (stop - start), 0.0, 1.0);
  self->progress_func (fraction, self->progress_data);
  return G_SOURCE_CONTINUE;
}

/* The run */

static void
stop_sources (CustosMediaExport *self)
{
  if (self->bus_source != NULL)
    g_source_destroy (self->bus_source);
  g_clear_pointer (&self->bus_source, g_source_unref);
  if (self->progress_source != NULL)
    g_source_destroy (self->progress_source);
  g_clear_pointer (&self->progress_source, g_source_unref);
}

/* Ends the run with error (taken), or success when NULL. */
static void
complete (CustosMediaExport *self,
          GError            *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  stop_sources (self);
  g_cancellable_disconnect (g_task_get_cancellable (task), self->cancelled_id);
  self->cancelled_id = 0;
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  gst_clear_object (&self->pipeline);
  self->demux = self->mux = NULL;
  if (error != NULL)
    {
      /* No partial output is left behind. */
      g_unlink (self->output);
      g_task_return_error (task, error);
    }
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
cancel_in_context (gpointer user_data)
{
  CustosMediaExport *self = user_data;

  complete (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("Export cancelled")));
  return G_SOURCE_REMOVE;
}

/* Cancelling may happen in any thread, and a cancelled handler must not
 * disconnect itself: the pipeline stops in the run's context, later. */
static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  CustosMediaExport *self = user_data;
  g_autoptr (GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, cancel_in_context, g_object_ref (self), g_object_unref);
  g_source_attach (source, self->context);
}

static void
attach_sources (CustosMediaExport *self)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);

  self->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_source, (GSourceFunc) (GCallback) on_bus_message, self, NULL);
  g_source_attach (self->bus_source, self->context);
  if (self->progress_func != NULL)
    {
      self->progress_source = g_timeout_source_new (PROGRESS_INTERVAL_MS);
      g_source_set_callback (self->progress_source, report_progress, self, NULL);
      g_source_attach (self->progress_source, self->context);
    }
}

void
custos_media_export_run_async (CustosMediaExport   *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (CUSTOS_IS_MEDIA_EXPORT (self));
  g_return_if_fail (self->task == NULL && self->pipeline == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, custos_media_export_run_async);
  self->context = g_main_context_ref_thread_default ();
  if (!custos_media_export_ensure_plugin (&error) ||
      !custos_media_export_build_pipeline (self, &error))
    {
      complete (self, g_steal_pointer (&error));
      return;
    }
  attach_sources (self);
  if (cancellable != NULL)
    self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), self,
                                                NULL);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    complete (self, g_error_new (CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_FAILED,
                                 _ ("cannot read %s"), self->input));
}

gboolean
custos_media_export_run_finish (CustosMediaExport  *self,
                                GAsyncResult       *result,
                                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
