/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-bench"

#include "config.h"

#include <gst/app/app.h>

#include "bench-clip.h"
#include "custos-gst-time.h"

char *
bench_clip_snow (guint frames)
{
  return g_strdup_printf ("videotestsrc num-buffers=%u pattern=snow ! " BENCH_RAW_1080P
                          ",format=I420",
                          frames);
}

char *
bench_clip_description (const char *source,
                        const char *x264_options)
{
  return g_strdup_printf ("%s ! x264enc pass=cbr bitrate=4000 vbv-buf-capacity=1000 "
                          "key-int-max=60 %s ! "
                          "video/x-h264,stream-format=byte-stream,alignment=au ! "
                          "appsink name=sink sync=false",
                          source, x264_options);
}

static void
unit_free (BenchUnit *u)
{
  g_bytes_unref (u->data);
  g_free (u);
}

static BenchUnit *
unit_from_sample (GstSample *sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  BenchUnit *u = g_new0 (BenchUnit, 1);
  GstMapInfo map;

  u->pts_us = custos_gst_sample_running_us (sample, GST_BUFFER_PTS (buffer));
  u->dts_us = GST_BUFFER_DTS_IS_VALID (buffer) ? custos_gst_sample_running_us (sample, GST_BUFFER_DTS (buffer))
                                               : u->pts_us;
  u->keyframe = !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  gst_buffer_map (buffer, &map, GST_MAP_READ);
  u->data = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  return u;
}

GPtrArray *
bench_clip_encode (const char *description,
                   char      **caps_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, &error);
  g_autoptr (GstElement) sink = NULL;
  GPtrArray *units = g_ptr_array_new_with_free_func ((GDestroyNotify) unit_free);
  GstSample *sample;

  if (pipeline == NULL)
    g_error ("%s", error->message);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL)
    {
      if (*caps_out == NULL)
        *caps_out = gst_caps_to_string (gst_sample_get_caps (sample));
      g_ptr_array_add (units, unit_from_sample (sample));
      gst_sample_unref (sample);
    }
  /* Encoder threads end here, before anything is timed. */
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return units;
}
