/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-window"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-add-archiver-dialog.h"
#include "custos-export-dialog.h"
#include "custos-grid.h"
#include "custos-preferences-window.h"
#include "custos-sidebar.h"
#include "custos-trust-dialog.h"
#include "custos-window.h"

struct _CustosWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwLeaflet      *leaflet;
  GtkWidget       *sidebar_pane;
  GtkWidget       *sidebar_separator;
  GtkWidget       *content_header;
  CustosSidebar   *sidebar;
  GtkWidget       *content_pane;
  AdwWindowTitle  *window_title;
  GtkStack        *content_stack;
  AdwStatusPage   *archiver_page;
  AdwStatusPage   *empty_page;
  GtkWidget       *empty_add_button;
  GtkWidget       *archiver_trust_button;

  CustosPlayer *player;
  CustosGrid   *grid;

  GSettings          *settings;
  CustosCredentials  *credentials;
  CustosArchiverList *archivers;
  CustosLocalFiles   *local_files;

  /* What the single tile shows: a camera (entry + id) or a file. */
  CustosArchiverEntry *current_entry;
  char                *current_camera;
  GFile               *current_file;
  /* The archiver the "archiver" page is about. */
  CustosArchiverEntry *shown_entry;
  /* Shows the trust dialog when an archiver just added turns out untrusted. */
  CustosArchiverEntry *new_entry;

  GtkFileChooserNative *chooser;
  GCancellable         *cancellable;
  gboolean              grid_mode;
  gboolean              original;
};

