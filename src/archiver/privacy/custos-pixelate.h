/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPixelate: a video filter that makes people and plates
 * unrecognisable, in place, on I420 frames:
 *
 *   mode=pixelate   every block-size × block-size square of the picture
 *                   becomes its average colour (the chroma planes use
 *                   half-size squares, so the squares line up);
 *   mode=blur       a box blur of radius block-size on every plane.
 *
 * regions=whole (the default) transforms the whole frame; regions=motion
 * only the squares where something moved lately, and their neighbours
 * (CustosMotionMask: weaker, since what never moves stays visible).
 * Squares start at the top left corner,
 * so with block-size 16 they are H.264 macroblocks and encode to almost
 * nothing.
 */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_PIXELATE_MODE_PIXELATE,
  CUSTOS_PIXELATE_MODE_BLUR,
} CustosPixelateMode;

typedef enum
{
  CUSTOS_PIXELATE_REGIONS_WHOLE,
  CUSTOS_PIXELATE_REGIONS_MOTION,
} CustosPixelateRegions;

#define CUSTOS_TYPE_PIXELATE (custos_pixelate_get_type ())

G_DECLARE_FINAL_TYPE (CustosPixelate, custos_pixelate, CUSTOS, PIXELATE, GstVideoFilter)

/* Registers the element as "custospixelate" (no plugin needed). */
gboolean
custos_pixelate_register (void);

G_END_DECLS
