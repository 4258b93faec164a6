/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <string.h>

#include "custos-gst-time.h"
#include "custos-cli-common.h"
#include "custos-cli-recorder.h"
#include "custos-dts-synth.h"

#define SINK_NAME        "custos_sink"
#define SINK_MAX_BUFFERS 64
#define PULL_TIMEOUT     (20 * GST_MSECOND)
#define POLL_TIMEOUT     (100 * GST_MSECOND)

typedef struct
{
  GstElement      *appsink;
  char            *caps;
  CustosStreamKind kind;
  int              stream;       /* writer stream id, -1 when not recorded */
  gboolean         eos;
  GstSample       *pending;      /* pulled, not yet written */
  gboolean         timed;        /* a buffer with a time has come */
  CustosDtsSynth  *synth;        /* streams without DTS: their decode times */
  gint64           pending_pts_us;
  gint64           pending_dts_us;
  guint64          packets;
  guint64          bytes;
  gint64           first_pts_us;
  gint64           last_pts_us;
  gint64           last_dts_us;
} Sink;

struct _CustosCliRecorder
{
  GstElement   *pipeline;
  gboolean      from_description;
  CustosWriter *writer;
  gint64        start_us;
  GMutex        lock;          /* sinks: parsebin adds them from a streaming thread */
  GPtrArray    *sinks;         /* Sink */
  gint          pads_complete; /* atomic: every sink exists */
  gboolean      stop_requested;
};

static void
sink_free (Sink *sink)
{
  g_clear_pointer (&sink->pending, gst_sample_unref);
  g_clear_pointer (&sink->synth, custos_dts_synth_free);
  g_clear_object (&sink->appsink);
  g_free (sink->caps);
  g_free (sink);
}

static CustosCliRecorder *
recorder_new (void)
{
  CustosCliRecorder *self = g_new0 (CustosCliRecorder, 1);

  g_mutex_init (&self->lock);
  self->sinks = g_ptr_array_new_with_free_func ((GDestroyNotify) sink_free);
  return self;
}

void
custos_cli_recorder_free (CustosCliRecorder *self)
{
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->sinks, g_ptr_array_unref);
  g_clear_object (&self->pipeline);
  g_clear_object (&self->writer);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* Building the pipeline */

static void
configure_appsink (GstElement *appsink)
{
  /* Bounded queues: a slow disk holds the pipeline back instead of
   * filling memory. */
  g_object_set (appsink,
                "sync", FALSE,
                "max-buffers", SINK_MAX_BUFFERS,
                "drop", FALSE,
                "emit-signals", FALSE,
                "enable-last-sample", FALSE,
                NULL);
}

static void
add_sink (CustosCliRecorder *self,
          GstElement        *appsink)
{
  Sink *sink = g_new0 (Sink, 1);

  sink->appsink = g_object_ref (appsink);
  sink->stream = -1;
  sink->first_pts_us = G_MAXINT64;
  sink->last_pts_us = G_MININT64;
  sink->last_dts_us = G_MININT64;
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->sinks, sink);
  g_mutex_unlock (&self->lock);
}

CustosCliRecorder *
custos_cli_recorder_new_for_description (const char  *description,
                                         GError     **error)
{
  g_autoptr (CustosCliRecorder) self = recorder_new ();
  g_autofree char *full = g_strdup_printf ("%s ! appsink name=" SINK_NAME, description);
  g_autoptr (GstElement) appsink = NULL;
  GstElement *pipeline;

  pipeline = gst_parse_launch_full (full, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (pipeline == NULL)
    return NULL;
  self->pipeline = gst_object_ref_sink (pipeline);
  self->from_description = TRUE;
  if (!GST_IS_BIN (self->pipeline) ||
      (appsink = gst_bin_get_by_name (GST_BIN (self->pipeline), SINK_NAME)) == NULL)
    {
      g_set_error (error, GST_PARSE_ERROR, GST_PARSE_ERROR_SYNTAX,
                   _("The source description does not produce a stream"));
      return NULL;
    }
  configure_appsink (appsink);
  add_sink (self, appsink);
  g_atomic_int_set (&self->pads_complete, TRUE);
  return g_steal_pointer (&self);
}

static GstElement *
make_element (const char *factory)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (element == NULL)
    custos_cli_error (_("The GStreamer element %s is missing"), factory);
  return element;
}

