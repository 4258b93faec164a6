/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosTimeline: draws a CustosTimelineModel (recorded ranges, locked
 * ranges hatched, the verdict band: verified, not signed, missing,
 * altered) and the position. Click or drag emits "seek" (gint64 UTC µs);
 * vertical scroll zooms around the pointer, horizontal scroll pans (the
 * view then stays put when the model grows, until Home); the arrow keys
 * step by a tenth of the view. Times are labelled in UTC or
 * local time ("utc"). Its accessible label says the position and the
 * verdict there. While the pointer drags, "scrub" (gint64 UTC µs) asks
 * for fast, keyframe-exact seeks; letting go emits "seek" for the exact
 * frame.
 */
#pragma once

#include <gtk/gtk.h>

#include "custos-timeline-model.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_TIMELINE (custos_timeline_get_type ())

G_DECLARE_FINAL_TYPE (CustosTimeline, custos_timeline, CUSTOS, TIMELINE, GtkWidget)

GtkWidget *
custos_timeline_new (void);
CustosTimelineModel *
custos_timeline_get_model (CustosTimeline *self);
void
custos_timeline_set_model (CustosTimeline *self, CustosTimelineModel *model);
gint64
custos_timeline_get_position_utc (CustosTimeline *self);
void
custos_timeline_set_position_utc (CustosTimeline *self, gint64 utc_us);
/* The visible span; it follows the model's bounds until the user zooms,
 * pans or sets it. */
void
custos_timeline_set_view (CustosTimeline *self, gint64 start_us, gint64 end_us);
void
custos_timeline_get_view (CustosTimeline *self, gint64 *start_us, gint64 *end_us);
gboolean
custos_timeline_get_utc (CustosTimeline *self);
void
custos_timeline_set_utc (CustosTimeline *self, gboolean utc);

/* Properties: "model", "position-utc", "utc".
 * Signals: "seek" (gint64 utc_us), "scrub" (gint64 utc_us). */

G_END_DECLS
