/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Recording times as people read and type them: UTC µs to and from the
 * local time zone (or UTC, the "time-zone" setting of org.custos.Custos),
 * right across daylight-saving changes, where a local hour is skipped
 * (spring) or happens twice (autumn). GLib only, no display.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CUSTOS_TIME_ERROR (custos_time_error_quark ())

typedef enum
{
  CUSTOS_TIME_ERROR_INVALID,     /* not a date and time */
  CUSTOS_TIME_ERROR_NONEXISTENT, /* skipped by a daylight-saving change */
} CustosTimeError;

GQuark
custos_time_error_quark (void);

/* The zone times are shown in: UTC when use_utc, else the local one. */
GTimeZone *
custos_time_zone (gboolean use_utc);

/* "2026-03-29 03:00:00.000 CEST" and the like (ISO date, time with
 * milliseconds, the zone's abbreviation). */
char *
custos_time_format (gint64 utc_us, GTimeZone *tz);
/* Shorter forms for the timeline's ticks and the bar's clock. */
char *
custos_time_format_short (gint64 utc_us, GTimeZone *tz, gboolean with_date, gboolean with_seconds);

/* The UTC of a wall-clock time in tz. A time the clocks skipped (spring)
 * is an error naming the change; a time that happens twice (autumn) is
 * the first unless later is TRUE, and *ambiguous (optional) says so. */
gboolean
custos_time_from_local (GTimeZone *tz, int year, int month, int day, int hour, int minute,
                        double seconds, gboolean later, gint64 *utc_us, gboolean *ambiguous,
                        GError **error);
/* Parses "YYYY-MM-DD HH:MM[:SS[.fff]]" (or 'T' between) in tz; a trailing
 * "Z" or "UTC" means UTC whatever tz is. */
gboolean
custos_time_parse (const char *text, GTimeZone *tz, gint64 *utc_us, gboolean *ambiguous,
                   GError **error);

/* Tick marks for a timeline over [start, end): the UTC of every local
 * boundary of step_us (a divisor or multiple of an hour, up to a day)
 * inside the range, aligned on local wall-clock time, so that on a
 * daylight-saving day the hour ticks stay on local hours and a day tick
 * is at local midnight. */
GArray *
custos_time_ticks (gint64 start_us, gint64 end_us, gint64 step_us, GTimeZone *tz);

G_END_DECLS
