/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-timeline"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-time.h"
#include "custos-timeline.h"

#define BAND_TOP 4.0
#define BAND_HEIGHT 10.0
#define VERDICT_TOP 16.0
#define VERDICT_H 5.0
#define LABEL_TOP 22.0
#define MIN_TICK_PX 90.0
#define MIN_SPAN_US (G_USEC_PER_SEC / 2)
#define MAX_SPAN_US (31 * G_TIME_SPAN_DAY)

struct _CustosTimeline
{
  GtkWidget parent_instance;

  CustosTimelineModel *model;
  gint64               position_utc;
  gint64               view_start;
  gint64               view_end;
  gboolean             user_view; /* zoomed or panned: the view stays */
  gboolean             utc;
  double               pointer_x;
  double               drag_x;
};

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_POSITION_UTC,
  PROP_UTC,
  N_PROPS
};

enum
{
  SEEK,
  SCRUB,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CustosTimeline, custos_timeline, GTK_TYPE_WIDGET)

static const gint64 tick_steps[] = {
  G_USEC_PER_SEC / 10,     G_USEC_PER_SEC / 2,      G_USEC_PER_SEC,         2 * G_USEC_PER_SEC,
  5 * G_USEC_PER_SEC,      10 * G_USEC_PER_SEC,     15 * G_USEC_PER_SEC,    30 * G_USEC_PER_SEC,
  G_TIME_SPAN_MINUTE,      2 * G_TIME_SPAN_MINUTE,  5 * G_TIME_SPAN_MINUTE, 10 * G_TIME_SPAN_MINUTE,
  15 * G_TIME_SPAN_MINUTE, 30 * G_TIME_SPAN_MINUTE, G_TIME_SPAN_HOUR,       2 * G_TIME_SPAN_HOUR,
  3 * G_TIME_SPAN_HOUR,    6 * G_TIME_SPAN_HOUR,    12 * G_TIME_SPAN_HOUR,  G_TIME_SPAN_DAY,
};

/* Geometry */

static gboolean
have_view (CustosTimeline *self)
{
  return self->view_end > self->view_start;
}

static double
utc_to_x (CustosTimeline *self, gint64 utc_us)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));

  return (double) (utc_us - self->view_start) / (double) (self->view_end - self->view_start) *
         width;
}

static gint64
x_to_utc (CustosTimeline *self, double x)
{
  double width = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);

  x = CLAMP (x, 0, width);
  return self->view_start + (gint64) (x / width * (double) (self->view_end - self->view_start));
}

/* The view follows the model until the user zooms. */
static void
follow_model (CustosTimeline *self)
{
  gint64 start, end;

  if (self->user_view || self->model == NULL ||
      !custos_timeline_model_get_bounds (self->model, &start, &end))
    return;
  if (end - start < MIN_SPAN_US)
    end = start + MIN_SPAN_US;
  self->view_start = start;
  self->view_end = end;
}

/* Accessibility */

static const char *
verdict_text (CustosTimelineVerdict v)
{
  switch (v)
    {
    case CUSTOS_TIMELINE_VERIFIED:
      return _ ("verified");
    case CUSTOS_TIMELINE_NOT_SIGNED:
      return _ ("not signed");
    case CUSTOS_TIMELINE_MISSING:
      return _ ("frames missing");
    case CUSTOS_TIMELINE_ALTERED:
      return _ ("altered");
    case CUSTOS_TIMELINE_UNKNOWN:
    default:
      return _ ("not verified yet");
    }
}

static void
update_accessible (CustosTimeline *self)
{
  g_autoptr (GTimeZone) tz = custos_time_zone (self->utc);
  g_autofree char *when = NULL;
  g_autofree char *label = NULL;

  if (self->position_utc == G_MININT64 || self->model == NULL)
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _ ("Timeline"), -1);
      return;
    }
  when = custos_time_format (self->position_utc, tz);
  if (custos_timeline_model_is_locked (self->model, self->position_utc))
    label = g_strdup_printf (_ ("Timeline, at %s, locked"), when);
  else
    label = g_strdup_printf (
        _ ("Timeline, at %s, %s"), when,
        verdict_text (custos_timeline_model_get_verdict_at (self->model, self->position_utc)));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

/* Drawing */

