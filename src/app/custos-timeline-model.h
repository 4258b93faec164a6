/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosTimelineModel: what the timeline shows, without any display: the
 * recorded ranges of a camera or file, the ranges this viewer cannot
 * decrypt (locked: no key), and the verification verdict of the video
 * down to the frame. All times are UTC µs; ranges are half-open
 * [start, end).
 *
 * Fed from two places: the archiver's list of recorded ranges
 * (custos_timeline_model_add_recorded()) and custosdemux's element
 * messages "custos-verification" and "custos-locked"
 * (custos_timeline_model_handle_message(), see src/gst/gstcustosdemux.h).
 * A verification message covers its segment with its verdict, then marks
 * each listed problem packet (altered, missing, not signed) as one frame
 * of "frame-duration-us" at its UTC, so one altered frame shows as one
 * frame.
 *
 * Emits "changed" after every change (on the thread that made it: the
 * player feeds it on the main thread).
 */
#pragma once

#include <glib-object.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* Ordered from best to worst: a worse verdict wins where two overlap. */
typedef enum
{
  CUSTOS_TIMELINE_UNKNOWN,    /* not checked yet (no seal read so far) */
  CUSTOS_TIMELINE_VERIFIED,   /* sealed by a signer (trusted or not: see the message) */
  CUSTOS_TIMELINE_NOT_SIGNED, /* no usable seal covers it */
  CUSTOS_TIMELINE_MISSING,    /* the seal names packets that are not there */
  CUSTOS_TIMELINE_ALTERED,    /* authentication or the seal's hash failed */
} CustosTimelineVerdict;

GType
custos_timeline_verdict_get_type (void) G_GNUC_CONST;
#define CUSTOS_TYPE_TIMELINE_VERDICT (custos_timeline_verdict_get_type ())

/* "verified", "not-signed", "missing", "altered" (the messages' words; "matched" is
 * verified); anything else is UNKNOWN. */
CustosTimelineVerdict
custos_timeline_verdict_from_string (const char *status);

typedef struct
{
  gint64 start_us;
  gint64 end_us;
} CustosTimelineRange;

typedef struct
{
  gint64                start_us;
  gint64                end_us;
  CustosTimelineVerdict verdict;
} CustosVerdictRange;

#define CUSTOS_TYPE_TIMELINE_MODEL (custos_timeline_model_get_type ())

G_DECLARE_FINAL_TYPE (CustosTimelineModel, custos_timeline_model, CUSTOS, TIMELINE_MODEL, GObject)

CustosTimelineModel *
custos_timeline_model_new (void);
void
custos_timeline_model_clear (CustosTimelineModel *self);

/* Merges with the ranges it overlaps or touches. */
void
custos_timeline_model_add_recorded (CustosTimelineModel *self, gint64 start_us, gint64 end_us);
void
custos_timeline_model_add_locked (CustosTimelineModel *self, gint64 start_us, gint64 end_us);
/* A key came (card inserted, key file added): nothing is known locked. */
void
custos_timeline_model_clear_locked (CustosTimelineModel *self);
/* Sets the verdict of [start, end); a worse verdict already there stays
 * unless replace is TRUE. */
void
custos_timeline_model_set_verdict (CustosTimelineModel *self, gint64 start_us, gint64 end_us,
                                   CustosTimelineVerdict verdict, gboolean replace);

/* One frame's length, for problem packets (default 40 ms: 25 fps). */
void
custos_timeline_model_set_frame_duration (CustosTimelineModel *self, gint64 frame_us);
gint64
custos_timeline_model_get_frame_duration (CustosTimelineModel *self);

/* A "custos-verification" or "custos-locked" structure; FALSE (and no
 * change) for anything else. Verification also counts as recorded. */
gboolean
custos_timeline_model_handle_message (CustosTimelineModel *self, const GstStructure *structure);

/* Sorted, disjoint, merged ranges; owned by the model, valid until the next change. */
const CustosTimelineRange *
custos_timeline_model_get_recorded (CustosTimelineModel *self, guint *n_ranges);
const CustosTimelineRange *
custos_timeline_model_get_locked (CustosTimelineModel *self, guint *n_ranges);
/* Sorted, disjoint; neighbours with the same verdict are merged. */
const CustosVerdictRange *
custos_timeline_model_get_verdicts (CustosTimelineModel *self, guint *n_ranges);

gboolean
custos_timeline_model_is_recorded (CustosTimelineModel *self, gint64 utc_us);
gboolean
custos_timeline_model_is_locked (CustosTimelineModel *self, gint64 utc_us);
CustosTimelineVerdict
custos_timeline_model_get_verdict_at (CustosTimelineModel *self, gint64 utc_us);
/* The worst verdict of [start, end). */
CustosTimelineVerdict
custos_timeline_model_get_worst_verdict (CustosTimelineModel *self, gint64 start_us, gint64 end_us);
/* Of everything known (recorded, locked, verdicts); FALSE when empty. */
gboolean
custos_timeline_model_get_bounds (CustosTimelineModel *self, gint64 *start_us, gint64 *end_us);

G_END_DECLS
