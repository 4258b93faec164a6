/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include <gst/base/base.h>

#include "custos.h"
#include "gstcustosdemux.h"
#include "gstcustosmessages.h"
#include "gstcustospullstream.h"
#include "gstcustosqueuestream.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_demux_debug);
#define GST_CAT_DEFAULT gst_custos_demux_debug

/* Push mode: what may wait between chain() and the reader. */
#define QUEUE_BYTES (4 * 1024 * 1024)
/* The loop's way of saying it already posted the error. */
#define FLOW_ERROR_POSTED GST_FLOW_CUSTOM_ERROR
/* How far past the stop position the reader may go to reach a seal. */
#define DRAIN_LIMIT (30 * GST_SECOND)

typedef struct
{
  guint8        id;
  GstPad       *pad;
  gint64        utc_origin_us;
  GstClockTime  frame_duration;
  gboolean      need_segment;
  gboolean      need_tags;
  gboolean      discont;
  gboolean      have_locked_period;
  guint32       locked_period;
} DemuxStream;

struct _GstCustosDemux
{
  GstElement         parent_instance;

  GstPad            *sinkpad;
  GstTask           *task;
  GRecMutex          task_lock;
  gint               stopping;    /* set while stop_task() runs: no pausing */
  GCancellable      *cancellable;

  /* Properties, with the object lock. */
  CustosKeyProvider *provider;
  gboolean           provider_from_property;
  GTlsInteraction   *interaction;
  char              *ca_file;
  gboolean           verify;

  /* Streaming state: the task's, or the seek's while the task is paused. */
  gboolean           pull_mode;
  GInputStream      *input;
  CustosReader      *reader;
  gboolean           reader_has_provider;
  DemuxStream       *streams[CUSTOS_MAX_STREAMS];
  gboolean           unsupported[CUSTOS_MAX_STREAMS];
  GstFlowCombiner   *flow_combiner;
  guint32            group_id;
  gboolean           pads_complete;
  gboolean           warned_nokey;
  /* Set before the first pad appears (or with an unsupported first
   * stream, once) and cleared after the last is gone: the pads' query
   * handlers read them without a lock. */
  gboolean           have_base;
  gint64             base_utc_us;   /* UTC of output time 0 */
  gint64             index_origin_us; /* utc_origin of the stream the index follows */
  GstTagList        *tags;
  gboolean           have_range;
  gint64             first_us;      /* from the table of contents, stream time */
  gint64             last_us;
  gboolean           snap_to_keyframe;
  gint               flow;          /* GstFlowReturn chain() reports upstream */
  /* Past the segment's stop the reader reads on, pushing nothing, to the
   * seal of the records it pushed, so that they get their verdict before
   * EOS (an export of a range must know whether its last frames are
   * authentic). */
  gboolean           draining;
  gboolean           drained;
  GstClockTime       drain_limit;

  /* With the object lock: queries read them. */
  GstSegment         segment;
  guint32            seqnum;
};

enum
{
  PROP_0,
  PROP_KEY_PROVIDER,
  PROP_INTERACTION,
  PROP_CA_FILE,
  PROP_VERIFY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GstStaticPadTemplate sink_template =
  GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                           GST_STATIC_CAPS ("application/x-custos-fusion"));
