/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-privacy-protector"

#include "config.h"

#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <unistd.h>

#include "custos-archiver-client.h"
#include "custos-gst-time.h"
#include "custos-local-key-provider.h"
#include "custos-pin-file-interaction.h"
#include "custos-pkcs11-provider.h"
#include "custos-privacy-job.h"
#include "custos-reader.h"
#include "custos-writer.h"

#define MAX_BACKOFF_S 30
#define HEALTHY_US (10 * G_USEC_PER_SEC)
/* How much compressed video may wait for the decoder. */
#define APPSRC_MAX_BYTES (4 * 1024 * 1024)
#define EOS_WAIT (5 * GST_SECOND)
#define MAX_REASON 4096
#define FUSION_TYPE "application/x-custos-fusion"

struct _CustosPrivacyJob
{
  const CustosPrivacySettings *settings;
  char                        *camera_id;
  GThread                     *thread;
  GMutex                       lock;
  GCond                        cond;
  gboolean                     stopping;
  GCancellable                *attempt; /* the current attempt's */
};

/* One attempt: live stream in, upload out. */
typedef struct
{
  CustosPrivacyJob     *job;
  GCancellable         *cancellable;
  GMainContext         *context; /* the job thread's, during the attempt */
  CustosArchiverClient *client;
  GstElement           *pipeline;
  GstElement           *appsrc;
  gint64                origin_us; /* UTC of PTS 0 */

  /* The appsink's streaming thread writes; under lock. */
  GMutex         lock;
  CustosWriter  *writer;
  GOutputStream *output; /* the pipe's write end */
  GError        *write_error;
  guint64        frames;

  /* The upload's thread. */
  GInputStream *body; /* the pipe's read end */
  GThread      *upload_thread;
  GError       *upload_error;
} Attempt;

/* HTTP */

static SoupSession *
session_new (const CustosPrivacySettings *settings)
{
  SoupSession *session = soup_session_new ();

  soup_session_set_tls_database (session, settings->ca);
  return session;
}

static SoupMessage *
message_new (CustosPrivacyJob *self, const char *method, const char *path, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/api/v1/cameras/%s/%s", self->settings->archiver_url,
                                          self->camera_id, path);
  SoupMessage     *msg = soup_message_new (method, url);

  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _ ("%s is not a valid URL"),
                   url);
      return NULL;
    }
  soup_message_set_tls_client_certificate (msg, self->settings->client_cert);
  return msg;
}

/* The archiver's {"reason": …} of a refusal, or NULL. */
static char *
read_reason (GInputStream *in)
{
  g_autofree char *text = g_malloc0 (MAX_REASON + 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize     n = 0;
  JsonNode *root;

  if (in == NULL || !g_input_stream_read_all (in, text, MAX_REASON, &n, NULL, NULL) ||
      !json_parser_load_from_data (parser, text, (gssize) n, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "reason"))
    return NULL;
  return g_strdup (json_object_get_string_member (json_node_get_object (root), "reason"));
}

static void
set_http_error (GError **error, SoupMessage *msg, GInputStream *in, const char *what)
{
  g_autofree char *reason = read_reason (in);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("%s: the archiver answered %u %s%s%s"),
               what, soup_message_get_status (msg), soup_message_get_reason_phrase (msg),
               reason ? ": " : "", reason ? reason : "");
}

typedef struct
{
  GMainLoop    *loop;
  GInputStream *in;
  GError       *error;
} Opening;

static void
live_opened (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Opening *o = user_data;

  o->in = custos_archiver_client_open_stream_finish (CUSTOS_ARCHIVER_CLIENT (object), result,
                                                     &o->error);
  g_main_loop_quit (o->loop);
}

/* The original live stream, through the archiver client library like any
 * viewer (trust in the archiver, the client certificate, the archiver's
 * reasons in errors). Its callbacks run in the attempt's own context,
 * thread-default in this thread, which then reads the body. */
