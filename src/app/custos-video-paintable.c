/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-video"

#include "config.h"

#include <math.h>

#include "custos-video-paintable.h"

struct _CustosVideoPaintable
{
  GObject          parent_instance;

  GdkTexture      *texture;
  double           pixel_aspect_ratio;
  /* The same pixels for cairo, when they are in its layout (else NULL). */
  cairo_surface_t *surface;
  gboolean         software;
};

static void custos_video_paintable_iface_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosVideoPaintable, custos_video_paintable, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      custos_video_paintable_iface_init))

/* GdkPaintable */

/* GTK 4.8's cairo renderer copies a texture into a new surface at each
 * paint and scales it with CAIRO_FILTER_GOOD, a convolution that costs
 * tens of milliseconds for a 1080p frame. A cairo node is replayed from
 * the frame's own pixels, scaled bilinearly (as the GL renderer scales
 * textures). */
static void
snapshot_cairo (CustosVideoPaintable *self,
                GdkSnapshot          *snapshot,
                double                width,
                double                height)
{
  cairo_t *cr = gtk_snapshot_append_cairo (GTK_SNAPSHOT (snapshot),
                                           &GRAPHENE_RECT_INIT (0, 0, width, height));
  int      frame_width = cairo_image_surface_get_width (self->surface);
  int      frame_height = cairo_image_surface_get_height (self->surface);

  if (frame_width > 0 && frame_height > 0)
    {
      cairo_scale (cr, width / frame_width, height / frame_height);
      cairo_set_source_surface (cr, self->surface, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
      cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
      cairo_rectangle (cr, 0, 0, frame_width, frame_height);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
}

static void
custos_video_paintable_snapshot (GdkPaintable *paintable,
                                 GdkSnapshot  *snapshot,
                                 double        width,
                                 double        height)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (paintable);

  /* GtkPicture has already fitted width × height to the aspect ratio. */
  if (self->software && self->surface != NULL)
    snapshot_cairo (self, snapshot, width, height);
  else if (self->texture != NULL)
    gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, width, height);
}

static GdkPaintable *
custos_video_paintable_get_current_image (GdkPaintable *paintable)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (paintable);

  if (self->texture != NULL)
    return GDK_PAINTABLE (g_object_ref (self->texture));
  return gdk_paintable_new_empty (0, 0);
}

/* The width a frame is shown at: non-square pixels stretch it. */
static int
custos_video_paintable_get_intrinsic_width (GdkPaintable *paintable)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (paintable);

  if (self->texture == NULL)
    return 0;
  return (int) lround (gdk_texture_get_width (self->texture) * self->pixel_aspect_ratio);
}

static int
custos_video_paintable_get_intrinsic_height (GdkPaintable *paintable)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (paintable);

  return self->texture != NULL ? gdk_texture_get_height (self->texture) : 0;
}

static double
custos_video_paintable_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (paintable);

  if (self->texture == NULL || gdk_texture_get_height (self->texture) == 0)
    return 0.0;
  return gdk_texture_get_width (self->texture) * self->pixel_aspect_ratio /
         gdk_texture_get_height (self->texture);
}

static void
custos_video_paintable_iface_init (GdkPaintableInterface *iface)
{
  iface->snapshot = custos_video_paintable_snapshot;
  iface->get_current_image = custos_video_paintable_get_current_image;
  iface->get_intrinsic_width = custos_video_paintable_get_intrinsic_width;
  iface->get_intrinsic_height = custos_video_paintable_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = custos_video_paintable_get_intrinsic_aspect_ratio;
}

/* GObject */

static void
custos_video_paintable_dispose (GObject *object)
{
  CustosVideoPaintable *self = CUSTOS_VIDEO_PAINTABLE (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->surface, cairo_surface_destroy);

  G_OBJECT_CLASS (custos_video_paintable_parent_class)->dispose (object);
}

static void
custos_video_paintable_class_init (CustosVideoPaintableClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = custos_video_paintable_dispose;
}

static void
custos_video_paintable_init (CustosVideoPaintable *self)
{
  self->pixel_aspect_ratio = 1.0;
}

