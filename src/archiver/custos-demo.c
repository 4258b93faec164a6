/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#include <signal.h>
#include <sys/prctl.h>

#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-demo.h"
#include "custos-demo-pki.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL    "custos-demo"
#define TOKEN_URI      "pkcs11:token=" TOKEN_LABEL ";id=%01"
#define CERT_DAYS      30

struct _CustosDemo
{
  GObject   parent_instance;

  char     *dir;
  char     *softhsm_conf;   /* NULL without SoftHSM: a key file instead */
  char     *pin;            /* shown once, then wiped */
  EVP_PKEY *ca_key;
  X509     *ca_cert;
  GSubprocess *protector;   /* the Privacy Protector, its own process */
};

G_DEFINE_FINAL_TYPE (CustosDemo, custos_demo, G_TYPE_OBJECT)

static void
wipe_pin (CustosDemo *self)
{
  if (self->pin != NULL)
    OPENSSL_cleanse (self->pin, strlen (self->pin));
  g_clear_pointer (&self->pin, g_free);
}

static void
custos_demo_finalize (GObject *object)
{
  CustosDemo *self = CUSTOS_DEMO (object);

  wipe_pin (self);
  custos_demo_stop_protector (self);
  g_free (self->dir);
  g_free (self->softhsm_conf);
  g_clear_pointer (&self->ca_key, EVP_PKEY_free);
  g_clear_pointer (&self->ca_cert, X509_free);
  G_OBJECT_CLASS (custos_demo_parent_class)->finalize (object);
}

static void
custos_demo_class_init (CustosDemoClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = custos_demo_finalize;
}

static void
custos_demo_init (CustosDemo *self)
{
}

static char *
path (CustosDemo *self,
      const char *name)
{
  return g_build_filename (self->dir, name, NULL);
}

/* Files */

static char *
make_dir (const char  *dir,
          GError     **error)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *template = NULL;

  if (dir != NULL)
    {
      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       _("Cannot create %s: %s"), dir, g_strerror (errno));
          return NULL;
        }
      return g_canonicalize_filename (dir, NULL);
    }
  template = g_build_filename (runtime && g_file_test (runtime, G_FILE_TEST_IS_DIR)
                                 ? runtime : g_get_tmp_dir (),
                               "custos-demo-XXXXXX", NULL);
  if (g_mkdtemp (template) == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), _("Cannot create %s: %s"),
                   template, g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&template);
}

static gboolean
write_text (CustosDemo  *self,
            const char  *name,
            const char  *text,
            GError     **error)
{
  g_autofree char *file = path (self, name);

  return g_file_set_contents_full (file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* The CA and the archiver's own certificates. */
static gboolean
make_certificate (CustosDemo          *self,
                  const char          *name,
                  const char          *common_name,
                  CustosDemoCertKind   kind,
                  GError             **error)
{
  g_autoptr (EVP_PKEY) key = custos_demo_pki_new_key (error);
  g_autoptr (X509) cert = NULL;
  g_autofree char *key_file = g_strdup_printf ("%s/%s.key.pem", self->dir, name);
  g_autofree char *cert_file = g_strdup_printf ("%s/%s.cert.pem", self->dir, name);

  if (key == NULL)
    return FALSE;
  cert = custos_demo_pki_issue (key, common_name, kind, self->ca_key, self->ca_cert, CERT_DAYS,
                                error);
  return cert != NULL && custos_demo_pki_write_key (key, key_file, error) &&
         custos_demo_pki_write_cert (cert, cert_file, FALSE, error);
}

static gboolean
make_ca (CustosDemo  *self,
         GError     **error)
{
  g_autofree char *key_file = path (self, "ca.key.pem");
  g_autofree char *cert_file = path (self, "ca.cert.pem");

  self->ca_key = custos_demo_pki_new_key (error);
  if (self->ca_key == NULL)
    return FALSE;
  self->ca_cert = custos_demo_pki_issue (self->ca_key, "Custos demo CA", CUSTOS_DEMO_CERT_CA,
                                         self->ca_key, NULL, CERT_DAYS, error);
  return self->ca_cert != NULL && custos_demo_pki_write_key (self->ca_key, key_file, error) &&
         custos_demo_pki_write_cert (self->ca_cert, cert_file, FALSE, error);
}

/* The card: a SoftHSM token with a key generated on it */

static gboolean
have_softhsm (void)
{
  g_autofree char *util = g_find_program_in_path ("softhsm2-util");
  g_autofree char *tool = g_find_program_in_path ("pkcs11-tool");
  g_autofree char *p11tool = g_find_program_in_path ("p11tool");

  return util != NULL && tool != NULL && p11tool != NULL &&
         g_file_test (SOFTHSM_MODULE, G_FILE_TEST_EXISTS);
}

static gboolean
run_tool (CustosDemo         *self,
          const char *const  *argv,
          GError            **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_setenv (launcher, "SOFTHSM2_CONF", self->softhsm_conf, TRUE);
  /* p11tool reads the PIN from here. */
  g_subprocess_launcher_setenv (launcher, "GNUTLS_PIN", self->pin, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, error))
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", argv[0], err ? err : "");
      return FALSE;
    }
  return TRUE;
}

