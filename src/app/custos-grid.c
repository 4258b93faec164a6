/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-grid"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-grid.h"
#include "custos-player-bar.h"
#include "custos-player-private.h"
#include "custos-tile-box.h"
#include "custos-timeline.h"

/* How far ahead of "now" a common start is set, so that every tile has
 * gone to PLAYING before its first frame is due. */
#define START_MARGIN (40 * GST_MSECOND)

struct _CustosGrid
{
  GtkWidget parent_instance;

  CustosTileBox   *tiles_box;
  CustosTimeline  *timeline;
  CustosPlayerBar *bar;

  GPtrArray         *tiles; /* CustosPlayer, owned by tiles_box */
  CustosPlayer      *selected;
  CustosKeyProvider *provider;
  GTlsInteraction   *interaction;
  GstClock          *clock;

  gboolean     want_playing;
  double       rate;
  guint        pending; /* tiles still prerolling for a common seek */
  gboolean     started; /* base_time is valid */
  GstClockTime base_time;
  GstClockTime paused_at; /* clock time of the pause; NONE while playing */
  guint        painted;   /* tiles that painted since the last seek */
};

enum
{
  PROP_0,
  PROP_N_TILES,
  PROP_SELECTED,
  PROP_STATE,
  PROP_POSITION_UTC,
  PROP_RATE,
  PROP_LIVE,
  N_PROPS
};

enum
{
  FIRST_FRAME,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void playback_iface_init (CustosPlaybackInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosGrid, custos_grid, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_PLAYBACK, playback_iface_init))

static void
sync_seek (CustosGrid *self, gint64 utc_us);

/* The common start */

static GstClockTime
clock_now (CustosGrid *self)
{
  return gst_clock_get_time (self->clock);
}

static void
start_all (CustosGrid *self)
{
  GstClockTime now = clock_now (self);

  if (!self->started)
    {
      self->base_time = now + START_MARGIN;
      self->started = TRUE;
    }
  else if (self->paused_at != GST_CLOCK_TIME_NONE)
    /* Running time stood still while paused. */
    self->base_time += now - self->paused_at + START_MARGIN;
  self->paused_at = GST_CLOCK_TIME_NONE;
  for (guint i = 0; i < self->tiles->len; i++)
    _custos_player_start_at (self->tiles->pdata[i], self->base_time);
}

static void
on_tile_prerolled (CustosPlayer *tile, CustosGrid *self)
{
  if (self->pending > 0)
    {
      if (--self->pending > 0)
        return;
      self->started = FALSE;
      self->paused_at = GST_CLOCK_TIME_NONE;
      if (self->want_playing)
        start_all (self);
      return;
    }
  /* A tile that was just opened: everyone to the same time. */
  sync_seek (self, custos_grid_get_position_utc (self) != G_MININT64
                       ? custos_grid_get_position_utc (self)
                       : custos_player_get_position_utc (tile));
}

/* Every tile paused at utc_us; they start together once all prerolled. */
static void
sync_seek (CustosGrid *self, gint64 utc_us)
{
  g_autoptr (GPtrArray) tiles = g_ptr_array_copy (self->tiles, (GCopyFunc) g_object_ref, NULL);

  g_ptr_array_set_free_func (tiles, g_object_unref);
  self->painted = 0;
  self->pending = tiles->len;
  for (guint i = 0; i < tiles->len; i++)
    _custos_player_seek_prerolled (tiles->pdata[i], utc_us, self->rate);
}

/* The layout follows the shape of the first tile's picture (cameras of
 * one site mostly share it): 4:3 cameras go side by side where 16:9 ones
 * would be stacked. */
static void
update_aspect (CustosGrid *self)
{
  for (guint i = 0; i < self->tiles->len; i++)
    {
      GdkPaintable *paintable = custos_player_get_paintable (self->tiles->pdata[i]);
      double        aspect = paintable ? gdk_paintable_get_intrinsic_aspect_ratio (paintable) : 0;

      if (aspect > 0)
        {
          custos_tile_box_set_aspect (self->tiles_box, aspect);
          return;
        }
    }
}

static void
on_tile_first_frame (CustosPlayer *tile, CustosGrid *self)
{
  guint with_video = 0;

  update_aspect (self);

  for (guint i = 0; i < self->tiles->len; i++)
    {
      CustosPlayerState state = custos_player_get_state (self->tiles->pdata[i]);

      with_video += state == CUSTOS_PLAYER_STATE_PLAYING || state == CUSTOS_PLAYER_STATE_PAUSED ||
                    state == CUSTOS_PLAYER_STATE_LOADING;
    }
  if (++self->painted == MAX (with_video, 1))
    g_signal_emit (self, signals[FIRST_FRAME], 0);
}