/* H.264 and H.265 are stored as Annex B access units, the form the archiver
 * writes and decoders and `ffprobe` read without a container. */
static GstElement *
make_video_branch (GstBin     *bin,
                   const char *parser_name,
                   const char *caps_text,
                   GstElement *appsink)
{
  GstElement *parser = make_element (parser_name);
  GstElement *filter = make_element ("capsfilter");
  g_autoptr (GstCaps) caps = gst_caps_from_string (caps_text);

  if (parser == NULL || filter == NULL)
    {
      g_clear_pointer (&parser, gst_object_unref);
      g_clear_pointer (&filter, gst_object_unref);
      return NULL;
    }
  g_object_set (filter, "caps", caps, NULL);
  gst_bin_add_many (bin, parser, filter, appsink, NULL);
  if (!gst_element_link_many (parser, filter, appsink, NULL))
    return NULL;
  gst_element_sync_state_with_parent (appsink);
  gst_element_sync_state_with_parent (filter);
  gst_element_sync_state_with_parent (parser);
  return parser;
}

static GstElement *
make_parse_branch (GstBin     *bin,
                   const char *media,
                   GstElement *appsink)
{
  if (g_str_equal (media, "video/x-h264"))
    return make_video_branch (bin, "h264parse",
                              "video/x-h264,stream-format=byte-stream,alignment=au", appsink);
  if (g_str_equal (media, "video/x-h265"))
    return make_video_branch (bin, "h265parse",
                              "video/x-h265,stream-format=byte-stream,alignment=au", appsink);
  gst_bin_add (bin, appsink);
  gst_element_sync_state_with_parent (appsink);
  return appsink;
}

/* parsebin has no queues: without one per stream, the demuxer's single
 * thread would block in the first sink's preroll and the other sinks
 * would never get data. The limit is in time, generous enough for the
 * interleaving of real files, and bounded in bytes. */
static GstElement *
make_branch (GstBin     *bin,
             const char *media,
             GstElement *appsink)
{
  GstElement *queue = make_element ("queue");
  GstElement *head;

  if (queue == NULL)
    return NULL;
  g_object_set (queue,
                "max-size-buffers", 0,
                "max-size-bytes", 256 * 1024 * 1024,
                "max-size-time", (guint64) 30 * GST_SECOND,
                NULL);
  gst_bin_add (bin, queue);
  head = make_parse_branch (bin, media, appsink);
  if (head == NULL || !gst_element_link (queue, head))
    return NULL;
  gst_element_sync_state_with_parent (queue);
  return queue;
}

static void
on_pad_added (GstElement *parsebin,
              GstPad     *pad,
              gpointer    user_data)
{
  CustosCliRecorder *self = user_data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  g_autoptr (GstPad) sinkpad = NULL;
  GstElement *appsink;
  GstElement *head;
  const char *media;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps == NULL || gst_caps_is_empty (caps) || (appsink = make_element ("appsink")) == NULL)
    return;
  media = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  configure_appsink (appsink);
  add_sink (self, appsink);
  head = make_branch (GST_BIN (self->pipeline), media, appsink);
  sinkpad = head ? gst_element_get_static_pad (head, "sink") : NULL;
  if (sinkpad == NULL || GST_PAD_LINK_FAILED (gst_pad_link (pad, sinkpad)))
    custos_cli_error (_("Cannot record the %s stream of the input"), media);
}

static void
on_no_more_pads (GstElement *parsebin,
                 gpointer    user_data)
{
  CustosCliRecorder *self = user_data;

  g_atomic_int_set (&self->pads_complete, TRUE);
}

