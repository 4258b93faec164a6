/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos-record.h"
#include "custos-segment-map.h"
#include "custos-storage.h"

#define INDEX_FILE    "index.json"
#define LOCK_FILE     ".lock"
#define INDEX_VERSION 1

typedef struct
{
  char      *id;
  char      *dir;
  GPtrArray *segments;   /* CustosSegmentInfo, by first_us */
  gint64     max_age_us;
  guint64    max_bytes;
} CameraStore;

struct _CustosStorage
{
  GObject     parent_instance;

  char       *root;
  int         lock_fd;
  GMutex      lock;
  GHashTable *cameras;   /* id -> CameraStore */
};

G_DEFINE_FINAL_TYPE (CustosStorage, custos_storage, G_TYPE_OBJECT)
G_DEFINE_BOXED_TYPE (CustosSegmentInfo, custos_segment_info, custos_segment_info_copy,
                     custos_segment_info_free)

CustosSegmentInfo *
custos_segment_info_copy (const CustosSegmentInfo *self)
{
  CustosSegmentInfo *copy = g_new0 (CustosSegmentInfo, 1);

  *copy = *self;
  copy->path = g_strdup (self->path);
  return copy;
}

void
custos_segment_info_free (CustosSegmentInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  g_free (self);
}

static void
camera_store_free (CameraStore *store)
{
  g_free (store->id);
  g_free (store->dir);
  g_ptr_array_unref (store->segments);
  g_free (store);
}

static void
custos_storage_finalize (GObject *object)
{
  CustosStorage *self = CUSTOS_STORAGE (object);

  g_clear_pointer (&self->cameras, g_hash_table_unref);
  g_clear_pointer (&self->root, g_free);
  if (self->lock_fd >= 0)
    close (self->lock_fd);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (custos_storage_parent_class)->finalize (object);
}

static void
custos_storage_class_init (CustosStorageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_storage_finalize;
}

static void
custos_storage_init (CustosStorage *self)
{
  g_mutex_init (&self->lock);
  self->lock_fd = -1;
  self->cameras = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) camera_store_free);
}

/* Two archivers writing one archive would destroy each other's files:
 * the second one refuses to start. The lock goes with the process. */
static gboolean
lock_root (CustosStorage  *self,
           GError        **error)
{
  g_autofree char *path = g_build_filename (self->root, LOCK_FILE, NULL);

  self->lock_fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (self->lock_fd < 0 || flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, saved == EWOULDBLOCK ? G_IO_ERROR_BUSY
                                                            : g_io_error_from_errno (saved),
                   saved == EWOULDBLOCK ? _("Another archiver is using the storage folder %s")
                                        : _("Cannot lock the storage folder %s"), self->root);
      return FALSE;
    }
  return TRUE;
}

CustosStorage *
custos_storage_new (const char  *root,
                    GError     **error)
{
  g_autoptr (CustosStorage) self = g_object_new (CUSTOS_TYPE_STORAGE, NULL);

  if (g_mkdir_with_parents (root, 0750) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create the storage folder %s: %s"), root, g_strerror (saved));
      return NULL;
    }
  self->root = g_canonicalize_filename (root, NULL);
  if (!lock_root (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
custos_storage_get_root (CustosStorage *self)
{
  return self->root;
}

static int
compare_segments (gconstpointer a,
                  gconstpointer b)
{
  const CustosSegmentInfo *x = *(CustosSegmentInfo **) a;
  const CustosSegmentInfo *y = *(CustosSegmentInfo **) b;

  if (x->first_us != y->first_us)
    return x->first_us < y->first_us ? -1 : 1;
  return g_strcmp0 (x->path, y->path);
}

/* The index file */

static void
save_index (CameraStore *store)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (store->dir, INDEX_FILE, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, INDEX_VERSION);
  json_builder_set_member_name (b, "camera");
  json_builder_add_string_value (b, store->id);
  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  for (guint i = 0; i < store->segments->len; i++)
    {
      CustosSegmentInfo *info = store->segments->pdata[i];
      g_autofree char *name = g_path_get_basename (info->path);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "first_us");
      json_builder_add_int_value (b, info->first_us);
      json_builder_set_member_name (b, "last_us");
      json_builder_add_int_value (b, info->last_us);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) info->size);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  /* The index only speeds up starting: a lost update is rebuilt from the
   * files, so a consistent (not durable) write is enough. */
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0640, &error))
    g_warning ("%s", error->message);
}

