/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-player"

#include "config.h"

#include <gst/video/video.h>

#include "custos-player-frames.h"

/* How far before a seek's target the decoder's output is kept: 4 frames
 * at 30 fps; at most MAX_BEFORE frames and MAX_BYTES in all (3 MiB a
 * frame in 1080p I420, 12 MiB in 2160p). */
#define SPAN (140 * GST_MSECOND)
#define MAX_BEFORE 5
#define MAX_BYTES (24 * 1024 * 1024)

/* Cairo's layout, as CustosVideoSink shows frames (opaque video). */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define SHOWN_FORMAT GST_VIDEO_FORMAT_BGRA
#else
#define SHOWN_FORMAT GST_VIDEO_FORMAT_ARGB
#endif

struct _CustosPlayerFrames
{
  GMutex     lock;
  GQueue     samples;     /* GstSample, oldest first */
  gsize      bytes;       /* their buffers' sizes */
  gboolean   widened;     /* the decoder's segment starts SPAN early */
  GstSegment original;    /* the segment as it came, as it goes on */
  gboolean   have_target; /* the first frame in it was kept */
};

/* Lock held. */
static void
drop_oldest (CustosPlayerFrames *self)
{
  GstSample *sample = g_queue_pop_head (&self->samples);

  self->bytes -= gst_buffer_get_size (gst_sample_get_buffer (sample));
  gst_sample_unref (sample);
}

/* Lock held. */
static void
clear_samples (CustosPlayerFrames *self)
{
  while (!g_queue_is_empty (&self->samples))
    drop_oldest (self);
}

static void
frames_clear (CustosPlayerFrames *self)
{
  clear_samples (self);
  g_mutex_clear (&self->lock);
}

CustosPlayerFrames *
custos_player_frames_new (void)
{
  CustosPlayerFrames *self = g_atomic_rc_box_new0 (CustosPlayerFrames);

  g_mutex_init (&self->lock);
  g_queue_init (&self->samples);
  return self;
}

CustosPlayerFrames *
custos_player_frames_ref (CustosPlayerFrames *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
custos_player_frames_unref (CustosPlayerFrames *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) frames_clear);
}

static void
replace_segment (GstPadProbeInfo *info, const GstSegment *segment)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstEvent *replacement = gst_event_new_segment (segment);

  gst_event_set_seqnum (replacement, gst_event_get_seqnum (event));
  gst_event_unref (event);
  GST_PAD_PROBE_INFO_DATA (info) = replacement;
}

/* The decoder's sink pad: a segment starts SPAN earlier (start and time
 * alike), so that the decoder does not clip the frames just before it. */
static GstPadProbeReturn
widen_segment (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  CustosPlayerFrames *self = user_data;
  GstEvent           *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstSegment   *segment;
  GstSegment          widened;
  gboolean            widen;

  if (GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (event, &segment);
  widen = segment->format == GST_FORMAT_TIME && segment->rate > 0 && segment->start >= SPAN &&
          segment->time >= SPAN;
  g_mutex_lock (&self->lock);
  clear_samples (self);
  self->have_target = FALSE;
  self->widened = widen;
  if (widen)
    gst_segment_copy_into (segment, &self->original);
  g_mutex_unlock (&self->lock);
  if (!widen)
    return GST_PAD_PROBE_OK;
  gst_segment_copy_into (segment, &widened);
  widened.start -= SPAN;
  widened.time -= SPAN;
  widened.position = widened.start;
  replace_segment (info, &widened);
  return GST_PAD_PROBE_OK;
}

/* The decoder's source pad: downstream gets the segment as it was. */
static GstPadProbeReturn
restore_segment (CustosPlayerFrames *self, GstPadProbeInfo *info)
{
  GstEvent         *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstSegment *segment;
  GstSegment        original;
  gboolean          ours;

  if (GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (event, &segment);
  g_mutex_lock (&self->lock);
  ours = self->widened && segment->start + SPAN == self->original.start &&
         segment->time + SPAN == self->original.time;
  gst_segment_copy_into (&self->original, &original);
  g_mutex_unlock (&self->lock);
  if (ours)
    replace_segment (info, &original);
  return GST_PAD_PROBE_OK;
}

/* A frame the decoder would have clipped without the wider segment is
 * kept and goes no further; the first one it would have let through is
 * kept too (stepping forward again shows it) and goes on. */
static GstPadProbeReturn
keep_frame (CustosPlayerFrames *self, GstPad *pad, GstPadProbeInfo *info)
{
  GstBuffer   *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime pts = GST_BUFFER_PTS (buffer), duration = GST_BUFFER_DURATION (buffer);
  g_autoptr (GstCaps) caps = NULL;
  gboolean before;

  g_mutex_lock (&self->lock);
  if (!self->widened || self->have_target || !GST_CLOCK_TIME_IS_VALID (pts))
    {
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }
  /* The decoder's own test (GstVideoDecoder clips output so). */
  before = !gst_segment_clip (
      &self->original, GST_FORMAT_TIME, pts,
      GST_CLOCK_TIME_IS_VALID (duration) ? pts + duration : GST_CLOCK_TIME_NONE, NULL, NULL);
  caps = gst_pad_get_current_caps (pad);
  if (caps != NULL)
    {
      /* A copy: the decoder's pool may be bounded. */
      g_autoptr (GstBuffer) copy = gst_buffer_copy_deep (buffer);

      g_queue_push_tail (&self->samples, gst_sample_new (copy, caps, NULL, NULL));
      self->bytes += gst_buffer_get_size (copy);
      while (g_queue_get_length (&self->samples) > MAX_BEFORE + (before ? 0 : 1) ||
             (self->bytes > MAX_BYTES && g_queue_get_length (&self->samples) > 1))
        drop_oldest (self);
    }
  self->have_target = !before;
  g_mutex_unlock (&self->lock);
  return before ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_decoded (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    return keep_frame (user_data, pad, info);
  return restore_segment (user_data, info);
}

void
custos_player_frames_attach (CustosPlayerFrames *self, GstElement *decoder)
{
  g_autoptr (GstPad) sink = gst_element_get_static_pad (decoder, "sink");
  g_autoptr (GstPad) src = gst_element_get_static_pad (decoder, "src");

  if (sink == NULL || src == NULL)
    return;
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, widen_segment,
                     custos_player_frames_ref (self), (GDestroyNotify) custos_player_frames_unref);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_BUFFER,
                     on_decoded, custos_player_frames_ref (self),
                     (GDestroyNotify) custos_player_frames_unref);
}

GPtrArray *
custos_player_frames_get (CustosPlayerFrames *self)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_sample_unref);

  g_mutex_lock (&self->lock);
  for (GList *l = self->samples.head; l != NULL; l = l->next)
    g_ptr_array_add (samples, gst_sample_ref (l->data));
  g_mutex_unlock (&self->lock);
  return samples;
}

