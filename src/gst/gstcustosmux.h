/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custosmux: CustosWriter as an element, so that recording and
 * re-packaging are pipelines too:
 *
 *   videotestsrc ! x264enc ! custosmux recipients=<a.pem,b.pem> ! filesink location=a.fusion
 *   filesrc location=a.fusion ! custosdemux name=d  d.video_0 ! custosmux encrypted=false ! ...
 *
 * Request sink pads "video_%u" (H.264 or H.265 byte-stream in access units,
 * VP8, VP9, AV1, JPEG), "audio_%u" (Opus, MPEG audio, AAC, A-law, µ-law)
 * and "metadata_%u" (ONVIF metadata, KLV, application/x-custos-metadata,
 * UTF-8 text); one always source pad, application/x-custos-fusion. Each
 * sink pad becomes one stream, in the order the pads were requested, with
 * the caps it first received; no pad can be added once data flows. Packets
 * are interleaved by decoding time across pads; like other muxers it waits
 * for data (or EOS) on every pad, so a metadata pad with nothing to say
 * should send GAP events. At EOS the writer seals
 * the last segment and appends the index and table of contents, so
 * downstream need not be seekable.
 *
 * Timestamps. Stream time is UTC µs (utc_origin 0), as the archiver and
 * custos-cli create write it: a packet's time is the UTC of running time
 * 0 plus its running time. The UTC of running time 0 is taken, in order,
 * from: the first buffer carrying a GstReferenceTimestampMeta with caps
 * "timestamp/x-unix" (when "utc-from-meta" is TRUE, the default: a
 * re-packaged recording keeps its wall clock, since custosdemux puts that
 * meta on every buffer); the "start-utc" property; the wall clock when the
 * first packet is written minus its running time.
 *
 * Properties:
 *   recipients     GStrv     certificate files (PEM/DER) to encrypt to
 *   signer-key     string    private key (PEM) that seals segments
 *   signer-cert    string    its certificate; signer-chain: intermediates (PEM)
 *   encrypted      boolean   encrypt every stream (TRUE; needs a recipient)
 *   privacy        boolean   mark the streams privacy-protected (FALSE)
 *   allow-legacy   boolean   wrap to RSA recipients with PKCS#1 v1.5 (FALSE)
 *   period-ms      uint      key period (60000)
 *   epoch-ms       uint      wrap epoch, 0 = 1 h rounded to whole periods
 *   seal-ms        uint      seal interval (2000)
 *   indexed        boolean   write INDEX and TOC records (TRUE; off for live wire streams)
 *   camera-name    string    camera name in the file header
 *   start-utc      int64     UTC µs of running time 0, -1 = see above
 *   utc-from-meta  boolean   see above (TRUE)
 *
 * Action signal:
 *   gboolean "add-recipient" (GstCustosMux *mux, CustosCertificate *cert)
 *   Adds a recipient: before the first packet, for the whole recording;
 *   later, from the next key period on. FALSE when the certificate is
 *   expired or its key type cannot be wrapped to.
 */
#pragma once

#include <gst/base/base.h>

#include "custos-certificate.h"

G_BEGIN_DECLS

#define GST_TYPE_CUSTOS_MUX (gst_custos_mux_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosMux, gst_custos_mux, GST, CUSTOS_MUX, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE (custosmux);

/* The "add-recipient" action signal's handler. */
gboolean gst_custos_mux_add_recipient (GstCustosMux      *self,
                                       CustosCertificate *cert);

G_END_DECLS
