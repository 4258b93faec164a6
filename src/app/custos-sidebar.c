/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-sidebar"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-sidebar.h"

struct _CustosSidebar
{
  GtkWidget parent_instance;

  GtkWidget     *scroller;
  GtkBox        *sections;
  GtkWidget     *files_section;
  GtkListBox    *files_box;
  GtkWidget     *empty_label;
  GtkWidget     *menu; /* the row context menu */
  GtkListBoxRow *menu_row;

  CustosArchiverList *archivers;
  CustosLocalFiles   *files;
  gboolean            add_pressed; /* Ctrl was held on the last click */
};

G_DEFINE_FINAL_TYPE (CustosSidebar, custos_sidebar, GTK_TYPE_WIDGET)

enum
{
  CAMERA_ACTIVATED,
  FILE_ACTIVATED,
  ARCHIVER_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

CustosSidebar *
custos_sidebar_new (void)
{
  return g_object_new (CUSTOS_TYPE_SIDEBAR, NULL);
}

const char *
custos_sidebar_state_icon (CustosArchiverState state)
{
  switch (state)
    {
    case CUSTOS_ARCHIVER_STATE_CONNECTING:
      return "content-loading-symbolic";
    case CUSTOS_ARCHIVER_STATE_CONNECTED:
      return "network-server-symbolic";
    case CUSTOS_ARCHIVER_STATE_UNTRUSTED:
      return "dialog-question-symbolic";
    case CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED:
      return "dialog-warning-symbolic";
    case CUSTOS_ARCHIVER_STATE_REFUSED:
      return "action-unavailable-symbolic";
    case CUSTOS_ARCHIVER_STATE_OFFLINE:
    default:
      return "network-offline-symbolic";
    }
}

const char *
custos_sidebar_state_text (CustosArchiverState state)
{
  switch (state)
    {
    case CUSTOS_ARCHIVER_STATE_CONNECTING:
      return _("Connecting…");
    case CUSTOS_ARCHIVER_STATE_CONNECTED:
      return _("Connected");
    case CUSTOS_ARCHIVER_STATE_UNTRUSTED:
      return _("Certificate not trusted yet");
    case CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED:
      return _("Certificate changed — refused");
    case CUSTOS_ARCHIVER_STATE_REFUSED:
      return _("Refused");
    case CUSTOS_ARCHIVER_STATE_OFFLINE:
    default:
      return _("Offline");
    }
}

/* Camera rows */

static GtkWidget *
status_icon (CustosCameraItem *item,
             const char       *property,
             const char       *icon_name,
             const char       *css_class)
{
  GtkWidget *icon = gtk_image_new_from_icon_name (icon_name);

  if (css_class != NULL)
    gtk_widget_add_css_class (icon, css_class);
  /* The row's label says it all for screen readers. */
  gtk_accessible_update_state (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
  g_object_bind_property (item, property, icon, "visible", G_BINDING_SYNC_CREATE);
  return icon;
}

static void
update_camera_row (CustosCameraItem *item, GParamSpec *pspec, GtkWidget *row)
{
  g_autofree char *text = custos_camera_item_dup_status_text (item);

  gtk_widget_set_tooltip_text (row, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  if (custos_camera_item_get_offline (item))
    gtk_widget_add_css_class (row, "dim-label");
  else
    gtk_widget_remove_css_class (row, "dim-label");
}

static GtkWidget *
create_camera_row (gpointer item, gpointer user_data)
{
  CustosCameraItem *camera = item;
  GtkWidget        *row = gtk_list_box_row_new ();
  GtkWidget        *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget        *title = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (title, TRUE);
  g_object_bind_property (camera, "title", title, "label", G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name ("camera-web-symbolic"));
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), status_icon (camera, "privacy", "view-conceal-symbolic", NULL));
  gtk_box_append (GTK_BOX (box),
                  status_icon (camera, "encrypted", "channel-secure-symbolic", NULL));
  gtk_box_append (GTK_BOX (box),
                  status_icon (camera, "recording", "media-record-symbolic", "error"));
  gtk_box_append (GTK_BOX (box), status_icon (camera, "offline", "network-offline-symbolic", NULL));
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "item", g_object_ref (camera), g_object_unref);
  g_signal_connect_object (camera, "notify", G_CALLBACK (update_camera_row), row, 0);
  update_camera_row (camera, NULL, row);
  return row;
}

static GtkWidget *
create_file_row (gpointer item, gpointer user_data)
{
  GFile           *file = item;
  GtkWidget       *row = gtk_list_box_row_new ();
  GtkWidget       *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *path = g_file_get_parse_name (file);
  GtkWidget       *title = gtk_label_new (name);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_hexpand (title, TRUE);
  gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name ("video-x-generic-symbolic"));
  gtk_box_append (GTK_BOX (box), title);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, path);
  g_object_set_data_full (G_OBJECT (row), "item", g_object_ref (file), g_object_unref);
  return row;
}

/* Activation */

