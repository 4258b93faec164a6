/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosDtsSynth: decode times for a stream that has only presentation
 * times (H.264 or H.265 from Matroska, whose demuxer gives PTS only). The
 * frames go in in decode order; their decode times are their presentation
 * times sorted ascending and shifted back by the stream's reorder depth,
 * so every DTS is <= its frame's PTS and the DTS strictly increase, which
 * is what the fusion writer and MP4/Matroska muxers want.
 *
 * The reorder depth is learnt from the first frames: they are held until
 * `window` of them have come (or the stream ends), then come out in the
 * order they went in; every later frame comes out as soon as it goes in.
 * (The depth is in the H.264 SPS, num_reorder_frames, but h264parse does
 * not pass it on, and learning it works for any codec.) A stream that
 * starts reordering only after its first `window` frames, or deeper than
 * it did in them, gets a DTS above its PTS there; the DTS still strictly
 * increase.
 * Each frame carries a pointer of the caller's (its sample), so this
 * stays a plain helper with no GStreamer types. Times are µs.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* H.264 and H.265 allow at most 16 frames of reordering (the largest
 * decoded picture buffer). */
#define CUSTOS_DTS_SYNTH_DEFAULT_WINDOW 16

typedef struct _CustosDtsSynth CustosDtsSynth;

/* window: how many frames to hold to learn the reorder depth (>= 1);
 * data_free: frees the data of frames still held by custos_dts_synth_free()
 * (may be NULL). */
CustosDtsSynth *custos_dts_synth_new       (guint           window,
                                            GDestroyNotify  data_free);
void            custos_dts_synth_free      (CustosDtsSynth *self);
/* The next frame in decode order. */
void            custos_dts_synth_push      (CustosDtsSynth *self,
                                            gint64          pts_us,
                                            gpointer        data);
/* The stream ended: the frames held to learn the depth get their times. */
void            custos_dts_synth_drain     (CustosDtsSynth *self);
/* The oldest frame not yet popped, once its DTS is known; FALSE while
 * none is ready. pts_us, dts_us and data may be NULL (the frame's data
 * is then freed with data_free). */
gboolean        custos_dts_synth_pop       (CustosDtsSynth *self,
                                            gint64         *pts_us,
                                            gint64         *dts_us,
                                            gpointer       *data);
/* Frames pushed and not yet popped. */
guint           custos_dts_synth_get_held  (CustosDtsSynth *self);
/* The reorder depth in frames, or -1 while it is being learnt. */
int             custos_dts_synth_get_depth (CustosDtsSynth *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosDtsSynth, custos_dts_synth_free)

G_END_DECLS
