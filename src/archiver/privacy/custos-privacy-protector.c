/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-archiver-client.h"
#include "custos-local-key-provider.h"
#include "custos-pin-file-interaction.h"
#include "custos-privacy-job.h"
#include "custos-privacy-protector.h"

#define GROUP "privacy-protector"
#define MAX_CAMERAS 64

struct _CustosPrivacyProtector
{
  GObject parent_instance;

  CustosPrivacySettings settings;
  GStrv                 cameras;
  GPtrArray            *jobs; /* CustosPrivacyJob */
};

G_DEFINE_FINAL_TYPE (CustosPrivacyProtector, custos_privacy_protector, G_TYPE_OBJECT)

static void
custos_privacy_protector_finalize (GObject *object)
{
  CustosPrivacyProtector *self = CUSTOS_PRIVACY_PROTECTOR (object);

  custos_privacy_protector_stop (self);
  g_ptr_array_unref (self->jobs);
  g_free (self->settings.archiver_url);
  g_clear_object (&self->settings.ca);
  g_free (self->settings.ca_path);
  g_free (self->settings.pkcs11_uri);
  g_free (self->settings.pin_path);
  g_clear_object (&self->settings.client_cert);
  g_free (self->settings.cert_path);
  g_free (self->settings.key_path);
  g_strfreev (self->cameras);
  G_OBJECT_CLASS (custos_privacy_protector_parent_class)->finalize (object);
}

static void
custos_privacy_protector_class_init (CustosPrivacyProtectorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_privacy_protector_finalize;
}

static void
custos_privacy_protector_init (CustosPrivacyProtector *self)
{
  self->jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_privacy_job_free);
}

/* Configuration */

static char *
get_path (GKeyFile *config, const char *base_dir, const char *key, GError **error)
{
  g_autofree char *value = g_key_file_get_string (config, GROUP, key, NULL);

  if (value == NULL || *g_strstrip (value) == '\0')
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _ ("The configuration needs %s= in [%s]"), key, GROUP);
      return NULL;
    }
  return g_canonicalize_filename (value, base_dir);
}

static guint
get_uint (GKeyFile *config, const char *key, guint fallback, guint min, guint max)
{
  g_autoptr (GError) error = NULL;
  guint64 value = g_key_file_get_uint64 (config, GROUP, key, &error);

  return error != NULL ? fallback : (guint) CLAMP (value, min, max);
}

/* Camera ids as the archiver allows them, so they are safe in a URL path. */
static gboolean
camera_id_is_valid (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '_')
      return FALSE;
  return TRUE;
}

static gboolean
read_cameras (CustosPrivacyProtector *self, GKeyFile *config, GError **error)
{
  gsize n = 0;

  self->cameras = g_key_file_get_string_list (config, GROUP, "cameras", &n, NULL);
  if (self->cameras == NULL || n == 0 || n > MAX_CAMERAS)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _ ("The configuration needs cameras=ID;ID… (1 to %u) in [%s]"), MAX_CAMERAS,
                   GROUP);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    if (!camera_id_is_valid (g_strstrip (self->cameras[i])))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     _ ("cameras=: “%s” is not a camera id (1 to 64 letters, digits, '-' or '_')"),
                     self->cameras[i]);
        return FALSE;
      }
  return TRUE;
}

static gboolean
read_archiver (CustosPrivacyProtector *self, GKeyFile *config, GError **error)
{
  g_autofree char *url = g_key_file_get_string (config, GROUP, "archiver", NULL);
  g_autoptr (GUri) uri = url ? g_uri_parse (g_strstrip (url), G_URI_FLAGS_NONE, NULL) : NULL;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
      g_uri_get_host (uri) == NULL)
    {
      g_set_error (
          error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          _ ("archiver= must be the archiver's https:// URL, e.g. https://127.0.0.1:8443"));
      return FALSE;
    }
  /* No trailing '/': paths are appended. */
  while (g_str_has_suffix (url, "/"))
    url[strlen (url) - 1] = '\0';
  self->settings.archiver_url = g_steal_pointer (&url);
  return TRUE;
}

/* On a token: the TLS client certificate through GnuTLS (the PIN in
 * the key's URI, wiped), the decryption through CustosPkcs11Provider
 * with the PIN file (custos-privacy-job.c). */
static gboolean
read_token_identity (CustosPrivacyProtector *self, GKeyFile *config, const char *base_dir,
                     char *uri, GError **error)
{
  g_autofree char *pin_path = get_path (config, base_dir, "pin-file", error);
  char            *pin = pin_path ? custos_pin_file_read (pin_path, error) : NULL;

  if (pin == NULL)
    return FALSE;
  self->settings.client_cert = custos_archiver_client_certificate_new_from_pkcs11 (uri, pin, error);
  custos_pin_free (pin);
  if (self->settings.client_cert == NULL)
    {
      g_prefix_error (error, "%s: ", uri);
      return FALSE;
    }
  self->settings.pkcs11_uri = g_strdup (uri);
  self->settings.pin_path = g_steal_pointer (&pin_path);
  return TRUE;
}