/* name -> CustosSegmentInfo from a previous index.json */
static GHashTable *
load_index (CameraStore *store)
{
  g_autofree char *path = g_build_filename (store->dir, INDEX_FILE, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GHashTable *known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) custos_segment_info_free);
  JsonObject *root;
  JsonArray *segments;

  if (!json_parser_load_from_file (parser, path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return known;
  root = json_node_get_object (json_parser_get_root (parser));
  if (json_object_get_int_member_with_default (root, "version", 0) != INDEX_VERSION ||
      (segments = json_object_get_array_member (root, "segments")) == NULL)
    return known;
  for (guint i = 0; i < json_array_get_length (segments); i++)
    {
      JsonObject *o = json_array_get_object_element (segments, i);
      const char *name = o ? json_object_get_string_member_with_default (o, "file", NULL) : NULL;
      CustosSegmentInfo *info;

      if (name == NULL || strchr (name, '/') != NULL)
        continue;
      info = g_new0 (CustosSegmentInfo, 1);
      info->path = g_build_filename (store->dir, name, NULL);
      info->first_us = json_object_get_int_member_with_default (o, "first_us", 0);
      info->last_us = json_object_get_int_member_with_default (o, "last_us", 0);
      info->size = json_object_get_int_member_with_default (o, "size", 0);
      g_hash_table_insert (known, g_strdup (name), info);
    }
  return known;
}

/* The time range of a finished file, from its table of contents. */
static CustosSegmentInfo *
describe_file (const char *path,
               guint64     size,
               GError    **error)
{
  g_autoptr (GArray) spans = NULL;
  CustosSegmentInfo *info;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  spans = custos_segment_map_read (fd, error);
  close (fd);
  if (spans == NULL)
    return NULL;
  if (spans->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s holds no sealed segment"),
                   path);
      return NULL;
    }
  info = g_new0 (CustosSegmentInfo, 1);
  info->path = g_strdup (path);
  info->first_us = g_array_index (spans, CustosSegmentSpan, 0).first_us;
  info->last_us = g_array_index (spans, CustosSegmentSpan, spans->len - 1).last_us;
  info->size = size;
  return info;
}

/* Recovery */

static gboolean
write_recovered_toc (int      fd,
                     GArray  *spans,
                     guint64  offset,
                     GError **error)
{
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (CustosTocEntry));
  g_autoptr (GByteArray) rec = g_byte_array_new ();
  gsize start;

  for (guint i = 0; i < spans->len; i++)
    {
      CustosSegmentSpan *s = &g_array_index (spans, CustosSegmentSpan, i);
      CustosTocEntry e = { s->index_offset, s->first_us, s->last_us };

      if (s->index_offset != 0)
        g_array_append_val (entries, e);
    }
  if (entries->len == 0)
    return TRUE;
  start = custos_record_begin (rec, CUSTOS_RECORD_TOC, 0);
  custos_toc_record_append (rec, entries, offset);
  if (!custos_record_finish (rec, start, error))
    return FALSE;
  if (pwrite (fd, rec->data, rec->len, (off_t) offset) != (gssize) rec->len)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