CustosCliRecorder *
custos_cli_recorder_new_for_file (const char  *path,
                                  GError     **error)
{
  g_autoptr (CustosCliRecorder) self = NULL;
  GstElement *filesrc;
  GstElement *parsebin;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("%s: no such file"), path);
      return NULL;
    }
  filesrc = make_element ("filesrc");
  parsebin = make_element ("parsebin");
  if (filesrc == NULL || parsebin == NULL)
    {
      g_clear_pointer (&filesrc, gst_object_unref);
      g_clear_pointer (&parsebin, gst_object_unref);
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                           _("GStreamer plugins are missing"));
      return NULL;
    }
  self = recorder_new ();
  g_object_set (filesrc, "location", path, NULL);
  self->pipeline = gst_object_ref_sink (gst_pipeline_new ("custos-recorder"));
  gst_bin_add_many (GST_BIN (self->pipeline), filesrc, parsebin, NULL);
  gst_element_link (filesrc, parsebin);
  g_signal_connect (parsebin, "pad-added", G_CALLBACK (on_pad_added), self);
  g_signal_connect (parsebin, "no-more-pads", G_CALLBACK (on_no_more_pads), self);
  return g_steal_pointer (&self);
}

/* Bus */

static void
error_from_message (GstMessage *message,
                    GError    **error)
{
  g_autoptr (GError) gst_error = NULL;
  g_autofree char *debug = NULL;

  gst_message_parse_error (message, &gst_error, &debug);
  g_debug ("%s", debug ? debug : "");
  g_set_error (error, gst_error->domain, gst_error->code, "%s: %s",
               GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), gst_error->message);
}

/* Drains the bus so it never grows; FALSE on an error message. */
static gboolean
check_bus (CustosCliRecorder  *self,
           GError            **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);
  GstMessage *message;

  while ((message = gst_bus_pop (bus)) != NULL)
    {
      gboolean failed = GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR;

      if (failed)
        error_from_message (message, error);
      gst_message_unref (message);
      if (failed)
        return FALSE;
    }
  return TRUE;
}

static gboolean
interrupted (CustosCliRecorder  *self,
             GError            **error)
{
  /* Lets the SIGINT handler run while waiting. */
  g_main_context_iteration (NULL, FALSE);
  if (!self->stop_requested)
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Interrupted"));
  return TRUE;
}

static guint
count_sinks (CustosCliRecorder *self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = self->sinks->len;
  g_mutex_unlock (&self->lock);
  return n;
}

static Sink *
get_sink (CustosCliRecorder *self,
          guint              i)
{
  Sink *sink;

  g_mutex_lock (&self->lock);
  sink = self->sinks->pdata[i];
  g_mutex_unlock (&self->lock);
  return sink;
}

/* parsebin completes its state change before it knows its streams (it does
 * not preroll) and, in GStreamer 1.22, never emits no-more-pads. It does
 * add all pads of a group before letting data through, though, so once the
 * first sink exists the others are being added, and they are all there by
 * the time the first sink prerolls. */
static gboolean
wait_for_pads (CustosCliRecorder  *self,
               GError            **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);

  while (!g_atomic_int_get (&self->pads_complete) && count_sinks (self) == 0)
    {
      GstMessage *message = gst_bus_timed_pop_filtered (bus, POLL_TIMEOUT,
                                                        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);

      if (message != NULL)
        {
          if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
            error_from_message (message, error);
          else
            g_set_error_literal (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                                 _("The input holds no stream"));
          gst_message_unref (message);
          return FALSE;
        }
      if (interrupted (self, error))
        return FALSE;
    }
  return TRUE;
}

/* Stream times */

/* The oldest frame the synthesizer has timed becomes the pending one. */
static gboolean
sink_pop_synth (Sink *sink)
{
  gpointer sample = NULL;

  if (sink->pending == NULL && sink->synth != NULL &&
      custos_dts_synth_pop (sink->synth, &sink->pending_pts_us, &sink->pending_dts_us, &sample))
    sink->pending = sample;
  return sink->pending != NULL;
}

/* The appsink ended: what the synthesizer still holds comes out. FALSE
 * when nothing is left. */
