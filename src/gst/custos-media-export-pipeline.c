/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-export"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <gst/app/app.h>
#include <gst/video/video.h>

#include <string.h>

#include "custos-media-export-private.h"

/* Demuxed streams wait for each other at the muxer; the queues between
 * them absorb the interleaving of a file, bounded in time. */
#define QUEUE_TIME (30 * GST_SECOND)

void
custos_media_export_blocked_pad_free (BlockedPad *b)
{
  gst_object_unref (b->pad);
  g_free (b);
}

/* Times */

char *
custos_media_export_format_utc (gint64 utc_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  g_autofree char *seconds = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : NULL;

  if (seconds == NULL)
    return g_strdup ("?");
  return g_strdup_printf ("%s.%03dZ", seconds, (int) (utc_us % G_USEC_PER_SEC / 1000));
}

/* Streaming threads: learning the timeline */

static void
tag_muxer (CustosMediaExport *self,
           gint64             start_utc_us)
{
  g_autoptr (GstTagList) tags = gst_tag_list_new_empty ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (start_utc_us / G_USEC_PER_SEC);
  g_autoptr (GstDateTime) gst_dt = gst_date_time_new_from_unix_epoch_utc_usecs (start_utc_us);
  g_autofree char *iso = custos_media_export_format_utc (start_utc_us);
  g_autofree char *comment = g_strdup_printf ("Recorded from %s (UTC); decrypted and remuxed by "
                                              "Custos %s without re-encoding", iso,
                                              PACKAGE_VERSION);
  g_autoptr (GDate) date = NULL;

  if (self->mux == NULL || !GST_IS_TAG_SETTER (self->mux) || dt == NULL)
    return;
  date = g_date_new_dmy (g_date_time_get_day_of_month (dt), g_date_time_get_month (dt),
                         g_date_time_get_year (dt));
  gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_DATE, date, GST_TAG_DATE_TIME, gst_dt,
                    GST_TAG_COMMENT, comment, GST_TAG_ENCODER, "Custos", NULL);
  if (self->title != NULL)
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, self->title, NULL);
  gst_tag_setter_merge_tags (GST_TAG_SETTER (self->mux), tags, GST_TAG_MERGE_REPLACE);
  /* Matroska's DateUTC is written with the header, before any tag. */
  if (self->format == CUSTOS_MEDIA_FORMAT_MKV)
    {
      g_autoptr (GDateTime) exact = g_date_time_add (dt, start_utc_us % G_USEC_PER_SEC);

      g_object_set (self->mux, "creation-time", exact, NULL);
    }
}

/* With the lock. The output's time 0 (running time 0, the start of the
 * demuxer's segment) is known: the muxer learns its UTC before the first
 * buffer reaches it. */
void
custos_media_export_set_start (CustosMediaExport *self,
                               GstClockTime       start)
{
  self->have_start = TRUE;
  self->start = start;
  self->summary.start_utc_us = self->base_utc_us + (gint64) (start / GST_USECOND);
  if (self->format != CUSTOS_MEDIA_FORMAT_PNG)
    tag_muxer (self, self->summary.start_utc_us);
}

static gint64
to_unix_us (GstDateTime *dt)
{
  g_autoptr (GDateTime) utc = gst_date_time_to_g_date_time (dt);

  return g_date_time_to_unix (utc) * G_USEC_PER_SEC + g_date_time_get_microsecond (utc);
}

/* With the lock. custosdemux's GST_TAG_DATE_TIME is the UTC of its output
 * time 0, to the microsecond. */
static void
on_tags (CustosMediaExport *self,
         GstEvent          *event)
{
  GstTagList *tags = NULL;
  g_autoptr (GstDateTime) start = NULL;
  g_autofree char *title = NULL;

  gst_event_parse_tag (event, &tags);
  if (self->title == NULL && gst_tag_list_get_string (tags, GST_TAG_TITLE, &title))
    self->title = g_steal_pointer (&title);
  if (self->have_base || !gst_tag_list_get_date_time (tags, GST_TAG_DATE_TIME, &start) ||
      !gst_date_time_has_second (start))
    return;
  self->base_utc_us = to_unix_us (start);
  self->have_base = TRUE;
}

