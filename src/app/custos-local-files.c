/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-local-files"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-format.h"
#include "custos-local-files.h"

/* sync, type, flags, u24 length, then the magic */
#define PROBE_LEN (CUSTOS_RECORD_HEADER_LEN + CUSTOS_FILE_MAGIC_LEN)

struct _CustosLocalFiles
{
  GObject parent_instance;

  GListStore *files;
};

static void
list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosLocalFiles,
                               custos_local_files,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))
G_DEFINE_QUARK (custos - local - files - error - quark, custos_local_files_error)

static GType
get_item_type (GListModel *model)
{
  return G_TYPE_FILE;
}

static guint
get_n_items (GListModel *model)
{
  return g_list_model_get_n_items (G_LIST_MODEL (CUSTOS_LOCAL_FILES (model)->files));
}

static gpointer
get_item (GListModel *model, guint position)
{
  return g_list_model_get_item (G_LIST_MODEL (CUSTOS_LOCAL_FILES (model)->files), position);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
forward_items_changed (GListModel       *model,
                       guint             position,
                       guint             removed,
                       guint             added,
                       CustosLocalFiles *self)
{
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
}

CustosLocalFiles *
custos_local_files_new (void)
{
  return g_object_new (CUSTOS_TYPE_LOCAL_FILES, NULL);
}

static gboolean
find_file (CustosLocalFiles *self, GFile *file, guint *position)
{
  return g_list_store_find_with_equal_func (self->files, file, (GEqualFunc) g_file_equal, position);
}

static void
probe_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autoptr (GFileInputStream) in = NULL;
  g_autofree char *name = g_file_get_basename (file);
  guint8           head[PROBE_LEN];
  gsize            got = 0;
  GError          *error = NULL;

  in = g_file_read (file, cancellable, &error);
  if (in == NULL ||
      !g_input_stream_read_all (G_INPUT_STREAM (in), head, sizeof head, &got, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (got < sizeof head || head[0] != CUSTOS_RECORD_SYNC || head[1] != CUSTOS_RECORD_FILE_HEADER ||
      memcmp (head + CUSTOS_RECORD_HEADER_LEN, CUSTOS_FILE_MAGIC, CUSTOS_FILE_MAGIC_LEN) != 0)
    {
      g_task_return_new_error (task, CUSTOS_LOCAL_FILES_ERROR, CUSTOS_LOCAL_FILES_ERROR_NOT_FUSION,
                               _("“%s” is not a fusion file: it does not start with a fusion "
                                  "stream header"),
                               name);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
custos_local_files_add_async (CustosLocalFiles   *self,
                              GFile              *file,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (CUSTOS_IS_LOCAL_FILES (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_local_files_add_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, probe_thread);
}

GFile *
custos_local_files_add_finish (CustosLocalFiles *self, GAsyncResult *result, GError **error)
{
  GFile *file;
  guint  position;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  file = g_task_get_task_data (G_TASK (result));
  if (find_file (self, file, &position))
    return g_list_model_get_item (G_LIST_MODEL (self->files), position);
  g_list_store_append (self->files, file);
  return g_object_ref (file);
}

gboolean
custos_local_files_remove (CustosLocalFiles *self, GFile *file)
{
  guint position;

  g_return_val_if_fail (CUSTOS_IS_LOCAL_FILES (self), FALSE);

  if (!find_file (self, file, &position))
    return FALSE;
  g_list_store_remove (self->files, position);
  return TRUE;
}

static void
custos_local_files_finalize (GObject *object)
{
  CustosLocalFiles *self = CUSTOS_LOCAL_FILES (object);

  g_clear_object (&self->files);

  G_OBJECT_CLASS (custos_local_files_parent_class)->finalize (object);
}

static void
custos_local_files_class_init (CustosLocalFilesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_local_files_finalize;
}

static void
custos_local_files_init (CustosLocalFiles *self)
{
  self->files = g_list_store_new (G_TYPE_FILE);
  g_signal_connect (self->files, "items-changed", G_CALLBACK (forward_items_changed), self);
}