static gboolean
sink_drain (Sink *sink)
{
  if (sink->synth != NULL)
    custos_dts_synth_drain (sink->synth);
  return sink_pop_synth (sink);
}

static void
sink_take_sample (CustosCliRecorder *self,
                  Sink              *sink,
                  GstSample         *sample)
{
  const GstSegment *segment = gst_sample_get_segment (sample);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  gint64 pts = 0, dts = 0;
  gboolean have_pts = buffer && custos_gst_running_time_us (segment, GST_BUFFER_PTS (buffer), &pts);
  gboolean have_dts = buffer && custos_gst_running_time_us (segment, GST_BUFFER_DTS (buffer), &dts);
  gint64 previous = sink->last_dts_us;
  gint64 pts_us;

  custos_gst_choose_dts (GST_OBJECT_NAME (sink->appsink), sink->kind == CUSTOS_STREAM_KIND_VIDEO,
                         have_pts, have_dts, &sink->timed, &sink->synth);
  pts_us = have_pts ? self->start_us + pts
           : have_dts ? self->start_us + dts
           : previous != G_MININT64 ? previous : self->start_us;
  if (sink->synth != NULL)
    {
      custos_dts_synth_push (sink->synth, pts_us, sample);
      sink_pop_synth (sink);
      return;
    }
  sink->pending = sample;
  sink->pending_pts_us = pts_us;
  sink->pending_dts_us = have_dts ? self->start_us + dts : pts_us;
  /* The format wants decode times that never go back within a stream. The
   * first may come before the start: with B-frames, frames are decoded
   * before they are shown. */
  if (previous != G_MININT64)
    sink->pending_dts_us = MAX (sink->pending_dts_us, previous);
}

/* Streams */

static CustosStreamKind
kind_for_media (const char *media)
{
  if (g_str_has_prefix (media, "video/"))
    return CUSTOS_STREAM_KIND_VIDEO;
  if (g_str_has_prefix (media, "audio/"))
    return CUSTOS_STREAM_KIND_AUDIO;
  return CUSTOS_STREAM_KIND_METADATA;
}

/* Caps must fit a format string (4 KiB); codec headers are the part that
 * can be large, and byte-stream payloads repeat them in band anyway. */
static char *
caps_to_string (const GstCaps *caps)
{
  g_autoptr (GstCaps) slim = NULL;
  char *text = gst_caps_to_string (caps);

  if (strlen (text) <= CUSTOS_MAX_STRING)
    return text;
  g_free (text);
  slim = gst_caps_copy (caps);
  for (guint i = 0; i < gst_caps_get_size (slim); i++)
    gst_structure_remove_fields (gst_caps_get_structure (slim, i), "codec_data", "streamheader",
                                 NULL);
  text = gst_caps_to_string (slim);
  if (strlen (text) <= CUSTOS_MAX_STRING)
    return text;
  g_free (text);
  return g_strdup (gst_structure_get_name (gst_caps_get_structure (caps, 0)));
}

static gboolean
describe_sink (CustosCliRecorder  *self,
               Sink               *sink,
               GstCaps            *caps,
               GError            **error)
{
  const char *media;

  if (caps == NULL || gst_caps_is_empty (caps))
    {
      sink->eos = TRUE;
      return TRUE;
    }
  media = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (self->from_description && g_str_has_suffix (media, "/x-raw"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("The source produces unencoded %s; end it with an encoder such as x264enc"),
                   media);
      return FALSE;
    }
  sink->caps = caps_to_string (caps);
  sink->kind = kind_for_media (media);
  return TRUE;
}

/* The caps of a sink's first buffer, from its preroll; the preroll sample
 * is not consumed (in PLAYING it comes out first). NULL for a sink that
 * got EOS without data. */