/* Properties that follow the selected tile */

/* "Live" only means something when a tile shows a camera. */
static void
update_go_live (CustosGrid *self)
{
  gboolean cameras = FALSE;

  for (guint i = 0; i < self->tiles->len; i++)
    cameras |= _custos_player_is_camera (self->tiles->pdata[i]);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "player.go-live", cameras);
}

static void
on_tile_notify (CustosPlayer *tile, GParamSpec *pspec, CustosGrid *self)
{
  update_go_live (self);
  if (tile == self->selected && g_strcmp0 (pspec->name, "position-utc") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION_UTC]);
  else if (g_strcmp0 (pspec->name, "state") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  else if (g_strcmp0 (pspec->name, "live") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
}

static void
select_tile (CustosGrid *self, CustosPlayer *tile)
{
  if (self->selected == tile)
    return;
  if (self->selected != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (self->selected), "selected-tile");
  self->selected = tile;
  if (tile != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (tile), "selected-tile");
  custos_timeline_set_model (self->timeline, tile ? custos_player_get_timeline_model (tile) : NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION_UTC]);
}

static void
on_tile_pressed (GtkGestureClick *click, int n_press, double x, double y, CustosGrid *self)
{
  GtkWidget *tile = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (click));

  select_tile (self, CUSTOS_PLAYER (tile));
}

static void
on_timeline_seek (CustosTimeline *timeline, gint64 utc_us, CustosGrid *self)
{
  custos_grid_seek_utc (self, utc_us);
}

/* Actions */

/* CustosPlayback */

static gboolean
playback_wants_play (CustosPlayback *playback)
{
  return CUSTOS_GRID (playback)->want_playing;
}

static void
playback_iface_init (CustosPlaybackInterface *iface)
{
  iface->play = (void (*) (CustosPlayback *)) custos_grid_play;
  iface->pause = (void (*) (CustosPlayback *)) custos_grid_pause;
  iface->wants_play = playback_wants_play;
  iface->step = (void (*) (CustosPlayback *, int)) custos_grid_step;
  iface->set_rate = (void (*) (CustosPlayback *, double)) custos_grid_set_rate;
  iface->seek_utc = (void (*) (CustosPlayback *, gint64)) custos_grid_seek_utc;
  iface->go_live = (void (*) (CustosPlayback *)) custos_grid_go_live;
}

/* GObject */