G_DEFINE_FINAL_TYPE (CustosWindow, custos_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_GRID_MODE,
  PROP_ORIGINAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
setup_models (CustosWindow *self, CustosApplication *app);

CustosWindow *
custos_window_new (CustosApplication *application)
{
  CustosWindow *self;

  g_return_val_if_fail (CUSTOS_IS_APPLICATION (application), NULL);

  self = g_object_new (CUSTOS_TYPE_WINDOW, "application", application, NULL);
  setup_models (self, application);
  return self;
}

void
custos_window_add_toast (CustosWindow *self, AdwToast *toast)
{
  g_return_if_fail (CUSTOS_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
toast_error (CustosWindow *self, const char *what, const GError *error)
{
  /* Translators: what failed, then why. */
  g_autofree char *text = g_strdup_printf (_ ("%s: %s"), what, error->message);
  AdwToast        *toast = adw_toast_new (text);

  /* Longer than the default: it says what went wrong. */
  adw_toast_set_timeout (toast, 10);
  custos_window_add_toast (self, toast);
}

CustosPlayer *
custos_window_get_player (CustosWindow *self)
{
  g_return_val_if_fail (CUSTOS_IS_WINDOW (self), NULL);
  return self->player;
}

const char *
custos_window_get_page (CustosWindow *self)
{
  g_return_val_if_fail (CUSTOS_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->content_stack);
}

static void
show_page (CustosWindow *self, const char *name)
{
  gtk_stack_set_visible_child_name (self->content_stack, name);
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void
set_current (CustosWindow *self, CustosArchiverEntry *entry, const char *camera_id, GFile *file)
{
  CustosCameraItem *item = NULL;

  g_set_object (&self->current_entry, entry);
  g_free (self->current_camera);
  self->current_camera = g_strdup (camera_id);
  g_set_object (&self->current_file, file);
  if (entry != NULL && camera_id != NULL)
    item = custos_archiver_entry_find_camera (entry, camera_id);
  /* Original vs. privacy-protected only means something for these. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.original",
                                 item != NULL && custos_camera_item_get_privacy (item) &&
                                     custos_camera_item_get_encrypted (item));
}

/* Opening cameras */

typedef struct
{
  CustosWindow        *window;
  CustosPlayer        *player;
  CustosArchiverEntry *entry;
  char                *camera_id;
  char                *title;
  GTlsCertificate     *cert;
} OpenRequest;

static void
open_request_free (OpenRequest *request)
{
  g_object_unref (request->window);
  g_object_unref (request->player);
  g_object_unref (request->entry);
  g_free (request->camera_id);
  g_free (request->title);
  g_clear_object (&request->cert);
  g_free (request);
}

static void
open_with_certificate (OpenRequest *request)
{
  custos_archiver_entry_set_client_certificate (request->entry, request->cert);
  custos_player_open_camera (request->player, custos_archiver_entry_get_client (request->entry),
                             request->camera_id, request->title, FALSE);
  open_request_free (request);
}

static void
got_certificate (GObject *object, GAsyncResult *result, gpointer user_data)
{
  OpenRequest *request = user_data;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;

  cert =
      custos_credentials_get_tls_certificate_finish (CUSTOS_CREDENTIALS (object), result, &error);
  if (cert == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast_error (request->window, _ ("Cannot use your client certificate"), error);
      open_request_free (request);
      return;
    }
  /* Setting it restarts the client's session under any listing in
   * flight; the entry asks again by itself. */
  request->cert = g_steal_pointer (&cert);
  open_with_certificate (request);
}

/* What a tile shows, for the export and for reopening it: a camera
 * (entry, the camera's item as last listed, its id) or a file. */
static void
tag_tile (CustosPlayer *tile, CustosArchiverEntry *entry, CustosCameraItem *camera, GFile *file)
{
  g_object_set_data_full (G_OBJECT (tile), "custos-entry", entry ? g_object_ref (entry) : NULL,
                          g_object_unref);
  g_object_set_data_full (G_OBJECT (tile), "custos-item", camera ? g_object_ref (camera) : NULL,
                          g_object_unref);
  g_object_set_data_full (G_OBJECT (tile), "custos-camera",
                          camera ? g_strdup (custos_camera_item_get_id (camera)) : NULL, g_free);
  g_object_set_data_full (G_OBJECT (tile), "custos-file", file ? g_object_ref (file) : NULL,
                          g_object_unref);
}

static void
open_file_in (CustosPlayer *tile, GFile *file)
{
  tag_tile (tile, NULL, NULL, file);
  custos_player_open_file (tile, file);
}

static void
request_certificate (CustosWindow *self, CustosPlayer *player, CustosArchiverEntry *entry,
                     const char *camera_id, const char *title, const char *identity)
{
  OpenRequest *request = g_new0 (OpenRequest, 1);

  request->window = g_object_ref (self);
  request->player = g_object_ref (player);
  request->entry = g_object_ref (entry);
  request->camera_id = g_strdup (camera_id);
  request->title = g_strdup (title);
  custos_credentials_get_tls_certificate_async (self->credentials, identity, self->cancellable,
                                                got_certificate, request);
}

/* No certificate chosen: the privacy-protected stream when there is one
 * (and "Original" off again), else the original without one, so the tile
 * says what the archiver answers rather than showing the last camera. */
static void
identity_declined (CustosWindow *self, OpenRequest *request)
{
  CustosCameraItem *item = g_object_get_data (G_OBJECT (request->player), "custos-item");
  gboolean          privacy = item != NULL && custos_camera_item_get_privacy (item);

  if (privacy && request->player == self->player && self->original)
    {
      self->original = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ORIGINAL]);
    }
  custos_player_open_camera (request->player, custos_archiver_entry_get_client (request->entry),
                             request->camera_id, request->title, privacy);
}

/* The user chose the certificate for an archiver added without one: it
 * is kept in the `archivers` setting, then the original is opened with it. */
static void
identity_response (AdwMessageDialog *dialog, const char *response, CustosWindow *self)
{
  OpenRequest *request = g_object_get_data (G_OBJECT (dialog), "request");
  const char  *identity =
      custos_add_archiver_dialog_get_identity (CUSTOS_ADD_ARCHIVER_DIALOG (dialog));
  CustosArchiverEntry *entry;

  if (g_strcmp0 (response, "use") != 0 || identity == NULL)
    {
      identity_declined (self, request);
      return;
    }
  entry = custos_archiver_list_set_identity (
      self->archivers, custos_archiver_entry_get_url (request->entry), identity);
  if (entry == NULL)
    {
      custos_window_add_toast (self, adw_toast_new (_ ("The archiver was removed")));
      return;
    }
  /* Another configuration, another entry: what the window shows follows it. */
  if (self->current_entry == request->entry)
    g_set_object (&self->current_entry, entry);
  /* Until the new entry lists its cameras, the item as the old one had it. */
  tag_tile (request->player, entry, g_object_get_data (G_OBJECT (request->player), "custos-item"),
            NULL);
  custos_archiver_entry_refresh (entry);
  request_certificate (self, request->player, entry, request->camera_id, request->title, identity);
}

static void
ask_identity (CustosWindow *self, CustosPlayer *player, CustosArchiverEntry *entry,
              CustosCameraItem *camera)
{
  GtkWidget *dialog = custos_add_archiver_dialog_new_for_identity (
      GTK_WINDOW (self), self->credentials, custos_archiver_entry_get_url (entry));
  OpenRequest *request = g_new0 (OpenRequest, 1);

  request->window = g_object_ref (self);
  request->player = g_object_ref (player);
  request->entry = g_object_ref (entry);
  request->camera_id = g_strdup (custos_camera_item_get_id (camera));
  request->title = g_strdup (custos_camera_item_get_title (camera));
  g_object_set_data_full (G_OBJECT (dialog), "request", request,
                          (GDestroyNotify) open_request_free);
  g_signal_connect (dialog, "response", G_CALLBACK (identity_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Whether a camera plays as its privacy-protected stream in this window. */
static gboolean
uses_privacy (CustosWindow *self, CustosCameraItem *camera)
{
  return custos_camera_item_get_privacy (camera) &&
         (!self->original || !custos_camera_item_get_encrypted (camera));
}

/* The original needs the client certificate on the TLS connection (asked
 * once per archiver, through the credentials' PIN dialog) and the card's
 * keys for the video (asked by custosdemux through the same dialog). */
static void
open_in (CustosWindow *self, CustosPlayer *player, CustosArchiverEntry *entry,
         CustosCameraItem *camera)
{
  gboolean    privacy = uses_privacy (self, camera);
  const char *identity = custos_archiver_entry_get_identity (entry);

  tag_tile (player, entry, camera, NULL);
  if (privacy || !custos_camera_item_get_encrypted (camera) ||
      custos_archiver_entry_has_client_certificate (entry))
    {
      custos_player_open_camera (player, custos_archiver_entry_get_client (entry),
                                 custos_camera_item_get_id (camera),
                                 custos_camera_item_get_title (camera), privacy);
      return;
    }
  /* Added without a certificate: ask which one rather than fail. */
  if (identity == NULL)
    {
      ask_identity (self, player, entry, camera);
      return;
    }
  request_certificate (self, player, entry, custos_camera_item_get_id (camera),
                       custos_camera_item_get_title (camera), identity);
}

static void
set_grid_mode (CustosWindow *self, gboolean grid_mode);

static CustosPlayer *
add_grid_tile (CustosWindow *self)
{
  CustosPlayer *tile;

  /* What the single tile showed becomes the grid's first tile. */
  set_grid_mode (self, TRUE);
  tile = custos_grid_add_tile (self->grid);
  if (tile == NULL)
    custos_window_add_toast (self, adw_toast_new (_ ("The grid shows at most four cameras; "
                                                     "close one first")));
  else
    show_page (self, "grid");
  return tile;
}

void
custos_window_open_camera (CustosWindow *self, CustosArchiverEntry *entry, CustosCameraItem *camera,
                           gboolean add_to_grid)
{
  CustosPlayer *tile;

  g_return_if_fail (CUSTOS_IS_WINDOW (self));

  if (add_to_grid || self->grid_mode)
    {
      if ((tile = add_grid_tile (self)) != NULL)
        open_in (self, tile, entry, camera);
      return;
    }
  set_current (self, entry, custos_camera_item_get_id (camera), NULL);
  adw_window_title_set_title (self->window_title, custos_camera_item_get_title (camera));
  adw_window_title_set_subtitle (self->window_title, custos_archiver_entry_get_title (entry));
  open_in (self, self->player, entry, camera);
  show_page (self, "player");
}

/* Opening files */

static void
play_file (CustosWindow *self, GFile *file, gboolean add_to_grid)
{
  g_autofree char *name = g_file_get_basename (file);
  CustosPlayer    *tile;

  if (add_to_grid || self->grid_mode)
    {
      if ((tile = add_grid_tile (self)) != NULL)
        open_file_in (tile, file);
      return;
    }
  set_current (self, NULL, NULL, file);
  adw_window_title_set_title (self->window_title, name);
  adw_window_title_set_subtitle (self->window_title, _ ("Local file"));
  open_file_in (self->player, file);
  show_page (self, "player");
}

static void
file_added (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosWindow) self = user_data;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) error = NULL;

  file = custos_local_files_add_finish (CUSTOS_LOCAL_FILES (object), result, &error);
  if (file == NULL)
    {
      toast_error (self, _ ("Cannot open the file"), error);
      return;
    }
  play_file (self, file, FALSE);
}

void
custos_window_open_file (CustosWindow *self, GFile *file)
{
  g_return_if_fail (CUSTOS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  custos_local_files_add_async (self->local_files, file, self->cancellable, file_added,
                                g_object_ref (self));
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, CustosWindow *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = files; l != NULL; l = l->next)
    custos_window_open_file (self, l->data);
  g_slist_free (files);
  return TRUE;
}

static void
open_chosen (GtkNativeDialog *chooser, int response, CustosWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) file = g_list_model_get_item (files, i);

          custos_window_open_file (self, file);
        }
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);
  g_autoptr (GtkFileFilter) fusion = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (fusion, _ ("Fusion Streams"));
  gtk_file_filter_add_suffix (fusion, "fusion");
  gtk_file_filter_add_mime_type (fusion, "application/x-custos-fusion");
  gtk_file_filter_set_name (all, _ ("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_ ("Open Fusion File"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"), NULL);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), fusion);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
  g_signal_connect (self->chooser, "response", G_CALLBACK (open_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Archivers */

static void
show_archiver (CustosWindow *self, CustosArchiverEntry *entry);

static void
trust_response (AdwMessageDialog *dialog, const char *response, CustosWindow *self)
{
  CustosArchiverEntry *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (response, "trust") != 0)
    return;
  if (custos_archiver_list_pin (self->archivers, custos_archiver_entry_get_url (entry),
                                custos_archiver_entry_get_peer_fingerprint (entry), &error) == NULL)
    toast_error (self, _ ("Cannot trust the archiver"), error);
  else
    custos_window_add_toast (self, adw_toast_new (_ ("Archiver trusted")));
  gtk_stack_set_visible_child_name (self->content_stack, "empty");
}

static void
changed_response (AdwMessageDialog *dialog, const char *response, CustosWindow *self)
{
  CustosArchiverEntry *entry = g_object_get_data (G_OBJECT (dialog), "entry");

  if (g_strcmp0 (response, "remove") != 0)
    return;
  custos_archiver_list_remove (self->archivers, custos_archiver_entry_get_url (entry));
  if (self->shown_entry == entry)
    {
      g_clear_object (&self->shown_entry);
      gtk_stack_set_visible_child_name (self->content_stack, "empty");
    }
}

static void
present_certificate_dialog (CustosWindow *self, CustosArchiverEntry *entry)
{
  CustosArchiverState state = custos_archiver_entry_get_state (entry);
  GtkWidget          *dialog;

  if (state == CUSTOS_ARCHIVER_STATE_UNTRUSTED)
    {
      dialog = custos_trust_dialog_new (GTK_WINDOW (self), entry);
      g_signal_connect (dialog, "response", G_CALLBACK (trust_response), self);
    }
  else if (state == CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED)
    {
      dialog = custos_changed_dialog_new (GTK_WINDOW (self), entry);
      g_signal_connect (dialog, "response", G_CALLBACK (changed_response), self);
    }
  else
    return;
  g_object_set_data_full (G_OBJECT (dialog), "entry", g_object_ref (entry), g_object_unref);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
update_archiver_page (CustosWindow *self)
{
  CustosArchiverEntry *entry = self->shown_entry;
  CustosArchiverState  state;
  g_autofree char     *description = NULL;

  if (entry == NULL)
    return;
  state = custos_archiver_entry_get_state (entry);
  adw_status_page_set_icon_name (self->archiver_page, custos_sidebar_state_icon (state));
  gtk_widget_set_visible (self->archiver_trust_button,
                          state == CUSTOS_ARCHIVER_STATE_UNTRUSTED ||
                              state == CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED);
  if (state == CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED)
    {
      adw_status_page_set_title (self->archiver_page, _ ("The Archiver’s Certificate Changed"));
      description = g_strdup_printf (_ ("%s no longer presents the certificate you trusted. "
                                        "Custos refuses to connect to it."),
                                     custos_archiver_entry_get_url (entry));
    }
  else if (state == CUSTOS_ARCHIVER_STATE_UNTRUSTED)
    {
      adw_status_page_set_title (self->archiver_page, _ ("Certificate Not Trusted Yet"));
      description = g_strdup_printf (_ ("Compare the fingerprint of %s with the one your "
                                        "administrator gave you."),
                                     custos_archiver_entry_get_url (entry));
    }
  else
    {
      const char *message = custos_archiver_entry_get_message (entry);

      adw_status_page_set_title (self->archiver_page, custos_sidebar_state_text (state));
      description = g_strdup_printf ("%s%s%s", custos_archiver_entry_get_url (entry),
                                     message ? "\n" : "", message ? message : "");
    }
  adw_status_page_set_description (self->archiver_page, description);
}

static void
shown_entry_changed (CustosArchiverEntry *entry, GParamSpec *pspec, CustosWindow *self)
{
  if (entry == self->shown_entry)
    update_archiver_page (self);
}

static void
show_archiver (CustosWindow *self, CustosArchiverEntry *entry)
{
  if (self->shown_entry != NULL)
    g_signal_handlers_disconnect_by_func (self->shown_entry, shown_entry_changed, self);
  g_set_object (&self->shown_entry, entry);
  g_signal_connect_object (entry, "notify::state", G_CALLBACK (shown_entry_changed), self, 0);
  update_archiver_page (self);
  adw_window_title_set_title (self->window_title, custos_archiver_entry_get_title (entry));
  adw_window_title_set_subtitle (self->window_title, NULL);
  show_page (self, "archiver");
}

static void
archiver_activated (CustosSidebar *sidebar, CustosArchiverEntry *entry, CustosWindow *self)
{
  custos_archiver_entry_refresh (entry);
  show_archiver (self, entry);
  present_certificate_dialog (self, entry);
}

static void
camera_activated (CustosSidebar *sidebar, CustosArchiverEntry *entry, CustosCameraItem *camera,
                  gboolean add, CustosWindow *self)
{
  if (custos_archiver_entry_get_state (entry) == CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED)
    {
      archiver_activated (sidebar, entry, self);
      return;
    }
  custos_window_open_camera (self, entry, camera, add);
}

static void
file_activated (CustosSidebar *sidebar, GFile *file, gboolean add, CustosWindow *self)
{
  play_file (self, file, add);
}

static void
new_entry_state (CustosArchiverEntry *entry, GParamSpec *pspec, CustosWindow *self)
{
  CustosArchiverState state = custos_archiver_entry_get_state (entry);

  if (state == CUSTOS_ARCHIVER_STATE_CONNECTING)
    return;
  g_signal_handlers_disconnect_by_func (entry, new_entry_state, self);
  g_clear_object (&self->new_entry);
  if (state == CUSTOS_ARCHIVER_STATE_CONNECTED)
    custos_window_add_toast (self, adw_toast_new (_ ("Archiver added")));
  else
    show_archiver (self, entry);
  present_certificate_dialog (self, entry);
}

static void
add_archiver_response (AdwMessageDialog *dialog, const char *response, CustosWindow *self)
{
  CustosAddArchiverDialog *add = CUSTOS_ADD_ARCHIVER_DIALOG (dialog);
  CustosArchiverEntry     *entry;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (response, "add") != 0)
    return;
  entry = custos_archiver_list_add (self->archivers, custos_add_archiver_dialog_get_url (add),
                                    custos_add_archiver_dialog_get_ca_file (add),
                                    custos_add_archiver_dialog_get_identity (add), &error);
  if (entry == NULL)
    {
      toast_error (self, _ ("Cannot add the archiver"), error);
      return;
    }
  if (self->new_entry != NULL)
    g_signal_handlers_disconnect_by_func (self->new_entry, new_entry_state, self);
  g_set_object (&self->new_entry, entry);
  g_signal_connect_object (entry, "notify::state", G_CALLBACK (new_entry_state), self, 0);
  new_entry_state (entry, NULL, self);
}

static void
add_archiver_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);
  GtkWidget    *dialog = custos_add_archiver_dialog_new (GTK_WINDOW (self), self->credentials);

  g_signal_connect (dialog, "response", G_CALLBACK (add_archiver_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
trust_archiver_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);

  if (self->shown_entry != NULL)
    present_certificate_dialog (self, self->shown_entry);
}