static gboolean
wait_for_preroll (CustosCliRecorder  *self,
                  Sink               *sink,
                  GstCaps           **caps,
                  GError            **error)
{
  GstAppSink *appsink = GST_APP_SINK (sink->appsink);

  *caps = NULL;
  for (;;)
    {
      g_autoptr (GstSample) sample = gst_app_sink_try_pull_preroll (appsink, POLL_TIMEOUT);

      if (sample != NULL)
        {
          *caps = gst_caps_ref (gst_sample_get_caps (sample));
          return TRUE;
        }
      if (gst_app_sink_is_eos (appsink))
        return TRUE;
      if (!check_bus (self, error) || interrupted (self, error))
        return FALSE;
    }
}

static gboolean
describe_prerolled_sinks (CustosCliRecorder  *self,
                          GError            **error)
{
  /* The count is read again each time: see wait_for_pads(). */
  for (guint i = 0; i < count_sinks (self); i++)
    {
      Sink *sink = get_sink (self, i);
      g_autoptr (GstCaps) caps = NULL;

      if (!wait_for_preroll (self, sink, &caps, error) ||
          !describe_sink (self, sink, caps, error))
        return FALSE;
    }
  return TRUE;
}

/* Live sources do not preroll: the caps come with each sink's first sample,
 * which is kept and written first. */
static gboolean
describe_live_sinks (CustosCliRecorder  *self,
                     GError            **error)
{
  for (guint i = 0; i < self->sinks->len; i++)
    {
      Sink *sink = self->sinks->pdata[i];
      GstAppSink *appsink = GST_APP_SINK (sink->appsink);
      GstSample *sample = NULL;

      while (sample == NULL && !gst_app_sink_is_eos (appsink))
        {
          if (!check_bus (self, error))
            return FALSE;
          g_main_context_iteration (NULL, FALSE);
          sample = gst_app_sink_try_pull_sample (appsink, POLL_TIMEOUT);
        }
      if (!describe_sink (self, sink, sample ? gst_sample_get_caps (sample) : NULL, error))
        {
          g_clear_pointer (&sample, gst_sample_unref);
          return FALSE;
        }
      if (sample != NULL)
        sink_take_sample (self, sink, sample);
    }
  return TRUE;
}