static GInputStream *
open_live (Attempt *a, GError **error)
{
  const CustosPrivacySettings *s = a->job->settings;
  Opening                      o = { NULL };

  a->client = custos_archiver_client_new (s->archiver_url, error);
  if (a->client == NULL || !custos_archiver_client_set_ca_file (a->client, s->ca_path, error))
    return NULL;
  custos_archiver_client_set_client_certificate (a->client, s->client_cert);
  o.loop = g_main_loop_new (a->context, FALSE);
  custos_archiver_client_open_stream_async (a->client, a->job->camera_id, 0, CUSTOS_ARCHIVER_LIVE,
                                            CUSTOS_ARCHIVER_STREAM_ORIGINAL, a->cancellable,
                                            live_opened, &o);
  g_main_loop_run (o.loop);
  g_main_loop_unref (o.loop);
  if (o.in == NULL)
    {
      g_prefix_error (&o.error, _ ("The live stream: "));
      g_propagate_error (error, o.error);
    }
  return o.in;
}

/* The upload's thread: the body is the pipe the writer fills, read by
 * libsoup until the writer closes it. "Expect: 100-continue" lets the
 * archiver refuse before anything is sent. */
static gpointer
upload_thread (gpointer user_data)
{
  Attempt *a = user_data;
  g_autoptr (SoupSession) session = session_new (a->job->settings);
  g_autoptr (SoupMessage) msg = message_new (a->job, "PUT", "privacy", &a->upload_error);
  g_autoptr (GInputStream) in = NULL;

  if (msg != NULL)
    {
      soup_message_headers_set_expectations (soup_message_get_request_headers (msg),
                                             SOUP_EXPECTATION_CONTINUE);
      soup_message_set_request_body (msg, FUSION_TYPE, a->body, -1);
      in = soup_session_send (session, msg, NULL, &a->upload_error);
      if (in != NULL && soup_message_get_status (msg) != SOUP_STATUS_OK)
        set_http_error (&a->upload_error, msg, in, _ ("The upload"));
    }
  /* Whatever ended the upload ends the live side too, and a writer
   * blocked on the pipe gets EPIPE instead of waiting forever. */
  g_input_stream_close (a->body, NULL, NULL);
  g_cancellable_cancel (a->cancellable);
  return NULL;
}

/* The encoded side (appsink's streaming thread) */

static gboolean
open_writer (Attempt *a, GstCaps *caps, GError **error)
{
  g_autofree char *caps_text = gst_caps_to_string (caps);
  g_autofree char *name = g_strdup_printf (_ ("%s (privacy-protected)"), a->job->camera_id);

  a->writer = custos_writer_new (a->output, name);
  /* A wire stream: the archiver writes the index of what it stores. */
  custos_writer_set_indexed (a->writer, FALSE);
  if (custos_writer_add_stream (a->writer, CUSTOS_STREAM_KIND_VIDEO, CUSTOS_STREAM_FLAG_PRIVACY,
                                caps_text, "video", 0, error) < 0)
    return FALSE;
  g_message (_ ("Camera %s: publishing its privacy-protected stream"), a->job->camera_id);
  return TRUE;
}

/* The encoder may shift its output segment (x264enc does, by 1000 h, to
 * keep DTS positive): running time is what maps back to the input's. */
static gint64
utc_of (Attempt *a, const GstSegment *segment, GstClockTime t)
{
  gint64 running_us;

  if (!custos_gst_running_time_us (segment, t, &running_us))
    return CUSTOS_NO_TIMESTAMP;
  return a->origin_us + running_us;
}

