/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "custos.h"
#include "custos-gst-time.h"
#include "gstcustosmux.h"
#include "gstcustoswritestream.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_mux_debug);
#define GST_CAT_DEFAULT gst_custos_mux_debug

#define DEFAULT_PERIOD_MS CUSTOS_DEFAULT_PERIOD_MS
#define DEFAULT_SEAL_MS   CUSTOS_DEFAULT_SEAL_MS
/* The format's string limit for caps (docs/fusion-stream.md §3.3). */
#define MAX_CAPS_STRING   4096

/* Sink pads */

#define GST_TYPE_CUSTOS_MUX_PAD (gst_custos_mux_pad_get_type ())

G_DECLARE_FINAL_TYPE (GstCustosMuxPad, gst_custos_mux_pad, GST, CUSTOS_MUX_PAD, GstAggregatorPad)

struct _GstCustosMuxPad
{
  GstAggregatorPad parent_instance;

  CustosStreamKind kind;
  char            *caps;        /* as the stream descriptor will say it */
  int              stream;      /* the writer's id; -1 without one */
  gint64           last_dts_us;
};

G_DEFINE_FINAL_TYPE (GstCustosMuxPad, gst_custos_mux_pad, GST_TYPE_AGGREGATOR_PAD)

static void
gst_custos_mux_pad_finalize (GObject *object)
{
  g_clear_pointer (&GST_CUSTOS_MUX_PAD (object)->caps, g_free);
  G_OBJECT_CLASS (gst_custos_mux_pad_parent_class)->finalize (object);
}

static void
gst_custos_mux_pad_class_init (GstCustosMuxPadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_custos_mux_pad_finalize;
}

static void
gst_custos_mux_pad_init (GstCustosMuxPad *pad)
{
  pad->stream = -1;
  pad->last_dts_us = G_MININT64;
}

/* The element */

struct _GstCustosMux
{
  GstAggregator  parent_instance;

  /* Properties, with the object lock. */
  char         **recipients;
  char          *signer_key;
  char          *signer_cert;
  char          *signer_chain;
  gboolean       encrypted;
  gboolean       privacy;
  gboolean       allow_legacy;
  guint          period_ms;
  guint          epoch_ms;
  guint          seal_ms;
  gboolean       indexed;
  char          *name;
  gint64         start_utc_us;
  gboolean       utc_from_meta;
  GPtrArray     *added;         /* CustosCertificate from "add-recipient" */
  guint          n_added_given; /* how many of them the writer has */
  guint          pad_serial[4]; /* by CustosStreamKind */

  /* The aggregator's streaming thread, and start/stop. */
  GOutputStream *output;
  CustosWriter  *writer;
  gboolean       streams_added;
  gboolean       finished;
  gboolean       have_origin;
  gint64         origin_us;     /* UTC of running time 0 */
  GstClockTime   out_time;      /* running time of what is being written */
};

enum
{
  PROP_0,
  PROP_RECIPIENTS,
  PROP_SIGNER_KEY,
  PROP_SIGNER_CERT,
  PROP_SIGNER_CHAIN,
  PROP_ENCRYPTED,
  PROP_PRIVACY,
  PROP_ALLOW_LEGACY,
  PROP_PERIOD_MS,
  PROP_EPOCH_MS,
  PROP_SEAL_MS,
  PROP_INDEXED,
  PROP_CAMERA_NAME,
  PROP_START_UTC,
  PROP_UTC_FROM_META,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GstStaticPadTemplate src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                           GST_STATIC_CAPS ("application/x-custos-fusion"));
static GstStaticPadTemplate video_template =
  GST_STATIC_PAD_TEMPLATE ("video_%u", GST_PAD_SINK, GST_PAD_REQUEST,
                           GST_STATIC_CAPS ("video/x-h264, stream-format=(string)byte-stream, "
                                            "alignment=(string)au; "
                                            "video/x-h265, stream-format=(string)byte-stream, "
                                            "alignment=(string)au; "
                                            "video/x-vp8; video/x-vp9; video/x-av1; image/jpeg"));
static GstStaticPadTemplate audio_template =
  GST_STATIC_PAD_TEMPLATE ("audio_%u", GST_PAD_SINK, GST_PAD_REQUEST,
                           GST_STATIC_CAPS ("audio/x-opus; audio/mpeg, mpegversion=(int)1; "
                                            "audio/mpeg, mpegversion=(int){2,4}, "
                                            "stream-format=(string){adts,raw}; "
                                            "audio/x-alaw; audio/x-mulaw"));