static void
remove_archiver_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);

  if (self->shown_entry == NULL)
    return;
  custos_archiver_list_remove (self->archivers, custos_archiver_entry_get_url (self->shown_entry));
  g_clear_object (&self->shown_entry);
  gtk_stack_set_visible_child_name (self->content_stack, "empty");
}

static void
refresh_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);

  custos_archiver_list_refresh (self->archivers);
  custos_credentials_refresh (self->credentials);
}

static void
show_sidebar_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  adw_leaflet_navigate (CUSTOS_WINDOW (widget)->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* Playback */

static gboolean
grid_shown (CustosWindow *self)
{
  return g_strcmp0 (custos_window_get_page (self), "grid") == 0;
}

static CustosPlayer *
selected_player (CustosWindow *self)
{
  if (grid_shown (self))
    return custos_grid_get_selected (self->grid);
  return self->player;
}

static void
play_pause_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);

  if (grid_shown (self))
    {
      if (custos_grid_get_state (self->grid) == CUSTOS_PLAYER_STATE_PLAYING)
        custos_grid_pause (self->grid);
      else
        custos_grid_play (self->grid);
    }
  else if (custos_player_get_state (self->player) == CUSTOS_PLAYER_STATE_PLAYING)
    custos_player_pause (self->player);
  else
    custos_player_play (self->player);
}

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);
  int           frames = g_variant_get_int32 (parameter);

  if (grid_shown (self))
    custos_grid_step (self->grid, frames);
  else
    custos_player_step (self->player, frames);
}