static void
custos_grid_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosGrid *self = CUSTOS_GRID (object);

  switch (prop_id)
    {
    case PROP_N_TILES:
      g_value_set_uint (value, self->tiles->len);
      break;
    case PROP_SELECTED:
      g_value_set_object (value, self->selected);
      break;
    case PROP_STATE:
      g_value_set_enum (value, custos_grid_get_state (self));
      break;
    case PROP_POSITION_UTC:
      g_value_set_int64 (value, custos_grid_get_position_utc (self));
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_LIVE:
      {
        gboolean live = self->tiles->len > 0;

        for (guint i = 0; i < self->tiles->len; i++)
          live &= custos_player_get_live (self->tiles->pdata[i]);
        g_value_set_boolean (value, live);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_grid_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_RATE:
      custos_grid_set_rate (CUSTOS_GRID (object), g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_grid_dispose (GObject *object)
{
  CustosGrid *self = CUSTOS_GRID (object);

  for (guint i = 0; i < self->tiles->len; i++)
    g_signal_handlers_disconnect_by_data (self->tiles->pdata[i], self);
  g_ptr_array_set_size (self->tiles, 0);
  self->selected = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_GRID);
  /* The template's unnamed top box too. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (custos_grid_parent_class)->dispose (object);
}

static void
custos_grid_finalize (GObject *object)
{
  CustosGrid *self = CUSTOS_GRID (object);

  g_ptr_array_unref (self->tiles);
  g_clear_object (&self->provider);
  g_clear_object (&self->interaction);
  gst_clear_object (&self->clock);

  G_OBJECT_CLASS (custos_grid_parent_class)->finalize (object);
}

static void
custos_grid_class_init (CustosGridClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = custos_grid_get_property;
  object_class->set_property = custos_grid_set_property;
  object_class->dispose = custos_grid_dispose;
  object_class->finalize = custos_grid_finalize;

  properties[PROP_N_TILES] = g_param_spec_uint ("n-tiles", NULL, NULL, 0, CUSTOS_GRID_MAX_TILES, 0,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] = g_param_spec_object ("selected", NULL, NULL, CUSTOS_TYPE_PLAYER,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
      g_param_spec_enum ("state", NULL, NULL, CUSTOS_TYPE_PLAYER_STATE, CUSTOS_PLAYER_STATE_EMPTY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_POSITION_UTC] =
      g_param_spec_int64 ("position-utc", NULL, NULL, G_MININT64, G_MAXINT64, G_MININT64,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_RATE] =
      g_param_spec_double ("rate", NULL, NULL, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE, 1.0,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LIVE] =
      g_param_spec_boolean ("live", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[FIRST_FRAME] = g_signal_new ("first-frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (CUSTOS_TYPE_TIMELINE);
  g_type_ensure (CUSTOS_TYPE_PLAYER_BAR);
  g_type_ensure (CUSTOS_TYPE_TILE_BOX);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/custos/Custos/custos-grid.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosGrid, tiles_box);
  gtk_widget_class_bind_template_child (widget_class, CustosGrid, timeline);
  gtk_widget_class_bind_template_child (widget_class, CustosGrid, bar);
  gtk_widget_class_bind_template_callback (widget_class, on_timeline_seek);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "custos-grid");
  custos_playback_install_actions (widget_class);
}

static void
custos_grid_init (CustosGrid *self)
{
  self->tiles = g_ptr_array_new ();
  /* What is opened in a tile plays, as in a single player. */
  self->want_playing = TRUE;
  self->rate = 1.0;
  self->paused_at = GST_CLOCK_TIME_NONE;
  gst_init (NULL, NULL);
  self->clock = gst_system_clock_obtain ();
  gtk_widget_init_template (GTK_WIDGET (self));
  custos_player_bar_set_target (self->bar, GTK_WIDGET (self));
  update_go_live (self);
  g_object_bind_property (self, "position-utc", self->timeline, "position-utc",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->bar, "utc", self->timeline, "utc", G_BINDING_SYNC_CREATE);
}

/* API */

CustosGrid *
custos_grid_new (void)
{
  return g_object_new (CUSTOS_TYPE_GRID, NULL);
}

CustosPlayer *
custos_grid_add_tile (CustosGrid *self)
{
  CustosPlayer *tile;
  GtkGesture   *click;

  g_return_val_if_fail (CUSTOS_IS_GRID (self), NULL);

  if (self->tiles->len >= CUSTOS_GRID_MAX_TILES)
    return NULL;
  tile = custos_player_new ();
  custos_player_set_show_controls (tile, FALSE);
  _custos_player_set_synced (tile, TRUE);
  if (self->provider != NULL)
    custos_player_set_key_provider (tile, self->provider, self->interaction);
  gtk_widget_set_hexpand (GTK_WIDGET (tile), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (tile), TRUE);
  click = gtk_gesture_click_new ();
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (on_tile_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (tile), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (tile, "prerolled", G_CALLBACK (on_tile_prerolled), self);
  g_signal_connect (tile, "first-frame", G_CALLBACK (on_tile_first_frame), self);
  g_signal_connect (tile, "notify", G_CALLBACK (on_tile_notify), self);
  g_ptr_array_add (self->tiles, tile);
  custos_tile_box_append (self->tiles_box, GTK_WIDGET (tile));
  if (self->selected == NULL)
    select_tile (self, tile);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TILES]);
  return tile;
}

void
custos_grid_remove_tile (CustosGrid *self, CustosPlayer *tile)
{
  g_autoptr (CustosPlayer) hold = NULL;

  g_return_if_fail (CUSTOS_IS_GRID (self));
  g_return_if_fail (CUSTOS_IS_PLAYER (tile));

  /* The array and the tile box may hold the last references: the tile
   * must outlive both removals. */
  hold = g_object_ref (tile);
  if (!g_ptr_array_remove (self->tiles, tile))
    return;
  g_signal_handlers_disconnect_by_data (tile, self);
  /* Another tile is selected while this one still exists. */
  if (self->selected == tile)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (tile), "selected-tile");
      self->selected = NULL;
      if (self->tiles->len > 0)
        select_tile (self, self->tiles->pdata[0]);
      else
        {
          custos_timeline_set_model (self->timeline, NULL);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
        }
    }
  custos_player_close (tile);
  custos_tile_box_remove (self->tiles_box, GTK_WIDGET (tile));
  update_go_live (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TILES]);
}

