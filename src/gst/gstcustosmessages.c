/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gstcustosmessages.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_messages_debug);
#define GST_CAT_DEFAULT gst_custos_messages_debug

/* A verification message names at most this many packets: a badly
 * damaged segment must not make a message of megabytes. */
#define MAX_LISTED_PROBLEMS 64

static void
ensure_debug_category (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      GST_DEBUG_CATEGORY_INIT (gst_custos_messages_debug, "custosmessages", 0,
                               "custosdemux element messages");
      g_once_init_leave (&done, 1);
    }
}

static gboolean
to_output (gint64        utc_us,
           gint64        base_utc_us,
           GstClockTime *out)
{
  if (base_utc_us == G_MININT64)
    return FALSE;
  *out = utc_us > base_utc_us ? (GstClockTime) (utc_us - base_utc_us) * GST_USECOND : 0;
  return TRUE;
}

static void
take_structure_value (GValue       *array,
                      GstStructure *structure)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, structure);
  gst_value_array_append_and_take_value (array, &v);
}

/* "custos-locked" */

static void
add_recipients (CustosReader *reader,
                GstStructure *message)
{
  g_autoptr (GPtrArray) recipients = custos_reader_get_recipients (reader);
  GValue array = G_VALUE_INIT;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (guint i = 0; i < recipients->len; i++)
    {
      const CustosRecipientInfo *r = recipients->pdata[i];
      g_autofree char *id = custos_hex_encode (r->id, CUSTOS_RECIPIENT_ID_LEN);

      take_structure_value (&array, gst_structure_new ("custos-recipient",
                                                       "id", G_TYPE_STRING, id,
                                                       "label", G_TYPE_STRING,
                                                       r->label ? r->label : "",
                                                       "ours", G_TYPE_BOOLEAN, r->ours,
                                                       NULL));
    }
  gst_structure_take_value (message, "recipients", &array);
}

GstStructure *
gst_custos_locked_new (CustosReader *reader,
                       guint         stream,
                       guint32       period,
                       const char   *reason,
                       gint64        start_utc_us,
                       gint64        stop_utc_us,
                       gint64        base_utc_us)
{
  GstStructure *st = gst_structure_new ("custos-locked",
                                        "stream", G_TYPE_UINT, stream,
                                        "period", G_TYPE_UINT, period,
                                        "reason", G_TYPE_STRING, reason,
                                        "start-utc", G_TYPE_INT64, start_utc_us,
                                        "stop-utc", G_TYPE_INT64, stop_utc_us,
                                        NULL);
  GstClockTime start, stop;

  if (to_output (start_utc_us, base_utc_us, &start) && to_output (stop_utc_us, base_utc_us, &stop))
    gst_structure_set (st, "start", G_TYPE_UINT64, start, "stop", G_TYPE_UINT64, stop, NULL);
  add_recipients (reader, st);
  return st;
}

/* "custos-verification" */

static const char *
verdict_name (CustosVerifyStatus status)
{
  switch (status)
    {
    case CUSTOS_VERIFY_VERIFIED: return "verified";
    case CUSTOS_VERIFY_MATCHED:  return "matched";
    case CUSTOS_VERIFY_UNSIGNED: return "not-signed";
    case CUSTOS_VERIFY_MISSING:  return "missing";
    case CUSTOS_VERIFY_ALTERED:  return "altered";
    case CUSTOS_VERIFY_PENDING:
    default:                     return "pending";
    }
}

/* Worse verdicts rank higher. */
static int
verdict_rank (CustosVerifyStatus status)
{
  switch (status)
    {
    case CUSTOS_VERIFY_VERIFIED: return 0;
    case CUSTOS_VERIFY_MATCHED:  return 1;
    case CUSTOS_VERIFY_UNSIGNED: return 2;
    case CUSTOS_VERIFY_MISSING:  return 3;
    case CUSTOS_VERIFY_ALTERED:  return 4;
    case CUSTOS_VERIFY_PENDING:
    default:                     return 2;
    }
}

static GstStructure *
problem_packet (const CustosSealVerdict *v,
                gint64                   base_utc_us)
{
  GstStructure *st = gst_structure_new ("custos-packet",
                                        "stream", G_TYPE_INT, v->stream,
                                        "period", G_TYPE_UINT, v->period,
                                        "counter", G_TYPE_UINT, v->counter,
                                        "status", G_TYPE_STRING, verdict_name (v->status),
                                        "offset", G_TYPE_UINT64, v->offset,
                                        NULL);
  GstClockTime pts;

  if (v->utc_us == G_MININT64)
    return st;
  gst_structure_set (st, "utc", G_TYPE_INT64, v->utc_us, NULL);
  if (to_output (v->utc_us, base_utc_us, &pts))
    gst_structure_set (st, "pts", G_TYPE_UINT64, pts, NULL);
  return st;
}

