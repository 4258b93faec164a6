/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosMediaExport: a fusion file, or a time range of it, as an ordinary
 * media file, through a pipeline around custosdemux. custos-cli export
 * uses it, and so will the viewer.
 *
 *   MP4, MKV  filesrc ! custosdemux ! <parser> ! queue ! mp4mux|matroskamux ! filesink
 *             The streams are remuxed, never re-encoded: every access unit
 *             is the decrypted one, with its timestamps. Time 0 of the file
 *             is the first exported keyframe; its UTC is the container's
 *             creation time (MP4: mvhd/tkhd/mdhd creation_time, whole
 *             seconds, plus the ©day date and a ©cmt comment with the
 *             exact time; MKV: DateUTC and a COMMENT tag). MKV keeps
 *             audio and metadata streams (textual metadata as UTF-8 text
 *             tracks); MP4 keeps audio but not metadata streams, which are
 *             listed in the summary's `skipped`, as is any stream the
 *             container cannot hold.
 *   PNG       … ! custosdemux ! decodebin ! videoconvert ! appsink: the
 *             frame shown at the range's start (or the first frame), with
 *             tEXt chunks "Creation Time" (its UTC, ISO 8601 with
 *             milliseconds), "Title" (the camera) and "Software".
 *
 * A range is in UTC. MP4 and MKV start at the keyframe at or before
 * `from` (nothing is re-encoded) and end with the last frame decoded at
 * or before `to` (so every frame shown up to `to` is there, and perhaps a
 * reference frame after it). Ranges need a finished file (with an index).
 *
 * Nothing unauthenticated is exported: packets without a key or that fail
 * authentication are left out (the summary says so). The output file is
 * removed again when the run fails or is cancelled.
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "custos-key-provider.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_MEDIA_FORMAT_MP4,
  CUSTOS_MEDIA_FORMAT_MKV,
  CUSTOS_MEDIA_FORMAT_PNG,
} CustosMediaFormat;

#define CUSTOS_MEDIA_EXPORT_ERROR (custos_media_export_error_quark ())

typedef enum
{
  CUSTOS_MEDIA_EXPORT_ERROR_FAILED,    /* the pipeline failed (message from GStreamer) */
  CUSTOS_MEDIA_EXPORT_ERROR_MISSING,   /* a GStreamer element is not installed */
  CUSTOS_MEDIA_EXPORT_ERROR_NOTHING,   /* nothing could be exported (locked, altered, empty) */
  CUSTOS_MEDIA_EXPORT_ERROR_NO_INDEX,  /* a range needs a finished file */
} CustosMediaExportError;

GQuark custos_media_export_error_quark (void);

/* What a finished run did. */
typedef struct
{
  gint64      start_utc_us;  /* UTC at the output's time 0; PNG: of the frame */
  gint64      end_utc_us;    /* UTC of the last frame written */
  guint64     packets;       /* buffers written, all streams */
  guint64     video_frames;
  GPtrArray  *skipped;       /* char *: a stream left out, and why */
  GPtrArray  *locked;        /* GstStructure: the "custos-locked" messages */
  GPtrArray  *problems;      /* char *: what the seals said was wrong */
  guint64     verified;      /* packet counts of the segments read */
  guint64     matched;
  guint64     not_signed;
  guint64     missing;
  guint64     altered;
  guint       segments;
  guint       segments_untrusted; /* whose signer does not chain to the CA */
} CustosMediaExportSummary;

/* Called on the main context of the run, about four times a second.
 * fraction is 0 … 1 of the range. */
typedef void (*CustosMediaExportProgressFunc) (double   fraction,
                                               gpointer user_data);

#define CUSTOS_TYPE_MEDIA_EXPORT (custos_media_export_get_type ())

G_DECLARE_FINAL_TYPE (CustosMediaExport, custos_media_export, CUSTOS, MEDIA_EXPORT, GObject)

/* custosdemux from wherever it is: GST_PLUGIN_PATH, the system, or the
 * plugin directory of this installation (which GStreamer does not search
 * when the prefix is not its own). */
gboolean           custos_media_export_ensure_plugin    (GError                        **error);

CustosMediaExport *custos_media_export_new              (const char                     *input,
                                                         const char                     *output,
                                                         CustosMediaFormat               format);
void               custos_media_export_set_key_provider (CustosMediaExport              *self,
                                                         CustosKeyProvider              *provider,
                                                         GTlsInteraction                *interaction);
void               custos_media_export_set_ca_file      (CustosMediaExport              *self,
                                                         const char                     *ca_file);
/* UTC µs; G_MININT64 and G_MAXINT64 for no bound. */
void               custos_media_export_set_range        (CustosMediaExport              *self,
                                                         gint64                          from_utc_us,
                                                         gint64                          to_utc_us);
void               custos_media_export_set_progress_func (CustosMediaExport             *self,
                                                          CustosMediaExportProgressFunc  func,
                                                          gpointer                       user_data,
                                                          GDestroyNotify                 notify);
/* Runs on the thread-default main context; call once. */
void               custos_media_export_run_async        (CustosMediaExport              *self,
                                                         GCancellable                   *cancellable,
                                                         GAsyncReadyCallback             callback,
                                                         gpointer                        user_data);
gboolean           custos_media_export_run_finish       (CustosMediaExport              *self,
                                                         GAsyncResult                   *result,
                                                         GError                        **error);
/* Filled during the run; complete once it finished (even when it failed). */
const CustosMediaExportSummary *
                   custos_media_export_get_summary      (CustosMediaExport              *self);

G_END_DECLS