static GstStaticPadTemplate metadata_template =
  GST_STATIC_PAD_TEMPLATE ("metadata_%u", GST_PAD_SINK, GST_PAD_REQUEST,
                           GST_STATIC_CAPS ("application/x-onvif-metadata; meta/x-klv; "
                                            "application/x-custos-metadata; "
                                            "text/x-raw, format=(string)utf8"));
static GstStaticCaps unix_caps = GST_STATIC_CAPS ("timestamp/x-unix");

#define gst_custos_mux_parent_class parent_class
G_DEFINE_FINAL_TYPE (GstCustosMux, gst_custos_mux, GST_TYPE_AGGREGATOR)
GST_ELEMENT_REGISTER_DEFINE (custosmux, "custosmux", GST_RANK_PRIMARY, GST_TYPE_CUSTOS_MUX)

/* Configuration */

static gboolean
add_recipient_files (GstCustosMux *self,
                     char        **paths,
                     gboolean      legacy,
                     guint        *count,
                     GError      **error)
{
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autoptr (CustosCertificate) cert = custos_certificate_new_from_file (paths[i], error);

      if (cert == NULL || !custos_writer_add_recipient (self->writer, cert, legacy, error))
        {
          g_prefix_error (error, "%s: ", paths[i]);
          return FALSE;
        }
      (*count)++;
    }
  return TRUE;
}

/* Recipients from "add-recipient" the writer does not have yet. */
static gboolean
add_new_recipients (GstCustosMux *self,
                    guint        *count,
                    GError      **error)
{
  g_autoptr (GPtrArray) fresh = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean legacy, ok = TRUE;

  GST_OBJECT_LOCK (self);
  for (guint i = self->n_added_given; i < self->added->len; i++)
    g_ptr_array_add (fresh, g_object_ref (self->added->pdata[i]));
  self->n_added_given = self->added->len;
  legacy = self->allow_legacy;
  GST_OBJECT_UNLOCK (self);

  /* One refusal does not keep the others out; the first is reported. */
  for (guint i = 0; i < fresh->len; i++)
    {
      g_autoptr (GError) local = NULL;

      if (custos_writer_add_recipient (self->writer, fresh->pdata[i], legacy, &local))
        (*count)++;
      else if (ok)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          ok = FALSE;
        }
    }
  return ok;
}

static gboolean
set_signer (GstCustosMux *self,
            const char   *key_path,
            const char   *cert_path,
            const char   *chain_path,
            GError      **error)
{
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (GPtrArray) chain = NULL;
  g_autoptr (GPtrArray) more = NULL;

  if (key_path == NULL && cert_path == NULL)
    return TRUE;
  if (key_path == NULL || cert_path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("sealing needs both signer-key and signer-cert"));
      return FALSE;
    }
  if ((key = custos_private_key_load (key_path, NULL, error)) == NULL ||
      (chain = custos_certificate_load_chain (cert_path, error)) == NULL ||
      (chain_path != NULL && (more = custos_certificate_load_chain (chain_path, error)) == NULL))
    return FALSE;
  for (guint i = 0; more != NULL && i < more->len; i++)
    g_ptr_array_add (chain, g_object_ref (more->pdata[i]));
  return custos_writer_set_signer (self->writer, key, chain, error);
}

static guint
effective_epoch_ms (guint period_ms,
                    guint epoch_ms)
{
  if (epoch_ms == 0)
    return MAX (CUSTOS_DEFAULT_EPOCH_MS / period_ms, 1) * period_ms;
  return epoch_ms;
}

static gboolean
check_intervals (guint     period_ms,
                 guint     epoch_ms,
                 GError  **error)
{
  if (epoch_ms >= period_ms && epoch_ms <= CUSTOS_MAX_EPOCH_MS && epoch_ms % period_ms == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _ ("epoch-ms (%u) must be a multiple of period-ms (%u), at most %u"), epoch_ms,
               period_ms, CUSTOS_MAX_EPOCH_MS);
  return FALSE;
}