static char *
random_digits (guint n)
{
  guint8 bytes[16];
  GString *s = g_string_new (NULL);

  custos_random_bytes (bytes, n, NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_c (s, '0' + bytes[i] % 10);
  OPENSSL_cleanse (bytes, sizeof bytes);
  return g_string_free (s, FALSE);
}

static gboolean
init_token (CustosDemo  *self,
            GError     **error)
{
  g_autofree char *tokens = path (self, "tokens");
  g_autofree char *conf = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                                           "log.level = ERROR\n", tokens);
  g_autofree char *so_pin = random_digits (8);
  const char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
                         "--pin", self->pin, "--so-pin", so_pin, NULL };
  gboolean ok;

  self->softhsm_conf = path (self, "softhsm2.conf");
  if (g_mkdir_with_parents (tokens, 0700) != 0 ||
      !write_text (self, "softhsm2.conf", conf, error))
    return FALSE;
  /* The libraries of this process (GnuTLS, p11-kit) find the token too. */
  g_setenv ("SOFTHSM2_CONF", self->softhsm_conf, TRUE);
  ok = run_tool (self, init, error);
  OPENSSL_cleanse (so_pin, strlen (so_pin));
  return ok;
}

static gboolean
generate_token_key (CustosDemo  *self,
                    const char  *public_pem,
                    GError     **error)
{
  const char *keygen[] = { "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label",
                           TOKEN_LABEL, "--login", "--pin", self->pin, "--keypairgen",
                           "--key-type", "EC:prime256v1", "--id", "01", "--label", "operator",
                           NULL };
  const char *export[] = { "p11tool", "--provider", SOFTHSM_MODULE, "--login", "--export-pubkey",
                           TOKEN_URI ";type=public", "--outfile",
                           public_pem, NULL };

  return run_tool (self, keygen, error) && run_tool (self, export, error);
}

static gboolean
store_token_certificate (CustosDemo  *self,
                         X509        *cert,
                         GError     **error)
{
  g_autofree char *der = path (self, "operator.cert.der");
  const char *write[] = { "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label",
                          TOKEN_LABEL, "--login", "--pin", self->pin, "--write-object", der,
                          "--type", "cert", "--id", "01", "--label", "operator", NULL };

  return custos_demo_pki_write_cert (cert, der, TRUE, error) && run_tool (self, write, error);
}

/* The operator's key on the card, its certificate issued by the CA,
 * stored on the card and enrolled on the archiver. */
static gboolean
make_card (CustosDemo  *self,
           GError     **error)
{
  g_autofree char *public_pem = path (self, "operator.pub.pem");
  g_autofree char *enrolled = path (self, "enrolled/operator.cert.pem");
  g_autoptr (EVP_PKEY) public_key = NULL;
  g_autoptr (X509) cert = NULL;

  self->pin = random_digits (6);
  if (!init_token (self, error) || !generate_token_key (self, public_pem, error) ||
      (public_key = custos_demo_pki_read_public_key (public_pem, error)) == NULL)
    return FALSE;
  cert = custos_demo_pki_issue (public_key, "Demo operator", CUSTOS_DEMO_CERT_CLIENT,
                                self->ca_key, self->ca_cert, CERT_DAYS, error);
  return cert != NULL && store_token_certificate (self, cert, error) &&
         custos_demo_pki_write_cert (cert, enrolled, FALSE, error);
}