static void
verdict_color (CustosTimelineVerdict v, GdkRGBA *color)
{
  const char *spec;

  switch (v)
    {
    case CUSTOS_TIMELINE_VERIFIED:
      spec = "#2ec27e";
      break;
    case CUSTOS_TIMELINE_NOT_SIGNED:
      spec = "#f5c211";
      break;
    case CUSTOS_TIMELINE_MISSING:
      spec = "#ff7800";
      break;
    case CUSTOS_TIMELINE_ALTERED:
      spec = "#e01b24";
      break;
    case CUSTOS_TIMELINE_UNKNOWN:
    default:
      spec = "#77767b";
      break;
    }
  gdk_rgba_parse (color, spec);
}

/* At least a pixel wide, so that one altered frame shows at any zoom. */
static graphene_rect_t
span_rect (CustosTimeline *self, gint64 start, gint64 end, double top, double height)
{
  double          x0 = utc_to_x (self, start), x1 = utc_to_x (self, end);
  graphene_rect_t r;

  x0 = MAX (x0, -1);
  x1 = MIN (x1, gtk_widget_get_width (GTK_WIDGET (self)) + 1);
  graphene_rect_init (&r, x0, top, MAX (x1 - x0, 1.0), height);
  return r;
}

static void
draw_ranges (CustosTimeline *self, GtkSnapshot *snapshot)
{
  const CustosTimelineRange *rec;
  const CustosVerdictRange  *verdicts;
  guint                      n;
  GdkRGBA                    grey = { 0.6, 0.6, 0.6, 0.6 };

  rec = custos_timeline_model_get_recorded (self->model, &n);
  for (guint i = 0; i < n; i++)
    {
      graphene_rect_t r = span_rect (self, rec[i].start_us, rec[i].end_us, BAND_TOP, BAND_HEIGHT);

      gtk_snapshot_append_color (snapshot, &grey, &r);
    }
  verdicts = custos_timeline_model_get_verdicts (self->model, &n);
  for (guint i = 0; i < n; i++)
    {
      graphene_rect_t r =
          span_rect (self, verdicts[i].start_us, verdicts[i].end_us, VERDICT_TOP, VERDICT_H);
      GdkRGBA color;

      if (verdicts[i].verdict == CUSTOS_TIMELINE_UNKNOWN)
        continue;
      verdict_color (verdicts[i].verdict, &color);
      gtk_snapshot_append_color (snapshot, &color, &r);
    }
}

/* Locked ranges: hatched over the recorded band. */
static void
draw_locked (CustosTimeline *self, GtkSnapshot *snapshot)
{
  const CustosTimelineRange *locked;
  guint                      n;

  locked = custos_timeline_model_get_locked (self->model, &n);
  for (guint i = 0; i < n; i++)
    {
      graphene_rect_t r =
          span_rect (self, locked[i].start_us, locked[i].end_us, BAND_TOP, BAND_HEIGHT);
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &r);

      cairo_rectangle (cr, r.origin.x, r.origin.y, r.size.width, r.size.height);
      cairo_clip (cr);
      cairo_set_source_rgba (cr, 0.57, 0.25, 0.67, 0.9);
      cairo_paint_with_alpha (cr, 0.35);
      cairo_set_line_width (cr, 1.5);
      for (double x = r.origin.x - BAND_HEIGHT; x < r.origin.x + r.size.width; x += 5)
        {
          cairo_move_to (cr, x, BAND_TOP + BAND_HEIGHT);
          cairo_line_to (cr, x + BAND_HEIGHT, BAND_TOP);
        }
      cairo_stroke (cr);
      cairo_destroy (cr);
    }
}

static gint64
choose_step (CustosTimeline *self)
{
  double width = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);
  double us_per_px = (double) (self->view_end - self->view_start) / width;

  for (guint i = 0; i < G_N_ELEMENTS (tick_steps); i++)
    if (tick_steps[i] / us_per_px >= MIN_TICK_PX)
      return tick_steps[i];
  return G_TIME_SPAN_DAY;
}

