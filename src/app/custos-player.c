/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-player"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "custos-export-files.h"
#include "gstcustosdemux.h"
#include "custos-media-export.h"
#include "custos-player-bar.h"
#include "custos-player-frames.h"
#include "custos-player-private.h"
#include "custos-reader.h"
#include "custos-time.h"
#include "custos-timeline.h"
#include "custos-video-sink.h"

GST_DEBUG_CATEGORY_STATIC (custos_player_debug);
#define GST_CAT_DEFAULT custos_player_debug

/* An archive request over the network covers this much; the next one
 * follows at its end. */
#define NETWORK_CHUNK_US G_TIME_SPAN_HOUR
/* Network bytes queued before reading pauses. */
#define NETWORK_QUEUE_BYTES (4 * 1024 * 1024)
#define NETWORK_READ_SIZE (64 * 1024)

struct _CustosPlayer
{
  GtkWidget parent_instance;

  /* Template */
  GtkWidget       *box;
  GtkStack        *stack;
  GtkPicture      *picture;
  AdwStatusPage   *status_page;
  GtkRevealer     *banner_revealer;
  GtkLabel        *banner_label;
  GtkSpinner      *spinner;
  GtkLabel        *title_label;
  CustosTimeline  *timeline;
  CustosPlayerBar *bar;
  GtkWidget       *controls;

  /* Keys */
  CustosKeyProvider *provider;
  GTlsInteraction   *interaction;
  char              *ca_file;

  /* Source */
  GFile                *file;
  CustosArchiverClient *client;
  char                 *camera_id;
  gboolean              privacy;
  gboolean              live;
  GInputStream         *stream;
  GCancellable         *cancellable;
  gboolean              reading;
  gboolean              queue_full;
  guint                 need_data_idle;
  gint64                network_from_us;
  gboolean              continuing; /* the request follows one that ended */
  GCancellable         *ranges_cancellable;

  /* Pipeline */
  GstElement      *pipeline;
  GstElement      *demux;
  GstElement      *appsrc;
  CustosVideoSink *sink;
  guint            bus_watch;
  guint            poll_id;
  gint64           drop_before_us;  /* network: frames before it are not shown (atomic) */
  gboolean         drop_offset_set; /* streaming thread */
  /* Files: the frames just before a seek's target, for steps back. */
  CustosPlayerFrames *frames;
  gboolean            showing_kept; /* one of them is shown, not the sink's */

  /* What it shows */
  CustosPlayerState     state;
  char                 *title;
  char                 *status_title;
  char                 *status_description;
  CustosTimelineModel  *model;
  CustosVideoPaintable *paintable;
  GSettings            *settings;

  double   rate;
  gint64   position_utc;
  gint64   base_utc; /* UTC of output time 0 */
  gint64   frame_us;
  gint64   pending_seek_us; /* G_MININT64: none */
  gboolean want_playing;
  gboolean prerolled;
  gboolean awaiting_frame; /* "first-frame" still due */
  gboolean seek_prerolled; /* a grid seek awaits its preroll */
  gboolean synced;
  gulong   after_paint_id;
  gboolean show_controls;
};

enum
{
  PROP_0,
  PROP_STATE,
  PROP_POSITION_UTC,
  PROP_RATE,
  PROP_LIVE,
  PROP_TITLE,
  PROP_STATUS_TITLE,
  PROP_STATUS_DESCRIPTION,
  PROP_TIMELINE_MODEL,
  PROP_SHOW_CONTROLS,
  N_PROPS
};

enum
{
  FIRST_FRAME,
  PREROLLED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void playback_iface_init (CustosPlaybackInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosPlayer, custos_player, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_PLAYBACK, playback_iface_init))

G_DEFINE_ENUM_TYPE (CustosPlayerState, custos_player_state,
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_EMPTY, "empty"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_LOADING, "loading"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_PLAYING, "playing"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_PAUSED, "paused"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_LOCKED, "locked"),
                    G_DEFINE_ENUM_VALUE (CUSTOS_PLAYER_STATE_ERROR, "error"))

static void
start_pipeline (CustosPlayer *self, gint64 from_utc);
static void
open_network (CustosPlayer *self, gint64 from_utc);

/* What the tile shows */

static void
set_state (CustosPlayer *self, CustosPlayerState state)
{
  if (self->state == state)
    return;
  self->state = state;
  gtk_spinner_set_spinning (self->spinner, state == CUSTOS_PLAYER_STATE_LOADING);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), state == CUSTOS_PLAYER_STATE_LOADING);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
show_status (CustosPlayer *self, CustosPlayerState state, const char *icon, const char *title,
             const char *description)
{
  g_free (self->status_title);
  self->status_title = g_strdup (title);
  g_free (self->status_description);
  self->status_description = g_strdup (description);
  adw_status_page_set_icon_name (self->status_page, icon);
  adw_status_page_set_title (self->status_page, title ? title : "");
  adw_status_page_set_description (self->status_page, description);
  gtk_stack_set_visible_child_name (self->stack,
                                    state == CUSTOS_PLAYER_STATE_EMPTY ? "empty" : "status");
  set_state (self, state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_DESCRIPTION]);
}

static void
show_video (CustosPlayer *self)
{
  gtk_stack_set_visible_child_name (self->stack, "video");
  if (self->status_title != NULL)
    {
      g_clear_pointer (&self->status_title, g_free);
      g_clear_pointer (&self->status_description, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TITLE]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_DESCRIPTION]);
    }
}

static void
show_empty (CustosPlayer *self)
{
  show_status (self, CUSTOS_PLAYER_STATE_EMPTY, "camera-video-symbolic", _ ("No Video"),
               _ ("Choose a camera or open a .fusion file."));
}

/* The banner over the picture: what verification says about the time shown. */
static void
update_banner (CustosPlayer *self)
{
  CustosTimelineVerdict v = CUSTOS_TIMELINE_UNKNOWN;
  const char           *text = NULL;

  if (self->position_utc != G_MININT64)
    v = custos_timeline_model_get_verdict_at (self->model, self->position_utc);
  switch (v)
    {
    case CUSTOS_TIMELINE_ALTERED:
      text = _ ("Altered: this frame failed verification. It is not the video that was recorded.");
      break;
    case CUSTOS_TIMELINE_MISSING:
      text = _ ("Incomplete: frames recorded here are missing.");
      break;
    case CUSTOS_TIMELINE_NOT_SIGNED:
      text = _ ("Not signed: no archiver signature covers this video.");
      break;
    case CUSTOS_TIMELINE_UNKNOWN:
    case CUSTOS_TIMELINE_VERIFIED:
    default:
      break;
    }
  if (text != NULL)
    {
      gtk_label_set_text (self->banner_label, text);
      if (v == CUSTOS_TIMELINE_NOT_SIGNED)
        gtk_widget_remove_css_class (GTK_WIDGET (self->banner_label), "error");
      else
        gtk_widget_add_css_class (GTK_WIDGET (self->banner_label), "error");
    }
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

static void
set_position (CustosPlayer *self, gint64 utc_us)
{
  if (self->position_utc == utc_us)
    return;
  self->position_utc = utc_us;
  update_banner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION_UTC]);
}

/* Pipeline teardown */

static void
stop_reading (CustosPlayer *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_clear_handle_id (&self->need_data_idle, g_source_remove);
  self->reading = self->queue_full = FALSE;
}

static void
destroy_pipeline (CustosPlayer *self)
{
  stop_reading (self);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      gst_clear_object (&self->pipeline);
    }
  g_clear_pointer (&self->frames, custos_player_frames_unref);
  self->showing_kept = FALSE;
  self->demux = self->appsrc = NULL;
  self->sink = NULL;
  self->prerolled = FALSE;
}

