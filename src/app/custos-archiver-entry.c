/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver-entry"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-archiver-entry.h"

struct _CustosArchiverEntry
{
  GObject parent_instance;

  char *url;
  char *title;
  char *pinned_fingerprint;
  char *ca_file;
  char *identity;

  CustosArchiverClient *client;
  GListStore           *cameras;
  CustosArchiverState   state;
  char                 *peer_fingerprint;
  char                 *message;

  GCancellable *cancellable;
  guint         refresh_interval;
  guint         refresh_source;
};

G_DEFINE_FINAL_TYPE (CustosArchiverEntry, custos_archiver_entry, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (CustosArchiverState,
                    custos_archiver_state,
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_UNTRUSTED, "untrusted"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED,
                                         "certificate-changed"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_REFUSED, "refused"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_ARCHIVER_STATE_OFFLINE, "offline"))

enum
{
  PROP_0,
  PROP_URL,
  PROP_TITLE,
  PROP_STATE,
  PROP_PEER_FINGERPRINT,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char *
make_title (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url);
  if (g_uri_get_port (uri) > 0)
    return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
  return g_strdup (g_uri_get_host (uri));
}

static gboolean
check_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an archiver address: it must look like https://host:port"), url);
      return FALSE;
    }
  return TRUE;
}

static const char *
empty_to_null (const char *s)
{
  return s != NULL && *s != '\0' ? s : NULL;
}

CustosArchiverEntry *
custos_archiver_entry_new (const char *url,
                           const char *pinned_fingerprint,
                           const char *ca_file,
                           const char *identity,
                           GError    **error)
{
  g_autoptr (CustosArchiverEntry) self = NULL;

  g_return_val_if_fail (url != NULL, NULL);

  if (!check_url (url, error))
    return NULL;
  self = g_object_new (CUSTOS_TYPE_ARCHIVER_ENTRY, NULL);
  self->url = g_strdup (url);
  self->title = make_title (url);
  self->pinned_fingerprint = g_strdup (empty_to_null (pinned_fingerprint));
  self->ca_file = g_strdup (empty_to_null (ca_file));
  self->identity = g_strdup (empty_to_null (identity));
  self->client = custos_archiver_client_new (url, error);
  if (self->client == NULL)
    return NULL;
  if (self->ca_file != NULL &&
      !custos_archiver_client_set_ca_file (self->client, self->ca_file, error))
    return NULL;
  if (self->pinned_fingerprint != NULL && !custos_archiver_client_set_pinned_fingerprint (
                                              self->client, self->pinned_fingerprint, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
custos_archiver_entry_get_url (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->url;
}

const char *
custos_archiver_entry_get_title (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->title;
}

const char *
custos_archiver_entry_get_pinned_fingerprint (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->pinned_fingerprint;
}

const char *
custos_archiver_entry_get_ca_file (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->ca_file;
}

const char *
custos_archiver_entry_get_identity (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->identity;
}

gboolean
custos_archiver_entry_matches (CustosArchiverEntry *self,
                               const char          *pinned_fingerprint,
                               const char          *ca_file,
                               const char          *identity)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), FALSE);

  return g_strcmp0 (self->pinned_fingerprint, empty_to_null (pinned_fingerprint)) == 0 &&
         g_strcmp0 (self->ca_file, empty_to_null (ca_file)) == 0 &&
         g_strcmp0 (self->identity, empty_to_null (identity)) == 0;
}

CustosArchiverClient *
custos_archiver_entry_get_client (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->client;
}

CustosArchiverState
custos_archiver_entry_get_state (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), CUSTOS_ARCHIVER_STATE_OFFLINE);
  return self->state;
}

const char *
custos_archiver_entry_get_peer_fingerprint (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->peer_fingerprint;
}

const char *
custos_archiver_entry_get_message (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return self->message;
}

GListModel *
custos_archiver_entry_get_cameras (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);
  return G_LIST_MODEL (self->cameras);
}

