/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The real OpenSC PKCS#11 module (opensc-pkcs11.so) against a virtual
 * smart card, the way an investigator's card is used: OpenSC talks PC/SC
 * to pcscd, pcscd to vsmartcard's vpcd reader driver, vpcd over TCP to
 * custos-vcard, which answers as a Common Access Card (libcacard) whose
 * key lives on a SoftHSM token. setup-vcard.sh builds the files; this test
 * owns the processes.
 *
 * Every check is made against an independent tool: the certificate the
 * card shows is the one openssl made, and what the card decrypts is what
 * `openssl pkeyutl` wrapped.
 *
 * Skips, naming the reason, where the machine cannot run the chain (not
 * root, a package missing); build-aux/setup-debian installs everything.
 *
 * The card answers at emulation speed (an RSA decryption in ~2 ms); set
 * CUSTOS_VCARD_ARGS="--apdu-delay-ms 10 --key-delay-ms 200" for a real
 * card's. CUSTOS_TEST_KEEP=1 keeps the logs of pcscd and custos-vcard
 * (G_MESSAGES_DEBUG=custos-vcard traces APDUs) in the test's directory.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <p11-kit/p11-kit.h>

#include "custos-test-util.h"
#ifdef CUSTOS_TEST_HAVE_PKCS11_PROVIDER
#include "custos-pkcs11-provider.h"
#include "custos-test-fusion.h"
#endif

#define OPENSC_MODULE   "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
#define SOFTHSM_MODULE  "/usr/lib/softhsm/libsofthsm2.so"
#define VPCD_DRIVER     "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#define PIN             "123456"
/* What OpenSC makes of the card: its CAC driver names the token after the
 * certificate's CN and numbers the certificates from 0001. */
#define TOKEN_LABEL     "Custos Test Investigator"
#define TOKEN_MAKER     "Common Access Card"
#define CARD_KEY_ID     "0001"

typedef struct
{
  gboolean          started;
  char             *skip;        /* why the chain cannot run here */
  char             *dir;
  guint16           port;
  char             *socket;      /* pcscd's socket, for PCSCLITE_CSOCK_NAME */
  GSubprocess      *pcscd;
  GSubprocess      *bridge;
  GOutputStream    *bridge_in;
  GDataInputStream *bridge_out;
  /* OpenSC loaded in this process, for timings and removal as an
   * application sees them. */
  CK_FUNCTION_LIST *p11;
} VcardEnv;

static VcardEnv env;

/* ---- prerequisites ------------------------------------------------------ */

