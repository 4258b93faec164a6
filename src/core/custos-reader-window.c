/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader's input window: framing, resynchronisation after damage, truncation. */
#define G_LOG_DOMAIN "custos-reader"

#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-reader-private.h"

/* Input window */

void
custos_reader_window_settle (CustosReader *self)
{
  custos_seal_hasher_wait (self->hasher);
}

/* The window moves its kept bytes [drop, end) to the start of a buffer
 * of at least size bytes. With a seal thread they go to the other
 * buffer, not over themselves: the thread goes on digesting the records
 * just handed over while the next bytes are read and decrypted, and the
 * reader waits only for those of the buffer before. */
static void
slide (CustosReader *self,
       gsize         drop,
       gsize         size)
{
  if (self->hasher == NULL)
    {
      if (self->end > drop)
        memmove (self->buf, self->buf + drop, self->end - drop);
      if (size > self->cap)
        {
          self->cap = size;
          self->buf = g_realloc (self->buf, self->cap);
        }
    }
  else
    {
      guint8 *buf = self->spare;
      gsize cap = MAX (size, self->cap);

      custos_seal_hasher_wait_for (self->hasher, self->spare_mark);
      if (self->spare_cap < cap)
        {
          g_free (buf);
          buf = g_malloc (cap);
        }
      else
        cap = self->spare_cap;
      if (self->end > drop)
        memcpy (buf, self->buf + drop, self->end - drop);
      self->spare = self->buf;
      self->spare_cap = self->cap;
      self->spare_mark = custos_seal_hasher_mark (self->hasher);
      self->buf = buf;
      self->cap = cap;
    }
  self->end -= drop;
  self->base += drop;
  self->pos -= drop;
  if (self->mark != G_MAXSIZE)
    self->mark -= drop;
}

