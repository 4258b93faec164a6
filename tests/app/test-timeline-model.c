/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosTimelineModel and the time helpers, without a display: recorded
 * ranges merging, locked ranges, verification verdicts down to one frame
 * from custosdemux's messages, and local time ↔ UTC across the
 * daylight-saving changes of Europe/Berlin (TZ is set by the test's
 * environment; the zone is also asked for by name).
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gst/gst.h>

#include "custos-time.h"
#include "custos-timeline-model.h"

#define S G_USEC_PER_SEC
#define FRAME 40000
/* 2026-11-21T20:34:00Z */
#define T0 G_GINT64_CONSTANT (1795293240000000)

static gint64
utc (int year, int month, int day, int hour, int minute)
{
  g_autoptr (GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, 0);

  return g_date_time_to_unix (dt) * S;
}

static void
assert_ranges (CustosTimelineModel *model, gboolean locked, const gint64 *expected,
               guint n_expected)
{
  guint                      n;
  const CustosTimelineRange *r = locked ? custos_timeline_model_get_locked (model, &n)
                                        : custos_timeline_model_get_recorded (model, &n);

  g_assert_cmpuint (n, ==, n_expected);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (r[i].start_us, ==, expected[2 * i]);
      g_assert_cmpint (r[i].end_us, ==, expected[2 * i + 1]);
    }
}

static void
test_ranges_merge (void)
{
  g_autoptr (CustosTimelineModel) model = custos_timeline_model_new ();
  guint  changes = 0;
  gint64 start, end;

  g_signal_connect_swapped (model, "changed", G_CALLBACK (g_atomic_int_inc), &changes);
  g_assert_false (custos_timeline_model_get_bounds (model, NULL, NULL));
  custos_timeline_model_add_recorded (model, T0 + 30 * S, T0 + 40 * S);
  custos_timeline_model_add_recorded (model, T0 + 10 * S, T0 + 20 * S);
  assert_ranges (model, FALSE, (gint64[]){ T0 + 10 * S, T0 + 20 * S, T0 + 30 * S, T0 + 40 * S }, 2);
  /* Touching merges; overlapping merges; empty ranges are ignored. */
  custos_timeline_model_add_recorded (model, T0 + 20 * S, T0 + 25 * S);
  custos_timeline_model_add_recorded (model, T0 + 50 * S, T0 + 50 * S);
  assert_ranges (model, FALSE, (gint64[]){ T0 + 10 * S, T0 + 25 * S, T0 + 30 * S, T0 + 40 * S }, 2);
  g_assert_true (custos_timeline_model_is_recorded (model, T0 + 24 * S));
  g_assert_false (custos_timeline_model_is_recorded (model, T0 + 25 * S));
  g_assert_false (custos_timeline_model_is_recorded (model, T0 + 27 * S));
  custos_timeline_model_add_recorded (model, T0 + 24 * S, T0 + 31 * S);
  assert_ranges (model, FALSE, (gint64[]){ T0 + 10 * S, T0 + 40 * S }, 1);
  custos_timeline_model_add_recorded (model, T0, T0 + 60 * S);
  assert_ranges (model, FALSE, (gint64[]){ T0, T0 + 60 * S }, 1);
  g_assert_true (custos_timeline_model_get_bounds (model, &start, &end));
  g_assert_cmpint (start, ==, T0);
  g_assert_cmpint (end, ==, T0 + 60 * S);
  g_assert_cmpuint (changes, ==, 6);
}

static void
test_locked (void)
{
  g_autoptr (CustosTimelineModel) model = custos_timeline_model_new ();

  custos_timeline_model_add_locked (model, T0 + 60 * S, T0 + 120 * S);
  custos_timeline_model_add_locked (model, T0 + 180 * S, T0 + 240 * S);
  g_assert_false (custos_timeline_model_is_locked (model, T0 + 59 * S));
  g_assert_true (custos_timeline_model_is_locked (model, T0 + 60 * S));
  g_assert_false (custos_timeline_model_is_locked (model, T0 + 150 * S));
  assert_ranges (model, TRUE, (gint64[]){ T0 + 60 * S, T0 + 120 * S, T0 + 180 * S, T0 + 240 * S },
                 2);
  /* Locked is not recorded-and-readable. */
  assert_ranges (model, FALSE, NULL, 0);
  custos_timeline_model_clear_locked (model);
  g_assert_false (custos_timeline_model_is_locked (model, T0 + 60 * S));
}