CustosCameraItem *
custos_archiver_entry_find_camera (CustosArchiverEntry *self, const char *id)
{
  guint n;

  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->cameras));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CustosCameraItem) item = g_list_model_get_item (G_LIST_MODEL (self->cameras), i);

      if (g_strcmp0 (custos_camera_item_get_id (item), id) == 0)
        return item;
    }
  return NULL;
}

void
custos_archiver_entry_set_client_certificate (CustosArchiverEntry *self, GTlsCertificate *cert)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self));

  custos_archiver_client_set_client_certificate (self->client, cert);
}

gboolean
custos_archiver_entry_has_client_certificate (CustosArchiverEntry *self)
{
  g_return_val_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self), FALSE);

  return custos_archiver_client_get_client_certificate (self->client) != NULL;
}

/* State */

static void
set_state (CustosArchiverEntry *self, CustosArchiverState state, const char *message)
{
  const char *peer = custos_archiver_client_get_peer_fingerprint (self->client);

  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (self->peer_fingerprint, peer) != 0)
    {
      g_free (self->peer_fingerprint);
      self->peer_fingerprint = g_strdup (peer);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_FINGERPRINT]);
    }
  if (g_strcmp0 (self->message, message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
mark_cameras_offline (CustosArchiverEntry *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->cameras));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CustosCameraItem) item = g_list_model_get_item (G_LIST_MODEL (self->cameras), i);

      custos_camera_item_set_offline (item, TRUE);
    }
}

static gboolean
info_listed (GPtrArray *infos, const char *id)
{
  for (guint i = 0; i < infos->len; i++)
    if (g_strcmp0 (custos_camera_info_get_id (infos->pdata[i]), id) == 0)
      return TRUE;
  return FALSE;
}

/* Updates the items in place (rows keep their state), appends new cameras
 * and drops those the archiver no longer lists. */
static void
update_cameras (CustosArchiverEntry *self, GPtrArray *infos)
{
  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->cameras)); i > 0; i--)
    {
      g_autoptr (CustosCameraItem) item =
          g_list_model_get_item (G_LIST_MODEL (self->cameras), i - 1);

      if (!info_listed (infos, custos_camera_item_get_id (item)))
        g_list_store_remove (self->cameras, i - 1);
    }
  for (guint i = 0; i < infos->len; i++)
    {
      CustosCameraInfo *info = infos->pdata[i];
      CustosCameraItem *item =
          custos_archiver_entry_find_camera (self, custos_camera_info_get_id (info));
      g_autoptr (CustosCameraItem) added = NULL;

      if (item != NULL)
        {
          custos_camera_item_update (item, info);
          continue;
        }
      added = custos_camera_item_new (info);
      g_list_store_append (self->cameras, added);
    }
}

static void
take_error (CustosArchiverEntry *self, const GError *error)
{
  CustosArchiverState state = CUSTOS_ARCHIVER_STATE_OFFLINE;

  if (error->domain == CUSTOS_ARCHIVER_CLIENT_ERROR)
    {
      switch (error->code)
        {
        case CUSTOS_ARCHIVER_CLIENT_ERROR_UNTRUSTED:
          state = CUSTOS_ARCHIVER_STATE_UNTRUSTED;
          break;
        case CUSTOS_ARCHIVER_CLIENT_ERROR_CERTIFICATE_CHANGED:
          state = CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED;
          break;
        case CUSTOS_ARCHIVER_CLIENT_ERROR_UNAVAILABLE:
          state = CUSTOS_ARCHIVER_STATE_OFFLINE;
          break;
        default:
          state = CUSTOS_ARCHIVER_STATE_REFUSED;
          break;
        }
    }
  g_debug ("%s: %s", self->url, error->message);
  mark_cameras_offline (self);
  set_state (self, state, error->message);
}