/* The certificate and key: TLS client identity and decryption key. */
static gboolean
read_identity (CustosPrivacyProtector *self, GKeyFile *config, const char *base_dir, GError **error)
{
  g_autofree char *ca = get_path (config, base_dir, "ca-file", error);
  g_autofree char *uri = g_key_file_get_string (config, GROUP, "pkcs11-uri", NULL);
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autoptr (CustosLocalKeyProvider) keys = NULL;

  if (ca == NULL)
    return FALSE;
  if ((self->settings.ca = g_tls_file_database_new (ca, error)) == NULL)
    {
      g_prefix_error (error, "%s: ", ca);
      return FALSE;
    }
  self->settings.ca_path = g_strdup (ca);
  if (uri != NULL && *g_strstrip (uri) != '\0')
    return read_token_identity (self, config, base_dir, uri, error);
  cert = get_path (config, base_dir, "certificate", error);
  key = cert ? get_path (config, base_dir, "key", error) : NULL;
  if (key == NULL)
    {
      g_prefix_error (error, _ ("certificate= and key=, or pkcs11-uri= and pin-file=: "));
      return FALSE;
    }
  self->settings.client_cert = g_tls_certificate_new_from_files (cert, key, error);
  if (self->settings.client_cert == NULL)
    {
      g_prefix_error (error, "%s: ", cert);
      return FALSE;
    }
  /* The key is read now, so that a bad one is a configuration error. */
  keys = custos_local_key_provider_new ();
  if (!custos_local_key_provider_add_key (keys, key, cert, NULL, error))
    return FALSE;
  self->settings.cert_path = g_steal_pointer (&cert);
  self->settings.key_path = g_steal_pointer (&key);
  return TRUE;
}

static gboolean
read_transform (CustosPrivacyProtector *self, GKeyFile *config, GError **error)
{
  g_autofree char *mode = g_key_file_get_string (config, GROUP, "mode", NULL);
  g_autofree char *regions = g_key_file_get_string (config, GROUP, "regions", NULL);

  if (mode != NULL && !g_str_equal (g_strstrip (mode), "pixelate") && !g_str_equal (mode, "blur"))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _ ("mode= is pixelate or blur, not “%s”"), mode);
      return FALSE;
    }
  self->settings.blur = mode != NULL && g_str_equal (mode, "blur");
  if (regions != NULL && !g_str_equal (g_strstrip (regions), "whole") &&
      !g_str_equal (regions, "motion"))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _ ("regions= is whole or motion, not “%s”"), regions);
      return FALSE;
    }
  self->settings.motion = regions != NULL && g_str_equal (regions, "motion");
  self->settings.block_size = get_uint (config, "block-size", 16, 2, 256);
  self->settings.bitrate_kbps = get_uint (config, "bitrate", 1024, 16, 100000);
  self->settings.keyframe_frames = get_uint (config, "keyframe-frames", 15, 1, 1000);
  return TRUE;
}

CustosPrivacyProtector *
custos_privacy_protector_new_from_file (const char *path, GError **error)
{
  g_autoptr (CustosPrivacyProtector) self = g_object_new (CUSTOS_TYPE_PRIVACY_PROTECTOR, NULL);
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base_dir = g_canonicalize_filename (dir, NULL);

  if (!g_key_file_load_from_file (config, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (!read_archiver (self, config, error) || !read_cameras (self, config, error) ||
      !read_identity (self, config, base_dir, error) || !read_transform (self, config, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
custos_privacy_protector_start (CustosPrivacyProtector *self)
{
  g_return_if_fail (self->jobs->len == 0);

  for (guint i = 0; self->cameras[i] != NULL; i++)
    {
      CustosPrivacyJob *job = custos_privacy_job_new (&self->settings, self->cameras[i]);

      g_ptr_array_add (self->jobs, job);
      custos_privacy_job_start (job);
    }
}

void
custos_privacy_protector_stop (CustosPrivacyProtector *self)
{
  g_ptr_array_set_size (self->jobs, 0);
}

char *
custos_privacy_protector_describe (CustosPrivacyProtector *self)
{
  g_autofree char *cameras = g_strjoinv (", ", self->cameras);

  return g_strdup_printf (_ ("Privacy Protector: %s of camera(s) %s, published to %s"),
                          self->settings.blur ? _ ("blurring") : _ ("pixelating"), cameras,
                          self->settings.archiver_url);
}
