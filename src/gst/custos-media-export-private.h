/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosMediaExport's insides, shared by custos-media-export.c (the run,
 * on its main context: seeking, messages, finishing the file) and
 * custos-media-export-pipeline.c (the pipeline and what its streaming
 * threads do: branches for the demuxer's pads, probes).
 */
#pragma once

#include <gst/gst.h>

#include "custos-media-export.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (custos_media_export_debug);
#define GST_CAT_DEFAULT custos_media_export_debug

/* One source pad of the demuxer. */
typedef struct
{
  CustosMediaExport *self;
  gboolean           video;
  gboolean           exported; /* feeds the muxer or the snapshot */
} PadInfo;

typedef struct
{
  GstPad *pad;
  gulong  probe;
} BlockedPad;

struct _CustosMediaExport
{
  GObject                        parent_instance;

  char                          *input;
  char                          *output;
  CustosMediaFormat              format;
  CustosKeyProvider             *provider;
  GTlsInteraction               *interaction;
  char                          *ca_file;
  gint64                         from_utc_us;
  gint64                         to_utc_us;
  CustosMediaExportProgressFunc  progress_func;
  gpointer                       progress_data;
  GDestroyNotify                 progress_notify;

  /* The run, on its main context */
  GTask                         *task;
  GMainContext                  *context;
  GstElement                    *pipeline;
  GstElement                    *demux;
  GstElement                    *mux;
  GSource                       *bus_source;
  GSource                       *progress_source;
  gulong                         cancelled_id;
  GstClockTime                   seek_start;
  GstClockTime                   seek_stop;

  /* Shared with the streaming threads */
  GMutex                         lock;
  GPtrArray                     *blocked;     /* BlockedPad: the first data waits for the seek */
  GPtrArray                     *new_pads;    /* GstPad: waiting for no-more-pads */
  gboolean                       all_pads;
  gboolean                       seek_requested;
  gboolean                       seek_sent;
  GstClockTime                   first_pts;   /* of the first data, output time */
  gboolean                       have_base;
  gint64                         base_utc_us; /* UTC of the demuxer's output time 0 */
  gboolean                       have_start;
  GstClockTime                   start;       /* the output's time 0, in the demuxer's */
  gboolean                       have_snapshot_pad;
  char                          *title;
  GstSample                     *frame;       /* PNG */
  CustosMediaExportSummary       summary;
};

void      custos_media_export_blocked_pad_free (BlockedPad         *b);
/* UTC µs as ISO 8601 with milliseconds. */
char     *custos_media_export_format_utc       (gint64              utc_us);
/* With the lock: the output's time 0 is `start` in the demuxer's time. */
void      custos_media_export_set_start        (CustosMediaExport  *self,
                                                GstClockTime        start);
gboolean  custos_media_export_build_pipeline   (CustosMediaExport  *self,
                                                GError            **error);

G_END_DECLS