static gboolean
write_sample (Attempt *a, GstSample *sample, GError **error)
{
  GstBuffer        *buffer = gst_sample_get_buffer (sample);
  const GstSegment *segment = gst_sample_get_segment (sample);
  gint64            pts_us = utc_of (a, segment, GST_BUFFER_PTS (buffer));
  gint64            dts_us = utc_of (a, segment, GST_BUFFER_DTS (buffer));
  GstMapInfo        map;
  gboolean          ok;

  if (a->writer == NULL && !open_writer (a, gst_sample_get_caps (sample), error))
    return FALSE;
  if (pts_us == CUSTOS_NO_TIMESTAMP || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return TRUE;
  ok = custos_writer_write_packet (a->writer, 0, pts_us, dts_us > pts_us ? pts_us : dts_us,
                                   !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT),
                                   map.data, map.size, error);
  gst_buffer_unmap (buffer, &map);
  a->frames++;
  return ok;
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user_data)
{
  Attempt *a = user_data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstFlowReturn ret = GST_FLOW_OK;

  if (sample == NULL)
    return GST_FLOW_EOS;
  g_mutex_lock (&a->lock);
  if (a->write_error != NULL || !write_sample (a, sample, &a->write_error))
    ret = GST_FLOW_ERROR;
  g_mutex_unlock (&a->lock);
  if (ret != GST_FLOW_OK)
    g_cancellable_cancel (a->cancellable);
  return ret;
}