static GstStaticPadTemplate video_template =
  GST_STATIC_PAD_TEMPLATE ("video_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate audio_template =
  GST_STATIC_PAD_TEMPLATE ("audio_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate metadata_template =
  GST_STATIC_PAD_TEMPLATE ("metadata_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);
static GstStaticCaps unix_caps = GST_STATIC_CAPS ("timestamp/x-unix");

#define gst_custos_demux_parent_class parent_class
G_DEFINE_FINAL_TYPE (GstCustosDemux, gst_custos_demux, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE (custosdemux, "custosdemux", GST_RANK_PRIMARY, GST_TYPE_CUSTOS_DEMUX)

static gboolean gst_custos_demux_src_event (GstPad    *pad,
                                            GstObject *parent,
                                            GstEvent  *event);
static gboolean gst_custos_demux_src_query (GstPad    *pad,
                                            GstObject *parent,
                                            GstQuery  *query);

/* Time */

/* UTC µs to the output timeline: the first packet read is at 0. */
static GstClockTime
utc_to_output (GstCustosDemux *self,
               gint64          utc_us)
{
  gint64 rel = utc_us - self->base_utc_us;

  return rel > 0 ? (GstClockTime) rel * GST_USECOND : 0;
}

static GstClockTime
stream_to_output (GstCustosDemux *self,
                  DemuxStream    *s,
                  gint64          t_us)
{
  return utc_to_output (self, s->utc_origin_us + t_us);
}

static GstClockTime
frame_duration_from_caps (GstCaps *caps)
{
  GstStructure *st = gst_caps_get_structure (caps, 0);
  int n, d;

  if (gst_structure_get_fraction (st, "framerate", &n, &d) && n > 0 && d > 0)
    return gst_util_uint64_scale_int (GST_SECOND, d, n);
  return GST_CLOCK_TIME_NONE;
}

static GstClockTime
get_duration (GstCustosDemux *self)
{
  gint64 end_utc;

  if (!self->have_range)
    return GST_CLOCK_TIME_NONE;
  if (!self->have_base)
    return (GstClockTime) MAX (self->last_us - self->first_us, 0) * GST_USECOND;
  end_utc = self->index_origin_us + self->last_us;
  return utc_to_output (self, end_utc);
}

/* Streams and pads */

static GstPadTemplate *
template_for_kind (GstCustosDemux *self,
                   guint8          kind)
{
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (self);

  switch (kind)
    {
    case CUSTOS_STREAM_KIND_VIDEO:
      return gst_element_class_get_pad_template (klass, "video_%u");
    case CUSTOS_STREAM_KIND_AUDIO:
      return gst_element_class_get_pad_template (klass, "audio_%u");
    case CUSTOS_STREAM_KIND_METADATA:
      return gst_element_class_get_pad_template (klass, "metadata_%u");
    default:
      return NULL;
    }
}

static GstCaps *
caps_for_stream (GstCustosDemux         *self,
                 const CustosStreamInfo *info)
{
  GstCaps *caps = gst_caps_from_string (info->caps);

  if (caps != NULL && !gst_caps_is_empty (caps) && gst_caps_is_fixed (caps))
    return caps;
  GST_ELEMENT_WARNING (self, STREAM, CODEC_NOT_FOUND,
                       (_ ("Stream %u cannot be played: its format is not understood."), info->id),
                       ("caps \"%s\"", info->caps));
  gst_clear_caps (&caps);
  return NULL;
}

static void
push_stream_start (GstCustosDemux         *self,
                   GstPad                 *pad,
                   const CustosStreamInfo *info)
{
  g_autofree char *stream_id = gst_pad_create_stream_id_printf (pad, GST_ELEMENT (self), "%02x",
                                                                 info->id);
  GstEvent *event = gst_event_new_stream_start (stream_id);

  gst_event_set_group_id (event, self->group_id);
  /* Metadata comes when there is something to say. */
  if (info->kind == CUSTOS_STREAM_KIND_METADATA)
    gst_event_set_stream_flags (event, GST_STREAM_FLAG_SPARSE);
  gst_pad_push_event (pad, event);
}

static DemuxStream *
stream_new (GstCustosDemux         *self,
            const CustosStreamInfo *info)
{
  GstPadTemplate *templ = template_for_kind (self, info->kind);
  g_autoptr (GstCaps) caps = templ != NULL ? caps_for_stream (self, info) : NULL;
  g_autofree char *name = NULL;
  DemuxStream *s;

  if (caps == NULL)
    return NULL;
  s = g_new0 (DemuxStream, 1);
  s->id = info->id;
  s->utc_origin_us = info->utc_origin_us;
  s->frame_duration = frame_duration_from_caps (caps);
  s->need_segment = s->need_tags = s->discont = TRUE;

  name = g_strdup_printf ("%s_%u", custos_stream_kind_to_string (info->kind), info->id);
  s->pad = gst_pad_new_from_template (templ, name);
  gst_pad_set_event_function (s->pad, gst_custos_demux_src_event);
  gst_pad_set_query_function (s->pad, gst_custos_demux_src_query);
  gst_pad_use_fixed_caps (s->pad);
  gst_pad_set_active (s->pad, TRUE);
  push_stream_start (self, s->pad, info);
  gst_pad_push_event (s->pad, gst_event_new_caps (caps));
  GST_INFO_OBJECT (self, "stream %u: %" GST_PTR_FORMAT, info->id, caps);

  return s;
}

static void
expose_stream (GstCustosDemux *self,
               DemuxStream    *s)
{
  gst_element_add_pad (GST_ELEMENT (self), s->pad);
  gst_flow_combiner_add_pad (self->flow_combiner, s->pad);
}

static void
make_tags (GstCustosDemux *self)
{
  const CustosFileHeader *header = custos_reader_get_header (self->reader);
  g_autoptr (GstDateTime) start = NULL;

  self->tags = gst_tag_list_new_empty ();
  gst_tag_list_set_scope (self->tags, GST_TAG_SCOPE_GLOBAL);
  start = gst_date_time_new_from_unix_epoch_utc_usecs (self->base_utc_us);
  if (start != NULL)
    gst_tag_list_add (self->tags, GST_TAG_MERGE_REPLACE, GST_TAG_DATE_TIME, start, NULL);
  if (header != NULL && header->name != NULL && header->name[0] != '\0')
    gst_tag_list_add (self->tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, header->name, NULL);
  gst_tag_list_add (self->tags, GST_TAG_MERGE_REPLACE, GST_TAG_CONTAINER_FORMAT,
                    "Custos fusion stream", NULL);
}

static void
set_base (GstCustosDemux *self,
          DemuxStream    *s,
          CustosPacket   *p)
{
  self->base_utc_us = s->utc_origin_us + MIN (p->pts_us, p->dts_us);
  self->have_base = TRUE;
  make_tags (self);
}

/* The index follows the first video stream (the writer's primary). */
static void
note_index_origin (GstCustosDemux *self,
                   GPtrArray      *infos)
{
  for (guint i = 0; i < infos->len; i++)
    {
      const CustosStreamInfo *info = infos->pdata[i];

      if (info->kind == CUSTOS_STREAM_KIND_VIDEO || i == 0)
        self->index_origin_us = info->utc_origin_us;
      if (info->kind == CUSTOS_STREAM_KIND_VIDEO)
        return;
    }
}

/* Pads for every declared stream: they are all known by the first packet
 * p, since descriptors precede data. The timeline's origin is fixed before
 * the pads appear, so that their queries never see it change. */
static void
ensure_pads (GstCustosDemux *self,
             CustosPacket   *p)
{
  g_autoptr (GPtrArray) infos = custos_reader_get_streams (self->reader);
  g_autoptr (GPtrArray) fresh = g_ptr_array_new ();

  for (guint i = 0; i < infos->len; i++)
    {
      const CustosStreamInfo *info = infos->pdata[i];

      if (self->streams[info->id] != NULL || self->unsupported[info->id])
        continue;
      self->streams[info->id] = stream_new (self, info);
      self->unsupported[info->id] = self->streams[info->id] == NULL;
      if (self->streams[info->id] != NULL)
        g_ptr_array_add (fresh, self->streams[info->id]);
    }
  if (p != NULL && !self->have_base && self->streams[p->stream] != NULL)
    set_base (self, self->streams[p->stream], p);
  if (!self->pads_complete)
    note_index_origin (self, infos);
  for (guint i = 0; i < fresh->len; i++)
    expose_stream (self, fresh->pdata[i]);
  if (!self->pads_complete && infos->len > 0)
    {
      self->pads_complete = TRUE;
      gst_element_no_more_pads (GST_ELEMENT (self));
    }
}

static gboolean
have_pads (GstCustosDemux *self)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    if (self->streams[i] != NULL)
      return TRUE;
  return FALSE;
}

static void
remove_pads (GstCustosDemux *self)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      DemuxStream *s = g_steal_pointer (&self->streams[i]);

      self->unsupported[i] = FALSE;
      if (s == NULL)
        continue;
      gst_flow_combiner_remove_pad (self->flow_combiner, s->pad);
      gst_pad_set_active (s->pad, FALSE);
      gst_element_remove_pad (GST_ELEMENT (self), s->pad);
      g_free (s);
    }
}

static void
push_event_all (GstCustosDemux *self,
                GstEvent       *event)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    if (self->streams[i] != NULL)
      gst_pad_push_event (self->streams[i]->pad, gst_event_ref (event));
  gst_event_unref (event);
}