static void
forget_source (CustosPlayer *self)
{
  g_cancellable_cancel (self->ranges_cancellable);
  g_clear_object (&self->ranges_cancellable);
  destroy_pipeline (self);
  g_clear_object (&self->file);
  g_clear_object (&self->client);
  g_clear_pointer (&self->camera_id, g_free);
  self->live = FALSE;
  self->base_utc = G_MININT64;
  self->pending_seek_us = G_MININT64;
  self->position_utc = G_MININT64;
  custos_timeline_model_clear (self->model);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "player.go-live", FALSE);
}

/* Frames */

static gint64
buffer_utc (CustosPlayer *self, GstBuffer *buffer)
{
  static GstCaps            *unix_caps;
  GstReferenceTimestampMeta *meta;

  if (g_once_init_enter (&unix_caps))
    g_once_init_leave (&unix_caps, gst_caps_new_empty_simple ("timestamp/x-unix"));
  meta = gst_buffer_get_reference_timestamp_meta (buffer, unix_caps);
  if (meta != NULL)
    return (gint64) (meta->timestamp / GST_USECOND);
  if (self->base_utc != G_MININT64 && GST_BUFFER_PTS_IS_VALID (buffer))
    return self->base_utc + (gint64) (GST_BUFFER_PTS (buffer) / GST_USECOND);
  return G_MININT64;
}

static void
note_frame_rate (CustosPlayer *self, GstCaps *caps)
{
  GstVideoInfo info;

  if (caps == NULL || !gst_video_info_from_caps (&info, caps) || GST_VIDEO_INFO_FPS_N (&info) <= 0)
    return;
  self->frame_us = gst_util_uint64_scale_int (G_USEC_PER_SEC, GST_VIDEO_INFO_FPS_D (&info),
                                              GST_VIDEO_INFO_FPS_N (&info));
  custos_timeline_model_set_frame_duration (self->model, self->frame_us);
}

static void
on_after_paint (GdkFrameClock *clock, CustosPlayer *self)
{
  g_clear_signal_handler (&self->after_paint_id, clock);
  g_debug ("painted at %" G_GINT64_FORMAT " µs", g_get_monotonic_time ());
  g_signal_emit (self, signals[FIRST_FRAME], 0);
}

/* "first-frame" once the window has drawn it, or at once when the tile is
 * not on screen. */
static void
emit_first_frame_when_painted (CustosPlayer *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  self->awaiting_frame = FALSE;
  if (clock == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self->picture)))
    {
      g_signal_emit (self, signals[FIRST_FRAME], 0);
      return;
    }
  if (self->after_paint_id != 0)
    return;
  self->after_paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), self);
  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
}

/* A new frame is wanted (opening, seeking, stepping): a paint still due
 * is of the frame before it, whose "first-frame" would come too early. */
static void
await_frame (CustosPlayer *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  if (clock != NULL)
    g_clear_signal_handler (&self->after_paint_id, clock);
  self->awaiting_frame = TRUE;
}

static void
leave_status (CustosPlayer *self)
{
  if (self->state == CUSTOS_PLAYER_STATE_ERROR)
    return;
  show_video (self);
  if (self->state == CUSTOS_PLAYER_STATE_LOADING || self->state == CUSTOS_PLAYER_STATE_LOCKED)
    set_state (self, self->want_playing ? CUSTOS_PLAYER_STATE_PLAYING : CUSTOS_PLAYER_STATE_PAUSED);
}

/* A new frame is in the paintable (main thread): its UTC is the position. */
static void
on_frame (GdkPaintable *paintable, CustosPlayer *self)
{
  g_autoptr (GstSample) sample = NULL;
  GstBuffer *buffer;
  gint64     utc;

  /* A kept frame is shown (custos_player_step()): the sink's is not. */
  if (self->sink == NULL || self->showing_kept)
    return;
  g_object_get (self->sink, "last-sample", &sample, NULL);
  if (sample == NULL || (buffer = gst_sample_get_buffer (sample)) == NULL)
    return;
  utc = buffer_utc (self, buffer);
  if (utc != G_MININT64 && self->base_utc == G_MININT64 && GST_BUFFER_PTS_IS_VALID (buffer) &&
      self->client == NULL)
    self->base_utc = utc - (gint64) (GST_BUFFER_PTS (buffer) / GST_USECOND);
  note_frame_rate (self, gst_sample_get_caps (sample));
  if (utc != G_MININT64)
    set_position (self, utc);
  if (utc == G_MININT64 || !custos_timeline_model_is_locked (self->model, utc))
    leave_status (self);
  if (self->awaiting_frame)
    {
      g_debug ("frame %" G_GINT64_FORMAT " in the paintable at %" G_GINT64_FORMAT " µs", utc,
               g_get_monotonic_time ());
      emit_first_frame_when_painted (self);
    }
}

/* Whether this window paints with cairo: the paintable then draws frames
 * from their own pixels (see CustosVideoPaintable). */
static void
update_software_paint (CustosPlayer *self)
{
  GtkNative   *native = gtk_widget_get_native (GTK_WIDGET (self));
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;

  if (self->paintable != NULL)
    custos_video_paintable_set_software (self->paintable,
                                         renderer != NULL && GSK_IS_CAIRO_RENDERER (renderer));
}

static void
set_paintable (CustosPlayer *self, CustosVideoPaintable *paintable)
{
  GdkTexture *last = self->paintable ? custos_video_paintable_get_texture (self->paintable) : NULL;

  /* The last frame stays until the new pipeline paints one. */
  if (last != NULL && paintable != NULL)
    custos_video_paintable_set_frame (paintable, last, 1.0);
  if (self->paintable != NULL)
    g_signal_handlers_disconnect_by_func (self->paintable, on_frame, self);
  g_set_object (&self->paintable, paintable);
  if (paintable != NULL)
    g_signal_connect (paintable, "invalidate-contents", G_CALLBACK (on_frame), self);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (paintable));
  update_software_paint (self);
}

/* Network sources: a new request starts at a keyframe before the time
 * asked for; the frames before it are decoded but not shown, and the
 * sink's offset makes the first one shown due at once. */
