/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCamera: one camera's recording. A thread of its own drives the
 * GStreamer pipeline (CustosCameraSource), writes every packet into a
 * CustosWriter (encrypting once, with keys per stream and key period
 * wrapped for every recipient, segments sealed by the archiver's key),
 * and sends the writer's records to the segment file and to live clients.
 *
 * Files: a new file (and a new writer, so a new recording with new keys)
 * starts at the first video keyframe after file-seconds, so every file
 * begins at a sync point and its seals are complete. The open file is
 * synced after every seal and at least once a second.
 *
 * Recipients: the archiver passes the valid enrolled certificates;
 * additions and removals act from the next key period (CustosWriter), and
 * the next file gets exactly the current set. An encrypted camera with no
 * valid certificate does not record at all (fail closed): its state is
 * STOPPED with the reason, and it starts again by itself once a valid
 * certificate is enrolled. A source that fails or ends is restarted with
 * a growing delay (1 s to 30 s); the state says why meanwhile.
 *
 * Privacy-protected recording (privacy-stream=true): a second camera,
 * id "ID.privacy", plaintext and flagged PRIVACY, whose thread records
 * the uploads of a Privacy Protector (CustosPrivacyFeed, parsed with
 * CustosReader) instead of a source, one at a time, each packet at the
 * UTC it carries; between uploads it is STOPPED with the reason.
 *
 * Thread safety: configuration before start; everything else may be
 * called from the main thread while the camera records.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <openssl/evp.h>

#include "custos-privacy-feed.h"
#include "custos-storage.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_CAMERA_IDLE,      /* not started */
  CUSTOS_CAMERA_STARTING,  /* pipeline starting, waiting for the first keyframe */
  CUSTOS_CAMERA_RECORDING,
  CUSTOS_CAMERA_STOPPED,   /* fail closed: no valid certificate; or stopped */
  CUSTOS_CAMERA_FAILED,    /* the source failed; retrying */
} CustosCameraState;

const char *custos_camera_state_to_string (CustosCameraState state);

/* Called from the recording thread with whole records, in order. */
typedef void (*CustosCameraLiveFunc) (GBytes   *records,
                                      gpointer  user_data);

#define CUSTOS_TYPE_CAMERA (custos_camera_get_type ())

G_DECLARE_FINAL_TYPE (CustosCamera, custos_camera, CUSTOS, CAMERA, GObject)

/* Reads the group "camera ID" of the configuration (keys: see
 * custos-archiver.h); defaults come from the [recording] group. */
CustosCamera      *custos_camera_new_from_config   (GKeyFile          *config,
                                                    const char        *group,
                                                    GError           **error);
const char        *custos_camera_get_id            (CustosCamera      *self);
const char        *custos_camera_get_name          (CustosCamera      *self);
gboolean           custos_camera_get_encrypted     (CustosCamera      *self);
gboolean           custos_camera_get_privacy       (CustosCamera      *self);
/* privacy-stream=true: the camera's privacy-protected recording (id
 * "ID.privacy"), a camera fed by a Privacy Protector; NULL otherwise.
 * Storage, signer, start and stop of the camera apply to it too. */
CustosCamera      *custos_camera_get_privacy_stream (CustosCamera     *self);
/* The privacy-protected recording records feed until it ends. FALSE (and
 * why) when another upload is being recorded or the camera is stopped. */
gboolean           custos_camera_attach_feed       (CustosCamera      *self,
                                                    CustosPrivacyFeed *feed,
                                                    char             **reason);
gint64             custos_camera_get_max_age_us    (CustosCamera      *self);
guint64            custos_camera_get_max_bytes     (CustosCamera      *self);
void               custos_camera_set_storage       (CustosCamera      *self,
                                                    CustosStorage     *storage);
/* chain: CustosCertificate, the signing certificate first. */
void               custos_camera_set_signer        (CustosCamera      *self,
                                                    EVP_PKEY          *key,
                                                    GPtrArray         *chain);
/* certs: CustosCertificate. reason: why there is none, when empty. */
void               custos_camera_set_recipients    (CustosCamera      *self,
                                                    GPtrArray         *certs,
                                                    const char        *reason);
void               custos_camera_start             (CustosCamera      *self);
/* Finishes the open file and stops the pipeline; blocks until done. */
void               custos_camera_stop              (CustosCamera      *self);
CustosCameraState  custos_camera_get_state         (CustosCamera      *self,
                                                    char             **reason);
/* The camera for /cameras; with health TRUE, the recording details. */
void               custos_camera_build_json        (CustosCamera      *self,
                                                    JsonBuilder       *builder,
                                                    gboolean           health);

/* Live: from now on, func gets every record written. The bytes already
 * in the open file from its last sync point come as a descriptor to read
 * [*backlog_start, *backlog_end) from (*backlog_fd -1 when no file is
 * open: the next records then begin a new file, at a sync point), and
 * *live_edge_us is the time of the newest packet among them
 * (CUSTOS_ARCHIVER_NO_TIME without a backlog): a viewer decodes the
 * backlog (its seals need it) but shows from there. */
guint              custos_camera_subscribe         (CustosCamera        *self,
                                                    CustosCameraLiveFunc func,
                                                    gpointer             user_data,
                                                    int                 *backlog_fd,
                                                    guint64             *backlog_start,
                                                    guint64             *backlog_end,
                                                    gint64              *live_edge_us);
/* After it returns, func is not running and will not be called again. */
void               custos_camera_unsubscribe       (CustosCamera      *self,
                                                    guint              id);
/* A descriptor of the open file and how much of it is written, or -1. */
int                custos_camera_open_current      (CustosCamera      *self,
                                                    guint64           *size);
/* The sealed time range of the open file; FALSE when none. */
gboolean           custos_camera_get_current_range (CustosCamera      *self,
                                                    gint64            *first_us,
                                                    gint64            *last_us);

G_END_DECLS
