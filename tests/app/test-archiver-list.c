/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The viewer's archiver view models against the real custos-archiver with
 * real TLS: an archiver added by URL is untrusted until the user pins the
 * fingerprint it presented (which must be the archiver's certificate);
 * pinned, it lists the cameras with their flags; a pin that does not
 * match is refused as a changed certificate; the `archivers` setting
 * round-trips; a stopped archiver turns the cameras offline. Also the
 * local files list, which takes fusion files only.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <glib/gstdio.h>

#include "archiver-test-util.h"
#include "custos-archiver-list.h"
#include "custos-local-files.h"
#include "custos-test-util.h"

static const char cameras[] =
    "[recording]\nperiod-ms=2000\nepoch-ms=60000\nseal-ms=500\nkeyframe-ms=500\nfile-seconds=4\n"
    "[camera gate]\nname=Gate\n"
    "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=true\n"
    "[camera hall]\nname=Hall\n"
    "source=videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1\n"
    "encrypted=false\n";

static TestArchiver *archiver;
static TestClient   *alice;

typedef gboolean (*Condition) (gpointer data);

/* Runs the main loop until cond holds (FALSE after 20 s). */
static gboolean
wait_for (Condition cond, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  return TRUE;
}

static gboolean
not_connecting (gpointer data)
{
  return custos_archiver_entry_get_state (data) != CUSTOS_ARCHIVER_STATE_CONNECTING;
}

static char *
server_fingerprint (void)
{
  g_autofree char *dir = g_path_get_dirname (test_pki_ca_cert ());
  g_autofree char *path = g_build_filename (dir, "server.cert.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return custos_certificate_dup_fingerprint_hex (cert);
}

static GSettings *
fresh_settings (void)
{
  GSettings *settings = g_settings_new ("org.custos.Custos");

  g_settings_reset (settings, "archivers");
  return settings;
}

static void
test_untrusted_then_pinned (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 0);
  g_autofree char *expected = server_fingerprint ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCameraItem) first = NULL;
  CustosArchiverEntry *entry;
  CustosCameraItem    *gate, *hall;

  entry = custos_archiver_list_add (list, archiver->base_url, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_UNTRUSTED);
  /* The fingerprint the user is asked to compare is the archiver's. */
  g_assert_cmpstr (custos_archiver_entry_get_peer_fingerprint (entry), ==, expected);
  g_assert_cmpuint (g_list_model_get_n_items (custos_archiver_entry_get_cameras (entry)), ==, 0);

  entry = custos_archiver_list_pin (list, archiver->base_url,
                                    custos_archiver_entry_get_peer_fingerprint (entry), &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_CONNECTED);
  g_assert_cmpuint (g_list_model_get_n_items (custos_archiver_entry_get_cameras (entry)), ==, 2);
  gate = custos_archiver_entry_find_camera (entry, "gate");
  hall = custos_archiver_entry_find_camera (entry, "hall");
  g_assert_nonnull (gate);
  g_assert_nonnull (hall);
  g_assert_cmpstr (custos_camera_item_get_title (gate), ==, "Gate");
  g_assert_true (custos_camera_item_get_encrypted (gate));
  g_assert_false (custos_camera_item_get_encrypted (hall));
  g_assert_false (custos_camera_item_get_offline (gate));
  g_assert_true (test_archiver_wait_state (archiver, "gate", "recording", 20000));
  custos_archiver_entry_refresh (entry);
  first = g_object_ref (gate);
  g_assert_true (wait_for ((Condition) custos_camera_item_get_recording, gate));
  /* Refreshing updates the items in place (rows bound to them follow). */
  g_assert_true (custos_archiver_entry_find_camera (entry, "gate") == first);

  /* The setting holds what the user decided, and nothing else. */
  {
    g_autoptr (GVariant) value = g_settings_get_value (settings, "archivers");
    g_autofree char *text = g_variant_print (value, FALSE);
    g_autofree char *want =
        g_strdup_printf ("[('%s', '%s', '', '')]", archiver->base_url, expected);

    g_assert_cmpstr (text, ==, want);
  }
}