static void
emit_for_row (CustosSidebar *self, GtkListBoxRow *row, gboolean add)
{
  gpointer             item = g_object_get_data (G_OBJECT (row), "item");
  GtkWidget           *box = gtk_widget_get_parent (GTK_WIDGET (row));
  CustosArchiverEntry *entry = g_object_get_data (G_OBJECT (box), "entry");

  if (G_IS_FILE (item))
    g_signal_emit (self, signals[FILE_ACTIVATED], 0, item, add);
  else if (CUSTOS_IS_CAMERA_ITEM (item) && entry != NULL)
    g_signal_emit (self, signals[CAMERA_ACTIVATED], 0, entry, item, add);
}

static void
row_activated (GtkListBox *box, GtkListBoxRow *row, CustosSidebar *self)
{
  gboolean add = self->add_pressed;

  self->add_pressed = FALSE;
  emit_for_row (self, row, add);
}

static void
add_to_grid_clicked (GtkButton *button, CustosSidebar *self)
{
  gtk_popover_popdown (GTK_POPOVER (self->menu));
  if (self->menu_row != NULL)
    emit_for_row (self, self->menu_row, TRUE);
}

static void
pressed (GtkGestureClick *gesture, int n_press, double x, double y, CustosSidebar *self)
{
  GtkWidget      *box = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  GdkModifierType state =
      gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  GtkListBoxRow   *row = gtk_list_box_get_row_at_y (GTK_LIST_BOX (box), (int) y);
  graphene_point_t point;

  self->add_pressed = (state & GDK_CONTROL_MASK) != 0;
  if (gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture)) !=
          GDK_BUTTON_SECONDARY ||
      row == NULL)
    return;
  self->menu_row = row;
  if (!gtk_widget_compute_point (box, GTK_WIDGET (self), &GRAPHENE_POINT_INIT (x, y), &point))
    return;
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu),
                               &(GdkRectangle){ (int) point.x, (int) point.y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu));
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static GtkWidget *
new_list_box (CustosSidebar *self)
{
  GtkWidget  *box = gtk_list_box_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_widget_add_css_class (box, "navigation-sidebar");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (box), GTK_SELECTION_SINGLE);
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed), self);
  gtk_widget_add_controller (box, GTK_EVENT_CONTROLLER (click));
  g_signal_connect (box, "row-activated", G_CALLBACK (row_activated), self);
  return box;
}

/* Sections */

static void
update_header (CustosArchiverEntry *entry, GParamSpec *pspec, GtkWidget *header)
{
  CustosArchiverState state = custos_archiver_entry_get_state (entry);
  GtkImage           *icon = g_object_get_data (G_OBJECT (header), "icon");
  GtkLabel           *subtitle = g_object_get_data (G_OBJECT (header), "subtitle");
  const char         *message = custos_archiver_entry_get_message (entry);
  g_autofree char    *label = NULL;

  gtk_image_set_from_icon_name (icon, custos_sidebar_state_icon (state));
  gtk_label_set_label (subtitle, custos_sidebar_state_text (state));
  label = g_strdup_printf ("%s, %s", custos_archiver_entry_get_title (entry),
                           custos_sidebar_state_text (state));
  gtk_accessible_update_property (GTK_ACCESSIBLE (header), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  gtk_widget_set_tooltip_text (header, message ? message : custos_archiver_entry_get_url (entry));
  if (state == CUSTOS_ARCHIVER_STATE_CERTIFICATE_CHANGED)
    gtk_widget_add_css_class (header, "error");
  else
    gtk_widget_remove_css_class (header, "error");
}

static void
header_clicked (GtkButton *button, CustosSidebar *self)
{
  CustosArchiverEntry *entry = g_object_get_data (G_OBJECT (button), "entry");

  g_signal_emit (self, signals[ARCHIVER_ACTIVATED], 0, entry);
}

static GtkWidget *
archiver_header (CustosSidebar *self, CustosArchiverEntry *entry)
{
  GtkWidget *button = gtk_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *title = gtk_label_new (custos_archiver_entry_get_title (entry));
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (title, "heading");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (labels), title);
  gtk_box_append (GTK_BOX (labels), subtitle);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_button_set_child (GTK_BUTTON (button), box);
  gtk_widget_set_margin_top (button, 6);
  g_object_set_data (G_OBJECT (button), "icon", icon);
  g_object_set_data (G_OBJECT (button), "subtitle", subtitle);
  g_object_set_data_full (G_OBJECT (button), "entry", g_object_ref (entry), g_object_unref);
  g_signal_connect (button, "clicked", G_CALLBACK (header_clicked), self);
  g_signal_connect_object (entry, "notify", G_CALLBACK (update_header), button, 0);
  update_header (entry, NULL, button);
  return button;
}

static GtkWidget *
archiver_section (CustosSidebar *self, CustosArchiverEntry *entry)
{
  GtkWidget *section = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *list = new_list_box (self);

  g_object_set_data_full (G_OBJECT (list), "entry", g_object_ref (entry), g_object_unref);
  gtk_list_box_bind_model (GTK_LIST_BOX (list), custos_archiver_entry_get_cameras (entry),
                           create_camera_row, NULL, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  custos_archiver_entry_get_title (entry), -1);
  gtk_box_append (GTK_BOX (section), archiver_header (self, entry));
  gtk_box_append (GTK_BOX (section), list);
  return section;
}