static char *
find_missing (void)
{
  static const struct { const char *file; const char *package; } files[] = {
    { OPENSC_MODULE, "opensc-pkcs11" },
    { SOFTHSM_MODULE, "softhsm2" },
    { VPCD_DRIVER, "vsmartcard-vpcd" },
  };
  static const struct { const char *program; const char *package; } programs[] = {
    { "pcscd", "pcscd" },
    { "pkcs11-tool", "opensc" },
    { "softhsm2-util", "softhsm2" },
    { "certutil", "libnss3-tools" },
    { "modutil", "libnss3-tools" },
    { "openssl", "openssl" },
    { "unshare", "util-linux" },
  };

  if (geteuid () != 0)
    return g_strdup ("pcscd has to run as root for the virtual card (it owns "
                     "/run/pcscd); run the test as root, as CI does");
  if (g_getenv ("CUSTOS_VCARD") == NULL)
    return g_strdup ("custos-vcard was not built: libcacard-dev was missing when "
                     "meson configured (run build-aux/setup-debian, then reconfigure)");

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    if (!g_file_test (files[i].file, G_FILE_TEST_EXISTS))
      return g_strdup_printf ("%s is missing (Debian package %s; run build-aux/setup-debian)",
                              files[i].file, files[i].package);

  for (guint i = 0; i < G_N_ELEMENTS (programs); i++)
    {
      g_autofree char *path = g_find_program_in_path (programs[i].program);
      g_autofree char *sbin = g_build_filename ("/usr/sbin", programs[i].program, NULL);

      if (path == NULL && !g_file_test (sbin, G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup_printf ("%s is missing (Debian package %s; run build-aux/setup-debian)",
                                programs[i].program, programs[i].package);
    }

  return NULL;
}

/* ---- background processes ----------------------------------------------- */

/* In the child before exec: die with the test. A failed assertion aborts
 * the test without running any cleanup, and an orphaned pcscd would hold
 * the vpcd port and /run/pcscd. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_background (const char *const *argv,
                  GSubprocessFlags   flags,
                  const char        *log_name)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autofree char *log = g_build_filename (env.dir, log_name, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *proc;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  if (flags & G_SUBPROCESS_FLAGS_STDOUT_PIPE)
    g_subprocess_launcher_set_stderr_file_path (launcher, log);
  else
    {
      g_subprocess_launcher_set_flags (launcher, flags | G_SUBPROCESS_FLAGS_STDERR_MERGE);
      g_subprocess_launcher_set_stdout_file_path (launcher, log);
    }
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  return proc;
}

static gboolean
has_exited (GSubprocess *proc)
{
  /* GSubprocess reaps its children in GLib's worker thread: the
   * identifier goes NULL without this thread iterating anything. */
  return g_subprocess_get_identifier (proc) == NULL;
}

static void
stop_process (GSubprocess **proc)
{
  if (*proc == NULL)
    return;

  g_subprocess_send_signal (*proc, SIGTERM);
  for (guint i = 0; i < 100 && !has_exited (*proc); i++)
    g_usleep (20 * 1000);
  if (!has_exited (*proc))
    {
      g_test_message ("%s ignored SIGTERM; killing it", g_subprocess_get_identifier (*proc));
      g_subprocess_force_exit (*proc);
      g_subprocess_wait (*proc, NULL, NULL);
    }
  else if (!g_subprocess_get_successful (*proc))
    g_test_message ("A background process ended badly (wait status 0x%x); see its log",
                    g_subprocess_get_status (*proc));
  g_clear_object (proc);
}

static char *
read_log (const char *name)
{
  g_autofree char *path = g_build_filename (env.dir, name, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("(no log)");
  return g_strstrip (text);
}

/* ---- pcscd ---------------------------------------------------------------- */

static guint16
pick_free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (any, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  /* vpcd binds the port on all addresses; ask the kernel for one that is
   * free on all of them. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, addr, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* g_spawn_sync, not GSubprocess: this runs before the environment is set,
 * and GSubprocess starts GLib's worker thread (setenv is not thread-safe). */
static gboolean
can_unshare_mounts (void)
{
  const char *argv[] = { "unshare", "--mount", "true", NULL };
  int wait_status = 0;

  return g_spawn_sync (NULL, (char **) argv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, NULL, NULL, &wait_status, NULL) &&
         g_spawn_check_wait_status (wait_status, NULL);
}

static gboolean
socket_alive (const char *path)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL);
  return socket != NULL && g_socket_connect (socket, addr, NULL, NULL);
}

/* pcscd 1.9.9 always serves /run/pcscd/pcscd.comm (it ignores
 * PCSCLITE_CSOCK_NAME; only the client library reads it). In a private
 * mount namespace with the test's own directory bind-mounted over
 * /run/pcscd, our pcscd neither meets a system pcscd nor a parallel test
 * run, and its socket is reachable from outside at DIR/pcscd/pcscd.comm.
 * Where namespaces are not allowed (an unprivileged container), the shared
 * /run/pcscd is used, if no other pcscd holds it. */
static void
start_pcscd (gboolean private_run)
{
  g_autofree char *run_dir = g_build_filename (env.dir, "pcscd", NULL);
  g_autofree char *conf_dir = g_build_filename (env.dir, "reader.conf.d", NULL);
  g_autofree char *log = NULL;

  if (private_run)
    {
      const char *argv[] = {
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        "mkdir -p /run/pcscd && mount --bind \"$0\" /run/pcscd && exec pcscd -f -c \"$1\"",
        run_dir, conf_dir, NULL
      };
      env.pcscd = spawn_background (argv, G_SUBPROCESS_FLAGS_NONE, "pcscd.log");
    }
  else
    {
      const char *argv[] = { "pcscd", "-f", "-c", conf_dir, NULL };

      if (socket_alive (env.socket))
        {
          env.skip = g_strdup ("a pcscd is running already, and this machine allows no "
                               "private mount namespace (`unshare --mount` fails) to run "
                               "the test's own pcscd beside it");
          return;
        }
      /* A killed pcscd's socket: gone, so the wait below sees ours. */
      g_unlink (env.socket);
      g_test_message ("No private mount namespace here; using the shared /run/pcscd");
      env.pcscd = spawn_background (argv, G_SUBPROCESS_FLAGS_NONE, "pcscd.log");
    }

  /* Ready when its socket is there. */
  for (guint i = 0; i < 250 && !has_exited (env.pcscd); i++)
    {
      if (g_file_test (env.socket, G_FILE_TEST_EXISTS))
        return;
      g_usleep (20 * 1000);
    }

  log = read_log ("pcscd.log");
  g_error ("pcscd did not start: %s", log);
}

/* ---- the bridge ------------------------------------------------------------ */

typedef struct
{
  gboolean  done;
  char     *line;
  GError   *error;
} LineRead;

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                          result, NULL, &read->error);
  read->done = TRUE;
}

