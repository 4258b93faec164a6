/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <string.h>

#include "custos-gst-time.h"
#include "custos-camera-source.h"
#include "custos-dts-synth.h"
#include "custos-record.h"

#define H264_OUT "h264parse config-interval=-1 ! " \
                 "video/x-h264,stream-format=byte-stream,alignment=au"
#define AUDIO_PASS_CAPS "audio/x-opus; audio/mpeg; audio/x-alaw; audio/x-mulaw"
#define METADATA_CAPS   "application/x-onvif-metadata; meta/x-klv; " \
                        "application/x-custos-metadata; text/x-raw"
/* Enough for a few seconds of video: a slow disk holds the pipeline back
 * (a live source then drops frames upstream) instead of filling memory. */
#define SINK_MAX_BUFFERS 256

enum { SINK_VIDEO, SINK_AUDIO, SINK_METADATA, N_SINKS };

static const char *const sink_names[N_SINKS] = { "video", "audio", "metadata" };
static const CustosStreamKind sink_kinds[N_SINKS] = {
  CUSTOS_STREAM_KIND_VIDEO, CUSTOS_STREAM_KIND_AUDIO, CUSTOS_STREAM_KIND_METADATA
};

typedef struct
{
  GstElement *appsink;     /* NULL when the description has no such sink */
  int         stream;      /* index into streams, -1 while not recorded */
  GstSample  *pending;
  gboolean    coalesce;    /* video: hold each unit until the next one comes */
  GstSample  *held;
  gint64      pending_pts_us;
  gint64      pending_dts_us;
  gboolean    pending_key;
  gint64      last_dts_us;
  gboolean    timed;       /* a buffer with a time has come */
  CustosDtsSynth *synth;   /* no DTS from the source: makes them */
  gboolean    eos;
} Sink;

struct _CustosCameraSource
{
  GstElement          *pipeline;
  Sink                 sinks[N_SINKS];
  GPtrArray           *streams;       /* CustosSourceStream */
  gboolean             have_origin;
  gint64               origin_us;     /* UTC of running time 0 */
  gint64               video_ready_at;
  CustosSourceWakeFunc wake;
  gpointer             wake_data;
};

static void
stream_free (CustosSourceStream *s)
{
  g_free (s->caps);
  g_free (s);
}

void
custos_source_packet_clear (CustosSourcePacket *packet)
{
  g_clear_pointer (&packet->sample, gst_sample_unref);
}

/* The description */

static void
append_video_encoder (GString                *d,
                      const CustosSourceSpec *spec)
{
  guint fps = MAX (spec->framerate, 1);
  guint key_int = MAX (1, fps * spec->keyframe_ms / 1000);

  /* 4:2:0 8-bit: what every H.264 decoder plays (x264enc would take 4:4:4). */
  g_string_append (d, " ! queue ! videoconvert ! videoscale ! videorate ! video/x-raw,format=I420");
  g_string_append_printf (d, ",framerate=%u/1", fps);
  if (spec->width > 0 && spec->height > 0)
    g_string_append_printf (d, ",width=%u,height=%u", spec->width, spec->height);
  g_string_append_printf (d, " ! x264enc tune=zerolatency speed-preset=ultrafast "
                          "key-int-max=%u bitrate=%u ! " H264_OUT " ! appsink name=video",
                          key_int, MAX (spec->bitrate_kbps, 64));
}

static void
describe_uri (GString                *d,
              const CustosSourceSpec *spec)
{
  /* The URI is set as a property after parsing: no quoting to get wrong. */
  if (spec->encode)
    {
      g_string_append (d, "uridecodebin name=src src.");
      append_video_encoder (d, spec);
      g_string_append (d, " src. ! queue ! audioconvert ! audioresample ! opusenc "
                          "! appsink name=audio");
      return;
    }
  g_string_append (d, "urisourcebin name=src ! parsebin name=parse "
                      "parse. ! queue ! " H264_OUT " ! appsink name=video "
                      "parse. ! queue ! appsink name=audio caps=\"" AUDIO_PASS_CAPS "\" "
                      "parse. ! queue ! appsink name=metadata caps=\"" METADATA_CAPS "\"");
}