static void
assert_verdicts (CustosTimelineModel *model, const CustosVerdictRange *expected, guint n_expected)
{
  guint                     n;
  const CustosVerdictRange *v = custos_timeline_model_get_verdicts (model, &n);

  g_assert_cmpuint (n, ==, n_expected);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (v[i].start_us, ==, expected[i].start_us);
      g_assert_cmpint (v[i].end_us, ==, expected[i].end_us);
      g_assert_cmpint (v[i].verdict, ==, expected[i].verdict);
    }
}

static void
test_verdicts (void)
{
  g_autoptr (CustosTimelineModel) model = custos_timeline_model_new ();

  custos_timeline_model_set_verdict (model, T0, T0 + S, CUSTOS_TIMELINE_VERIFIED, FALSE);
  custos_timeline_model_set_verdict (model, T0 + 10 * FRAME, T0 + 11 * FRAME,
                                     CUSTOS_TIMELINE_ALTERED, FALSE);
  assert_verdicts (
      model,
      (CustosVerdictRange[]){ { T0, T0 + 10 * FRAME, CUSTOS_TIMELINE_VERIFIED },
                              { T0 + 10 * FRAME, T0 + 11 * FRAME, CUSTOS_TIMELINE_ALTERED },
                              { T0 + 11 * FRAME, T0 + S, CUSTOS_TIMELINE_VERIFIED } },
      3);
  /* The frame before and after are fine: down to the frame. */
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, T0 + 10 * FRAME - 1), ==,
                   CUSTOS_TIMELINE_VERIFIED);
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, T0 + 10 * FRAME), ==,
                   CUSTOS_TIMELINE_ALTERED);
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, T0 + 11 * FRAME), ==,
                   CUSTOS_TIMELINE_VERIFIED);
  g_assert_cmpint (custos_timeline_model_get_worst_verdict (model, T0, T0 + S), ==,
                   CUSTOS_TIMELINE_ALTERED);
  /* A better verdict over it does not hide the altered frame… */
  custos_timeline_model_set_verdict (model, T0 - S, T0 + 2 * S, CUSTOS_TIMELINE_NOT_SIGNED, FALSE);
  assert_verdicts (
      model,
      (CustosVerdictRange[]){ { T0 - S, T0 + 10 * FRAME, CUSTOS_TIMELINE_NOT_SIGNED },
                              { T0 + 10 * FRAME, T0 + 11 * FRAME, CUSTOS_TIMELINE_ALTERED },
                              { T0 + 11 * FRAME, T0 + 2 * S, CUSTOS_TIMELINE_NOT_SIGNED } },
      3);
  /* …unless it replaces it; neighbours with the same verdict merge. */
  custos_timeline_model_set_verdict (model, T0, T0 + S, CUSTOS_TIMELINE_NOT_SIGNED, TRUE);
  assert_verdicts (model,
                   (CustosVerdictRange[]){ { T0 - S, T0 + 2 * S, CUSTOS_TIMELINE_NOT_SIGNED } }, 1);
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, T0 + 3 * S), ==,
                   CUSTOS_TIMELINE_UNKNOWN);
}

static GstStructure *
problem (const char *status, gint64 utc_us)
{
  return gst_structure_new ("custos-packet", "stream", G_TYPE_INT, 0, "period", G_TYPE_UINT, 0,
                            "counter", G_TYPE_UINT, 1, "status", G_TYPE_STRING, status, "offset",
                            G_TYPE_UINT64, (guint64) 0, "utc", G_TYPE_INT64, utc_us, NULL);
}

