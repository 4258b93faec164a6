/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver-list"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-archiver-list.h"
#include "custos-identity.h"

#define ARCHIVERS_KEY "archivers"

struct _CustosArchiverList
{
  GObject parent_instance;

  GSettings *settings;
  GPtrArray *entries; /* CustosArchiverEntry, in the setting's order */
  guint      refresh_interval;
};

static void
list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosArchiverList,
                               custos_archiver_list,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
get_item_type (GListModel *model)
{
  return CUSTOS_TYPE_ARCHIVER_ENTRY;
}

static guint
get_n_items (GListModel *model)
{
  return CUSTOS_ARCHIVER_LIST (model)->entries->len;
}

static gpointer
get_item (GListModel *model, guint position)
{
  CustosArchiverList *self = CUSTOS_ARCHIVER_LIST (model);

  if (position >= self->entries->len)
    return NULL;
  return g_object_ref (self->entries->pdata[position]);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static gint
find_index (CustosArchiverList *self, const char *url)
{
  for (guint i = 0; i < self->entries->len; i++)
    if (g_strcmp0 (custos_archiver_entry_get_url (self->entries->pdata[i]), url) == 0)
      return i;
  return -1;
}

CustosArchiverEntry *
custos_archiver_list_find (CustosArchiverList *self, const char *url)
{
  gint i;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_LIST (self), NULL);

  i = find_index (self, url);
  return i < 0 ? NULL : self->entries->pdata[i];
}

static CustosArchiverEntry *
start_entry (CustosArchiverList *self,
             const char         *url,
             const char         *pin,
             const char         *ca_file,
             const char         *identity,
             GError            **error)
{
  CustosArchiverEntry *entry = custos_archiver_entry_new (url, pin, ca_file, identity, error);

  if (entry == NULL)
    return NULL;
  custos_archiver_entry_set_refresh_interval (entry, self->refresh_interval);
  custos_archiver_entry_refresh (entry);
  return entry;
}

/* Makes the entries what the setting says: unchanged ones stay (with
 * their cameras and connection), changed ones are made anew. */
static void
sync_from_settings (CustosArchiverList *self)
{
  g_autoptr (GVariant) value = g_settings_get_value (self->settings, ARCHIVERS_KEY);
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  GVariantIter iter;
  const char  *url, *pin, *ca_file, *identity;
  guint        old_len = self->entries->len;
  gboolean     same;

  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s&s&s)", &url, &pin, &ca_file, &identity))
    {
      CustosArchiverEntry *entry = custos_archiver_list_find (self, url);
      g_autoptr (GError) error = NULL;

      if (entry != NULL && custos_archiver_entry_matches (entry, pin, ca_file, identity))
        entry = g_object_ref (entry);
      else
        entry = start_entry (self, url, pin, ca_file, identity, &error);
      if (entry == NULL)
        {
          g_warning ("Ignoring the archiver %s of the settings: %s", url, error->message);
          continue;
        }
      g_ptr_array_add (entries, entry);
    }
  same = entries->len == old_len;
  for (guint i = 0; same && i < old_len; i++)
    same = entries->pdata[i] == self->entries->pdata[i];
  if (same)
    return;
  g_ptr_array_unref (self->entries);
  self->entries = g_steal_pointer (&entries);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, self->entries->len);
}

static void
write_settings (CustosArchiverList *self, GPtrArray *rows)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssss)"));
  for (guint i = 0; i < rows->len; i++)
    g_variant_builder_add_value (&builder, rows->pdata[i]);
  g_settings_set_value (self->settings, ARCHIVERS_KEY, g_variant_builder_end (&builder));
  /* The changed signal may come later (another main context); the list
   * must be right when we return. */
  sync_from_settings (self);
}

static GVariant *
row_of (CustosArchiverEntry *entry)
{
  const char *pin = custos_archiver_entry_get_pinned_fingerprint (entry);
  const char *ca_file = custos_archiver_entry_get_ca_file (entry);
  const char *identity = custos_archiver_entry_get_identity (entry);

  return g_variant_new ("(ssss)", custos_archiver_entry_get_url (entry), pin ? pin : "",
                        ca_file ? ca_file : "", identity ? identity : "");
}

/* Rewrites the setting with `url`'s row replaced by `row` (appended when
 * absent; dropped when row is NULL). */
static void
replace_row (CustosArchiverList *self, const char *url, GVariant *row)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  gboolean found = FALSE;

  if (row != NULL)
    g_variant_ref_sink (row);
  for (guint i = 0; i < self->entries->len; i++)
    {
      CustosArchiverEntry *entry = self->entries->pdata[i];

      if (g_strcmp0 (custos_archiver_entry_get_url (entry), url) != 0)
        g_ptr_array_add (rows, g_variant_ref_sink (row_of (entry)));
      else if (row != NULL)
        {
          g_ptr_array_add (rows, g_variant_ref (row));
          found = TRUE;
        }
    }
  if (!found && row != NULL)
    g_ptr_array_add (rows, g_variant_ref (row));
  write_settings (self, rows);
  g_clear_pointer (&row, g_variant_unref);
}

