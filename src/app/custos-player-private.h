/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What CustosGrid needs of its tiles to play them in step (see
 * custos-grid.h): a shared clock with a base time set from outside, seeks
 * that stop at the preroll, and a start at a given base time.
 */
#pragma once

#include "custos-player.h"

G_BEGIN_DECLS

/* The system clock, and a base time only the grid sets. */
void
_custos_player_set_synced (CustosPlayer *self, gboolean synced);
/* Pauses, seeks (accurate, at rate) and emits "prerolled" once the frame
 * at utc_us is shown (or at once when there is nothing to show). */
void
_custos_player_seek_prerolled (CustosPlayer *self, gint64 utc_us, double rate);
/* TRUE while a seek of _custos_player_seek_prerolled() is under way. */
gboolean
_custos_player_is_seeking (CustosPlayer *self);
/* Sets the base time and plays. */
void
_custos_player_start_at (CustosPlayer *self, GstClockTime base_time);
void
_custos_player_pause_synced (CustosPlayer *self);

/* TRUE for a camera of an archiver (it can go live). */
gboolean
_custos_player_is_camera (CustosPlayer *self);

G_END_DECLS
