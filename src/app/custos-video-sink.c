/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-video"

#include "config.h"

#include <gst/video/video.h>

#include "custos-video-sink.h"

GST_DEBUG_CATEGORY_STATIC (custos_video_sink_debug);
#define GST_CAT_DEFAULT custos_video_sink_debug

/* A mapped frame, kept mapped for as long as a texture shows it. */
typedef struct
{
  GstVideoFrame   frame;
  GdkMemoryFormat format;
  double          pixel_aspect_ratio;
} Frame;

struct _CustosVideoSink
{
  GstVideoSink          parent_instance;

  CustosVideoPaintable *paintable;   /* main thread */

  GMutex                lock;
  GstVideoInfo          info;
  gboolean              have_info;
  Frame                *pending;     /* newest frame not yet shown */
  GSource              *idle;        /* delivering it on the main context */
};

enum
{
  PROP_0,
  PROP_PAINTABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Cairo's own layout (premultiplied ARGB32 in native byte order) first:
 * GTK then paints a frame without converting its pixels. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define NATIVE_FORMATS "{ BGRA, RGBA }"
#else
#define NATIVE_FORMATS "{ ARGB, BGRA, RGBA }"
#endif

static GstStaticPadTemplate sink_template =
  GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                           GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (NATIVE_FORMATS)));

G_DEFINE_FINAL_TYPE (CustosVideoSink, custos_video_sink, GST_TYPE_VIDEO_SINK)

/* Frames */

static void
frame_free (Frame *frame)
{
  gst_video_frame_unmap (&frame->frame);
  g_free (frame);
}

/* Decoded camera video is opaque (alpha 255), and for opaque pixels
 * straight and premultiplied alpha are the same bytes: saying
 * "premultiplied" spares GTK a conversion of every pixel at each paint
 * (its native format is premultiplied). */
static GdkMemoryFormat
memory_format (GstVideoFormat format)
{
  switch (format)
    {
    case GST_VIDEO_FORMAT_BGRA:
      return GDK_MEMORY_B8G8R8A8_PREMULTIPLIED;
    case GST_VIDEO_FORMAT_ARGB:
      return GDK_MEMORY_A8R8G8B8_PREMULTIPLIED;
    default:
      return GDK_MEMORY_R8G8B8A8_PREMULTIPLIED;
    }
}

/* The paintable owns the frame: its bytes free it, and with it the buffer. */
static void
frame_show (Frame                *frame,
            CustosVideoPaintable *paintable)
{
  GstVideoFrame *vf = &frame->frame;
  gsize stride = GST_VIDEO_FRAME_PLANE_STRIDE (vf, 0);
  int width = GST_VIDEO_FRAME_WIDTH (vf), height = GST_VIDEO_FRAME_HEIGHT (vf);
  GdkMemoryFormat format = frame->format;
  double par = frame->pixel_aspect_ratio;
  g_autoptr (GBytes) bytes = g_bytes_new_with_free_func (GST_VIDEO_FRAME_PLANE_DATA (vf, 0),
                                                         stride * height,
                                                         (GDestroyNotify) frame_free, frame);

  custos_video_paintable_set_frame_bytes (paintable, width, height, format, bytes, stride, par);
}

/* The main context */

static gboolean
deliver (gpointer user_data)
{
  CustosVideoSink *self = user_data;
  Frame *frame;

  g_mutex_lock (&self->lock);
  frame = g_steal_pointer (&self->pending);
  g_clear_pointer (&self->idle, g_source_unref);
  g_mutex_unlock (&self->lock);
  if (frame == NULL)
    return G_SOURCE_REMOVE;
  frame_show (frame, self->paintable);
  return G_SOURCE_REMOVE;
}

/* An idle source on the default context, not g_main_context_invoke():
 * invoke runs the function right here when no thread owns the context,
 * and this is a streaming thread. */
static void
schedule_delivery (CustosVideoSink *self)
{
  if (self->idle != NULL)
    return;
  self->idle = g_idle_source_new ();
  g_source_set_priority (self->idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->idle, deliver, gst_object_ref (self), gst_object_unref);
  g_source_attach (self->idle, NULL);
}

/* GstVideoSink */