typedef struct
{
  guint              counts[CUSTOS_VERIFY_MATCHED + 1];
  CustosVerifyStatus worst;
  gint64             start_utc;
  gint64             stop_utc;
  guint              listed;
  guint              dropped;
  GValue             problems;
} Summary;

static void
summarise_verdict (Summary                 *sum,
                   const CustosSealVerdict *v,
                   gint64                   base_utc_us)
{
  if (verdict_rank (v->status) > verdict_rank (sum->worst))
    sum->worst = v->status;
  /* Counts are of packets; descriptors only show in the status and list. */
  if (v->stream >= 0 && v->status <= CUSTOS_VERIFY_MATCHED)
    sum->counts[v->status]++;
  if (v->stream >= 0 && v->utc_us != G_MININT64)
    {
      sum->start_utc = MIN (sum->start_utc, v->utc_us);
      sum->stop_utc = MAX (sum->stop_utc, v->utc_us);
    }
  /* Matched packets are consistent with the seal; the others are named. */
  if (v->status == CUSTOS_VERIFY_VERIFIED || v->status == CUSTOS_VERIFY_MATCHED)
    return;
  if (sum->listed >= MAX_LISTED_PROBLEMS)
    {
      sum->dropped++;
      return;
    }
  take_structure_value (&sum->problems, problem_packet (v, base_utc_us));
  sum->listed++;
}

static void
set_seal_fields (GstStructure           *st,
                 const CustosSealResult *result)
{
  g_autofree char *subject = NULL;

  if (result->sealed)
    gst_structure_set (st, "segment", G_TYPE_UINT, result->segment,
                       "offset", G_TYPE_UINT64, result->offset, NULL);
  if (result->problem != NULL)
    gst_structure_set (st, "problem", G_TYPE_STRING, result->problem, NULL);
  gst_structure_set (st, "signer-trusted", G_TYPE_BOOLEAN, result->signer_trusted, NULL);
  if (result->signer == NULL)
    return;
  subject = custos_certificate_dup_subject (result->signer);
  gst_structure_set (st, "signer", G_TYPE_STRING, subject, NULL);
}

static void
set_summary_fields (GstStructure *st,
                    Summary      *sum,
                    gint64        base_utc_us)
{
  GstClockTime start, stop;

  gst_structure_set (st,
                     "status", G_TYPE_STRING, verdict_name (sum->worst),
                     "verified", G_TYPE_UINT, sum->counts[CUSTOS_VERIFY_VERIFIED],
                     "matched", G_TYPE_UINT, sum->counts[CUSTOS_VERIFY_MATCHED],
                     "not-signed", G_TYPE_UINT, sum->counts[CUSTOS_VERIFY_UNSIGNED],
                     "missing", G_TYPE_UINT, sum->counts[CUSTOS_VERIFY_MISSING],
                     "altered", G_TYPE_UINT, sum->counts[CUSTOS_VERIFY_ALTERED],
                     "problems-dropped", G_TYPE_UINT, sum->dropped,
                     NULL);
  if (sum->start_utc <= sum->stop_utc)
    {
      gst_structure_set (st, "start-utc", G_TYPE_INT64, sum->start_utc,
                         "stop-utc", G_TYPE_INT64, sum->stop_utc, NULL);
      if (to_output (sum->start_utc, base_utc_us, &start) &&
          to_output (sum->stop_utc, base_utc_us, &stop))
        gst_structure_set (st, "start", G_TYPE_UINT64, start, "stop", G_TYPE_UINT64, stop, NULL);
    }
  gst_structure_take_value (st, "problems", &sum->problems);
}

GstStructure *
gst_custos_verification_new (const CustosSealResult *result,
                             gint64                  base_utc_us)
{
  Summary sum = { { 0 }, CUSTOS_VERIFY_VERIFIED, G_MAXINT64, G_MININT64, 0, 0, G_VALUE_INIT };
  GstStructure *st = gst_structure_new ("custos-verification",
                                        "sealed", G_TYPE_BOOLEAN, result->sealed, NULL);

  ensure_debug_category ();
  g_value_init (&sum.problems, GST_TYPE_ARRAY);
  for (guint i = 0; i < result->n_verdicts; i++)
    summarise_verdict (&sum, &result->verdicts[i], base_utc_us);
  set_seal_fields (st, result);
  set_summary_fields (st, &sum, base_utc_us);
  if (sum.dropped > 0)
    GST_DEBUG ("%u problem packets not listed", sum.dropped);
  return st;
}