static gboolean
on_deadline (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* The next state line of the bridge ("inserted", "removed"), or NULL when
 * none came within timeout_ms. */
static char *
bridge_read_line (guint timeout_ms)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  LineRead read = { 0 };
  guint deadline;

  deadline = g_timeout_add (timeout_ms, on_deadline, cancellable);
  g_data_input_stream_read_line_async (env.bridge_out, G_PRIORITY_DEFAULT, cancellable,
                                       on_line, &read);
  while (!read.done)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (deadline);
  g_clear_error (&read.error);

  return read.line;
}

static void
bridge_expect (const char *state)
{
  g_autofree char *line = bridge_read_line (15000);

  if (line == NULL)
    {
      g_autofree char *log = read_log ("custos-vcard.log");
      g_autofree char *pcscd_log = read_log ("pcscd.log");
      g_error ("custos-vcard did not say \"%s\".\ncustos-vcard: %s\npcscd: %s",
               state, log, pcscd_log);
    }
  g_assert_cmpstr (line, ==, state);
}

static void
bridge_command (const char *command)
{
  g_autofree char *line = g_strconcat (command, "\n", NULL);
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all (env.bridge_in, line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* CUSTOS_VCARD_ARGS adds options, e.g. "--apdu-delay-ms 10
 * --key-delay-ms 200" to run at a real card's speed. */
static void
start_bridge (void)
{
  g_autofree char *nss_db = g_build_filename (env.dir, "nssdb", NULL);
  g_autofree char *port = g_strdup_printf ("%u", env.port);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) extra = NULL;
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) error = NULL;

  if (g_getenv ("CUSTOS_VCARD_ARGS") != NULL)
    {
      g_shell_parse_argv (g_getenv ("CUSTOS_VCARD_ARGS"), NULL, &extra, &error);
      g_assert_no_error (error);
    }
  g_strv_builder_add_many (builder, g_getenv ("CUSTOS_VCARD"), "--nss-db", nss_db,
                           "--port", port, NULL);
  if (extra != NULL)
    g_strv_builder_addv (builder, (const char **) extra);
  argv = g_strv_builder_end (builder);

  env.bridge = spawn_background ((const char *const *) argv,
                                 G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                 "custos-vcard.log");
  env.bridge_in = g_subprocess_get_stdin_pipe (env.bridge);
  env.bridge_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (env.bridge));
  /* "inserted" comes once pcscd has found the card and powered it. */
  bridge_expect ("inserted");
}

/* ---- the environment -------------------------------------------------------- */

static void
vcard_env_stop (void)
{
  if (env.p11 != NULL)
    {
      p11_kit_module_finalize (env.p11);
      p11_kit_module_release (env.p11);
      env.p11 = NULL;
    }
  /* The bridge first: pcscd going first would make it report a lost
   * connection on its way out. */
  stop_process (&env.bridge);
  g_clear_object (&env.bridge_out);
  stop_process (&env.pcscd);
}

static void
vcard_env_start (void)
{
  g_autofree char *port = NULL;
  g_autofree char *softhsm_conf = NULL;
  g_autofree char *opensc_conf = NULL;
  g_autoptr (GBytes) out = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean private_run;

  env.dir = g_build_filename (custos_test_tmpdir (), "vcard", NULL);
  env.port = pick_free_port ();
  port = g_strdup_printf ("%u", env.port);
  private_run = can_unshare_mounts ();
  env.socket = private_run ? g_build_filename (env.dir, "pcscd", "pcscd.comm", NULL)
                           : g_strdup ("/run/pcscd/pcscd.comm");

  /* For the bridge (libcacard opens the token through NSS), pkcs11-tool
   * and the OpenSC module loaded here; set before any thread exists. */
  softhsm_conf = g_build_filename (env.dir, "softhsm2.conf", NULL);
  opensc_conf = g_build_filename (env.dir, "opensc.conf", NULL);
  g_setenv ("SOFTHSM2_CONF", softhsm_conf, TRUE);
  g_setenv ("OPENSC_CONF", opensc_conf, TRUE);
  g_setenv ("PCSCLITE_CSOCK_NAME", env.socket, TRUE);

  {
    const char *argv[] = { "bash", g_getenv ("CUSTOS_VCARD_SETUP"), env.dir, port, PIN, NULL };
    out = custos_test_run (argv, NULL);
  }

  start_pcscd (private_run);
  if (env.skip != NULL)
    return;

  start_bridge ();
  g_test_message ("Virtual card up in %.1f s (vpcd port %u, pcscd socket %s)",
                  (g_get_monotonic_time () - start) / 1e6, env.port, env.socket);
}

