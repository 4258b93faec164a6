/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosWriter: writes a fusion stream (docs/fusion-stream.md): encrypts
 * each packet once with the period key of its stream, wraps period keys
 * per recipient under a per-epoch KEK, seals segments, and for files
 * writes the seek index and table of contents.
 */
#pragma once

#include <gio/gio.h>
#include <openssl/evp.h>

#include "custos-certificate.h"
#include "custos-format.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_WRITER (custos_writer_get_type ())

G_DECLARE_FINAL_TYPE (CustosWriter, custos_writer, CUSTOS, WRITER, GObject)

#define CUSTOS_NO_TIMESTAMP G_MININT64

CustosWriter *custos_writer_new              (GOutputStream     *output,
                                              const char        *name);
/* Key period, wrap epoch and seal interval (ms). Set before the first packet. */
void          custos_writer_set_intervals    (CustosWriter      *self,
                                              guint              period_ms,
                                              guint              epoch_ms,
                                              guint              seal_ms);
/* A sync point at the first segment start after at least sync_ms since
 * the last (default 0: the key period, §4.2). A live client or a range
 * request begins at one, so a viewer decodes up to this much video before
 * it shows the frame it wants; each one repeats the descriptors, the
 * signer and every recipient's keys. Set before the first packet. */
void          custos_writer_set_sync_interval (CustosWriter     *self,
                                               guint             sync_ms);
/* Write INDEX and TOC records (files); off for live wire streams. Default on. */
void          custos_writer_set_indexed      (CustosWriter      *self,
                                              gboolean           indexed);
/* The archiver's signing key and its certificate chain (signer first). */
gboolean      custos_writer_set_signer       (CustosWriter      *self,
                                              EVP_PKEY          *key,
                                              GPtrArray         *chain,
                                              GError           **error);
/* A recipient gets keys from the next key period on (never earlier data).
 * Expired or not-yet-valid certificates are refused. PKCS#1 v1.5 only
 * when legacy is TRUE. */
gboolean      custos_writer_add_recipient    (CustosWriter      *self,
                                              CustosCertificate *cert,
                                              gboolean           legacy,
                                              GError           **error);
/* Stops new key streams for the recipient from the next period on. */
gboolean      custos_writer_remove_recipient (CustosWriter      *self,
                                              CustosCertificate *cert);
/* Returns the stream id, or -1. Streams are added before the first packet. */
int           custos_writer_add_stream       (CustosWriter      *self,
                                              CustosStreamKind   kind,
                                              CustosStreamFlags  flags,
                                              const char        *caps,
                                              const char        *name,
                                              gint64             utc_origin_us,
                                              GError           **error);
/* pts/dts in stream time, µs; dts may be CUSTOS_NO_TIMESTAMP. */
gboolean      custos_writer_write_packet     (CustosWriter      *self,
                                              guint              stream,
                                              gint64             pts_us,
                                              gint64             dts_us,
                                              gboolean           keyframe,
                                              const guint8      *data,
                                              gsize              len,
                                              GError           **error);
/* Seals the last segment, writes the index, flushes. */
gboolean      custos_writer_close            (CustosWriter      *self,
                                              GError           **error);
guint64       custos_writer_get_offset       (CustosWriter      *self);

G_END_DECLS