static char *
normalize_url (const char *url)
{
  g_autofree char *stripped = g_strstrip (g_strdup (url));
  gsize            len = strlen (stripped);

  while (len > 0 && stripped[len - 1] == '/')
    stripped[--len] = '\0';
  return g_steal_pointer (&stripped);
}

CustosArchiverEntry *
custos_archiver_list_add (CustosArchiverList *self,
                          const char         *url,
                          const char         *ca_file,
                          const char         *identity,
                          GError            **error)
{
  g_autofree char *clean = NULL;
  g_autoptr (CustosArchiverEntry) check = NULL;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_LIST (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);

  clean = normalize_url (url);
  if (custos_archiver_list_find (self, clean) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("The archiver %s is already added"),
                   clean);
      return NULL;
    }
  /* Checks the URL and the CA file before anything is written. */
  check = custos_archiver_entry_new (clean, NULL, ca_file, identity, error);
  if (check == NULL)
    return NULL;
  replace_row (self, clean, row_of (check));
  return custos_archiver_list_find (self, clean);
}

gboolean
custos_archiver_list_remove (CustosArchiverList *self, const char *url)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_LIST (self), FALSE);

  if (custos_archiver_list_find (self, url) == NULL)
    return FALSE;
  replace_row (self, url, NULL);
  return TRUE;
}

CustosArchiverEntry *
custos_archiver_list_pin (CustosArchiverList *self,
                          const char         *url,
                          const char         *fingerprint,
                          GError            **error)
{
  CustosArchiverEntry *entry;
  g_autoptr (CustosArchiverEntry) check = NULL;
  const char *identity;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_LIST (self), NULL);
  g_return_val_if_fail (fingerprint != NULL, NULL);

  entry = custos_archiver_list_find (self, url);
  if (entry == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No archiver %s"), url);
      return NULL;
    }
  identity = custos_archiver_entry_get_identity (entry);
  /* Pinning replaces a CA: the user decided on this certificate. */
  check = custos_archiver_entry_new (url, fingerprint, NULL, identity, error);
  if (check == NULL)
    return NULL;
  replace_row (self, url, row_of (check));
  return custos_archiver_list_find (self, url);
}

CustosArchiverEntry *
custos_archiver_list_set_identity (CustosArchiverList *self, const char *url, const char *identity)
{
  CustosArchiverEntry *entry;
  const char          *pin, *ca_file;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_LIST (self), NULL);

  entry = custos_archiver_list_find (self, url);
  if (entry == NULL)
    return NULL;
  pin = custos_archiver_entry_get_pinned_fingerprint (entry);
  ca_file = custos_archiver_entry_get_ca_file (entry);
  replace_row (self, url,
               g_variant_new ("(ssss)", url, pin ? pin : "", ca_file ? ca_file : "",
                              identity ? identity : ""));
  return custos_archiver_list_find (self, url);
}

void
custos_archiver_list_refresh (CustosArchiverList *self)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_LIST (self));

  for (guint i = 0; i < self->entries->len; i++)
    custos_archiver_entry_refresh (self->entries->pdata[i]);
}

void
custos_archiver_list_forget_card (CustosArchiverList *self, const char *card_uri)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_LIST (self));

  for (guint i = 0; i < self->entries->len; i++)
    {
      CustosArchiverEntry *entry = self->entries->pdata[i];

      if (custos_archiver_entry_has_client_certificate (entry) &&
          custos_identity_is_on_card (custos_archiver_entry_get_identity (entry), card_uri))
        custos_archiver_entry_set_client_certificate (entry, NULL);
    }
}

static void
settings_changed (GSettings *settings, const char *key, CustosArchiverList *self)
{
  sync_from_settings (self);
}

CustosArchiverList *
custos_archiver_list_new (GSettings *settings, guint refresh_interval)
{
  CustosArchiverList *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (CUSTOS_TYPE_ARCHIVER_LIST, NULL);
  self->settings = g_object_ref (settings);
  self->refresh_interval = refresh_interval;
  g_signal_connect_object (settings, "changed::" ARCHIVERS_KEY, G_CALLBACK (settings_changed), self,
                           0);
  sync_from_settings (self);
  return self;
}

static void
custos_archiver_list_finalize (GObject *object)
{
  CustosArchiverList *self = CUSTOS_ARCHIVER_LIST (object);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (custos_archiver_list_parent_class)->finalize (object);
}

static void
custos_archiver_list_class_init (CustosArchiverListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_archiver_list_finalize;
}

static void
custos_archiver_list_init (CustosArchiverList *self)
{
  self->entries = g_ptr_array_new_with_free_func (g_object_unref);
}