static gboolean
add_streams (CustosCliRecorder  *self,
             CustosStreamFlags   flags,
             GError            **error)
{
  guint added = 0;

  for (guint i = 0; i < self->sinks->len; i++)
    {
      Sink *sink = self->sinks->pdata[i];

      if (sink->caps == NULL)
        continue;
      /* utc_origin 0: stream time is UTC, like the archiver's. */
      sink->stream = custos_writer_add_stream (self->writer, sink->kind, flags, sink->caps, NULL, 0,
                                               error);
      if (sink->stream < 0)
        return FALSE;
      added++;
    }
  if (added == 0)
    {
      g_set_error_literal (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                           _("The source produced no stream"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_state (CustosCliRecorder     *self,
           GstState               state,
           GstStateChangeReturn  *ret,
           GError               **error)
{
  *ret = gst_element_set_state (self->pipeline, state);
  if (*ret != GST_STATE_CHANGE_FAILURE)
    return TRUE;
  if (check_bus (self, error))
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                         _("The pipeline cannot start"));
  return FALSE;
}

gboolean
custos_cli_recorder_start (CustosCliRecorder  *self,
                           CustosWriter       *writer,
                           CustosStreamFlags   flags,
                           gint64              start_utc_us,
                           GError            **error)
{
  GstStateChangeReturn ret;
  GstStateChangeReturn unused;
  gboolean described;

  g_set_object (&self->writer, writer);
  self->start_us = start_utc_us;
  if (!set_state (self, GST_STATE_PAUSED, &ret, error))
    return FALSE;
  /* The writer needs every stream before the first packet. */
  if (!wait_for_pads (self, error))
    return FALSE;
  if (ret == GST_STATE_CHANGE_NO_PREROLL)
    described = set_state (self, GST_STATE_PLAYING, &unused, error) &&
                describe_live_sinks (self, error);
  else
    described = describe_prerolled_sinks (self, error);
  return described && add_streams (self, flags, error) &&
         set_state (self, GST_STATE_PLAYING, &unused, error);
}

/* Recording */

static gboolean
write_pending (CustosCliRecorder  *self,
               Sink               *sink,
               GError            **error)
{
  g_autoptr (GstSample) sample = g_steal_pointer (&sink->pending);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstMapInfo map;
  gboolean keyframe;
  gboolean ok;

  if (buffer == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return TRUE;
  keyframe = !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  ok = custos_writer_write_packet (self->writer, sink->stream, sink->pending_pts_us,
                                   sink->pending_dts_us, keyframe, map.data, map.size, error);
  if (ok)
    {
      sink->packets++;
      sink->bytes += map.size;
      sink->first_pts_us = MIN (sink->first_pts_us, sink->pending_pts_us);
      sink->last_pts_us = MAX (sink->last_pts_us, sink->pending_pts_us);
      sink->last_dts_us = sink->pending_dts_us;
    }
  gst_buffer_unmap (buffer, &map);
  return ok;
}

/* Refills the sinks that have nothing pending without waiting; returns the
 * one whose pending packet decodes first, so streams interleave by time. */
static Sink *
poll_sinks (CustosCliRecorder *self,
            gboolean          *all_eos)
{
  Sink *best = NULL;

  *all_eos = TRUE;
  for (guint i = 0; i < self->sinks->len; i++)
    {
      Sink *sink = self->sinks->pdata[i];
      GstAppSink *appsink = GST_APP_SINK (sink->appsink);

      if (sink->eos || sink->stream < 0)
        continue;
      if (sink->pending == NULL)
        {
          GstSample *sample = gst_app_sink_try_pull_sample (appsink, 0);

          if (sample != NULL)
            sink_take_sample (self, sink, sample);
          else if (gst_app_sink_is_eos (appsink) && !sink_drain (sink))
            {
              sink->eos = TRUE;
              continue;
            }
        }
      *all_eos = FALSE;
      if (sink->pending != NULL && (best == NULL || sink->pending_dts_us < best->pending_dts_us))
        best = sink;
    }
  return best;
}

/* Nothing is ready: wait a little on one sink, round-robin. */
static void
wait_for_sample (CustosCliRecorder *self,
                 guint             *turn)
{
  for (guint i = 0; i < self->sinks->len; i++)
    {
      Sink *sink = self->sinks->pdata[(*turn)++ % self->sinks->len];
      GstSample *sample;

      if (sink->eos || sink->stream < 0)
        continue;
      sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink->appsink), PULL_TIMEOUT);
      if (sample != NULL)
        sink_take_sample (self, sink, sample);
      return;
    }
}

gboolean
custos_cli_recorder_run (CustosCliRecorder  *self,
                         GError            **error)
{
  guint turn = 0;

  for (;;)
    {
      gboolean all_eos;
      Sink *next;

      if (!check_bus (self, error))
        return FALSE;
      /* Lets the SIGINT handler turn into an EOS. */
      g_main_context_iteration (NULL, FALSE);
      next = poll_sinks (self, &all_eos);
      if (next != NULL)
        {
          if (!write_pending (self, next, error))
            return FALSE;
          continue;
        }
      if (all_eos)
        break;
      wait_for_sample (self, &turn);
    }
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  return TRUE;
}

void
custos_cli_recorder_stop (CustosCliRecorder *self)
{
  if (self->stop_requested)
    return;
  self->stop_requested = TRUE;
  gst_element_send_event (self->pipeline, gst_event_new_eos ());
}

GArray *
custos_cli_recorder_dup_streams (CustosCliRecorder *self)
{
  GArray *streams = g_array_new (FALSE, FALSE, sizeof (CustosCliRecordedStream));

  for (guint i = 0; i < self->sinks->len; i++)
    {
      Sink *sink = self->sinks->pdata[i];
      CustosCliRecordedStream s = {
        sink->stream, sink->kind, sink->caps, sink->packets, sink->bytes,
        sink->first_pts_us, sink->last_pts_us
      };

      if (sink->stream >= 0)
        g_array_append_val (streams, s);
    }
  return streams;
}