static void
on_segment (CustosMediaExport *self,
            GstEvent          *event)
{
  const GstSegment *segment;

  if (!self->seek_sent || self->have_start || !self->have_base)
    return;
  gst_event_parse_segment (event, &segment);
  custos_media_export_set_start (self, segment->start);
}

/* The demuxer stops at the first packet decoded after --to; downstream
 * must not clip what it pushed up to there by presentation time, or the
 * B-frames before --to would lose the reference frame shown after it. */
static GstEvent *
open_ended (GstEvent *event)
{
  const GstSegment *segment;
  GstSegment copy;
  GstEvent *open;

  gst_event_parse_segment (event, &segment);
  if (!GST_CLOCK_TIME_IS_VALID (segment->stop))
    return event;
  gst_segment_copy_into (segment, &copy);
  copy.stop = GST_CLOCK_TIME_NONE;
  open = gst_event_new_segment (&copy);
  gst_event_set_seqnum (open, gst_event_get_seqnum (event));
  gst_event_unref (event);
  return open;
}

/* Streaming threads ask the run's main context for things through the bus. */
static void
post_to_main (GstElement *element,
              const char *name)
{
  GstStructure *s = gst_structure_new_empty (name);

  gst_element_post_message (element, gst_message_new_application (GST_OBJECT (element), s));
}

static GstPadProbeReturn
on_event (GstPad          *pad,
          GstPadProbeInfo *info,
          gpointer         user_data)
{
  PadInfo *pi = user_data;
  CustosMediaExport *self = pi->self;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  g_mutex_lock (&self->lock);
  if (GST_EVENT_TYPE (event) == GST_EVENT_TAG)
    on_tags (self, event);
  else if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
    on_segment (self, event);
  g_mutex_unlock (&self->lock);
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
    GST_PAD_PROBE_INFO_DATA (info) = open_ended (event);
  return GST_PAD_PROBE_OK;
}

/* Holds the first data (a buffer, or a gap for a locked packet) until the
 * main thread has seeked. Every export seeks, to --from or to the first
 * packet's time: the demuxer's timeline starts at the first packet's
 * decoding time, a seek makes the output's start at its first frame. The
 * seek needs the timeline's origin, which the demuxer only knows once it
 * read a packet. */
static GstPadProbeReturn
on_first_data (GstPad          *pad,
               GstPadProbeInfo *info,
               gpointer         user_data)
{
  PadInfo *pi = user_data;
  CustosMediaExport *self = pi->self;
  GstPadProbeReturn ret = GST_PAD_PROBE_OK;

  GstClockTime pts = GST_CLOCK_TIME_NONE;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

      if (GST_EVENT_TYPE (event) != GST_EVENT_GAP)
        return GST_PAD_PROBE_PASS;
      gst_event_parse_gap (event, &pts, NULL);
    }
  else
    pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));
  g_mutex_lock (&self->lock);
  if (self->seek_sent)
    ret = GST_PAD_PROBE_REMOVE;
  else if (!self->seek_requested)
    {
      self->seek_requested = TRUE;
      self->first_pts = pts;
      post_to_main (self->demux, "custos-export-seek");
    }
  g_mutex_unlock (&self->lock);
  return ret;
}

