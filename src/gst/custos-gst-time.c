/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-gst"

#include "config.h"

#include "custos-gst-time.h"

gboolean
custos_gst_running_time_us (const GstSegment *segment,
                            GstClockTime      t,
                            gint64           *out)
{
  guint64 running;
  int sign;

  if (!GST_CLOCK_TIME_IS_VALID (t))
    return FALSE;
  if (segment == NULL || segment->format != GST_FORMAT_TIME)
    {
      *out = (gint64) (t / 1000);
      return TRUE;
    }
  /* Encoders may shift their segment (x264enc starts at 1000 h so DTS can
   * precede PTS); running time is what starts at zero. */
  sign = gst_segment_to_running_time_full (segment, GST_FORMAT_TIME, t, &running);
  if (sign == 0)
    return FALSE;
  *out = sign > 0 ? (gint64) (running / 1000) : -(gint64) (running / 1000);
  return TRUE;
}

gint64
custos_gst_sample_running_us (GstSample   *sample,
                              GstClockTime t)
{
  gint64 us;

  return custos_gst_running_time_us (gst_sample_get_segment (sample), t, &us) ? us : G_MININT64;
}

void
custos_gst_choose_dts (const char      *name,
                       gboolean         video,
                       gboolean         have_pts,
                       gboolean         have_dts,
                       gboolean        *timed,
                       CustosDtsSynth **synth)
{
  if (*timed || (!have_pts && !have_dts))
    return;
  *timed = TRUE;
  if (have_dts || !video)
    return;
  g_debug ("%s: no decode times, made from the presentation times", name);
  *synth = custos_dts_synth_new (CUSTOS_DTS_SYNTH_DEFAULT_WINDOW, (GDestroyNotify) gst_sample_unref);
}
