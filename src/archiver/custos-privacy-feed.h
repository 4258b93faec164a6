/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPrivacyFeed: the body of one Privacy Protector upload (PUT
 * /api/v1/cameras/ID/privacy), as a blocking GInputStream.
 *
 * The server pushes the body's chunks from the main thread as libsoup
 * reads them; the privacy recording's thread reads them through a
 * CustosReader. The queue is bounded (max_queue bytes): a protector that
 * sends faster than the archiver stores for that long is cut off
 * (custos_privacy_feed_push() returns FALSE) rather than buffered. The
 * end of the body is the end of the stream; an aborted feed (the
 * connection dropped, the archiver stops) fails every read at once.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PRIVACY_FEED (custos_privacy_feed_get_type ())

G_DECLARE_FINAL_TYPE (CustosPrivacyFeed, custos_privacy_feed, CUSTOS, PRIVACY_FEED, GInputStream)

CustosPrivacyFeed *
custos_privacy_feed_new (gsize max_queue);
/* FALSE when the feed is over (aborted, failed, or the queue is full). */
gboolean
custos_privacy_feed_push (CustosPrivacyFeed *self, GBytes *bytes);
/* The body is complete: reads end once the queue is empty. */
void
custos_privacy_feed_end (CustosPrivacyFeed *self);
/* Reads fail with reason from now on; the first reason is kept. Once
 * the body is complete (custos_privacy_feed_end()), it is ignored: what
 * came is read to the end. */
void
custos_privacy_feed_abort (CustosPrivacyFeed *self, const char *reason);
/* Why the feed was aborted, or NULL. */
char *
custos_privacy_feed_dup_problem (CustosPrivacyFeed *self);
guint64
custos_privacy_feed_get_bytes (CustosPrivacyFeed *self);
/* How long no bytes have come (since the last or since the start). */
gint64
custos_privacy_feed_get_silence_us (CustosPrivacyFeed *self);

G_END_DECLS