/* What reaches the output: counts and the time of the last frame. */
static GstPadProbeReturn
on_buffer (GstPad          *pad,
           GstPadProbeInfo *info,
           gpointer         user_data)
{
  PadInfo *pi = user_data;
  CustosMediaExport *self = pi->self;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstPadProbeReturn ret = GST_PAD_PROBE_OK;

  g_mutex_lock (&self->lock);
  /* Sound or metadata from before the first frame would start the file
   * before its time 0. */
  if (pi->exported && !pi->video && self->have_start && GST_BUFFER_PTS_IS_VALID (buffer) &&
      GST_BUFFER_PTS (buffer) < self->start)
    ret = GST_PAD_PROBE_DROP;
  else if (pi->exported && self->seek_sent)
    {
      self->summary.packets++;
      if (pi->video)
        {
          self->summary.video_frames++;
          if (self->have_base && GST_BUFFER_PTS_IS_VALID (buffer))
            self->summary.end_utc_us = MAX (self->summary.end_utc_us,
                                            self->base_utc_us +
                                            (gint64) (GST_BUFFER_PTS (buffer) / GST_USECOND));
        }
    }
  g_mutex_unlock (&self->lock);
  return ret;
}

static void
watch_pad (CustosMediaExport *self,
           GstPad            *pad,
           gboolean           video,
           gboolean           exported)
{
  PadInfo *pi = g_new0 (PadInfo, 1);

  BlockedPad *b = g_new0 (BlockedPad, 1);

  pi->self = self;
  pi->video = video;
  pi->exported = exported;
  b->pad = gst_object_ref (pad);
  b->probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER |
                                GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_first_data, pi, NULL);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->blocked, b);
  g_mutex_unlock (&self->lock);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_event, pi, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, pi, g_free);
}

/* Streaming threads: branches for the demuxer's pads */

static GstElement *
make (const char *factory)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (element == NULL)
    GST_WARNING ("the GStreamer element %s is missing", factory);
  return element;
}

/* Muxers want parsed streams (H.264 as avc, Opus with its header, …). */
static const char *
parser_for (const GstStructure *s)
{
  const char *media = gst_structure_get_name (s);
  int version = 0;

  if (g_str_equal (media, "video/x-h264"))
    return "h264parse";
  if (g_str_equal (media, "video/x-h265"))
    return "h265parse";
  if (g_str_equal (media, "video/x-av1"))
    return "av1parse";
  if (g_str_equal (media, "video/x-vp9"))
    return "vp9parse";
  if (g_str_equal (media, "image/jpeg"))
    return "jpegparse";
  if (g_str_equal (media, "audio/x-opus"))
    return "opusparse";
  if (g_str_equal (media, "audio/mpeg") && gst_structure_get_int (s, "mpegversion", &version))
    return version == 1 ? "mpegaudioparse" : "aacparse";
  return NULL;
}

/* Metadata that is text (ONVIF's XML, Custos' own, plain text) fits
 * Matroska's UTF-8 text tracks; binary metadata (KLV) fits nothing. */
static gboolean
is_text_metadata (const char *media)
{
  return g_str_equal (media, "text/x-raw") || g_str_equal (media, "application/x-onvif-metadata") ||
         g_str_equal (media, "application/x-custos-metadata");
}

static const char *
mux_template_for (CustosMediaExport *self,
                  const char        *pad_name,
                  const char        *media,
                  const char       **why_not)
{
  if (g_str_has_prefix (pad_name, "video_"))
    return "video_%u";
  if (g_str_has_prefix (pad_name, "audio_"))
    return "audio_%u";
  if (self->format == CUSTOS_MEDIA_FORMAT_MP4)
    *why_not = _ ("MP4 does not carry metadata streams; export to MKV or .fusion to keep them");
  else if (!is_text_metadata (media))
    *why_not = _ ("Matroska has no track type for binary metadata");
  else
    return "subtitle_%u";
  return NULL;
}

static GstElement *
text_caps_setter (void)
{
  GstElement *setter = make ("capssetter");
  g_autoptr (GstCaps) caps = gst_caps_from_string ("text/x-raw, format=(string)utf8");

  if (setter != NULL)
    g_object_set (setter, "caps", caps, "replace", TRUE, NULL);
  return setter;
}

static GstElement *
make_queue (void)
{
  GstElement *queue = make ("queue");

  if (queue != NULL)
    g_object_set (queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time", QUEUE_TIME,
                  NULL);
  return queue;
}

