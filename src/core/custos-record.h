/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-record.h: byte-level encoding and decoding of fusion stream
 * records (docs/fusion-stream.md §1–§9). No I/O, no crypto: the reader and
 * writer build on these, and the fuzz target exercises them directly.
 */
#pragma once

#include <glib.h>

#include "custos-format.h"

G_BEGIN_DECLS

#define CUSTOS_FORMAT_ERROR (custos_format_error_quark ())

typedef enum
{
  CUSTOS_FORMAT_ERROR_NOT_FUSION,          /* no fusion stream at all */
  CUSTOS_FORMAT_ERROR_BAD_HEADER,          /* invalid record header */
  CUSTOS_FORMAT_ERROR_BAD_RECORD,          /* body inconsistent with its type */
  CUSTOS_FORMAT_ERROR_TRUNCATED,           /* data ends inside a record */
  CUSTOS_FORMAT_ERROR_UNSUPPORTED_VERSION, /* major version not 1 */
  CUSTOS_FORMAT_ERROR_LIMIT,               /* a limit of the format exceeded */
  CUSTOS_FORMAT_ERROR_CONFLICT,            /* a repeated descriptor differs */
  CUSTOS_FORMAT_ERROR_INVALID,             /* writer: caller broke a rule (time going back, ...) */
  CUSTOS_FORMAT_ERROR_EXHAUSTED,           /* writer: nonce counter would wrap */
  CUSTOS_FORMAT_ERROR_NOT_SEEKABLE,        /* seeking needs a seekable file with an index */
} CustosFormatError;

GQuark custos_format_error_quark (void);

#define CUSTOS_MAX_STRING     4096
#define CUSTOS_MAX_NAME       1024
#define CUSTOS_MAX_CERT       65536
#define CUSTOS_MAX_SIGNER_CERTS 8
#define CUSTOS_MAX_SEAL_RECORDS 65535
#define CUSTOS_DATA_PREFIX_LEN 12 /* without DTS */

typedef struct
{
  guint8  type;
  guint8  flags;
  guint32 length;
} CustosRecordHeader;

typedef struct
{
  guint8  version_major;
  guint8  version_minor;
  guint16 flags;
  guint8  source_id[16];
  gint64  created_us;
  guint32 period_ms;
  guint32 epoch_ms;
  char   *name;
} CustosFileHeader;

typedef struct
{
  guint8  id;
  guint8  kind;
  guint8  flags;
  gint64  utc_origin_us;
  char   *caps;
  char   *name;
} CustosStreamInfo;

typedef struct
{
  guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN];
  guint32  epoch;
  guint8   alg;
  GBytes  *wrapped;
  char    *label;
} CustosRecipientRecord;

typedef struct
{
  guint8  stream;
  guint32 period;
  guint8  recipient_id[CUSTOS_RECIPIENT_ID_LEN];
  guint32 epoch;
  guint8  wrapped_len;
  guint8  wrapped[CUSTOS_KWP_WRAPPED_LEN + 16];
} CustosKeyRecord;

/* Views into the record buffer; valid while it is. */
typedef struct
{
  guint8        flags;
  guint8        stream;
  guint32       counter;
  guint32       period;
  gint32        pts_offset;
  gint32        dts_offset;
  gsize         prefix_len; /* 12 or 16: the part of the body in the AAD */
  const guint8 *payload;
  gsize         payload_len;
  const guint8 *tag;        /* NULL unless ENCRYPTED */
} CustosDataRecord;

/* The packets of one stream and key period that a seal covers. */
typedef struct
{
  guint8  stream;
  guint32 period;
  guint32 first;
  guint32 last;
} CustosSealRange;

typedef struct
{
  guint32       segment;
  guint8        signer_id[CUSTOS_SHA256_LEN];
  guint8        sig_alg;
  gint64        start_us;
  gint64        end_us;
  guint8        prev[CUSTOS_SHA256_LEN];
  guint32       n;            /* sealed records */
  guint         n_ranges;
  const guint8 *ranges;       /* n_ranges × CUSTOS_SEAL_RANGE_LEN bytes */
  guint8        digest[CUSTOS_SHA256_LEN];
  gsize         signed_len;   /* body bytes covered by the signature */
  const guint8 *sig;
  gsize         sig_len;
} CustosSealRecord;

typedef struct
{
  guint8  stream;
  gint64  pts_us;
  guint64 offset;
} CustosIndexEntry;

typedef struct
{
  guint64 sync_offset;
  guint64 segment_offset;
  guint32 segment;
  GArray *entries; /* CustosIndexEntry */
} CustosIndexRecord;

typedef struct
{
  guint64 index_offset;
  gint64  first_us;
  gint64  last_us;
} CustosTocEntry;

/* Header */
gboolean custos_record_header_parse     (const guint8        *buf,
                                         gsize                len,
                                         CustosRecordHeader  *header,
                                         GError             **error);
void     custos_record_header_write     (guint8               out[CUSTOS_RECORD_HEADER_LEN],
                                         guint8               type,
                                         guint8               flags,
                                         guint32              length);