static GstPadProbeReturn
drop_before_target (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  CustosPlayer *self = user_data;
  GstBuffer    *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  /* Set before the pipeline was made, constant while it runs. */
  gint64 target = self->drop_before_us;
  gint64 utc = buffer_utc (self, buffer);
  g_autoptr (GstEvent) event = NULL;
  const GstSegment *segment;
  guint64           running;

  if (utc != G_MININT64 && target != G_MININT64 && utc + self->frame_us <= target)
    return GST_PAD_PROBE_DROP;
  if (self->drop_offset_set)
    return GST_PAD_PROBE_OK;
  self->drop_offset_set = TRUE;
  event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (event == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (event, &segment);
  running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  if (running != GST_CLOCK_TIME_NONE)
    g_object_set (self->sink, "ts-offset", -(gint64) running, NULL);
  return GST_PAD_PROBE_OK;
}

/* Network sources cannot seek with a rate (push mode): the sink plays the
 * segment at the rate instead. The rate is fixed for the pipeline's life;
 * a change makes a new request. */
static GstPadProbeReturn
apply_network_rate (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  CustosPlayer     *self = user_data;
  GstEvent         *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstSegment *segment;
  GstSegment        copy;

  if (GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (event, &segment);
  copy = *segment;
  copy.rate = self->rate;
  GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_segment (&copy);
  gst_event_set_seqnum (GST_PAD_PROBE_INFO_DATA (info), gst_event_get_seqnum (event));
  gst_event_unref (event);
  return GST_PAD_PROBE_OK;
}

/* Keys */

static void
apply_context (CustosPlayer *self)
{
  g_autoptr (GstContext) context = NULL;

  if (self->pipeline == NULL || self->provider == NULL)
    return;
  context =
      gst_custos_key_provider_context_new (G_OBJECT (self->provider), G_OBJECT (self->interaction));
  gst_element_set_context (self->pipeline, context);
}

/* Messages */

static char *
recipient_labels (const GstStructure *s)
{
  const GValue *array = gst_structure_get_value (s, "recipients");
  g_autoptr (GString) labels = g_string_new (NULL);

  if (array == NULL || !GST_VALUE_HOLDS_ARRAY (array))
    return NULL;
  for (guint i = 0; i < gst_value_array_get_size (array); i++)
    {
      const GValue *v = gst_value_array_get_value (array, i);
      const char   *label;

      if (!GST_VALUE_HOLDS_STRUCTURE (v))
        continue;
      label = gst_structure_get_string (gst_value_get_structure (v), "label");
      if (label == NULL || *label == '\0')
        continue;
      if (labels->len > 0)
        g_string_append (labels, ", ");
      g_string_append (labels, label);
    }
  return labels->len > 0 ? g_string_free (g_steal_pointer (&labels), FALSE) : NULL;
}

static void
show_locked (CustosPlayer *self, const GstStructure *s)
{
  const char      *reason = gst_structure_get_string (s, "reason");
  g_autofree char *labels = recipient_labels (s);
  g_autofree char *description = NULL;
  const char      *what;

  if (g_strcmp0 (reason, "key-failed") == 0)
    what = _ ("The key for this camera could not be unlocked: the PIN was wrong or the smart card "
              "was removed. Insert the card and try again.");
  else
    what = _ ("This camera is encrypted. Insert the smart card enrolled for it, or add its key "
              "file.");
  if (labels != NULL)
    description = g_strdup_printf (_ ("%s It can be opened by: %s."), what, labels);
  else
    description = g_strdup (what);
  show_status (self, CUSTOS_PLAYER_STATE_LOCKED, "channel-secure-symbolic", _ ("Locked"),
               description);
}

static void
handle_element (CustosPlayer *self, GstMessage *message)
{
  const GstStructure *s = gst_message_get_structure (message);

  if (s == NULL || !custos_timeline_model_handle_message (self->model, s))
    return;
  if (gst_structure_has_name (s, "custos-locked"))
    {
      gint64   start = G_MININT64, stop = G_MAXINT64;
      gboolean nothing_shown, here;

      gst_structure_get_int64 (s, "start-utc", &start);
      gst_structure_get_int64 (s, "stop-utc", &stop);
      /* Nothing shown yet, or locked where the tile is. A range the
       * demuxer read ahead waits for poll_position(); one already behind
       * the frame shown (the message came late) is only on the timeline. */
      nothing_shown = self->position_utc == G_MININT64 ||
                      custos_video_paintable_get_texture (self->paintable) == NULL;
      here = self->position_utc != G_MININT64 && start <= self->position_utc + self->frame_us &&
             self->position_utc < stop;
      if (nothing_shown || here)
        show_locked (self, s);
    }
  update_banner (self);
}

static void
handle_error (CustosPlayer *self, GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  g_autofree char *description = NULL;
  g_autofree char *name = self->file ? g_file_get_basename (self->file) : NULL;

  gst_message_parse_error (message, &error, &debug);
  g_debug ("pipeline error: %s (%s)", error->message, debug ? debug : "");
  if (name != NULL)
    description = g_strdup_printf (_ ("%s: %s"), name, error->message);
  else
    description = g_strdup (error->message);
  destroy_pipeline (self);
  show_status (self, CUSTOS_PLAYER_STATE_ERROR, "dialog-error-symbolic",
               self->file ? _ ("Cannot Play This File") : _ ("Cannot Play This Camera"),
               description);
}

/* A seek waiting for the pipeline (no timeline origin before the preroll). */
static void
seek_now (CustosPlayer *self, gint64 utc_us);

static void
handle_async_done (CustosPlayer *self)
{
  gboolean first = !self->prerolled;

  self->prerolled = TRUE;
  if (self->pending_seek_us != G_MININT64 && self->base_utc != G_MININT64)
    {
      gint64 target = self->pending_seek_us;

      self->pending_seek_us = G_MININT64;
      seek_now (self, target);
      return;
    }
  if (self->seek_prerolled)
    {
      self->seek_prerolled = FALSE;
      g_signal_emit (self, signals[PREROLLED], 0);
      return;
    }
  if (first && self->synced && self->client == NULL)
    g_signal_emit (self, signals[PREROLLED], 0);
  else if (first && self->want_playing)
    gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
}

static void
handle_eos (CustosPlayer *self)
{
  /* An archive request ended: ask for what follows. */
  if (self->client != NULL && !self->live && self->position_utc != G_MININT64 && self->want_playing)
    {
      open_network (self, self->position_utc + self->frame_us);
      self->continuing = TRUE;
      return;
    }
  if (self->client != NULL && self->live)
    {
      destroy_pipeline (self);
      show_status (self, CUSTOS_PLAYER_STATE_ERROR, "network-error-symbolic",
                   _ ("The Live Stream Ended"),
                   _ ("The archiver closed the connection. Check that it is running, then "
                      "choose the camera again."));
      return;
    }
  self->want_playing = FALSE;
  gst_element_set_state (self->pipeline, GST_STATE_PAUSED);
  if (self->state == CUSTOS_PLAYER_STATE_PLAYING || self->state == CUSTOS_PLAYER_STATE_LOADING)
    set_state (self, CUSTOS_PLAYER_STATE_PAUSED);
}

static void
handle_state_changed (CustosPlayer *self, GstMessage *message)
{
  GstState state;

  if (GST_MESSAGE_SRC (message) != GST_OBJECT (self->pipeline))
    return;
  gst_message_parse_state_changed (message, NULL, &state, NULL);
  if (self->state != CUSTOS_PLAYER_STATE_PLAYING && self->state != CUSTOS_PLAYER_STATE_PAUSED)
    return;
  if (state == GST_STATE_PLAYING)
    set_state (self, CUSTOS_PLAYER_STATE_PLAYING);
  else if (state == GST_STATE_PAUSED)
    set_state (self, CUSTOS_PLAYER_STATE_PAUSED);
}

static void
handle_tag (CustosPlayer *self, GstMessage *message)
{
  g_autoptr (GstTagList) tags = NULL;
  g_autofree char *title = NULL;
  g_autoptr (GstDateTime) start = NULL;

  gst_message_parse_tag (message, &tags);
  /* custosdemux's date is the UTC of output time 0: known before the first
   * frame, so that seeks can be made at once. */
  if (self->base_utc == G_MININT64 && self->client == NULL &&
      gst_tag_list_get_date_time (tags, GST_TAG_DATE_TIME, &start))
    {
      g_autoptr (GDateTime) dt = gst_date_time_to_g_date_time (start);

      if (dt != NULL)
        self->base_utc =
            g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
    }
  if (self->title == NULL && gst_tag_list_get_string (tags, GST_TAG_TITLE, &title))
    custos_player_set_title (self, title);
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  CustosPlayer *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      handle_error (self, message);
      break;
    case GST_MESSAGE_EOS:
      handle_eos (self);
      break;
    case GST_MESSAGE_ELEMENT:
      handle_element (self, message);
      break;
    case GST_MESSAGE_ASYNC_DONE:
      handle_async_done (self);
      break;
    case GST_MESSAGE_STATE_CHANGED:
      handle_state_changed (self, message);
      break;
    case GST_MESSAGE_TAG:
      handle_tag (self, message);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* While playing, the clock says where the tile is even when no frame
 * comes (a locked period): the status page then says why. */
static gboolean
poll_position (gpointer user_data)
{
  CustosPlayer *self = user_data;
  gint64        pos, utc;

  if (self->pipeline == NULL || self->base_utc == G_MININT64 || !self->want_playing ||
      !gst_element_query_position (self->pipeline, GST_FORMAT_TIME, &pos))
    return G_SOURCE_CONTINUE;
  utc = self->base_utc + pos / GST_USECOND;
  if (self->state == CUSTOS_PLAYER_STATE_PLAYING &&
      custos_timeline_model_is_locked (self->model, utc))
    {
      set_position (self, utc);
      show_status (self, CUSTOS_PLAYER_STATE_LOCKED, "channel-secure-symbolic", _ ("Locked"),
                   _ ("This camera is encrypted. Insert the smart card enrolled for it, or add "
                      "its key file."));
    }
  return G_SOURCE_CONTINUE;
}

/* Pipeline */

static void
link_video (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  GstElement *sink_bin = user_data;
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink_bin, "sink");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

  if (caps != NULL &&
      !g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)), "video/"))
    return;
  if (!gst_pad_is_linked (sink_pad))
    gst_pad_link (pad, sink_pad);
}