static gboolean
configure_writer (GstCustosMux *self,
                  GError      **error)
{
  g_auto (GStrv) recipients = NULL;
  g_autofree char *key = NULL, *cert = NULL, *chain = NULL;
  guint period_ms, epoch_ms, seal_ms, count = 0;
  gboolean legacy, encrypted;

  GST_OBJECT_LOCK (self);
  recipients = g_strdupv (self->recipients);
  key = g_strdup (self->signer_key);
  cert = g_strdup (self->signer_cert);
  chain = g_strdup (self->signer_chain);
  period_ms = self->period_ms;
  epoch_ms = effective_epoch_ms (self->period_ms, self->epoch_ms);
  seal_ms = self->seal_ms;
  legacy = self->allow_legacy;
  encrypted = self->encrypted;
  self->n_added_given = 0;
  custos_writer_set_indexed (self->writer, self->indexed);
  GST_OBJECT_UNLOCK (self);

  if (!check_intervals (period_ms, epoch_ms, error))
    return FALSE;
  custos_writer_set_intervals (self->writer, period_ms, epoch_ms, seal_ms);
  if (!add_recipient_files (self, recipients, legacy, &count, error) ||
      !add_new_recipients (self, &count, error) || !set_signer (self, key, cert, chain, error))
    return FALSE;
  if (encrypted && count == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("an encrypted recording needs at least one recipient "
                              "(set recipients, or encrypted=false)"));
      return FALSE;
    }
  return TRUE;
}

/* Output */

static GstFlowReturn
push_output (GstBuffer *buffer,
             gpointer   user_data)
{
  GstCustosMux *self = user_data;

  GST_BUFFER_PTS (buffer) = GST_BUFFER_DTS (buffer) = self->out_time;
  return gst_aggregator_finish_buffer (GST_AGGREGATOR (self), buffer);
}

/* A failed write is downstream's flow when downstream refused the data,
 * otherwise the writer's error. */
static GstFlowReturn
write_failed (GstCustosMux *self,
              const GError *error)
{
  GstFlowReturn flow = gst_custos_write_stream_get_flow (GST_CUSTOS_WRITE_STREAM (self->output));

  if (flow != GST_FLOW_OK)
    return flow;
  GST_ELEMENT_ERROR (self, STREAM, MUX, ("%s", error->message), (NULL));
  return GST_FLOW_ERROR;
}

static GstFlowReturn
finish (GstCustosMux *self)
{
  g_autoptr (GError) error = NULL;

  if (self->finished)
    return GST_FLOW_EOS;
  self->finished = TRUE;
  GST_INFO_OBJECT (self, "closing the recording");
  if (!custos_writer_close (self->writer, &error) ||
      !g_output_stream_flush (self->output, NULL, &error))
    return write_failed (self, error);
  return GST_FLOW_EOS;
}

/* Streams */

static char *
caps_to_descriptor (const GstCaps *caps)
{
  g_autoptr (GstCaps) slim = NULL;
  char *text = gst_caps_to_string (caps);

  if (strlen (text) <= MAX_CAPS_STRING)
    return text;
  g_free (text);
  /* Codec headers are what can be large; byte-stream formats repeat them in band. */
  slim = gst_caps_copy (caps);
  gst_structure_remove_fields (gst_caps_get_structure (slim, 0), "codec_data", "streamheader",
                               NULL);
  text = gst_caps_to_string (slim);
  if (strlen (text) <= MAX_CAPS_STRING)
    return text;
  g_free (text);
  return g_strdup (gst_structure_get_name (gst_caps_get_structure (caps, 0)));
}

static void
pad_set_caps (GstCustosMux    *self,
              GstCustosMuxPad *pad,
              GstCaps         *caps)
{
  g_autofree char *text = caps_to_descriptor (caps);

  if (pad->caps == NULL)
    {
      GST_DEBUG_OBJECT (pad, "caps %s", text);
      pad->caps = g_steal_pointer (&text);
    }
  else if (!g_str_equal (pad->caps, text))
    /* A stream descriptor cannot change within a recording. */
    GST_WARNING_OBJECT (pad, "caps changed to %s; the recording keeps %s", text, pad->caps);
}

static GList *
dup_sink_pads (GstCustosMux *self)
{
  GList *pads;

  GST_OBJECT_LOCK (self);
  pads = g_list_copy_deep (GST_ELEMENT (self)->sinkpads, (GCopyFunc) gst_object_ref, NULL);
  GST_OBJECT_UNLOCK (self);
  return pads;
}

/* Every pad has its caps, or has ended without any. */
static gboolean
all_pads_described (GstCustosMux *self)
{
  GList *pads = dup_sink_pads (self);
  gboolean described = TRUE;

  for (GList *l = pads; l != NULL && described; l = l->next)
    described = GST_CUSTOS_MUX_PAD (l->data)->caps != NULL ||
                gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (l->data));
  g_list_free_full (pads, gst_object_unref);
  return described;
}