/* After a seek or a flush: each pad starts a new segment, marked discont. */
static void
restart_streams (GstCustosDemux *self)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    {
      DemuxStream *s = self->streams[i];

      if (s == NULL)
        continue;
      s->need_segment = s->discont = TRUE;
      s->have_locked_period = FALSE;
    }
  gst_flow_combiner_reset (self->flow_combiner);
}

/* Events before data */

static void
send_pending_events (GstCustosDemux *self,
                     DemuxStream    *s)
{
  if (s->need_segment)
    {
      GstEvent *event;

      GST_OBJECT_LOCK (self);
      event = gst_event_new_segment (&self->segment);
      if (self->seqnum != GST_SEQNUM_INVALID)
        gst_event_set_seqnum (event, self->seqnum);
      GST_OBJECT_UNLOCK (self);
      gst_pad_push_event (s->pad, event);
      s->need_segment = FALSE;
    }
  if (s->need_tags && self->tags != NULL)
    {
      gst_pad_push_event (s->pad, gst_event_new_tag (gst_tag_list_ref (self->tags)));
      s->need_tags = FALSE;
    }
}

/* Messages */

static gint64
known_base (GstCustosDemux *self)
{
  return self->have_base ? self->base_utc_us : G_MININT64;
}

static const char *
locked_reason (GstCustosDemux *self)
{
  if (!self->reader_has_provider)
    return "no-key-provider";
  /* A failed KEK is not retried, so later periods fail silently: any
   * failure explains them. */
  if (custos_report_count (custos_reader_get_report (self->reader), CUSTOS_ISSUE_KEY_FAILED) > 0)
    return "key-failed";
  return "no-key";
}

static void
warn_locked (GstCustosDemux *self,
             CustosPacket   *p)
{
  if (self->warned_nokey)
    return;
  self->warned_nokey = TRUE;
  if (!self->reader_has_provider)
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT_NOKEY,
                         (_ ("No key provider is available: the encrypted streams stay locked.")),
                         ("set the key-provider property or provide a \"%s\" context",
                          GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE));
  else
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT_NOKEY,
                         (_ ("None of the available keys opens this recording.")),
                         ("stream %u period %u: %s", p->stream, p->period, locked_reason (self)));
}

static void
post_locked (GstCustosDemux *self,
             DemuxStream    *s,
             CustosPacket   *p)
{
  const CustosFileHeader *header = custos_reader_get_header (self->reader);
  gint64 period_us = (gint64) header->period_ms * 1000;
  /* Periods follow decoding time; a frame decoded in one may show in the next. */
  gint64 start_utc = s->utc_origin_us + MIN (p->pts_us, p->dts_us);
  gint64 stop_utc = s->utc_origin_us + MAX (((gint64) p->period + 1) * period_us, p->pts_us + 1);
  GstStructure *st;

  GST_INFO_OBJECT (self, "stream %u period %u is locked", p->stream, p->period);
  st = gst_custos_locked_new (self->reader, p->stream, p->period, locked_reason (self), start_utc,
                              stop_utc, known_base (self));
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), st));
}

/* CustosSealFunc: runs in the streaming task, inside next_packet(). */
static void
on_seal (CustosReader           *reader,
         const CustosSealResult *result,
         gpointer                user_data)
{
  GstCustosDemux *self = user_data;
  GstStructure *st = gst_custos_verification_new (result, known_base (self));

  if (self->draining)
    self->drained = TRUE;

  GST_DEBUG_OBJECT (self, "%" GST_PTR_FORMAT, st);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), st));
}

/* Packets */

