/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayerFrames: the few decoded frames just before an accurate
 * seek's target, and the target itself, kept so that stepping a frame
 * back (or forward again) shows a frame without decoding its group of
 * pictures from the keyframe once more.
 *
 * The decoder of a seek decodes them anyway and drops them (they are
 * before the segment). Attached to it, this widens the segment the
 * decoder clips to by a few frames, keeps copies of what comes out before
 * the target instead of passing it on, and gives the elements downstream
 * the segment unchanged: what they see is what they saw without it.
 */
#pragma once

#include <gst/gst.h>

#include "custos-video-paintable.h"

G_BEGIN_DECLS

typedef struct _CustosPlayerFrames CustosPlayerFrames;

CustosPlayerFrames *
custos_player_frames_new (void);
CustosPlayerFrames *
custos_player_frames_ref (CustosPlayerFrames *self);
void
custos_player_frames_unref (CustosPlayerFrames *self);
/* Adds the probes to a video decoder (any thread). */
void
custos_player_frames_attach (CustosPlayerFrames *self, GstElement *decoder);
/* Copies of the frames kept (GstSample: buffer and caps), oldest first. */
GPtrArray *
custos_player_frames_get (CustosPlayerFrames *self);
/* Shows sample (decoded raw video) in paintable, converted there (main
 * thread). */
gboolean
custos_player_frames_show (GstSample *sample, CustosVideoPaintable *paintable);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPlayerFrames, custos_player_frames_unref)

G_END_DECLS