static gboolean
add_streams (GstCustosMux *self,
             GError      **error)
{
  GList *pads = dup_sink_pads (self);
  CustosStreamFlags flags;
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  flags = (self->encrypted ? CUSTOS_STREAM_FLAG_ENCRYPTED : 0) |
          (self->privacy ? CUSTOS_STREAM_FLAG_PRIVACY : 0);
  GST_OBJECT_UNLOCK (self);
  for (GList *l = pads; l != NULL && ok; l = l->next)
    {
      GstCustosMuxPad *pad = l->data;

      /* A pad that ended before its caps came has nothing to record. */
      if (pad->caps == NULL)
        continue;
      pad->stream = custos_writer_add_stream (self->writer, pad->kind, flags, pad->caps,
                                              GST_PAD_NAME (pad), 0, error);
      ok = pad->stream >= 0;
    }
  g_list_free_full (pads, gst_object_unref);
  GST_OBJECT_LOCK (self);
  self->streams_added = ok;
  GST_OBJECT_UNLOCK (self);
  return ok;
}

/* Interleaving */

/* Encoders shift their segment so DTS can precede PTS: running time may
 * be negative, and must stay ordered. */
static gboolean
running_time_us (GstAggregatorPad *pad,
                 GstClockTime      t,
                 gint64           *out)
{
  return custos_gst_running_time_us (&pad->segment, t, out);
}

static gint64
decode_time_us (GstAggregatorPad *pad,
                GstBuffer        *buffer)
{
  gint64 t;

  if (running_time_us (pad, GST_BUFFER_DTS (buffer), &t) ||
      running_time_us (pad, GST_BUFFER_PTS (buffer), &t))
    return t;
  return G_MININT64;
}

/* Gap buffers (from GAP events) say there is nothing to record until
 * their time; they take their turn in the interleaving, then go. */
static gboolean
drop_gap (GstAggregatorPad *pad)
{
  g_autoptr (GstBuffer) buffer = gst_aggregator_pad_peek_buffer (pad);

  if (buffer == NULL || !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP) ||
      gst_buffer_get_size (buffer) > 0)
    return FALSE;
  gst_aggregator_pad_drop_buffer (pad);
  return TRUE;
}

/* The pad whose next buffer decodes first; NULL when none has one. */
static GstCustosMuxPad *
pick_pad (GstCustosMux *self,
          gboolean     *all_eos)
{
  GList *pads = dup_sink_pads (self);
  GstCustosMuxPad *best = NULL;
  gint64 best_t = G_MAXINT64;

  *all_eos = TRUE;
  for (GList *l = pads; l != NULL; l = l->next)
    {
      GstAggregatorPad *pad = l->data;
      g_autoptr (GstBuffer) buffer = gst_aggregator_pad_peek_buffer (pad);
      gint64 t;

      if (buffer == NULL)
        {
          *all_eos &= gst_aggregator_pad_is_eos (pad);
          continue;
        }
      *all_eos = FALSE;
      t = decode_time_us (pad, buffer);
      if (best == NULL || t < best_t)
        {
          gst_object_replace ((GstObject **) &best, GST_OBJECT (pad));
          best_t = t;
        }
    }
  g_list_free_full (pads, gst_object_unref);
  return best;
}

/* Writing */

static gboolean
buffer_utc_ns (GstBuffer    *buffer,
               GstClockTime *utc)
{
  GstCaps *caps = gst_static_caps_get (&unix_caps);
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta (buffer, caps);

  gst_caps_unref (caps);
  if (meta == NULL)
    return FALSE;
  *utc = meta->timestamp;
  return TRUE;
}

static void
set_origin (GstCustosMux *self,
            GstBuffer    *buffer,
            gint64        pts_rt_us)
{
  GstClockTime utc;
  gboolean from_meta;
  gint64 start;

  GST_OBJECT_LOCK (self);
  from_meta = self->utc_from_meta;
  start = self->start_utc_us;
  GST_OBJECT_UNLOCK (self);

  if (from_meta && buffer_utc_ns (buffer, &utc))
    self->origin_us = (gint64) (utc / 1000) - pts_rt_us;
  else if (start >= 0)
    self->origin_us = start;
  else
    self->origin_us = g_get_real_time () - pts_rt_us;
  self->have_origin = TRUE;
  GST_INFO_OBJECT (self, "running time 0 is UTC %" G_GINT64_FORMAT " µs", self->origin_us);
}

