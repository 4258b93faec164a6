/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `custos-archiver --demo`: it makes its CA, certificates and SoftHSM
 * card, records its two cameras, prints how to connect, and what it
 * prints works: `custos-cli fetch` with the card's key for TLS, then
 * `custos-cli decrypt` with the card, give the encrypted camera's video.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "archiver-test-util.h"
#include "custos-test-util.h"

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
wait_for_instructions (const char *out_path,
                       GSubprocess *proc)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline && g_subprocess_get_identifier (proc) != NULL)
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (out_path, &text, NULL, NULL) && strstr (text, "Ctrl+C") != NULL)
        return g_steal_pointer (&text);
      g_usleep (100 * 1000);
    }
  return NULL;
}

static gboolean
run_cli (const char *softhsm_conf,
         const char *first,
         ...)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CUSTOS_CLI"));
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  if (softhsm_conf != NULL)
    g_subprocess_launcher_setenv (launcher, "SOFTHSM2_CONF", softhsm_conf, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  return g_subprocess_get_successful (proc);
}

static void
test_demo (void)
{
  g_autofree char *dir = g_build_filename (custos_test_tmpdir (), "demo", NULL);
  g_autofree char *out_path = g_build_filename (custos_test_tmpdir (), "demo.out", NULL);
  g_autofree char *err_path = g_build_filename (custos_test_tmpdir (), "demo.log", NULL);
  g_autofree char *ca = g_build_filename (dir, "ca.cert.pem", NULL);
  g_autofree char *conf = g_build_filename (dir, "softhsm2.conf", NULL);
  g_autofree char *pin_file = g_build_filename (custos_test_tmpdir (), "pin", NULL);
  g_autofree char *fusion = g_build_filename (custos_test_tmpdir (), "front-door.fusion", NULL);
  g_autofree char *plain = g_build_filename (custos_test_tmpdir (), "front-door", NULL);
  g_autofree char *video = g_build_filename (plain, "stream0-video.h264", NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *pin = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *url = NULL;
  const char *found;
  guint port;
  GStatBuf st;

  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CUSTOS_ARCHIVER"), "--demo",
                                      "--dir", dir, NULL);
  g_assert_no_error (error);
  text = wait_for_instructions (out_path, proc);
  g_assert_nonnull (text);
  g_test_message ("%s", text);

  /* What it promises to print. */
  g_assert_nonnull ((found = strstr (text, "listening on https://127.0.0.1:")));
  port = (guint) g_ascii_strtoull (found + strlen ("listening on https://127.0.0.1:"), NULL, 10);
  g_assert_nonnull (strstr (text, ca));
  g_assert_nonnull (strstr (text, "custos-cli fetch"));
  g_assert_nonnull (strstr (text, "custos-cli decrypt"));
  if (strstr (text, "SOFTHSM2_CONF") == NULL)
    {
      g_test_skip ("SoftHSM is not installed: the demo uses a key file");
      g_subprocess_send_signal (proc, SIGTERM);
      g_subprocess_wait (proc, NULL, NULL);
      return;
    }
  g_assert_nonnull (strstr (text, conf));
  g_assert_nonnull (strstr (text, "token \"custos-demo\""));
  g_assert_nonnull ((found = strstr (text, "PIN ")));
  pin = g_strndup (found + 4, 6);
  g_file_set_contents (pin_file, pin, -1, &error);
  g_assert_no_error (error);

  /* Two seconds of the encrypted camera, through the card. */
  g_usleep (4 * G_USEC_PER_SEC);
  from = test_iso (g_get_real_time () - 3 * G_USEC_PER_SEC);
  to = test_iso (g_get_real_time () - 1 * G_USEC_PER_SEC);
  url = g_strdup_printf ("https://127.0.0.1:%u/api/v1/cameras/front-door/stream?from=%s&to=%s",
                         port, from, to);
  g_assert_true (run_cli (conf, "fetch", url, "--ca", ca, "--uri", "pkcs11:token=custos-demo;id=%01",
                          "--pin-file", pin_file, "-o", fusion, NULL));
  g_assert_true (run_cli (conf, "decrypt", fusion, "--token", "custos-demo", "--pin-file",
                          pin_file, "--ca", ca, "-o", plain, NULL));
  g_assert_cmpint (g_stat (video, &st), ==, 0);
  g_test_message ("decrypted %" G_GINT64_FORMAT " bytes of H.264 with the card", (gint64) st.st_size);
  g_assert_cmpint (st.st_size, >, 10000);

  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  {
    g_autofree char *log = NULL;

    g_file_get_contents (err_path, &log, NULL, NULL);
    g_assert_null (strstr (log, "runtime error"));
    g_assert_null (strstr (log, "Sanitizer"));
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mkdir_with_parents (g_get_tmp_dir (), 0700);
  g_test_add_func ("/archiver/demo", test_demo);
  return g_test_run ();
}
