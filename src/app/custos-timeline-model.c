/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-timeline"

#include "config.h"

#include "custos-timeline-model.h"

struct _CustosTimelineModel
{
  GObject parent_instance;

  GArray *recorded; /* CustosTimelineRange, sorted, merged */
  GArray *locked;   /* CustosTimelineRange, sorted, merged */
  GArray *verdicts; /* CustosVerdictRange, sorted, disjoint */
  gint64  frame_us;
};

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CustosTimelineModel, custos_timeline_model, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (CustosTimelineVerdict, custos_timeline_verdict,
                    G_DEFINE_ENUM_VALUE (CUSTOS_TIMELINE_UNKNOWN, "unknown"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_TIMELINE_VERIFIED, "verified"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_TIMELINE_NOT_SIGNED, "not-signed"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_TIMELINE_MISSING, "missing"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_TIMELINE_ALTERED, "altered"))

CustosTimelineVerdict
custos_timeline_verdict_from_string (const char *status)
{
  if (g_strcmp0 (status, "verified") == 0 || g_strcmp0 (status, "matched") == 0)
    return CUSTOS_TIMELINE_VERIFIED;
  if (g_strcmp0 (status, "not-signed") == 0)
    return CUSTOS_TIMELINE_NOT_SIGNED;
  if (g_strcmp0 (status, "missing") == 0)
    return CUSTOS_TIMELINE_MISSING;
  if (g_strcmp0 (status, "altered") == 0)
    return CUSTOS_TIMELINE_ALTERED;
  return CUSTOS_TIMELINE_UNKNOWN;
}

/* Ranges */

static int
compare_ranges (gconstpointer a, gconstpointer b)
{
  const CustosTimelineRange *ra = a, *rb = b;

  return ra->start_us < rb->start_us ? -1 : ra->start_us > rb->start_us;
}

/* Adds [start, end) and merges what overlaps or touches. */
static void
ranges_add (GArray *ranges, gint64 start_us, gint64 end_us)
{
  CustosTimelineRange r = { start_us, end_us };
  guint               out = 0;

  if (end_us <= start_us)
    return;
  g_array_append_val (ranges, r);
  g_array_sort (ranges, compare_ranges);
  for (guint i = 1; i < ranges->len; i++)
    {
      CustosTimelineRange *last = &g_array_index (ranges, CustosTimelineRange, out);
      CustosTimelineRange *next = &g_array_index (ranges, CustosTimelineRange, i);

      if (next->start_us <= last->end_us)
        last->end_us = MAX (last->end_us, next->end_us);
      else
        g_array_index (ranges, CustosTimelineRange, ++out) = *next;
    }
  g_array_set_size (ranges, out + 1);
}

static gboolean
ranges_contain (GArray *ranges, gint64 utc_us)
{
  for (guint i = 0; i < ranges->len; i++)
    {
      const CustosTimelineRange *r = &g_array_index (ranges, CustosTimelineRange, i);

      if (utc_us >= r->start_us && utc_us < r->end_us)
        return TRUE;
    }
  return FALSE;
}

/* Verdicts */

static void
push_verdict (GArray *out, gint64 start_us, gint64 end_us, CustosTimelineVerdict verdict)
{
  CustosVerdictRange r = { start_us, end_us, verdict };

  if (end_us <= start_us)
    return;
  if (out->len > 0)
    {
      CustosVerdictRange *last = &g_array_index (out, CustosVerdictRange, out->len - 1);

      if (last->end_us == start_us && last->verdict == verdict)
        {
          last->end_us = end_us;
          return;
        }
    }
  g_array_append_val (out, r);
}

/* A new array: the old ranges split around [start, end), the overlap
 * getting the new verdict (or the worse of both), the gaps the new one. */
static GArray *
verdicts_set (GArray *old, gint64 start_us, gint64 end_us, CustosTimelineVerdict verdict,
              gboolean replace)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (CustosVerdictRange), old->len + 3);
  gint64  cursor = start_us;

  for (guint i = 0; i < old->len; i++)
    {
      const CustosVerdictRange *r = &g_array_index (old, CustosVerdictRange, i);
      gint64                    ov_start, ov_end;

      if (r->end_us <= start_us || r->start_us >= end_us)
        {
          if (r->start_us >= end_us && cursor < end_us)
            {
              push_verdict (out, cursor, end_us, verdict);
              cursor = end_us;
            }
          push_verdict (out, r->start_us, r->end_us, r->verdict);
          continue;
        }
      ov_start = MAX (r->start_us, start_us);
      ov_end = MIN (r->end_us, end_us);
      push_verdict (out, r->start_us, ov_start, r->verdict);
      push_verdict (out, cursor, ov_start, verdict);
      push_verdict (out, ov_start, ov_end, replace ? verdict : MAX (verdict, r->verdict));
      cursor = ov_end;
      push_verdict (out, ov_end, r->end_us, r->verdict);
    }
  push_verdict (out, cursor, end_us, verdict);
  return out;
}