static void
rate_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);
  double        factor = g_variant_get_double (parameter);
  double        rate =
      grid_shown (self) ? custos_grid_get_rate (self->grid) : custos_player_get_rate (self->player);
  g_autofree char *text = NULL;

  /* Factor 0 means back to normal speed. */
  rate = factor == 0 ? 1.0 : CLAMP (rate * factor, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE);
  if (grid_shown (self))
    custos_grid_set_rate (self->grid, rate);
  else
    custos_player_set_rate (self->player, rate);
  text = g_strdup_printf (_ ("Speed %g×"), rate);
  custos_window_add_toast (self, adw_toast_new (text));
}

static void
go_live_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);

  if (grid_shown (self))
    custos_grid_go_live (self->grid);
  else
    custos_player_go_live (self->player);
}

/* F11, f, the bar's button. The chrome follows "fullscreened"
 * (fullscreened_changed), not the request: the window manager may refuse
 * it, or end fullscreen by itself. */
static void
fullscreen_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GtkWindow *window = GTK_WINDOW (widget);

  if (gtk_window_is_fullscreen (window))
    gtk_window_unfullscreen (window);
  else
    gtk_window_fullscreen (window);
}

/* Only the video when fullscreen, whoever made it so (the action, the
 * window manager); the sidebar and header come back with the window. */
