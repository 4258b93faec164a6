/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-record"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-record.h"

G_DEFINE_QUARK (custos-format-error-quark, custos_format_error)

/* A bounds-checked cursor over a record body. Every getter fails once the
 * body is exhausted, and the first failure sticks, so parsers read all
 * fields and check once at the end. */
typedef struct
{
  const guint8 *p;
  gsize         left;
  gboolean      ok;
} Cursor;

static void
cursor_init (Cursor       *c,
             const guint8 *p,
             gsize         len)
{
  c->p = p;
  c->left = len;
  c->ok = TRUE;
}

static const guint8 *
cursor_take (Cursor *c,
             gsize   n)
{
  const guint8 *r;

  if (!c->ok || c->left < n)
    {
      c->ok = FALSE;
      return NULL;
    }
  r = c->p;
  c->p += n;
  c->left -= n;
  return r;
}

static guint8
get_u8 (Cursor *c)
{
  const guint8 *p = cursor_take (c, 1);
  return p ? p[0] : 0;
}

static guint16
get_u16 (Cursor *c)
{
  const guint8 *p = cursor_take (c, 2);
  return p ? (guint16) (p[0] << 8 | p[1]) : 0;
}

static guint32
get_u32 (Cursor *c)
{
  const guint8 *p = cursor_take (c, 4);
  return p ? custos_read_u32 (p) : 0;
}

static guint64
get_u64 (Cursor *c)
{
  const guint8 *p = cursor_take (c, 8);
  return p ? custos_read_u64 (p) : 0;
}

static void
get_bytes (Cursor *c,
           void   *out,
           gsize   n)
{
  const guint8 *p = cursor_take (c, n);

  if (p != NULL)
    memcpy (out, p, n);
  else
    memset (out, 0, n);
}

/* u16 length + UTF-8, at most max bytes. */
static char *
get_string16 (Cursor *c,
              gsize   max)
{
  guint16 n = get_u16 (c);
  const guint8 *p;

  if (n > max)
    {
      c->ok = FALSE;
      return NULL;
    }
  p = cursor_take (c, n);
  if (p == NULL || !g_utf8_validate_len ((const char *) p, n, NULL))
    {
      c->ok = FALSE;
      return NULL;
    }
  return g_strndup ((const char *) p, n);
}

static gboolean
cursor_check (Cursor      *c,
              const char  *what,
              gboolean     must_be_empty,
              GError     **error)
{
  if (c->ok && (!must_be_empty || c->left == 0))
    return TRUE;
  if (c->ok)
    g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                 g_dngettext (custos_i18n_domain (), "%s record has %zu unexpected trailing byte",
                              "%s record has %zu unexpected trailing bytes", c->left),
                 what, c->left);
  else
    g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                 _ ("%s record is malformed (a field runs past its end or exceeds a limit)"), what);
  return FALSE;
}

void
custos_put_u8 (GByteArray *a,
               guint8      v)
{
  g_byte_array_append (a, &v, 1);
}

void
custos_put_u16 (GByteArray *a,
                guint16     v)
{
  guint8 b[2] = { v >> 8, v & 0xff };
  g_byte_array_append (a, b, 2);
}

