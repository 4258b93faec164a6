/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosRecordFilter: what one client may receive of the archive's
 * records (docs/fusion-stream.md §7.1). Sealed records (FILE_HEADER,
 * STREAM, DATA and the reserved data-like types), SIGNER and SEAL pass
 * unchanged, so every seal still verifies; RECIPIENT and KEY records
 * pass only when they are addressed to the client's certificate; the
 * seek index (INDEX, TOC), PADDING and unknown unsealed types are
 * dropped. The filter works on whole records in memory and never
 * decrypts anything: the archiver has no plaintext key to use.
 *
 * Also the record walker the archiver's other parts use to look at what
 * the writer produced (sync points, seals) without parsing bodies.
 */
#pragma once

#include <glib.h>

#include "custos-format.h"

G_BEGIN_DECLS

typedef struct
{
  gsize         offset;  /* of the header, within the walked buffer */
  guint8        type;
  guint8        flags;
  guint32       length;  /* body */
  const guint8 *body;
} CustosRecordView;

/* The next whole record at *pos. FALSE at the end of data or before a
 * record the data holds only part of (error unset; *need then says how
 * many bytes from *pos the record needs), or on an invalid header
 * (error set). */
gboolean custos_record_walk_next (const guint8      *data,
                                  gsize              len,
                                  gsize             *pos,
                                  CustosRecordView  *view,
                                  gsize             *need,
                                  GError           **error);

/* start and end (stream time, µs) from a SEAL body. */
gboolean custos_record_seal_times (const CustosRecordView *view,
                                   gint64                 *start_us,
                                   gint64                 *end_us);

typedef struct _CustosRecordFilter CustosRecordFilter;

/* recipient_id: SHA-256 of the client's certificate, or NULL for a
 * client without one (it gets no key records at all). */
CustosRecordFilter *custos_record_filter_new   (const guint8       *recipient_id);
void                custos_record_filter_free  (CustosRecordFilter *self);
/* Appends to out the records of data the client may receive; returns the
 * bytes consumed (whole records only; *need as for the walker when a
 * record is cut off), or -1 with error on an invalid header. */
gssize              custos_record_filter_apply (CustosRecordFilter *self,
                                                const guint8       *data,
                                                gsize               len,
                                                GByteArray         *out,
                                                gsize              *need,
                                                GError            **error);
/* Counts of what passed and what was dropped, for tests and logs. */
guint64             custos_record_filter_get_dropped_keys (CustosRecordFilter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosRecordFilter, custos_record_filter_free)

G_END_DECLS