static GstFlowReturn
push_packet (GstCustosDemux *self,
             DemuxStream    *s,
             CustosPacket   *p,
             GstClockTime    pts)
{
  GstBuffer *buffer = gst_buffer_new_wrapped_bytes (p->payload);
  GstFlowReturn flow;

  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DTS (buffer) = stream_to_output (self, s, p->dts_us);
  GST_BUFFER_DURATION (buffer) = s->frame_duration;
  GST_BUFFER_OFFSET (buffer) = p->offset;
  if (!(p->flags & CUSTOS_DATA_FLAG_KEYFRAME))
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (s->discont || (p->flags & CUSTOS_DATA_FLAG_DISCONT))
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  s->discont = FALSE;
  if (p->utc_us >= 0)
    {
      GstCaps *caps = gst_static_caps_get (&unix_caps);

      gst_buffer_add_reference_timestamp_meta (buffer, caps, (GstClockTime) p->utc_us * GST_USECOND,
                                               s->frame_duration);
      gst_caps_unref (caps);
    }
  GST_OBJECT_LOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (self->segment.position) || pts > self->segment.position)
    self->segment.position = pts;
  GST_OBJECT_UNLOCK (self);

  flow = gst_pad_push (s->pad, buffer);
  GST_LOG_OBJECT (s->pad, "pushed %" GST_TIME_FORMAT ": %s", GST_TIME_ARGS (pts),
                  gst_flow_get_name (flow));
  return gst_flow_combiner_update_pad_flow (self->flow_combiner, s->pad, flow);
}

/* What cannot be shown is skipped in time, so nothing downstream waits for it. */
static void
push_gap (GstCustosDemux *self,
          DemuxStream    *s,
          CustosPacket   *p,
          GstClockTime    pts)
{
  GST_LOG_OBJECT (s->pad, "gap at %" GST_TIME_FORMAT " for a %s packet", GST_TIME_ARGS (pts),
                  custos_packet_status_to_string (p->status));
  gst_pad_push_event (s->pad, gst_event_new_gap (pts, s->frame_duration));
  s->discont = TRUE;
}

static void
note_locked (GstCustosDemux *self,
             DemuxStream    *s,
             CustosPacket   *p)
{
  if (s->have_locked_period && s->locked_period == p->period)
    return;
  s->have_locked_period = TRUE;
  s->locked_period = p->period;
  warn_locked (self, p);
  post_locked (self, s, p);
}