/* The first video stream of the demuxer: decode and show it (the streaming
 * thread; GTK is not touched). */
static void
on_demux_pad (GstElement *demux, GstPad *pad, gpointer user_data)
{
  CustosPlayer *self = user_data;
  GstElement   *decodebin, *sink_bin;
  GstElement   *pipeline = GST_ELEMENT (gst_element_get_parent (demux));
  g_autoptr (GstPad) decode_pad = NULL;
  g_autofree char *name = gst_pad_get_name (pad);

  if (!g_str_has_prefix (name, "video_") || pipeline == NULL)
    {
      gst_clear_object (&pipeline);
      return;
    }
  sink_bin = gst_bin_get_by_name (GST_BIN (pipeline), "videosinkbin");
  decodebin = gst_bin_get_by_name (GST_BIN (pipeline), "decoder");
  decode_pad = gst_element_get_static_pad (decodebin, "sink");
  if (!gst_pad_is_linked (decode_pad))
    {
      gst_pad_link (pad, decode_pad);
      gst_element_sync_state_with_parent (decodebin);
      gst_element_sync_state_with_parent (sink_bin);
    }
  gst_object_unref (decodebin);
  gst_object_unref (sink_bin);
  gst_object_unref (pipeline);
  (void) self;
}

static GstElement *
make_source (CustosPlayer *self)
{
  GstElement *src;

  if (self->file != NULL)
    {
      g_autofree char *path = g_file_get_path (self->file);

      src = gst_element_factory_make ("filesrc", NULL);
      g_object_set (src, "location", path, NULL);
      return src;
    }
  src = gst_element_factory_make ("appsrc", NULL);
  g_object_set (src, "format", GST_FORMAT_BYTES, "stream-type", GST_APP_STREAM_TYPE_STREAM,
                "max-bytes", (guint64) NETWORK_QUEUE_BYTES, "block", FALSE, NULL);
  gst_app_src_set_caps (GST_APP_SRC (src), NULL);
  return src;
}

/* Grid tiles decode with one thread each: four frame-threaded decoders
 * hold many more frames (memory) for little gain on small tiles. */
static void
on_decoder_added (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL && g_str_has_prefix (GST_OBJECT_NAME (factory), "avdec_") &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (element), "max-threads") != NULL)
    g_object_set (element, "max-threads", 1, NULL);
}

static void
on_decoder_added_keep (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL &&
      gst_element_factory_list_is_type (factory, GST_ELEMENT_FACTORY_TYPE_DECODER |
                                                   GST_ELEMENT_FACTORY_TYPE_MEDIA_VIDEO))
    custos_player_frames_attach (user_data, element);
}

static gboolean
build_pipeline (CustosPlayer *self, GError **error)
{
  GstElement      *src, *decodebin, *sink_bin;
  CustosVideoSink *sink = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstPad) sink_pad = NULL;

  if (!custos_media_export_ensure_plugin (error))
    return FALSE;
  self->pipeline = gst_pipeline_new (NULL);
  src = make_source (self);
  self->demux = gst_element_factory_make ("custosdemux", "demux");
  decodebin = gst_element_factory_make ("decodebin", "decoder");
  sink_bin = custos_video_sink_bin_new (&sink);
  if (src == NULL || self->demux == NULL || decodebin == NULL || sink_bin == NULL)
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                   _ ("A GStreamer element is missing (filesrc, appsrc, decodebin or "
                      "videoconvert): install the GStreamer base plugins"));
      return FALSE;
    }
  gst_object_set_name (GST_OBJECT (sink_bin), "videosinkbin");
  gst_bin_add_many (GST_BIN (self->pipeline), src, self->demux, decodebin, sink_bin, NULL);
  gst_element_link (src, self->demux);
  g_signal_connect (self->demux, "pad-added", G_CALLBACK (on_demux_pad), self);
  g_signal_connect (decodebin, "pad-added", G_CALLBACK (link_video), sink_bin);
  if (self->synced)
    g_signal_connect (decodebin, "deep-element-added", G_CALLBACK (on_decoder_added), NULL);
  /* Grid tiles keep none (memory); network requests start anew anyway. */
  if (!self->synced && self->file != NULL)
    {
      self->frames = custos_player_frames_new ();
      g_signal_connect_data (decodebin, "deep-element-added", G_CALLBACK (on_decoder_added_keep),
                             custos_player_frames_ref (self->frames),
                             (GClosureNotify) (void (*) (void)) custos_player_frames_unref, 0);
    }
  if (self->ca_file != NULL)
    g_object_set (self->demux, "ca-file", self->ca_file, NULL);
  self->sink = sink;
  self->appsrc = self->file == NULL ? src : NULL;
  if (self->client != NULL)
    {
      self->drop_offset_set = FALSE;
      sink_pad = gst_element_get_static_pad (GST_ELEMENT (sink), "sink");
      gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER, drop_before_target, self, NULL);
      if (!self->live && self->rate != 1.0)
        gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, apply_network_rate, self,
                           NULL);
    }
  /* A camera comes at its own pace: only files share the grid's clock. */
  if (self->synced && self->client == NULL)
    {
      g_autoptr (GstClock) clock = gst_system_clock_obtain ();

      gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
      gst_element_set_start_time (self->pipeline, GST_CLOCK_TIME_NONE);
    }
  set_paintable (self, custos_video_sink_get_paintable (sink));
  apply_context (self);
  bus = gst_element_get_bus (self->pipeline);
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  self->poll_id = g_timeout_add (200, poll_position, self);
  return TRUE;
}

/* A new pipeline for the source, prerolled (and playing if wanted) at
 * from_utc (G_MININT64: the start). */