static void
packet_times (GstCustosMux    *self,
              GstCustosMuxPad *pad,
              GstBuffer       *buffer,
              gint64          *pts_us,
              gint64          *dts_us)
{
  GstAggregatorPad *aggpad = GST_AGGREGATOR_PAD (pad);
  gint64 pts_rt = 0, dts_rt = 0;
  gboolean have_pts = running_time_us (aggpad, GST_BUFFER_PTS (buffer), &pts_rt);
  gboolean have_dts = running_time_us (aggpad, GST_BUFFER_DTS (buffer), &dts_rt);

  if (!have_pts)
    pts_rt = have_dts ? dts_rt : MAX (pad->last_dts_us - self->origin_us, 0);
  if (!have_dts)
    dts_rt = pts_rt;
  if (!self->have_origin)
    set_origin (self, buffer, pts_rt);
  *pts_us = self->origin_us + pts_rt;
  /* The format wants decoding times that never go back within a stream. */
  *dts_us = MAX (self->origin_us + dts_rt, pad->last_dts_us);
  self->out_time = dts_rt > 0 ? (GstClockTime) dts_rt * GST_USECOND : 0;
}

static GstFlowReturn
write_buffer (GstCustosMux    *self,
              GstCustosMuxPad *pad)
{
  g_autoptr (GstBuffer) buffer = gst_aggregator_pad_pop_buffer (GST_AGGREGATOR_PAD (pad));
  g_autoptr (GError) error = NULL;
  gint64 pts_us, dts_us;
  GstMapInfo map;
  gboolean ok;

  if (buffer == NULL || pad->stream < 0)
    return GST_FLOW_OK;
  packet_times (self, pad, buffer, &pts_us, &dts_us);
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  ok = custos_writer_write_packet (self->writer, pad->stream, pts_us, dts_us,
                                   !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT),
                                   map.data, map.size, &error);
  gst_buffer_unmap (buffer, &map);
  pad->last_dts_us = dts_us;
  if (!ok || !g_output_stream_flush (self->output, NULL, &error))
    return write_failed (self, error);
  gst_aggregator_selected_samples (GST_AGGREGATOR (self), GST_BUFFER_PTS (buffer),
                                   GST_BUFFER_DTS (buffer), GST_BUFFER_DURATION (buffer), NULL);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_custos_mux_aggregate (GstAggregator *agg,
                          gboolean       timeout)
{
  GstCustosMux *self = GST_CUSTOS_MUX (agg);
  g_autoptr (GstCustosMuxPad) pad = NULL;
  g_autoptr (GError) error = NULL;
  gboolean all_eos;
  guint count = 0;

  if (self->finished)
    return GST_FLOW_EOS;
  pad = pick_pad (self, &all_eos);
  if (pad == NULL)
    return all_eos ? finish (self) : GST_FLOW_OK;
  /* Its pad is then empty: choose again when it has data. */
  if (drop_gap (GST_AGGREGATOR_PAD (pad)))
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  /* The writer wants every stream before the first packet. Without a
   * timeout every pad has data (so caps) or has ended; a live timeout may
   * come before a late stream's caps, and then it is waited for. */
  if (!self->streams_added && !all_pads_described (self))
    return GST_FLOW_OK;
  if (!self->streams_added && !add_streams (self, &error))
    return write_failed (self, error);
  /* "add-recipient" checked the certificate; a refusal here must not end
   * the recording the others can still open. */
  if (!add_new_recipients (self, &count, &error))
    GST_ELEMENT_WARNING (self, STREAM, MUX,
                         (_ ("A recipient could not be added: %s"), error->message), (NULL));
  return write_buffer (self, pad);
}

/* GstAggregator */

static gboolean
gst_custos_mux_sink_event (GstAggregator    *agg,
                           GstAggregatorPad *aggpad,
                           GstEvent         *event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS)
    {
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      pad_set_caps (GST_CUSTOS_MUX (agg), GST_CUSTOS_MUX_PAD (aggpad), caps);
    }
  return GST_AGGREGATOR_CLASS (parent_class)->sink_event (agg, aggpad, event);
}

static GstFlowReturn
gst_custos_mux_update_src_caps (GstAggregator *agg,
                                GstCaps       *caps,
                                GstCaps      **ret)
{
  *ret = gst_static_pad_template_get_caps (&src_template);
  return GST_FLOW_OK;
}