/* Adds element to the pipeline, in its state, and links pad to its sink. */
static GstPadLinkReturn
add_linked (CustosMediaExport *self,
            GstPad            *pad,
            GstElement        *element)
{
  g_autoptr (GstPad) sink = NULL;

  gst_bin_add (GST_BIN (self->pipeline), element);
  gst_element_sync_state_with_parent (element);
  sink = gst_element_get_static_pad (element, "sink");
  return gst_pad_link (pad, sink);
}

/* Links the elements (NULL ones left out) one after the other from pad,
 * in the pipeline; returns the pad that goes to the muxer. */
static GstPad *
add_chain (CustosMediaExport  *self,
           GstPad             *pad,
           GstElement         *first,
           GstElement         *second,
           GError            **error)
{
  GstElement *chain[] = { first, second };
  g_autoptr (GstPad) tail = gst_object_ref (pad);

  for (guint i = 0; i < G_N_ELEMENTS (chain); i++)
    {
      if (chain[i] == NULL)
        continue;
      if (add_linked (self, tail, chain[i]) != GST_PAD_LINK_OK)
        {
          g_set_error (error, CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_FAILED,
                       _ ("cannot link %s"), GST_PAD_NAME (pad));
          return NULL;
        }
      gst_object_unref (tail);
      tail = gst_element_get_static_pad (chain[i], "src");
    }
  return g_steal_pointer (&tail);
}

/* A stream that is not exported still has to flow somewhere. */
static void
discard (CustosMediaExport *self,
         GstPad            *pad)
{
  GstElement *sink = make ("fakesink");

  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  add_linked (self, pad, sink);
}

static void
skip_stream (CustosMediaExport *self,
             GstPad            *pad,
             const char        *media,
             const char        *why)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->summary.skipped, g_strdup_printf ("%s (%s): %s", GST_PAD_NAME (pad),
                                                           media, why));
  g_mutex_unlock (&self->lock);
  discard (self, pad);
}

/* Links a branch to the muxer; FALSE when the container refuses the
 * stream (the branch is then removed again). */
static gboolean
link_to_muxer (CustosMediaExport *self,
               GstPad            *src,
               const char        *templ)
{
  GstPad *request = gst_element_request_pad_simple (self->mux, templ);
  gboolean ok;

  if (request == NULL)
    return FALSE;
  ok = gst_pad_link (src, request) == GST_PAD_LINK_OK;
  if (!ok)
    gst_element_release_request_pad (self->mux, request);
  gst_object_unref (request);
  return ok;
}

static void
remove_chain (CustosMediaExport *self,
              GstPad            *pad)
{
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);
  GstElement *element = peer ? gst_pad_get_parent_element (peer) : NULL;

  while (element != NULL)
    {
      g_autoptr (GstPad) src = gst_element_get_static_pad (element, "src");
      g_autoptr (GstPad) next = src ? gst_pad_get_peer (src) : NULL;

      gst_element_set_locked_state (element, TRUE);
      gst_element_set_state (element, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (self->pipeline), element);
      gst_object_unref (element);
      element = next ? gst_pad_get_parent_element (next) : NULL;
      if (element == self->mux)
        g_clear_pointer (&element, gst_object_unref);
    }
}

/* Returns whether the stream goes into the file. Several streams wait
 * for each other at the muxer, each behind a queue; one alone does not
 * need one (a thread switch per frame saved). */
static gboolean
add_mux_branch (CustosMediaExport *self,
                GstPad            *pad,
                GstCaps           *caps,
                gboolean           queued)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const char *media = gst_structure_get_name (s);
  const char *why_not = _ ("the container cannot hold this format");
  const char *templ = mux_template_for (self, GST_PAD_NAME (pad), media, &why_not);
  const char *parser = templ ? parser_for (s) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstPad) tail = NULL;
  GstElement *first = NULL;

  if (templ == NULL)
    {
      skip_stream (self, pad, media, why_not);
      return FALSE;
    }
  if (parser != NULL)
    first = make (parser);
  else if (g_str_equal (templ, "subtitle_%u"))
    first = text_caps_setter ();
  tail = add_chain (self, pad, first, queued ? make_queue () : NULL, &error);
  if (tail == NULL || !link_to_muxer (self, tail, templ))
    {
      remove_chain (self, pad);
      skip_stream (self, pad, media, error ? error->message : why_not);
      return FALSE;
    }
  return TRUE;
}