/* After a key-unit seek the segment starts at the keyframe the reader found. */
static void
snap_segment (GstCustosDemux *self,
              GstClockTime    pts)
{
  self->snap_to_keyframe = FALSE;
  GST_OBJECT_LOCK (self);
  if (pts < self->segment.start)
    {
      GST_DEBUG_OBJECT (self, "segment starts at the keyframe at %" GST_TIME_FORMAT,
                        GST_TIME_ARGS (pts));
      self->segment.start = self->segment.time = self->segment.position = pts;
    }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
past_stop (GstCustosDemux *self,
           GstClockTime    dts)
{
  GstClockTime stop;

  GST_OBJECT_LOCK (self);
  stop = self->segment.stop;
  GST_OBJECT_UNLOCK (self);
  return GST_CLOCK_TIME_IS_VALID (stop) && dts > stop;
}

/* Whether the records read so far will meet a seal: only sealed
 * recordings are worth reading on for. */
static gboolean
expects_seal (GstCustosDemux *self)
{
  g_autoptr (GPtrArray) signers = custos_reader_get_signers (self->reader);
  gboolean verify;

  GST_OBJECT_LOCK (self);
  verify = self->verify;
  GST_OBJECT_UNLOCK (self);
  return verify && signers->len > 0;
}

static GstFlowReturn
drain (GstCustosDemux *self,
       GstClockTime    dts)
{
  if (!self->draining)
    {
      GST_OBJECT_LOCK (self);
      self->drain_limit = self->segment.stop + DRAIN_LIMIT;
      GST_OBJECT_UNLOCK (self);
      self->draining = TRUE;
      self->drained = !expects_seal (self);
      GST_DEBUG_OBJECT (self, "past the stop position; %s", self->drained ? "done" :
                        "reading on to the next seal");
    }
  if (self->drained || dts > self->drain_limit)
    return GST_FLOW_EOS;
  return GST_FLOW_OK;
}

static GstFlowReturn
handle_packet (GstCustosDemux *self,
               CustosPacket   *p)
{
  DemuxStream *s;
  GstClockTime pts;

  if (!self->pads_complete || (self->streams[p->stream] == NULL && !self->unsupported[p->stream]))
    ensure_pads (self, p);
  s = self->streams[p->stream];
  if (s == NULL)
    return GST_FLOW_OK;
  if (!self->have_base)
    set_base (self, s, p);
  pts = stream_to_output (self, s, p->pts_us);
  if (self->snap_to_keyframe)
    snap_segment (self, pts);
  if (self->draining || past_stop (self, stream_to_output (self, s, p->dts_us)))
    return drain (self, stream_to_output (self, s, p->dts_us));
  send_pending_events (self, s);

  switch (p->status)
    {
    case CUSTOS_PACKET_OK:
      if (p->payload != NULL)
        return push_packet (self, s, p, pts);
      return GST_FLOW_OK;
    case CUSTOS_PACKET_LOCKED:
      note_locked (self, s, p);
      push_gap (self, s, p, pts);
      return GST_FLOW_OK;
    case CUSTOS_PACKET_ALTERED:
    default:
      GST_WARNING_OBJECT (self, "stream %u period %u packet %u failed authentication; dropped",
                          p->stream, p->period, p->counter);
      push_gap (self, s, p, pts);
      return GST_FLOW_OK;
    }
}

/* The task */

static gboolean
take_context (GstCustosDemux *self,
              GstContext     *context)
{
  const GstStructure *s = gst_context_get_structure (context);
  const GValue *provider = gst_structure_get_value (s, "key-provider");
  const GValue *interaction = gst_structure_get_value (s, "interaction");
  gboolean taken = FALSE;

  GST_OBJECT_LOCK (self);
  if (provider != NULL && G_VALUE_HOLDS_OBJECT (provider) &&
      CUSTOS_IS_KEY_PROVIDER (g_value_get_object (provider)) && !self->provider_from_property)
    {
      g_set_object (&self->provider, g_value_get_object (provider));
      taken = TRUE;
    }
  if (interaction != NULL && G_VALUE_HOLDS_OBJECT (interaction) &&
      G_IS_TLS_INTERACTION (g_value_get_object (interaction)) && self->interaction == NULL)
    self->interaction = g_value_dup_object (interaction);
  GST_OBJECT_UNLOCK (self);
  return taken;
}

static gboolean
has_provider (GstCustosDemux *self)
{
  gboolean have;

  GST_OBJECT_LOCK (self);
  have = self->provider != NULL;
  GST_OBJECT_UNLOCK (self);
  return have;
}

/* Upstream first (a source that fetched the data may know whose keys
 * to use), then the application through the bus. */
static void
ensure_provider (GstCustosDemux *self)
{
  g_autoptr (GstQuery) query = NULL;
  GstContext *context = NULL;

  if (has_provider (self))
    return;
  query = gst_query_new_context (GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE);
  if (gst_pad_peer_query (self->sinkpad, query))
    {
      gst_query_parse_context (query, &context);
      if (context != NULL)
        gst_element_set_context (GST_ELEMENT (self), context);
    }
  if (has_provider (self))
    return;
  gst_element_post_message (GST_ELEMENT (self),
                            gst_message_new_need_context (GST_OBJECT (self),
                                                          GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE));
  GST_INFO_OBJECT (self, "key provider %s", has_provider (self) ? "received" : "not available");
}

static void
read_time_range (GstCustosDemux *self)
{
  g_autoptr (GError) error = NULL;

  self->have_range = custos_reader_get_time_range (self->reader, &self->first_us, &self->last_us,
                                                   self->cancellable, &error);
  if (!self->have_range)
    GST_INFO_OBJECT (self, "no seek index: %s", error ? error->message : "file too short");
  else
    GST_INFO_OBJECT (self, "index spans %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT " µs",
                     self->first_us, self->last_us);
}

static void
start_reader (GstCustosDemux *self)
{
  ensure_provider (self);
  self->reader = custos_reader_new (self->input);
  GST_OBJECT_LOCK (self);
  custos_reader_set_key_provider (self->reader, self->provider);
  custos_reader_set_interaction (self->reader, self->interaction);
  custos_reader_set_ca_file (self->reader, self->ca_file);
  custos_reader_set_verify (self->reader, self->verify);
  self->reader_has_provider = self->provider != NULL;
  GST_OBJECT_UNLOCK (self);
  custos_reader_set_seal_func (self->reader, on_seal, self, NULL);
  if (self->pull_mode)
    read_time_range (self);
}

static GstFlowReturn
end_of_data (GstCustosDemux *self,
             const GError   *error)
{
  if (error == NULL)
    {
      ensure_pads (self, NULL);
      if (have_pads (self))
        return GST_FLOW_EOS;
      GST_ELEMENT_ERROR (self, STREAM, DEMUX, (_ ("The recording holds no playable stream.")), (NULL));
      return FLOW_ERROR_POSTED;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return GST_FLOW_FLUSHING;
  /* Upstream posted its own error. */
  if (self->pull_mode &&
      gst_custos_pull_stream_get_flow (GST_CUSTOS_PULL_STREAM (self->input)) < GST_FLOW_EOS)
    return gst_custos_pull_stream_get_flow (GST_CUSTOS_PULL_STREAM (self->input));
  if (error->domain == CUSTOS_FORMAT_ERROR)
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE, ("%s", error->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, STREAM, DEMUX, ("%s", error->message), (NULL));
  return FLOW_ERROR_POSTED;
}

/* A pad that got no data yet still gets its segment before EOS. */
static void
push_pending_all (GstCustosDemux *self)
{
  for (guint i = 0; i < CUSTOS_MAX_STREAMS; i++)
    if (self->streams[i] != NULL)
      send_pending_events (self, self->streams[i]);
}

static void
finish_segment (GstCustosDemux *self)
{
  GstSegmentFlags flags;
  guint32 seqnum;
  GstClockTime position;
  GstEvent *event;

  GST_OBJECT_LOCK (self);
  flags = self->segment.flags;
  seqnum = self->seqnum;
  position = self->segment.stop;
  if (!GST_CLOCK_TIME_IS_VALID (position))
    position = self->segment.position;
  GST_OBJECT_UNLOCK (self);

  push_pending_all (self);
  if (flags & GST_SEGMENT_FLAG_SEGMENT)
    {
      GstMessage *message = gst_message_new_segment_done (GST_OBJECT (self), GST_FORMAT_TIME,
                                                          position);

      if (seqnum != GST_SEQNUM_INVALID)
        gst_message_set_seqnum (message, seqnum);
      gst_element_post_message (GST_ELEMENT (self), message);
      event = gst_event_new_segment_done (GST_FORMAT_TIME, position);
    }
  else
    event = gst_event_new_eos ();
  if (seqnum != GST_SEQNUM_INVALID)
    gst_event_set_seqnum (event, seqnum);
  push_event_all (self, event);
}

static void
pause_task (GstCustosDemux *self,
            GstFlowReturn   flow)
{
  GST_DEBUG_OBJECT (self, "pausing: %s", gst_flow_get_name (flow));
  /* Pausing a task being stopped would set it back to PAUSED, and it
   * would wait there for ever while stop_task() joins it. */
  if (!g_atomic_int_get (&self->stopping))
    gst_task_pause (self->task);
  if (flow == FLOW_ERROR_POSTED)
    flow = GST_FLOW_ERROR;
  else if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS)
    GST_ELEMENT_FLOW_ERROR (self, flow);
  g_atomic_int_set (&self->flow, flow);
  if (flow == GST_FLOW_FLUSHING)
    return;
  if (flow == GST_FLOW_EOS)
    finish_segment (self);
  else
    {
      push_pending_all (self);
      push_event_all (self, gst_event_new_eos ());
    }
}

static void
gst_custos_demux_loop (gpointer user_data)
{
  GstCustosDemux *self = user_data;
  g_autoptr (CustosPacket) packet = NULL;
  g_autoptr (GError) error = NULL;
  GstFlowReturn flow;

  if (self->reader == NULL)
    start_reader (self);
  packet = custos_reader_next_packet (self->reader, self->cancellable, &error);
  if (packet != NULL)
    flow = handle_packet (self, packet);
  else
    flow = end_of_data (self, error);
  if (flow != GST_FLOW_OK)
    pause_task (self, flow);
}

static void
stop_task (GstCustosDemux *self)
{
  if (!self->pull_mode && self->input != NULL)
    gst_custos_queue_stream_set_flushing (GST_CUSTOS_QUEUE_STREAM (self->input), TRUE);
  g_cancellable_cancel (self->cancellable);
  g_atomic_int_set (&self->stopping, TRUE);
  gst_task_stop (self->task);
  /* The task lock is held for each iteration: taking it waits out the one
   * that may have paused the task after the stop above; stop it again. */
  g_rec_mutex_lock (&self->task_lock);
  gst_task_stop (self->task);
  g_rec_mutex_unlock (&self->task_lock);
  gst_task_join (self->task);
  g_atomic_int_set (&self->stopping, FALSE);
}

/* Seeking (pull mode) */

static gboolean
parse_seek (GstCustosDemux *self,
            GstEvent       *event,
            GstSegment     *segment)
{
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gboolean update;

  gst_event_parse_seek (event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
  if (format != GST_FORMAT_TIME || rate <= 0.0 || !self->have_range || !self->have_base)
    {
      GST_DEBUG_OBJECT (self, "refusing seek: format %s, rate %f, index %d",
                        gst_format_get_name (format), rate, self->have_range);
      return FALSE;
    }
  GST_OBJECT_LOCK (self);
  *segment = self->segment;
  GST_OBJECT_UNLOCK (self);
  return gst_segment_do_seek (segment, rate, format, flags, start_type, start, stop_type, stop,
                              &update);
}

/* With the task paused: a failed seek may leave the input anywhere, so
 * reading starts over from the beginning. */
static gboolean
seek_reader (GstCustosDemux *self,
             GstClockTime    position)
{
  gint64 target = self->base_utc_us + (gint64) (position / GST_USECOND) - self->index_origin_us;
  g_autoptr (GError) error = NULL;

  if (self->reader == NULL)
    return FALSE;
  if (custos_reader_seek (self->reader, target, self->cancellable, &error))
    return TRUE;
  GST_ELEMENT_WARNING (self, STREAM, DEMUX, (_ ("Seeking failed: %s"), error->message), (NULL));
  g_clear_object (&self->reader);
  g_seekable_seek (G_SEEKABLE (self->input), 0, G_SEEK_SET, NULL, NULL);
  return FALSE;
}

static gboolean
do_seek (GstCustosDemux *self,
         GstEvent       *event)
{
  guint32 seqnum = gst_event_get_seqnum (event);
  GstSeekFlags flags;
  GstSegment segment;
  gboolean flush, ok;

  if (!parse_seek (self, event, &segment))
    return FALSE;
  gst_event_parse_seek (event, NULL, NULL, &flags, NULL, NULL, NULL, NULL);
  flush = (flags & GST_SEEK_FLAG_FLUSH) != 0;
  if (flush)
    {
      GstEvent *start = gst_event_new_flush_start ();

      gst_event_set_seqnum (start, seqnum);
      push_event_all (self, start);
    }
  g_cancellable_cancel (self->cancellable);
  gst_task_pause (self->task);
  /* The task lock is held for each iteration: taking it waits for the loop. */
  g_rec_mutex_lock (&self->task_lock);
  g_cancellable_reset (self->cancellable);
  if (flush)
    {
      GstEvent *stop = gst_event_new_flush_stop (TRUE);

      gst_event_set_seqnum (stop, seqnum);
      push_event_all (self, stop);
    }
  ok = seek_reader (self, segment.position);
  if (ok)
    {
      GST_OBJECT_LOCK (self);
      self->segment = segment;
      self->seqnum = seqnum;
      GST_OBJECT_UNLOCK (self);
      self->snap_to_keyframe = (flags & GST_SEEK_FLAG_KEY_UNIT) != 0;
      self->draining = self->drained = FALSE;
    }
  restart_streams (self);
  g_atomic_int_set (&self->flow, GST_FLOW_OK);
  gst_task_start (self->task);
  g_rec_mutex_unlock (&self->task_lock);
  return ok;
}

/* Source pads */

static gboolean
gst_custos_demux_src_event (GstPad    *pad,
                            GstObject *parent,
                            GstEvent  *event)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (parent);
  gboolean ok;

  if (GST_EVENT_TYPE (event) != GST_EVENT_SEEK)
    return gst_pad_event_default (pad, parent, event);
  /* Live input cannot seek here; upstream may know how. */
  if (!self->pull_mode)
    return gst_pad_push_event (self->sinkpad, event);
  ok = do_seek (self, event);
  gst_event_unref (event);
  return ok;
}

static gboolean
answer_context (GstCustosDemux *self,
                GstQuery       *query)
{
  const char *type;
  g_autoptr (GObject) provider = NULL;

  gst_query_parse_context_type (query, &type);
  if (g_strcmp0 (type, GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE) != 0)
    return FALSE;
  GST_OBJECT_LOCK (self);
  if (self->provider != NULL)
    provider = g_object_ref (G_OBJECT (self->provider));
  GST_OBJECT_UNLOCK (self);
  if (provider == NULL)
    return FALSE;
  gst_query_set_context (query, gst_custos_key_provider_context_new (provider, NULL));
  return TRUE;
}

static gboolean
gst_custos_demux_src_query (GstPad    *pad,
                            GstObject *parent,
                            GstQuery  *query)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (parent);
  GstFormat format;

  switch (GST_QUERY_TYPE (query))
    {
    case GST_QUERY_POSITION:
      gst_query_parse_position (query, &format, NULL);
      if (format != GST_FORMAT_TIME)
        return FALSE;
      GST_OBJECT_LOCK (self);
      gst_query_set_position (query, GST_FORMAT_TIME, self->segment.position);
      GST_OBJECT_UNLOCK (self);
      return TRUE;
    case GST_QUERY_DURATION:
      gst_query_parse_duration (query, &format, NULL);
      if (format != GST_FORMAT_TIME || !self->have_range)
        return FALSE;
      gst_query_set_duration (query, GST_FORMAT_TIME, get_duration (self));
      return TRUE;
    case GST_QUERY_SEEKING:
      gst_query_parse_seeking (query, &format, NULL, NULL, NULL);
      if (format != GST_FORMAT_TIME)
        return FALSE;
      gst_query_set_seeking (query, GST_FORMAT_TIME, self->pull_mode && self->have_range, 0,
                             self->have_range ? (gint64) get_duration (self) : -1);
      return TRUE;
    case GST_QUERY_CONTEXT:
      return answer_context (self, query) || gst_pad_query_default (pad, parent, query);
    default:
      return gst_pad_query_default (pad, parent, query);
    }
}

