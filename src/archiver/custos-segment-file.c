/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "custos-segment-file.h"

struct _CustosSegmentFile
{
  char    *dir;
  char    *part_path;
  char    *final_path;
  int      fd;
  int      read_fd;  /* for readers: stays valid across the rename */
  guint64  size;
  gint64   start_us;
  gint64   dirty_since;
};

/* format is a whole sentence, so that translators can order it: callers
 * pass the path and g_strerror (errno) for it. */
static void G_GNUC_PRINTF (3, 4)
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *format,
                 ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error,
                     g_error_new_valist (G_IO_ERROR, g_io_error_from_errno (saved_errno), format,
                                         args));
  va_end (args);
}

static char *
name_for_time (gint64 start_us,
               guint  attempt)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (start_us / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (dt, "%Y%m%dT%H%M%S");
  int micro = (int) (start_us % G_USEC_PER_SEC);

  if (attempt == 0)
    return g_strdup_printf ("%s.%06dZ", base, micro);
  return g_strdup_printf ("%s.%06dZ-%u", base, micro, attempt);
}

CustosSegmentFile *
custos_segment_file_create (const char  *dir,
                            gint64       start_us,
                            GError     **error)
{
  g_autofree char *path = NULL;
  CustosSegmentFile *self;
  int fd = -1;

  if (start_us < 0)
    start_us = 0;
  /* Two files can start in the same microsecond only after a restart;
   * O_EXCL never lets one overwrite the other. */
  for (guint attempt = 0; fd < 0 && attempt < 100; attempt++)
    {
      g_autofree char *name = name_for_time (start_us, attempt);

      g_free (path);
      path = g_strdup_printf ("%s/%s" CUSTOS_SEGMENT_PART_SUFFIX, dir, name);
      fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      /* Translators: a file or folder, and the system's reason. */
      set_errno_error (error, errno, _("Cannot create %s: %s"), path,
                       g_strerror (errno));
      return NULL;
    }
  self = g_new0 (CustosSegmentFile, 1);
  self->dir = g_strdup (dir);
  self->read_fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  self->part_path = g_steal_pointer (&path);
  self->fd = fd;
  self->start_us = start_us;
  return self;
}

gboolean
custos_segment_file_append (CustosSegmentFile  *self,
                            const guint8       *data,
                            gsize               len,
                            GError            **error)
{
  while (len > 0)
    {
      gssize n = write (self->fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          /* Translators: a file or folder, and the system's reason. */
          set_errno_error (error, errno, _("Cannot write %s: %s"), self->part_path,
                           g_strerror (errno));
          return FALSE;
        }
      data += n;
      len -= n;
      self->size += n;
      if (self->dirty_since == 0)
        self->dirty_since = g_get_monotonic_time ();
    }
  return TRUE;
}

gboolean
custos_segment_file_sync (CustosSegmentFile  *self,
                          GError            **error)
{
  if (self->dirty_since == 0)
    return TRUE;
  if (fdatasync (self->fd) != 0)
    {
      /* Translators: a file or folder, and the system's reason. */
      set_errno_error (error, errno, _("Cannot sync %s: %s"), self->part_path,
                       g_strerror (errno));
      return FALSE;
    }
  self->dirty_since = 0;
  return TRUE;
}

gint64
custos_segment_file_get_dirty_since (CustosSegmentFile *self)
{
  return self->dirty_since;
}

guint64
custos_segment_file_get_size (CustosSegmentFile *self)
{
  return self->size;
}

gint64
custos_segment_file_get_start (CustosSegmentFile *self)
{
  return self->start_us;
}

const char *
custos_segment_file_get_part_path (CustosSegmentFile *self)
{
  return self->part_path;
}

int
custos_segment_file_open_reader (CustosSegmentFile  *self,
                                 GError            **error)
{
  int fd = self->read_fd >= 0 ? fcntl (self->read_fd, F_DUPFD_CLOEXEC, 0) : -1;

  if (fd < 0)
    /* Translators: a file or folder, and the system's reason. */
    set_errno_error (error, errno, _("Cannot open %s: %s"), self->part_path,
                     g_strerror (errno));
  return fd;
}

gboolean
custos_sync_directory (const char  *dir,
                       GError     **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  gboolean ok;

  if (fd < 0)
    {
      /* Translators: a file or folder, and the system's reason. */
      set_errno_error (error, errno, _("Cannot open %s: %s"), dir,
                       g_strerror (errno));
      return FALSE;
    }
  ok = fsync (fd) == 0;
  if (!ok)
    /* Translators: a file or folder, and the system's reason. */
    set_errno_error (error, errno, _("Cannot sync %s: %s"), dir,
                     g_strerror (errno));
  close (fd);
  return ok;
}

const char *
custos_segment_file_finish (CustosSegmentFile  *self,
                            GError            **error)
{
  gsize len = strlen (self->part_path) - strlen (".part");

  g_return_val_if_fail (self->fd >= 0, NULL);

  /* Data first, then the name: a crash in between leaves a complete
   * .part file, which recovery renames. */
  if (fsync (self->fd) != 0)
    {
      /* Translators: a file or folder, and the system's reason. */
      set_errno_error (error, errno, _("Cannot sync %s: %s"), self->part_path,
                       g_strerror (errno));
      return NULL;
    }
  close (self->fd);
  self->fd = -1;
  self->final_path = g_strndup (self->part_path, len);
  if (g_rename (self->part_path, self->final_path) != 0)
    {
      /* Translators: a file or folder, and the system's reason. */
      set_errno_error (error, errno, _("Cannot rename %s: %s"), self->part_path,
                       g_strerror (errno));
      g_clear_pointer (&self->final_path, g_free);
      return NULL;
    }
  if (!custos_sync_directory (self->dir, error))
    return NULL;
  return self->final_path;
}

void
custos_segment_file_free (CustosSegmentFile *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    close (self->fd);
  if (self->read_fd >= 0)
    close (self->read_fd);
  g_free (self->dir);
  g_free (self->part_path);
  g_free (self->final_path);
  g_free (self);
}
