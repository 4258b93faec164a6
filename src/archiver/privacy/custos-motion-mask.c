/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <string.h>

#include "custos-motion-mask.h"

/* A square's mean luma that moves by more than this is motion. */
#define THRESHOLD 6.0
/* How fast the background follows the picture (per frame). */
#define LEARN 0.05

struct _CustosMotionMask
{
  guint   block;
  guint   hold;
  guint   cols;
  guint   rows;
  double *background; /* mean luma per square; NULL before the first frame */
  guint  *left;       /* frames the square stays marked */
  guint8 *mask;
};

CustosMotionMask *
custos_motion_mask_new (guint block, guint hold)
{
  CustosMotionMask *self = g_new0 (CustosMotionMask, 1);

  self->block = MAX (block, 1);
  self->hold = MAX (hold, 1);
  return self;
}

void
custos_motion_mask_free (CustosMotionMask *self)
{
  if (self == NULL)
    return;
  g_free (self->background);
  g_free (self->left);
  g_free (self->mask);
  g_free (self);
}

static void
reset (CustosMotionMask *self, guint cols, guint rows)
{
  self->cols = cols;
  self->rows = rows;
  g_clear_pointer (&self->background, g_free);
  g_free (self->left);
  g_free (self->mask);
  self->left = g_new0 (guint, (gsize) cols * rows);
  self->mask = g_new0 (guint8, (gsize) cols * rows);
}

static double
square_mean (const guint8 *luma, gint stride, gint x0, gint y0, gint x1, gint y1)
{
  guint64 sum = 0;

  for (gint y = y0; y < y1; y++)
    for (gint x = x0; x < x1; x++)
      sum += luma[y * stride + x];
  return (double) sum / (double) ((x1 - x0) * (y1 - y0));
}

/* Marks squares whose mean left the background; learns the background. */
static void
detect (CustosMotionMask *self, const guint8 *luma, gint stride, gint width, gint height)
{
  gboolean first = self->background == NULL;

  if (first)
    self->background = g_new0 (double, (gsize) self->cols * self->rows);
  for (guint r = 0; r < self->rows; r++)
    for (guint c = 0; c < self->cols; c++)
      {
        gint    x0 = (gint) (c * self->block), y0 = (gint) (r * self->block);
        double  mean = square_mean (luma, stride, x0, y0, MIN (x0 + (gint) self->block, width),
                                    MIN (y0 + (gint) self->block, height));
        double *bg = &self->background[r * self->cols + c];
        guint  *left = &self->left[r * self->cols + c];

        if (first)
          *bg = mean;
        if (*left > 0)
          (*left)--;
        if (ABS (mean - *bg) > THRESHOLD)
          *left = self->hold;
        *bg += (mean - *bg) * LEARN;
      }
}

/* A square is hidden when it or a neighbour is marked. */
static void
dilate (CustosMotionMask *self)
{
  for (guint r = 0; r < self->rows; r++)
    for (guint c = 0; c < self->cols; c++)
      {
        gboolean hide = FALSE;

        for (gint dr = -1; dr <= 1 && !hide; dr++)
          for (gint dc = -1; dc <= 1 && !hide; dc++)
            {
              gint rr = (gint) r + dr, cc = (gint) c + dc;

              hide = rr >= 0 && cc >= 0 && rr < (gint) self->rows && cc < (gint) self->cols &&
                     self->left[rr * self->cols + cc] > 0;
            }
        self->mask[r * self->cols + c] = hide;
      }
}

const guint8 *
custos_motion_mask_update (CustosMotionMask *self, const guint8 *luma, gint stride, gint width,
                           gint height, guint *cols, guint *rows)
{
  guint c = (guint) (width + (gint) self->block - 1) / self->block;
  guint r = (guint) (height + (gint) self->block - 1) / self->block;

  if (c != self->cols || r != self->rows)
    reset (self, c, r);
  detect (self, luma, stride, width, height);
  dilate (self);
  *cols = self->cols;
  *rows = self->rows;
  return self->mask;
}