static void
listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosArchiverEntry) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = NULL;

  infos =
      custos_archiver_client_list_cameras_finish (CUSTOS_ARCHIVER_CLIENT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Ours was cancelled: the entry is going away. Otherwise the client
       * restarted its session (a new client certificate) under the
       * request: ask again, or the entry would stay "connecting". */
      if (self->cancellable == NULL || g_cancellable_is_cancelled (self->cancellable))
        return;
      g_clear_object (&self->cancellable);
      custos_archiver_entry_refresh (self);
      return;
    }
  g_clear_object (&self->cancellable);
  if (infos == NULL)
    {
      take_error (self, error);
      return;
    }
  update_cameras (self, infos);
  set_state (self, CUSTOS_ARCHIVER_STATE_CONNECTED, NULL);
}

void
custos_archiver_entry_refresh (CustosArchiverEntry *self)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self));

  if (self->cancellable != NULL)
    return;
  self->cancellable = g_cancellable_new ();
  custos_archiver_client_list_cameras_async (self->client, self->cancellable, listed,
                                             g_object_ref (self));
}

static gboolean
refresh_tick (gpointer user_data)
{
  CustosArchiverEntry *self = user_data;

  /* An untrusted or changed certificate waits for the user. */
  if (self->state != CUSTOS_ARCHIVER_STATE_UNTRUSTED &&
      self->state != CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED)
    custos_archiver_entry_refresh (self);
  return G_SOURCE_CONTINUE;
}

void
custos_archiver_entry_set_refresh_interval (CustosArchiverEntry *self, guint seconds)
{
  g_return_if_fail (CUSTOS_IS_ARCHIVER_ENTRY (self));

  self->refresh_interval = seconds;
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  if (seconds > 0)
    self->refresh_source = g_timeout_add_seconds (seconds, refresh_tick, self);
}

char *
custos_format_fingerprint (const char *hex)
{
  GString *out = g_string_new (NULL);
  guint    digits = 0;

  g_return_val_if_fail (hex != NULL, NULL);

  for (const char *p = hex; *p != '\0'; p++)
    {
      if (!g_ascii_isxdigit (*p))
        continue;
      if (digits > 0 && digits % 16 == 0)
        g_string_append_c (out, '\n');
      else if (digits > 0 && digits % 4 == 0)
        g_string_append_c (out, ' ');
      g_string_append_c (out, g_ascii_tolower (*p));
      digits++;
    }
  return g_string_free (out, FALSE);
}

/* GObject */

static void
custos_archiver_entry_dispose (GObject *object)
{
  CustosArchiverEntry *self = CUSTOS_ARCHIVER_ENTRY (object);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (custos_archiver_entry_parent_class)->dispose (object);
}

static void
custos_archiver_entry_finalize (GObject *object)
{
  CustosArchiverEntry *self = CUSTOS_ARCHIVER_ENTRY (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cameras);
  g_free (self->url);
  g_free (self->title);
  g_free (self->pinned_fingerprint);
  g_free (self->ca_file);
  g_free (self->identity);
  g_free (self->peer_fingerprint);
  g_free (self->message);

  G_OBJECT_CLASS (custos_archiver_entry_parent_class)->finalize (object);
}

static void
custos_archiver_entry_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CustosArchiverEntry *self = CUSTOS_ARCHIVER_ENTRY (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PEER_FINGERPRINT:
      g_value_set_string (value, self->peer_fingerprint);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_archiver_entry_class_init (CustosArchiverEntryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags   flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = custos_archiver_entry_dispose;
  object_class->finalize = custos_archiver_entry_finalize;
  object_class->get_property = custos_archiver_entry_get_property;

  properties[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CUSTOS_TYPE_ARCHIVER_STATE,
                                              CUSTOS_ARCHIVER_STATE_CONNECTING, flags);
  properties[PROP_PEER_FINGERPRINT] =
      g_param_spec_string ("peer-fingerprint", NULL, NULL, NULL, flags);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_archiver_entry_init (CustosArchiverEntry *self)
{
  self->cameras = g_list_store_new (CUSTOS_TYPE_CAMERA_ITEM);
  self->state = CUSTOS_ARCHIVER_STATE_CONNECTING;
}
