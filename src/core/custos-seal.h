/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-seal.h: the hash chain of a segment (docs/fusion-stream.md §7),
 * built by the writer and recomputed by the reader, and the alignment that
 * names missing and altered records when a seal does not match.
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "custos-format.h"
#include "custos-record.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_VERIFY_PENDING,  /* its seal has not arrived yet */
  CUSTOS_VERIFY_VERIFIED, /* covered by a valid seal */
  CUSTOS_VERIFY_UNSIGNED, /* no seal covers it, or the signer is unknown */
  CUSTOS_VERIFY_MISSING,  /* the seal lists it; it never arrived */
  CUSTOS_VERIFY_ALTERED,  /* it differs from what was sealed, or failed GCM */
  CUSTOS_VERIFY_MATCHED,  /* in a segment that failed for a named reason (a packet lost),
                           * consistent with the seal but not provable on its own */
} CustosVerifyStatus;

const char *custos_verify_status_to_string (CustosVerifyStatus status);

typedef struct _CustosSealChain CustosSealChain;

CustosSealChain *custos_seal_chain_new          (void);
void             custos_seal_chain_free         (CustosSealChain *self);
/* record: header and body of a sealed record that is not a packet. */
void             custos_seal_chain_add          (CustosSealChain *self,
                                                 const guint8    *record,
                                                 gsize            len);
/* A DATA record: also extends the counter range of its stream and period. */
void             custos_seal_chain_add_packet   (CustosSealChain *self,
                                                 const guint8    *record,
                                                 gsize            len,
                                                 guint8           stream,
                                                 guint32          period,
                                                 guint32          counter);
guint            custos_seal_chain_get_length   (CustosSealChain *self);
guint            custos_seal_chain_get_n_ranges (CustosSealChain *self);
/* SHA-256("custos-fusion-v1 seal" || u32 segment || prev || d_1 || … || d_n) */
void             custos_seal_chain_get_digest   (CustosSealChain *self,
                                                 guint32          segment,
                                                 const guint8     prev[CUSTOS_SHA256_LEN],
                                                 guint8           digest[CUSTOS_SHA256_LEN]);
/* Appends a complete SEAL record signed with key to rec. */
gboolean         custos_seal_chain_write        (CustosSealChain *self,
                                                 GByteArray      *rec,
                                                 guint32          segment,
                                                 const guint8     prev[CUSTOS_SHA256_LEN],
                                                 const guint8     signer_id[CUSTOS_SHA256_LEN],
                                                 EVP_PKEY        *key,
                                                 gint64           start_us,
                                                 gint64           end_us,
                                                 GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosSealChain, custos_seal_chain_free)

G_END_DECLS