static void
fullscreened_changed (CustosWindow *self, GParamSpec *pspec, gpointer user_data)
{
  gboolean full = gtk_window_is_fullscreen (GTK_WINDOW (self));

  gtk_widget_set_visible (self->sidebar_pane, !full);
  gtk_widget_set_visible (self->sidebar_separator, !full);
  gtk_widget_set_visible (self->content_header, !full);
}

/* Snapshots: the frame is taken when asked (a playing tile moves on while
 * the chooser is open), then written where the user chose; the result is
 * a toast either way. */

static void
snapshot_written (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CustosWindow *self = g_task_get_source_object (task);
  GError       *error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    {
      toast_error (self, _ ("Cannot save the snapshot"), error);
      g_task_return_error (task, error);
      return;
    }
  custos_window_add_toast (self, adw_toast_new (_ ("Snapshot saved")));
  g_task_return_boolean (task, TRUE);
}

/* The one place a snapshot is written, for the chooser and for
 * custos_window_save_snapshot_async(). The chooser has asked before
 * replacing an existing file. */
static void
write_snapshot (GTask *task, GBytes *png, GFile *file)
{
  g_file_replace_contents_bytes_async (file, png, NULL, FALSE, G_FILE_CREATE_NONE,
                                       g_task_get_cancellable (task), snapshot_written, task);
}

