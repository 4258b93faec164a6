/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <string.h>

#include "custos-archiver.h"
#include "custos-archiver-util.h"
#include "custos-archiver-client.h"
#include "custos-camera.h"
#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-enrolment.h"
#include "custos-server.h"
#include "custos-storage.h"

#define GROUP "archiver"

struct _CustosArchiver
{
  GObject          parent_instance;

  GKeyFile        *config;
  char            *base_dir;
  char            *address;
  CustosStorage   *storage;
  CustosEnrolment *enrolment;
  CustosServer    *server;
  GPtrArray       *cameras;        /* CustosCamera */
  EVP_PKEY        *signer_key;
  GPtrArray       *signer_chain;   /* CustosCertificate */
  guint            retention_id;
  gboolean         started;
};

G_DEFINE_FINAL_TYPE (CustosArchiver, custos_archiver, G_TYPE_OBJECT)

static void
custos_archiver_dispose (GObject *object)
{
  CustosArchiver *self = CUSTOS_ARCHIVER (object);

  custos_archiver_stop (self);
  g_clear_object (&self->server);
  g_clear_object (&self->enrolment);
  G_OBJECT_CLASS (custos_archiver_parent_class)->dispose (object);
}

static void
custos_archiver_finalize (GObject *object)
{
  CustosArchiver *self = CUSTOS_ARCHIVER (object);

  g_clear_pointer (&self->config, g_key_file_unref);
  g_free (self->base_dir);
  g_free (self->address);
  g_clear_object (&self->storage);
  g_clear_pointer (&self->cameras, g_ptr_array_unref);
  g_clear_pointer (&self->signer_key, EVP_PKEY_free);
  g_clear_pointer (&self->signer_chain, g_ptr_array_unref);
  G_OBJECT_CLASS (custos_archiver_parent_class)->finalize (object);
}

static void
custos_archiver_class_init (CustosArchiverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = custos_archiver_dispose;
  object_class->finalize = custos_archiver_finalize;
}

static void
custos_archiver_init (CustosArchiver *self)
{
  self->cameras = g_ptr_array_new_with_free_func (g_object_unref);
}

/* Configuration */

static char *
config_path (CustosArchiver  *self,
             const char      *key,
             gboolean         required,
             GError         **error)
{
  g_autofree char *value = g_key_file_get_string (self->config, GROUP, key, NULL);

  if (value == NULL || *g_strstrip (value) == '\0')
    {
      if (required)
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                     _("The configuration needs %s= in [%s]"), key, GROUP);
      return NULL;
    }
  return g_canonicalize_filename (value, self->base_dir);
}

static guint
config_uint (CustosArchiver *self,
             const char     *key,
             guint           fallback)
{
  g_autoptr (GError) error = NULL;
  guint64 value = g_key_file_get_uint64 (self->config, GROUP, key, &error);

  return error != NULL || value > G_MAXUINT ? fallback : (guint) value;
}

static gboolean
load_cameras (CustosArchiver  *self,
              GError         **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (self->config, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      CustosCamera *camera;

      if (!g_str_has_prefix (groups[i], "camera "))
        continue;
      camera = custos_camera_new_from_config (self->config, groups[i], error);
      if (camera == NULL)
        return FALSE;
      for (guint j = 0; j < self->cameras->len; j++)
        if (g_str_equal (custos_camera_get_id (self->cameras->pdata[j]),
                         custos_camera_get_id (camera)))
          {
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                         _("Camera %s is configured twice"), custos_camera_get_id (camera));
            g_object_unref (camera);
            return FALSE;
          }
      g_ptr_array_add (self->cameras, camera);
    }
  if (self->cameras->len == 0)
    g_message (_("No camera is configured ([camera ID] groups)"));
  return TRUE;
}