static gboolean
convert (GstBuffer *buffer, GstVideoInfo *in_info, GstVideoInfo *out_info, guint8 *data)
{
  g_autoptr (GstBuffer) out = gst_buffer_new_wrapped_full (
      0, data, GST_VIDEO_INFO_SIZE (out_info), 0, GST_VIDEO_INFO_SIZE (out_info), NULL, NULL);
  GstVideoFrame      in_frame, out_frame;
  GstVideoConverter *converter;

  if (!gst_video_frame_map (&in_frame, in_info, buffer, GST_MAP_READ))
    return FALSE;
  if (!gst_video_frame_map (&out_frame, out_info, out, GST_MAP_WRITE))
    {
      gst_video_frame_unmap (&in_frame);
      return FALSE;
    }
  converter =
      gst_video_converter_new (in_info, out_info,
                               gst_structure_new ("options", GST_VIDEO_CONVERTER_OPT_THREADS,
                                                  G_TYPE_UINT, g_get_num_processors (), NULL));
  if (converter != NULL)
    {
      gst_video_converter_frame (converter, &in_frame, &out_frame);
      gst_video_converter_free (converter);
    }
  gst_video_frame_unmap (&out_frame);
  gst_video_frame_unmap (&in_frame);
  return converter != NULL;
}

gboolean
custos_player_frames_show (GstSample *sample, CustosVideoPaintable *paintable)
{
  GstBuffer         *buffer = gst_sample_get_buffer (sample);
  GstCaps           *caps = gst_sample_get_caps (sample);
  GstVideoInfo       in_info, out_info;
  g_autofree guint8 *data = NULL;
  g_autoptr (GBytes) bytes = NULL;
  double par;

  if (buffer == NULL || caps == NULL || !gst_video_info_from_caps (&in_info, caps) ||
      !gst_video_info_set_format (&out_info, SHOWN_FORMAT, GST_VIDEO_INFO_WIDTH (&in_info),
                                  GST_VIDEO_INFO_HEIGHT (&in_info)))
    return FALSE;
  /* The converter wants them alike; only the format changes. */
  GST_VIDEO_INFO_PAR_N (&out_info) = GST_VIDEO_INFO_PAR_N (&in_info);
  GST_VIDEO_INFO_PAR_D (&out_info) = GST_VIDEO_INFO_PAR_D (&in_info);
  GST_VIDEO_INFO_FPS_N (&out_info) = GST_VIDEO_INFO_FPS_N (&in_info);
  GST_VIDEO_INFO_FPS_D (&out_info) = GST_VIDEO_INFO_FPS_D (&in_info);
  GST_VIDEO_INFO_INTERLACE_MODE (&out_info) = GST_VIDEO_INFO_INTERLACE_MODE (&in_info);
  data = g_malloc (GST_VIDEO_INFO_SIZE (&out_info));
  if (!convert (buffer, &in_info, &out_info, data))
    return FALSE;
  bytes = g_bytes_new_take (g_steal_pointer (&data), GST_VIDEO_INFO_SIZE (&out_info));
  par = GST_VIDEO_INFO_PAR_D (&in_info) > 0
            ? (double) GST_VIDEO_INFO_PAR_N (&in_info) / GST_VIDEO_INFO_PAR_D (&in_info)
            : 1.0;
  custos_video_paintable_set_frame_bytes (
      paintable, GST_VIDEO_INFO_WIDTH (&out_info), GST_VIDEO_INFO_HEIGHT (&out_info),
      SHOWN_FORMAT == GST_VIDEO_FORMAT_BGRA ? GDK_MEMORY_B8G8R8A8_PREMULTIPLIED
                                            : GDK_MEMORY_A8R8G8B8_PREMULTIPLIED,
      bytes, GST_VIDEO_INFO_PLANE_STRIDE (&out_info, 0), par);
  return TRUE;
}