/* Sink pad */

static gboolean
gst_custos_demux_sink_activate (GstPad    *pad,
                                GstObject *parent)
{
  g_autoptr (GstQuery) query = gst_query_new_scheduling ();
  gboolean pull = gst_pad_peer_query (pad, query) &&
                  gst_query_has_scheduling_mode_with_flags (query, GST_PAD_MODE_PULL,
                                                            GST_SCHEDULING_FLAG_SEEKABLE);

  GST_DEBUG_OBJECT (parent, "activating in %s mode", pull ? "pull" : "push");
  return gst_pad_activate_mode (pad, pull ? GST_PAD_MODE_PULL : GST_PAD_MODE_PUSH, TRUE);
}

static gboolean
gst_custos_demux_sink_activate_mode (GstPad     *pad,
                                     GstObject  *parent,
                                     GstPadMode  mode,
                                     gboolean    active)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (parent);

  if (!active)
    {
      stop_task (self);
      return TRUE;
    }
  self->pull_mode = mode == GST_PAD_MODE_PULL;
  g_clear_object (&self->reader);
  g_clear_object (&self->input);
  if (self->pull_mode)
    self->input = gst_custos_pull_stream_new (pad);
  else
    self->input = G_INPUT_STREAM (gst_custos_queue_stream_new (QUEUE_BYTES));
  g_cancellable_reset (self->cancellable);
  g_atomic_int_set (&self->flow, GST_FLOW_OK);
  return gst_task_start (self->task);
}