void
custos_put_u24 (GByteArray *a,
                guint32     v)
{
  guint8 b[3] = { (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (a, b, 3);
}

void
custos_put_u32 (GByteArray *a,
                guint32     v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (a, b, 4);
}

void
custos_put_u64 (GByteArray *a,
                guint64     v)
{
  custos_put_u32 (a, v >> 32);
  custos_put_u32 (a, v & 0xffffffff);
}

void
custos_put_bytes (GByteArray *a,
                  const void *p,
                  gsize       n)
{
  g_byte_array_append (a, p, n);
}

void
custos_put_string16 (GByteArray *a,
                     const char *s)
{
  gsize n = s ? strlen (s) : 0;

  n = MIN (n, CUSTOS_MAX_STRING);
  custos_put_u16 (a, n);
  custos_put_bytes (a, s, n);
}

/* Header */

static gsize
type_min_body (guint8 type)
{
  switch (type)
    {
    case CUSTOS_RECORD_FILE_HEADER: return 8 + 4 + 16 + 8 + 8 + 2;
    case CUSTOS_RECORD_STREAM:      return 4 + 8 + 2 + 2;
    case CUSTOS_RECORD_SIGNER:      return 1;
    case CUSTOS_RECORD_RECIPIENT:   return 32 + 4 + 2 + 2 + 2;
    case CUSTOS_RECORD_KEY:         return 1 + 4 + 32 + 4 + 1;
    case CUSTOS_RECORD_DATA:        return CUSTOS_DATA_PREFIX_LEN;
    case CUSTOS_RECORD_SEAL:        return 4 + 32 + 2 + 16 + 32 + 4 + 1 + 32 + 2;
    case CUSTOS_RECORD_INDEX:       return 8 + 8 + 4 + 2;
    case CUSTOS_RECORD_TOC:         return 4 + 8 + 8;
    default:                        return 0;
    }
}

gsize
custos_record_type_max_body (guint8 type)
{
  switch (type)
    {
    case CUSTOS_RECORD_FILE_HEADER: return type_min_body (type) + CUSTOS_MAX_NAME;
    case CUSTOS_RECORD_STREAM:      return type_min_body (type) + 2 * CUSTOS_MAX_STRING;
    case CUSTOS_RECORD_SIGNER:      return 1 + CUSTOS_MAX_SIGNER_CERTS * (2 + CUSTOS_MAX_CERT);
    case CUSTOS_RECORD_RECIPIENT:   return type_min_body (type) + 1024 + CUSTOS_MAX_STRING;
    case CUSTOS_RECORD_KEY:         return type_min_body (type) + 255;
    default:                        return CUSTOS_RECORD_MAX_BODY;
    }
}

gboolean
custos_record_type_is_sealed (guint8 type)
{
  return type == CUSTOS_RECORD_FILE_HEADER || type == CUSTOS_RECORD_STREAM ||
         (type >= 0x10 && type <= 0x1F);
}

gboolean
custos_record_header_parse (const guint8        *buf,
                            gsize                len,
                            CustosRecordHeader  *header,
                            GError             **error)
{
  if (len < CUSTOS_RECORD_HEADER_LEN)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_TRUNCATED,
                   _ ("record header cut off after %zu bytes"), len);
      return FALSE;
    }
  header->type = buf[1];
  header->flags = buf[2];
  header->length = custos_read_u24 (buf + 3);

  if (buf[0] != CUSTOS_RECORD_SYNC)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_HEADER,
                   _ ("no record starts here (sync byte 0x%02x, expected 0x%02x)"), buf[0],
                   CUSTOS_RECORD_SYNC);
      return FALSE;
    }
  if (header->type == CUSTOS_RECORD_DATA ? (header->flags & ~CUSTOS_DATA_FLAGS_ALL) != 0
                                         : header->flags != 0)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_HEADER,
                   _ ("%s record has invalid flags 0x%02x"),
                   custos_record_type_to_string (header->type), header->flags);
      return FALSE;
    }
  if (header->length < type_min_body (header->type) ||
      header->length > custos_record_type_max_body (header->type))
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_HEADER,
                   _ ("%s record length %u is outside %zu..%zu"),
                   custos_record_type_to_string (header->type), header->length,
                   type_min_body (header->type), custos_record_type_max_body (header->type));
      return FALSE;
    }
  return TRUE;
}

void
custos_record_header_write (guint8  out[CUSTOS_RECORD_HEADER_LEN],
                            guint8  type,
                            guint8  flags,
                            guint32 length)
{
  out[0] = CUSTOS_RECORD_SYNC;
  out[1] = type;
  out[2] = flags;
  out[3] = (length >> 16) & 0xff;
  out[4] = (length >> 8) & 0xff;
  out[5] = length & 0xff;
}

