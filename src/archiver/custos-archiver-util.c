/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <string.h>

#include "custos-archiver-util.h"
#include "custos-utc.h"

char *
custos_archiver_format_time (gint64 utc_us)
{
  if (utc_us == CUSTOS_ARCHIVER_NO_TIME)
    return NULL;
  return custos_utc_format (utc_us, 6);
}

gboolean
custos_archiver_parse_time (const char *text,
                            gint64     *utc_us)
{
  /* Bounded before parsing: the value comes from a URL. */
  if (text == NULL || *text == '\0' || strlen (text) > 64)
    return FALSE;
  return custos_utc_parse (text, utc_us);
}

gboolean
custos_archiver_id_is_valid (const char *id)
{
  gsize len;

  if (id == NULL || (len = strlen (id)) == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '_')
      return FALSE;
  return TRUE;
}

gboolean
custos_archiver_parse_fingerprint (const char *text,
                                   guint8      out[32])
{
  guint n = 0;
  int hi = -1;

  for (const char *p = text; *p != '\0'; p++)
    {
      int v;

      if (*p == ':' || *p == ' ' || *p == '\t')
        continue;
      if ((v = g_ascii_xdigit_value (*p)) < 0 || n >= 32)
        return FALSE;
      if (hi < 0)
        hi = v;
      else
        {
          out[n++] = (guint8) (hi << 4 | v);
          hi = -1;
        }
    }
  return n == 32 && hi < 0;
}
