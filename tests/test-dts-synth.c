/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosDtsSynth on hand-made presentation times in decode order, as a
 * demuxer without decode times gives them: IBBP, a B-pyramid, no
 * reordering (audio), a stream shorter than the learning window, and the
 * frames' own data handed back in order or freed with the helper.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include "custos.h"

#define FRAME 40000 /* 25 fps, µs */

/* I0 P3 B1 B2 P6 B4 B5 P9 B7 B8: x264enc bframes=2 b-pyramid=false. */
static const int ibbp[] = { 0, 3, 1, 2, 6, 4, 5, 9, 7, 8 };
/* I0 P4 B2 b1 b3 P8 B6 b5 b7: a B-pyramid reorders two frames. */
static const int pyramid[] = { 0, 4, 2, 1, 3, 8, 6, 5, 7 };

static void
push_frames (CustosDtsSynth *synth, const int *order, guint n, gint64 offset)
{
  for (guint i = 0; i < n; i++)
    custos_dts_synth_push (synth, offset + order[i] * FRAME, GINT_TO_POINTER (i + 1));
}

/* Pops everything ready; checks order, DTS <= PTS, strictly increasing
 * DTS; returns the DTS. */
static GArray *
pop_all (CustosDtsSynth *synth, const int *order, guint first, gint64 offset)
{
  GArray  *dts = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64   p, d;
  gpointer data;

  while (custos_dts_synth_pop (synth, &p, &d, &data))
    {
      guint i = first + dts->len;

      g_assert_cmpint (GPOINTER_TO_INT (data), ==, i + 1);
      g_assert_cmpint (p, ==, offset + order[i] * FRAME);
      g_assert_cmpint (d, <=, p);
      if (dts->len > 0)
        g_assert_cmpint (d, >, g_array_index (dts, gint64, dts->len - 1));
      g_array_append_val (dts, d);
    }
  return dts;
}

static void
test_ibbp (void)
{
  g_autoptr (CustosDtsSynth) synth = custos_dts_synth_new (CUSTOS_DTS_SYNTH_DEFAULT_WINDOW, NULL);
  g_autoptr (GArray) none = NULL;
  g_autoptr (GArray) dts = NULL;
  const gint64 offset = 1000000;

  push_frames (synth, ibbp, G_N_ELEMENTS (ibbp), offset);
  /* Fewer frames than the window: held until the stream ends. */
  none = pop_all (synth, ibbp, 0, offset);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpint (custos_dts_synth_get_depth (synth), ==, -1);
  g_assert_cmpuint (custos_dts_synth_get_held (synth), ==, G_N_ELEMENTS (ibbp));

  custos_dts_synth_drain (synth);
  g_assert_cmpint (custos_dts_synth_get_depth (synth), ==, 1);
  dts = pop_all (synth, ibbp, 0, offset);
  g_assert_cmpuint (dts->len, ==, G_N_ELEMENTS (ibbp));
  /* The PTS sorted, one frame earlier: -1, 0, 1, ... 8 frames. */
  for (guint i = 0; i < dts->len; i++)
    g_assert_cmpint (g_array_index (dts, gint64, i), ==, offset + ((gint64) i - 1) * FRAME);
  g_assert_cmpuint (custos_dts_synth_get_held (synth), ==, 0);
}

static void
test_pyramid (void)
{
  g_autoptr (CustosDtsSynth) synth = custos_dts_synth_new (CUSTOS_DTS_SYNTH_DEFAULT_WINDOW, NULL);
  g_autoptr (GArray) dts = NULL;

  push_frames (synth, pyramid, G_N_ELEMENTS (pyramid), 0);
  custos_dts_synth_drain (synth);
  g_assert_cmpint (custos_dts_synth_get_depth (synth), ==, 2);
  dts = pop_all (synth, pyramid, 0, 0);
  g_assert_cmpuint (dts->len, ==, G_N_ELEMENTS (pyramid));
  for (guint i = 0; i < dts->len; i++)
    g_assert_cmpint (g_array_index (dts, gint64, i), ==, ((gint64) i - 2) * FRAME);
}

/* After the learning window, each frame comes out as it goes in. */
static void
test_streaming (void)
{
  g_autoptr (CustosDtsSynth) synth = custos_dts_synth_new (4, NULL);
  int    order[40];
  gint64 last = G_MININT64;

  for (guint gop = 0; gop < 4; gop++)
    for (guint i = 0; i < G_N_ELEMENTS (ibbp); i++)
      order[gop * 10 + i] = gop * 10 + ibbp[i];
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_autoptr (GArray) out = NULL;

      custos_dts_synth_push (synth, order[i] * FRAME, GINT_TO_POINTER (i + 1));
      out = pop_all (synth, order, i < 4 ? 0 : i, 0);
      if (i < 3)
        {
          g_assert_cmpuint (out->len, ==, 0);
          continue;
        }
      g_assert_cmpuint (out->len, ==, i == 3 ? 4 : 1);
      g_assert_cmpint (g_array_index (out, gint64, 0), >, last);
      last = g_array_index (out, gint64, out->len - 1);
      g_assert_cmpint (last, ==, ((gint64) i - 1) * FRAME);
    }
  custos_dts_synth_drain (synth);
  g_assert_false (custos_dts_synth_pop (synth, NULL, NULL, NULL));
}

/* Audio, or video without B-frames: the DTS are the PTS. */
static void
test_in_order (void)
{
  g_autoptr (CustosDtsSynth) synth = custos_dts_synth_new (CUSTOS_DTS_SYNTH_DEFAULT_WINDOW, NULL);
  gint64 p, d;
  guint  n = 0;

  for (guint i = 0; i < 40; i++)
    custos_dts_synth_push (synth, i * 20000, NULL);
  g_assert_cmpint (custos_dts_synth_get_depth (synth), ==, 0);
  custos_dts_synth_drain (synth);
  while (custos_dts_synth_pop (synth, &p, &d, NULL))
    {
      g_assert_cmpint (p, ==, n * 20000);
      g_assert_cmpint (d, ==, p);
      n++;
    }
  g_assert_cmpuint (n, ==, 40);
}

static void
test_free_held (void)
{
  CustosDtsSynth *synth = custos_dts_synth_new (8, g_free);
  gpointer        data = NULL;

  for (guint i = 0; i < 10; i++)
    custos_dts_synth_push (synth, ibbp[i] * FRAME, g_strdup_printf ("frame %u", i));
  g_assert_true (custos_dts_synth_pop (synth, NULL, NULL, &data));
  g_assert_cmpstr (data, ==, "frame 0");
  g_free (data);
  /* Popped without taking the data: the helper frees it. */
  g_assert_true (custos_dts_synth_pop (synth, NULL, NULL, NULL));
  g_assert_cmpuint (custos_dts_synth_get_held (synth), ==, 8);
  custos_dts_synth_free (synth);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/dts-synth/ibbp", test_ibbp);
  g_test_add_func ("/dts-synth/pyramid", test_pyramid);
  g_test_add_func ("/dts-synth/streaming", test_streaming);
  g_test_add_func ("/dts-synth/in-order", test_in_order);
  g_test_add_func ("/dts-synth/free-held", test_free_held);

  return g_test_run ();
}