char *
custos_camera_source_describe (const CustosSourceSpec *spec)
{
  GString *d = g_string_new (NULL);

  if (spec->uri != NULL)
    {
      describe_uri (d, spec);
      return g_string_free (d, FALSE);
    }
  g_string_append (d, spec->source);
  if (spec->encode)
    append_video_encoder (d, spec);
  else
    g_string_append (d, " ! " H264_OUT " ! appsink name=video");
  if (spec->audio != NULL)
    g_string_append_printf (d, "  %s ! queue%s ! appsink name=audio", spec->audio,
                            spec->encode ? " ! audioconvert ! audioresample ! opusenc" : "");
  if (spec->metadata != NULL)
    g_string_append_printf (d, "  %s ! queue ! appsink name=metadata", spec->metadata);
  return g_string_free (d, FALSE);
}

static gboolean check_bus (CustosCameraSource  *self,
                           GError             **error);

/* Building */

static GstFlowReturn
on_new_sample (GstAppSink *appsink,
               gpointer    user_data)
{
  CustosCameraSource *self = user_data;

  self->wake (self->wake_data);
  return GST_FLOW_OK;
}

static void
on_eos (GstAppSink *appsink,
        gpointer    user_data)
{
  CustosCameraSource *self = user_data;

  self->wake (self->wake_data);
}

static void
configure_sink (CustosCameraSource *self,
                Sink               *sink)
{
  GstAppSinkCallbacks callbacks = { .eos = on_eos, .new_sample = on_new_sample };

  /* async=FALSE: a stream the source turns out not to have must not keep
   * the pipeline from playing. sync=TRUE: a file plays in real time. */
  g_object_set (sink->appsink,
                "sync", TRUE,
                "async", FALSE,
                "max-buffers", SINK_MAX_BUFFERS,
                "drop", FALSE,
                "emit-signals", FALSE,
                "enable-last-sample", FALSE,
                NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink->appsink), &callbacks, self, NULL);
}

CustosCameraSource *
custos_camera_source_new (const CustosSourceSpec *spec,
                          CustosSourceWakeFunc    wake,
                          gpointer                wake_data,
                          GError                **error)
{
  g_autofree char *description = custos_camera_source_describe (spec);
  g_autoptr (CustosCameraSource) self = g_new0 (CustosCameraSource, 1);
  GstElement *pipeline;

  self->wake = wake;
  self->wake_data = wake_data;
  self->streams = g_ptr_array_new_with_free_func ((GDestroyNotify) stream_free);
  g_debug ("pipeline: %s", description);
  pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (pipeline == NULL)
    return NULL;
  self->pipeline = gst_object_ref_sink (pipeline);
  for (guint i = 0; i < N_SINKS; i++)
    {
      Sink *sink = &self->sinks[i];

      sink->stream = -1;
      sink->last_dts_us = G_MININT64;
      if (GST_IS_BIN (pipeline))
        sink->appsink = gst_bin_get_by_name (GST_BIN (pipeline), sink_names[i]);
      if (sink->appsink != NULL)
        configure_sink (self, sink);
      sink->coalesce = i == SINK_VIDEO;
    }
  if (self->sinks[SINK_VIDEO].appsink == NULL)
    {
      g_set_error_literal (error, GST_PARSE_ERROR, GST_PARSE_ERROR_SYNTAX,
                           _("The source description does not produce a video stream"));
      return NULL;
    }
  if (spec->uri != NULL)
    {
      g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "src");

      g_object_set (src, "uri", spec->uri, NULL);
    }
  return g_steal_pointer (&self);
}

void
custos_camera_source_free (CustosCameraSource *self)
{
  if (self == NULL)
    return;
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  for (guint i = 0; i < N_SINKS; i++)
    {
      g_clear_pointer (&self->sinks[i].pending, gst_sample_unref);
      g_clear_pointer (&self->sinks[i].held, gst_sample_unref);
      g_clear_pointer (&self->sinks[i].synth, custos_dts_synth_free);
      g_clear_object (&self->sinks[i].appsink);
    }
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->streams, g_ptr_array_unref);
  g_free (self);
}

gboolean
custos_camera_source_play (CustosCameraSource  *self,
                           GError             **error)
{
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
    return TRUE;
  if (check_bus (self, error))
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                         _("The pipeline cannot start"));
  return FALSE;
}

/* Times */

/* The UTC of running time 0, from the wall clock and the pipeline's clock
 * at the same moment. */