static CustosStreamKind
kind_for_template (GstPadTemplate *templ)
{
  const char *name = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);

  if (g_str_has_prefix (name, "video_"))
    return CUSTOS_STREAM_KIND_VIDEO;
  if (g_str_has_prefix (name, "audio_"))
    return CUSTOS_STREAM_KIND_AUDIO;
  return CUSTOS_STREAM_KIND_METADATA;
}

/* "video_3" keeps its number; "video_%u" or none gets the next one. */
static char *
pad_name (GstCustosMux     *self,
          CustosStreamKind  kind,
          const char       *req_name)
{
  const char *prefix = custos_stream_kind_to_string (kind);
  gsize len = strlen (prefix);

  if (req_name != NULL && strchr (req_name, '%') == NULL && g_str_has_prefix (req_name, prefix) &&
      req_name[len] == '_' && g_ascii_isdigit (req_name[len + 1]))
    {
      guint n = (guint) strtoul (req_name + len + 1, NULL, 10);

      self->pad_serial[kind] = MAX (self->pad_serial[kind], n + 1);
      return g_strdup (req_name);
    }
  return g_strdup_printf ("%s_%u", prefix, self->pad_serial[kind]++);
}

static GstAggregatorPad *
gst_custos_mux_create_new_pad (GstAggregator  *agg,
                               GstPadTemplate *templ,
                               const char     *req_name,
                               const GstCaps  *caps)
{
  GstCustosMux *self = GST_CUSTOS_MUX (agg);
  CustosStreamKind kind = kind_for_template (templ);
  g_autofree char *name = NULL;
  GstCustosMuxPad *pad;

  if (templ->direction != GST_PAD_SINK || templ->presence != GST_PAD_REQUEST)
    return NULL;
  GST_OBJECT_LOCK (self);
  if (self->streams_added)
    {
      GST_OBJECT_UNLOCK (self);
      GST_ELEMENT_WARNING (self, STREAM, MUX,
                           (_ ("Streams cannot be added to a running recording.")), (NULL));
      return NULL;
    }
  name = pad_name (self, kind, req_name);
  GST_OBJECT_UNLOCK (self);
  pad = g_object_new (GST_TYPE_CUSTOS_MUX_PAD, "name", name, "direction", GST_PAD_SINK,
                      "template", templ, NULL);
  pad->kind = kind;
  return GST_AGGREGATOR_PAD (pad);
}

static void
clear_writer (GstCustosMux *self)
{
  g_clear_object (&self->writer);
  if (self->output != NULL)
    g_output_stream_close (self->output, NULL, NULL);
  g_clear_object (&self->output);
}

static gboolean
gst_custos_mux_start (GstAggregator *agg)
{
  GstCustosMux *self = GST_CUSTOS_MUX (agg);
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->name);
  GST_OBJECT_UNLOCK (self);
  clear_writer (self);
  self->output = gst_custos_write_stream_new (push_output, self);
  self->writer = custos_writer_new (self->output, name);
  self->streams_added = self->finished = self->have_origin = FALSE;
  self->out_time = 0;
  if (configure_writer (self, &error))
    return TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message), (NULL));
  clear_writer (self);
  return FALSE;
}

static gboolean
gst_custos_mux_stop (GstAggregator *agg)
{
  GstCustosMux *self = GST_CUSTOS_MUX (agg);

  /* Stopped before EOS: the recording lacks its last seal and index. */
  if (self->writer != NULL && !self->finished)
    GST_INFO_OBJECT (self, "stopped before the end of the recording");
  clear_writer (self);
  self->streams_added = FALSE;
  return TRUE;
}

/* The action signal */

gboolean
gst_custos_mux_add_recipient (GstCustosMux      *self,
                              CustosCertificate *cert)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GError) error = NULL;
  CustosWrapAlg alg;
  gboolean legacy;

  g_return_val_if_fail (GST_IS_CUSTOS_MUX (self), FALSE);
  g_return_val_if_fail (CUSTOS_IS_CERTIFICATE (cert), FALSE);

  GST_OBJECT_LOCK (self);
  legacy = self->allow_legacy;
  GST_OBJECT_UNLOCK (self);
  if (!custos_certificate_check_validity (cert, now, &error) ||
      !custos_certificate_get_wrap_alg (cert, legacy, &alg, &error))
    {
      GST_WARNING_OBJECT (self, "recipient refused: %s", error->message);
      return FALSE;
    }
  GST_OBJECT_LOCK (self);
  g_ptr_array_add (self->added, g_object_ref (cert));
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* GObject */