static GstFlowReturn
gst_custos_demux_chain (GstPad    *pad,
                        GstObject *parent,
                        GstBuffer *buffer)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (parent);
  GstFlowReturn flow = gst_custos_queue_stream_push (GST_CUSTOS_QUEUE_STREAM (self->input),
                                                     buffer);

  if (flow != GST_FLOW_OK)
    return flow;
  /* Downstream's verdict (not linked, EOS, error) reaches upstream here. */
  return g_atomic_int_get (&self->flow);
}

static void
flush_stop (GstCustosDemux *self,
            GstEvent       *event)
{
  g_rec_mutex_lock (&self->task_lock);
  /* Data after a flush starts elsewhere: a new reader meets it. */
  g_clear_object (&self->reader);
  gst_custos_queue_stream_set_flushing (GST_CUSTOS_QUEUE_STREAM (self->input), FALSE);
  g_cancellable_reset (self->cancellable);
  restart_streams (self);
  self->draining = self->drained = FALSE;
  g_atomic_int_set (&self->flow, GST_FLOW_OK);
  push_event_all (self, event);
  gst_task_start (self->task);
  g_rec_mutex_unlock (&self->task_lock);
}

static gboolean
gst_custos_demux_sink_event (GstPad    *pad,
                             GstObject *parent,
                             GstEvent  *event)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (parent);

  if (self->pull_mode)
    return gst_pad_event_default (pad, parent, event);
  switch (GST_EVENT_TYPE (event))
    {
    case GST_EVENT_EOS:
      gst_custos_queue_stream_push_eos (GST_CUSTOS_QUEUE_STREAM (self->input));
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_FLUSH_START:
      gst_custos_queue_stream_set_flushing (GST_CUSTOS_QUEUE_STREAM (self->input), TRUE);
      g_cancellable_cancel (self->cancellable);
      push_event_all (self, event);
      gst_task_pause (self->task);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      flush_stop (self, event);
      return TRUE;
    case GST_EVENT_SEGMENT:
    case GST_EVENT_CAPS:
    case GST_EVENT_STREAM_START:
      /* Ours come from the data: a TIME segment, the streams' caps. */
      gst_event_unref (event);
      return TRUE;
    default:
      return gst_pad_event_default (pad, parent, event);
    }
}