static void
start_pipeline (CustosPlayer *self, gint64 from_utc)
{
  g_autoptr (GError) error = NULL;

  destroy_pipeline (self);
  set_state (self, CUSTOS_PLAYER_STATE_LOADING);
  await_frame (self);
  if (!build_pipeline (self, &error))
    {
      destroy_pipeline (self);
      show_status (self, CUSTOS_PLAYER_STATE_ERROR, "dialog-error-symbolic", _ ("Cannot Play"),
                   error->message);
      return;
    }
  self->pending_seek_us = self->file != NULL ? from_utc : G_MININT64;
  if (gst_element_set_state (self->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
    {
      /* The bus has the reason; handle_error() shows it. */
      g_debug ("the pipeline did not start");
    }
}

/* Network */

static void
read_more (CustosPlayer *self);

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CustosPlayer *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  /* A read of a stream given up meanwhile: nothing to do. */
  if (self->appsrc == NULL || G_INPUT_STREAM (source) != self->stream)
    {
      g_object_unref (self);
      return;
    }
  self->reading = FALSE;
  if (bytes == NULL)
    {
      destroy_pipeline (self);
      show_status (self, CUSTOS_PLAYER_STATE_ERROR, "network-error-symbolic",
                   _ ("The Connection Was Lost"), error->message);
    }
  else if (g_bytes_get_size (bytes) == 0)
    gst_app_src_end_of_stream (GST_APP_SRC (self->appsrc));
  else
    {
      gst_app_src_push_buffer (GST_APP_SRC (self->appsrc), gst_buffer_new_wrapped_bytes (bytes));
      read_more (self);
    }
  g_object_unref (self);
}

static void
read_more (CustosPlayer *self)
{
  if (self->reading || self->stream == NULL || self->appsrc == NULL)
    return;
  if (gst_app_src_get_current_level_bytes (GST_APP_SRC (self->appsrc)) >= NETWORK_QUEUE_BYTES)
    {
      self->queue_full = TRUE;
      return;
    }
  self->reading = TRUE;
  g_input_stream_read_bytes_async (self->stream, NETWORK_READ_SIZE, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_read, g_object_ref (self));
}

static gboolean
need_data_idle (gpointer user_data)
{
  CustosPlayer *self = user_data;

  self->need_data_idle = 0;
  self->queue_full = FALSE;
  read_more (self);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: only schedules the main thread. */
static void
on_need_data (GstAppSrc *src, guint length, gpointer user_data)
{
  CustosPlayer *self = user_data;

  g_idle_add_full (G_PRIORITY_DEFAULT, need_data_idle, g_object_ref (self), g_object_unref);
}

static void
on_stream_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CustosPlayer *self = user_data;
  g_autoptr (GError) error = NULL;
  GInputStream *stream =
      custos_archiver_client_open_stream_finish (CUSTOS_ARCHIVER_CLIENT (source), result, &error);
  GstAppSrcCallbacks callbacks = { on_need_data, NULL, NULL, { NULL } };

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  /* Past the end of the archive: what follows is live. */
  if (stream == NULL && self->continuing &&
      g_error_matches (error, CUSTOS_ARCHIVER_CLIENT_ERROR, CUSTOS_ARCHIVER_CLIENT_ERROR_NOT_FOUND))
    {
      custos_player_go_live (self);
      g_object_unref (self);
      return;
    }
  if (stream == NULL)
    {
      show_status (self, CUSTOS_PLAYER_STATE_ERROR, "network-error-symbolic",
                   _ ("Cannot Play This Camera"), error->message);
      g_object_unref (self);
      return;
    }
  /* A live answer begins seconds back, at a sync point: decoded (the
   * seals need it) but shown only from the newest frame it had. */
  if (self->live)
    self->drop_before_us = custos_archiver_stream_get_live_edge (stream);
  start_pipeline (self, G_MININT64);
  /* start_pipeline() ended the request's cancellable with the old pipeline. */
  self->cancellable = g_cancellable_new ();
  self->stream = stream;
  if (self->appsrc != NULL)
    {
      gst_app_src_set_callbacks (GST_APP_SRC (self->appsrc), &callbacks, self, NULL);
      read_more (self);
    }
  g_object_unref (self);
}

/* What the archiver has recorded of the camera, for the timeline. */
static void
on_ranges (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CustosPlayer) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ranges =
      custos_archiver_client_get_ranges_finish (CUSTOS_ARCHIVER_CLIENT (source), result, &error);

  if (ranges == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("no recorded ranges: %s", error->message);
      return;
    }
  for (guint i = 0; i < ranges->len; i++)
    {
      const CustosTimeRange *r = &g_array_index (ranges, CustosTimeRange, i);

      /* Both ends included there, the end excluded here. */
      custos_timeline_model_add_recorded (self->model, r->from_us, r->to_us + 1);
    }
}

static void
fetch_ranges (CustosPlayer *self)
{
  g_cancellable_cancel (self->ranges_cancellable);
  g_clear_object (&self->ranges_cancellable);
  self->ranges_cancellable = g_cancellable_new ();
  custos_archiver_client_get_ranges_async (self->client, self->camera_id, self->ranges_cancellable,
                                           on_ranges, g_object_ref (self));
}

/* (Re)requests the camera: live, or the archive from from_utc on. */
static void
open_network (CustosPlayer *self, gint64 from_utc)
{
  gint64 to = self->live ? CUSTOS_ARCHIVER_LIVE : from_utc + NETWORK_CHUNK_US;

  destroy_pipeline (self);
  self->cancellable = g_cancellable_new ();
  self->network_from_us = from_utc;
  self->continuing = FALSE;
  self->base_utc = G_MININT64;
  self->drop_before_us = self->live ? G_MININT64 : from_utc;
  set_state (self, CUSTOS_PLAYER_STATE_LOADING);
  custos_archiver_client_open_stream_async (
      self->client, self->camera_id, self->live ? 0 : MAX (from_utc - self->frame_us, 0), to,
      self->privacy ? CUSTOS_ARCHIVER_STREAM_PRIVACY : CUSTOS_ARCHIVER_STREAM_ORIGINAL,
      self->cancellable, on_stream_opened, g_object_ref (self));
}

/* Seeking */

static GstSeekFlags
seek_flags (void)
{
  return GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE;
}

static void
seek_with_flags (CustosPlayer *self, gint64 utc_us, GstSeekFlags flags)
{
  gint64 pts_us = MAX (utc_us - self->base_utc, 0);

  await_frame (self);
  self->showing_kept = FALSE;
  g_debug ("seeking at %" G_GINT64_FORMAT " µs", g_get_monotonic_time ());
  set_state (self, CUSTOS_PLAYER_STATE_LOADING);
  if (!gst_element_seek (self->pipeline, self->rate, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET,
                         pts_us * GST_USECOND, GST_SEEK_TYPE_NONE, -1))
    g_debug ("seek to %" G_GINT64_FORMAT " refused", utc_us);
}

static void
seek_now (CustosPlayer *self, gint64 utc_us)
{
  seek_with_flags (self, utc_us, seek_flags ());
}

/* Templates and actions */

static void
on_timeline_seek (CustosTimeline *timeline, gint64 utc_us, CustosPlayer *self)
{
  custos_player_seek_utc (self, utc_us);
}

static void
on_timeline_scrub (CustosTimeline *timeline, gint64 utc_us, CustosPlayer *self)
{
  custos_player_scrub_utc (self, utc_us);
}

/* CustosPlayback: a tile of a grid hands playback to the grid, so that
 * all stay in step. */
static CustosPlayback *
playback_get_leader (CustosPlayback *playback)
{
  GtkWidget *parent = gtk_widget_get_parent (GTK_WIDGET (playback));

  if (!CUSTOS_PLAYER (playback)->synced || parent == NULL)
    return NULL;
  return (CustosPlayback *) gtk_widget_get_ancestor (parent, CUSTOS_TYPE_PLAYBACK);
}

static gboolean
playback_wants_play (CustosPlayback *playback)
{
  return CUSTOS_PLAYER (playback)->want_playing;
}

static void
playback_iface_init (CustosPlaybackInterface *iface)
{
  iface->play = (void (*) (CustosPlayback *)) custos_player_play;
  iface->pause = (void (*) (CustosPlayback *)) custos_player_pause;
  iface->wants_play = playback_wants_play;
  iface->step = (void (*) (CustosPlayback *, int)) custos_player_step;
  iface->set_rate = (void (*) (CustosPlayback *, double)) custos_player_set_rate;
  iface->seek_utc = (void (*) (CustosPlayback *, gint64)) custos_player_seek_utc;
  iface->go_live = (void (*) (CustosPlayback *)) custos_player_go_live;
  iface->get_leader = playback_get_leader;
}

/* GObject */

