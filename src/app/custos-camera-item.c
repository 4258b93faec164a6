/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-camera-item"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-camera-item.h"

struct _CustosCameraItem
{
  GObject parent_instance;

  char *id;
  char *title;
  char *reason;
  guint encrypted : 1;
  guint privacy : 1;
  guint recording : 1;
  guint offline : 1;
};

G_DEFINE_FINAL_TYPE (CustosCameraItem, custos_camera_item, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_ENCRYPTED,
  PROP_PRIVACY,
  PROP_RECORDING,
  PROP_OFFLINE,
  PROP_REASON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

CustosCameraItem *
custos_camera_item_new (CustosCameraInfo *info)
{
  CustosCameraItem *self;

  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (CUSTOS_TYPE_CAMERA_ITEM, NULL);
  self->id = g_strdup (custos_camera_info_get_id (info));
  custos_camera_item_update (self, info);
  return self;
}

/* g_set_str() is GLib 2.76. */
static gboolean
set_str (char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
set_flag (CustosCameraItem *self, guint prop_id, gboolean old_value, gboolean new_value)
{
  if (!old_value != !new_value)
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

void
custos_camera_item_update (CustosCameraItem *self, CustosCameraInfo *info)
{
  gboolean encrypted = custos_camera_info_get_encrypted (info);
  gboolean privacy = custos_camera_info_get_privacy (info);
  gboolean recording = custos_camera_info_get_recording (info);
  gboolean old_encrypted = self->encrypted;
  gboolean old_privacy = self->privacy;
  gboolean old_recording = self->recording;

  g_return_if_fail (CUSTOS_IS_CAMERA_ITEM (self));

  g_object_freeze_notify (G_OBJECT (self));
  if (set_str (&self->title, custos_camera_info_get_name (info)))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  if (set_str (&self->reason, custos_camera_info_get_reason (info)))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REASON]);
  self->encrypted = !!encrypted;
  self->privacy = !!privacy;
  self->recording = !!recording;
  set_flag (self, PROP_ENCRYPTED, old_encrypted, encrypted);
  set_flag (self, PROP_PRIVACY, old_privacy, privacy);
  set_flag (self, PROP_RECORDING, old_recording, recording);
  custos_camera_item_set_offline (self, FALSE);
  g_object_thaw_notify (G_OBJECT (self));
}

void
custos_camera_item_set_offline (CustosCameraItem *self, gboolean offline)
{
  g_return_if_fail (CUSTOS_IS_CAMERA_ITEM (self));

  if (!self->offline == !offline)
    return;
  self->offline = !!offline;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OFFLINE]);
}

const char *
custos_camera_item_get_id (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), NULL);
  return self->id;
}

const char *
custos_camera_item_get_title (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), NULL);
  return self->title;
}

gboolean
custos_camera_item_get_encrypted (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), FALSE);
  return self->encrypted;
}

gboolean
custos_camera_item_get_privacy (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), FALSE);
  return self->privacy;
}

gboolean
custos_camera_item_get_recording (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), FALSE);
  return self->recording;
}

gboolean
custos_camera_item_get_offline (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), FALSE);
  return self->offline;
}

const char *
custos_camera_item_get_reason (CustosCameraItem *self)
{
  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), NULL);
  return self->reason;
}

char *
custos_camera_item_dup_status_text (CustosCameraItem *self)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  g_autofree char *joined = NULL;

  g_return_val_if_fail (CUSTOS_IS_CAMERA_ITEM (self), NULL);

  g_ptr_array_add (parts, (gpointer) (self->encrypted ? _("encrypted") : _("not encrypted")));
  if (self->privacy)
    g_ptr_array_add (parts, (gpointer) _("privacy-protected stream available"));
  if (self->offline)
    g_ptr_array_add (parts, (gpointer) _("offline"));
  else if (self->recording)
    g_ptr_array_add (parts, (gpointer) _("recording"));
  else
    g_ptr_array_add (parts, (gpointer) _("not recording"));
  g_ptr_array_add (parts, NULL);
  /* Translators: separates the states of a camera in a list, e.g.
   * "encrypted, recording". */
  joined = g_strjoinv (_(", "), (char **) parts->pdata);
  if (!self->offline && !self->recording && self->reason != NULL)
    /* Translators: camera name, its states, and why it is not recording. */
    return g_strdup_printf (_("%s: %s (%s)"), self->title, joined, self->reason);
  /* Translators: camera name and its states. */
  return g_strdup_printf (_("%s: %s"), self->title, joined);
}

static void
custos_camera_item_finalize (GObject *object)
{
  CustosCameraItem *self = CUSTOS_CAMERA_ITEM (object);

  g_free (self->id);
  g_free (self->title);
  g_free (self->reason);

  G_OBJECT_CLASS (custos_camera_item_parent_class)->finalize (object);
}

static void
custos_camera_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosCameraItem *self = CUSTOS_CAMERA_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_ENCRYPTED:
      g_value_set_boolean (value, self->encrypted);
      break;
    case PROP_PRIVACY:
      g_value_set_boolean (value, self->privacy);
      break;
    case PROP_RECORDING:
      g_value_set_boolean (value, self->recording);
      break;
    case PROP_OFFLINE:
      g_value_set_boolean (value, self->offline);
      break;
    case PROP_REASON:
      g_value_set_string (value, self->reason);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_camera_item_class_init (CustosCameraItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags   flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = custos_camera_item_finalize;
  object_class->get_property = custos_camera_item_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_ENCRYPTED] = g_param_spec_boolean ("encrypted", NULL, NULL, FALSE, flags);
  properties[PROP_PRIVACY] = g_param_spec_boolean ("privacy", NULL, NULL, FALSE, flags);
  properties[PROP_RECORDING] = g_param_spec_boolean ("recording", NULL, NULL, FALSE, flags);
  properties[PROP_OFFLINE] = g_param_spec_boolean ("offline", NULL, NULL, FALSE, flags);
  properties[PROP_REASON] = g_param_spec_string ("reason", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_camera_item_init (CustosCameraItem *self)
{
}