gsize
custos_record_begin (GByteArray *rec,
                     guint8      type,
                     guint8      flags)
{
  gsize start = rec->len;
  guint8 h[CUSTOS_RECORD_HEADER_LEN];

  custos_record_header_write (h, type, flags, 0);
  g_byte_array_append (rec, h, sizeof h);
  return start;
}

gboolean
custos_record_finish (GByteArray *rec,
                      gsize       start,
                      GError    **error)
{
  gsize body = rec->len - start - CUSTOS_RECORD_HEADER_LEN;

  if (body > CUSTOS_RECORD_MAX_BODY)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_LIMIT,
                   _ ("%s record of %zu bytes exceeds the format's 16 MiB limit"),
                   custos_record_type_to_string (rec->data[start + 1]), body);
      g_byte_array_set_size (rec, start);
      return FALSE;
    }
  custos_record_header_write (rec->data + start, rec->data[start + 1], rec->data[start + 2], body);
  return TRUE;
}

/* FILE_HEADER */

gboolean
custos_file_header_parse (const guint8      *body,
                          gsize              len,
                          CustosFileHeader  *out,
                          GError           **error)
{
  Cursor c;
  const guint8 *magic;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  magic = cursor_take (&c, CUSTOS_FILE_MAGIC_LEN);
  if (magic == NULL || memcmp (magic, CUSTOS_FILE_MAGIC, CUSTOS_FILE_MAGIC_LEN) != 0)
    {
      g_set_error_literal (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_NOT_FUSION,
                           _ ("file header lacks the CUSTOSFS magic"));
      return FALSE;
    }
  out->version_major = get_u8 (&c);
  out->version_minor = get_u8 (&c);
  if (out->version_major != CUSTOS_FORMAT_VERSION_MAJOR)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_UNSUPPORTED_VERSION,
                   _ ("fusion stream version %u.%u is not supported (this reader reads %u.x)"),
                   out->version_major, out->version_minor, CUSTOS_FORMAT_VERSION_MAJOR);
      return FALSE;
    }
  out->flags = get_u16 (&c);
  get_bytes (&c, out->source_id, sizeof out->source_id);
  out->created_us = (gint64) get_u64 (&c);
  out->period_ms = get_u32 (&c);
  out->epoch_ms = get_u32 (&c);
  out->name = get_string16 (&c, CUSTOS_MAX_NAME);
  if (!cursor_check (&c, "file header", FALSE, error))
    {
      custos_file_header_clear (out);
      return FALSE;
    }
  if (out->period_ms < CUSTOS_MIN_PERIOD_MS || out->period_ms > CUSTOS_MAX_PERIOD_MS ||
      out->epoch_ms < out->period_ms || out->epoch_ms > CUSTOS_MAX_EPOCH_MS ||
      out->epoch_ms % out->period_ms != 0)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_LIMIT,
                   _ ("key period %u ms / wrap epoch %u ms out of range "
                      "(period 1000..1800000 ms, epoch a multiple of it up to 86400000 ms)"),
                   out->period_ms, out->epoch_ms);
      custos_file_header_clear (out);
      return FALSE;
    }
  return TRUE;
}

void
custos_file_header_append (GByteArray             *rec,
                           const CustosFileHeader *in)
{
  custos_put_bytes (rec, CUSTOS_FILE_MAGIC, CUSTOS_FILE_MAGIC_LEN);
  custos_put_u8 (rec, CUSTOS_FORMAT_VERSION_MAJOR);
  custos_put_u8 (rec, CUSTOS_FORMAT_VERSION_MINOR);
  custos_put_u16 (rec, in->flags);
  custos_put_bytes (rec, in->source_id, sizeof in->source_id);
  custos_put_u64 (rec, in->created_us);
  custos_put_u32 (rec, in->period_ms);
  custos_put_u32 (rec, in->epoch_ms);
  custos_put_string16 (rec, in->name);
}

