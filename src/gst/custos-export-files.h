/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the muxers cannot be told: the creation time of an MP4 file (qtmux
 * always writes the time of muxing) and text chunks in a PNG (pngenc
 * writes none). Both are small edits of the finished bytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets creation_time of the mvhd, every tkhd and every mdhd box of the MP4
 * file at path to utc_us (whole seconds; the format has no finer unit). */
gboolean custos_mp4_set_creation_time (const char   *path,
                                       gint64        utc_us,
                                       GError      **error);

/* A copy of png with text chunks after IHDR: pairs is key, value, key,
 * value, …, NULL. ASCII values become tEXt chunks, others iTXt (UTF-8). */
GBytes  *custos_png_add_text          (GBytes       *png,
                                       const char  **pairs,
                                       GError      **error);

G_END_DECLS