static void
snapshot_for_file (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr (GBytes) png = NULL;
  GError *error = NULL;

  png = custos_player_snapshot_finish (CUSTOS_PLAYER (object), result, NULL, &error);
  if (png == NULL)
    {
      toast_error (g_task_get_source_object (task), _ ("No snapshot"), error);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  write_snapshot (task, png, g_task_get_task_data (task));
}

void
custos_window_save_snapshot_async (CustosWindow *self, GFile *file, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask        *task;
  CustosPlayer *player;

  g_return_if_fail (CUSTOS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_window_save_snapshot_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  player = selected_player (self);
  if (player == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _ ("There is no frame to save: nothing is shown."));
      g_object_unref (task);
      return;
    }
  custos_player_snapshot_async (player, cancellable, snapshot_for_file, task);
}

gboolean
custos_window_save_snapshot_finish (CustosWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (CUSTOS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
snapshot_destination (GtkNativeDialog *chooser, int response, CustosWindow *self)
{
  GBytes *png = g_object_get_data (G_OBJECT (chooser), "png");
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  /* Reported by toasts: nobody waits for the task. */
  if (file != NULL)
    write_snapshot (g_task_new (self, self->cancellable, NULL, NULL), png, file);
  g_clear_object (&self->chooser);
}

static void
snapshot_taken (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) png = NULL;
  g_autofree char *name = NULL;
  g_autoptr (GDateTime) time = NULL;
  gint64 utc_us = 0;

  png = custos_player_snapshot_finish (CUSTOS_PLAYER (object), result, &utc_us, &error);
  if (png == NULL)
    {
      toast_error (self, _ ("No snapshot"), error);
      return;
    }
  time = g_date_time_new_from_unix_utc (utc_us / G_USEC_PER_SEC);
  name = time ? g_date_time_format (time, "custos-%Y%m%d-%H%M%SZ.png") : g_strdup ("custos.png");
  g_clear_object (&self->chooser);
  /* GTK 4's save chooser asks before replacing an existing file. */
  self->chooser = gtk_file_chooser_native_new (_ ("Save Snapshot"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  g_object_set_data_full (G_OBJECT (self->chooser), "png", g_steal_pointer (&png),
                          (GDestroyNotify) g_bytes_unref);
  g_signal_connect (self->chooser, "response", G_CALLBACK (snapshot_destination), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Ctrl+S, the menu, the bar's button: the selected tile's frame. */
static void
snapshot_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow *self = CUSTOS_WINDOW (widget);
  CustosPlayer *player = selected_player (self);

  if (player != NULL)
    custos_player_snapshot_async (player, self->cancellable, snapshot_taken, g_object_ref (self));
}

/* Export, preferences */

static void
export_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) folder = NULL;

  folder = custos_export_dialog_run_finish (CUSTOS_EXPORT_DIALOG (object), result, &error);
  if (folder != NULL)
    custos_window_add_toast (self, custos_export_dialog_make_toast (folder));
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    toast_error (self, _ ("Export failed"), error);
}

/* What a tile shows, as a source of the export; FALSE when it shows nothing. */
static gboolean
add_tile_source (CustosExportDialog *dialog, CustosPlayer *tile)
{
  CustosArchiverEntry *entry = g_object_get_data (G_OBJECT (tile), "custos-entry");
  const char          *camera_id = g_object_get_data (G_OBJECT (tile), "custos-camera");
  GFile               *file = g_object_get_data (G_OBJECT (tile), "custos-file");
  CustosCameraItem    *item;
  g_autofree char     *name = NULL;

  if (custos_player_get_state (tile) == CUSTOS_PLAYER_STATE_EMPTY)
    return FALSE;
  if (entry != NULL && camera_id != NULL)
    {
      item = custos_archiver_entry_find_camera (entry, camera_id);
      custos_export_dialog_add_archiver_camera (
          dialog, item ? custos_camera_item_get_title (item) : camera_id,
          custos_archiver_entry_get_client (entry), camera_id);
      return TRUE;
    }
  if (file == NULL)
    return FALSE;
  name = g_file_get_basename (file);
  custos_export_dialog_add_source (dialog, name, file);
  return TRUE;
}

/* A minute around the position shown (the last minute when live), within
 * what is recorded: an archiver camera's export needs a bounded range. */
static gboolean
default_range (CustosPlayer *tile, gint64 position, gint64 *from_us, gint64 *to_us)
{
  const gint64               half = 30 * G_USEC_PER_SEC;
  CustosTimelineModel       *model = custos_player_get_timeline_model (tile);
  guint                      n = 0;
  const CustosTimelineRange *recorded = custos_timeline_model_get_recorded (model, &n);
  gint64                     start, end;

  /* What the archiver says it has, rather than frames only seen live. */
  if (n > 0)
    {
      start = recorded[0].start_us;
      end = recorded[n - 1].end_us;
    }
  else if (!custos_timeline_model_get_bounds (model, &start, &end))
    {
      if (position == G_MININT64)
        return FALSE;
      start = position - 2 * half;
      end = position;
    }
  if (position == G_MININT64 || position > end)
    position = end;
  *from_us = MAX (start, position - half);
  *to_us = MIN (end, position + half);
  return *to_us > *from_us;
}

/* The camera(s) or file(s) shown: the single tile, or every tile of the
 * grid; else every local file. */
static guint
add_sources (CustosWindow *self, CustosExportDialog *dialog)
{
  GListModel *files = G_LIST_MODEL (self->local_files);
  guint       n = 0;

  if (grid_shown (self))
    for (guint i = 0; i < custos_grid_get_n_tiles (self->grid); i++)
      n += add_tile_source (dialog, custos_grid_get_tile (self->grid, i));
  else if (g_strcmp0 (custos_window_get_page (self), "player") == 0)
    n += add_tile_source (dialog, self->player);
  if (n > 0)
    return n;
  for (guint i = 0; i < g_list_model_get_n_items (files); i++, n++)
    {
      g_autoptr (GFile) file = g_list_model_get_item (files, i);
      g_autofree char *name = g_file_get_basename (file);

      custos_export_dialog_add_source (dialog, name, file);
    }
  return n;
}

static void
export_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow       *self = CUSTOS_WINDOW (widget);
  CustosPlayer       *tile = selected_player (self);
  CustosExportDialog *dialog;
  gint64              from_us, to_us, position;

  dialog = custos_export_dialog_new (GTK_WINDOW (self), self->credentials, self->settings);
  if (add_sources (self, dialog) == 0)
    {
      gtk_window_destroy (GTK_WINDOW (dialog));
      custos_window_add_toast (self, adw_toast_new (_ ("Nothing to export: open a camera or a "
                                                       ".fusion file first")));
      return;
    }
  if (tile != NULL)
    {
      position = grid_shown (self) ? custos_grid_get_position_utc (self->grid)
                                   : custos_player_get_position_utc (tile);
      if (default_range (tile, position, &from_us, &to_us))
        custos_export_dialog_set_range (dialog, from_us, to_us);
    }
  custos_export_dialog_run_async (dialog, NULL, export_done, g_object_ref (self));
}

static void
preferences_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CustosWindow   *self = CUSTOS_WINDOW (widget);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GtkWidget      *prefs = custos_preferences_window_new (CUSTOS_APPLICATION (app));

  gtk_window_set_transient_for (GTK_WINDOW (prefs), GTK_WINDOW (self));
  gtk_window_present (GTK_WINDOW (prefs));
}

/* Grid and original */

static void
remove_tiles (CustosWindow *self)
{
  while (custos_grid_get_n_tiles (self->grid) > 0)
    {
      /* Held while the grid lets go of it (it still looks at it). */
      g_autoptr (CustosPlayer) tile = g_object_ref (custos_grid_get_tile (self->grid, 0));

      custos_grid_remove_tile (self->grid, tile);
    }
}

static void
set_grid_mode (CustosWindow *self, gboolean grid_mode)
{
  if (self->grid_mode == grid_mode)
    return;
  self->grid_mode = grid_mode;
  if (grid_mode)
    {
      /* The camera or file shown becomes the grid's first tile. */
      CustosPlayer *tile =
          custos_grid_get_n_tiles (self->grid) == 0 && (self->current_camera || self->current_file)
              ? custos_grid_add_tile (self->grid)
              : NULL;
      CustosCameraItem *item =
          self->current_entry && self->current_camera
              ? custos_archiver_entry_find_camera (self->current_entry, self->current_camera)
              : NULL;

      if (tile != NULL && item != NULL)
        open_in (self, tile, self->current_entry, item);
      else if (tile != NULL && self->current_file != NULL)
        open_file_in (tile, self->current_file);
      custos_player_pause (self->player);
      show_page (self, "grid");
    }
  else
    {
      remove_tiles (self);
      gtk_stack_set_visible_child_name (
          self->content_stack,
          custos_player_get_state (self->player) == CUSTOS_PLAYER_STATE_EMPTY ? "empty" : "player");
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GRID_MODE]);
}

