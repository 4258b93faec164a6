/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by the archiver's parts: times as the API writes
 * them (ISO 8601 UTC with microseconds), identifiers that are safe as
 * file names and URL segments, and SHA-256 fingerprints in hex.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CUSTOS_ARCHIVER_NO_TIME G_MININT64

/* "2025-01-15T10:00:05.500000Z"; NULL for CUSTOS_ARCHIVER_NO_TIME. */
char     *custos_archiver_format_time   (gint64       utc_us);
/* ISO 8601 with a zone ("Z", "+01:00"); a time without one is UTC. */
gboolean  custos_archiver_parse_time    (const char  *text,
                                         gint64      *utc_us);
/* Camera ids: 1–64 of [A-Za-z0-9_-], so they can never name another path. */
gboolean  custos_archiver_id_is_valid   (const char  *id);
/* 64 hex digits, colons and spaces allowed between them. */
gboolean  custos_archiver_parse_fingerprint (const char *text,
                                             guint8      out[32]);

G_END_DECLS