static gboolean
custos_video_sink_set_info (GstVideoSink *sink,
                            GstCaps      *caps,
                            const GstVideoInfo *info)
{
  CustosVideoSink *self = CUSTOS_VIDEO_SINK (sink);

  GST_DEBUG_OBJECT (self, "%" GST_PTR_FORMAT, caps);
  g_mutex_lock (&self->lock);
  self->info = *info;
  self->have_info = TRUE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static Frame *
map_frame (CustosVideoSink *self,
           GstBuffer       *buffer)
{
  Frame *frame = g_new0 (Frame, 1);
  GstVideoInfo info;

  gboolean have_info;

  g_mutex_lock (&self->lock);
  info = self->info;
  have_info = self->have_info;
  g_mutex_unlock (&self->lock);
  if (!have_info || !gst_video_frame_map (&frame->frame, &info, buffer, GST_MAP_READ))
    {
      g_free (frame);
      return NULL;
    }
  frame->format = memory_format (GST_VIDEO_INFO_FORMAT (&info));
  frame->pixel_aspect_ratio = GST_VIDEO_INFO_PAR_D (&info) > 0 ?
                              (double) GST_VIDEO_INFO_PAR_N (&info) / GST_VIDEO_INFO_PAR_D (&info) :
                              1.0;
  return frame;
}

static GstFlowReturn
custos_video_sink_show_frame (GstVideoSink *sink,
                              GstBuffer    *buffer)
{
  CustosVideoSink *self = CUSTOS_VIDEO_SINK (sink);
  Frame *frame = map_frame (self, buffer);

  if (frame == NULL)
    {
      GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot read a video frame."), (NULL));
      return GST_FLOW_ERROR;
    }
  g_mutex_lock (&self->lock);
  /* Only the newest frame is worth showing. */
  g_clear_pointer (&self->pending, frame_free);
  self->pending = frame;
  schedule_delivery (self);
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static gboolean
custos_video_sink_stop (GstBaseSink *sink)
{
  CustosVideoSink *self = CUSTOS_VIDEO_SINK (sink);

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->pending, frame_free);
  self->have_info = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
custos_video_sink_propose_allocation (GstBaseSink *sink,
                                      GstQuery    *query)
{
  /* Strides and offsets come from the video meta; no copies upstream. */
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return TRUE;
}

/* GObject */

static void
custos_video_sink_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  CustosVideoSink *self = CUSTOS_VIDEO_SINK (object);

  switch (prop_id)
    {
    case PROP_PAINTABLE:
      g_value_set_object (value, self->paintable);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_video_sink_finalize (GObject *object)
{
  CustosVideoSink *self = CUSTOS_VIDEO_SINK (object);

  /* A pending delivery holds a reference: none is left here. */
  g_clear_pointer (&self->pending, frame_free);
  g_clear_pointer (&self->idle, g_source_unref);
  g_clear_object (&self->paintable);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (custos_video_sink_parent_class)->finalize (object);
}

static void
custos_video_sink_class_init (CustosVideoSinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);
  GstVideoSinkClass *video_sink_class = GST_VIDEO_SINK_CLASS (klass);

  object_class->get_property = custos_video_sink_get_property;
  object_class->finalize = custos_video_sink_finalize;
  base_sink_class->stop = custos_video_sink_stop;
  base_sink_class->propose_allocation = custos_video_sink_propose_allocation;
  video_sink_class->set_info = custos_video_sink_set_info;
  video_sink_class->show_frame = custos_video_sink_show_frame;

  properties[PROP_PAINTABLE] =
    g_param_spec_object ("paintable", NULL, NULL, GDK_TYPE_PAINTABLE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "Custos video sink", "Sink/Video",
                                         "Shows video frames in a GdkPaintable",
                                         "The Custos authors");
  GST_DEBUG_CATEGORY_INIT (custos_video_sink_debug, "custosvideosink", 0, "Custos video sink");
}

static void
custos_video_sink_init (CustosVideoSink *self)
{
  g_mutex_init (&self->lock);
  self->paintable = custos_video_paintable_new ();
}

gboolean
custos_video_sink_register (void)
{
  return gst_element_register (NULL, "custosvideosink", GST_RANK_NONE, CUSTOS_TYPE_VIDEO_SINK);
}

GstElement *
custos_video_sink_new (void)
{
  return g_object_new (CUSTOS_TYPE_VIDEO_SINK, NULL);
}

CustosVideoPaintable *
custos_video_sink_get_paintable (CustosVideoSink *self)
{
  g_return_val_if_fail (CUSTOS_IS_VIDEO_SINK (self), NULL);

  return self->paintable;
}

GstElement *
custos_video_sink_bin_new (CustosVideoSink **sink_out)
{
  GstElement *bin = gst_bin_new (NULL);
  GstElement *convert = gst_element_factory_make ("videoconvert", NULL);
  GstElement *sink = custos_video_sink_new ();
  g_autoptr (GstPad) pad = NULL;

  if (convert == NULL)
    {
      gst_object_unref (gst_object_ref_sink (sink));
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  /* Only the frames shown are converted (the decoder clips those before a
   * seek's target): all cores make the one after a seek due sooner. */
  g_object_set (convert, "n-threads", 0, NULL);
  gst_bin_add_many (GST_BIN (bin), convert, sink, NULL);
  gst_element_link (convert, sink);
  pad = gst_element_get_static_pad (convert, "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", pad));
  if (sink_out != NULL)
    *sink_out = CUSTOS_VIDEO_SINK (sink);
  return bin;
}