static void
custos_player_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosPlayer *self = CUSTOS_PLAYER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_POSITION_UTC:
      g_value_set_int64 (value, self->position_utc);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_LIVE:
      g_value_set_boolean (value, self->live);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_STATUS_TITLE:
      g_value_set_string (value, self->status_title);
      break;
    case PROP_STATUS_DESCRIPTION:
      g_value_set_string (value, self->status_description);
      break;
    case PROP_TIMELINE_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_SHOW_CONTROLS:
      g_value_set_boolean (value, self->show_controls);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_player_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CustosPlayer *self = CUSTOS_PLAYER (object);

  switch (prop_id)
    {
    case PROP_RATE:
      custos_player_set_rate (self, g_value_get_double (value));
      break;
    case PROP_TITLE:
      custos_player_set_title (self, g_value_get_string (value));
      break;
    case PROP_SHOW_CONTROLS:
      custos_player_set_show_controls (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_player_dispose (GObject *object)
{
  CustosPlayer  *self = CUSTOS_PLAYER (object);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  if (clock != NULL)
    g_clear_signal_handler (&self->after_paint_id, clock);
  /* Dispose may run twice: the template is gone the second time. */
  g_signal_handlers_disconnect_by_data (self->model, self);
  forget_source (self);
  if (self->picture != NULL)
    set_paintable (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CUSTOS_TYPE_PLAYER);
  /* The template's unnamed top box too. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (custos_player_parent_class)->dispose (object);
}

static void
custos_player_realize (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (custos_player_parent_class)->realize (widget);
  update_software_paint (CUSTOS_PLAYER (widget));
}

static void
custos_player_unmap (GtkWidget *widget)
{
  CustosPlayer  *self = CUSTOS_PLAYER (widget);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);

  /* A frame still due is then "painted" off screen. */
  if (clock != NULL && self->after_paint_id != 0)
    {
      g_clear_signal_handler (&self->after_paint_id, clock);
      g_signal_emit (self, signals[FIRST_FRAME], 0);
    }
  GTK_WIDGET_CLASS (custos_player_parent_class)->unmap (widget);
}

static void
custos_player_finalize (GObject *object)
{
  CustosPlayer *self = CUSTOS_PLAYER (object);

  g_clear_object (&self->provider);
  g_clear_object (&self->interaction);
  g_clear_object (&self->model);
  g_clear_object (&self->settings);
  g_free (self->ca_file);
  g_free (self->title);
  g_free (self->status_title);
  g_free (self->status_description);

  G_OBJECT_CLASS (custos_player_parent_class)->finalize (object);
}

static void
install_properties (GObjectClass *object_class)
{
  properties[PROP_STATE] =
      g_param_spec_enum ("state", NULL, NULL, CUSTOS_TYPE_PLAYER_STATE, CUSTOS_PLAYER_STATE_EMPTY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_POSITION_UTC] =
      g_param_spec_int64 ("position-utc", NULL, NULL, G_MININT64, G_MAXINT64, G_MININT64,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_RATE] =
      g_param_spec_double ("rate", NULL, NULL, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE, 1.0,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LIVE] =
      g_param_spec_boolean ("live", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TITLE] =
      g_param_spec_string ("title", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATUS_TITLE] =
      g_param_spec_string ("status-title", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATUS_DESCRIPTION] =
      g_param_spec_string ("status-description", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TIMELINE_MODEL] =
      g_param_spec_object ("timeline-model", NULL, NULL, CUSTOS_TYPE_TIMELINE_MODEL,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_CONTROLS] =
      g_param_spec_boolean ("show-controls", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_player_class_init (CustosPlayerClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = custos_player_get_property;
  object_class->set_property = custos_player_set_property;
  object_class->dispose = custos_player_dispose;
  object_class->finalize = custos_player_finalize;
  widget_class->realize = custos_player_realize;
  widget_class->unmap = custos_player_unmap;
  install_properties (object_class);

  signals[FIRST_FRAME] = g_signal_new ("first-frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[PREROLLED] = g_signal_new ("prerolled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                     NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (CUSTOS_TYPE_TIMELINE);
  g_type_ensure (CUSTOS_TYPE_PLAYER_BAR);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/custos/Custos/custos-player.ui");
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, box);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, stack);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, picture);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, status_page);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, banner_label);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, spinner);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, title_label);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, timeline);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, bar);
  gtk_widget_class_bind_template_child (widget_class, CustosPlayer, controls);
  gtk_widget_class_bind_template_callback (widget_class, on_timeline_seek);
  gtk_widget_class_bind_template_callback (widget_class, on_timeline_scrub);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "custos-player");
  custos_playback_install_actions (widget_class);

  GST_DEBUG_CATEGORY_INIT (custos_player_debug, "custosplayer", 0, "Custos player");
}

static gboolean
time_zone_to_utc (GValue *value, GVariant *variant, gpointer user_data)
{
  g_value_set_boolean (value, g_strcmp0 (g_variant_get_string (variant, NULL), "utc") == 0);
  return TRUE;
}

/* The "time-zone" setting, when the schema is installed. */
static void
bind_time_zone (CustosPlayer *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, "org.custos.Custos", TRUE);
  if (schema == NULL)
    return;
  self->settings = g_settings_new ("org.custos.Custos");
  g_settings_bind_with_mapping (self->settings, "time-zone", self->bar, "utc", G_SETTINGS_BIND_GET,
                                time_zone_to_utc, NULL, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "time-zone", self->timeline, "utc",
                                G_SETTINGS_BIND_GET, time_zone_to_utc, NULL, NULL, NULL);
}

static void
custos_player_init (CustosPlayer *self)
{
  self->rate = 1.0;
  self->position_utc = G_MININT64;
  self->base_utc = G_MININT64;
  self->pending_seek_us = G_MININT64;
  self->drop_before_us = G_MININT64;
  self->frame_us = 40000;
  self->show_controls = TRUE;
  self->model = custos_timeline_model_new ();
  gst_init (NULL, NULL);
  custos_video_sink_register ();
  gtk_widget_init_template (GTK_WIDGET (self));
  custos_timeline_set_model (self->timeline, self->model);
  custos_player_bar_set_target (self->bar, GTK_WIDGET (self));
  g_object_bind_property (self, "position-utc", self->timeline, "position-utc",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self, "title", self->title_label, "label", G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->model, "changed", G_CALLBACK (update_banner), self);
  bind_time_zone (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "player.go-live", FALSE);
  show_empty (self);
}

/* API */

CustosPlayer *
custos_player_new (void)
{
  return g_object_new (CUSTOS_TYPE_PLAYER, NULL);
}

/* A source that had locked video is read again with the new key, from where it was. */
static void
reopen_locked (CustosPlayer *self)
{
  guint n_locked = 0;

  custos_timeline_model_get_locked (self->model, &n_locked);
  if (self->state != CUSTOS_PLAYER_STATE_LOCKED && n_locked == 0)
    return;
  custos_timeline_model_clear_locked (self->model);
  show_video (self);
  if (self->file != NULL)
    start_pipeline (self, self->position_utc);
  else if (self->client != NULL)
    open_network (self, self->live ? G_MININT64 : self->position_utc);
}

void
custos_player_set_key_provider (CustosPlayer *self, CustosKeyProvider *provider,
                                GTlsInteraction *interaction)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));
  g_return_if_fail (provider == NULL || CUSTOS_IS_KEY_PROVIDER (provider));
  g_return_if_fail (interaction == NULL || G_IS_TLS_INTERACTION (interaction));

  g_set_object (&self->provider, provider);
  g_set_object (&self->interaction, interaction);
  if (provider == NULL)
    return;
  apply_context (self);
  reopen_locked (self);
}

void
custos_player_set_ca_file (CustosPlayer *self, const char *ca_file)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
}

