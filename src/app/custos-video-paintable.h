/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosVideoPaintable: the current video frame as a GdkPaintable, for a
 * GtkPicture. CustosVideoSink hands it frames on the main thread; its
 * intrinsic size is the frame's display size (width scaled by the pixel
 * aspect ratio), so GtkPicture keeps the picture's proportions.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_VIDEO_PAINTABLE (custos_video_paintable_get_type ())

G_DECLARE_FINAL_TYPE (CustosVideoPaintable, custos_video_paintable, CUSTOS, VIDEO_PAINTABLE,
                      GObject)

CustosVideoPaintable *custos_video_paintable_new         (void);
/* Main thread only. pixel_aspect_ratio is width over height of a pixel. */
void                  custos_video_paintable_set_frame   (CustosVideoPaintable *self,
                                                          GdkTexture           *texture,
                                                          double                pixel_aspect_ratio);
/* The frame's pixels as they are (bytes: height rows of stride bytes),
 * shown without a copy. */
void                  custos_video_paintable_set_frame_bytes (CustosVideoPaintable *self,
                                                              int                   width,
                                                              int                   height,
                                                              GdkMemoryFormat       format,
                                                              GBytes               *bytes,
                                                              gsize                 stride,
                                                              double                pixel_aspect_ratio);
/* Whether the widget showing it paints with cairo (GskCairoRenderer):
 * frames are then drawn from their own pixels, scaled bilinearly. */
void                  custos_video_paintable_set_software    (CustosVideoPaintable *self,
                                                              gboolean              software);
/* Shows nothing again (the intrinsic size is then 0). */
void                  custos_video_paintable_clear       (CustosVideoPaintable *self);
/* The frame shown now, or NULL. */
GdkTexture           *custos_video_paintable_get_texture (CustosVideoPaintable *self);

G_END_DECLS
