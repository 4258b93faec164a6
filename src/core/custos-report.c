/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-report"

#include "config.h"

#include "custos-report.h"

const char *
custos_issue_kind_to_string (CustosIssueKind kind)
{
  switch (kind)
    {
    case CUSTOS_ISSUE_DAMAGED:         return "damaged";
    case CUSTOS_ISSUE_TRUNCATED:       return "truncated";
    case CUSTOS_ISSUE_BAD_RECORD:      return "bad-record";
    case CUSTOS_ISSUE_DUPLICATE:       return "duplicate";
    case CUSTOS_ISSUE_REORDERED:       return "reordered";
    case CUSTOS_ISSUE_UNKNOWN_STREAM:  return "unknown-stream";
    case CUSTOS_ISSUE_CONFLICT:        return "conflict";
    case CUSTOS_ISSUE_LOCKED:          return "locked";
    case CUSTOS_ISSUE_KEY_FAILED:      return "key-failed";
    case CUSTOS_ISSUE_ALTERED:         return "altered";
    case CUSTOS_ISSUE_MISSING:         return "missing";
    case CUSTOS_ISSUE_UNSIGNED:        return "unsigned";
    case CUSTOS_ISSUE_BAD_SEAL:        return "bad-seal";
    case CUSTOS_ISSUE_MISSING_SEGMENT: return "missing-segment";
    default:                           return "unknown";
    }
}

static void
issue_free (CustosIssue *issue)
{
  g_free (issue->message);
  g_free (issue);
}

CustosReport *
custos_report_new (void)
{
  CustosReport *self = g_new0 (CustosReport, 1);

  self->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) issue_free);
  return self;
}

void
custos_report_free (CustosReport *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->issues);
  g_free (self);
}

void
custos_report_add (CustosReport   *self,
                   CustosIssueKind kind,
                   guint64         offset,
                   int             stream,
                   guint32         period,
                   guint32         counter,
                   gint64          utc_us,
                   const char     *format,
                   ...)
{
  CustosIssue *issue;
  va_list args;

  /* A hostile file can hold millions of bad records: keep the first ones
   * named and count the rest, so memory stays bounded. */
  if (self->issues->len >= CUSTOS_REPORT_MAX_ISSUES)
    {
      self->issues_dropped++;
      return;
    }
  issue = g_new0 (CustosIssue, 1);
  issue->kind = kind;
  issue->offset = offset;
  issue->stream = stream;
  issue->period = period;
  issue->counter = counter;
  issue->utc_us = utc_us;
  va_start (args, format);
  issue->message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (self->issues, issue);
}

guint
custos_report_count (CustosReport   *self,
                     CustosIssueKind kind)
{
  guint n = 0;

  for (guint i = 0; i < self->issues->len; i++)
    if (((CustosIssue *) self->issues->pdata[i])->kind == kind)
      n++;
  return n;
}
