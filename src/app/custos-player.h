/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPlayer: one video tile, with its own GStreamer pipeline
 *
 *   filesrc | giostreamsrc ! custosdemux ! decodebin ! custosvideosink
 *
 * showing a local .fusion file or a camera of an archiver (archive or
 * live). Below the picture: a CustosTimeline and a CustosPlayerBar
 * ("show-controls"; a CustosGrid hides them and shows its own).
 *
 * The tile never goes black without a reason: while a stream is locked
 * (custosdemux's "custos-locked": no key for it) or has failed it shows an
 * AdwStatusPage saying what is wrong and what is needed ("status-title",
 * "status-description"); altered or unsigned video shows a banner over the
 * picture and its frames in the timeline.
 *
 * Times are UTC µs. A file seeks through custosdemux's index (pull mode);
 * a camera is re-requested from the archiver from the time sought.
 *
 * Actions (gtk_widget_activate_action() or action-name in a template
 * inside it; CustosGrid has the same ones for all its tiles):
 *   player.play-pause, player.play, player.pause
 *   player.step         (i)  frames, negative steps back
 *   player.rate         (d)  1/8 … 16
 *   player.seek-utc     (x)  UTC µs
 *   player.go-live
 * Fullscreen and snapshot are the window's (win.fullscreen, win.snapshot:
 * custos-window.h), for the tile or grid shown.
 */
#pragma once

#include <gtk/gtk.h>

#include "custos-playback.h"

#include "custos-archiver-client.h"
#include "custos-key-provider.h"
#include "custos-timeline-model.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_PLAYER_STATE_EMPTY,   /* nothing opened */
  CUSTOS_PLAYER_STATE_LOADING, /* opening, seeking: no new frame yet */
  CUSTOS_PLAYER_STATE_PLAYING,
  CUSTOS_PLAYER_STATE_PAUSED,
  CUSTOS_PLAYER_STATE_LOCKED, /* no key: the status page says what is needed */
  CUSTOS_PLAYER_STATE_ERROR,  /* the status page names the problem */
} CustosPlayerState;

GType
custos_player_state_get_type (void) G_GNUC_CONST;
#define CUSTOS_TYPE_PLAYER_STATE (custos_player_state_get_type ())

#define CUSTOS_PLAYER_MIN_RATE (1.0 / 8)
#define CUSTOS_PLAYER_MAX_RATE 16.0

#define CUSTOS_TYPE_PLAYER (custos_player_get_type ())

G_DECLARE_FINAL_TYPE (CustosPlayer, custos_player, CUSTOS, PLAYER, GtkWidget)

CustosPlayer *
custos_player_new (void);

/* Handed to custosdemux through the GstContext "custos.key-provider";
 * setting it on a locked tile reopens the stream where it was. NULL
 * provider: none. */
void
custos_player_set_key_provider (CustosPlayer *self, CustosKeyProvider *provider,
                                GTlsInteraction *interaction);
/* CA of the archivers' signing certificates (custosdemux "ca-file"). */
void
custos_player_set_ca_file (CustosPlayer *self, const char *ca_file);

/* Opens and plays from the start. */
void
custos_player_open_file (CustosPlayer *self, GFile *file);
/* Plays the camera live (or from "position-utc" after a seek); privacy:
 * the privacy-protected stream instead of the original. */
void
custos_player_open_camera (CustosPlayer *self, CustosArchiverClient *client, const char *camera_id,
                           const char *title, gboolean privacy);
/* Back to EMPTY. */
void
custos_player_close (CustosPlayer *self);

/* Stops at once and shows the locked status page with reason (NULL: the
 * card was removed); the next key provider set reopens the source where
 * it was. For a card pulled out: nothing decrypted stays on screen. */
void
custos_player_lock (CustosPlayer *self, const char *reason);
/* The keys a card unwrapped were wiped (the card was removed): originals
 * of archiver cameras lock, files are read again (and lock if they need
 * the card), privacy streams go on. */
void
custos_player_keys_wiped (CustosPlayer *self);
void
custos_player_play (CustosPlayer *self);
void
custos_player_pause (CustosPlayer *self);
/* Pauses, then moves by frames (accurate seeks backwards). */
void
custos_player_step (CustosPlayer *self, int frames);
/* Clamped to CUSTOS_PLAYER_MIN_RATE … CUSTOS_PLAYER_MAX_RATE. */
void
custos_player_set_rate (CustosPlayer *self, double rate);
double
custos_player_get_rate (CustosPlayer *self);
/* Accurate: the frame shown is the one at or just before utc_us. */
void
custos_player_seek_utc (CustosPlayer *self, gint64 utc_us);
/* Fast, for dragging the timeline: the keyframe at or before utc_us (files;
 * cameras seek once let go). */
void
custos_player_scrub_utc (CustosPlayer *self, gint64 utc_us);
/* Cameras only: back to the live edge. */
void
custos_player_go_live (CustosPlayer *self);

/* The frame shown as PNG, with tEXt "Creation Time" (its UTC, ISO 8601
 * with ms) and "Title". */
void
custos_player_snapshot_async (CustosPlayer *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
GBytes *
custos_player_snapshot_finish (CustosPlayer *self, GAsyncResult *result, gint64 *utc_us,
                               GError **error);

CustosPlayerState
custos_player_get_state (CustosPlayer *self);
/* UTC of the frame shown, G_MININT64 when none. */
gint64
custos_player_get_position_utc (CustosPlayer *self);
/* One frame's length (from the caps; 40 ms until known). */
gint64
custos_player_get_frame_duration (CustosPlayer *self);
gboolean
custos_player_get_live (CustosPlayer *self);
const char *
custos_player_get_title (CustosPlayer *self);
void
custos_player_set_title (CustosPlayer *self, const char *title);
const char *
custos_player_get_status_title (CustosPlayer *self);
const char *
custos_player_get_status_description (CustosPlayer *self);
CustosTimelineModel *
custos_player_get_timeline_model (CustosPlayer *self);
/* What the picture shows (a CustosVideoPaintable). */
GdkPaintable *
custos_player_get_paintable (CustosPlayer *self);
GstElement *
custos_player_get_pipeline (CustosPlayer *self);

gboolean
custos_player_get_show_controls (CustosPlayer *self);
void
custos_player_set_show_controls (CustosPlayer *self, gboolean show_controls);

/* Properties: "state" (CustosPlayerState), "position-utc" (gint64),
 * "rate" (double), "live" (boolean), "title", "status-title",
 * "status-description" (strings), "timeline-model", "show-controls".
 * Signals: "first-frame" (no arguments) when the first frame of a new
 * source, or the first after a seek, has been painted. */

G_END_DECLS
