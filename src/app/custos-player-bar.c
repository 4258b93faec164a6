/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-player-bar"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-player-bar.h"
#include "custos-player.h"
#include "custos-time.h"

struct _CustosPlayerBar
{
  GtkWidget parent_instance;

  GtkButton      *play_button;
  GtkMenuButton  *rate_button;
  GtkMenuButton  *time_button;
  GtkLabel       *time_label;
  GtkButton      *live_button;
  GtkPopover     *jump_popover;
  GtkEntry       *jump_entry;
  GtkCheckButton *jump_utc;
  GtkLabel       *jump_message;

  GtkWidget        *target;
  GBinding         *bindings[4];
  CustosPlayerState state;
  double            rate;
  gint64            position_utc;
  gboolean          live;
  gboolean          utc;
};

enum
{
  PROP_0,
  PROP_TARGET,
  PROP_UTC,
  PROP_STATE,
  PROP_RATE,
  PROP_POSITION_UTC,
  PROP_LIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CustosPlayerBar, custos_player_bar, GTK_TYPE_WIDGET)

/* The rates the speed menu offers. */
static const struct
{
  double      rate;
  const char *label;
} rates[] = {
  { 0.125, "⅛×" }, { 0.25, "¼×" }, { 0.5, "½×" }, { 1, "1×" },
  { 2, "2×" },     { 4, "4×" },    { 8, "8×" },   { 16, "16×" },
};

static void
update_play_button (CustosPlayerBar *self)
{
  gboolean playing = self->state == CUSTOS_PLAYER_STATE_PLAYING;

  gtk_button_set_icon_name (self->play_button, playing ? "media-playback-pause-symbolic"
                                                       : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->play_button), playing ? _ ("Pause") : _ ("Play"));
}

static void
update_rate (CustosPlayerBar *self)
{
  const char      *label = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    if (G_APPROX_VALUE (rates[i].rate, self->rate, 1e-6))
      label = rates[i].label;
  if (label == NULL)
    label = text = g_strdup_printf ("%g×", self->rate);
  gtk_menu_button_set_label (self->rate_button, label);
}

static void
update_time (CustosPlayerBar *self)
{
  g_autoptr (GTimeZone) tz = custos_time_zone (self->utc);
  g_autofree char *text = NULL;

  if (self->position_utc == G_MININT64)
    text = g_strdup ("--:--:--");
  else
    text = custos_time_format (self->position_utc, tz);
  gtk_label_set_text (self->time_label, text);
  if (self->live)
    gtk_widget_add_css_class (GTK_WIDGET (self->live_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->live_button), "suggested-action");
}

/* The speed menu */

static void
on_rate_clicked (GtkButton *button, CustosPlayerBar *self)
{
  double rate = *(double *) g_object_get_data (G_OBJECT (button), "rate");

  gtk_menu_button_popdown (self->rate_button);
  if (self->target != NULL)
    gtk_widget_activate_action (self->target, "player.rate", "d", rate);
}

static void
build_rate_menu (CustosPlayerBar *self)
{
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    {
      GtkWidget *button = gtk_button_new_with_label (rates[i].label);

      gtk_widget_add_css_class (button, "flat");
      g_object_set_data (G_OBJECT (button), "rate", (gpointer) &rates[i].rate);
      g_signal_connect (button, "clicked", G_CALLBACK (on_rate_clicked), self);
      gtk_box_append (GTK_BOX (box), button);
    }
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->rate_button, popover);
}

/* The jump-to-date popover */

static void
fill_jump_entry (CustosPlayerBar *self)
{
  g_autoptr (GTimeZone) tz = NULL;
  g_autofree char *text = NULL;
  gboolean         utc = gtk_check_button_get_active (self->jump_utc);

  tz = custos_time_zone (utc);
  if (self->position_utc != G_MININT64)
    text = custos_time_format_short (self->position_utc, tz, TRUE, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->jump_entry), text ? text : "");
  gtk_label_set_text (self->jump_message, "");
}

static void
on_jump_utc_toggled (CustosPlayerBar *self)
{
  fill_jump_entry (self);
}

static void
on_jump_show (CustosPlayerBar *self)
{
  gtk_check_button_set_active (self->jump_utc, self->utc);
  fill_jump_entry (self);
}

static void
on_jump_activate (CustosPlayerBar *self)
{
  g_autoptr (GTimeZone) tz = custos_time_zone (gtk_check_button_get_active (self->jump_utc));
  g_autoptr (GError) error = NULL;
  gboolean ambiguous = FALSE;
  gint64   utc_us;

  if (!custos_time_parse (gtk_editable_get_text (GTK_EDITABLE (self->jump_entry)), tz, &utc_us,
                          &ambiguous, &error))
    {
      gtk_label_set_text (self->jump_message, error->message);
      return;
    }
  if (self->target != NULL)
    gtk_widget_activate_action (self->target, "player.seek-utc", "x", utc_us);
  if (ambiguous)
    {
      /* Said, not hidden: the clocks went back and the hour came twice. */
      gtk_label_set_text (self->jump_message,
                          _ ("This time happened twice (the clocks went back): showing the first. "
                             "Add an hour in UTC for the second."));
      return;
    }
  gtk_popover_popdown (self->jump_popover);
}