static void
draw_ticks (CustosTimeline *self, GtkSnapshot *snapshot)
{
  g_autoptr (GTimeZone) tz = custos_time_zone (self->utc);
  gint64 step = choose_step (self);
  g_autoptr (GArray) ticks = custos_time_ticks (self->view_start, self->view_end, step, tz);
  GdkRGBA fg;
  GdkRGBA line;

  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &fg);
  line = fg;
  line.alpha = 0.4;
  for (guint i = 0; i < ticks->len; i++)
    {
      gint64           t = g_array_index (ticks, gint64, i);
      double           x = utc_to_x (self, t);
      g_autofree char *text = custos_time_format_short (
          t, tz, step >= G_TIME_SPAN_DAY || (i == 0 && step >= G_TIME_SPAN_HOUR),
          step < G_TIME_SPAN_MINUTE);
      PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);

      gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (x, BAND_TOP, 1, LABEL_TOP));
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + 2, LABEL_TOP));
      gtk_snapshot_append_layout (snapshot, layout, &fg);
      gtk_snapshot_restore (snapshot);
      g_object_unref (layout);
    }
}

static void
custos_timeline_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  CustosTimeline *self = CUSTOS_TIMELINE (widget);
  int             width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GdkRGBA         accent;

  follow_model (self);
  if (self->model == NULL || !have_view (self))
    return;
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw_ranges (self, snapshot);
  draw_locked (self, snapshot);
  draw_ticks (self, snapshot);
  if (self->position_utc != G_MININT64)
    {
      double x = utc_to_x (self, self->position_utc);

      gdk_rgba_parse (&accent, "#3584e4");
      gtk_snapshot_append_color (snapshot, &accent, &GRAPHENE_RECT_INIT (x - 1, 0, 2, height));
    }
  gtk_snapshot_pop (snapshot);
}

static void
custos_timeline_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                         int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = 120;
  else
    *minimum = *natural = 42;
}

/* Input */

static void
emit_seek (CustosTimeline *self, gint64 utc_us)
{
  g_signal_emit (self, signals[SEEK], 0, utc_us);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, CustosTimeline *self)
{
  if (!have_view (self))
    return;
  self->drag_x = x;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  emit_seek (self, x_to_utc (self, x));
}

/* While dragging: fast keyframe seeks; the exact frame when let go. */
static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, CustosTimeline *self)
{
  if (have_view (self))
    g_signal_emit (self, signals[SCRUB], 0, x_to_utc (self, self->drag_x + dx));
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, CustosTimeline *self)
{
  if (have_view (self) && (dx != 0 || dy != 0))
    emit_seek (self, x_to_utc (self, self->drag_x + dx));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, CustosTimeline *self)
{
  self->pointer_x = x;
}

/* The time under anchor stays where it is on screen; the span stays
 * between half a second and MAX_SPAN_US (ticks of a day or more apart). */
static void
zoom_around (CustosTimeline *self, gint64 anchor, double factor)
{
  double span = (double) (self->view_end - self->view_start);
  double fraction = (double) (anchor - self->view_start) / span;
  double wanted = CLAMP (span * factor, MIN_SPAN_US, MAX (MAX_SPAN_US, span));

  self->view_start = anchor - (gint64) (fraction * wanted);
  self->view_end = self->view_start + (gint64) wanted;
}

/* Vertical scroll zooms around the pointer (up: in); horizontal pans by
 * a tenth of the view per step. */
