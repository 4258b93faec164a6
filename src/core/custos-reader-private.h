/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-reader-private.h: the reader's state, shared by the files that
 * make it up: custos-reader.c (object, descriptors, packets),
 * custos-reader-window.c (framing and resync), custos-reader-keys.c,
 * custos-reader-seals.c and custos-reader-seek.c. Not installed.
 */
#pragma once

#include "custos-crypto.h"
#include "custos-reader.h"
#include "custos-seal-hasher.h"

G_BEGIN_DECLS

#define READ_CHUNK      (1024 * 1024)
#define MAX_KEY_RECORDS 65536
#define MAX_KEKS        8
/* Without one valid record in this many bytes, the input is not a fusion
 * stream at all (a video file given by mistake): say so instead of
 * scanning gigabytes. */
#define NOT_FUSION_SCAN (1024 * 1024)

typedef struct _CustosReaderScan CustosReaderScan;

typedef struct
{
  CustosStreamInfo *info;
  gboolean          have_last;
  guint32           last_period;
  guint32           last_counter;
  gboolean          have_key;
  guint32           key_period;
  CustosSecret     *key;
  CustosAead       *aead;
} StreamState;

/* A sealed record of the open segment, remembered until its seal arrives. */
typedef struct
{
  int     stream; /* -1 for descriptors */
  guint32 period;
  guint32 counter;
  gint64  utc_us;
  guint64 offset;
  guint8  gcm_failed;
} SegEntry;

typedef struct
{
  CustosCertificate *cert;
  gboolean           trusted;
  char              *problem;
} Signer;

struct _CustosReader
{
  GObject            parent_instance;

  GInputStream      *input;
  GBytes            *whole;         /* zero-copy mode: the window is these bytes */
  CustosKeyProvider *provider;
  GPtrArray         *identities;    /* CustosCertificate */
  GTlsInteraction   *interaction;
  char              *ca_file;
  gboolean           verify;
  gboolean           decrypt;

  /* Input window: buf[pos..end) is unread, buf[0] is at file offset base. */
  guint8            *buf;
  gsize              cap;
  gsize              pos;
  gsize              end;
  gsize              mark;          /* bytes from here on are kept when the window moves */
  guint64            base;
  gboolean           eof;
  /* The window's other buffer (with a seal thread): records in it were
   * handed to the thread before spare_mark. */
  guint8            *spare;
  gsize              spare_cap;
  guint              spare_mark;
  guint64            bytes_read;

  CustosFileHeader   header;
  gboolean           have_header;
  StreamState        streams[CUSTOS_MAX_STREAMS];
  /* Descriptors of earlier recordings: get_streams() callers may hold them. */
  GPtrArray         *retired_streams;
  GHashTable        *recipients;    /* id (GBytes) -> CustosRecipientInfo */
  /* Key records are written twice; a damaged copy fails its integrity
   * check (OAEP, KWP) and the next distinct copy is tried. */
  GHashTable        *wrapped_keks;  /* id||epoch (GBytes) -> GPtrArray of CustosWrappedKek, ours */
  GHashTable        *key_records;   /* stream<<32|period (gint64*) -> GPtrArray of CustosKeyRecord */
  GHashTable        *keks;          /* id||epoch -> CustosSecret */
  GHashTable        *failed_keks;   /* id||epoch: never retried (a wrong PIN stays wrong) */
  GHashTable        *signers;       /* id (GBytes) -> Signer */

  CustosSealChain   *chain;
  /* Digests records on a second thread; the window must not move under
   * the records it holds: custos_reader_window_settle() first. */
  CustosSealHasher  *hasher;
  GArray            *seg;           /* SegEntry */
  gboolean           have_prev;
  guint32            prev_segment;
  guint8             prev_digest[CUSTOS_SHA256_LEN];
  guint64            skip_until;    /* after a seek: packets before this offset are hashed only */
  /* What seeking in a file without an index has scanned (custos-reader-seek.c). */
  CustosReaderScan  *scan;