/* A message as gst_custos_verification_new() makes it. */
static GstStructure *
verification (gboolean sealed, const char *status, gint64 start, gint64 stop, guint dropped,
              GstStructure *problem1, GstStructure *problem2)
{
  GstStructure *s =
      gst_structure_new ("custos-verification", "sealed", G_TYPE_BOOLEAN, sealed, "status",
                         G_TYPE_STRING, status, "start-utc", G_TYPE_INT64, start, "stop-utc",
                         G_TYPE_INT64, stop, "problems-dropped", G_TYPE_UINT, dropped, NULL);
  GValue array = G_VALUE_INIT;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (GstStructure **p = (GstStructure *[]){ problem1, problem2, NULL }; *p != NULL; p++)
    {
      GValue v = G_VALUE_INIT;

      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, *p);
      gst_value_array_append_and_take_value (&array, &v);
    }
  gst_structure_take_value (s, "problems", &array);
  return s;
}

static void
test_messages (void)
{
  g_autoptr (CustosTimelineModel) model = custos_timeline_model_new ();
  g_autoptr (GstStructure) sealed = NULL;
  g_autoptr (GstStructure) unsealed = NULL;
  g_autoptr (GstStructure) damaged = NULL;
  g_autoptr (GstStructure) locked = NULL;
  g_autoptr (GstStructure) other = gst_structure_new_empty ("something-else");
  gint64 seg2 = T0 + S;

  custos_timeline_model_set_frame_duration (model, FRAME);
  /* One second sealed: frame 10 altered, frame 20 missing. */
  sealed =
      verification (TRUE, "altered", T0, T0 + S - FRAME, 0, problem ("altered", T0 + 10 * FRAME),
                    problem ("missing", T0 + 20 * FRAME));
  g_assert_true (custos_timeline_model_handle_message (model, sealed));
  assert_ranges (model, FALSE, (gint64[]){ T0, T0 + S }, 1);
  assert_verdicts (
      model,
      (CustosVerdictRange[]){ { T0, T0 + 10 * FRAME, CUSTOS_TIMELINE_VERIFIED },
                              { T0 + 10 * FRAME, T0 + 11 * FRAME, CUSTOS_TIMELINE_ALTERED },
                              { T0 + 11 * FRAME, T0 + 20 * FRAME, CUSTOS_TIMELINE_VERIFIED },
                              { T0 + 20 * FRAME, T0 + 21 * FRAME, CUSTOS_TIMELINE_MISSING },
                              { T0 + 21 * FRAME, T0 + S, CUSTOS_TIMELINE_VERIFIED } },
      5);
  /* The next second has no seal: not signed, and recorded. */
  unsealed = verification (FALSE, "not-signed", seg2, seg2 + S - FRAME, 0, NULL, NULL);
  g_assert_true (custos_timeline_model_handle_message (model, unsealed));
  assert_ranges (model, FALSE, (gint64[]){ T0, T0 + 2 * S }, 1);
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, seg2 + S / 2), ==,
                   CUSTOS_TIMELINE_NOT_SIGNED);
  /* Too many problems to list: the whole segment gets the worst. */
  damaged = verification (TRUE, "altered", T0 + 2 * S, T0 + 3 * S - FRAME, 100, NULL, NULL);
  custos_timeline_model_handle_message (model, damaged);
  g_assert_cmpint (custos_timeline_model_get_verdict_at (model, T0 + 2 * S + 5 * FRAME), ==,
                   CUSTOS_TIMELINE_ALTERED);
  /* Locked: from the first locked packet to the end of its key period. */
  locked = gst_structure_new ("custos-locked", "stream", G_TYPE_UINT, 0, "period", G_TYPE_UINT, 3,
                              "reason", G_TYPE_STRING, "no-key", "start-utc", G_TYPE_INT64,
                              T0 + 180 * S, "stop-utc", G_TYPE_INT64, T0 + 240 * S, NULL);
  g_assert_true (custos_timeline_model_handle_message (model, locked));
  g_assert_true (custos_timeline_model_is_locked (model, T0 + 200 * S));
  g_assert_false (custos_timeline_model_is_locked (model, T0 + 100 * S));
  g_assert_false (custos_timeline_model_handle_message (model, other));
}

/* Time zones */

static GTimeZone *
berlin (void)
{
  GTimeZone *tz = g_time_zone_new_identifier ("Europe/Berlin");

  if (tz == NULL)
    g_test_skip ("no tzdata for Europe/Berlin (install the tzdata package)");
  return tz;
}