static void
rebuild_sections (CustosSidebar *self)
{
  GtkWidget *child;
  guint      n = self->archivers ? g_list_model_get_n_items (G_LIST_MODEL (self->archivers)) : 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->sections))) != self->empty_label)
    gtk_box_remove (self->sections, child);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CustosArchiverEntry) entry =
          g_list_model_get_item (G_LIST_MODEL (self->archivers), i);

      gtk_box_insert_child_after (self->sections, archiver_section (self, entry),
                                  gtk_widget_get_prev_sibling (self->empty_label));
    }
  gtk_widget_set_visible (self->empty_label, n == 0);
}

static void
archivers_changed (GListModel    *model,
                   guint          position,
                   guint          removed,
                   guint          added,
                   CustosSidebar *self)
{
  rebuild_sections (self);
}

static void
files_changed (GListModel *model, guint position, guint removed, guint added, CustosSidebar *self)
{
  gtk_widget_set_visible (self->files_section, g_list_model_get_n_items (model) > 0);
}

void
custos_sidebar_set_models (CustosSidebar      *self,
                           CustosArchiverList *archivers,
                           CustosLocalFiles   *files)
{
  g_return_if_fail (CUSTOS_IS_SIDEBAR (self));

  g_set_object (&self->archivers, archivers);
  g_set_object (&self->files, files);
  g_signal_connect_object (archivers, "items-changed", G_CALLBACK (archivers_changed), self, 0);
  g_signal_connect_object (files, "items-changed", G_CALLBACK (files_changed), self, 0);
  gtk_list_box_bind_model (self->files_box, G_LIST_MODEL (files), create_file_row, NULL, NULL);
  files_changed (G_LIST_MODEL (files), 0, 0, 0, self);
  rebuild_sections (self);
}

/* GObject */

static void
build_files_section (CustosSidebar *self)
{
  GtkWidget *title = gtk_label_new (_("Local Files"));

  self->files_section = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_set_margin_start (title, 12);
  gtk_widget_set_margin_top (title, 12);
  gtk_widget_set_margin_bottom (title, 6);
  self->files_box = GTK_LIST_BOX (new_list_box (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->files_box), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Local Files"), -1);
  gtk_box_append (GTK_BOX (self->files_section), title);
  gtk_box_append (GTK_BOX (self->files_section), GTK_WIDGET (self->files_box));
  gtk_widget_set_visible (self->files_section, FALSE);
}

static void
build_menu (CustosSidebar *self)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Add to Grid"));

  gtk_widget_add_css_class (button, "flat");
  g_signal_connect (button, "clicked", G_CALLBACK (add_to_grid_clicked), self);
  self->menu = gtk_popover_new ();
  gtk_popover_set_child (GTK_POPOVER (self->menu), button);
  gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
  gtk_widget_set_parent (self->menu, GTK_WIDGET (self));
}

static void
custos_sidebar_dispose (GObject *object)
{
  CustosSidebar *self = CUSTOS_SIDEBAR (object);

  g_clear_pointer (&self->scroller, gtk_widget_unparent);
  g_clear_pointer (&self->menu, gtk_widget_unparent);
  g_clear_object (&self->archivers);
  g_clear_object (&self->files);

  G_OBJECT_CLASS (custos_sidebar_parent_class)->dispose (object);
}

static void
custos_sidebar_class_init (CustosSidebarClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = custos_sidebar_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "custos-sidebar");

  signals[CAMERA_ACTIVATED] = g_signal_new (
      "camera-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 3, CUSTOS_TYPE_ARCHIVER_ENTRY, CUSTOS_TYPE_CAMERA_ITEM, G_TYPE_BOOLEAN);
  signals[FILE_ACTIVATED] =
      g_signal_new ("file-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 2, G_TYPE_FILE, G_TYPE_BOOLEAN);
  signals[ARCHIVER_ACTIVATED] =
      g_signal_new ("archiver-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 1, CUSTOS_TYPE_ARCHIVER_ENTRY);
}

static void
custos_sidebar_init (CustosSidebar *self)
{
  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
  self->sections = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), GTK_WIDGET (self->sections));
  self->empty_label = gtk_label_new (_("No archivers yet: add one with the + button"));
  gtk_label_set_wrap (GTK_LABEL (self->empty_label), TRUE);
  gtk_widget_add_css_class (self->empty_label, "dim-label");
  gtk_widget_set_margin_top (self->empty_label, 18);
  gtk_widget_set_margin_start (self->empty_label, 12);
  gtk_widget_set_margin_end (self->empty_label, 12);
  build_files_section (self);
  gtk_box_append (self->sections, self->empty_label);
  gtk_box_append (self->sections, self->files_section);
  build_menu (self);
}
