/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custosdemux: a fusion stream (application/x-custos-fusion) in, one
 * source pad per data stream out ("video_%u", "audio_%u", "metadata_%u",
 * numbered by stream id), decrypted and with the caps of the stream
 * descriptor.
 *
 *   filesrc location=a.fusion ! custosdemux ! h264parse ! avdec_h264 ! ...
 *   filesrc location=a.fusion ! custosdemux ! h264parse ! mp4mux ! filesink ...
 *
 * Scheduling. With a seekable upstream that can be pulled (files), the
 * reader pulls ranges and TIME seeks go through the file's index: the
 * reader lands on the keyframe at or before the target; with
 * GST_SEEK_FLAG_KEY_UNIT the new segment starts at that keyframe,
 * otherwise at the target (downstream clips what decodes before it).
 * With a stop position, the element reads on past it, pushing nothing,
 * to the seal of the segment it stopped in (at most 30 s of data), so
 * that every packet it pushed has its "custos-verification" verdict
 * before EOS.
 * Otherwise (network, live) buffers are queued from chain() and read in
 * the element's own task; seeks are passed upstream, and data after an
 * upstream flush must start at a sync point (a FILE_HEADER), as wire
 * responses do.
 *
 * Timestamps. The output timeline is UTC: a buffer's PTS is its wall
 * clock minus that of the first packet read (so the first packet starts at
 * 0, like other demuxers), the same for every stream. Each buffer carries
 * its wall clock as a GstReferenceTimestampMeta with caps "timestamp/x-unix"
 * (ns since the Unix epoch), and every pad gets a global tag list with
 * GST_TAG_DATE_TIME (the UTC time of the first packet) and GST_TAG_TITLE
 * (the camera name). Buffers have PTS and DTS, DELTA_UNIT unless the packet
 * is a keyframe, DISCONT after a gap, and a duration when the caps give a
 * frame rate.
 *
 * Keys. Encrypted streams are opened with a CustosKeyProvider: the
 * "key-provider" property, or else a GstContext of type
 * GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE ("custos.key-provider") whose
 * structure holds "key-provider" (a GObject implementing CustosKeyProvider)
 * and optionally "interaction" (a GTlsInteraction for PINs and
 * passphrases). The element asks for the context (query upstream, then a
 * NEED_CONTEXT message) when it starts reading; an application answers from
 * a bus sync handler or sets it on the pipeline beforehand with
 * gst_element_set_context(). Without a provider the first locked packet
 * raises a GST_STREAM_ERROR_DECRYPT_NOKEY warning; playback goes on.
 *
 * Nothing unauthenticated passes as good: a packet without a key (locked)
 * or that fails authentication (altered) is dropped and a GAP event takes
 * its place, so downstream never stalls. Packets of plaintext streams
 * (privacy-protected ones) pass; their proof is the seal, reported below.
 *
 * Element messages (GST_MESSAGE_ELEMENT, from this element):
 *
 * "custos-verification": the final verdict on the records of one segment,
 * posted when its SEAL has been checked (about every seal interval), or at
 * the end of the data for records no seal covers.
 *   sealed            G_TYPE_BOOLEAN  FALSE: no usable seal covers them
 *   segment           G_TYPE_UINT     segment number (when sealed)
 *   offset            G_TYPE_UINT64   byte offset of the SEAL (when sealed)
 *   status            G_TYPE_STRING   "verified", "matched", "not-signed",
 *                                     "missing" or "altered": the worst of
 *                                     its packets
 *   problem           G_TYPE_STRING   why it is not all verified (optional)
 *   signer            G_TYPE_STRING   subject of the signer (optional)
 *   signer-trusted    G_TYPE_BOOLEAN  the signer chains to "ca-file"
 *   verified, matched, not-signed, missing, altered
 *                     G_TYPE_UINT     packet counts
 *   start-utc, stop-utc G_TYPE_INT64  UTC µs of its first and last packet
 *   start, stop       G_TYPE_UINT64   the same as PTS in the output timeline
 *                                     (once the timeline's origin is known)
 *   problems          GST_TYPE_ARRAY  of GstStructure "custos-packet", the
 *                                     packets not verified (at most 64):
 *                                     stream (G_TYPE_INT, -1 for a
 *                                     descriptor), period, counter (G_TYPE_UINT),
 *                                     status (G_TYPE_STRING), offset
 *                                     (G_TYPE_UINT64, 0 if missing), and when
 *                                     known utc (G_TYPE_INT64) and pts
 *                                     (G_TYPE_UINT64, output timeline)
 *   problems-dropped  G_TYPE_UINT     problem packets not listed
 *
 * "custos-locked": a stream has no key for a key period; posted at its
 * first locked packet.
 *   stream            G_TYPE_UINT     stream id
 *   period            G_TYPE_UINT     key period
 *   reason            G_TYPE_STRING   "no-key-provider", "no-key" (none of
 *                                     the provider's certificates is a
 *                                     recipient) or "key-failed" (unwrapping
 *                                     failed: wrong PIN, card removed, ...)
 *   start, stop       G_TYPE_UINT64   PTS range in the output timeline (from
 *                                     the first locked packet to the end of
 *                                     the key period)
 *   start-utc, stop-utc G_TYPE_INT64  the same in UTC µs
 *   recipients        GST_TYPE_ARRAY  of GstStructure "custos-recipient":
 *                                     id (G_TYPE_STRING, hex SHA-256 of the
 *                                     certificate), label (G_TYPE_STRING),
 *                                     ours (G_TYPE_BOOLEAN): who the data
 *                                     names as able to open it
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE "custos.key-provider"

#define GST_TYPE_CUSTOS_DEMUX (gst_custos_demux_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosDemux, gst_custos_demux, GST, CUSTOS_DEMUX, GstElement)

GST_ELEMENT_REGISTER_DECLARE (custosdemux);

/* A context for GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE; header-only so that
 * an application can make one without linking the plugin. provider is a
 * CustosKeyProvider; interaction may be NULL. */
static inline GstContext *
gst_custos_key_provider_context_new (GObject *provider,
                                     GObject *interaction)
{
  GstContext *context = gst_context_new (GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE, TRUE);
  GstStructure *s = gst_context_writable_structure (context);

  gst_structure_set (s, "key-provider", G_TYPE_OBJECT, provider, NULL);
  if (interaction != NULL)
    gst_structure_set (s, "interaction", G_TYPE_OBJECT, interaction, NULL);
  return context;
}

G_END_DECLS