static void
test_local_zone_is_tz (void)
{
  g_autoptr (GTimeZone) local = custos_time_zone (FALSE);
  g_autoptr (GTimeZone) utc_zone = custos_time_zone (TRUE);
  g_autofree char *winter = custos_time_format (utc (2026, 1, 15, 12, 0), local);
  g_autofree char *in_utc = custos_time_format (utc (2026, 1, 15, 12, 0), utc_zone);

  if (g_strcmp0 (g_getenv ("TZ"), "Europe/Berlin") != 0)
    {
      g_test_skip ("TZ is not Europe/Berlin (run through meson test)");
      return;
    }
  g_assert_cmpstr (winter, ==, "2026-01-15 13:00:00.000 CET");
  g_assert_cmpstr (in_utc, ==, "2026-01-15 12:00:00.000 UTC");
}

static void
test_spring_forward (void)
{
  g_autoptr (GTimeZone) tz = berlin ();
  g_autoptr (GError) error = NULL;
  gboolean         ambiguous = TRUE;
  gint64           u = 0;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  if (tz == NULL)
    return;
  /* 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC. */
  before = custos_time_format (utc (2026, 3, 29, 1, 0) - 1000, tz);
  after = custos_time_format (utc (2026, 3, 29, 1, 0), tz);
  g_assert_cmpstr (before, ==, "2026-03-29 01:59:59.999 CET");
  g_assert_cmpstr (after, ==, "2026-03-29 03:00:00.000 CEST");

  g_assert_true (custos_time_from_local (tz, 2026, 3, 29, 1, 30, 0, FALSE, &u, &ambiguous, &error));
  g_assert_no_error (error);
  g_assert_cmpint (u, ==, utc (2026, 3, 29, 0, 30));
  g_assert_false (ambiguous);
  g_assert_true (custos_time_from_local (tz, 2026, 3, 29, 3, 30, 0, FALSE, &u, &ambiguous, &error));
  g_assert_cmpint (u, ==, utc (2026, 3, 29, 1, 30));
  /* 02:30 never happened that night. */
  g_assert_false (custos_time_from_local (tz, 2026, 3, 29, 2, 30, 0, FALSE, &u, NULL, &error));
  g_assert_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_NONEXISTENT);
  g_assert_nonnull (strstr (error->message, "2026-03-29 02:30"));
  g_clear_error (&error);
  g_assert_false (custos_time_parse ("2026-03-29 02:30", tz, &u, NULL, &error));
  g_assert_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_NONEXISTENT);
}

static void
test_fall_back (void)
{
  g_autoptr (GTimeZone) tz = berlin ();
  g_autoptr (GError) error = NULL;
  gboolean         ambiguous = FALSE;
  gint64           u = 0;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  if (tz == NULL)
    return;
  /* 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30 comes twice. */
  g_assert_true (
      custos_time_from_local (tz, 2026, 10, 25, 2, 30, 0, FALSE, &u, &ambiguous, &error));
  g_assert_no_error (error);
  g_assert_true (ambiguous);
  g_assert_cmpint (u, ==, utc (2026, 10, 25, 0, 30));
  g_assert_true (custos_time_from_local (tz, 2026, 10, 25, 2, 30, 0, TRUE, &u, &ambiguous, &error));
  g_assert_cmpint (u, ==, utc (2026, 10, 25, 1, 30));
  first = custos_time_format (utc (2026, 10, 25, 0, 30), tz);
  second = custos_time_format (utc (2026, 10, 25, 1, 30), tz);
  g_assert_cmpstr (first, ==, "2026-10-25 02:30:00.000 CEST");
  g_assert_cmpstr (second, ==, "2026-10-25 02:30:00.000 CET");
  /* Parsing: the first, and said so; with seconds and milliseconds. */
  g_assert_true (custos_time_parse ("2026-10-25 02:30:15.250", tz, &u, &ambiguous, &error));
  g_assert_true (ambiguous);
  g_assert_cmpint (u, ==, utc (2026, 10, 25, 0, 30) + 15 * S + 250000);
  g_assert_true (custos_time_parse ("2026-10-25 04:00", tz, &u, &ambiguous, &error));
  g_assert_false (ambiguous);
  g_assert_cmpint (u, ==, utc (2026, 10, 25, 3, 0));
}

