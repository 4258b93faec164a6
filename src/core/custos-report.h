/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosReport: what a reader found, for people and scripts: counts per
 * packet status, and the named problems (damaged regions, locked, missing
 * and altered packets) with their offsets, streams and times.
 */
#pragma once

#include <glib-object.h>

#include "custos-seal.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_ISSUE_DAMAGED,          /* bytes that held no valid record, skipped */
  CUSTOS_ISSUE_TRUNCATED,        /* the data ends inside a record */
  CUSTOS_ISSUE_BAD_RECORD,       /* a record whose body is malformed */
  CUSTOS_ISSUE_DUPLICATE,        /* a packet received twice, dropped */
  CUSTOS_ISSUE_REORDERED,        /* a packet out of order */
  CUSTOS_ISSUE_UNKNOWN_STREAM,   /* data before or without its descriptor */
  CUSTOS_ISSUE_CONFLICT,         /* a repeated descriptor that differs */
  CUSTOS_ISSUE_LOCKED,           /* no key for these packets */
  CUSTOS_ISSUE_KEY_FAILED,       /* a key could not be unwrapped */
  CUSTOS_ISSUE_ALTERED,          /* packet failed GCM or its seal */
  CUSTOS_ISSUE_MISSING,          /* sealed, never received */
  CUSTOS_ISSUE_UNSIGNED,         /* no seal covers these packets */
  CUSTOS_ISSUE_BAD_SEAL,         /* signature invalid, or the signer unknown/untrusted */
  CUSTOS_ISSUE_MISSING_SEGMENT,  /* a gap in the seal sequence */
} CustosIssueKind;

const char *custos_issue_kind_to_string (CustosIssueKind kind);

typedef struct
{
  CustosIssueKind kind;
  guint64         offset;  /* byte offset of the record or region */
  int             stream;  /* -1 when not about one stream */
  guint32         period;
  guint32         counter;
  gint64          utc_us;  /* G_MININT64 when unknown */
  char           *message;
} CustosIssue;

#define CUSTOS_REPORT_MAX_ISSUES 2000

typedef struct
{
  guint64    records;
  guint64    packets;        /* DATA records delivered (any status) */
  guint64    decrypted;
  guint64    plaintext;
  guint64    locked;
  guint64    verified;
  guint64    matched;        /* fingerprint-only match in a failed segment */
  guint64    unsigned_packets;
  guint64    missing;
  guint64    altered;
  guint64    duplicates;
  guint64    reordered;
  guint64    damaged_bytes;
  guint      damaged_regions;
  guint      segments;
  guint      segments_failed;
  gboolean   truncated;
  GPtrArray *issues;         /* CustosIssue, at most CUSTOS_REPORT_MAX_ISSUES */
  guint64    issues_dropped;
} CustosReport;

CustosReport *custos_report_new       (void);
void          custos_report_free      (CustosReport   *self);
void          custos_report_add       (CustosReport   *self,
                                       CustosIssueKind kind,
                                       guint64         offset,
                                       int             stream,
                                       guint32         period,
                                       guint32         counter,
                                       gint64          utc_us,
                                       const char     *format,
                                       ...) G_GNUC_PRINTF (8, 9);
/* Counts per issue kind. */
guint         custos_report_count     (CustosReport   *self,
                                       CustosIssueKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosReport, custos_report_free)

G_END_DECLS
