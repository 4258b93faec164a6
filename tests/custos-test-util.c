/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos-test-util.h"

static char *tmpdir;

static void
remove_tmpdir (void)
{
  if (tmpdir == NULL || g_getenv ("CUSTOS_TEST_KEEP") != NULL)
    return;
  {
    const char *argv[] = { "rm", "-rf", tmpdir, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                  NULL);
  }
}

const char *
custos_test_tmpdir (void)
{
  g_autoptr (GError) error = NULL;

  if (tmpdir != NULL)
    return tmpdir;
  tmpdir = g_dir_make_tmp ("custos-test-XXXXXX", &error);
  g_assert_no_error (error);
  atexit (remove_tmpdir);
  return tmpdir;
}

gboolean
custos_test_try_run (const char *const *argv,
                     GBytes            *stdin_data,
                     GBytes           **stdout_out,
                     char             **stderr_out)
{
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE;

  if (stdin_data != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  proc = g_subprocess_newv (argv, flags, &error);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, stdin_data, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (stdout_out != NULL)
    *stdout_out = g_bytes_ref (out);
  if (stderr_out != NULL)
    *stderr_out = g_strndup (g_bytes_get_data (err, NULL), g_bytes_get_size (err));
  return g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 0;
}

GBytes *
custos_test_run (const char *const *argv,
                 GBytes            *stdin_data)
{
  g_autoptr (GBytes) out = NULL;
  g_autofree char *err = NULL;

  if (!custos_test_try_run (argv, stdin_data, &out, &err))
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv);
      g_error ("command failed: %s\n%s", cmd, err);
    }
  return g_steal_pointer (&out);
}

void
custos_test_run_args (const char *first,
                      ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  va_list args;

  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  out = custos_test_run ((const char *const *) argv->pdata, NULL);
}

char *
custos_test_softhsm_setup (void)
{
  g_autofree char *tokens = g_build_filename (custos_test_tmpdir (), "tokens", NULL);
  char *conf = g_build_filename (custos_test_tmpdir (), "softhsm2.conf", NULL);
  g_autofree char *text = g_strdup_printf ("directories.tokendir = %s\n"
                                           "objectstore.backend = file\n"
                                           "log.level = ERROR\n", tokens);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (tokens, 0700), ==, 0);
  g_file_set_contents (conf, text, -1, &error);
  g_assert_no_error (error);
  g_setenv ("SOFTHSM2_CONF", conf, TRUE);
  return conf;
}

GBytes *
custos_test_openssl (const char *first,
                     ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return custos_test_run ((const char *const *) argv->pdata, NULL);
}

void
custos_test_make_cert (const char  *key_spec,
                       const char  *name,
                       char       **cert_path,
                       char       **key_path)
{
  const char *dir = custos_test_tmpdir ();
  g_autofree char *key = g_strdup_printf ("%s/%s.key.pem", dir, name);
  g_autofree char *cert = g_strdup_printf ("%s/%s.cert.pem", dir, name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s/O=Custos Tests", name);
  g_autoptr (GBytes) unused = NULL;

  if (g_str_has_prefix (key_spec, "rsa:"))
    {
      g_autofree char *bits = g_strdup_printf ("rsa_keygen_bits:%s", key_spec + 4);
      const char *argv[] = { "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", bits,
                             "-out", key, NULL };
      g_clear_pointer (&unused, g_bytes_unref);
      unused = custos_test_run (argv, NULL);
    }
  else if (g_str_has_prefix (key_spec, "ec:"))
    {
      g_autofree char *curve = g_strdup_printf ("ec_paramgen_curve:%s", key_spec + 3);
      const char *argv[] = { "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", curve,
                             "-out", key, NULL };
      g_clear_pointer (&unused, g_bytes_unref);
      unused = custos_test_run (argv, NULL);
    }
  else
    g_error ("unknown key spec %s", key_spec);

  {
    const char *argv[] = { "openssl", "req", "-new", "-x509", "-key", key, "-out", cert,
                           "-days", "365", "-subj", subj,
                           "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement",
                           NULL };
    g_clear_pointer (&unused, g_bytes_unref);
    unused = custos_test_run (argv, NULL);
  }
  if (cert_path != NULL)
    *cert_path = g_steal_pointer (&cert);
  if (key_path != NULL)
    *key_path = g_steal_pointer (&key);
}

char *
custos_test_write_file (const char *name,
                        const void *data,
                        gsize       len)
{
  g_autofree char *path = g_build_filename (custos_test_tmpdir (), name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

GBytes *
custos_test_hex_decode (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *buf;

  g_assert_cmpuint (len % 2, ==, 0);
  buf = g_malloc (len / 2 + 1);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      g_assert_true (hi >= 0 && lo >= 0);
      buf[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (buf, len / 2);
}

JsonObject *
custos_test_ffprobe (const char *path,
                     const char *select)
{
  const char *with[] = { "ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                         "-of", "json", "-select_streams", select, path, NULL };
  const char *all[] = { "ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                        "-of", "json", path, NULL };
  g_autoptr (GBytes) out = custos_test_run (select ? with : all, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, g_bytes_get_data (out, NULL), g_bytes_get_size (out), &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

guint64
custos_test_video_frames (const char *path,
                          char      **codec)
{
  g_autoptr (JsonObject) probe = custos_test_ffprobe (path, "v:0");
  JsonArray *streams = json_object_get_array_member (probe, "streams");
  JsonObject *stream;

  g_assert_cmpuint (json_array_get_length (streams), ==, 1);
  stream = json_array_get_object_element (streams, 0);
  if (codec != NULL)
    *codec = g_strdup (json_object_get_string_member (stream, "codec_name"));
  return g_ascii_strtoull (json_object_get_string_member (stream, "nb_read_frames"), NULL, 10);
}