cut_part_file (int                  fd,
               GArray              *spans,
               guint64              size,
               CustosRecoveryStats *stats,
               GError             **error)
{
  CustosSegmentSpan *last = &g_array_index (spans, CustosSegmentSpan, spans->len - 1);
  guint64 cut = last->index_offset != 0 ? last->index_end : last->end;

  if (ftruncate (fd, (off_t) cut) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
      return FALSE;
    }
  if (stats != NULL)
    stats->bytes_dropped += size - cut;
  if (!write_recovered_toc (fd, spans, cut, error))
    return FALSE;
  if (fsync (fd) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
recover_part (CameraStore         *store,
              const char          *part_path,
              CustosRecoveryStats *stats,
              GError             **error)
{
  g_autoptr (GArray) spans = NULL;
  g_autofree char *final_path = g_strndup (part_path, strlen (part_path) - strlen (".part"));
  struct stat st;
  gboolean ok;
  int fd = g_open (part_path, O_RDWR | O_CLOEXEC, 0);

  if (fd < 0 || fstat (fd, &st) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", part_path,
                   g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  spans = custos_segment_map_scan (fd, (guint64) st.st_size, NULL, error);
  if (spans == NULL || spans->len == 0)
    {
      close (fd);
      if (spans == NULL)
        return FALSE;
      g_message (_("%s: nothing sealed before the interruption; removed"), part_path);
      g_unlink (part_path);
      if (stats != NULL)
        stats->removed++;
      return TRUE;
    }
  ok = cut_part_file (fd, spans, (guint64) st.st_size, stats, error);
  close (fd);
  if (!ok)
    return FALSE;
  if (g_rename (part_path, final_path) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", part_path,
                   g_strerror (errno));
      return FALSE;
    }
  g_message (_("%s: recovered after an interruption, %u sealed segments kept"), final_path,
             spans->len);
  if (stats != NULL)
    stats->recovered++;
  return TRUE;
}

static void
recover_parts (CameraStore         *store,
               CustosRecoveryStats *stats)
{
  g_autoptr (GDir) dir = g_dir_open (store->dir, 0, NULL);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, CUSTOS_SEGMENT_PART_SUFFIX))
      g_ptr_array_add (parts, g_build_filename (store->dir, name, NULL));
  for (guint i = 0; i < parts->len; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!recover_part (store, parts->pdata[i], stats, &error))
        g_warning (_("Cannot recover %s: %s"), (char *) parts->pdata[i], error->message);
    }
  if (parts->len > 0)
    custos_sync_directory (store->dir, NULL);
}

static void
scan_files (CameraStore *store)
{
  g_autoptr (GHashTable) known = load_index (store);
  g_autoptr (GDir) dir = g_dir_open (store->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      CustosSegmentInfo *cached;
      CustosSegmentInfo *info;
      g_autoptr (GError) error = NULL;
      GStatBuf st;

      if (!g_str_has_suffix (name, CUSTOS_SEGMENT_SUFFIX))
        continue;
      path = g_build_filename (store->dir, name, NULL);
      if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      cached = g_hash_table_lookup (known, name);
      if (cached != NULL && cached->size == (guint64) st.st_size)
        info = custos_segment_info_copy (cached);
      else if ((info = describe_file (path, st.st_size, &error)) == NULL)
        {
          g_warning (_("Ignoring %s: %s"), path, error->message);
          continue;
        }
      g_ptr_array_add (store->segments, info);
    }
  g_ptr_array_sort (store->segments, compare_segments);
}

gboolean
custos_storage_add_camera (CustosStorage       *self,
                           const char          *camera_id,
                           CustosRecoveryStats *stats,
                           GError             **error)
{
  CameraStore *store;

  g_return_val_if_fail (CUSTOS_IS_STORAGE (self), FALSE);

  store = g_new0 (CameraStore, 1);
  store->id = g_strdup (camera_id);
  store->dir = g_build_filename (self->root, camera_id, NULL);
  store->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_segment_info_free);
  if (g_mkdir_with_parents (store->dir, 0750) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot create %s: %s"),
                   store->dir, g_strerror (saved));
      camera_store_free (store);
      return FALSE;
    }
  recover_parts (store, stats);
  scan_files (store);
  save_index (store);
  g_mutex_lock (&self->lock);
  g_hash_table_replace (self->cameras, store->id, store);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

void
custos_storage_set_retention (CustosStorage *self,
                              const char    *camera_id,
                              gint64         max_age_us,
                              guint64        max_bytes)
{
  CameraStore *store;

  g_mutex_lock (&self->lock);
  if ((store = g_hash_table_lookup (self->cameras, camera_id)) != NULL)
    {
      store->max_age_us = max_age_us;
      store->max_bytes = max_bytes;
    }
  g_mutex_unlock (&self->lock);
}

