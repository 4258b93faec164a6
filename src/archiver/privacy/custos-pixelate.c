/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <string.h>

#include "custos-motion-mask.h"
#include "custos-pixelate.h"

GST_DEBUG_CATEGORY_STATIC (custos_pixelate_debug);
#define GST_CAT_DEFAULT custos_pixelate_debug

#define DEFAULT_BLOCK 16
#define MIN_BLOCK 2
#define MAX_BLOCK 256
/* regions=motion: a square stays hidden this long after it last moved. */
#define HOLD_FRAMES 30

struct _CustosPixelate
{
  GstVideoFilter parent_instance;

  guint                 block;
  CustosPixelateMode    mode;
  CustosPixelateRegions regions;
  CustosMotionMask     *motion;  /* regions=motion */
  guint8               *scratch; /* regions=motion: the transformed plane */
  gsize                 scratch_size;
  guint32              *sums; /* blur: running sums of one row or column */
  gsize                 n_sums;
};

enum
{
  PROP_0,
  PROP_BLOCK_SIZE,
  PROP_MODE,
  PROP_REGIONS,
};

G_DEFINE_FINAL_TYPE (CustosPixelate, custos_pixelate, GST_TYPE_VIDEO_FILTER)

static GType
custos_pixelate_mode_get_type (void)
{
  static GType            type = 0;
  static const GEnumValue values[] = {
    { CUSTOS_PIXELATE_MODE_PIXELATE, "Average colour of each square", "pixelate" },
    { CUSTOS_PIXELATE_MODE_BLUR, "Box blur", "blur" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("CustosPixelateMode", values));
  return type;
}

static GType
custos_pixelate_regions_get_type (void)
{
  static GType            type = 0;
  static const GEnumValue values[] = {
    { CUSTOS_PIXELATE_REGIONS_WHOLE, "The whole picture", "whole" },
    { CUSTOS_PIXELATE_REGIONS_MOTION, "Where something moved", "motion" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("CustosPixelateRegions", values));
  return type;
}

/* One plane: every b × b square becomes its average. */
static void
pixelate_plane (guint8 *data, gint stride, gint width, gint height, guint b)
{
  for (gint y0 = 0; y0 < height; y0 += b)
    for (gint x0 = 0; x0 < width; x0 += b)
      {
        gint    y1 = MIN (y0 + (gint) b, height);
        gint    x1 = MIN (x0 + (gint) b, width);
        guint64 sum = 0;
        guint8  mean;

        for (gint y = y0; y < y1; y++)
          for (gint x = x0; x < x1; x++)
            sum += data[y * stride + x];
        mean = (guint8) ((sum + (guint64) ((y1 - y0) * (x1 - x0)) / 2) /
                         (guint64) ((y1 - y0) * (x1 - x0)));
        for (gint y = y0; y < y1; y++)
          memset (data + y * stride + x0, mean, x1 - x0);
      }
}

/* A box blur of radius r along one line of n samples, step apart. */
static void
blur_line (guint8 *line, gint n, gint step, gint r, guint32 *prefix)
{
  prefix[0] = 0;
  for (gint i = 0; i < n; i++)
    prefix[i + 1] = prefix[i] + line[i * step];
  for (gint i = 0; i < n; i++)
    {
      gint a = MAX (i - r, 0);
      gint z = MIN (i + r + 1, n);

      line[i * step] = (guint8) ((prefix[z] - prefix[a]) / (guint32) (z - a));
    }
}

static void
blur_plane (CustosPixelate *self, guint8 *data, gint stride, gint width, gint height, guint r)
{
  gsize need = (gsize) MAX (width, height) + 1;

  if (self->n_sums < need)
    {
      g_free (self->sums);
      g_free (self->scratch);
      custos_motion_mask_free (self->motion);
      self->sums = g_new (guint32, need);
      self->n_sums = need;
    }
  for (gint y = 0; y < height; y++)
    blur_line (data + y * stride, width, 1, (gint) r, self->sums);
  for (gint x = 0; x < width; x++)
    blur_line (data + x, height, stride, (gint) r, self->sums);
}

static void
transform_plane (CustosPixelate *self, guint8 *data, gint stride, gint width, gint height, guint b)
{
  if (self->mode == CUSTOS_PIXELATE_MODE_BLUR)
    {
      /* Three passes of a box blur come close to a Gaussian. */
      for (guint i = 0; i < 3; i++)
        blur_plane (self, data, stride, width, height, b);
    }
  else
    pixelate_plane (data, stride, width, height, b);
}

/* regions=motion: the plane is transformed in a copy, and only the
 * squares of the mask are copied back. */
static void
transform_masked (CustosPixelate *self, guint8 *data, gint stride, gint width, gint height, guint b,
                  const guint8 *mask, guint cols, guint rows)
{
  gsize size = (gsize) stride * height;

  if (self->scratch_size < size)
    {
      g_free (self->scratch);
      self->scratch = g_malloc (size);
      self->scratch_size = size;
    }
  memcpy (self->scratch, data, size);
  transform_plane (self, self->scratch, stride, width, height, b);
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < cols; c++)
      {
        gint x0 = (gint) (c * b), y0 = (gint) (r * b);

        if (!mask[r * cols + c] || x0 >= width || y0 >= height)
          continue;
        for (gint y = y0; y < MIN (y0 + (gint) b, height); y++)
          memcpy (data + y * stride + x0, self->scratch + y * stride + x0,
                  MIN ((gint) b, width - x0));
      }
}

static GstFlowReturn
custos_pixelate_transform_frame_ip (GstVideoFilter *filter, GstVideoFrame *frame)
{
  CustosPixelate *self = CUSTOS_PIXELATE (filter);
  const guint8   *mask = NULL;
  guint           cols = 0, rows = 0;

  GST_LOG_OBJECT (
      self, "%s of %s, block %u", self->mode == CUSTOS_PIXELATE_MODE_BLUR ? "blur" : "pixelate",
      self->regions == CUSTOS_PIXELATE_REGIONS_MOTION ? "moving squares" : "all", self->block);
  GST_OBJECT_LOCK (self);
  if (self->regions == CUSTOS_PIXELATE_REGIONS_MOTION)
    {
      if (self->motion == NULL)
        self->motion = custos_motion_mask_new (self->block, HOLD_FRAMES);
      mask = custos_motion_mask_update (self->motion, GST_VIDEO_FRAME_PLANE_DATA (frame, 0),
                                        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0),
                                        GST_VIDEO_FRAME_COMP_WIDTH (frame, 0),
                                        GST_VIDEO_FRAME_COMP_HEIGHT (frame, 0), &cols, &rows);
    }
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (frame); p++)
    {
      guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, p);
      gint    stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, p);
      gint    width = GST_VIDEO_FRAME_COMP_WIDTH (frame, p);
      gint    height = GST_VIDEO_FRAME_COMP_HEIGHT (frame, p);
      /* Chroma is subsampled by 2: half the size covers the same square. */
      guint b = p == 0 ? self->block : MAX (self->block / 2, 1);

      if (mask != NULL)
        transform_masked (self, data, stride, width, height, b, mask, cols, rows);
      else
        transform_plane (self, data, stride, width, height, b);
    }
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