void
custos_file_header_clear (CustosFileHeader *self)
{
  g_clear_pointer (&self->name, g_free);
}

/* STREAM */

gboolean
custos_stream_info_parse (const guint8      *body,
                          gsize              len,
                          CustosStreamInfo  *out,
                          GError           **error)
{
  Cursor c;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  out->id = get_u8 (&c);
  out->kind = get_u8 (&c);
  out->flags = get_u8 (&c);
  (void) get_u8 (&c);
  out->utc_origin_us = (gint64) get_u64 (&c);
  out->caps = get_string16 (&c, CUSTOS_MAX_STRING);
  out->name = get_string16 (&c, CUSTOS_MAX_STRING);
  if (!cursor_check (&c, "stream", FALSE, error))
    {
      custos_stream_info_clear (out);
      return FALSE;
    }
  if (out->id >= CUSTOS_MAX_STREAMS || out->kind < CUSTOS_STREAM_KIND_VIDEO ||
      out->kind > CUSTOS_STREAM_KIND_METADATA)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("stream descriptor has invalid id %u or kind %u"), out->id, out->kind);
      custos_stream_info_clear (out);
      return FALSE;
    }
  return TRUE;
}

void
custos_stream_info_append (GByteArray             *rec,
                           const CustosStreamInfo *in)
{
  custos_put_u8 (rec, in->id);
  custos_put_u8 (rec, in->kind);
  custos_put_u8 (rec, in->flags);
  custos_put_u8 (rec, 0);
  custos_put_u64 (rec, in->utc_origin_us);
  custos_put_string16 (rec, in->caps);
  custos_put_string16 (rec, in->name);
}

void
custos_stream_info_clear (CustosStreamInfo *self)
{
  g_clear_pointer (&self->caps, g_free);
  g_clear_pointer (&self->name, g_free);
}

CustosStreamInfo *
custos_stream_info_copy (const CustosStreamInfo *self)
{
  CustosStreamInfo *copy = g_memdup2 (self, sizeof *self);

  copy->caps = g_strdup (self->caps);
  copy->name = g_strdup (self->name);
  return copy;
}

void
custos_stream_info_free (CustosStreamInfo *self)
{
  custos_stream_info_clear (self);
  g_free (self);
}

gboolean
custos_stream_info_equal (const CustosStreamInfo *a,
                          const CustosStreamInfo *b)
{
  return a->id == b->id && a->kind == b->kind && a->flags == b->flags &&
         a->utc_origin_us == b->utc_origin_us && g_strcmp0 (a->caps, b->caps) == 0 &&
         g_strcmp0 (a->name, b->name) == 0;
}

/* SIGNER */

GPtrArray *
custos_signer_parse (const guint8  *body,
                     gsize          len,
                     GError       **error)
{
  g_autoptr (GPtrArray) certs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  Cursor c;
  guint count;

  cursor_init (&c, body, len);
  count = get_u8 (&c);
  if (count == 0 || count > CUSTOS_MAX_SIGNER_CERTS)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_LIMIT,
                   _ ("signer record holds %u certificates (1..%u allowed)"), count,
                   CUSTOS_MAX_SIGNER_CERTS);
      return NULL;
    }
  for (guint i = 0; i < count && c.ok; i++)
    {
      guint16 n = get_u16 (&c);
      const guint8 *der = cursor_take (&c, n);

      if (der != NULL && n > 0)
        g_ptr_array_add (certs, g_bytes_new (der, n));
      else
        c.ok = FALSE;
    }
  if (!cursor_check (&c, "signer", TRUE, error))
    return NULL;
  return g_steal_pointer (&certs);
}