/* The running chain, or NULL after g_test_skip () when it cannot run. */
static VcardEnv *
vcard_env_get (void)
{
  if (!env.started)
    {
      env.started = TRUE;
      env.skip = find_missing ();
      if (env.skip == NULL)
        vcard_env_start ();
    }
  if (env.skip != NULL)
    {
      g_test_skip (env.skip);
      return NULL;
    }
  return &env;
}

/* ---- pkcs11-tool ------------------------------------------------------------- */

static char *
pkcs11_tool (const char *first,
             ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) "pkcs11-tool");
  g_ptr_array_add (argv, (gpointer) "--module");
  g_ptr_array_add (argv, (gpointer) OPENSC_MODULE);
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  out = custos_test_run ((const char *const *) argv->pdata, NULL);
  return g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
}

static gboolean
token_listed (void)
{
  g_autofree char *slots = pkcs11_tool ("--list-slots", NULL);

  return strstr (slots, TOKEN_LABEL) != NULL;
}

/* Polls `pkcs11-tool -L` until the token is (or is no longer) listed;
 * returns the seconds it took, or -1 after timeout_s. */
static double
wait_token_listed (gboolean listed,
                   double   timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (token_listed () == listed)
        return (g_get_monotonic_time () - start) / 1e6;
      g_usleep (100 * 1000);
    }
  return -1;
}

static char *
dir_file (const char *name)
{
  return g_build_filename (env.dir, name, NULL);
}

/* A random 32-byte KEK, and the KEK wrapped by openssl for the card's
 * certificate with RSA-OAEP, SHA-256 and MGF1-SHA-256 (Custos' RSA wrap). */
