/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayback: what the player bar and the keyboard drive — a single
 * tile (CustosPlayer) or a grid of them (CustosGrid). Both install the
 * same "player.*" widget actions with custos_playback_install_actions(),
 * so the bar, the shortcuts and the menus work on either.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PLAYBACK (custos_playback_get_type ())

G_DECLARE_INTERFACE (CustosPlayback, custos_playback, CUSTOS, PLAYBACK, GtkWidget)

struct _CustosPlaybackInterface
{
  GTypeInterface parent_iface;

  void     (*play)        (CustosPlayback *self);
  void     (*pause)       (CustosPlayback *self);
  /* Whether play was asked last (the state may still be loading). */
  gboolean (*wants_play)  (CustosPlayback *self);
  void     (*step)        (CustosPlayback *self,
                           int             frames);
  void     (*set_rate)    (CustosPlayback *self,
                           double          rate);
  void     (*seek_utc)    (CustosPlayback *self,
                           gint64          utc_us);
  void     (*go_live)     (CustosPlayback *self);
  /* Who takes the actions instead (a grid for its tiles), or NULL. */
  CustosPlayback *(*get_leader) (CustosPlayback *self);
};

/* player.play-pause, .play, .pause, .step (i), .rate (d), .seek-utc (x),
 * .go-live, with Space, "." and "," bound. fullscreen and snapshot differ
 * between a tile and a grid: each class installs its own. */
void custos_playback_install_actions (GtkWidgetClass *widget_class);

G_END_DECLS