static void
test_fingerprint_format (void)
{
  g_autofree char *text =
      custos_format_fingerprint ("AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:"
                                 "45:67:89:ab:cd:ef:01:23:45:67:89");

  g_assert_cmpstr (text, ==,
                   "abcd ef01 2345 6789\nabcd ef01 2345 6789\n"
                   "abcd ef01 2345 6789\nabcd ef01 2345 6789");
}

static void
test_certificate_changed (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 0);
  g_autofree char     *expected = server_fingerprint ();
  const char          *wrong = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  CustosArchiverEntry *entry;

  /* As if the archiver had been pinned before and now presents another
   * certificate: the setting is written from outside the list. */
  g_settings_set_value (settings, "archivers",
                        g_variant_new_parsed ("[(%s, %s, '', '')]", archiver->base_url, wrong));
  entry = custos_archiver_list_find (list, archiver->base_url);
  g_assert_nonnull (entry);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==,
                   CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED);
  g_assert_cmpstr (custos_archiver_entry_get_peer_fingerprint (entry), ==, expected);
  g_assert_cmpuint (g_list_model_get_n_items (custos_archiver_entry_get_cameras (entry)), ==, 0);
  /* The pin stays what it was: nothing re-pins by itself. */
  g_assert_cmpstr (custos_archiver_entry_get_pinned_fingerprint (entry), ==, wrong);
  custos_archiver_entry_refresh (entry);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==,
                   CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED);
}

static void
test_ca_file (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 0);
  g_autoptr (GError) error = NULL;
  CustosArchiverEntry *entry;

  entry = custos_archiver_list_add (list, archiver->base_url, test_pki_ca_cert (), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_CONNECTED);
  g_assert_cmpuint (g_list_model_get_n_items (custos_archiver_entry_get_cameras (entry)), ==, 2);

  /* Adding it twice, or something that is not an archiver address, fails
   * with an error naming the problem. */
  g_assert_null (custos_archiver_list_add (list, archiver->base_url, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (custos_archiver_list_add (list, "http://127.0.0.1:1", NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "http://127.0.0.1:1"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
}

/* A client certificate set while the camera list is on its way restarts
 * the client's session under the request: the entry asks again instead
 * of staying "connecting" for ever. */
static void
test_certificate_during_refresh (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  CustosArchiverEntry *entry;

  entry = custos_archiver_list_add (list, archiver->base_url, test_pki_ca_cert (), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_CONNECTING);
  cert = g_tls_certificate_new_from_files (alice->cert_path, alice->key_path, &error);
  g_assert_no_error (error);
  custos_archiver_entry_set_client_certificate (entry, cert);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_CONNECTED);
  g_assert_cmpuint (g_list_model_get_n_items (custos_archiver_entry_get_cameras (entry)), ==, 2);
}

static void
test_settings_round_trip (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 0);
  g_autoptr (CustosArchiverList) other = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosArchiverEntry) kept = NULL;
  CustosArchiverEntry *a, *b;

  a = custos_archiver_list_add (list, "https://127.0.0.1:9/", test_pki_ca_cert (), alice->cert_path,
                                &error);
  g_assert_no_error (error);
  /* The trailing slash is not part of the archiver's identity. */
  g_assert_cmpstr (custos_archiver_entry_get_url (a), ==, "https://127.0.0.1:9");
  custos_archiver_list_add (list, "https://localhost:10", NULL, NULL, &error);
  g_assert_no_error (error);

  /* Another list on the same settings (the next start) sees the same. */
  other = custos_archiver_list_new (settings, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (other)), ==, 2);
  b = custos_archiver_list_find (other, "https://127.0.0.1:9");
  g_assert_nonnull (b);
  g_assert_cmpstr (custos_archiver_entry_get_ca_file (b), ==, test_pki_ca_cert ());
  g_assert_cmpstr (custos_archiver_entry_get_identity (b), ==, alice->cert_path);
  g_assert_null (custos_archiver_entry_get_pinned_fingerprint (b));
  g_assert_cmpstr (custos_archiver_entry_get_title (b), ==, "127.0.0.1:9");

  /* Removing one leaves the other entry as it was. */
  kept = g_object_ref (custos_archiver_list_find (list, "https://localhost:10"));
  g_assert_true (custos_archiver_list_remove (list, "https://127.0.0.1:9"));
  g_assert_false (custos_archiver_list_remove (list, "https://127.0.0.1:9"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
  g_assert_true (custos_archiver_list_find (list, "https://localhost:10") == kept);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (other)), ==, 1);
  g_assert_null (custos_archiver_list_find (other, "https://127.0.0.1:9"));
}

