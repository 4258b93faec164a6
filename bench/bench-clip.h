/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench-clip.h: the H.264 clip the benchmarks encode once and repeat:
 * 1080p30 at a camera's 4 Mbit/s (CBR, a keyframe every 2 s).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define BENCH_RAW_1080P "video/x-raw,width=1920,height=1080,framerate=30/1"

/* One access unit, timestamps from 0. */
typedef struct
{
  gint64    pts_us;
  gint64    dts_us;
  gboolean  keyframe;
  GBytes   *data;
} BenchUnit;

/* Noise: every frame new, so x264 codes every macroblock and holds its
 * CBR target; the most a 4 Mbit/s stream costs to decode. */
char *bench_clip_snow (guint frames);
/* A gst-launch description: source (raw video) encoded by x264 at 4 Mbit/s
 * with the given extra options, as byte-stream access units into an
 * appsink named "sink". */
char *bench_clip_description (const char *source,
                              const char *x264_options);
/* Runs the description to its end; the access units (BenchUnit) and, in
 * caps_out, their caps. */
GPtrArray *bench_clip_encode (const char *description,
                              char      **caps_out);

G_END_DECLS
