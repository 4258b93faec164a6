/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-utc.h: the one way times are written in reports, JSON and the
 * archiver's API: ISO 8601 in UTC, e.g. 2026-11-21T20:34:02.080Z.
 * Times are UTC microseconds since the epoch, as everywhere in Custos;
 * G_MININT64 and G_MAXINT64 stand for "no time" (an open bound).
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* fraction_digits: 0, 3 (milliseconds) or 6 (microseconds). NULL for no
 * time or a time GDateTime cannot represent. */
char *custos_utc_format   (gint64       utc_us,
                           guint        fraction_digits);
/* The time an ISO 8601 text names (a time without a zone is UTC); FALSE
 * when it is not one. */
gboolean custos_utc_parse (const char *text,
                           gint64     *utc_us);
/* member: the formatted time, or null for no time. */
void  custos_utc_json_add (JsonBuilder *builder,
                           const char  *member,
                           gint64       utc_us,
                           guint        fraction_digits);

G_END_DECLS