static void
test_parse (void)
{
  g_autoptr (GTimeZone) tz = berlin ();
  gint64      u = 0;
  const char *bad[] = { "",           "yesterday",        "2026-02-30 10:00",
                        "2026-13-01", "2026-01-01 24:00", "2026-01-01 10:61" };

  if (tz == NULL)
    return;
  /* An explicit UTC wins over the zone. */
  g_assert_true (custos_time_parse ("2026-03-29T02:30:00Z", tz, &u, NULL, NULL));
  g_assert_cmpint (u, ==, utc (2026, 3, 29, 2, 30));
  g_assert_true (custos_time_parse (" 2026-07-01 12:00 UTC ", tz, &u, NULL, NULL));
  g_assert_cmpint (u, ==, utc (2026, 7, 1, 12, 0));
  /* Summer in Berlin is UTC+2; a date alone is its midnight. */
  g_assert_true (custos_time_parse ("2026-07-01 12:00", tz, &u, NULL, NULL));
  g_assert_cmpint (u, ==, utc (2026, 7, 1, 10, 0));
  g_assert_true (custos_time_parse ("2026-07-01", tz, &u, NULL, NULL));
  g_assert_cmpint (u, ==, utc (2026, 6, 30, 22, 0));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (custos_time_parse (bad[i], tz, &u, NULL, &error));
      g_assert_error (error, CUSTOS_TIME_ERROR, CUSTOS_TIME_ERROR_INVALID);
    }
}

static void
test_ticks (void)
{
  g_autoptr (GTimeZone) tz = berlin ();
  g_autoptr (GArray) days = NULL;
  g_autoptr (GArray) spring = NULL;
  g_autoptr (GArray) autumn = NULL;
  guint twice = 0;

  if (tz == NULL)
    return;
  /* Day ticks are local midnights: the spring day is 23 hours long. */
  days = custos_time_ticks (utc (2026, 3, 28, 0, 0), utc (2026, 3, 31, 0, 0), G_TIME_SPAN_DAY, tz);
  g_assert_cmpuint (days->len, ==, 3);
  g_assert_cmpint (g_array_index (days, gint64, 0), ==, utc (2026, 3, 28, 23, 0));
  g_assert_cmpint (g_array_index (days, gint64, 1), ==, utc (2026, 3, 29, 22, 0));
  g_assert_cmpint (g_array_index (days, gint64, 2), ==, utc (2026, 3, 30, 22, 0));
  /* Hour ticks of the local day: 23 in spring, 25 in autumn (02:00 twice). */
  spring =
      custos_time_ticks (utc (2026, 3, 28, 23, 0), utc (2026, 3, 29, 22, 0), G_TIME_SPAN_HOUR, tz);
  g_assert_cmpuint (spring->len, ==, 23);
  autumn = custos_time_ticks (utc (2026, 10, 24, 22, 0), utc (2026, 10, 25, 23, 0),
                              G_TIME_SPAN_HOUR, tz);
  g_assert_cmpuint (autumn->len, ==, 25);
  for (guint i = 0; i < autumn->len; i++)
    {
      g_autofree char *label =
          custos_time_format_short (g_array_index (autumn, gint64, i), tz, FALSE, FALSE);

      twice += g_strcmp0 (label, "02:00") == 0;
      if (i > 0)
        g_assert_cmpint (g_array_index (autumn, gint64, i) - g_array_index (autumn, gint64, i - 1),
                         ==, G_TIME_SPAN_HOUR);
    }
  g_assert_cmpuint (twice, ==, 2);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/timeline-model/ranges-merge", test_ranges_merge);
  g_test_add_func ("/timeline-model/locked", test_locked);
  g_test_add_func ("/timeline-model/verdicts", test_verdicts);
  g_test_add_func ("/timeline-model/messages", test_messages);
  g_test_add_func ("/time/local-zone-is-tz", test_local_zone_is_tz);
  g_test_add_func ("/time/spring-forward", test_spring_forward);
  g_test_add_func ("/time/fall-back", test_fall_back);
  g_test_add_func ("/time/parse", test_parse);
  g_test_add_func ("/time/ticks", test_ticks);
  return g_test_run ();
}