/* PNG: decodebin's pad to videoconvert ! RGB(A) ! appsink. */
static void
on_decoded_pad (GstElement *decodebin,
                GstPad     *pad,
                gpointer    user_data)
{
  CustosMediaExport *self = user_data;
  GstElement *convert = make ("videoconvert");
  g_autoptr (GstPad) sink = NULL;

  gst_bin_add (GST_BIN (self->pipeline), convert);
  gst_element_link (convert, self->mux);
  gst_element_sync_state_with_parent (convert);
  sink = gst_element_get_static_pad (convert, "sink");
  gst_pad_link (pad, sink);
}

static void
add_snapshot_branch (CustosMediaExport *self,
                     GstPad            *pad)
{
  GstElement *decodebin = make ("decodebin");

  g_signal_connect (decodebin, "pad-added", G_CALLBACK (on_decoded_pad), self);
  add_linked (self, pad, decodebin);
}

static gboolean
is_video_pad (GstPad *pad)
{
  return g_str_has_prefix (GST_PAD_NAME (pad), "video_");
}

/* A demuxer pad into the file, or skipped; its data is counted either way. */
static void
export_pad (CustosMediaExport *self,
            GstPad            *pad,
            GstCaps           *caps,
            gboolean           queued)
{
  watch_pad (self, pad, is_video_pad (pad), add_mux_branch (self, pad, caps, queued));
}

static gboolean
claim_snapshot_pad (CustosMediaExport *self,
                    gboolean           video)
{
  gboolean mine;

  g_mutex_lock (&self->lock);
  mine = video && !self->have_snapshot_pad;
  self->have_snapshot_pad |= mine;
  g_mutex_unlock (&self->lock);
  return mine;
}

static void
on_pad_added (GstElement *demux,
              GstPad     *pad,
              gpointer    user_data)
{
  CustosMediaExport *self = user_data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  gboolean video = is_video_pad (pad);

  if (caps == NULL)
    {
      discard (self, pad);
      return;
    }
  if (self->format == CUSTOS_MEDIA_FORMAT_PNG)
    {
      gboolean mine = claim_snapshot_pad (self, video);

      watch_pad (self, pad, video, mine);
      if (mine)
        add_snapshot_branch (self, pad);
      else
        discard (self, pad);
      return;
    }
  g_mutex_lock (&self->lock);
  if (!self->all_pads)
    {
      /* Linked once they are all there, when it is known how many. */
      g_ptr_array_add (self->new_pads, gst_object_ref (pad));
      pad = NULL;
    }
  g_mutex_unlock (&self->lock);
  /* A stream that comes later than the others. */
  if (pad != NULL)
    export_pad (self, pad, caps, TRUE);
}

/* Before any data: the demuxer pushes only once all its pads are out. */
static void
on_no_more_pads (GstElement *demux,
                 gpointer    user_data)
{
  CustosMediaExport *self = user_data;
  g_autoptr (GPtrArray) pads = NULL;

  g_mutex_lock (&self->lock);
  self->all_pads = TRUE;
  pads = g_steal_pointer (&self->new_pads);
  self->new_pads = g_ptr_array_new_with_free_func (gst_object_unref);
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < pads->len; i++)
    {
      GstPad *pad = pads->pdata[i];
      g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

      export_pad (self, pad, caps, pads->len > 1);
    }
}