static void
take_origin (CustosCameraSource *self)
{
  g_autoptr (GstClock) clock = gst_pipeline_get_clock (GST_PIPELINE (self->pipeline));
  GstClockTime base = gst_element_get_base_time (self->pipeline);
  GstClockTime now = clock ? gst_clock_get_time (clock) : base;
  gint64 running_us = now > base ? (gint64) ((now - base) / 1000) : 0;

  self->origin_us = g_get_real_time () - running_us;
  self->have_origin = TRUE;
}

static void
sink_set_pending (Sink      *sink,
                  GstSample *sample,
                  gint64     pts_us,
                  gint64     dts_us)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);

  sink->pending = sample;
  sink->pending_key = buffer && !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  sink->pending_pts_us = MAX (pts_us, 0);
  sink->pending_dts_us = dts_us;
}

/* The oldest frame the synthesizer has timed becomes the pending one. */
static gboolean
sink_pop_synth (Sink *sink)
{
  gpointer sample = NULL;
  gint64 pts_us, dts_us;

  if (sink->pending == NULL && sink->synth != NULL &&
      custos_dts_synth_pop (sink->synth, &pts_us, &dts_us, &sample))
    sink_set_pending (sink, sample, pts_us, dts_us);
  return sink->pending != NULL;
}

static void
sink_take (CustosCameraSource *self,
           Sink               *sink,
           GstSample          *sample)
{
  const GstSegment *segment = gst_sample_get_segment (sample);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  gint64 pts = 0, dts = 0;
  gboolean have_pts, have_dts;
  gint64 floor_us, pts_us;

  if (!self->have_origin)
    take_origin (self);
  have_pts = buffer && custos_gst_running_time_us (segment, GST_BUFFER_PTS (buffer), &pts);
  have_dts = buffer && custos_gst_running_time_us (segment, GST_BUFFER_DTS (buffer), &dts);
  custos_gst_choose_dts (GST_OBJECT_NAME (sink->appsink), sink->coalesce, have_pts, have_dts,
                         &sink->timed, &sink->synth);
  floor_us = sink->last_dts_us != G_MININT64 ? sink->last_dts_us : 0;
  pts_us = have_pts ? self->origin_us + pts
           : have_dts ? self->origin_us + dts : MAX (floor_us, self->origin_us);
  if (sink->synth != NULL)
    {
      custos_dts_synth_push (sink->synth, pts_us, sample);
      sink_pop_synth (sink);
      return;
    }
  /* The format wants decode times that never go back within a stream. */
  sink_set_pending (sink, sample, pts_us,
                    MAX (have_dts ? self->origin_us + dts : pts_us, floor_us));
}

/* Split pictures */

/* Where the first slice (NAL type 1 or 5) of a byte-stream unit starts,
 * its start code included; -1 when there is none. *first_mb_zero: the
 * slice is the first of its picture (first_mb_in_slice, ue(v), is 0
 * exactly when its first bit is 1). */
static gssize
find_first_slice (const guint8 *d,
                  gsize         len,
                  gboolean     *first_mb_zero)
{
  for (gsize i = 0; i + 4 < len; i++)
    {
      guint type;

      if (d[i] != 0 || d[i + 1] != 0 || d[i + 2] != 1)
        continue;
      type = d[i + 3] & 0x1f;
      if (type == 1 || type == 5)
        {
          *first_mb_zero = (d[i + 4] & 0x80) != 0;
          return i > 0 && d[i - 1] == 0 ? (gssize) i - 1 : (gssize) i;
        }
      i += 2;
    }
  return -1;
}

/* The slices of a unit that continues the picture of the one before, or
 * -1. Some RTSP servers (rtph264pay config-interval=-1 after a
 * multi-slice encoder) repeat SPS/PPS before every IDR slice; h264parse
 * then starts a new access unit in the middle of the picture, and
 * recording those as they come would store half pictures, each with its
 * own time. */