static gboolean
on_scroll (GtkEventControllerScroll *scroll, double dx, double dy, CustosTimeline *self)
{
  if (!have_view (self))
    return FALSE;
  if (dx != 0)
    {
      gint64 shift = (gint64) (dx * (double) (self->view_end - self->view_start) / 10);

      self->view_start += shift;
      self->view_end += shift;
    }
  if (dy != 0)
    zoom_around (self, x_to_utc (self, self->pointer_x), dy > 0 ? 1.25 : 0.8);
  self->user_view = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static gboolean
on_key (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state,
        CustosTimeline *self)
{
  gint64 step = (self->view_end - self->view_start) / 10;

  if (self->position_utc == G_MININT64 || !have_view (self))
    return FALSE;
  if (keyval == GDK_KEY_Left || keyval == GDK_KEY_KP_Left)
    emit_seek (self, self->position_utc - step);
  else if (keyval == GDK_KEY_Right || keyval == GDK_KEY_KP_Right)
    emit_seek (self, self->position_utc + step);
  else if (keyval == GDK_KEY_Home)
    {
      self->user_view = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  else
    return FALSE;
  return TRUE;
}

/* GObject */

static void
custos_timeline_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosTimeline *self = CUSTOS_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_POSITION_UTC:
      g_value_set_int64 (value, self->position_utc);
      break;
    case PROP_UTC:
      g_value_set_boolean (value, self->utc);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_timeline_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  CustosTimeline *self = CUSTOS_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      custos_timeline_set_model (self, g_value_get_object (value));
      break;
    case PROP_POSITION_UTC:
      custos_timeline_set_position_utc (self, g_value_get_int64 (value));
      break;
    case PROP_UTC:
      custos_timeline_set_utc (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_timeline_dispose (GObject *object)
{
  custos_timeline_set_model (CUSTOS_TIMELINE (object), NULL);

  G_OBJECT_CLASS (custos_timeline_parent_class)->dispose (object);
}

static void
custos_timeline_class_init (CustosTimelineClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = custos_timeline_get_property;
  object_class->set_property = custos_timeline_set_property;
  object_class->dispose = custos_timeline_dispose;
  widget_class->snapshot = custos_timeline_snapshot;
  widget_class->measure = custos_timeline_measure;

  properties[PROP_MODEL] =
      g_param_spec_object ("model", NULL, NULL, CUSTOS_TYPE_TIMELINE_MODEL,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_POSITION_UTC] =
      g_param_spec_int64 ("position-utc", NULL, NULL, G_MININT64, G_MAXINT64, G_MININT64,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_UTC] =
      g_param_spec_boolean ("utc", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SEEK] = g_signal_new ("seek", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SCRUB] = g_signal_new ("scrub", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  gtk_widget_class_set_css_name (widget_class, "custos-timeline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_SLIDER);
}

static void
custos_timeline_init (CustosTimeline *self)
{
  GtkGesture         *drag = gtk_gesture_drag_new ();
  GtkEventController *scroll = gtk_event_controller_scroll_new (
      GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkEventController *key = gtk_event_controller_key_new ();

  self->position_utc = G_MININT64;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_key), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  update_accessible (self);
}

/* API */

GtkWidget *
custos_timeline_new (void)
{
  return g_object_new (CUSTOS_TYPE_TIMELINE, NULL);
}

CustosTimelineModel *
custos_timeline_get_model (CustosTimeline *self)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE (self), NULL);

  return self->model;
}

static void
on_model_changed (CustosTimeline *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
custos_timeline_set_model (CustosTimeline *self, CustosTimelineModel *model)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE (self));
  g_return_if_fail (model == NULL || CUSTOS_IS_TIMELINE_MODEL (model));

  if (self->model == model)
    return;
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_func (self->model, on_model_changed, self);
  g_set_object (&self->model, model);
  if (model != NULL)
    g_signal_connect_swapped (model, "changed", G_CALLBACK (on_model_changed), self);
  self->user_view = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

gint64
custos_timeline_get_position_utc (CustosTimeline *self)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE (self), G_MININT64);

  return self->position_utc;
}

void
custos_timeline_set_position_utc (CustosTimeline *self, gint64 utc_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE (self));

  if (self->position_utc == utc_us)
    return;
  self->position_utc = utc_us;
  /* A user's view scrolls along with playback. */
  if (self->user_view && utc_us != G_MININT64 && have_view (self) &&
      (utc_us < self->view_start || utc_us > self->view_end))
    {
      gint64 span = self->view_end - self->view_start;

      self->view_start = utc_us - span / 10;
      self->view_end = self->view_start + span;
    }
  update_accessible (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION_UTC]);
}

void
custos_timeline_set_view (CustosTimeline *self, gint64 start_us, gint64 end_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE (self));
  g_return_if_fail (end_us > start_us);

  self->view_start = start_us;
  self->view_end = end_us;
  self->user_view = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
custos_timeline_get_view (CustosTimeline *self, gint64 *start_us, gint64 *end_us)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE (self));

  follow_model (self);
  if (start_us != NULL)
    *start_us = self->view_start;
  if (end_us != NULL)
    *end_us = self->view_end;
}

gboolean
custos_timeline_get_utc (CustosTimeline *self)
{
  g_return_val_if_fail (CUSTOS_IS_TIMELINE (self), FALSE);

  return self->utc;
}

void
custos_timeline_set_utc (CustosTimeline *self, gboolean utc)
{
  g_return_if_fail (CUSTOS_IS_TIMELINE (self));

  utc = !!utc;
  if (self->utc == utc)
    return;
  self->utc = utc;
  update_accessible (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UTC]);
}