guint
custos_grid_get_n_tiles (CustosGrid *self)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), 0);

  return self->tiles->len;
}

CustosPlayer *
custos_grid_get_tile (CustosGrid *self, guint index)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), NULL);

  return index < self->tiles->len ? self->tiles->pdata[index] : NULL;
}

CustosPlayer *
custos_grid_get_selected (CustosGrid *self)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), NULL);

  return self->selected;
}

void
custos_grid_set_key_provider (CustosGrid *self, CustosKeyProvider *provider,
                              GTlsInteraction *interaction)
{
  g_return_if_fail (CUSTOS_IS_GRID (self));

  g_set_object (&self->provider, provider);
  g_set_object (&self->interaction, interaction);
  for (guint i = 0; i < self->tiles->len; i++)
    custos_player_set_key_provider (self->tiles->pdata[i], provider, interaction);
}

void
custos_grid_play (CustosGrid *self)
{
  g_return_if_fail (CUSTOS_IS_GRID (self));

  self->want_playing = TRUE;
  if (self->pending == 0)
    start_all (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static gboolean
has_camera (CustosGrid *self)
{
  for (guint i = 0; i < self->tiles->len; i++)
    if (_custos_player_is_camera (self->tiles->pdata[i]))
      return TRUE;
  return FALSE;
}

/* Paused while playing, each tile shows the last frame its sink
 * rendered, and a loaded machine may leave one a frame behind: every
 * tile is brought to the frame the selected one shows, as a step does.
 * Not with cameras, whose seeks go over the network. */
static void
align_paused (CustosGrid *self)
{
  gint64 position = custos_grid_get_position_utc (self);

  if (self->tiles->len < 2 || position == G_MININT64 || has_camera (self))
    return;
  sync_seek (self, position + custos_player_get_frame_duration (self->selected) / 2);
}

void
custos_grid_pause (CustosGrid *self)
{
  gboolean was_playing;

  g_return_if_fail (CUSTOS_IS_GRID (self));

  was_playing = self->want_playing;
  self->want_playing = FALSE;
  if (self->paused_at == GST_CLOCK_TIME_NONE)
    self->paused_at = clock_now (self);
  for (guint i = 0; i < self->tiles->len; i++)
    _custos_player_pause_synced (self->tiles->pdata[i]);
  if (was_playing)
    align_paused (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
custos_grid_step (CustosGrid *self, int frames)
{
  gint64 position, frame;

  g_return_if_fail (CUSTOS_IS_GRID (self));

  position = custos_grid_get_position_utc (self);
  if (position == G_MININT64 || frames == 0)
    return;
  frame = custos_player_get_frame_duration (self->selected);
  self->want_playing = FALSE;
  /* The middle of the frame wanted, on every tile. */
  sync_seek (self, position + frames * frame + frame / 2);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
custos_grid_set_rate (CustosGrid *self, double rate)
{
  gint64 position;

  g_return_if_fail (CUSTOS_IS_GRID (self));

  rate = CLAMP (rate, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE);
  if (rate == self->rate)
    return;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
  position = custos_grid_get_position_utc (self);
  if (position != G_MININT64)
    sync_seek (self, position);
}

double
custos_grid_get_rate (CustosGrid *self)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), 1.0);

  return self->rate;
}

void
custos_grid_seek_utc (CustosGrid *self, gint64 utc_us)
{
  g_return_if_fail (CUSTOS_IS_GRID (self));

  sync_seek (self, utc_us);
}

void
custos_grid_go_live (CustosGrid *self)
{
  g_return_if_fail (CUSTOS_IS_GRID (self));

  self->rate = 1.0;
  self->want_playing = TRUE;
  for (guint i = 0; i < self->tiles->len; i++)
    custos_player_go_live (self->tiles->pdata[i]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
}

gint64
custos_grid_get_position_utc (CustosGrid *self)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), G_MININT64);

  return self->selected ? custos_player_get_position_utc (self->selected) : G_MININT64;
}

CustosPlayerState
custos_grid_get_state (CustosGrid *self)
{
  g_return_val_if_fail (CUSTOS_IS_GRID (self), CUSTOS_PLAYER_STATE_EMPTY);

  for (guint i = 0; i < self->tiles->len; i++)
    if (custos_player_get_state (self->tiles->pdata[i]) == CUSTOS_PLAYER_STATE_PLAYING)
      return CUSTOS_PLAYER_STATE_PLAYING;
  return self->selected ? custos_player_get_state (self->selected) : CUSTOS_PLAYER_STATE_EMPTY;
}
