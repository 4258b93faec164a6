/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Buffer times as the fusion writer wants them (µs of running time), for
 * everything that feeds GStreamer output into a CustosWriter: the CLI's
 * recorder and the archiver's cameras.
 */
#pragma once

#include <gst/gst.h>

#include "custos-dts-synth.h"

G_BEGIN_DECLS

/* The running time of t in µs (negative before the segment start); FALSE
 * when t is invalid or outside the segment. Without a TIME segment, t. */
gboolean custos_gst_running_time_us (const GstSegment *segment,
                                     GstClockTime      t,
                                     gint64           *out);
/* The same for a time of an appsink's sample, in its segment; G_MININT64
 * when there is none. */
gint64   custos_gst_sample_running_us (GstSample   *sample,
                                       GstClockTime t);

/* At a stream's first timed buffer (*timed still FALSE, have_pts or
 * have_dts): sets *timed and, when the stream has no DTS, *synth. A file
 * camera or an input file (filesrc ! matroskademux) gives H.264 with PTS
 * only, in decode order: with B-frames the PTS go back and forth, and
 * clamping them into DTS gives several frames the same one, which muxers
 * cannot store. Such a stream gets a CustosDtsSynth of its GstSamples,
 * which makes DTS from the PTS sorted and shifted back by the reorder
 * depth; a stream with DTS keeps them. Only video is reordered: audio
 * and metadata without DTS take their PTS (a synth would hold their
 * first 16 buffers, 16 s of events at one a second). name is for the
 * debug log. */
void custos_gst_choose_dts (const char      *name,
                            gboolean         video,
                            gboolean         have_pts,
                            gboolean         have_dts,
                            gboolean        *timed,
                            CustosDtsSynth **synth);

G_END_DECLS