/* The whole file on the timeline at once, from its table of contents
 * (stream time is UTC in files the archiver, custosmux and custos-cli
 * write), so that any time of it can be clicked before it was played. */
static void
file_range_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInputStream) input = g_file_read (task_data, cancellable, &error);
  g_autoptr (CustosReader) reader = NULL;
  gint64 *range;

  if (input == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  reader = custos_reader_new (G_INPUT_STREAM (input));
  range = g_new (gint64, 2);
  if (!custos_reader_get_time_range (reader, &range[0], &range[1], cancellable, &error))
    {
      g_free (range);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, range, g_free);
}

static void
on_file_range (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CustosPlayer *self = CUSTOS_PLAYER (source);
  g_autoptr (GError) error = NULL;
  g_autofree gint64 *range = g_task_propagate_pointer (G_TASK (result), &error);

  if (range == NULL)
    {
      g_debug ("no time range for the timeline: %s", error->message);
      return;
    }
  custos_timeline_model_add_recorded (self->model, range[0], range[1] + self->frame_us);
}

static void
fetch_file_range (CustosPlayer *self)
{
  g_autoptr (GTask) task = NULL;

  self->ranges_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->ranges_cancellable, on_file_range, NULL);
  g_task_set_source_tag (task, fetch_file_range);
  g_task_set_task_data (task, g_object_ref (self->file), g_object_unref);
  g_task_run_in_thread (task, file_range_thread);
}

void
custos_player_open_file (CustosPlayer *self, GFile *file)
{
  g_autofree char *name = NULL;

  g_return_if_fail (CUSTOS_IS_PLAYER (self));
  g_return_if_fail (G_IS_FILE (file));

  forget_source (self);
  self->file = g_object_ref (file);
  g_clear_pointer (&self->title, g_free);
  name = g_file_get_basename (file);
  custos_player_set_title (self, name);
  show_video (self);
  self->want_playing = TRUE;
  if (!g_file_query_exists (file, NULL))
    {
      g_autofree char *description =
          g_strdup_printf (_ ("%s does not exist or cannot be read."), name);

      show_status (self, CUSTOS_PLAYER_STATE_ERROR, "dialog-error-symbolic",
                   _ ("Cannot Play This File"), description);
      return;
    }
  fetch_file_range (self);
  start_pipeline (self, G_MININT64);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
}

void
custos_player_open_camera (CustosPlayer *self, CustosArchiverClient *client, const char *camera_id,
                           const char *title, gboolean privacy)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));
  g_return_if_fail (CUSTOS_IS_ARCHIVER_CLIENT (client));
  g_return_if_fail (camera_id != NULL);

  forget_source (self);
  self->client = g_object_ref (client);
  self->camera_id = g_strdup (camera_id);
  self->privacy = privacy;
  self->live = TRUE;
  self->want_playing = TRUE;
  custos_player_set_title (self, title ? title : camera_id);
  show_video (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "player.go-live", TRUE);
  fetch_ranges (self);
  open_network (self, G_MININT64);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
}

void
custos_player_close (CustosPlayer *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  forget_source (self);
  set_paintable (self, NULL);
  custos_player_set_title (self, NULL);
  show_empty (self);
}

void
custos_player_lock (CustosPlayer *self, const char *reason)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  if (self->file == NULL && self->client == NULL)
    return;
  /* The decoded picture came from keys that are gone: it goes too. The
   * source stays, so a key that comes back reopens it from here. */
  destroy_pipeline (self);
  set_paintable (self, NULL);
  show_status (self, CUSTOS_PLAYER_STATE_LOCKED, "channel-secure-symbolic", _ ("Locked"),
               reason != NULL ? reason
                              : _ ("The smart card was removed and its keys were wiped. Insert "
                                   "it again to go on."));
}

void
custos_player_keys_wiped (CustosPlayer *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  /* An original from an archiver came over a connection the card
   * authenticated, with keys the card unwrapped: both are gone. */
  if (self->client != NULL && !self->privacy)
    custos_player_lock (self, NULL);
  /* A file is read again: custosdemux asks for keys, and without the
   * card it says the file is locked (a plaintext file just goes on). */
  else if (self->file != NULL)
    {
      gint64 at = self->position_utc;

      destroy_pipeline (self);
      set_paintable (self, NULL);
      start_pipeline (self, at);
    }
}

void
custos_player_play (CustosPlayer *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  self->want_playing = TRUE;
  if (self->pipeline == NULL)
    return;
  /* The pipeline is a few frames on: it plays from the frame shown. */
  if (self->showing_kept)
    seek_now (self, self->position_utc + self->frame_us / 2);
  if (self->state == CUSTOS_PLAYER_STATE_PAUSED)
    set_state (self, CUSTOS_PLAYER_STATE_PLAYING);
  if (self->prerolled)
    gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
}

void
custos_player_pause (CustosPlayer *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  self->want_playing = FALSE;
  if (self->pipeline == NULL)
    return;
  if (self->state == CUSTOS_PLAYER_STATE_PLAYING)
    set_state (self, CUSTOS_PLAYER_STATE_PAUSED);
  gst_element_set_state (self->pipeline, GST_STATE_PAUSED);
}

static gint64
sample_utc (CustosPlayer *self, GstSample *sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);

  return buffer != NULL ? buffer_utc (self, buffer) : G_MININT64;
}

/* The sink's frame: where the pipeline is. */
static gint64
pipeline_utc (CustosPlayer *self)
{
  g_autoptr (GstSample) sample = NULL;

  if (self->sink == NULL)
    return G_MININT64;
  g_object_get (self->sink, "last-sample", &sample, NULL);
  return sample != NULL ? sample_utc (self, sample) : G_MININT64;
}

/* Shows the kept frame at utc_us (within half a frame), if there is one:
 * no seek, no decoding from the keyframe. It was decoded from the same
 * packets, verified as the sink's are. */
static gboolean
step_to_kept (CustosPlayer *self, gint64 utc_us)
{
  g_autoptr (GPtrArray) samples = NULL;
  GstSample *found = NULL;
  gint64     utc = G_MININT64;

  /* Not while a seek or step is under way: the kept frames are changing. */
  if (self->frames == NULL || !self->prerolled || self->pending_seek_us != G_MININT64 ||
      self->awaiting_frame || self->frame_us <= 0)
    return FALSE;
  samples = custos_player_frames_get (self->frames);
  for (guint i = 0; i < samples->len && found == NULL; i++)
    {
      utc = sample_utc (self, samples->pdata[i]);
      if (utc != G_MININT64 && ABS (utc - utc_us) < self->frame_us / 2)
        found = samples->pdata[i];
    }
  if (found == NULL)
    return FALSE;
  /* Back at the sink's frame, the sink's frame it is again. */
  self->showing_kept = utc != pipeline_utc (self);
  await_frame (self);
  if (!custos_player_frames_show (found, self->paintable))
    {
      self->showing_kept = FALSE;
      return FALSE;
    }
  if (!self->showing_kept)
    return TRUE; /* on_frame() took it as the sink's */
  g_debug ("kept frame %" G_GINT64_FORMAT " shown at %" G_GINT64_FORMAT " µs", utc,
           g_get_monotonic_time ());
  set_position (self, utc);
  if (!custos_timeline_model_is_locked (self->model, utc))
    leave_status (self);
  emit_first_frame_when_painted (self);
  return TRUE;
}