static void
set_original (CustosWindow *self, gboolean original)
{
  CustosCameraItem *item;

  if (self->original == original)
    return;
  self->original = original;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ORIGINAL]);
  if (self->current_entry == NULL || self->current_camera == NULL || self->grid_mode)
    return;
  item = custos_archiver_entry_find_camera (self->current_entry, self->current_camera);
  /* An entry just replaced (a new identity) may not list its cameras yet. */
  if (item == NULL && g_strcmp0 (g_object_get_data (G_OBJECT (self->player), "custos-camera"),
                                 self->current_camera) == 0)
    item = g_object_get_data (G_OBJECT (self->player), "custos-item");
  if (item != NULL)
    open_in (self, self->player, self->current_entry, item);
}

/* Window */

static gboolean
custos_window_close_request (GtkWindow *window)
{
  CustosWindow *self = CUSTOS_WINDOW (window);
  int           width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  custos_player_close (self->player);
  remove_tiles (self);

  return GTK_WINDOW_CLASS (custos_window_parent_class)->close_request (window);
}

/* The credentials wiped the keys the card unwrapped: nothing they
 * decrypted may stay on screen, in the single tile or in the grid. */
static void
card_removed (CustosCredentials *credentials, CustosCard *card, CustosWindow *self)
{
  g_autofree char *text = NULL;

  custos_player_keys_wiped (self->player);
  for (guint i = 0; i < custos_grid_get_n_tiles (self->grid); i++)
    custos_player_keys_wiped (custos_grid_get_tile (self->grid, i));
  text = g_strdup_printf (_ ("The card “%s” was removed: its video is locked"),
                          custos_card_get_label (card));
  custos_window_add_toast (self, adw_toast_new (text));
}

/* A card came (back): tiles locked for want of it open again where they were. */
static void
card_added (CustosCredentials *credentials, CustosCard *card, CustosWindow *self)
{
  CustosKeyProvider *provider = custos_credentials_get_key_provider (credentials);
  GTlsInteraction   *interaction = custos_credentials_get_interaction (credentials);

  custos_player_set_key_provider (self->player, provider, interaction);
  custos_grid_set_key_provider (self->grid, provider, interaction);
}

/* A certificate that no longer matches its pin is said at once, with
 * both fingerprints, not only when the user clicks the archiver. */
static void
watched_entry_state (CustosArchiverEntry *entry, GParamSpec *pspec, CustosWindow *self)
{
  if (custos_archiver_entry_get_state (entry) != CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED ||
      g_object_get_data (G_OBJECT (entry), "custos-changed-shown") != NULL)
    return;
  g_object_set_data (G_OBJECT (entry), "custos-changed-shown", GINT_TO_POINTER (TRUE));
  show_archiver (self, entry);
  present_certificate_dialog (self, entry);
}

/* The empty page says what to do next: add an archiver while the
 * sidebar has nothing, otherwise choose from it. */
static void
update_empty_page (CustosWindow *self)
{
  gboolean listed = g_list_model_get_n_items (G_LIST_MODEL (self->archivers)) > 0 ||
                    g_list_model_get_n_items (G_LIST_MODEL (self->local_files)) > 0;

  adw_status_page_set_description (
      self->empty_page, listed ? _ ("Choose a camera or a recording in the sidebar, or open a .fusion file")
                               : _ ("Add an archiver or open a .fusion file"));
  gtk_widget_set_visible (self->empty_add_button, !listed);
}

static void
watch_local_files (CustosWindow *self)
{
  update_empty_page (self);
}

static void
watch_archivers (GListModel *archivers, guint position, guint removed, guint added,
                 CustosWindow *self)
{
  update_empty_page (self);
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr (CustosArchiverEntry) entry = g_list_model_get_item (archivers, i);

      if (g_object_get_data (G_OBJECT (entry), "custos-watched") != NULL)
        continue;
      g_object_set_data (G_OBJECT (entry), "custos-watched", GINT_TO_POINTER (TRUE));
      g_signal_connect_object (entry, "notify::state", G_CALLBACK (watched_entry_state), self, 0);
      watched_entry_state (entry, NULL, self);
    }
}

/* The application's models; "application" is not set yet in constructed. */
static void
setup_models (CustosWindow *self, CustosApplication *app)
{
  CustosKeyProvider *provider;
  GTlsInteraction   *interaction;

  self->settings = g_object_ref (custos_application_get_settings (app));
  self->credentials = g_object_ref (custos_application_get_credentials (app));
  self->archivers = g_object_ref (custos_application_get_archivers (app));
  self->local_files = g_object_ref (custos_application_get_local_files (app));
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  provider = custos_credentials_get_key_provider (self->credentials);
  interaction = custos_credentials_get_interaction (self->credentials);
  custos_player_set_key_provider (self->player, provider, interaction);
  custos_grid_set_key_provider (self->grid, provider, interaction);
  custos_sidebar_set_models (self->sidebar, self->archivers, self->local_files);
  g_signal_connect_object (self->credentials, "card-removed", G_CALLBACK (card_removed), self, 0);
  g_signal_connect_object (self->credentials, "card-added", G_CALLBACK (card_added), self, 0);
  g_signal_connect_object (self->archivers, "items-changed", G_CALLBACK (watch_archivers), self, 0);
  g_signal_connect_object (self->local_files, "items-changed", G_CALLBACK (watch_local_files), self,
                           G_CONNECT_SWAPPED);
  watch_archivers (G_LIST_MODEL (self->archivers), 0, 0,
                   g_list_model_get_n_items (G_LIST_MODEL (self->archivers)), self);
}

