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

/* For a stream's first timed buffer. A file camera or an input file
 * (filesrc ! matroskademux) gives H.264 with PTS only, in decode order:
 * with B-frames the PTS go back and forth, and clamping them into DTS
 * gives several frames the same one, which muxers cannot store. Such a
 * stream (have_dts FALSE) gets a CustosDtsSynth of its GstSamples, which
 * makes DTS from the PTS sorted and shifted back by the reorder depth;
 * a stream with DTS keeps them (NULL). name is for the debug log. */
CustosDtsSynth *custos_gst_dts_synth_for_stream (const char *name,
                                                 gboolean    have_dts);

G_END_DECLS