/* The snapshot's frame, from the appsink's streaming thread. */
static GstFlowReturn
on_new_sample (GstAppSink *sink,
               gpointer    user_data)
{
  CustosMediaExport *self = user_data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  gboolean first;

  g_mutex_lock (&self->lock);
  first = self->frame == NULL && sample != NULL;
  if (first)
    self->frame = g_steal_pointer (&sample);
  g_mutex_unlock (&self->lock);
  if (first)
    post_to_main (GST_ELEMENT (sink), "custos-export-frame");
  return GST_FLOW_EOS;
}

/* Building */

static GstElement *
make_snapshot_sink (CustosMediaExport *self)
{
  GstElement *sink = make ("appsink");
  g_autoptr (GstCaps) caps = gst_caps_from_string ("video/x-raw, format=(string){ RGB, RGBA }");
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };

  if (sink == NULL)
    return NULL;
  g_object_set (sink, "sync", FALSE, "max-buffers", 1, "caps", caps, "enable-last-sample", FALSE,
                NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);
  return sink;
}

/* With no latency an aggregator takes one buffer per pad and blocks the
 * pad until it has written it: two thread switches per frame, which cost
 * more than remuxing itself. A second of queue per pad lets the demuxer
 * run ahead (nothing here is live, so it adds no delay). */
static GstElement *
make_mp4mux (void)
{
  GstElement *mux = make ("mp4mux");

  if (mux != NULL)
    g_object_set (mux, "latency", (GstClockTime) GST_SECOND, NULL);
  return mux;
}

static GstElement *
make_muxer (CustosMediaExport *self)
{
  switch (self->format)
    {
    case CUSTOS_MEDIA_FORMAT_MP4:
      return make_mp4mux ();
    case CUSTOS_MEDIA_FORMAT_MKV:
      return make ("matroskamux");
    case CUSTOS_MEDIA_FORMAT_PNG:
    default:
      return make_snapshot_sink (self);
    }
}

static void
configure_demux (CustosMediaExport *self)
{
  if (self->provider != NULL)
    g_object_set (self->demux, "key-provider", self->provider, NULL);
  if (self->interaction != NULL)
    g_object_set (self->demux, "interaction", self->interaction, NULL);
  if (self->ca_file != NULL)
    g_object_set (self->demux, "ca-file", self->ca_file, NULL);
  g_signal_connect (self->demux, "pad-added", G_CALLBACK (on_pad_added), self);
  g_signal_connect (self->demux, "no-more-pads", G_CALLBACK (on_no_more_pads), self);
}

gboolean
custos_media_export_build_pipeline (CustosMediaExport  *self,
                                    GError            **error)
{
  GstElement *src = make ("filesrc");
  GstElement *filesink = self->format == CUSTOS_MEDIA_FORMAT_PNG ? NULL : make ("filesink");

  self->pipeline = gst_pipeline_new ("custos-export");
  self->demux = make ("custosdemux");
  self->mux = make_muxer (self);
  if (src == NULL || self->demux == NULL || self->mux == NULL ||
      (self->format != CUSTOS_MEDIA_FORMAT_PNG && filesink == NULL))
    {
      gst_clear_object (&src);
      gst_clear_object (&filesink);
      gst_clear_object (&self->demux);
      gst_clear_object (&self->mux);
      g_set_error_literal (error, CUSTOS_MEDIA_EXPORT_ERROR, CUSTOS_MEDIA_EXPORT_ERROR_MISSING,
                           _ ("a GStreamer element this export needs is missing (filesrc, "
                              "custosdemux, mp4mux, matroskamux, filesink or appsink)"));
      return FALSE;
    }
  g_object_set (src, "location", self->input, NULL);
  configure_demux (self);
  gst_bin_add_many (GST_BIN (self->pipeline), src, self->demux, self->mux, NULL);
  gst_element_link (src, self->demux);
  if (filesink != NULL)
    {
      g_object_set (filesink, "location", self->output, "sync", FALSE, NULL);
      gst_bin_add (GST_BIN (self->pipeline), filesink);
      gst_element_link (self->mux, filesink);
    }
  return TRUE;
}
