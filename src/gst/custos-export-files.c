/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-export"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "custos-export-files.h"

/* MP4 */

/* Seconds from 1904-01-01 (the QuickTime epoch) to 1970-01-01. */
#define QT_EPOCH_OFFSET G_GINT64_CONSTANT (2082844800)
#define FOURCC(a, b, c, d) ((guint32) (a) << 24 | (guint32) (b) << 16 | (guint32) (c) << 8 | (d))

typedef struct
{
  guint64 offset;
  guint64 size;
  guint32 type;
  guint   header;
} Box;

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static gboolean
read_at (FILE    *f,
         guint64  offset,
         void    *buf,
         gsize    len)
{
  return fseeko (f, (off_t) offset, SEEK_SET) == 0 && fread (buf, 1, len, f) == len;
}

static gboolean
write_at (FILE       *f,
          guint64     offset,
          const void *buf,
          gsize       len)
{
  return fseeko (f, (off_t) offset, SEEK_SET) == 0 && fwrite (buf, 1, len, f) == len;
}

/* The box at offset, if one fits before end. */
static gboolean
read_box (FILE    *f,
          guint64  offset,
          guint64  end,
          Box     *box)
{
  guint8 h[16];
  guint32 size32;

  if (offset + 8 > end || !read_at (f, offset, h, 8))
    return FALSE;
  size32 = read_be32 (h);
  box->offset = offset;
  box->type = read_be32 (h + 4);
  box->header = 8;
  box->size = size32;
  if (size32 == 1)
    {
      if (offset + 16 > end || !read_at (f, offset + 8, h + 8, 8))
        return FALSE;
      box->size = (guint64) read_be32 (h + 8) << 32 | read_be32 (h + 12);
      box->header = 16;
    }
  else if (size32 == 0)
    box->size = end - offset;
  return box->size >= box->header && box->size <= end - offset;
}

/* mvhd, tkhd and mdhd start alike: version, flags, creation_time. */
static gboolean
patch_time (FILE       *f,
            const Box  *box,
            guint64     qt_time)
{
  guint64 at = box->offset + box->header;
  guint8 version;
  guint8 out[8];

  if (!read_at (f, at, &version, 1))
    return FALSE;
  for (guint i = 0; i < 8; i++)
    out[i] = (qt_time >> (56 - 8 * i)) & 0xff;
  if (version == 1)
    return write_at (f, at + 4, out, 8);
  /* Version 0 holds 32 bits: enough until 2040. */
  return qt_time <= G_MAXUINT32 && write_at (f, at + 4, out + 4, 4);
}

static guint
patch_boxes (FILE    *f,
             guint64  start,
             guint64  end,
             guint64  qt_time)
{
  guint patched = 0;
  Box box;

  for (guint64 offset = start; read_box (f, offset, end, &box); offset += box.size)
    {
      switch (box.type)
        {
        case FOURCC ('m', 'o', 'o', 'v'):
        case FOURCC ('t', 'r', 'a', 'k'):
        case FOURCC ('m', 'd', 'i', 'a'):
          patched += patch_boxes (f, box.offset + box.header, box.offset + box.size, qt_time);
          break;
        case FOURCC ('m', 'v', 'h', 'd'):
        case FOURCC ('t', 'k', 'h', 'd'):
        case FOURCC ('m', 'd', 'h', 'd'):
          patched += patch_time (f, &box, qt_time) ? 1 : 0;
          break;
        default:
          break;
        }
    }
  return patched;
}

gboolean
custos_mp4_set_creation_time (const char  *path,
                              gint64       utc_us,
                              GError     **error)
{
  FILE *f = g_fopen (path, "r+b");
  guint64 qt_time = (guint64) (utc_us / G_USEC_PER_SEC + QT_EPOCH_OFFSET);
  guint patched;
  off_t size;

  if (f == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  size = fseeko (f, 0, SEEK_END) == 0 ? ftello (f) : -1;
  patched = size > 0 ? patch_boxes (f, 0, (guint64) size, qt_time) : 0;
  if (fclose (f) != 0 || patched == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("%s: no movie header to set the creation time in"), path);
      return FALSE;
    }
  return TRUE;
}

/* PNG */

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static void
put_be32 (GByteArray *out,
          guint32     v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

static void
append_chunk (GByteArray   *out,
              const char   *type,
              const guint8 *data,
              gsize         len)
{
  uLong crc = crc32 (0, (const Bytef *) type, 4);

  crc = crc32 (crc, data, len);
  put_be32 (out, len);
  g_byte_array_append (out, (const guint8 *) type, 4);
  g_byte_array_append (out, data, len);
  put_be32 (out, crc);
}

static gboolean
is_ascii (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* tEXt is Latin-1; anything else goes into iTXt, which is UTF-8. */
static void
append_text_chunk (GByteArray *out,
                   const char *key,
                   const char *value)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  gboolean latin = is_ascii (value);

  g_byte_array_append (data, (const guint8 *) key, strlen (key) + 1);
  if (!latin)
    /* No compression, no language, no translated keyword. */
    g_byte_array_append (data, (const guint8 *) "\0\0\0", 4);
  g_byte_array_append (data, (const guint8 *) value, strlen (value));
  append_chunk (out, latin ? "tEXt" : "iTXt", data->data, data->len);
}

GBytes *
custos_png_add_text (GBytes      *png,
                     const char **pairs,
                     GError     **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (png, &len);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize ihdr_end;

  /* Signature, then IHDR: 4 length, 4 type, 13 data, 4 CRC. */
  if (len < 8 + 25 || memcmp (p, png_signature, 8) != 0 || memcmp (p + 12, "IHDR", 4) != 0 ||
      read_be32 (p + 8) != 13)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("not a PNG image"));
      return NULL;
    }
  ihdr_end = 8 + 25;
  g_byte_array_append (out, p, ihdr_end);
  for (guint i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
    {
      g_return_val_if_fail (strlen (pairs[i]) >= 1 && strlen (pairs[i]) <= 79, NULL);
      append_text_chunk (out, pairs[i], pairs[i + 1]);
    }
  g_byte_array_append (out, p + ihdr_end, len - ihdr_end);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