CustosVideoPaintable *
custos_video_paintable_new (void)
{
  return g_object_new (CUSTOS_TYPE_VIDEO_PAINTABLE, NULL);
}

/* Whether a frame of this size replaces one of another size. */
static gboolean
size_changes (CustosVideoPaintable *self,
              GdkTexture           *texture,
              double                pixel_aspect_ratio)
{
  if ((self->texture == NULL) != (texture == NULL))
    return TRUE;
  if (texture == NULL)
    return FALSE;
  return gdk_texture_get_width (texture) != gdk_texture_get_width (self->texture) ||
         gdk_texture_get_height (texture) != gdk_texture_get_height (self->texture) ||
         fabs (pixel_aspect_ratio - self->pixel_aspect_ratio) > 1e-9;
}

void
custos_video_paintable_set_frame (CustosVideoPaintable *self,
                                  GdkTexture           *texture,
                                  double                pixel_aspect_ratio)
{
  gboolean resized;

  g_return_if_fail (CUSTOS_IS_VIDEO_PAINTABLE (self));
  g_return_if_fail (texture == NULL || GDK_IS_TEXTURE (texture));

  if (!(pixel_aspect_ratio > 0.0))
    pixel_aspect_ratio = 1.0;
  resized = size_changes (self, texture, pixel_aspect_ratio);
  g_set_object (&self->texture, texture);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  self->pixel_aspect_ratio = pixel_aspect_ratio;
  if (resized)
    gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

void
custos_video_paintable_clear (CustosVideoPaintable *self)
{
  custos_video_paintable_set_frame (self, NULL, 1.0);
}

GdkTexture *
custos_video_paintable_get_texture (CustosVideoPaintable *self)
{
  g_return_val_if_fail (CUSTOS_IS_VIDEO_PAINTABLE (self), NULL);

  return self->texture;
}

static const cairo_user_data_key_t bytes_key;

/* Cairo reads the frame where it is; the surface keeps its bytes alive.
 * Only cairo's own layout qualifies: opaque video in premultiplied ARGB32
 * of the machine's byte order, rows 4-byte aligned. */
static cairo_surface_t *
surface_for (int             width,
             int             height,
             GdkMemoryFormat format,
             GBytes         *bytes,
             gsize           stride)
{
  cairo_surface_t *surface;

  if (format != GDK_MEMORY_DEFAULT || stride % 4 != 0 || stride > G_MAXINT ||
      stride < (gsize) cairo_format_stride_for_width (CAIRO_FORMAT_RGB24, width) ||
      g_bytes_get_size (bytes) < stride * height)
    return NULL;
  surface = cairo_image_surface_create_for_data ((guchar *) g_bytes_get_data (bytes, NULL),
                                                 CAIRO_FORMAT_RGB24, width, height, (int) stride);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS ||
      cairo_surface_set_user_data (surface, &bytes_key, g_bytes_ref (bytes),
                                   (cairo_destroy_func_t) g_bytes_unref) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      return NULL;
    }
  return surface;
}

void
custos_video_paintable_set_frame_bytes (CustosVideoPaintable *self,
                                        int                   width,
                                        int                   height,
                                        GdkMemoryFormat       format,
                                        GBytes               *bytes,
                                        gsize                 stride,
                                        double                pixel_aspect_ratio)
{
  g_autoptr (GdkTexture) texture = NULL;

  g_return_if_fail (CUSTOS_IS_VIDEO_PAINTABLE (self));
  g_return_if_fail (bytes != NULL);

  /* Wraps the bytes: nothing is copied until a renderer uploads it. */
  texture = gdk_memory_texture_new (width, height, format, bytes, stride);
  custos_video_paintable_set_frame (self, texture, pixel_aspect_ratio);
  self->surface = surface_for (width, height, format, bytes, stride);
}

void
custos_video_paintable_set_software (CustosVideoPaintable *self,
                                     gboolean              software)
{
  g_return_if_fail (CUSTOS_IS_VIDEO_PAINTABLE (self));

  if (self->software == !!software)
    return;
  self->software = !!software;
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}