static gboolean
offline_state (gpointer data)
{
  return custos_archiver_entry_get_state (data) == CUSTOS_ARCHIVER_STATE_OFFLINE;
}

static void
test_offline (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (CustosArchiverList) list = custos_archiver_list_new (settings, 1);
  g_autoptr (GError) error = NULL;
  CustosArchiverEntry *entry;
  CustosCameraItem    *gate;

  entry = custos_archiver_list_add (list, archiver->base_url, test_pki_ca_cert (), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (not_connecting, entry));
  g_assert_cmpint (custos_archiver_entry_get_state (entry), ==, CUSTOS_ARCHIVER_STATE_CONNECTED);
  gate = custos_archiver_entry_find_camera (entry, "gate");
  g_assert_false (custos_camera_item_get_offline (gate));

  test_archiver_stop (archiver);
  /* The periodic refresh notices; the cameras stay listed, offline. */
  g_assert_true (wait_for (offline_state, entry));
  g_assert_nonnull (custos_archiver_entry_get_message (entry));
  g_assert_true (custos_archiver_entry_find_camera (entry, "gate") == gate);
  g_assert_true (custos_camera_item_get_offline (gate));
}

static void
added (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GFile *
add_local (CustosLocalFiles *files, const char *path, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GAsyncResult) result = NULL;

  custos_local_files_add_async (files, file, NULL, added, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return custos_local_files_add_finish (files, result, error);
}

static void
test_local_files (void)
{
  g_autoptr (CustosLocalFiles) files = custos_local_files_new ();
  g_autofree char *fusion =
      g_test_build_filename (G_TEST_DIST, "..", "data", "kat-v1.fusion", NULL);
  g_autofree char *text = g_build_filename (custos_test_tmpdir (), "notes.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) a = NULL;
  g_autoptr (GFile) b = NULL;
  g_autoptr (GFile) c = NULL;

  a = add_local (files, fusion, &error);
  g_assert_no_error (error);
  b = add_local (files, fusion, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (files)), ==, 1);

  g_file_set_contents (text, "CUSTOSFS is not at the start of this file\n", -1, &error);
  g_assert_no_error (error);
  c = add_local (files, text, &error);
  g_assert_null (c);
  g_assert_error (error, CUSTOS_LOCAL_FILES_ERROR, CUSTOS_LOCAL_FILES_ERROR_NOT_FUSION);
  g_assert_nonnull (strstr (error->message, "notes.txt"));
  g_clear_error (&error);

  c = add_local (files, "/nonexistent/x.fusion", &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (files)), ==, 1);
  g_assert_true (custos_local_files_remove (files, a));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (files)), ==, 0);
}

int
main (int argc, char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  alice = test_client_new ("alice", "ec:P-256", 0, 0);
  archiver = test_archiver_new ("viewer", NULL, cameras);
  test_archiver_enrol (archiver, alice);
  test_archiver_start (archiver);

  g_test_add_func ("/archiver-list/fingerprint-format", test_fingerprint_format);
  g_test_add_func ("/archiver-list/untrusted-then-pinned", test_untrusted_then_pinned);
  g_test_add_func ("/archiver-list/certificate-changed", test_certificate_changed);
  g_test_add_func ("/archiver-list/ca-file", test_ca_file);
  g_test_add_func ("/archiver-list/certificate-during-refresh", test_certificate_during_refresh);
  g_test_add_func ("/archiver-list/settings-round-trip", test_settings_round_trip);
  g_test_add_func ("/archiver-list/local-files", test_local_files);
  /* Last: it stops the archiver. */
  g_test_add_func ("/archiver-list/offline", test_offline);
  ret = g_test_run ();

  test_archiver_free (archiver);
  test_client_free (alice);
  return ret;
}