static void
custos_window_dispose (GObject *object)
{
  CustosWindow *self = CUSTOS_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->chooser);
  g_clear_object (&self->current_entry);
  g_clear_object (&self->current_file);
  g_clear_object (&self->shown_entry);
  g_clear_object (&self->new_entry);
  g_clear_pointer (&self->current_camera, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_WINDOW);

  G_OBJECT_CLASS (custos_window_parent_class)->dispose (object);
}

static void
custos_window_finalize (GObject *object)
{
  CustosWindow *self = CUSTOS_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->credentials);
  g_clear_object (&self->archivers);
  g_clear_object (&self->local_files);

  G_OBJECT_CLASS (custos_window_parent_class)->finalize (object);
}

static void
custos_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosWindow *self = CUSTOS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_GRID_MODE:
      g_value_set_boolean (value, self->grid_mode);
      break;
    case PROP_ORIGINAL:
      g_value_set_boolean (value, self->original);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CustosWindow *self = CUSTOS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_GRID_MODE:
      set_grid_mode (self, g_value_get_boolean (value));
      break;
    case PROP_ORIGINAL:
      set_original (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.add-archiver", NULL, add_archiver_action);
  gtk_widget_class_install_action (widget_class, "win.trust-archiver", NULL, trust_archiver_action);
  gtk_widget_class_install_action (widget_class, "win.remove-archiver", NULL,
                                   remove_archiver_action);
  gtk_widget_class_install_action (widget_class, "win.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.preferences", NULL, preferences_action);
  gtk_widget_class_install_action (widget_class, "win.play-pause", NULL, play_pause_action);
  gtk_widget_class_install_action (widget_class, "win.step", "i", step_action);
  gtk_widget_class_install_action (widget_class, "win.rate", "d", rate_action);
  gtk_widget_class_install_action (widget_class, "win.go-live", NULL, go_live_action);
  gtk_widget_class_install_action (widget_class, "win.fullscreen", NULL, fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.snapshot", NULL, snapshot_action);
  gtk_widget_class_install_property_action (widget_class, "win.grid", "grid-mode");
  gtk_widget_class_install_property_action (widget_class, "win.original", "original");
}

/* Every binding here is listed in ui/gtk/help-overlay.ui. */
static void
add_bindings (GtkWidgetClass *widget_class)
{
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.add-archiver", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, GDK_CONTROL_MASK,
                                       "win.preferences", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.refresh", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "win.play-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, 0, "win.step", "i", 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, 0, "win.step", "i", -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "win.step", "i",
                                       1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.step", "i",
                                       -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketright, 0, "win.rate", "d", 2.0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketleft, 0, "win.rate", "d", 0.5);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "win.rate", "d", 0.0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, 0, "win.go-live", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.fullscreen", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, 0, "win.fullscreen", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.snapshot",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_g, GDK_CONTROL_MASK, "win.grid", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK, "win.original",
                                       NULL);
}

static void
custos_window_class_init (CustosWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = custos_window_dispose;
  object_class->finalize = custos_window_finalize;
  object_class->get_property = custos_window_get_property;
  object_class->set_property = custos_window_set_property;
  window_class->close_request = custos_window_close_request;

  properties[PROP_GRID_MODE] =
      g_param_spec_boolean ("grid-mode", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ORIGINAL] =
      g_param_spec_boolean ("original", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CUSTOS_TYPE_SIDEBAR);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/custos/Custos/custos-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, sidebar_pane);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, sidebar_separator);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, content_pane);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, content_header);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, empty_add_button);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, archiver_page);
  gtk_widget_class_bind_template_child (widget_class, CustosWindow, archiver_trust_button);
  install_actions (widget_class);
  add_bindings (widget_class);
}

/* Space plays and pauses wherever the focus is (a sidebar row would
 * otherwise activate, reopening the camera), except where it types. */
static gboolean
key_pressed_capture (GtkEventControllerKey *controller, guint keyval, guint keycode,
                     GdkModifierType state, CustosWindow *self)
{
  GtkWidget *focus;

  if (keyval != GDK_KEY_space || (state & gtk_accelerator_get_default_mod_mask ()) != 0)
    return FALSE;
  focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus != NULL && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT_VIEW (focus)))
    return FALSE;
  return gtk_widget_activate_action (GTK_WIDGET (self), "win.play-pause", NULL);
}

static void
custos_window_init (CustosWindow *self)
{
  GtkDropTarget      *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  GtkEventController *keys = gtk_event_controller_key_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->player = custos_player_new ();
  self->grid = custos_grid_new ();
  gtk_stack_add_named (self->content_stack, GTK_WIDGET (self->player), "player");
  gtk_stack_add_named (self->content_stack, GTK_WIDGET (self->grid), "grid");
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  /* Before the focused widget's own bindings see the key. */
  gtk_event_controller_set_name (keys, "custos-space");
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_capture), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  g_signal_connect (self->sidebar, "camera-activated", G_CALLBACK (camera_activated), self);
  g_signal_connect (self->sidebar, "file-activated", G_CALLBACK (file_activated), self);
  g_signal_connect (self->sidebar, "archiver-activated", G_CALLBACK (archiver_activated), self);
  g_signal_connect (self, "notify::fullscreened", G_CALLBACK (fullscreened_changed), NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.original", FALSE);
}