  CustosReport      *report;

  CustosSealFunc     seal_func;
  gpointer           seal_data;
  GDestroyNotify     seal_notify;
  GArray            *verdicts;      /* CustosSealVerdict of the segment being closed */

  /* A card removal arrives on the main thread while the reader may be
   * reading in another (custosdemux): held while reading, the busy lock
   * tells the handler to wipe now or to leave the ids for the reader's
   * thread, which wipes them before its next record. */
  GMutex             busy;
  GMutex             forget_lock;
  GByteArray        *forget_ids;    /* recipient ids, 32 bytes each */
};

/* custos-reader-window.c: input window, framing and resynchronisation */
G_GNUC_INTERNAL gboolean custos_reader_next_record (CustosReader        *self,
                                                    CustosRecordHeader  *h,
                                                    const guint8       **rec,
                                                    guint64             *offset,
                                                    GCancellable        *cancellable,
                                                    GError             **error);

/* custos-reader-seek.c */
G_GNUC_INTERNAL void     custos_reader_scan_free (CustosReaderScan *scan);

/* Waits until no other thread reads the window's bytes. */
G_GNUC_INTERNAL void     custos_reader_window_settle (CustosReader *self);

/* custos-reader-keys.c: key records and unwrapping */
G_GNUC_INTERNAL GBytes     *custos_reader_kek_key          (const guint8 id[CUSTOS_RECIPIENT_ID_LEN],
                                                           guint32      epoch);
G_GNUC_INTERNAL void        custos_reader_handle_recipient (CustosReader *self,
                                                           const guint8 *body,
                                                           gsize         len,
                                                           guint64       offset);
G_GNUC_INTERNAL void        custos_reader_handle_key       (CustosReader *self,
                                                           const guint8 *body,
                                                           gsize         len,
                                                           guint64       offset);
G_GNUC_INTERNAL CustosAead *custos_reader_get_aead         (CustosReader           *self,
                                                           StreamState            *st,
                                                           const CustosDataRecord *d,
                                                           guint64                 offset);
G_GNUC_INTERNAL gboolean    custos_reader_have_key_record  (CustosReader           *self,
                                                           const CustosDataRecord *d);
G_GNUC_INTERNAL void        custos_reader_stream_drop_key  (StreamState *st);
/* Wipes what a card removal queued while the reader was busy. */
G_GNUC_INTERNAL void        custos_reader_forget_pending   (CustosReader *self);
/* Wipes the KEKs of one recipient and every open period key. */
G_GNUC_INTERNAL void        custos_reader_forget_keys      (CustosReader *self,
                                                           const guint8  recipient_id[CUSTOS_RECIPIENT_ID_LEN]);

/* custos-reader.c: descriptors */
G_GNUC_INTERNAL void custos_reader_handle_file_header (CustosReader *self,
                                                       const guint8 *body,
                                                       gsize         len,
                                                       guint64       offset,
                                                       GError      **error);
G_GNUC_INTERNAL void custos_reader_handle_stream      (CustosReader *self,
                                                       const guint8 *body,
                                                       gsize         len,
                                                       guint64       offset);
G_GNUC_INTERNAL void custos_reader_handle_signer      (CustosReader *self,
                                                       const guint8 *body,
                                                       gsize         len,
                                                       guint64       offset);

/* custos-reader-seals.c: segments and their seals */
G_GNUC_INTERNAL void custos_reader_segment_reset   (CustosReader *self);
G_GNUC_INTERNAL void custos_reader_seg_add         (CustosReader *self,
                                                    const guint8 *rec,
                                                    gsize         len,
                                                    SegEntry     *e);
G_GNUC_INTERNAL void custos_reader_finish_unsigned (CustosReader *self,
                                                    const char   *why);
G_GNUC_INTERNAL void custos_reader_handle_seal     (CustosReader *self,
                                                    const guint8 *body,
                                                    gsize         len,
                                                    guint64       offset);

G_END_DECLS
