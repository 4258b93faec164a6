/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-format.h: constants of the fusion stream format, version 1.
 *
 * The normative text is docs/fusion-stream.md; this header only names the
 * numbers it defines. All integers are big-endian, unsigned unless said.
 *
 * Every record is a 6-byte header followed by a body:
 *
 *   u8  sync      0xCF
 *   u8  type      CustosRecordType
 *   u8  flags     per type (DATA: CustosDataFlags), 0 otherwise
 *   u24 length    body length in bytes, at most CUSTOS_RECORD_MAX_BODY
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CUSTOS_FORMAT_VERSION_MAJOR 1
#define CUSTOS_FORMAT_VERSION_MINOR 0

#define CUSTOS_RECORD_SYNC        0xCF
#define CUSTOS_RECORD_HEADER_LEN  6
#define CUSTOS_RECORD_MAX_BODY    0xFFFFFF /* u24 */

/* The file header's body starts with this magic, so `file` and readers
 * that start at byte 0 can recognise a fusion stream. */
#define CUSTOS_FILE_MAGIC     "CUSTOSFS"
#define CUSTOS_FILE_MAGIC_LEN 8

/* The TOC record ends with its own offset and this magic, so the last
 * 16 bytes of a finished file lead to the seek index. */
#define CUSTOS_TOC_MAGIC     "CFSTOC01"
#define CUSTOS_TOC_MAGIC_LEN 8

#define CUSTOS_AES_KEY_LEN       16
#define CUSTOS_GCM_NONCE_LEN     12
#define CUSTOS_GCM_TAG_LEN       16
#define CUSTOS_KWP_WRAPPED_LEN   24 /* AES-KWP of a 16-byte key */
#define CUSTOS_RECIPIENT_ID_LEN  32 /* SHA-256 of the certificate DER */
#define CUSTOS_SEAL_RANGE_LEN    11 /* stream, period, first and last counter */
#define CUSTOS_MAX_SEAL_RANGES   255
#define CUSTOS_SHA256_LEN        32

#define CUSTOS_MAX_STREAMS         255 /* stream ids 0..254; 255 reserved */
#define CUSTOS_DATA_COUNTER_MAX    0xFFFFFF /* u24: packets per stream and key period */
#define CUSTOS_DEFAULT_PERIOD_MS   60000
#define CUSTOS_DEFAULT_EPOCH_MS    3600000
#define CUSTOS_DEFAULT_SEAL_MS     2000
#define CUSTOS_MIN_PERIOD_MS       1000
#define CUSTOS_MAX_PERIOD_MS       1800000  /* an i32 µs offset spans ±35 min */
#define CUSTOS_MAX_EPOCH_MS        86400000

typedef enum
{
  CUSTOS_RECORD_FILE_HEADER = 0x01, /* sync point: version, source, epoch length */
  CUSTOS_RECORD_STREAM      = 0x02, /* stream descriptor (sealed) */
  CUSTOS_RECORD_SIGNER      = 0x03, /* archiver signing certificate chain */
  CUSTOS_RECORD_RECIPIENT   = 0x04, /* KEK of one recipient and epoch, wrapped to its cert */
  CUSTOS_RECORD_KEY         = 0x05, /* period key of one stream, wrapped under a KEK */
  CUSTOS_RECORD_DATA        = 0x10, /* one access unit (sealed) */
  CUSTOS_RECORD_SEAL        = 0x20, /* signed hash over the sealed records since the last seal */
  CUSTOS_RECORD_INDEX       = 0x21, /* keyframe positions of one segment */
  CUSTOS_RECORD_TOC         = 0x22, /* offsets of all INDEX records; last record of a file */
  CUSTOS_RECORD_PADDING     = 0x7F, /* ignored */
} CustosRecordType;

typedef enum
{
  CUSTOS_DATA_FLAG_ENCRYPTED = 1 << 0, /* body ends with a GCM tag */
  CUSTOS_DATA_FLAG_KEYFRAME  = 1 << 1, /* decoding can start here */
  CUSTOS_DATA_FLAG_HAS_DTS   = 1 << 2, /* a DTS offset follows the PTS offset */
  CUSTOS_DATA_FLAG_DISCONT   = 1 << 3, /* a gap precedes this packet */
} CustosDataFlags;

#define CUSTOS_DATA_FLAGS_ALL 0x0F

typedef enum
{
  CUSTOS_STREAM_KIND_VIDEO    = 1,
  CUSTOS_STREAM_KIND_AUDIO    = 2,
  CUSTOS_STREAM_KIND_METADATA = 3,
} CustosStreamKind;

typedef enum
{
  CUSTOS_STREAM_FLAG_ENCRYPTED = 1 << 0,
  CUSTOS_STREAM_FLAG_PRIVACY   = 1 << 1, /* privacy-protected derivative of another stream */
} CustosStreamFlags;

typedef enum
{
  CUSTOS_WRAP_RSA_OAEP_SHA256 = 1,
  CUSTOS_WRAP_ECDH_ES_P256    = 2,
  CUSTOS_WRAP_ECDH_ES_P384    = 3,
  CUSTOS_WRAP_RSA_PKCS1_V15   = 4, /* legacy cards only; off unless enabled */
} CustosWrapAlg;

typedef enum
{
  CUSTOS_SIG_ECDSA_P256_SHA256 = 1,
  CUSTOS_SIG_RSA_PSS_SHA256    = 2,
} CustosSigAlg;

const char *custos_record_type_to_string (guint type);
const char *custos_wrap_alg_to_string (CustosWrapAlg alg);
const char *custos_sig_alg_to_string (CustosSigAlg alg);
const char *custos_stream_kind_to_string (CustosStreamKind kind);

G_END_DECLS