void
custos_signer_append (GByteArray *rec,
                      GPtrArray  *certs)
{
  custos_put_u8 (rec, certs->len);
  for (guint i = 0; i < certs->len; i++)
    {
      gsize n;
      const guint8 *der = g_bytes_get_data (certs->pdata[i], &n);

      custos_put_u16 (rec, n);
      custos_put_bytes (rec, der, n);
    }
}

/* RECIPIENT */

gboolean
custos_recipient_record_parse (const guint8           *body,
                               gsize                   len,
                               CustosRecipientRecord  *out,
                               GError                **error)
{
  Cursor c;
  guint16 n;
  const guint8 *wrapped;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  get_bytes (&c, out->recipient_id, sizeof out->recipient_id);
  out->epoch = get_u32 (&c);
  out->alg = get_u8 (&c);
  (void) get_u8 (&c);
  n = get_u16 (&c);
  wrapped = cursor_take (&c, n);
  out->label = get_string16 (&c, CUSTOS_MAX_STRING);
  if (!cursor_check (&c, "recipient", TRUE, error))
    {
      custos_recipient_record_clear (out);
      return FALSE;
    }
  out->wrapped = g_bytes_new (wrapped, n);
  return TRUE;
}

void
custos_recipient_record_append (GByteArray                  *rec,
                                const CustosRecipientRecord *in)
{
  gsize n;
  const guint8 *wrapped = g_bytes_get_data (in->wrapped, &n);

  custos_put_bytes (rec, in->recipient_id, sizeof in->recipient_id);
  custos_put_u32 (rec, in->epoch);
  custos_put_u8 (rec, in->alg);
  custos_put_u8 (rec, 0);
  custos_put_u16 (rec, n);
  custos_put_bytes (rec, wrapped, n);
  custos_put_string16 (rec, in->label);
}

void
custos_recipient_record_clear (CustosRecipientRecord *self)
{
  g_clear_pointer (&self->wrapped, g_bytes_unref);
  g_clear_pointer (&self->label, g_free);
}

/* KEY */

gboolean
custos_key_record_parse (const guint8     *body,
                         gsize             len,
                         CustosKeyRecord  *out,
                         GError          **error)
{
  Cursor c;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  out->stream = get_u8 (&c);
  out->period = get_u32 (&c);
  get_bytes (&c, out->recipient_id, sizeof out->recipient_id);
  out->epoch = get_u32 (&c);
  out->wrapped_len = get_u8 (&c);
  if (out->wrapped_len > sizeof out->wrapped)
    c.ok = FALSE;
  else
    get_bytes (&c, out->wrapped, out->wrapped_len);
  return cursor_check (&c, "key", TRUE, error);
}

void
custos_key_record_append (GByteArray            *rec,
                          const CustosKeyRecord *in)
{
  custos_put_u8 (rec, in->stream);
  custos_put_u32 (rec, in->period);
  custos_put_bytes (rec, in->recipient_id, sizeof in->recipient_id);
  custos_put_u32 (rec, in->epoch);
  custos_put_u8 (rec, in->wrapped_len);
  custos_put_bytes (rec, in->wrapped, in->wrapped_len);
}

/* DATA */

gboolean
custos_data_record_parse (guint8             flags,
                          const guint8      *body,
                          gsize              len,
                          CustosDataRecord  *out,
                          GError           **error)
{
  gsize tag_len = (flags & CUSTOS_DATA_FLAG_ENCRYPTED) ? CUSTOS_GCM_TAG_LEN : 0;

  out->flags = flags;
  out->prefix_len = CUSTOS_DATA_PREFIX_LEN + ((flags & CUSTOS_DATA_FLAG_HAS_DTS) ? 4 : 0);
  if (len < out->prefix_len + tag_len)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("data record of %zu bytes is shorter than its "
                      "%zu-byte prefix and tag"),
                   len, out->prefix_len + tag_len);
      return FALSE;
    }
  out->stream = body[0];
  out->counter = custos_read_u24 (body + 1);
  out->period = custos_read_u32 (body + 4);
  out->pts_offset = (gint32) custos_read_u32 (body + 8);
  out->dts_offset = (flags & CUSTOS_DATA_FLAG_HAS_DTS) ? (gint32) custos_read_u32 (body + 12)
                                                      : out->pts_offset;
  out->payload = body + out->prefix_len;
  out->payload_len = len - out->prefix_len - tag_len;
  out->tag = tag_len ? body + len - tag_len : NULL;
  if (out->stream >= CUSTOS_MAX_STREAMS)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("data record names reserved stream %u"), out->stream);
      return FALSE;
    }
  return TRUE;
}

