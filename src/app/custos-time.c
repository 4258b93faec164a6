/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-time"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-time.h"

G_DEFINE_QUARK (custos - time - error - quark, custos_time_error)

#define USEC G_USEC_PER_SEC

static gint64
floor_div (gint64 a, gint64 b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The zone's offset from UTC at utc_us, in µs. */
static gint64
offset_at (GTimeZone *tz, gint64 utc_us)
{
  int interval = g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, floor_div (utc_us, USEC));

  return (gint64) g_time_zone_get_offset (tz, MAX (interval, 0)) * USEC;
}

GTimeZone *
custos_time_zone (gboolean use_utc)
{
  return use_utc ? g_time_zone_new_utc () : g_time_zone_new_local ();
}

static GDateTime *
date_time_new (gint64 utc_us, GTimeZone *tz)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (floor_div (utc_us, USEC));
  g_autoptr (GDateTime) exact = NULL;

  if (utc == NULL)
    return NULL;
  exact = g_date_time_add (utc, utc_us - floor_div (utc_us, USEC) * USEC);
  return g_date_time_to_timezone (exact, tz);
}

char *
custos_time_format (gint64 utc_us, GTimeZone *tz)
{
  g_autoptr (GDateTime) dt = date_time_new (utc_us, tz);
  g_autofree char *date = NULL;

  if (dt == NULL)
    return g_strdup ("?");
  date = g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
  return g_strdup_printf ("%s.%03d %s", date, g_date_time_get_microsecond (dt) / 1000,
                          g_date_time_get_timezone_abbreviation (dt));
}

char *
custos_time_format_short (gint64 utc_us, GTimeZone *tz, gboolean with_date, gboolean with_seconds)
{
  g_autoptr (GDateTime) dt = date_time_new (utc_us, tz);

  if (dt == NULL)
    return g_strdup ("?");
  if (with_date)
    return g_date_time_format (dt, with_seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M");
  return g_date_time_format (dt, with_seconds ? "%H:%M:%S" : "%H:%M");
}

/* Local wall-clock µs "as if UTC" of a date and time. */
static gboolean
naive_local (int year, int month, int day, int hour, int minute, double seconds, gint64 *out)
{
  g_autoptr (GDateTime) dt = NULL;

  if (month < 1 || month > 12 || day < 1 || !g_date_valid_dmy (day, month, year) || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || seconds < 0 || seconds >= 60)
    return FALSE;
  dt = g_date_time_new_utc (year, month, day, hour, minute, 0);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt) * USEC + (gint64) (seconds * USEC + 0.5);
  return TRUE;
}

gboolean
custos_time_from_local (GTimeZone *tz, int year, int month, int day, int hour, int minute,
                        double seconds, gboolean later, gint64 *utc_us, gboolean *ambiguous,
                        GError **error)
{
  gint64 local, found[3];
  guint  n = 0;

  if (!naive_local (year, month, day, hour, minute, seconds, &local))
    {
      g_set_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_INVALID,
                   _ ("%04d-%02d-%02d %02d:%02d is not a valid date and time"), year, month, day,
                   hour, minute);
      return FALSE;
    }
  /* Every offset the zone has near that day; each that maps back to the
   * same wall clock is a real instant (none in a gap, two in an overlap). */
  for (int i = -1; i <= 1; i++)
    {
      gint64   o = offset_at (tz, local + i * G_TIME_SPAN_DAY);
      gint64   u = local - o;
      gboolean seen = FALSE;

      for (guint j = 0; j < n; j++)
        seen |= found[j] == u;
      if (!seen && offset_at (tz, u) == o)
        found[n++] = u;
    }
  if (n == 0)
    {
      g_set_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_NONEXISTENT,
                   _ ("%04d-%02d-%02d %02d:%02d did not happen in this time zone: the clocks "
                      "were put forward then. Choose a time before or after the change."),
                   year, month, day, hour, minute);
      return FALSE;
    }
  if (n == 2 && found[0] > found[1])
    {
      gint64 t = found[0];

      found[0] = found[1];
      found[1] = t;
    }
  if (ambiguous != NULL)
    *ambiguous = n > 1;
  *utc_us = found[later && n > 1 ? 1 : 0];
  return TRUE;
}

gboolean
custos_time_parse (const char *text, GTimeZone *tz, gint64 *utc_us, gboolean *ambiguous,
                   GError **error)
{
  g_autoptr (GRegex) re = g_regex_new ("^\\s*(\\d{4})-(\\d{1,2})-(\\d{1,2})"
                                       "(?:[ T]+(\\d{1,2}):(\\d{2})(?::(\\d{1,2}(?:\\.\\d+)?))?)?"
                                       "\\s*(Z|UTC)?\\s*$",
                                       G_REGEX_CASELESS, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GTimeZone) utc = NULL;
  int    v[5] = { 0 };
  double seconds = 0;

  if (text == NULL || !g_regex_match (re, text, 0, &match))
    {
      g_set_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_INVALID,
                   _ ("“%s” is not a date and time: write it as YYYY-MM-DD HH:MM:SS"),
                   text ? text : "");
      return FALSE;
    }
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *part = g_match_info_fetch (match, i + 1);

      v[i] = part && *part ? atoi (part) : 0;
    }
  {
    g_autofree char *s = g_match_info_fetch (match, 6);
    g_autofree char *zone = g_match_info_fetch (match, 7);

    if (s != NULL && *s != '\0')
      seconds = g_ascii_strtod (s, NULL);
    if (zone != NULL && *zone != '\0')
      tz = utc = g_time_zone_new_utc ();
  }
  return custos_time_from_local (tz, v[0], v[1], v[2], v[3], v[4], seconds, FALSE, utc_us,
                                 ambiguous, error);
}

/* The first instant at or after utc_us where the offset differs from
 * that at utc_us, searched up to limit. */
static gint64
next_transition (GTimeZone *tz, gint64 utc_us, gint64 limit)
{
  gint64 o = offset_at (tz, utc_us), lo = utc_us, hi = limit;

  /* Offsets change on whole seconds. */
  while (hi - lo > USEC)
    {
      gint64 mid = lo + (hi - lo) / 2;

      if (offset_at (tz, mid) == o)
        lo = mid;
      else
        hi = mid;
    }
  return floor_div (hi, USEC) * USEC;
}

GArray *
custos_time_ticks (gint64 start_us, gint64 end_us, gint64 step_us, GTimeZone *tz)
{
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64  u = start_us;

  g_return_val_if_fail (step_us > 0, ticks);

  while (u < end_us && ticks->len < 10000)
    {
      gint64 o = offset_at (tz, u);
      gint64 local = u + o;
      gint64 tick = floor_div (local + step_us - 1, step_us) * step_us - o;

      if (offset_at (tz, tick) != o)
        {
          /* The clocks change before the next tick: go on from the change. */
          u = next_transition (tz, u, tick);
          continue;
        }
      if (tick >= end_us)
        break;
      g_array_append_val (ticks, tick);
      u = tick + 1;
    }
  return ticks;
}
