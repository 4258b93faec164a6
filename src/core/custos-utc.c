/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-utc"

#include "config.h"

#include "custos-utc.h"

char *
custos_utc_format (gint64 utc_us, guint fraction_digits)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *seconds = NULL;
  gint64           secs;
  gint64           rem;

  if (utc_us == G_MININT64 || utc_us == G_MAXINT64)
    return NULL;
  /* Floor division: a time before 1970 still has a positive fraction. */
  secs = utc_us / G_USEC_PER_SEC;
  rem = utc_us % G_USEC_PER_SEC;
  if (rem < 0)
    {
      rem += G_USEC_PER_SEC;
      secs--;
    }
  if ((dt = g_date_time_new_from_unix_utc (secs)) == NULL)
    return NULL;
  seconds = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  switch (fraction_digits)
    {
    case 0:
      return g_strdup_printf ("%sZ", seconds);
    case 3:
      return g_strdup_printf ("%s.%03dZ", seconds, (int) (rem / 1000));
    default:
      return g_strdup_printf ("%s.%06dZ", seconds, (int) rem);
    }
}

gboolean
custos_utc_parse (const char *text, gint64 *utc_us)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = text ? g_date_time_new_from_iso8601 (text, utc) : NULL;

  if (dt == NULL)
    return FALSE;
  *utc_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

void
custos_utc_json_add (JsonBuilder *builder, const char *member, gint64 utc_us, guint fraction_digits)
{
  g_autofree char *text = custos_utc_format (utc_us, fraction_digits);

  json_builder_set_member_name (builder, member);
  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}