/* GstElement */

static void
reset_state (GstCustosDemux *self)
{
  remove_pads (self);
  g_clear_object (&self->reader);
  g_clear_object (&self->input);
  g_clear_pointer (&self->tags, gst_tag_list_unref);
  gst_flow_combiner_clear (self->flow_combiner);
  self->group_id = gst_util_group_id_next ();
  self->pads_complete = FALSE;
  self->warned_nokey = FALSE;
  self->have_base = FALSE;
  self->have_range = FALSE;
  self->snap_to_keyframe = FALSE;
  self->draining = self->drained = FALSE;
  self->index_origin_us = 0;
  GST_OBJECT_LOCK (self);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->seqnum = GST_SEQNUM_INVALID;
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_custos_demux_change_state (GstElement     *element,
                               GstStateChange  transition)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    reset_state (self);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset_state (self);
  return ret;
}

static void
gst_custos_demux_set_context (GstElement *element,
                              GstContext *context)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (element);

  /* Not inside the log macro: its arguments vanish when logging is off. */
  if (g_strcmp0 (gst_context_get_context_type (context), GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE) == 0)
    {
      gboolean taken = take_context (self, context);

      GST_DEBUG_OBJECT (self, "key provider context %s", taken ? "taken" : "ignored");
    }
  GST_ELEMENT_CLASS (parent_class)->set_context (element, context);
}

/* GObject */

static void
gst_custos_demux_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_KEY_PROVIDER:
      g_set_object (&self->provider, g_value_get_object (value));
      self->provider_from_property = self->provider != NULL;
      break;
    case PROP_INTERACTION:
      g_set_object (&self->interaction, g_value_get_object (value));
      break;
    case PROP_CA_FILE:
      g_free (self->ca_file);
      self->ca_file = g_value_dup_string (value);
      break;
    case PROP_VERIFY:
      self->verify = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_custos_demux_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_KEY_PROVIDER:
      g_value_set_object (value, self->provider);
      break;
    case PROP_INTERACTION:
      g_value_set_object (value, self->interaction);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_VERIFY:
      g_value_set_boolean (value, self->verify);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_custos_demux_finalize (GObject *object)
{
  GstCustosDemux *self = GST_CUSTOS_DEMUX (object);

  gst_clear_object (&self->task);
  g_rec_mutex_clear (&self->task_lock);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->provider);
  g_clear_object (&self->interaction);
  g_clear_pointer (&self->ca_file, g_free);
  g_clear_object (&self->reader);
  g_clear_object (&self->input);
  g_clear_pointer (&self->tags, gst_tag_list_unref);
  g_clear_pointer (&self->flow_combiner, gst_flow_combiner_free);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass *object_class)
{
  properties[PROP_KEY_PROVIDER] =
    g_param_spec_object ("key-provider", "Key provider",
                         "Opens encrypted streams (a CustosKeyProvider, e.g. the app's keyring); "
                         "without it, the \"" GST_CUSTOS_KEY_PROVIDER_CONTEXT_TYPE "\" context",
                         CUSTOS_TYPE_KEY_PROVIDER,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_INTERACTION] =
    g_param_spec_object ("interaction", "Interaction",
                         "Asks for PINs and passphrases when a key needs one",
                         G_TYPE_TLS_INTERACTION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_CA_FILE] =
    g_param_spec_string ("ca-file", "CA file",
                         "CA certificates (PEM) the seals' signers must chain to; without them "
                         "signatures are checked but the signer is not trusted",
                         NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_VERIFY] =
    g_param_spec_boolean ("verify", "Verify",
                          "Check the seals and post custos-verification messages",
                          TRUE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                          GST_PARAM_MUTABLE_READY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gst_custos_demux_class_init (GstCustosDemuxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  object_class->set_property = gst_custos_demux_set_property;
  object_class->get_property = gst_custos_demux_get_property;
  object_class->finalize = gst_custos_demux_finalize;
  install_properties (object_class);

  element_class->change_state = gst_custos_demux_change_state;
  element_class->set_context = gst_custos_demux_set_context;
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &metadata_template);
  gst_element_class_set_static_metadata (element_class, "Custos fusion stream demuxer",
                                         "Codec/Demuxer/Decryptor",
                                         "Verifies and decrypts a Custos fusion stream into its "
                                         "video, audio and metadata streams",
                                         "The Custos authors");
  GST_DEBUG_CATEGORY_INIT (gst_custos_demux_debug, "custosdemux", 0, "Custos fusion demuxer");
}

static void
gst_custos_demux_init (GstCustosDemux *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_activate_function (self->sinkpad, gst_custos_demux_sink_activate);
  gst_pad_set_activatemode_function (self->sinkpad, gst_custos_demux_sink_activate_mode);
  gst_pad_set_chain_function (self->sinkpad, gst_custos_demux_chain);
  gst_pad_set_event_function (self->sinkpad, gst_custos_demux_sink_event);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  g_rec_mutex_init (&self->task_lock);
  self->task = gst_task_new (gst_custos_demux_loop, self, NULL);
  gst_task_set_lock (self->task, &self->task_lock);
  gst_object_set_name (GST_OBJECT (self->task), "custosdemux:task");
  self->cancellable = g_cancellable_new ();
  self->flow_combiner = gst_flow_combiner_new ();
  self->verify = TRUE;
  self->seqnum = GST_SEQNUM_INVALID;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}
