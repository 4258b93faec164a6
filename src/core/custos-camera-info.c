/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-archiver-client"

#include "config.h"


#include "custos-archiver-private.h"
#include "custos-i18n-private.h"
#include "custos-utc.h"

struct _CustosCameraInfo
{
  gatomicrefcount ref_count;
  char           *id;
  char           *name;
  char           *state;
  char           *reason;
  gint64          last_packet_us;
  gboolean        encrypted;
  gboolean        privacy;
  gboolean protected;  /* its own streams are privacy-protected */
  gboolean has_stream; /* it has a privacy-protected recording (?privacy=1) */
};

G_DEFINE_BOXED_TYPE (CustosCameraInfo, custos_camera_info, custos_camera_info_ref,
                     custos_camera_info_unref)

CustosCameraInfo *
custos_camera_info_ref (CustosCameraInfo *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_camera_info_unref (CustosCameraInfo *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->id);
  g_free (self->name);
  g_free (self->state);
  g_free (self->reason);
  g_free (self);
}

static const char *
get_string (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
get_boolean (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

/* The archiver says {"privacy": true, "privacy_protected": false,
 * "privacy_stream": {…} or null}: "privacy" when the camera has a
 * privacy-protected recording (opened with ?privacy=1), "privacy_protected"
 * when the camera's own streams are the protected ones. Earlier archivers
 * had "privacy": {"protected": …, "privacy_stream": …}. */
static gboolean
node_is_set (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node);
  return TRUE;
}

static void
parse_privacy (CustosCameraInfo *self, JsonObject *object)
{
  JsonNode *node = json_object_get_member (object, "privacy");

  self->protected = get_boolean (object, "privacy_protected");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *privacy = json_node_get_object (node);

      self->protected = self->protected || get_boolean (privacy, "protected");
      self->has_stream = node_is_set (json_object_get_member (privacy, "privacy_stream"));
    }
  else
    self->has_stream = get_boolean (object, "privacy") ||
                       node_is_set (json_object_get_member (object, "privacy_stream"));
}

gboolean
_custos_camera_info_get_protected (CustosCameraInfo *self)
{
  return self->protected;
}

static gint64
parse_time (const char *text)
{
  gint64 utc_us;

  return custos_utc_parse (text, &utc_us) ? utc_us : G_MININT64;
}

CustosCameraInfo *
_custos_camera_info_new_from_json (JsonObject *object, GError **error)
{
  CustosCameraInfo *self;
  const char       *id = get_string (object, "id");
  const char       *name = get_string (object, "name");

  if (id == NULL || *id == '\0')
    {
      g_set_error_literal (error, CUSTOS_ARCHIVER_CLIENT_ERROR,
                           CUSTOS_ARCHIVER_CLIENT_ERROR_PROTOCOL,
                           _ ("The archiver listed a camera without an id"));
      return NULL;
    }
  self = g_new0 (CustosCameraInfo, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->id = g_strdup (id);
  self->name = g_strdup (name != NULL && *name != '\0' ? name : id);
  self->state = g_strdup (get_string (object, "state") ? get_string (object, "state") : "unknown");
  self->reason = g_strdup (get_string (object, "reason"));
  self->last_packet_us = parse_time (get_string (object, "last_packet"));
  self->encrypted = get_boolean (object, "encrypted");
  parse_privacy (self, object);
  self->privacy = self->protected || self->has_stream;
  return self;
}

const char *
custos_camera_info_get_id (CustosCameraInfo *self)
{
  return self->id;
}

const char *
custos_camera_info_get_name (CustosCameraInfo *self)
{
  return self->name;
}

gboolean
custos_camera_info_get_encrypted (CustosCameraInfo *self)
{
  return self->encrypted;
}

gboolean
custos_camera_info_get_privacy (CustosCameraInfo *self)
{
  return self->privacy;
}

gboolean
custos_camera_info_get_recording (CustosCameraInfo *self)
{
  return g_strcmp0 (self->state, "recording") == 0;
}

const char *
custos_camera_info_get_state (CustosCameraInfo *self)
{
  return self->state;
}

const char *
custos_camera_info_get_reason (CustosCameraInfo *self)
{
  return self->reason;
}

gint64
custos_camera_info_get_last_packet_us (CustosCameraInfo *self)
{
  return self->last_packet_us;
}