static gssize
continuation_offset (GstBuffer *buffer)
{
  GstMapInfo map;
  gboolean first_mb_zero = TRUE;
  gssize offset;

  if (buffer == NULL || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return -1;
  offset = find_first_slice (map.data, map.size, &first_mb_zero);
  gst_buffer_unmap (buffer, &map);
  return offset >= 0 && !first_mb_zero ? offset : -1;
}

/* held with the slices of next appended: one picture, held's times and flags. */
static GstSample *
merge_units (GstSample *held,
             GstSample *next,
             gsize      offset)
{
  GstBuffer *tail = gst_sample_get_buffer (next);
  GstBuffer *merged = gst_buffer_append (gst_buffer_ref (gst_sample_get_buffer (held)),
                                         gst_buffer_copy_region (tail, GST_BUFFER_COPY_MEMORY,
                                                                 offset,
                                                                 gst_buffer_get_size (tail) -
                                                                 offset));
  GstSample *sample = gst_sample_new (merged, gst_sample_get_caps (held),
                                      gst_sample_get_segment (held), NULL);

  gst_buffer_unref (merged);
  gst_sample_unref (held);
  gst_sample_unref (next);
  return sample;
}

/* A unit of a coalescing sink is handed out once the next has come (or
 * the stream ended): until then it may still get more slices. NULL while
 * nothing is ready. */
static GstSample *
coalesce (Sink      *sink,
          GstSample *sample)
{
  GstSample *ready;
  gssize offset;

  if (!sink->coalesce)
    return sample;
  if (sample == NULL)
    return sink->eos ? g_steal_pointer (&sink->held) : NULL;
  if (sink->held == NULL)
    {
      sink->held = sample;
      return NULL;
    }
  offset = continuation_offset (gst_sample_get_buffer (sample));
  if (offset >= 0)
    {
      sink->held = merge_units (sink->held, sample, offset);
      return NULL;
    }
  ready = g_steal_pointer (&sink->held);
  sink->held = sample;
  return ready;
}

/* Fills the sink's pending slot without waiting; FALSE when nothing came. */
static gboolean
sink_refill (CustosCameraSource *self,
             Sink               *sink)
{
  GstSample *sample, *ready;

  if (sink->appsink == NULL || sink->pending != NULL)
    return sink->pending != NULL;
  /* A unit taken may stay in the synthesizer: pull until one is pending. */
  while (!sink->eos && sink->pending == NULL)
    {
      sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink->appsink), 0);
      if (sample == NULL)
        sink->eos = gst_app_sink_is_eos (GST_APP_SINK (sink->appsink));
      ready = coalesce (sink, sample);
      if (ready != NULL)
        sink_take (self, sink, ready);
      else if (sample == NULL)
        break;
    }
  /* At the end, what the synthesizer holds comes out. */
  if (sink->eos && sink->synth != NULL)
    custos_dts_synth_drain (sink->synth);
  return sink_pop_synth (sink);
}

/* Bus */

static gboolean
check_bus (CustosCameraSource  *self,
           GError             **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);
  GstMessage *message;

  while ((message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING)) != NULL)
    {
      g_autoptr (GError) gst_error = NULL;
      g_autofree char *debug = NULL;
      gboolean fatal = GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR;

      if (fatal)
        gst_message_parse_error (message, &gst_error, &debug);
      else
        gst_message_parse_warning (message, &gst_error, &debug);
      g_debug ("%s", debug ? debug : "");
      if (!fatal)
        g_message ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), gst_error->message);
      else
        g_set_error (error, gst_error->domain, gst_error->code, "%s: %s",
                     GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), gst_error->message);
      gst_message_unref (message);
      if (fatal)
        return FALSE;
    }
  return TRUE;
}

/* Probing the streams */

static char *
caps_to_string (GstCaps *caps)
{
  g_autoptr (GstCaps) slim = gst_caps_copy (caps);
  char *text;

  /* byte-stream payloads carry their codec headers in band; the format's
   * strings are limited to 4 KiB. */
  for (guint i = 0; i < gst_caps_get_size (slim); i++)
    gst_structure_remove_fields (gst_caps_get_structure (slim, i), "codec_data", "streamheader",
                                 NULL);
  text = gst_caps_to_string (slim);
  if (strlen (text) <= CUSTOS_MAX_STRING)
    return text;
  g_free (text);
  return g_strdup (gst_structure_get_name (gst_caps_get_structure (caps, 0)));
}