static gboolean
fill (CustosReader *self,
      gsize         want,
      GCancellable *cancellable,
      GError      **error)
{
  gsize drop;

  if (self->end - self->pos >= want || self->eof)
    return TRUE;

  /* Keep only the unread (and marked) bytes, then grow to fit. */
  drop = MIN (self->pos, self->mark);
  want += self->pos - drop;
  if (drop > 0 || want + READ_CHUNK > self->cap)
    slide (self, drop, want + READ_CHUNK);
  while (self->end < want && !self->eof)
    {
      gssize n = g_input_stream_read (self->input, self->buf + self->end, self->cap - self->end,
                                      cancellable, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        self->eof = TRUE;
      self->end += n;
      self->bytes_read += n;
    }
  return TRUE;
}

static inline gsize
avail (CustosReader *self)
{
  return self->end - self->pos;
}

static inline guint64
cur_offset (CustosReader *self)
{
  return self->base + self->pos;
}

static gboolean
header_ok (const guint8       *p,
           gsize               len,
           CustosRecordHeader *h)
{
  return custos_record_header_parse (p, len, h, NULL);
}

/* A record at buf[p] is believed when its header is valid and the bytes
 * after it start another valid header or end the data: one byte 0xCF in
 * random data is common, two consistent headers in a row are not. */
static int
candidate_ok (CustosReader *self,
              gsize         p,
              GCancellable *cancellable,
              GError      **error)
{
  CustosRecordHeader h, next;
  gsize rel = p - self->pos, need;

  if (self->buf[p] != CUSTOS_RECORD_SYNC || !header_ok (self->buf + p, self->end - p, &h))
    return 0;
  need = rel + CUSTOS_RECORD_HEADER_LEN + h.length + CUSTOS_RECORD_HEADER_LEN;
  if (!fill (self, need, cancellable, error))
    return -1;
  p = self->pos + rel; /* fill may have moved the window */
  if (avail (self) == need - CUSTOS_RECORD_HEADER_LEN)
    return 1;
  if (avail (self) < need)
    return 0;
  return header_ok (self->buf + p + CUSTOS_RECORD_HEADER_LEN + h.length, CUSTOS_RECORD_HEADER_LEN,
                    &next) ? 1 : 0;
}

static void
report_damage (CustosReader *self,
               guint64       from,
               guint64       to,
               const char   *why)
{
  self->report->damaged_bytes += to - from;
  self->report->damaged_regions++;
  custos_report_add (self->report, CUSTOS_ISSUE_DAMAGED, from, -1, 0, 0, G_MININT64,
                     g_dngettext (custos_i18n_domain (),
                                  "%" PRIu64 " damaged byte at offset %" PRIu64 " skipped (%s)",
                                  "%" PRIu64 " damaged bytes at offset %" PRIu64 " skipped (%s)",
                                  to - from),
                     to - from, from, why);
}

/* Moves to the next believable record after the current position; FALSE
 * in *found when the data ends first. */
static gboolean
scan (CustosReader *self,
      gboolean     *found,
      GCancellable *cancellable,
      GError      **error)
{
  *found = FALSE;
  self->pos++;
  for (;;)
    {
      int ok;

      if (!fill (self, CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (avail (self) < CUSTOS_RECORD_HEADER_LEN)
        {
          self->pos = self->end;
          return TRUE;
        }
      ok = candidate_ok (self, self->pos, cancellable, error);
      if (ok < 0)
        return FALSE;
      if (ok > 0)
        {
          *found = TRUE;
          return TRUE;
        }
      if (self->report->records == 0 && cur_offset (self) > NOT_FUSION_SCAN)
        {
          self->pos = self->end;
          self->eof = TRUE;
          return TRUE;
        }
      self->pos++;
    }
}

/* Skips to the next believable record; what lies between is reported as
 * damaged. */
static gboolean
resync (CustosReader *self,
        const char   *why,
        GCancellable *cancellable,
        GError      **error)
{
  guint64 from = cur_offset (self);
  gboolean found;

  if (!scan (self, &found, cancellable, error))
    return FALSE;
  report_damage (self, from, cur_offset (self), why);
  return TRUE;
}

static void
report_truncated (CustosReader *self,
                  guint64       offset,
                  gsize         present,
                  gsize         wanted)
{
  self->report->truncated = TRUE;
  custos_report_add (
      self->report, CUSTOS_ISSUE_TRUNCATED, offset, -1, 0, 0, G_MININT64,
      _ ("the data ends inside a record at offset %" PRIu64 " (%zu of %zu bytes present)"), offset,
      present, wanted);
}

/* A record that runs past the end is either the cut-off last record or a
 * damaged length in the middle: only if no record follows is it the end. */
static gboolean
past_end (CustosReader *self,
          gsize         wanted,
          GCancellable *cancellable,
          GError      **error)
{
  guint64 from = cur_offset (self);
  gsize present = avail (self);
  gsize saved = self->pos;
  gboolean found;

  if (!scan (self, &found, cancellable, error))
    return FALSE;
  if (found)
    {
      report_damage (self, from, cur_offset (self), "record length runs past the end of the data");
      return TRUE;
    }
  self->pos = saved;
  report_truncated (self, from, present, wanted);
  self->pos = self->end;
  return TRUE;
}

/* The bytes after a record do not start another. Either its length is
 * wrong (a record starts inside it: drop it) or junk follows it (keep it
 * and skip the junk). On keep, the record stays at buf + mark. */
static gboolean
after_bad_successor (CustosReader *self,
                     gsize         len,
                     gboolean     *keep,
                     GCancellable *cancellable,
                     GError      **error)
{
  guint64 start = cur_offset (self);
  gboolean found;

  self->mark = self->pos;
  if (!scan (self, &found, cancellable, error))
    {
      self->mark = G_MAXSIZE;
      return FALSE;
    }
  *keep = cur_offset (self) >= start + len;
  if (*keep)
    report_damage (self, start + len, cur_offset (self), "bytes between records");
  else
    {
      self->mark = G_MAXSIZE;
      report_damage (self, start, cur_offset (self), "record length inconsistent with what follows");
    }
  return TRUE;
}

/* The next framed record: *rec points at its header in the window, valid
 * until the next call. FALSE with no error at the end of the data. */
gboolean
custos_reader_next_record (CustosReader        *self,
             CustosRecordHeader  *h,
             const guint8       **rec,
             guint64             *offset,
             GCancellable        *cancellable,
             GError             **error)
{
  for (;;)
    {
      CustosRecordHeader next;
      gsize len;

      if (!fill (self, CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (avail (self) == 0)
        return FALSE;
      if (avail (self) < CUSTOS_RECORD_HEADER_LEN ||
          !header_ok (self->buf + self->pos, avail (self), h))
        {
          if (avail (self) >= CUSTOS_RECORD_HEADER_LEN || !self->eof)
            {
              if (!resync (self, "no valid record header", cancellable, error))
                return FALSE;
              continue;
            }
        }
      len = avail (self) >= CUSTOS_RECORD_HEADER_LEN ? CUSTOS_RECORD_HEADER_LEN + h->length : 0;
      if (!fill (self, len + CUSTOS_RECORD_HEADER_LEN, cancellable, error))
        return FALSE;
      if (len == 0)
        {
          report_truncated (self, cur_offset (self), avail (self), CUSTOS_RECORD_HEADER_LEN);
          self->pos = self->end;
          return FALSE;
        }
      if (avail (self) < len)
        {
          if (!past_end (self, len, cancellable, error))
            return FALSE;
          continue;
        }
      *offset = cur_offset (self);
      if (avail (self) >= len + CUSTOS_RECORD_HEADER_LEN &&
          !header_ok (self->buf + self->pos + len, CUSTOS_RECORD_HEADER_LEN, &next))
        {
          gboolean keep;

          if (!after_bad_successor (self, len, &keep, cancellable, error))
            return FALSE;
          if (!keep)
            continue;
          *rec = self->buf + self->mark;
          self->mark = G_MAXSIZE;
        }
      else
        {
          *rec = self->buf + self->pos;
          self->pos += len;
        }
      self->report->records++;
      return TRUE;
    }
}

