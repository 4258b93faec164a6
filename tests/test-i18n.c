/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libcustos's messages reach users in their language without the
 * application's help: the library binds its own text domain, as GLib and
 * GIO do. This program never calls bindtextdomain () before libcustos does.
 */
#define G_LOG_DOMAIN "custos-test-i18n"

#include "config.h"

#include <libintl.h>
#include <locale.h>
#include <string.h>

#include "custos-certificate.h"
#include "custos-test-util.h"

/* A libcustos error for a file that is not a certificate. */
static char *
certificate_error (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (path, &error);

  g_assert_null (cert);
  g_assert_nonnull (error);
  return g_strdup (error->message);
}

/* The French catalogue from po/fr.po, in a locale tree under the tmpdir. */
static char *
make_french_catalogue (void)
{
  g_autofree char *po = g_test_build_filename (G_TEST_DIST, "..", "po", "fr.po", NULL);
  g_autofree char *root = g_build_filename (custos_test_tmpdir (), "locale", NULL);
  g_autofree char *dir = g_build_filename (root, "fr", "LC_MESSAGES", NULL);
  g_autofree char *mo = g_build_filename (dir, GETTEXT_PACKAGE ".mo", NULL);
  g_autofree char *msgfmt = g_find_program_in_path ("msgfmt");

  if (msgfmt == NULL)
    return NULL;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  custos_test_run_args (msgfmt, "-o", mo, po, NULL);
  return g_steal_pointer (&root);
}

static void
test_library_translates (void)
{
  g_autofree char *path = custos_test_write_file ("not-a-cert.txt", "hello\n", 6);
  g_autofree char *english = NULL;
  g_autofree char *french = NULL;
  g_autofree char *root = NULL;

  if (setlocale (LC_ALL, "C.UTF-8") == NULL)
    {
      g_test_skip ("no C.UTF-8 locale (gettext ignores LANGUAGE in the C locale)");
      return;
    }

  /* No catalogue for "en": the English text. */
  g_setenv ("LANGUAGE", "en", TRUE);
  english = certificate_error (path);
  g_assert_nonnull (strstr (english, "is not a DER or PEM X.509 certificate"));

  /* Making that message bound the domain where the library's catalogues
   * are installed; nobody else did. */
  g_assert_cmpstr (bindtextdomain (GETTEXT_PACKAGE, NULL), ==, LOCALEDIR);

  root = make_french_catalogue ();
  if (root == NULL)
    {
      g_test_skip ("msgfmt not found");
      return;
    }
  /* The installed catalogues are not there in a build tree: point the
   * domain at the one just made, as an installation would have it. */
  bindtextdomain (GETTEXT_PACKAGE, root);
  g_setenv ("LANGUAGE", "fr", TRUE);
  french = certificate_error (path);
  g_assert_nonnull (strstr (french, "n’est pas un certificat X.509 DER ou PEM"));
  g_assert_nonnull (strstr (french, path));
  g_unsetenv ("LANGUAGE");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/i18n/library-translates", test_library_translates);

  return g_test_run ();
}
