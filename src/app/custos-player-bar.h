/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayerBar: the playback controls: step back, play/pause, step
 * forward, speed (1/8 … 16×), the time of the frame shown (click: a
 * jump-to-date popover, in local time or UTC), live, and the window's
 * win.snapshot and win.fullscreen. It works any widget that has the
 * player.* actions and the properties "state", "rate", "position-utc"
 * and "live" (CustosPlayer, CustosGrid): its "target". Times show in UTC or local time ("utc";
 * the player binds it to the "time-zone" setting).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PLAYER_BAR (custos_player_bar_get_type ())

G_DECLARE_FINAL_TYPE (CustosPlayerBar, custos_player_bar, CUSTOS, PLAYER_BAR, GtkWidget)

GtkWidget *
custos_player_bar_new (void);
GtkWidget *
custos_player_bar_get_target (CustosPlayerBar *self);
void
custos_player_bar_set_target (CustosPlayerBar *self, GtkWidget *target);
gboolean
custos_player_bar_get_utc (CustosPlayerBar *self);
void
custos_player_bar_set_utc (CustosPlayerBar *self, gboolean utc);
/* Opens the jump-to-date popover (also the "bar.jump" action). */
void
custos_player_bar_show_jump (CustosPlayerBar *self);

/* Properties: "target", "utc". */

G_END_DECLS