CustosArchiver *
custos_archiver_new_from_keyfile (GKeyFile    *config,
                                  const char  *base_dir,
                                  GError     **error)
{
  g_autoptr (CustosArchiver) self = g_object_new (CUSTOS_TYPE_ARCHIVER, NULL);

  self->config = g_key_file_ref (config);
  self->base_dir = g_canonicalize_filename (base_dir ? base_dir : ".", NULL);
  self->address = g_key_file_get_string (config, GROUP, "listen", NULL);
  if (self->address == NULL)
    self->address = g_strdup ("127.0.0.1");
  if (!load_cameras (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

CustosArchiver *
custos_archiver_new_from_file (const char  *path,
                               GError     **error)
{
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autofree char *dir = NULL;

  if (!g_key_file_load_from_file (config, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  dir = g_path_get_dirname (path);
  return custos_archiver_new_from_keyfile (config, dir, error);
}

const char *
custos_archiver_get_address (CustosArchiver *self)
{
  return self->address;
}

guint
custos_archiver_get_port (CustosArchiver *self)
{
  return self->server ? custos_server_get_port (self->server) : 0;
}

/* Starting */

static gboolean
load_signer (CustosArchiver  *self,
             GError         **error)
{
  g_autofree char *key_path = config_path (self, "signer-key", TRUE, error);
  g_autofree char *cert_path = key_path ? config_path (self, "signer-certificate", TRUE, error)
                                        : NULL;

  if (cert_path == NULL)
    return FALSE;
  self->signer_key = custos_private_key_load (key_path, NULL, error);
  if (self->signer_key == NULL)
    return FALSE;
  self->signer_chain = custos_certificate_load_chain (cert_path, error);
  if (self->signer_chain == NULL)
    return FALSE;
  if (self->signer_chain->len == 0 ||
      !custos_certificate_matches_key (self->signer_chain->pdata[0], self->signer_key))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The signing key %s does not belong to the certificate %s"), key_path,
                   cert_path);
      return FALSE;
    }
  return TRUE;
}

/* A camera's storage: recovered, with its retention. */
static gboolean
add_storage (CustosArchiver  *self,
             CustosCamera    *camera,
             GError         **error)
{
  CustosRecoveryStats stats = { 0 };

  if (!custos_storage_add_camera (self->storage, custos_camera_get_id (camera), &stats, error))
    return FALSE;
  if (stats.recovered + stats.removed > 0)
    g_message (_("Camera %s: recovered %u interrupted files (%" PRIu64
                 " unsealed bytes dropped), removed %u with nothing sealed"),
               custos_camera_get_id (camera), stats.recovered, stats.bytes_dropped,
               stats.removed);
  custos_storage_set_retention (self->storage, custos_camera_get_id (camera),
                                custos_camera_get_max_age_us (camera),
                                custos_camera_get_max_bytes (camera));
  return TRUE;
}

static gboolean
open_storage (CustosArchiver  *self,
              GError         **error)
{
  g_autofree char *root = config_path (self, "storage", TRUE, error);

  if (root == NULL || (self->storage = custos_storage_new (root, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < self->cameras->len; i++)
    {
      CustosCamera *camera = self->cameras->pdata[i];
      CustosCamera *privacy = custos_camera_get_privacy_stream (camera);

      if (!add_storage (self, camera, error) ||
          (privacy != NULL && !add_storage (self, privacy, error)))
        return FALSE;
    }
  return TRUE;
}

/* New, revoked or expired certificates: every camera gets the new set. */
static void
on_enrolment_changed (CustosEnrolment *enrolment,
                      CustosArchiver  *self)
{
  g_autoptr (GPtrArray) valid = custos_enrolment_dup_valid (enrolment);
  g_autofree char *reason = valid->len == 0
                              ? custos_enrolment_dup_no_valid_reason (enrolment) : NULL;

  for (guint i = 0; i < self->cameras->len; i++)
    custos_camera_set_recipients (self->cameras->pdata[i], valid, reason);
}

static gboolean
start_enrolment (CustosArchiver  *self,
                 GError         **error)
{
  g_autofree char *folder = config_path (self, "enrolment-folder", TRUE, error);
  g_autofree char *revocations = config_path (self, "revocation-list", FALSE, NULL);

  if (folder == NULL)
    return FALSE;
  self->enrolment = custos_enrolment_new (folder, revocations);
  custos_enrolment_set_rescan_interval (self->enrolment,
                                        config_uint (self, "enrolment-rescan", 30));
  g_signal_connect (self->enrolment, "changed", G_CALLBACK (on_enrolment_changed), self);
  return custos_enrolment_start (self->enrolment, error);
}

static gboolean
run_retention (gpointer user_data)
{
  CustosArchiver *self = user_data;
  guint removed = custos_storage_apply_retention (self->storage, g_get_real_time ());

  if (removed > 0)
    g_message (_("Retention: removed %u files"), removed);
  return G_SOURCE_CONTINUE;
}

/* privacy-protectors=: SHA-256 fingerprints of the certificates that may
 * publish privacy-protected streams. */
static gboolean
add_privacy_protectors (CustosArchiver  *self,
                        GError         **error)
{
  g_auto (GStrv) list = g_key_file_get_string_list (self->config, GROUP, "privacy-protectors",
                                                    NULL, NULL);

  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    {
      guint8 fingerprint[32];

      if (*g_strstrip (list[i]) == '\0')
        continue;
      if (!custos_archiver_parse_fingerprint (list[i], fingerprint))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _("privacy-protectors=: “%s” is not a SHA-256 fingerprint (64 hex digits)"),
                       list[i]);
          return FALSE;
        }
      custos_server_add_privacy_protector (self->server, fingerprint);
    }
  return TRUE;
}

/* The first line of a PIN file, in memory the caller wipes. */
static char *
read_pin (const char  *path,
          GError     **error)
{
  char *contents = NULL;
  gsize len = 0;
  char *pin;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  contents[strcspn (contents, "\r\n")] = '\0';
  pin = *contents != '\0' ? g_strdup (contents) : NULL;
  OPENSSL_cleanse (contents, len);
  g_free (contents);
  if (pin == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("%s: the first line must be the PIN"), path);
  return pin;
}

/* tls-pkcs11-uri=: the server's key stays on the token; GnuTLS signs the
 * handshakes there (the PIN goes to it in the key's URI, and every copy
 * made here is wiped). */
static gboolean
load_token_certificate (CustosArchiver  *self,
                        const char      *uri,
                        GError         **error)
{
  g_autofree char *pin_path = config_path (self, "tls-pin-file", TRUE, error);
  char *pin = pin_path ? read_pin (pin_path, error) : NULL;
  g_autoptr (GTlsCertificate) cert = NULL;

  if (pin == NULL)
    return FALSE;
  cert = custos_archiver_client_certificate_new_from_pkcs11 (uri, pin, error);
  OPENSSL_cleanse (pin, strlen (pin));
  g_free (pin);
  if (cert == NULL)
    {
      g_prefix_error (error, _("Server certificate %s: "), uri);
      return FALSE;
    }
  custos_server_set_certificate (self->server, cert);
  return TRUE;
}

static gboolean
start_server (CustosArchiver  *self,
              GError         **error)
{
  g_autofree char *uri = g_key_file_get_string (self->config, GROUP, "tls-pkcs11-uri", NULL);
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *ca = NULL;
  CustosServerLimits limits;

  if (uri != NULL && *g_strstrip (uri) == '\0')
    g_clear_pointer (&uri, g_free);
  if (uri == NULL &&
      ((cert = config_path (self, "tls-certificate", TRUE, error)) == NULL ||
       (key = config_path (self, "tls-key", TRUE, error)) == NULL))
    return FALSE;
  if ((ca = config_path (self, "client-ca", TRUE, error)) == NULL)
    return FALSE;
  custos_server_limits_init (&limits);
  limits.max_streams = config_uint (self, "max-streams", limits.max_streams);
  limits.max_requests = config_uint (self, "max-requests", limits.max_requests);
  limits.max_range_us = (gint64) config_uint (self, "max-range-hours", 24) * 3600 *
                        G_USEC_PER_SEC;
  limits.idle_timeout_s = config_uint (self, "idle-timeout", limits.idle_timeout_s);
  limits.live_queue_bytes = (gsize) config_uint (self, "live-queue-mb", 32) * 1024 * 1024;
  limits.privacy_queue_bytes = (gsize) MAX (config_uint (self, "privacy-queue-mb", 8), 1) *
                               1024 * 1024;
  self->server = custos_server_new (self->cameras, self->storage, self->enrolment, &limits);
  if (!add_privacy_protectors (self, error) ||
      (uri != NULL && !load_token_certificate (self, uri, error)))
    return FALSE;
  return custos_server_listen (self->server, self->address, config_uint (self, "port", 8443),
                               cert, key, ca, error);
}

gboolean
custos_archiver_start (CustosArchiver  *self,
                       GError         **error)
{
  g_return_val_if_fail (!self->started, FALSE);

  if (!load_signer (self, error) || !open_storage (self, error) ||
      !start_enrolment (self, error) || !start_server (self, error))
    return FALSE;
  for (guint i = 0; i < self->cameras->len; i++)
    {
      CustosCamera *camera = self->cameras->pdata[i];

      custos_camera_set_storage (camera, self->storage);
      custos_camera_set_signer (camera, self->signer_key, self->signer_chain);
    }
  on_enrolment_changed (self->enrolment, self);
  for (guint i = 0; i < self->cameras->len; i++)
    custos_camera_start (self->cameras->pdata[i]);
  run_retention (self);
  self->retention_id = g_timeout_add_seconds (MAX (config_uint (self, "retention-interval", 60), 1),
                                              run_retention, self);
  self->started = TRUE;
  return TRUE;
}

void
custos_archiver_stop (CustosArchiver *self)
{
  if (!self->started)
    return;
  self->started = FALSE;
  g_clear_handle_id (&self->retention_id, g_source_remove);
  if (self->server != NULL)
    custos_server_stop (self->server);
  for (guint i = 0; i < self->cameras->len; i++)
    custos_camera_stop (self->cameras->pdata[i]);
}