static void
action_jump (GtkWidget *widget, const char *name, GVariant *param)
{
  custos_player_bar_show_jump (CUSTOS_PLAYER_BAR (widget));
}

/* Target */

static void
unbind_target (CustosPlayerBar *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->bindings); i++)
    if (self->bindings[i] != NULL)
      {
        g_binding_unbind (self->bindings[i]);
        self->bindings[i] = NULL;
      }
}

/* GObject */

static void
custos_player_bar_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosPlayerBar *self = CUSTOS_PLAYER_BAR (object);

  switch (prop_id)
    {
    case PROP_TARGET:
      g_value_set_object (value, self->target);
      break;
    case PROP_UTC:
      g_value_set_boolean (value, self->utc);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_POSITION_UTC:
      g_value_set_int64 (value, self->position_utc);
      break;
    case PROP_LIVE:
      g_value_set_boolean (value, self->live);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_player_bar_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  CustosPlayerBar *self = CUSTOS_PLAYER_BAR (object);

  switch (prop_id)
    {
    case PROP_TARGET:
      custos_player_bar_set_target (self, g_value_get_object (value));
      break;
    case PROP_UTC:
      custos_player_bar_set_utc (self, g_value_get_boolean (value));
      break;
    case PROP_STATE:
      self->state = g_value_get_enum (value);
      update_play_button (self);
      break;
    case PROP_RATE:
      self->rate = g_value_get_double (value);
      update_rate (self);
      break;
    case PROP_POSITION_UTC:
      self->position_utc = g_value_get_int64 (value);
      update_time (self);
      break;
    case PROP_LIVE:
      self->live = g_value_get_boolean (value);
      update_time (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_player_bar_dispose (GObject *object)
{
  CustosPlayerBar *self = CUSTOS_PLAYER_BAR (object);

  unbind_target (self);
  self->target = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_PLAYER_BAR);
  /* The template's unnamed top box too. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (custos_player_bar_parent_class)->dispose (object);
}

static void
custos_player_bar_class_init (CustosPlayerBarClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = custos_player_bar_get_property;
  object_class->set_property = custos_player_bar_set_property;
  object_class->dispose = custos_player_bar_dispose;

  /* The target is not referenced: the bar lives inside it. */
  properties[PROP_TARGET] =
      g_param_spec_object ("target", NULL, NULL, GTK_TYPE_WIDGET,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_UTC] =
      g_param_spec_boolean ("utc", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* Mirrors of the target's, through bindings. */
  properties[PROP_STATE] =
      g_param_spec_enum ("state", NULL, NULL, CUSTOS_TYPE_PLAYER_STATE, CUSTOS_PLAYER_STATE_EMPTY,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_RATE] = g_param_spec_double ("rate", NULL, NULL, 0, 64, 1,
                                               G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_POSITION_UTC] =
      g_param_spec_int64 ("position-utc", NULL, NULL, G_MININT64, G_MAXINT64, G_MININT64,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LIVE] =
      g_param_spec_boolean ("live", NULL, NULL, FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/custos/Custos/custos-player-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, play_button);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, rate_button);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, time_button);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, time_label);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, live_button);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, jump_popover);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, jump_entry);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, jump_utc);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayerBar, jump_message);
  gtk_widget_class_bind_template_callback (widget_class, on_jump_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_jump_show);
  gtk_widget_class_bind_template_callback (widget_class, on_jump_utc_toggled);
  gtk_widget_class_install_action (widget_class, "bar.jump", NULL, action_jump);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "custos-player-bar");
}

static void
custos_player_bar_init (CustosPlayerBar *self)
{
  self->rate = 1.0;
  self->position_utc = G_MININT64;
  gtk_widget_init_template (GTK_WIDGET (self));
  build_rate_menu (self);
  update_play_button (self);
  update_rate (self);
  update_time (self);
}

/* API */

GtkWidget *
custos_player_bar_new (void)
{
  return g_object_new (CUSTOS_TYPE_PLAYER_BAR, NULL);
}

GtkWidget *
custos_player_bar_get_target (CustosPlayerBar *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER_BAR (self), NULL);

  return self->target;
}

void
custos_player_bar_set_target (CustosPlayerBar *self, GtkWidget *target)
{
  static const char *names[] = { "state", "rate", "position-utc", "live" };

  g_return_if_fail (CUSTOS_IS_PLAYER_BAR (self));
  g_return_if_fail (target == NULL || GTK_IS_WIDGET (target));

  if (self->target == target)
    return;
  unbind_target (self);
  self->target = target;
  for (guint i = 0; target != NULL && i < G_N_ELEMENTS (names); i++)
    self->bindings[i] =
        g_object_bind_property (target, names[i], self, names[i], G_BINDING_SYNC_CREATE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET]);
}

gboolean
custos_player_bar_get_utc (CustosPlayerBar *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER_BAR (self), FALSE);

  return self->utc;
}

void
custos_player_bar_set_utc (CustosPlayerBar *self, gboolean utc)
{
  g_return_if_fail (CUSTOS_IS_PLAYER_BAR (self));

  utc = !!utc;
  if (self->utc == utc)
    return;
  self->utc = utc;
  update_time (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UTC]);
}

void
custos_player_bar_show_jump (CustosPlayerBar *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER_BAR (self));

  gtk_menu_button_popup (self->time_button);
}
