/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Buffer times as the fusion writer wants them (µs of running time), for
 * everything that feeds GStreamer output into a CustosWriter: the CLI's
 * recorder and the archiver's cameras.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The running time of t in µs (negative before the segment start); FALSE
 * when t is invalid or outside the segment. Without a TIME segment, t. */
gboolean custos_gst_running_time_us (const GstSegment *segment,
                                     GstClockTime      t,
                                     gint64           *out);

G_END_DECLS