static void
set_string (char        **field,
            const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_custos_mux_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  GstCustosMux *self = GST_CUSTOS_MUX (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_RECIPIENTS:
      g_strfreev (self->recipients);
      self->recipients = g_value_dup_boxed (value);
      break;
    case PROP_SIGNER_KEY:    set_string (&self->signer_key, value); break;
    case PROP_SIGNER_CERT:   set_string (&self->signer_cert, value); break;
    case PROP_SIGNER_CHAIN:  set_string (&self->signer_chain, value); break;
    case PROP_CAMERA_NAME:   set_string (&self->name, value); break;
    case PROP_ENCRYPTED:     self->encrypted = g_value_get_boolean (value); break;
    case PROP_PRIVACY:       self->privacy = g_value_get_boolean (value); break;
    case PROP_ALLOW_LEGACY:  self->allow_legacy = g_value_get_boolean (value); break;
    case PROP_PERIOD_MS:     self->period_ms = g_value_get_uint (value); break;
    case PROP_EPOCH_MS:      self->epoch_ms = g_value_get_uint (value); break;
    case PROP_SEAL_MS:       self->seal_ms = g_value_get_uint (value); break;
    case PROP_INDEXED:       self->indexed = g_value_get_boolean (value); break;
    case PROP_START_UTC:     self->start_utc_us = g_value_get_int64 (value); break;
    case PROP_UTC_FROM_META: self->utc_from_meta = g_value_get_boolean (value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_custos_mux_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  GstCustosMux *self = GST_CUSTOS_MUX (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_RECIPIENTS:    g_value_set_boxed (value, self->recipients); break;
    case PROP_SIGNER_KEY:    g_value_set_string (value, self->signer_key); break;
    case PROP_SIGNER_CERT:   g_value_set_string (value, self->signer_cert); break;
    case PROP_SIGNER_CHAIN:  g_value_set_string (value, self->signer_chain); break;
    case PROP_CAMERA_NAME:   g_value_set_string (value, self->name); break;
    case PROP_ENCRYPTED:     g_value_set_boolean (value, self->encrypted); break;
    case PROP_PRIVACY:       g_value_set_boolean (value, self->privacy); break;
    case PROP_ALLOW_LEGACY:  g_value_set_boolean (value, self->allow_legacy); break;
    case PROP_PERIOD_MS:     g_value_set_uint (value, self->period_ms); break;
    case PROP_EPOCH_MS:      g_value_set_uint (value, self->epoch_ms); break;
    case PROP_SEAL_MS:       g_value_set_uint (value, self->seal_ms); break;
    case PROP_INDEXED:       g_value_set_boolean (value, self->indexed); break;
    case PROP_START_UTC:     g_value_set_int64 (value, self->start_utc_us); break;
    case PROP_UTC_FROM_META: g_value_set_boolean (value, self->utc_from_meta); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_custos_mux_finalize (GObject *object)
{
  GstCustosMux *self = GST_CUSTOS_MUX (object);

  clear_writer (self);
  g_clear_pointer (&self->recipients, g_strfreev);
  g_clear_pointer (&self->signer_key, g_free);
  g_clear_pointer (&self->signer_cert, g_free);
  g_clear_pointer (&self->signer_chain, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->added, g_ptr_array_unref);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

#define PARAM_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
install_key_properties (void)
{
  properties[PROP_RECIPIENTS] =
    g_param_spec_boxed ("recipients", "Recipients",
                        "Certificate files (PEM or DER) of those who may decrypt",
                        G_TYPE_STRV, PARAM_FLAGS);
  properties[PROP_SIGNER_KEY] =
    g_param_spec_string ("signer-key", "Signer key",
                         "Private key file (PEM) that seals each segment", NULL, PARAM_FLAGS);
  properties[PROP_SIGNER_CERT] =
    g_param_spec_string ("signer-cert", "Signer certificate",
                         "Certificate of signer-key (PEM or DER)", NULL, PARAM_FLAGS);
  properties[PROP_SIGNER_CHAIN] =
    g_param_spec_string ("signer-chain", "Signer chain",
                         "Intermediate certificates (PEM) of the signer", NULL, PARAM_FLAGS);
  properties[PROP_ENCRYPTED] =
    g_param_spec_boolean ("encrypted", "Encrypted",
                          "Encrypt every stream (needs at least one recipient)", TRUE,
                          PARAM_FLAGS);
  properties[PROP_PRIVACY] =
    g_param_spec_boolean ("privacy", "Privacy protected",
                          "Mark the streams as privacy-protected derivatives", FALSE,
                          PARAM_FLAGS);
  properties[PROP_ALLOW_LEGACY] =
    g_param_spec_boolean ("allow-legacy", "Allow legacy",
                          "Wrap to RSA recipients with PKCS#1 v1.5 (legacy smart cards)", FALSE,
                          PARAM_FLAGS);
}

static void
install_format_properties (void)
{
  properties[PROP_PERIOD_MS] =
    g_param_spec_uint ("period-ms", "Key period", "Key period in ms", CUSTOS_MIN_PERIOD_MS,
                       CUSTOS_MAX_PERIOD_MS, DEFAULT_PERIOD_MS, PARAM_FLAGS);
  properties[PROP_EPOCH_MS] =
    g_param_spec_uint ("epoch-ms", "Wrap epoch",
                       "Wrap epoch in ms, a multiple of the key period (0: one hour, rounded to "
                       "whole periods)", 0, CUSTOS_MAX_EPOCH_MS, 0, PARAM_FLAGS);
  properties[PROP_SEAL_MS] =
    g_param_spec_uint ("seal-ms", "Seal interval", "Seal interval in ms of stream time", 1,
                       G_MAXUINT, DEFAULT_SEAL_MS, PARAM_FLAGS);
  properties[PROP_INDEXED] =
    g_param_spec_boolean ("indexed", "Indexed",
                          "Write the seek index and table of contents (files)", TRUE,
                          PARAM_FLAGS);
  properties[PROP_CAMERA_NAME] =
    g_param_spec_string ("camera-name", "Camera name", "Camera name in the file header", NULL,
                         PARAM_FLAGS);
  properties[PROP_START_UTC] =
    g_param_spec_int64 ("start-utc", "Start UTC",
                        "UTC µs since 1970 of running time 0; -1: from the buffers' reference "
                        "timestamps or the wall clock", -1, G_MAXINT64, -1, PARAM_FLAGS);
  properties[PROP_UTC_FROM_META] =
    g_param_spec_boolean ("utc-from-meta", "UTC from meta",
                          "Take the wall clock from timestamp/x-unix reference timestamp metas",
                          TRUE, PARAM_FLAGS);
}

static void
gst_custos_mux_class_init (GstCustosMuxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  object_class->set_property = gst_custos_mux_set_property;
  object_class->get_property = gst_custos_mux_get_property;
  object_class->finalize = gst_custos_mux_finalize;
  install_key_properties ();
  install_format_properties ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_signal_new_class_handler ("add-recipient", G_TYPE_FROM_CLASS (klass),
                              G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
                              G_CALLBACK (gst_custos_mux_add_recipient), NULL, NULL, NULL,
                              G_TYPE_BOOLEAN, 1, CUSTOS_TYPE_CERTIFICATE);

  agg_class->aggregate = gst_custos_mux_aggregate;
  agg_class->sink_event = gst_custos_mux_sink_event;
  agg_class->update_src_caps = gst_custos_mux_update_src_caps;
  agg_class->create_new_pad = gst_custos_mux_create_new_pad;
  agg_class->start = gst_custos_mux_start;
  agg_class->stop = gst_custos_mux_stop;

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &video_template,
                                                        GST_TYPE_CUSTOS_MUX_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &audio_template,
                                                        GST_TYPE_CUSTOS_MUX_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &metadata_template,
                                                        GST_TYPE_CUSTOS_MUX_PAD);
  gst_element_class_set_static_metadata (element_class, "Custos fusion stream muxer",
                                         "Codec/Muxer/Encryptor",
                                         "Encrypts, seals and indexes encoded streams into a "
                                         "Custos fusion stream",
                                         "The Custos authors");
  GST_DEBUG_CATEGORY_INIT (gst_custos_mux_debug, "custosmux", 0, "Custos fusion muxer");
  gst_type_mark_as_plugin_api (GST_TYPE_CUSTOS_MUX_PAD, 0);
}

static void
gst_custos_mux_init (GstCustosMux *self)
{
  self->encrypted = TRUE;
  self->period_ms = DEFAULT_PERIOD_MS;
  self->seal_ms = DEFAULT_SEAL_MS;
  self->indexed = TRUE;
  self->start_utc_us = -1;
  self->utc_from_meta = TRUE;
  self->added = g_ptr_array_new_with_free_func (g_object_unref);
}