/* Messages */

static gint64
get_int64 (const GstStructure *s, const char *field, gint64 fallback)
{
  gint64 v;

  return gst_structure_get_int64 (s, field, &v) ? v : fallback;
}

static void
handle_problems (CustosTimelineModel *self, const GstStructure *s)
{
  const GValue *problems = gst_structure_get_value (s, "problems");

  if (problems == NULL || !GST_VALUE_HOLDS_ARRAY (problems))
    return;
  for (guint i = 0; i < gst_value_array_get_size (problems); i++)
    {
      const GValue       *v = gst_value_array_get_value (problems, i);
      const GstStructure *p;
      gint64              utc;

      if (!GST_VALUE_HOLDS_STRUCTURE (v))
        continue;
      p = gst_value_get_structure (v);
      utc = get_int64 (p, "utc", G_MININT64);
      if (utc == G_MININT64)
        continue;
      custos_timeline_model_set_verdict (
          self, utc, utc + self->frame_us,
          custos_timeline_verdict_from_string (gst_structure_get_string (p, "status")), FALSE);
    }
}

/* The segment gets the verdict of its good packets, then each problem
 * packet its own frame; when the message could not list them all, the
 * whole segment gets the worst. */
static gboolean
handle_verification (CustosTimelineModel *self, const GstStructure *s)
{
  gint64                start = get_int64 (s, "start-utc", G_MININT64);
  gint64                stop = get_int64 (s, "stop-utc", G_MININT64);
  gboolean              sealed = FALSE;
  guint                 dropped = 0;
  CustosTimelineVerdict base;

  gst_structure_get_boolean (s, "sealed", &sealed);
  gst_structure_get_uint (s, "problems-dropped", &dropped);
  if (start == G_MININT64 || stop == G_MININT64)
    return TRUE;
  base = sealed ? CUSTOS_TIMELINE_VERIFIED : CUSTOS_TIMELINE_NOT_SIGNED;
  if (dropped > 0)
    base = MAX (base, custos_timeline_verdict_from_string (gst_structure_get_string (s, "status")));
  ranges_add (self->recorded, start, stop + self->frame_us);
  custos_timeline_model_set_verdict (self, start, stop + self->frame_us, base, FALSE);
  handle_problems (self, s);
  return TRUE;
}

/* GObject */

static void
custos_timeline_model_finalize (GObject *object)
{
  CustosTimelineModel *self = CUSTOS_TIMELINE_MODEL (object);

  g_array_unref (self->recorded);
  g_array_unref (self->locked);
  g_array_unref (self->verdicts);

  G_OBJECT_CLASS (custos_timeline_model_parent_class)->finalize (object);
}

static void
custos_timeline_model_class_init (CustosTimelineModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_timeline_model_finalize;

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
}

static void
custos_timeline_model_init (CustosTimelineModel *self)
{
  self->recorded = g_array_new (FALSE, FALSE, sizeof (CustosTimelineRange));
  self->locked = g_array_new (FALSE, FALSE, sizeof (CustosTimelineRange));
  self->verdicts = g_array_new (FALSE, FALSE, sizeof (CustosVerdictRange));
  self->frame_us = 40000;
}

/* API */

CustosTimelineModel *
custos_timeline_model_new (void)
{
  return g_object_new (CUSTOS_TYPE_TIMELINE_MODEL, NULL);
}

static void
changed (CustosTimelineModel *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

void
custos_timeline_model_clear (CustosTimelineModel *self)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));

  g_array_set_size (self->recorded, 0);
  g_array_set_size (self->locked, 0);
  g_array_set_size (self->verdicts, 0);
  changed (self);
}

void
custos_timeline_model_add_recorded (CustosTimelineModel *self, gint64 start_us, gint64 end_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));

  ranges_add (self->recorded, start_us, end_us);
  changed (self);
}

void
custos_timeline_model_add_locked (CustosTimelineModel *self, gint64 start_us, gint64 end_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));

  ranges_add (self->locked, start_us, end_us);
  changed (self);
}

void
custos_timeline_model_clear_locked (CustosTimelineModel *self)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));

  g_array_set_size (self->locked, 0);
  changed (self);
}

