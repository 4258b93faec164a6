/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gio/gio.h>

#include "custos-test-cli.h"
#include "custos-test-util.h"

void
custos_cli_result_free (CustosCliResult *result)
{
  g_free (result->out);
  g_free (result->err);
  g_free (result);
}

CustosCliResult *
custos_test_spawn (const char *const *argv,
                   const char *const *env_unset)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  CustosCliResult *result = g_new0 (CustosCliResult, 1);

  for (guint i = 0; env_unset != NULL && env_unset[i] != NULL; i++)
    g_subprocess_launcher_unsetenv (launcher, env_unset[i]);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  /* A crash (or a sanitizer abort) is never an exit code. */
  g_assert_true (g_subprocess_get_if_exited (proc));
  result->status = g_subprocess_get_exit_status (proc);
  if (g_test_verbose ())
    g_test_message ("exit %d\nstdout: %s\nstderr: %s", result->status, result->out, result->err);
  return result;
}

CustosCliResult *
custos_test_cli_runv (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *cli = g_getenv ("CUSTOS_CLI");

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  return custos_test_spawn ((const char *const *) argv->pdata, NULL);
}

CustosCliResult *
custos_test_cli_run (const char *first,
                     ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return custos_test_cli_runv ((const char *const *) args->pdata);
}

void
custos_test_cli_assert_status (CustosCliResult *result,
                               int              expected)
{
  if (result->status != expected)
    g_error ("custos-cli exited with %d, expected %d\nstdout:\n%s\nstderr:\n%s", result->status,
             expected, result->out, result->err);
}

JsonNode *
custos_test_parse_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

JsonObject *
custos_test_parse_json_object (const char *text)
{
  g_autoptr (JsonNode) root = custos_test_parse_json (text);

  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

char *
custos_test_tmp_path (const char *name)
{
  return g_build_filename (custos_test_tmpdir (), name, NULL);
}

gboolean
custos_test_have_program (const char *name)
{
  g_autofree char *path = g_find_program_in_path (name);

  return path != NULL;
}

char *
custos_test_run_output (const char *const *argv)
{
  g_autoptr (GBytes) out = custos_test_run (argv, NULL);

  return g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
}