void
custos_data_record_append_prefix (GByteArray             *rec,
                                  const CustosDataRecord *in)
{
  custos_put_u8 (rec, in->stream);
  custos_put_u24 (rec, in->counter);
  custos_put_u32 (rec, in->period);
  custos_put_u32 (rec, (guint32) in->pts_offset);
  if (in->flags & CUSTOS_DATA_FLAG_HAS_DTS)
    custos_put_u32 (rec, (guint32) in->dts_offset);
}

void
custos_data_record_nonce (const CustosDataRecord *in,
                          guint8                  nonce[CUSTOS_GCM_NONCE_LEN])
{
  nonce[0] = in->stream;
  nonce[1] = (in->counter >> 16) & 0xff;
  nonce[2] = (in->counter >> 8) & 0xff;
  nonce[3] = in->counter & 0xff;
  nonce[4] = in->period >> 24;
  nonce[5] = (in->period >> 16) & 0xff;
  nonce[6] = (in->period >> 8) & 0xff;
  nonce[7] = in->period & 0xff;
  memset (nonce + 8, 0, 4);
}

/* SEAL */

gboolean
custos_seal_record_parse (const guint8      *body,
                          gsize              len,
                          CustosSealRecord  *out,
                          GError           **error)
{
  Cursor c;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  out->segment = get_u32 (&c);
  get_bytes (&c, out->signer_id, sizeof out->signer_id);
  out->sig_alg = get_u8 (&c);
  (void) get_u8 (&c);
  out->start_us = (gint64) get_u64 (&c);
  out->end_us = (gint64) get_u64 (&c);
  get_bytes (&c, out->prev, sizeof out->prev);
  out->n = get_u32 (&c);
  if (out->n > CUSTOS_MAX_SEAL_RECORDS)
    c.ok = FALSE;
  out->n_ranges = get_u8 (&c);
  out->ranges = cursor_take (&c, (gsize) out->n_ranges * CUSTOS_SEAL_RANGE_LEN);
  get_bytes (&c, out->digest, sizeof out->digest);
  out->signed_len = len - c.left;
  out->sig_len = get_u16 (&c);
  out->sig = cursor_take (&c, out->sig_len);
  return cursor_check (&c, "seal", TRUE, error);
}

void
custos_seal_record_get_range (const CustosSealRecord *seal,
                              guint                   i,
                              CustosSealRange        *range)
{
  const guint8 *p = seal->ranges + (gsize) i * CUSTOS_SEAL_RANGE_LEN;

  range->stream = p[0];
  range->period = custos_read_u32 (p + 1);
  range->first = custos_read_u24 (p + 5);
  range->last = custos_read_u24 (p + 8);
}

void
custos_seal_range_append (GByteArray            *rec,
                          const CustosSealRange *range)
{
  custos_put_u8 (rec, range->stream);
  custos_put_u32 (rec, range->period);
  custos_put_u24 (rec, range->first);
  custos_put_u24 (rec, range->last);
}

/* INDEX */