CustosSegmentFile *
custos_storage_begin_segment (CustosStorage  *self,
                              const char     *camera_id,
                              gint64          start_us,
                              GError        **error)
{
  g_autofree char *dir = g_build_filename (self->root, camera_id, NULL);

  return custos_segment_file_create (dir, start_us, error);
}

gboolean
custos_storage_finish_segment (CustosStorage      *self,
                               const char         *camera_id,
                               CustosSegmentFile  *file,
                               gint64              first_us,
                               gint64              last_us,
                               GError            **error)
{
  guint64 size = custos_segment_file_get_size (file);
  const char *path = custos_segment_file_finish (file, error);
  CustosSegmentInfo info = { (char *) path, first_us, last_us, size };
  CameraStore *store;

  if (path == NULL)
    return FALSE;
  g_mutex_lock (&self->lock);
  if ((store = g_hash_table_lookup (self->cameras, camera_id)) != NULL)
    {
      g_ptr_array_add (store->segments, custos_segment_info_copy (&info));
      g_ptr_array_sort (store->segments, compare_segments);
      save_index (store);
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

GPtrArray *
custos_storage_dup_segments (CustosStorage *self,
                             const char    *camera_id)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_segment_info_free);
  CameraStore *store;

  g_mutex_lock (&self->lock);
  if ((store = g_hash_table_lookup (self->cameras, camera_id)) != NULL)
    for (guint i = 0; i < store->segments->len; i++)
      g_ptr_array_add (copy, custos_segment_info_copy (store->segments->pdata[i]));
  g_mutex_unlock (&self->lock);
  return copy;
}

void
custos_storage_get_usage (CustosStorage *self,
                          const char    *camera_id,
                          guint         *n_files,
                          guint64       *bytes)
{
  CameraStore *store;

  *n_files = 0;
  *bytes = 0;
  g_mutex_lock (&self->lock);
  if ((store = g_hash_table_lookup (self->cameras, camera_id)) != NULL)
    {
      *n_files = store->segments->len;
      for (guint i = 0; i < store->segments->len; i++)
        *bytes += ((CustosSegmentInfo *) store->segments->pdata[i])->size;
    }
  g_mutex_unlock (&self->lock);
}

/* Retention */

static gboolean
over_limits (CameraStore *store,
             gint64       now_us,
             guint64      total)
{
  CustosSegmentInfo *oldest = store->segments->pdata[0];

  if (store->max_age_us > 0 && now_us - oldest->last_us > store->max_age_us)
    return TRUE;
  return store->max_bytes > 0 && total > store->max_bytes;
}

static guint
apply_camera_retention (CameraStore *store,
                        gint64       now_us)
{
  guint64 total = 0;
  guint removed = 0;

  for (guint i = 0; i < store->segments->len; i++)
    total += ((CustosSegmentInfo *) store->segments->pdata[i])->size;
  while (store->segments->len > 0 && over_limits (store, now_us, total))
    {
      CustosSegmentInfo *oldest = store->segments->pdata[0];

      /* A file a client is reading stays readable until it is closed. */
      if (g_unlink (oldest->path) != 0 && errno != ENOENT)
        {
          g_warning (_("Cannot remove %s: %s"), oldest->path, g_strerror (errno));
          break;
        }
      g_info ("retention: removed %s", oldest->path);
      total -= oldest->size;
      g_ptr_array_remove_index (store->segments, 0);
      removed++;
    }
  if (removed > 0)
    {
      save_index (store);
      custos_sync_directory (store->dir, NULL);
    }
  return removed;
}

guint
custos_storage_apply_retention (CustosStorage *self,
                                gint64         now_us)
{
  GHashTableIter iter;
  CameraStore *store;
  guint removed = 0;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->cameras);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &store))
    removed += apply_camera_retention (store, now_us);
  g_mutex_unlock (&self->lock);
  return removed;
}