void
custos_player_step (CustosPlayer *self, int frames)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  if (self->pipeline == NULL || frames == 0 || self->position_utc == G_MININT64)
    return;
  custos_player_pause (self);
  if (step_to_kept (self, self->position_utc + frames * self->frame_us))
    return;
  /* The pipeline is at the frame shown unless a kept one is shown. */
  if (frames > 0 && self->file != NULL && self->pending_seek_us == G_MININT64 &&
      !self->showing_kept)
    {
      await_frame (self);
      gst_element_send_event (self->pipeline,
                              gst_event_new_step (GST_FORMAT_BUFFERS, frames, 1.0, TRUE, FALSE));
      return;
    }
  /* The middle of the frame wanted: an accurate seek shows it. */
  custos_player_seek_utc (self, self->position_utc + frames * self->frame_us + self->frame_us / 2);
}

void
custos_player_set_rate (CustosPlayer *self, double rate)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  rate = CLAMP (rate, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE);
  if (self->live || rate == self->rate)
    return;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
  if (self->position_utc != G_MININT64)
    custos_player_seek_utc (self, self->position_utc);
}

double
custos_player_get_rate (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), 1.0);

  return self->rate;
}

void
custos_player_seek_utc (CustosPlayer *self, gint64 utc_us)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  if (self->client != NULL)
    {
      gboolean was_live = self->live;

      self->live = FALSE;
      if (was_live)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
      open_network (self, utc_us);
      return;
    }
  if (self->pipeline == NULL)
    return;
  if (self->state == CUSTOS_PLAYER_STATE_LOCKED || self->state == CUSTOS_PLAYER_STATE_ERROR)
    show_video (self);
  if (!self->prerolled || self->base_utc == G_MININT64)
    {
      self->pending_seek_us = utc_us;
      return;
    }
  seek_now (self, utc_us);
}

void
custos_player_scrub_utc (CustosPlayer *self, gint64 utc_us)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  /* A network request per pointer motion would queue up: cameras seek when let go. */
  if (self->client != NULL || self->pipeline == NULL || !self->prerolled ||
      self->base_utc == G_MININT64)
    return;
  if (self->state == CUSTOS_PLAYER_STATE_LOCKED || self->state == CUSTOS_PLAYER_STATE_ERROR)
    show_video (self);
  seek_with_flags (self, utc_us,
                   GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE);
}

void
custos_player_go_live (CustosPlayer *self)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  if (self->client == NULL || self->live)
    return;
  self->live = TRUE;
  self->rate = 1.0;
  self->want_playing = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
  open_network (self, G_MININT64);
}

/* Snapshots */

static char *
format_iso_utc (gint64 utc_us)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autofree char *seconds = custos_time_format_short (utc_us, utc, TRUE, TRUE);

  g_strdelimit (seconds, " ", 'T');
  return g_strdup_printf ("%s.%03dZ", seconds, (int) ((utc_us % G_USEC_PER_SEC) / 1000));
}

typedef struct
{
  GdkTexture *texture;
  char       *creation_time;
  char       *title;
  gint64      utc_us;
} Snapshot;

static void
snapshot_free (Snapshot *snap)
{
  g_clear_object (&snap->texture);
  g_free (snap->creation_time);
  g_free (snap->title);
  g_free (snap);
}

static void
snapshot_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Snapshot *snap = task_data;
  g_autoptr (GBytes) png = gdk_texture_save_to_png_bytes (snap->texture);
  const char *pairs[] = {
    "Creation Time", snap->creation_time, "Software", "Custos " PACKAGE_VERSION,
    "Title",         snap->title,         NULL
  };
  GError *error = NULL;
  GBytes *tagged = custos_png_add_text (png, pairs, &error);

  if (tagged == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, tagged, (GDestroyNotify) g_bytes_unref);
}

void
custos_player_snapshot_async (CustosPlayer *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GdkTexture *texture;
  Snapshot   *snap;

  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, custos_player_snapshot_async);
  texture = self->paintable ? custos_video_paintable_get_texture (self->paintable) : NULL;
  if (texture == NULL || self->position_utc == G_MININT64)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _ ("There is no frame to save: nothing is shown."));
      return;
    }
  snap = g_new0 (Snapshot, 1);
  snap->texture = g_object_ref (texture);
  snap->creation_time = format_iso_utc (self->position_utc);
  snap->title = g_strdup (self->title);
  snap->utc_us = self->position_utc;
  g_task_set_task_data (task, snap, (GDestroyNotify) snapshot_free);
  g_task_run_in_thread (task, snapshot_thread);
}

GBytes *
custos_player_snapshot_finish (CustosPlayer *self, GAsyncResult *result, gint64 *utc_us,
                               GError **error)
{
  GBytes *png;

  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  png = g_task_propagate_pointer (G_TASK (result), error);
  if (png != NULL && utc_us != NULL)
    *utc_us = ((Snapshot *) g_task_get_task_data (G_TASK (result)))->utc_us;
  return png;
}

/* Getters */

CustosPlayerState
custos_player_get_state (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), CUSTOS_PLAYER_STATE_EMPTY);

  return self->state;
}

gint64
custos_player_get_position_utc (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), G_MININT64);

  return self->position_utc;
}

gint64
custos_player_get_frame_duration (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), 40000);

  return self->frame_us;
}

gboolean
custos_player_get_live (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), FALSE);

  return self->live;
}

const char *
custos_player_get_title (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return self->title;
}

void
custos_player_set_title (CustosPlayer *self, const char *title)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  gtk_widget_set_visible (GTK_WIDGET (self->title_label), title != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

const char *
custos_player_get_status_title (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return self->status_title;
}

const char *
custos_player_get_status_description (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return self->status_description;
}

CustosTimelineModel *
custos_player_get_timeline_model (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return self->model;
}

GdkPaintable *
custos_player_get_paintable (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return GDK_PAINTABLE (self->paintable);
}

GstElement *
custos_player_get_pipeline (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), NULL);

  return self->pipeline;
}

gboolean
custos_player_get_show_controls (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), FALSE);

  return self->show_controls;
}

void
custos_player_set_show_controls (CustosPlayer *self, gboolean show_controls)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  show_controls = !!show_controls;
  if (self->show_controls == show_controls)
    return;
  self->show_controls = show_controls;
  gtk_widget_set_visible (self->controls, show_controls);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_CONTROLS]);
}

/* For the grid */

void
_custos_player_set_synced (CustosPlayer *self, gboolean synced)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  self->synced = synced;
}

void
_custos_player_seek_prerolled (CustosPlayer *self, gint64 utc_us, double rate)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  self->rate = CLAMP (rate, CUSTOS_PLAYER_MIN_RATE, CUSTOS_PLAYER_MAX_RATE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
  if (self->pipeline == NULL || self->client != NULL || !self->prerolled ||
      self->base_utc == G_MININT64)
    {
      /* Nothing to wait for: a network tile follows on its own. */
      if (self->client != NULL)
        custos_player_seek_utc (self, utc_us);
      g_signal_emit (self, signals[PREROLLED], 0);
      return;
    }
  self->want_playing = FALSE;
  gst_element_set_state (self->pipeline, GST_STATE_PAUSED);
  self->seek_prerolled = TRUE;
  seek_now (self, utc_us);
}

gboolean
_custos_player_is_seeking (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), FALSE);

  return self->seek_prerolled;
}

void
_custos_player_start_at (CustosPlayer *self, GstClockTime base_time)
{
  g_return_if_fail (CUSTOS_IS_PLAYER (self));

  self->want_playing = TRUE;
  if (self->pipeline == NULL)
    return;
  gst_element_set_base_time (self->pipeline, base_time);
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  if (self->state == CUSTOS_PLAYER_STATE_PAUSED)
    set_state (self, CUSTOS_PLAYER_STATE_PLAYING);
}

void
_custos_player_pause_synced (CustosPlayer *self)
{
  custos_player_pause (self);
}

gboolean
_custos_player_is_camera (CustosPlayer *self)
{
  g_return_val_if_fail (CUSTOS_IS_PLAYER (self), FALSE);

  return self->client != NULL;
}