/* Without SoftHSM: a key file, so the demo still runs. */
static gboolean
make_key_file_operator (CustosDemo  *self,
                        GError     **error)
{
  g_autofree char *from = path (self, "operator.cert.pem");
  g_autofree char *to = path (self, "enrolled/operator.cert.pem");
  g_autofree char *contents = NULL;
  gsize len;

  return make_certificate (self, "operator", "Demo operator", CUSTOS_DEMO_CERT_CLIENT, error) &&
         g_file_get_contents (from, &contents, &len, error) &&
         g_file_set_contents (to, contents, len, error);
}

static const char config_head[] =
  "# custos-archiver --demo: see custos-archiver.h for every key.\n"
  "[archiver]\n"
  "listen=127.0.0.1\n"
  "port=0\n"
  "tls-certificate=server.cert.pem\n"
  "tls-key=server.key.pem\n"
  "client-ca=ca.cert.pem\n"
  "signer-key=signer.key.pem\n"
  "signer-certificate=signer.cert.pem\n"
  "storage=storage\n"
  "enrolment-folder=enrolled\n"
  "revocation-list=revoked.txt\n";

static const char config_recording[] =
  "\n"
  "[recording]\n"
  "# Short key periods so that a range starts close to the time asked for\n"
  "# (a response starts at a sync point, one per key period).\n"
  "period-ms=10000\n"
  "epoch-ms=600000\n"
  "file-seconds=60\n"
  "retention-hours=24\n";

/* The Privacy Protector's own certificate: a client of the CA, enrolled
 * (it decrypts the original like any recipient) and named in
 * privacy-protectors= (it may publish). */
static gboolean
make_protector (CustosDemo  *self,
                GError     **error)
{
  g_autofree char *from = path (self, "protector.cert.pem");
  g_autofree char *to = path (self, "enrolled/protector.cert.pem");
  g_autofree char *contents = NULL;
  gsize len;

  return make_certificate (self, "protector", "Demo privacy protector", CUSTOS_DEMO_CERT_CLIENT,
                           error) &&
         g_file_get_contents (from, &contents, &len, error) &&
         g_file_set_contents (to, contents, len, error);
}

static gboolean
have_element (const char *name)
{
  g_autoptr (GstElementFactory) factory = gst_element_factory_find (name);

  return factory != NULL;
}

/* The time shows in the picture where GStreamer's pango plugin is. */
static gboolean
write_config (CustosDemo  *self,
              GError     **error)
{
  g_autofree char *front = g_strdup_printf (
    "\n[camera front-door]\n"
    "name=Front door\n"
    "source=videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=640,height=360,framerate=15/1%s\n"
    "audio=audiotestsrc is-live=true wave=ticks volume=0.3\n"
    "encrypted=true\n"
    "# The Privacy Protector (custos-privacy-protector, protector.conf) publishes\n"
    "# a pixelated, unencrypted copy: ?privacy=1, no certificate needed.\n"
    "privacy-stream=true\n",
    have_element ("timeoverlay") ? " ! timeoverlay" : "");
  g_autofree char *lobby = g_strdup_printf (
    "\n[camera lobby]\n"
    "name=Lobby\n"
    "source=videotestsrc is-live=true pattern=smpte ! "
    "video/x-raw,width=640,height=360,framerate=15/1%s\n"
    "encrypted=false\n",
    have_element ("clockoverlay") ? " ! clockoverlay" : "");
  g_autofree char *protector = path (self, "protector.cert.pem");
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (protector, error);
  g_autofree char *fingerprint = cert ? custos_certificate_dup_fingerprint_hex (cert) : NULL;
  g_autofree char *protectors = NULL;
  g_autofree char *text = NULL;

  if (cert == NULL)
    return FALSE;
  protectors = g_strdup_printf ("# The Privacy Protector's certificate may publish privacy-\n"
                                "# protected streams (its SHA-256).\n"
                                "privacy-protectors=%s\n", fingerprint);
  text = g_strconcat (config_head, protectors, config_recording, front, lobby, NULL);
  return write_text (self, "archiver.conf", text, error);
}