static gboolean
build_pipeline (Attempt *a, GstCaps *caps, GError **error)
{
  const CustosPrivacySettings *s = a->job->settings;
  g_autofree char             *description = g_strdup_printf (
                  "appsrc name=src format=time max-bytes=%u ! h264parse ! avdec_h264 ! videoconvert "
                              "! custospixelate name=protect block-size=%u mode=%s regions=%s ! videoconvert "
                              "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=%u key-int-max=%u "
                              "! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au "
                              "! appsink name=sink sync=false max-buffers=64",
                  APPSRC_MAX_BYTES, s->block_size, s->blur ? "blur" : "pixelate",
      s->motion ? "motion" : "whole", s->bitrate_kbps, s->keyframe_frames);
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  g_autoptr (GstElement) sink = NULL;

  a->pipeline = gst_parse_launch (description, error);
  if (a->pipeline == NULL)
    return FALSE;
  a->appsrc = gst_bin_get_by_name (GST_BIN (a->pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (a->pipeline), "sink");
  gst_app_src_set_caps (GST_APP_SRC (a->appsrc), caps);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, a, NULL);
  if (gst_element_set_state (a->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                           _ ("The transforming pipeline did not start"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_bus (Attempt *a, GError **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (a->pipeline);
  g_autoptr (GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (message != NULL)
    {
      gst_message_parse_error (message, error, NULL);
      return FALSE;
    }
  return TRUE;
}

/* The live side (the job's thread) */

/* The first video stream: the pipeline is built for its caps. */
static int
find_video (Attempt *a, CustosReader *reader, GError **error)
{
  GPtrArray *streams = custos_reader_get_streams (reader);

  for (guint i = 0; i < streams->len; i++)
    {
      CustosStreamInfo *info = streams->pdata[i];
      g_autoptr (GstCaps) caps = NULL;

      if (info->kind != CUSTOS_STREAM_KIND_VIDEO)
        continue;
      caps = info->caps ? gst_caps_from_string (info->caps) : NULL;
      if (caps == NULL || !g_str_has_prefix (info->caps, "video/x-h264"))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _ ("The camera's video is %s; the protector transforms H.264"),
                       info->caps ? info->caps : "?");
          return -1;
        }
      if (!build_pipeline (a, caps, error))
        return -1;
      return info->id;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       _ ("The camera's stream has no video"));
  return -1;
}

static gboolean
push_packet (Attempt *a, CustosPacket *packet, GError **error)
{
  gint64     shift = packet->utc_us - packet->pts_us;
  GstBuffer *buffer = gst_buffer_new_wrapped_bytes (packet->payload);

  GST_BUFFER_PTS (buffer) = (GstClockTime) (packet->utc_us - a->origin_us) * GST_USECOND;
  if (packet->dts_us != CUSTOS_NO_TIMESTAMP && packet->dts_us + shift >= a->origin_us)
    GST_BUFFER_DTS (buffer) = (GstClockTime) (packet->dts_us + shift - a->origin_us) * GST_USECOND;
  if (!(packet->flags & CUSTOS_DATA_FLAG_KEYFRAME))
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  /* Back-pressure: a backlog is decoded as fast as the CPU allows, not queued. */
  while (gst_app_src_get_current_level_bytes (GST_APP_SRC (a->appsrc)) > APPSRC_MAX_BYTES / 2 &&
         !g_cancellable_is_cancelled (a->cancellable) && check_bus (a, NULL))
    g_usleep (5000);
  if (gst_app_src_push_buffer (GST_APP_SRC (a->appsrc), buffer) != GST_FLOW_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                           _ ("The transforming pipeline stopped"));
      return FALSE;
    }
  return check_bus (a, error);
}

/* The protector's key: a file, or a token (unwrapping on the token). */
static CustosKeyProvider *
key_provider_new (const CustosPrivacySettings *s, GCancellable *cancellable, GError **error)
{
  g_autoptr (CustosLocalKeyProvider) local = NULL;

  if (s->pkcs11_uri != NULL)
    return (CustosKeyProvider *) custos_pkcs11_provider_new (s->pkcs11_uri, cancellable, error);
  local = custos_local_key_provider_new ();
  if (!custos_local_key_provider_add_key (local, s->key_path, s->cert_path, NULL, error))
    return NULL;
  return CUSTOS_KEY_PROVIDER (g_steal_pointer (&local));
}

static gboolean
pump (Attempt *a, GInputStream *live, GError **error)
{
  g_autoptr (CustosReader) reader = custos_reader_new (live);
  g_autoptr (CustosKeyProvider) keys = NULL;
  gboolean      warned = FALSE;
  int           video = -1;
  CustosPacket *packet;

  /* A provider per attempt: jobs run in threads of their own. */
  if ((keys = key_provider_new (a->job->settings, a->cancellable, error)) == NULL)
    return FALSE;
  custos_reader_set_key_provider (reader, keys);
  if (a->job->settings->pin_path != NULL)
    {
      g_autoptr (GTlsInteraction) pin =
          custos_pin_file_interaction_new (a->job->settings->pin_path);

      custos_reader_set_interaction (reader, pin);
    }
  /* The protector only transforms; the archiver seals what it stores. */
  custos_reader_set_verify (reader, FALSE);
  while ((packet = custos_reader_next_packet (reader, a->cancellable, error)) != NULL)
    {
      g_autoptr (CustosPacket) p = packet;
      gboolean keyframe = (p->flags & CUSTOS_DATA_FLAG_KEYFRAME) != 0;

      if (video < 0 && (video = find_video (a, reader, error)) < 0)
        return FALSE;
      if (p->stream != video)
        continue;
      if (p->status == CUSTOS_PACKET_LOCKED && !warned)
        {
          /* Enrolment acts from the next key period on. */
          g_message (_ ("Camera %s: no key for the protector in this key period (is its "
                        "certificate enrolled?); waiting for the next one"),
                     a->job->camera_id);
          warned = TRUE;
        }
      if (p->status != CUSTOS_PACKET_OK || p->payload == NULL)
        continue;
      if (a->origin_us == 0)
        {
          /* Decoding starts at a keyframe. */
          if (!keyframe)
            continue;
          a->origin_us = p->utc_us;
        }
      if (p->utc_us < a->origin_us)
        continue;
      if (!push_packet (a, p, error))
        return FALSE;
    }
  return error == NULL || *error == NULL;
}

/* Drains the pipeline, seals the upload's last segment and ends its body. */
static void
finish (Attempt *a)
{
  if (a->pipeline != NULL)
    {
      g_autoptr (GstBus) bus = gst_element_get_bus (a->pipeline);
      g_autoptr (GstMessage) message = NULL;

      gst_app_src_end_of_stream (GST_APP_SRC (a->appsrc));
      message = gst_bus_timed_pop_filtered (bus, EOS_WAIT, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      gst_element_set_state (a->pipeline, GST_STATE_NULL);
    }
  g_mutex_lock (&a->lock);
  if (a->writer != NULL && a->write_error == NULL)
    custos_writer_close (a->writer, NULL);
  g_clear_object (&a->writer);
  g_mutex_unlock (&a->lock);
  g_output_stream_close (a->output, NULL, NULL);
  if (a->upload_thread != NULL)
    g_thread_join (g_steal_pointer (&a->upload_thread));
}

static void
attempt_clear (Attempt *a)
{
  g_clear_object (&a->appsrc);
  g_clear_object (&a->pipeline);
  g_clear_object (&a->output);
  g_clear_object (&a->body);
  g_clear_object (&a->cancellable);
  g_clear_object (&a->client);
  /* What the client left to do (closing its connection) is done. */
  while (g_main_context_iteration (a->context, FALSE))
    ;
  g_main_context_pop_thread_default (a->context);
  g_clear_pointer (&a->context, g_main_context_unref);
  g_clear_error (&a->write_error);
  g_clear_error (&a->upload_error);
  g_mutex_clear (&a->lock);
}

static gboolean
run_attempt (Attempt *a, GError **error)
{
  g_autoptr (GInputStream) live = open_live (a, error);
  g_autoptr (GError) pump_error = NULL;
  int fds[2];

  if (live == NULL)
    return FALSE;
  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return FALSE;
  a->body = g_unix_input_stream_new (fds[0], TRUE);
  a->output = g_unix_output_stream_new (fds[1], TRUE);
  a->upload_thread = g_thread_new ("upload", upload_thread, a);
  pump (a, live, &pump_error);
  finish (a);
  /* The first cause: a refused upload, a failed write, then the live side. */
  if (a->upload_error != NULL)
    g_propagate_error (error, g_steal_pointer (&a->upload_error));
  else if (a->write_error != NULL)
    g_propagate_error (error, g_steal_pointer (&a->write_error));
  else if (pump_error != NULL)
    g_propagate_error (error, g_steal_pointer (&pump_error));
  else
    return TRUE;
  return FALSE;
}

/* The job */

static gboolean
sleep_unless_stopped (CustosPrivacyJob *self, guint seconds)
{
  gint64   deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  gboolean stopping;

  g_mutex_lock (&self->lock);
  while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, deadline))
    ;
  stopping = self->stopping;
  g_mutex_unlock (&self->lock);
  return !stopping;
}

static gpointer
job_thread (gpointer user_data)
{
  CustosPrivacyJob *self = user_data;
  guint             backoff = 1;

  for (;;)
    {
      Attempt a = { self };
      g_autoptr (GError) error = NULL;
      gint64   started = g_get_monotonic_time ();
      gboolean stopping;

      g_mutex_init (&a.lock);
      a.cancellable = g_cancellable_new ();
      a.context = g_main_context_new ();
      g_main_context_push_thread_default (a.context);
      g_mutex_lock (&self->lock);
      stopping = self->stopping;
      self->attempt = stopping ? NULL : g_object_ref (a.cancellable);
      g_mutex_unlock (&self->lock);
      if (!stopping && !run_attempt (&a, &error))
        g_message (_ ("Camera %s: %s; trying again in %u s"), self->camera_id, error->message,
                   backoff);
      else if (!stopping)
        g_message (_ ("Camera %s: the live stream ended; trying again in %u s"), self->camera_id,
                   backoff);
      g_mutex_lock (&self->lock);
      g_clear_object (&self->attempt);
      g_mutex_unlock (&self->lock);
      attempt_clear (&a);
      if (g_get_monotonic_time () - started > HEALTHY_US)
        backoff = 1;
      if (stopping || !sleep_unless_stopped (self, backoff))
        break;
      backoff = MIN (backoff * 2, MAX_BACKOFF_S);
    }
  return NULL;
}

CustosPrivacyJob *
custos_privacy_job_new (const CustosPrivacySettings *settings, const char *camera_id)
{
  CustosPrivacyJob *self = g_new0 (CustosPrivacyJob, 1);

  self->settings = settings;
  self->camera_id = g_strdup (camera_id);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  return self;
}

void
custos_privacy_job_start (CustosPrivacyJob *self)
{
  g_return_if_fail (self->thread == NULL);
  self->thread = g_thread_new (self->camera_id, job_thread, self);
}

void
custos_privacy_job_free (CustosPrivacyJob *self)
{
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  if (self->attempt != NULL)
    g_cancellable_cancel (self->attempt);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (self->thread != NULL)
    g_thread_join (self->thread);
  g_free (self->camera_id);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}
