/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosGrid: up to four CustosPlayer tiles (in the columns that show
 * their video largest, see CustosTileBox) played in step, with one
 * timeline and one CustosPlayerBar below. Play, pause, rate, step and seek act on every tile; the position
 * is one UTC time for all.
 *
 * Synchronisation: the tiles' pipelines share one GstClock (the system
 * clock) and one base time, which the grid sets itself (start time
 * GST_CLOCK_TIME_NONE). Every seek is an accurate seek of every tile to the
 * same UTC time, so each tile's running time 0 is the same UTC instant;
 * the grid waits until all tiles have prerolled there, then takes the
 * clock's time as the common base time and sets them playing together.
 * Equal running times then show equal UTC times on every tile, without
 * periodic correction. A tile without video at that time (not recorded,
 * locked) shows its status page and does not hold the others back.
 *
 * Actions: the player.* actions of CustosPlayer (custos-player.h), on all
 * tiles. The window's win.snapshot saves the selected tile's frame.
 */
#pragma once

#include <gtk/gtk.h>

#include "custos-playback.h"

#include "custos-player.h"

G_BEGIN_DECLS

#define CUSTOS_GRID_MAX_TILES 4

#define CUSTOS_TYPE_GRID (custos_grid_get_type ())

G_DECLARE_FINAL_TYPE (CustosGrid, custos_grid, CUSTOS, GRID, GtkWidget)

CustosGrid *
custos_grid_new (void);
/* Adds a new, empty tile (NULL when there are CUSTOS_GRID_MAX_TILES); the
 * grid owns it. Open something in it with custos_player_open_*(). */
CustosPlayer *
custos_grid_add_tile (CustosGrid *self);
void
custos_grid_remove_tile (CustosGrid *self, CustosPlayer *tile);
guint
custos_grid_get_n_tiles (CustosGrid *self);
CustosPlayer *
custos_grid_get_tile (CustosGrid *self, guint index);
/* The tile that was clicked last (the window's snapshot is of it). */
CustosPlayer *
custos_grid_get_selected (CustosGrid *self);

/* To every tile, present and future. */
void
custos_grid_set_key_provider (CustosGrid *self, CustosKeyProvider *provider,
                              GTlsInteraction *interaction);

void
custos_grid_play (CustosGrid *self);
void
custos_grid_pause (CustosGrid *self);
void
custos_grid_step (CustosGrid *self, int frames);
void
custos_grid_set_rate (CustosGrid *self, double rate);
double
custos_grid_get_rate (CustosGrid *self);
void
custos_grid_seek_utc (CustosGrid *self, gint64 utc_us);
void
custos_grid_go_live (CustosGrid *self);
/* The selected tile's UTC (the others are within a frame of it). */
gint64
custos_grid_get_position_utc (CustosGrid *self);
/* PLAYING when any tile plays, else the selected tile's state. */
CustosPlayerState
custos_grid_get_state (CustosGrid *self);

/* Properties: "n-tiles", "selected", "state", "position-utc", "rate",
 * "live" (all tiles are live). Signal "first-frame" when every tile with
 * video has painted after an open or a seek. */

G_END_DECLS
