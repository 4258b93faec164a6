/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record copier behind custos_rewrap() and custos_export_range(): it
 * takes the records of a fusion stream one by one, writes them out byte
 * for byte, adds RECIPIENT and KEY records for extra recipients next to
 * those of the provider's own certificate, and rewrites INDEX and TOC
 * records for the offsets they have in the output.
 */
#pragma once

#include <gio/gio.h>

#include "custos-key-provider.h"
#include "custos-record.h"

G_BEGIN_DECLS

typedef struct _CustosRecordCopy CustosRecordCopy;

/* Input offset `base` becomes output offset 0 (an export starts mid-file).
 * provider may be NULL when no recipient is added. */
CustosRecordCopy *custos_record_copy_new            (GOutputStream       *output,
                                                     guint64              base,
                                                     CustosKeyProvider   *provider,
                                                     GTlsInteraction     *interaction,
                                                     GCancellable        *cancellable);
void              custos_record_copy_free           (CustosRecordCopy    *self);
/* Certificates (CustosCertificate) to give the keys to; needs a provider. */
gboolean          custos_record_copy_add_recipients (CustosRecordCopy    *self,
                                                     GPtrArray           *certs,
                                                     gboolean             legacy,
                                                     GError             **error);
/* The record rec (header and body) found at input offset `offset`. TOC
 * records are rewritten too; an export writes its own with write_toc. */
gboolean          custos_record_copy_record         (CustosRecordCopy    *self,
                                                     guint64              offset,
                                                     const CustosRecordHeader *h,
                                                     const guint8        *rec,
                                                     GError             **error);
/* A TOC for entries (CustosTocEntry) that name input offsets. */
gboolean          custos_record_copy_write_toc      (CustosRecordCopy    *self,
                                                     GArray              *entries,
                                                     GError             **error);
/* Checks that the provider could open the keys it was to share; flushes. */
gboolean          custos_record_copy_finish         (CustosRecordCopy    *self,
                                                     GError             **error);
guint64           custos_record_copy_get_written    (CustosRecordCopy    *self);

/* Reads the record that starts at the stream's position (which is input
 * offset `offset`, for messages). NULL without an error at the end. */
guint8           *custos_record_read_next           (GInputStream        *input,
                                                     guint64              offset,
                                                     CustosRecordHeader  *h,
                                                     GCancellable        *cancellable,
                                                     GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosRecordCopy, custos_record_copy_free)

G_END_DECLS
