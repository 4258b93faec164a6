/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos"

#include "config.h"

#include "custos-dts-synth.h"

#include <stdlib.h>

typedef struct
{
  gint64   pts;
  gint64   dts;
  gpointer data;
} Frame;

struct _CustosDtsSynth
{
  guint          window;
  GDestroyNotify data_free;
  GQueue         frames; /* Frame, decode order; the first `timed` have their DTS */
  guint          timed;
  int            depth;     /* -1 while learning */
  GArray        *top;       /* gint64: the depth + 1 largest PTS so far, ascending */
  guint64        assigned;  /* frames given a DTS */
  gint64         first_pts; /* the smallest PTS of the learning window */
  gint64         step;      /* one frame: the smallest gap between those PTS */
  gint64         last_dts;
};

CustosDtsSynth *
custos_dts_synth_new (guint window, GDestroyNotify data_free)
{
  CustosDtsSynth *self = g_new0 (CustosDtsSynth, 1);

  self->window = MAX (window, 1);
  self->data_free = data_free;
  g_queue_init (&self->frames);
  self->depth = -1;
  self->top = g_array_new (FALSE, FALSE, sizeof (gint64));
  return self;
}

static void
frame_free (CustosDtsSynth *self, Frame *frame)
{
  if (self->data_free != NULL && frame->data != NULL)
    self->data_free (frame->data);
  g_free (frame);
}

void
custos_dts_synth_free (CustosDtsSynth *self)
{
  Frame *frame;

  if (self == NULL)
    return;
  while ((frame = g_queue_pop_head (&self->frames)) != NULL)
    frame_free (self, frame);
  g_array_unref (self->top);
  g_free (self);
}

/* Keeps the depth + 1 largest PTS seen, ascending. */
static void
top_insert (CustosDtsSynth *self, gint64 pts)
{
  guint i = 0;

  while (i < self->top->len && g_array_index (self->top, gint64, i) < pts)
    i++;
  g_array_insert_val (self->top, i, pts);
  if (self->top->len > (guint) self->depth + 1)
    g_array_remove_index (self->top, 0);
}

/* Frame i (decode order) decodes at the (i - depth)-th smallest PTS: with
 * at most `depth` frames of reordering, no later frame shows earlier, so
 * that is the smallest of the depth + 1 largest PTS so far. The first
 * `depth` frames decode one frame apart before the first shown one. A
 * stream that reorders deeper later than it did in the learning window
 * would get a DTS above its PTS there; the DTS still never repeat. */
static void
assign (CustosDtsSynth *self, Frame *frame)
{
  gint64 dts;

  top_insert (self, frame->pts);
  if (self->assigned < (guint64) self->depth)
    dts = self->first_pts - (gint64) ((guint64) self->depth - self->assigned) * self->step;
  else
    dts = g_array_index (self->top, gint64, 0);
  if (self->assigned > 0 && dts <= self->last_dts)
    dts = self->last_dts + 1;
  frame->dts = dts;
  self->last_dts = dts;
  self->assigned++;
  self->timed++;
}

static int
compare_times (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The depth is the most frames that come before a frame in decode order
 * and after it in presentation order (H.264's num_reorder_frames). */
static void
learn (CustosDtsSynth *self)
{
  guint              n = self->frames.length;
  g_autofree gint64 *pts = g_new (gint64, MAX (n, 1));
  GList             *l = self->frames.head;
  int                depth = 0;

  for (guint i = 0; i < n; i++, l = l->next)
    {
      int later_shown = 0;

      pts[i] = ((Frame *) l->data)->pts;
      for (guint j = 0; j < i; j++)
        later_shown += pts[j] > pts[i];
      depth = MAX (depth, later_shown);
    }
  qsort (pts, n, sizeof (gint64), compare_times);
  self->first_pts = n > 0 ? pts[0] : 0;
  self->step = 0;
  for (guint i = 1; i < n; i++)
    if (pts[i] > pts[i - 1] && (self->step == 0 || pts[i] - pts[i - 1] < self->step))
      self->step = pts[i] - pts[i - 1];
  self->step = MAX (self->step, 1);
  self->depth = depth;
  for (l = self->frames.head; l != NULL; l = l->next)
    assign (self, l->data);
}

void
custos_dts_synth_push (CustosDtsSynth *self, gint64 pts_us, gpointer data)
{
  Frame *frame = g_new0 (Frame, 1);

  frame->pts = pts_us;
  frame->data = data;
  g_queue_push_tail (&self->frames, frame);
  if (self->depth >= 0)
    assign (self, frame);
  else if (self->frames.length >= self->window)
    learn (self);
}

void
custos_dts_synth_drain (CustosDtsSynth *self)
{
  if (self->depth < 0)
    learn (self);
}

gboolean
custos_dts_synth_pop (CustosDtsSynth *self, gint64 *pts_us, gint64 *dts_us, gpointer *data)
{
  Frame *frame;

  if (self->timed == 0)
    return FALSE;
  frame = g_queue_pop_head (&self->frames);
  self->timed--;
  if (pts_us != NULL)
    *pts_us = frame->pts;
  if (dts_us != NULL)
    *dts_us = frame->dts;
  if (data != NULL)
    *data = g_steal_pointer (&frame->data);
  frame_free (self, frame);
  return TRUE;
}

guint
custos_dts_synth_get_held (CustosDtsSynth *self)
{
  return self->frames.length;
}

int
custos_dts_synth_get_depth (CustosDtsSynth *self)
{
  return self->depth;
}