static void
add_stream (CustosCameraSource *self,
            guint               i,
            GstCaps            *caps)
{
  Sink *sink = &self->sinks[i];
  CustosSourceStream *s = g_new0 (CustosSourceStream, 1);

  s->kind = sink_kinds[i];
  s->name = sink_names[i];
  s->caps = caps_to_string (caps);
  sink->stream = self->streams->len;
  g_ptr_array_add (self->streams, s);
}

/* What a sink records: its first sample's caps or, for audio and
 * metadata whose first buffer is still to come (events may be minutes
 * apart), the caps its branch negotiated; NULL when it has none. */
static GstCaps *
sink_caps (Sink *sink)
{
  g_autoptr (GstPad) pad = NULL;

  if (sink->pending != NULL && gst_sample_get_caps (sink->pending) != NULL)
    return gst_caps_ref (gst_sample_get_caps (sink->pending));
  if (sink->appsink == NULL || sink->coalesce)
    return NULL;
  pad = gst_element_get_static_pad (sink->appsink, "sink");
  return pad != NULL ? gst_pad_get_current_caps (pad) : NULL;
}

/* Recording starts at a keyframe: what comes before it cannot be decoded. */
static void
probe_video (CustosCameraSource *self)
{
  Sink *video = &self->sinks[SINK_VIDEO];

  while (self->video_ready_at == 0 && sink_refill (self, video))
    {
      if (video->pending_key && gst_sample_get_caps (video->pending) != NULL)
        self->video_ready_at = g_get_monotonic_time ();
      else
        g_clear_pointer (&video->pending, gst_sample_unref);
    }
}

gboolean
custos_camera_source_probe (CustosCameraSource  *self,
                            gint64               settle_us,
                            GError             **error)
{
  gboolean all = TRUE;

  if (!check_bus (self, error))
    return FALSE;
  probe_video (self);
  for (guint i = SINK_AUDIO; i < N_SINKS; i++)
    if (self->sinks[i].appsink != NULL && !sink_refill (self, &self->sinks[i]) &&
        !self->sinks[i].eos)
      all = FALSE;
  if (self->video_ready_at == 0)
    {
      if (self->sinks[SINK_VIDEO].eos)
        g_set_error_literal (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                             _("The source ended before its first keyframe"));
      return FALSE;
    }
  if (!all && g_get_monotonic_time () - self->video_ready_at < settle_us)
    return FALSE;
  for (guint i = 0; i < N_SINKS; i++)
    {
      Sink *sink = &self->sinks[i];
      g_autoptr (GstCaps) caps = sink_caps (sink);

      if (caps != NULL)
        add_stream (self, i, caps);
      else if (sink->appsink != NULL)
        /* Not recorded: never let it hold the pipeline back. */
        g_object_set (sink->appsink, "drop", TRUE, "max-buffers", 1, NULL);
    }
  return TRUE;
}

GPtrArray *
custos_camera_source_get_streams (CustosCameraSource *self)
{
  return self->streams;
}

/* Recording */

static void
drain_unrecorded (Sink *sink)
{
  GstSample *sample;

  while (sink->appsink != NULL && !sink->eos &&
         (sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink->appsink), 0)) != NULL)
    gst_sample_unref (sample);
  g_clear_pointer (&sink->pending, gst_sample_unref);
}

gboolean
custos_camera_source_pull (CustosCameraSource  *self,
                           CustosSourcePacket  *packet,
                           GError             **error)
{
  Sink *best = NULL;
  gboolean any_open = FALSE;

  if (!check_bus (self, error) || packet == NULL)
    return FALSE;
  for (guint i = 0; i < N_SINKS; i++)
    {
      Sink *sink = &self->sinks[i];

      if (sink->stream < 0)
        {
          drain_unrecorded (sink);
          continue;
        }
      if (!sink_refill (self, sink) && sink->eos)
        continue;
      any_open = TRUE;
      if (sink->pending != NULL && (best == NULL || sink->pending_dts_us < best->pending_dts_us))
        best = sink;
    }
  if (best == NULL)
    {
      if (!any_open)
        g_set_error_literal (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                             _("The source ended"));
      return FALSE;
    }
  packet->stream = best->stream;
  packet->pts_us = best->pending_pts_us;
  packet->dts_us = best->pending_dts_us;
  packet->keyframe = best->pending_key;
  packet->sample = g_steal_pointer (&best->pending);
  best->last_dts_us = best->pending_dts_us;
  return TRUE;
}