static GBytes *
wrap_kek (char **wrapped_path)
{
  g_autofree char *kek_path = NULL;
  g_autofree char *pub = dir_file ("pub.pem");
  guint8 kek[32];
  g_autoptr (GBytes) unused = NULL;

  for (guint i = 0; i < sizeof kek; i++)
    kek[i] = g_random_int_range (0, 256);
  kek_path = custos_test_write_file ("kek.bin", kek, sizeof kek);
  *wrapped_path = custos_test_write_file ("kek.wrapped", "", 0);
  unused = custos_test_openssl ("pkeyutl", "-encrypt", "-pubin", "-inkey", pub,
                                "-pkeyopt", "rsa_padding_mode:oaep",
                                "-pkeyopt", "rsa_oaep_md:sha256",
                                "-pkeyopt", "rsa_mgf1_md:sha256",
                                "-in", kek_path, "-out", *wrapped_path, NULL);

  return g_bytes_new (kek, sizeof kek);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

/* ---- OpenSC in this process ----------------------------------------------------- */

#define assert_ck(expr) G_STMT_START {                                          \
    CK_RV assert_rv_ = (expr);                                                  \
    if (assert_rv_ != CKR_OK)                                                   \
      g_error ("%s: %s (0x%lx)", #expr, p11_kit_strerror (assert_rv_), assert_rv_); \
  } G_STMT_END

static CK_FUNCTION_LIST *
opensc (void)
{
  gint64 start;

  if (env.p11 != NULL)
    return env.p11;

  env.p11 = p11_kit_module_load (OPENSC_MODULE, 0);
  g_assert_nonnull (env.p11);
  /* With a card in the reader, C_Initialize is where OpenSC reads it (the
   * CAC driver walks all the card's files): what every process pays. */
  start = g_get_monotonic_time ();
  assert_ck (p11_kit_module_initialize (env.p11));
  g_test_message ("TIMING OpenSC C_Initialize with the virtual card inserted: %.0f ms",
                  (g_get_monotonic_time () - start) / 1e3);

  return env.p11;
}

/* The slot whose token is the virtual card, or (CK_SLOT_ID) -1. */
static CK_SLOT_ID
find_card_slot (CK_FUNCTION_LIST *p11)
{
  CK_SLOT_ID slots[16];
  CK_ULONG count = G_N_ELEMENTS (slots);

  assert_ck (p11->C_GetSlotList (CK_TRUE, slots, &count));
  for (CK_ULONG i = 0; i < count; i++)
    {
      CK_TOKEN_INFO info;
      g_autofree char *label = NULL;

      if (p11->C_GetTokenInfo (slots[i], &info) != CKR_OK)
        continue;
      label = p11_kit_space_strdup (info.label, sizeof info.label);
      if (g_str_equal (label, TOKEN_LABEL))
        return slots[i];
    }
  return (CK_SLOT_ID) -1;
}

static CK_OBJECT_HANDLE
find_private_key (CK_FUNCTION_LIST  *p11,
                  CK_SESSION_HANDLE  session)
{
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE query[] = { { CKA_CLASS, &klass, sizeof klass } };
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_ULONG found = 0;

  assert_ck (p11->C_FindObjectsInit (session, query, G_N_ELEMENTS (query)));
  assert_ck (p11->C_FindObjects (session, &key, 1, &found));
  assert_ck (p11->C_FindObjectsFinal (session));
  g_assert_cmpuint (found, ==, 1);

  return key;
}

static CK_RV
decrypt_oaep (CK_FUNCTION_LIST  *p11,
              CK_SESSION_HANDLE  session,
              CK_OBJECT_HANDLE   key,
              GBytes            *wrapped,
              GBytes           **kek)
{
  CK_RSA_PKCS_OAEP_PARAMS params = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
  CK_MECHANISM mech = { CKM_RSA_PKCS_OAEP, &params, sizeof params };
  guint8 out[512];
  CK_ULONG out_len = sizeof out;
  gsize wrapped_len;
  const guint8 *wrapped_data = g_bytes_get_data (wrapped, &wrapped_len);
  CK_RV rv;

  rv = p11->C_DecryptInit (session, &mech, key);
  if (rv == CKR_OK)
    rv = p11->C_Decrypt (session, (guint8 *) wrapped_data, wrapped_len, out, &out_len);
  if (rv == CKR_OK)
    *kek = g_bytes_new (out, out_len);
  return rv;
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_token_visible (void)
{
  g_autofree char *slots = NULL;
  g_autofree char *objects = NULL;
  g_autofree char *card_cert = NULL;
  g_autofree char *our_cert = NULL;
  g_autoptr (GBytes) card_der = NULL;
  g_autoptr (GBytes) our_der = NULL;
  gint64 start;

  if (vcard_env_get () == NULL)
    return;

  start = g_get_monotonic_time ();
  slots = pkcs11_tool ("--list-slots", NULL);
  g_test_message ("TIMING pkcs11-tool -L (OpenSC init in a new process): %.0f ms",
                  (g_get_monotonic_time () - start) / 1e3);
  g_assert_nonnull (strstr (slots, "Virtual PCD"));
  g_assert_nonnull (strstr (slots, TOKEN_MAKER));
  g_assert_nonnull (strstr (slots, TOKEN_LABEL));

  objects = pkcs11_tool ("--list-objects", NULL);
  g_assert_nonnull (strstr (objects, "Certificate Object; type = X.509 cert"));
  g_assert_nonnull (strstr (objects, "CN=Custos Test Investigator"));
  g_assert_nonnull (strstr (objects, "ID:         " CARD_KEY_ID));

  /* The card hands out the very certificate written to the token. */
  card_cert = dir_file ("card-cert.der");
  our_cert = dir_file ("cert.der");
  g_free (pkcs11_tool ("--read-object", "--type", "cert", "--id", CARD_KEY_ID,
                       "--output-file", card_cert, NULL));
  card_der = read_bytes (card_cert);
  our_der = read_bytes (our_cert);
  g_assert_true (g_bytes_equal (card_der, our_der));
}

static void
test_decrypt_cli (void)
{
  g_autofree char *wrapped = NULL;
  g_autofree char *unwrapped = NULL;
  g_autoptr (GBytes) kek = NULL;
  g_autoptr (GBytes) got = NULL;

  if (vcard_env_get () == NULL)
    return;

  kek = wrap_kek (&wrapped);
  unwrapped = dir_file ("kek.unwrapped");
  g_free (pkcs11_tool ("--login", "--pin", PIN, "--id", CARD_KEY_ID,
                       "--decrypt", "-m", "RSA-PKCS-OAEP",
                       "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256",
                       "--input-file", wrapped, "--output-file", unwrapped, NULL));
  got = read_bytes (unwrapped);
  g_assert_true (g_bytes_equal (got, kek));
}

/* OpenSC in this process, as Custos will use it: the timings of the
 * report, and the KEK comes back right every time. */
static void
test_decrypt_in_process (void)
{
  const guint rounds = 5;
  CK_FUNCTION_LIST *p11;
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE key;
  CK_SLOT_ID slot;
  g_autofree char *wrapped_path = NULL;
  g_autoptr (GBytes) kek = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  double total_ms = 0, min_ms = G_MAXDOUBLE;
  gint64 start;

  if (vcard_env_get () == NULL)
    return;

  p11 = opensc ();
  slot = find_card_slot (p11);
  g_assert_cmpint (slot, !=, (CK_SLOT_ID) -1);
  assert_ck (p11->C_OpenSession (slot, CKF_SERIAL_SESSION, NULL, NULL, &session));
  start = g_get_monotonic_time ();
  assert_ck (p11->C_Login (session, CKU_USER, (guint8 *) PIN, strlen (PIN)));
  g_test_message ("TIMING C_Login: %.0f ms", (g_get_monotonic_time () - start) / 1e3);
  key = find_private_key (p11, session);

  kek = wrap_kek (&wrapped_path);
  wrapped = read_bytes (wrapped_path);
  for (guint i = 0; i < rounds; i++)
    {
      g_autoptr (GBytes) got = NULL;
      double ms;

      start = g_get_monotonic_time ();
      assert_ck (decrypt_oaep (p11, session, key, wrapped, &got));
      ms = (g_get_monotonic_time () - start) / 1e3;
      total_ms += ms;
      min_ms = MIN (min_ms, ms);
      g_assert_true (g_bytes_equal (got, kek));
    }
  g_test_message ("TIMING RSA-2048 OAEP-SHA256 decrypt through OpenSC: %.0f ms mean, "
                  "%.0f ms min over %u", total_ms / rounds, min_ms, rounds);

  /* Left open for test_removal, which checks what happens to it. */
}

/* A session with the user logged in; *logged_in says whether that took a
 * C_Login (PKCS#11 logins are per token and application, so a second
 * session of the same card is logged in already). */
static CK_SESSION_HANDLE
open_logged_in_session (CK_FUNCTION_LIST *p11,
                        gboolean         *logged_in)
{
  CK_SESSION_HANDLE session;
  CK_SLOT_ID slot = find_card_slot (p11);
  CK_RV rv;

  g_assert_cmpint (slot, !=, (CK_SLOT_ID) -1);
  assert_ck (p11->C_OpenSession (slot, CKF_SERIAL_SESSION, NULL, NULL, &session));
  rv = p11->C_Login (session, CKU_USER, (guint8 *) PIN, strlen (PIN));
  *logged_in = rv == CKR_OK;
  if (rv != CKR_USER_ALREADY_LOGGED_IN)
    assert_ck (rv);
  return session;
}

/* Pulling the card: pkcs11-tool stops listing it within seconds, an open
 * session in a running application fails, and after re-insertion the card
 * works again (with a fresh login). */
static void
test_removal (void)
{
  CK_FUNCTION_LIST *p11;
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE key;
  g_autofree char *wrapped_path = NULL;
  g_autoptr (GBytes) kek = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (GBytes) got = NULL;
  CK_RV rv;
  double seconds;
  gboolean logged_in;

  if (vcard_env_get () == NULL)
    return;

  p11 = opensc ();
  session = open_logged_in_session (p11, &logged_in);
  key = find_private_key (p11, session);
  kek = wrap_kek (&wrapped_path);
  wrapped = read_bytes (wrapped_path);

  bridge_command ("remove");
  bridge_expect ("removed");
  seconds = wait_token_listed (FALSE, 10);
  g_assert_cmpfloat (seconds, >=, 0);
  g_test_message ("TIMING card removal seen by pkcs11-tool -L after %.1f s", seconds);

  rv = decrypt_oaep (p11, session, key, wrapped, &got);
  g_test_message ("C_Decrypt on a session of the removed card: %s (0x%lx)",
                  p11_kit_strerror (rv), rv);
  g_assert_cmpuint (rv, !=, CKR_OK);
  g_assert_cmpint (find_card_slot (p11), ==, (CK_SLOT_ID) -1);

  bridge_command ("insert");
  bridge_expect ("inserted");
  seconds = wait_token_listed (TRUE, 20);
  g_assert_cmpfloat (seconds, >=, 0);
  g_test_message ("TIMING re-inserted card listed by pkcs11-tool -L after %.1f s", seconds);

  /* A card back from the pocket wants its PIN again. */
  session = open_logged_in_session (p11, &logged_in);
  g_assert_true (logged_in);
  key = find_private_key (p11, session);
  g_clear_pointer (&got, g_bytes_unref);
  assert_ck (decrypt_oaep (p11, session, key, wrapped, &got));
  g_assert_true (g_bytes_equal (got, kek));
}

#ifdef CUSTOS_TEST_HAVE_PKCS11_PROVIDER

/* Answers the PIN prompt and counts the prompts. */
#define TEST_TYPE_PIN_INTERACTION (test_pin_interaction_get_type ())
G_DECLARE_FINAL_TYPE (TestPinInteraction, test_pin_interaction, TEST, PIN_INTERACTION, GTlsInteraction)

struct _TestPinInteraction
{
  GTlsInteraction parent_instance;
  guint           n_asks;
};

G_DEFINE_FINAL_TYPE (TestPinInteraction, test_pin_interaction, G_TYPE_TLS_INTERACTION)

static GTlsInteractionResult
test_pin_interaction_ask_password (GTlsInteraction  *interaction,
                                   GTlsPassword     *password,
                                   GCancellable     *cancellable,
                                   GError          **error)
{
  TEST_PIN_INTERACTION (interaction)->n_asks++;
  g_tls_password_set_value (password, (const guchar *) PIN, -1);
  return G_TLS_INTERACTION_HANDLED;
}

static void
test_pin_interaction_class_init (TestPinInteractionClass *klass)
{
  G_TLS_INTERACTION_CLASS (klass)->ask_password = test_pin_interaction_ask_password;
}

static void
test_pin_interaction_init (TestPinInteraction *self)
{
}

/* Reads the whole file through the keyring: every packet decrypts. */
static void
read_through_card (const CustosTestSpec *spec,
                   GBytes               *file,
                   CustosKeyring        *keyring,
                   GTlsInteraction      *interaction)
{
  g_autoptr (CustosReader) reader = custos_reader_new_for_bytes (file);
  g_autoptr (GError) error = NULL;
  guint n = 0;
  CustosPacket *packet;

  custos_reader_set_key_provider (reader, CUSTOS_KEY_PROVIDER (keyring));
  custos_reader_set_interaction (reader, interaction);
  while ((packet = custos_reader_next_packet (reader, NULL, &error)) != NULL)
    {
      g_assert_cmpint (packet->status, ==, CUSTOS_PACKET_OK);
      custos_test_assert_payload (spec, packet);
      custos_packet_unref (packet);
      n++;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, custos_test_packet_count (spec, 0));
}

static void
on_certificate_changed (CustosKeyProvider  *provider,
                        CustosCertificate  *certificate,
                        CustosCertificate **out)
{
  g_set_object (out, certificate);
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context (where the provider emits) until *cert is set;
 * returns the seconds it took. */
static double
wait_signal (CustosCertificate **cert,
             guint               timeout_ms)
{
  gint64 start = g_get_monotonic_time ();
  gboolean expired = FALSE;
  guint timeout = g_timeout_add (timeout_ms, on_timeout, &expired);

  while (*cert == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  g_assert_nonnull (*cert);

  return (g_get_monotonic_time () - start) / 1e6;
}

/* CustosPkcs11Provider on the real OpenSC module: the card's certificate
 * is listed, a fusion file written for it is read back through the card,
 * and pulling the card emits "certificate-removed" and wipes the
 * keyring's cached KEKs; put back, it works again after a new PIN. */
static void
test_provider (void)
{
  CustosTestSpec spec;
  g_autoptr (CustosPkcs11Provider) provider = NULL;
  g_autoptr (CustosKeyring) keyring = NULL;
  g_autoptr (TestPinInteraction) interaction = NULL;
  g_autoptr (CustosCertificate) ours = NULL;
  g_autoptr (CustosCertificate) removed = NULL;
  g_autoptr (CustosCertificate) added = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GPtrArray) recipients = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = NULL;
  CustosKeyCache *cache;
  gint64 start;
  double seconds;

  if (vcard_env_get () == NULL)
    return;

  /* One OpenSC per process: let the provider initialize its own. */
  if (env.p11 != NULL)
    {
      p11_kit_module_finalize (env.p11);
      p11_kit_module_release (env.p11);
      env.p11 = NULL;
    }

  cert_path = dir_file ("cert.pem");
  ours = custos_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  provider = custos_pkcs11_provider_new_for_module (OPENSC_MODULE, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("TIMING CustosPkcs11Provider on OpenSC ready in %.0f ms",
                  (g_get_monotonic_time () - start) / 1e3);
  certs = custos_key_provider_list_certificates (CUSTOS_KEY_PROVIDER (provider));
  g_assert_cmpuint (certs->len, ==, 1);
  g_assert_true (custos_certificate_equal (g_ptr_array_index (certs, 0), ours));

  custos_test_spec_init (&spec);
  spec.seconds = 4;
  recipients = g_ptr_array_new ();
  g_ptr_array_add (recipients, ours);
  file = custos_test_fusion_make (&spec, recipients, NULL, NULL, NULL);

  keyring = custos_keyring_new ();
  custos_keyring_add_provider (keyring, CUSTOS_KEY_PROVIDER (provider));
  cache = custos_keyring_get_cache (keyring);
  interaction = g_object_new (TEST_TYPE_PIN_INTERACTION, NULL);

  start = g_get_monotonic_time ();
  read_through_card (&spec, file, keyring, G_TLS_INTERACTION (interaction));
  g_test_message ("TIMING %u s of video read through the card in %.0f ms "
                  "(%u private key operations)", spec.seconds,
                  (g_get_monotonic_time () - start) / 1e3,
                  custos_pkcs11_provider_get_private_key_ops (provider));
  g_assert_cmpuint (interaction->n_asks, ==, 1);
  g_assert_cmpuint (custos_pkcs11_provider_get_private_key_ops (provider), >=, 1);
  /* OpenSC's CAC driver does OAEP-SHA256 itself: no raw RSA fallback. */
  g_assert_cmpuint (custos_pkcs11_provider_get_last_mechanism (provider), ==, CKM_RSA_PKCS_OAEP);
  g_assert_cmpuint (custos_key_cache_get_size (cache), >, 0);

  g_signal_connect (provider, "certificate-removed", G_CALLBACK (on_certificate_changed), &removed);
  g_signal_connect (provider, "certificate-added", G_CALLBACK (on_certificate_changed), &added);

  bridge_command ("remove");
  bridge_expect ("removed");
  seconds = wait_signal (&removed, 10000);
  g_test_message ("TIMING \"certificate-removed\" %.1f s after the card was pulled", seconds);
  g_assert_true (custos_certificate_equal (removed, ours));
  g_assert_cmpuint (custos_key_cache_get_size (cache), ==, 0);

  bridge_command ("insert");
  bridge_expect ("inserted");
  seconds = wait_signal (&added, 15000);
  g_test_message ("TIMING \"certificate-added\" %.1f s after the card was put back", seconds);
  g_assert_true (custos_certificate_equal (added, ours));

  /* A card back from the pocket wants its PIN again. */
  read_through_card (&spec, file, keyring, G_TLS_INTERACTION (interaction));
  g_assert_cmpuint (interaction->n_asks, ==, 2);
}

#else

static void
test_provider (void)
{
  if (vcard_env_get () == NULL)
    return;

  /* TODO(pkcs11-provider): built once src/core/meson.build compiles
   * custos-pkcs11-provider.c (tests/vcard/meson.build then defines
   * CUSTOS_TEST_HAVE_PKCS11_PROVIDER). */
  g_test_skip ("CustosPkcs11Provider is not built into libcustos yet");
}

#endif

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/opensc/token-visible", test_token_visible);
  g_test_add_func ("/opensc/decrypt-cli", test_decrypt_cli);
  g_test_add_func ("/opensc/decrypt-in-process", test_decrypt_in_process);
  g_test_add_func ("/opensc/removal", test_removal);
  g_test_add_func ("/opensc/provider", test_provider);

  status = g_test_run ();
  vcard_env_stop ();

  return status;
}
