/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-playback"

#include "config.h"

#include "custos-playback.h"

G_DEFINE_INTERFACE (CustosPlayback, custos_playback, GTK_TYPE_WIDGET)

static void
custos_playback_default_init (CustosPlaybackInterface *iface)
{
}

/* A tile of a grid hands playback to the grid, so that all stay in step. */
static CustosPlaybackInterface *
target (GtkWidget *widget, CustosPlayback **out)
{
  CustosPlayback          *self = CUSTOS_PLAYBACK (widget);
  CustosPlaybackInterface *iface = CUSTOS_PLAYBACK_GET_IFACE (self);
  CustosPlayback          *leader = iface->get_leader ? iface->get_leader (self) : NULL;

  *out = leader != NULL ? leader : self;
  return CUSTOS_PLAYBACK_GET_IFACE (*out);
}

static void
action_play_pause (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback          *self;
  CustosPlaybackInterface *iface = target (widget, &self);

  if (iface->wants_play (self))
    iface->pause (self);
  else
    iface->play (self);
}

static void
action_play (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->play (self);
}

static void
action_pause (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->pause (self);
}

static void
action_step (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->step (self, g_variant_get_int32 (param));
}

static void
action_rate (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->set_rate (self, g_variant_get_double (param));
}

static void
action_seek (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->seek_utc (self, g_variant_get_int64 (param));
}

static void
action_go_live (GtkWidget *widget, const char *name, GVariant *param)
{
  CustosPlayback *self;

  target (widget, &self)->go_live (self);
}

void
custos_playback_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "player.play-pause", NULL, action_play_pause);
  gtk_widget_class_install_action (widget_class, "player.play", NULL, action_play);
  gtk_widget_class_install_action (widget_class, "player.pause", NULL, action_pause);
  gtk_widget_class_install_action (widget_class, "player.step", "i", action_step);
  gtk_widget_class_install_action (widget_class, "player.rate", "d", action_rate);
  gtk_widget_class_install_action (widget_class, "player.seek-utc", "x", action_seek);
  gtk_widget_class_install_action (widget_class, "player.go-live", NULL, action_go_live);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "player.play-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, 0, "player.step", "i", 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, 0, "player.step", "i", -1);
}