gboolean custos_record_type_is_sealed   (guint8               type);
/* Largest body a plausible record of this type can have (for resync). */
gsize    custos_record_type_max_body    (guint8               type);

/* Bodies: parse from / append to. Strings are validated UTF-8. */
gboolean custos_file_header_parse       (const guint8        *body,
                                         gsize                len,
                                         CustosFileHeader    *out,
                                         GError             **error);
void     custos_file_header_append      (GByteArray          *rec,
                                         const CustosFileHeader *in);
void     custos_file_header_clear       (CustosFileHeader    *self);

gboolean custos_stream_info_parse       (const guint8        *body,
                                         gsize                len,
                                         CustosStreamInfo    *out,
                                         GError             **error);
void     custos_stream_info_append      (GByteArray          *rec,
                                         const CustosStreamInfo *in);
void     custos_stream_info_clear       (CustosStreamInfo    *self);
CustosStreamInfo *custos_stream_info_copy (const CustosStreamInfo *self);
void     custos_stream_info_free        (CustosStreamInfo    *self);
gboolean custos_stream_info_equal       (const CustosStreamInfo *a,
                                         const CustosStreamInfo *b);

/* certs: GBytes DER, signer first */
GPtrArray *custos_signer_parse          (const guint8        *body,
                                         gsize                len,
                                         GError             **error);
void     custos_signer_append           (GByteArray          *rec,
                                         GPtrArray           *certs);

gboolean custos_recipient_record_parse  (const guint8        *body,
                                         gsize                len,
                                         CustosRecipientRecord *out,
                                         GError             **error);
void     custos_recipient_record_append (GByteArray          *rec,
                                         const CustosRecipientRecord *in);
void     custos_recipient_record_clear  (CustosRecipientRecord *self);

gboolean custos_key_record_parse        (const guint8        *body,
                                         gsize                len,
                                         CustosKeyRecord     *out,
                                         GError             **error);
void     custos_key_record_append       (GByteArray          *rec,
                                         const CustosKeyRecord *in);

gboolean custos_data_record_parse       (guint8               flags,
                                         const guint8        *body,
                                         gsize                len,
                                         CustosDataRecord    *out,
                                         GError             **error);
/* Appends header and prefix; the caller appends payload (and tag). */
void     custos_data_record_append_prefix (GByteArray        *rec,
                                           const CustosDataRecord *in);
void     custos_data_record_nonce       (const CustosDataRecord *in,
                                         guint8               nonce[CUSTOS_GCM_NONCE_LEN]);

gboolean custos_seal_record_parse       (const guint8        *body,
                                         gsize                len,
                                         CustosSealRecord    *out,
                                         GError             **error);

void     custos_seal_record_get_range   (const CustosSealRecord *seal,
                                         guint                   i,
                                         CustosSealRange        *range);
void     custos_seal_range_append       (GByteArray          *rec,
                                         const CustosSealRange *range);

gboolean custos_index_record_parse      (const guint8        *body,
                                         gsize                len,
                                         CustosIndexRecord   *out,
                                         GError             **error);
void     custos_index_record_append     (GByteArray          *rec,
                                         const CustosIndexRecord *in);
void     custos_index_record_clear      (CustosIndexRecord   *self);

GArray  *custos_toc_record_parse        (const guint8        *body,
                                         gsize                len,
                                         guint64              record_offset,
                                         GError             **error);
void     custos_toc_record_append       (GByteArray          *rec,
                                         GArray              *entries,
                                         guint64              record_offset);

/* Record assembly: start writes a placeholder header, finish fills in the
 * length. Returns FALSE when the body exceeds the format's maximum. */
gsize    custos_record_begin            (GByteArray          *rec,
                                         guint8               type,
                                         guint8               flags);
gboolean custos_record_finish           (GByteArray          *rec,
                                         gsize                start,
                                         GError             **error);

/* Big-endian helpers shared by the codecs. */
void     custos_put_u8                  (GByteArray *a, guint8  v);
void     custos_put_u16                 (GByteArray *a, guint16 v);
void     custos_put_u24                 (GByteArray *a, guint32 v);
void     custos_put_u32                 (GByteArray *a, guint32 v);
void     custos_put_u64                 (GByteArray *a, guint64 v);
void     custos_put_bytes               (GByteArray *a, const void *p, gsize n);
void     custos_put_string16            (GByteArray *a, const char *s);

static inline guint32
custos_read_u24 (const guint8 *p)
{
  return (guint32) p[0] << 16 | (guint32) p[1] << 8 | p[2];
}

static inline guint32
custos_read_u32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static inline guint64
custos_read_u64 (const guint8 *p)
{
  return (guint64) custos_read_u32 (p) << 32 | custos_read_u32 (p + 4);
}

/* A DATA record's stream time (µs): the start of its key period plus its
 * offset (PTS or DTS). */
static inline gint64
custos_data_time_us (guint32 period, guint32 period_ms, gint32 offset_us)
{
  return (gint64) period * period_ms * 1000 + offset_us;
}

G_END_DECLS