static void
custos_pixelate_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  CustosPixelate *self = CUSTOS_PIXELATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_BLOCK_SIZE:
      self->block = g_value_get_uint (value);
      g_clear_pointer (&self->motion, custos_motion_mask_free);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_REGIONS:
      self->regions = g_value_get_enum (value);
      g_clear_pointer (&self->motion, custos_motion_mask_free);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  GST_OBJECT_UNLOCK (self);
}

static void
custos_pixelate_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosPixelate *self = CUSTOS_PIXELATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_BLOCK_SIZE:
      g_value_set_uint (value, self->block);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_REGIONS:
      g_value_set_enum (value, self->regions);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  GST_OBJECT_UNLOCK (self);
}

static void
custos_pixelate_finalize (GObject *object)
{
  CustosPixelate *self = CUSTOS_PIXELATE (object);

  g_free (self->sums);
  G_OBJECT_CLASS (custos_pixelate_parent_class)->finalize (object);
}

static void
custos_pixelate_class_init (CustosPixelateClass *klass)
{
  GObjectClass        *object_class = G_OBJECT_CLASS (klass);
  GstElementClass     *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);
  g_autoptr (GstCaps) caps = gst_caps_from_string ("video/x-raw, format=(string)I420");

  object_class->set_property = custos_pixelate_set_property;
  object_class->get_property = custos_pixelate_get_property;
  object_class->finalize = custos_pixelate_finalize;
  filter_class->transform_frame_ip = custos_pixelate_transform_frame_ip;

  g_object_class_install_property (
      object_class, PROP_BLOCK_SIZE,
      g_param_spec_uint ("block-size", "Block size",
                         "Side of the squares (pixelate) or blur radius, in pixels", MIN_BLOCK,
                         MAX_BLOCK, DEFAULT_BLOCK, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (
      object_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "How the picture is made unrecognisable",
                         custos_pixelate_mode_get_type (), CUSTOS_PIXELATE_MODE_PIXELATE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (
      object_class, PROP_REGIONS,
      g_param_spec_enum ("regions", "Regions",
                         "What is transformed: the whole picture, or where "
                         "something moved",
                         custos_pixelate_regions_get_type (), CUSTOS_PIXELATE_REGIONS_WHOLE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  gst_element_class_add_pad_template (
      element_class, gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (
      element_class, gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_element_class_set_static_metadata (element_class, "Custos pixelate", "Filter/Effect/Video",
                                         "Pixelates or blurs the whole picture",
                                         "The Custos authors");
}

static void
custos_pixelate_init (CustosPixelate *self)
{
  self->block = DEFAULT_BLOCK;
  self->mode = CUSTOS_PIXELATE_MODE_PIXELATE;
}

gboolean
custos_pixelate_register (void)
{
  GST_DEBUG_CATEGORY_INIT (custos_pixelate_debug, "custospixelate", 0,
                           "Custos privacy protector's pixelate/blur filter");
  return gst_element_register (NULL, "custospixelate", GST_RANK_NONE, CUSTOS_TYPE_PIXELATE);
}