CustosDemo *
custos_demo_new (const char  *dir,
                 GError     **error)
{
  g_autoptr (CustosDemo) self = g_object_new (CUSTOS_TYPE_DEMO, NULL);
  g_autoptr (GError) card_error = NULL;
  g_autofree char *enrolled = NULL;

  if ((self->dir = make_dir (dir, error)) == NULL)
    return NULL;
  enrolled = path (self, "enrolled");
  if (g_mkdir_with_parents (enrolled, 0700) != 0 || !make_ca (self, error) ||
      !make_certificate (self, "server", "127.0.0.1", CUSTOS_DEMO_CERT_SERVER, error) ||
      !make_certificate (self, "signer", "Custos demo archiver", CUSTOS_DEMO_CERT_SIGNER,
                         error) ||
      !make_protector (self, error) ||
      !write_text (self, "revoked.txt", "# SHA-256 fingerprints of revoked certificates\n",
                   error) ||
      !write_config (self, error))
    return NULL;
  if (!have_softhsm () || !make_card (self, &card_error))
    {
      g_message (_("No SoftHSM card for the demo (%s): the operator gets a key file"),
                 card_error ? card_error->message : _("softhsm2, opensc or gnutls-bin missing"));
      wipe_pin (self);
      g_clear_pointer (&self->softhsm_conf, g_free);
      if (!make_key_file_operator (self, error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

CustosArchiver *
custos_demo_create_archiver (CustosDemo  *self,
                             GError     **error)
{
  g_autofree char *config = path (self, "archiver.conf");

  return custos_archiver_new_from_file (config, error);
}

/* The protector's binary: $CUSTOS_PRIVACY_PROTECTOR, else next to this
 * program (installed, or in the build tree's privacy/), else in $PATH. */
static char *
find_protector (void)
{
  const char *env = g_getenv ("CUSTOS_PRIVACY_PROTECTOR");
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self_path ? g_path_get_dirname (self_path) : NULL;
  const char *const near[] = { "custos-privacy-protector", "privacy/custos-privacy-protector" };

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  for (guint i = 0; dir != NULL && i < G_N_ELEMENTS (near); i++)
    {
      g_autofree char *candidate = g_build_filename (dir, near[i], NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
    }
  return g_find_program_in_path ("custos-privacy-protector");
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

gboolean
custos_demo_start_protector (CustosDemo      *self,
                             CustosArchiver  *archiver,
                             GError         **error)
{
  g_autofree char *binary = find_protector ();
  g_autofree char *config = path (self, "protector.conf");
  g_autofree char *log = path (self, "protector.log");
  g_autofree char *text = g_strdup_printf (
    "# custos-privacy-protector: see custos-privacy-protector.h for every key.\n"
    "[privacy-protector]\n"
    "archiver=https://%s:%u\n"
    "ca-file=ca.cert.pem\n"
    "certificate=protector.cert.pem\n"
    "key=protector.key.pem\n"
    "cameras=front-door\n"
    "mode=pixelate\n"
    "block-size=16\n",
    custos_archiver_get_address (archiver), custos_archiver_get_port (archiver));
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  if (binary == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("custos-privacy-protector is not installed"));
      return FALSE;
    }
  if (!write_text (self, "protector.conf", text, error))
    return FALSE;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->protector = g_subprocess_launcher_spawn (launcher, error, binary, "--config", config,
                                                 NULL);
  return self->protector != NULL;
}

void
custos_demo_stop_protector (CustosDemo *self)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (self->protector == NULL)
    return;
  g_subprocess_send_signal (self->protector, SIGTERM);
  /* Its last upload ends with an answer from this process: the main
   * loop keeps running meanwhile (GLib reaps the child in its worker). */
  while (g_subprocess_get_identifier (self->protector) != NULL &&
         g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  if (g_subprocess_get_identifier (self->protector) != NULL)
    g_subprocess_force_exit (self->protector);
  g_subprocess_wait (self->protector, NULL, NULL);
  g_clear_object (&self->protector);
}

void
custos_demo_print_instructions (CustosDemo     *self,
                                CustosArchiver *archiver)
{
  g_autofree char *url = g_strdup_printf ("https://%s:%u", custos_archiver_get_address (archiver),
                                          custos_archiver_get_port (archiver));
  g_autofree char *ca = path (self, "ca.cert.pem");
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) later = g_date_time_add_seconds (now, 30);
  g_autofree char *from = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *to = g_date_time_format (later, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *range = g_strdup_printf ("%s/api/v1/cameras/front-door/stream?from=%s&to=%s",
                                            url, from, to);
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "\n%s\n\n", _("Custos demo archiver: recording two test cameras"));
  g_string_append_printf (text, "  %-12s %s/\n", _("URL:"), url);
  g_string_append_printf (text, "  %-12s %s\n", _("CA file:"), ca);
  g_string_append_printf (text, "  %-12s %s\n", _("Folder:"), self->dir);
  g_string_append_printf (text, "  %-12s front-door (%s), lobby (%s)\n", _("Cameras:"),
                          _("encrypted, with audio"), _("not encrypted"));
  if (self->protector != NULL)
    g_string_append_printf (text, "  %-12s %s %s (pid %s, %s %s)\n", _("Privacy:"),
                            _("started custos-privacy-protector for front-door: a pixelated, "
                              "unencrypted copy, no certificate needed; its log:"),
                            "protector.log", g_subprocess_get_identifier (self->protector),
                            _("config"), "protector.conf");
  else
    g_string_append_printf (text, "  %-12s %s\n", _("Privacy:"),
                            _("the Privacy Protector did not start; front-door has no "
                              "privacy-protected stream"));
  if (self->softhsm_conf != NULL)
    {
      g_string_append_printf (text, "  %-12s export SOFTHSM2_CONF=%s\n", _("Smart card:"),
                              self->softhsm_conf);
      g_string_append_printf (text, "  %-12s %s, %s %s  (%s)\n", "", "token \"" TOKEN_LABEL "\"",
                              _("PIN"), self->pin, _("shown this once, not stored"));
      wipe_pin (self);
    }
  g_string_append_printf (text, "\n%s\n", _("Try, in another terminal:"));
  g_string_append_printf (text, "  curl --cacert %s %s/api/v1/health\n", ca, url);
  g_string_append_printf (text, "  curl --cacert %s -o lobby.fusion '%s/api/v1/cameras/lobby/"
                          "stream?from=%s&to=%s'\n", ca, url, from, to);
  g_string_append_printf (text, "  %s\n", _("# in 30 s, the privacy-protected copy of the "
                                            "encrypted camera, without any certificate:"));
  g_string_append_printf (text, "  curl --cacert %s -o front-door-privacy.fusion '%s/api/v1/"
                          "cameras/front-door/stream?privacy=1&from=%s&to=%s'\n", ca, url, from,
                          to);
  if (self->softhsm_conf != NULL)
    {
      g_string_append_printf (text, "  %s\n", _("# in 30 s, a range of the encrypted camera, "
                                                "with the card (asks for the PIN):"));
      g_string_append_printf (text, "  export SOFTHSM2_CONF=%s\n", self->softhsm_conf);
      g_string_append_printf (text, "  custos-cli fetch '%s' --ca %s --uri '%s' "
                              "-o front-door.fusion\n", range, ca, TOKEN_URI);
      g_string_append_printf (text, "  custos-cli decrypt front-door.fusion --token " TOKEN_LABEL
                              " --ca %s -o front-door/\n", ca);
    }
  else
    {
      g_autofree char *key = path (self, "operator.key.pem");
      g_autofree char *cert = path (self, "operator.cert.pem");

      g_string_append_printf (text, "  custos-cli fetch '%s' --ca %s --key %s --cert %s "
                              "-o front-door.fusion\n", range, ca, key, cert);
      g_string_append_printf (text, "  custos-cli decrypt front-door.fusion --key %s --cert %s "
                              "--ca %s -o front-door/\n", key, cert, ca);
    }
  g_string_append_printf (text, "\n%s\n", _("Ctrl+C stops the archiver; the folder stays."));
  g_print ("%s", text->str);
}