gboolean
custos_index_record_parse (const guint8       *body,
                           gsize               len,
                           CustosIndexRecord  *out,
                           GError            **error)
{
  Cursor c;
  guint count;

  memset (out, 0, sizeof *out);
  cursor_init (&c, body, len);
  out->sync_offset = get_u64 (&c);
  out->segment_offset = get_u64 (&c);
  out->segment = get_u32 (&c);
  count = get_u16 (&c);
  if (c.ok && c.left != (gsize) count * 18)
    c.ok = FALSE;
  out->entries = g_array_sized_new (FALSE, FALSE, sizeof (CustosIndexEntry), count);
  for (guint i = 0; i < count && c.ok; i++)
    {
      CustosIndexEntry e;

      e.stream = get_u8 (&c);
      (void) get_u8 (&c);
      e.pts_us = (gint64) get_u64 (&c);
      e.offset = get_u64 (&c);
      g_array_append_val (out->entries, e);
    }
  if (!cursor_check (&c, "index", TRUE, error))
    {
      custos_index_record_clear (out);
      return FALSE;
    }
  return TRUE;
}

void
custos_index_record_append (GByteArray              *rec,
                            const CustosIndexRecord *in)
{
  guint count = MIN (in->entries->len, G_MAXUINT16);

  custos_put_u64 (rec, in->sync_offset);
  custos_put_u64 (rec, in->segment_offset);
  custos_put_u32 (rec, in->segment);
  custos_put_u16 (rec, count);
  for (guint i = 0; i < count; i++)
    {
      const CustosIndexEntry *e = &g_array_index (in->entries, CustosIndexEntry, i);

      custos_put_u8 (rec, e->stream);
      custos_put_u8 (rec, 0);
      custos_put_u64 (rec, e->pts_us);
      custos_put_u64 (rec, e->offset);
    }
}

void
custos_index_record_clear (CustosIndexRecord *self)
{
  g_clear_pointer (&self->entries, g_array_unref);
}

/* TOC */

GArray *
custos_toc_record_parse (const guint8  *body,
                         gsize          len,
                         guint64        record_offset,
                         GError       **error)
{
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));
  Cursor c;
  guint32 count;
  const guint8 *magic;

  cursor_init (&c, body, len);
  count = get_u32 (&c);
  if (c.ok && (c.left < 16 || (c.left - 16) / 24 != count || (c.left - 16) % 24 != 0))
    c.ok = FALSE;
  for (guint i = 0; i < count && c.ok; i++)
    {
      CustosTocEntry e;

      e.index_offset = get_u64 (&c);
      e.first_us = (gint64) get_u64 (&c);
      e.last_us = (gint64) get_u64 (&c);
      g_array_append_val (entries, e);
    }
  if (c.ok && get_u64 (&c) != record_offset)
    {
      g_set_error (error, CUSTOS_FORMAT_ERROR, CUSTOS_FORMAT_ERROR_BAD_RECORD,
                   _ ("table of contents at offset %" PRIu64 " names another offset"),
                   record_offset);
      return NULL;
    }
  magic = cursor_take (&c, CUSTOS_TOC_MAGIC_LEN);
  if (magic != NULL && memcmp (magic, CUSTOS_TOC_MAGIC, CUSTOS_TOC_MAGIC_LEN) != 0)
    c.ok = FALSE;
  if (!cursor_check (&c, "table of contents", TRUE, error))
    return NULL;
  return g_steal_pointer (&entries);
}

void
custos_toc_record_append (GByteArray *rec,
                          GArray     *entries,
                          guint64     record_offset)
{
  custos_put_u32 (rec, entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const CustosTocEntry *e = &g_array_index (entries, CustosTocEntry, i);

      custos_put_u64 (rec, e->index_offset);
      custos_put_u64 (rec, e->first_us);
      custos_put_u64 (rec, e->last_us);
    }
  custos_put_u64 (rec, record_offset);
  custos_put_bytes (rec, CUSTOS_TOC_MAGIC, CUSTOS_TOC_MAGIC_LEN);
}