void
custos_timeline_model_set_verdict (CustosTimelineModel *self, gint64 start_us, gint64 end_us,
                                   CustosTimelineVerdict verdict, gboolean replace)
{
  GArray *next;

  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));

  if (end_us <= start_us)
    return;
  next = verdicts_set (self->verdicts, start_us, end_us, verdict, replace);
  g_array_unref (self->verdicts);
  self->verdicts = next;
  changed (self);
}

void
custos_timeline_model_set_frame_duration (CustosTimelineModel *self, gint64 frame_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE_MODEL (self));
  g_return_if_fail (frame_us > 0);

  self->frame_us = frame_us;
}

gint64
custos_timeline_model_get_frame_duration (CustosTimelineModel *self)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), 0);

  return self->frame_us;
}

gboolean
custos_timeline_model_handle_message (CustosTimelineModel *self, const GstStructure *structure)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), FALSE);
  g_return_val_if_fail (structure != NULL, FALSE);

  if (gst_structure_has_name (structure, "custos-verification"))
    return handle_verification (self, structure);
  if (gst_structure_has_name (structure, "custos-locked"))
    {
      gint64 start = get_int64 (structure, "start-utc", G_MININT64);
      gint64 stop = get_int64 (structure, "stop-utc", G_MININT64);

      if (start != G_MININT64 && stop != G_MININT64)
        custos_timeline_model_add_locked (self, start, MAX (stop, start + self->frame_us));
      return TRUE;
    }
  return FALSE;
}

const CustosTimelineRange *
custos_timeline_model_get_recorded (CustosTimelineModel *self, guint *n_ranges)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), NULL);

  *n_ranges = self->recorded->len;
  return (const CustosTimelineRange *) (gpointer) self->recorded->data;
}

const CustosTimelineRange *
custos_timeline_model_get_locked (CustosTimelineModel *self, guint *n_ranges)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), NULL);

  *n_ranges = self->locked->len;
  return (const CustosTimelineRange *) (gpointer) self->locked->data;
}

const CustosVerdictRange *
custos_timeline_model_get_verdicts (CustosTimelineModel *self, guint *n_ranges)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), NULL);

  *n_ranges = self->verdicts->len;
  return (const CustosVerdictRange *) (gpointer) self->verdicts->data;
}

gboolean
custos_timeline_model_is_recorded (CustosTimelineModel *self, gint64 utc_us)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), FALSE);

  return ranges_contain (self->recorded, utc_us);
}

gboolean
custos_timeline_model_is_locked (CustosTimelineModel *self, gint64 utc_us)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), FALSE);

  return ranges_contain (self->locked, utc_us);
}

CustosTimelineVerdict
custos_timeline_model_get_verdict_at (CustosTimelineModel *self, gint64 utc_us)
{
  return custos_timeline_model_get_worst_verdict (self, utc_us, utc_us + 1);
}

CustosTimelineVerdict
custos_timeline_model_get_worst_verdict (CustosTimelineModel *self, gint64 start_us, gint64 end_us)
{
  CustosTimelineVerdict worst = CUSTOS_TIMELINE_UNKNOWN;

  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), CUSTOS_TIMELINE_UNKNOWN);

  for (guint i = 0; i < self->verdicts->len; i++)
    {
      const CustosVerdictRange *r = &g_array_index (self->verdicts, CustosVerdictRange, i);

      if (r->start_us < end_us && r->end_us > start_us)
        worst = MAX (worst, r->verdict);
    }
  return worst;
}

static void
extend_bounds (const CustosTimelineRange *r, gint64 *start, gint64 *end)
{
  *start = MIN (*start, r->start_us);
  *end = MAX (*end, r->end_us);
}

gboolean
custos_timeline_model_get_bounds (CustosTimelineModel *self, gint64 *start_us, gint64 *end_us)
{
  gint64 start = G_MAXINT64, end = G_MININT64;

  g_return_val_if_fail (CUSTOS_IS_TIMELINE_MODEL (self), FALSE);

  for (guint i = 0; i < self->recorded->len; i++)
    extend_bounds (&g_array_index (self->recorded, CustosTimelineRange, i), &start, &end);
  for (guint i = 0; i < self->locked->len; i++)
    extend_bounds (&g_array_index (self->locked, CustosTimelineRange, i), &start, &end);
  for (guint i = 0; i < self->verdicts->len; i++)
    {
      const CustosVerdictRange *r = &g_array_index (self->verdicts, CustosVerdictRange, i);

      start = MIN (start, r->start_us);
      end = MAX (end, r->end_us);
    }
  if (start > end)
    return FALSE;
  if (start_us != NULL)
    *start_us = start;
  if (end_us != NULL)
    *end_us = end;
  return TRUE;
}
