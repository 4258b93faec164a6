/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosReader: reads a fusion stream incrementally from any GInputStream
 * (file, HTTP body, pipe) with memory bounded by the largest record. It
 * resynchronises after damage, decrypts with keys from a key provider,
 * recomputes seals, and records what it found in a CustosReport.
 */
#pragma once

#include <gio/gio.h>

#include "custos-key-provider.h"
#include "custos-record.h"
#include "custos-report.h"
#include "custos-seal.h"

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_PACKET_OK,      /* payload is the plaintext (decrypted or never encrypted) */
  CUSTOS_PACKET_LOCKED,  /* no key for it: payload is NULL */
  CUSTOS_PACKET_ALTERED, /* failed authentication: payload is NULL */
} CustosPacketStatus;

const char *custos_packet_status_to_string (CustosPacketStatus status);

#define CUSTOS_TYPE_PACKET (custos_packet_get_type ())

typedef struct
{
  guint8             stream;
  guint8             flags;  /* CustosDataFlags */
  CustosPacketStatus status;
  guint32            period;
  guint32            counter;
  gint64             pts_us; /* stream time */
  gint64             dts_us;
  gint64             utc_us; /* wall clock of the PTS */
  guint64            offset; /* of the DATA record */
  GBytes            *payload;
  /*< private >*/
  gint               ref_count;
} CustosPacket;

GType         custos_packet_get_type (void) G_GNUC_CONST;
CustosPacket *custos_packet_ref      (CustosPacket *self);
void          custos_packet_unref    (CustosPacket *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPacket, custos_packet_unref)

/* A recipient named in the data, and whether our provider holds its key. */
typedef struct
{
  guint8   id[CUSTOS_RECIPIENT_ID_LEN];
  char    *label;
  guint8   alg;
  gboolean ours;
} CustosRecipientInfo;

#define CUSTOS_TYPE_READER (custos_reader_get_type ())

G_DECLARE_FINAL_TYPE (CustosReader, custos_reader, CUSTOS, READER, GObject)

/* The final verification state of one sealed record of a segment, or of
 * a packet its seal lists that never arrived (status MISSING). */
typedef struct
{
  int                stream;  /* -1 for a descriptor (FILE_HEADER, STREAM) */
  guint32            period;
  guint32            counter;
  gint64             utc_us;  /* G_MININT64 when unknown (missing packets) */
  guint64            offset;  /* of the record; 0 for missing packets */
  CustosVerifyStatus status;
} CustosSealVerdict;

/* What became of the records of one segment: at its SEAL, or, for records
 * no seal will cover, at the end of the data or an unreadable seal. */
typedef struct
{
  gboolean                 sealed;          /* a SEAL was checked (valid or not) */
  guint32                  segment;         /* its segment number, when sealed */
  guint64                  offset;          /* of the SEAL record, when sealed */
  CustosCertificate       *signer;          /* NULL when the signer is unknown */
  gboolean                 signer_trusted;  /* chains to the CA of set_ca_file */
  const char              *problem;         /* NULL when every record verified */
  const CustosSealVerdict *verdicts;        /* every sealed record, and the missing packets */
  guint                    n_verdicts;
} CustosSealResult;

typedef void (*CustosSealFunc) (CustosReader           *reader,
                                const CustosSealResult *result,
                                gpointer                user_data);

CustosReader   *custos_reader_new              (GInputStream      *input);
/* Reads data that is already in memory without copying it (no seeking). */
CustosReader   *custos_reader_new_for_bytes    (GBytes            *data);
void            custos_reader_set_key_provider (CustosReader      *self,
                                                CustosKeyProvider *provider);
/* A certificate whose key records count as "ours" for custos_reader_set_decrypt
 * (FALSE) without any private key: answers which ranges it could open. */
void            custos_reader_add_identity     (CustosReader      *self,
                                                CustosCertificate *cert);
void            custos_reader_set_interaction  (CustosReader      *self,
                                                GTlsInteraction   *interaction);
/* Recompute seals (default TRUE). Off, the reader only decrypts. */
void            custos_reader_set_verify       (CustosReader      *self,
                                                gboolean           verify);
/* Decrypt packets (default TRUE). Off, locked/OK only says whether a key
 * record for one of the provider's certificates exists (no card used). */
void            custos_reader_set_decrypt      (CustosReader      *self,
                                                gboolean           decrypt);
/* Called from custos_reader_next_packet, in its thread, each time the
 * records of a segment get their final verification state: a viewer
 * shows them as they come instead of waiting for the report. */
void            custos_reader_set_seal_func    (CustosReader      *self,
                                                CustosSealFunc     func,
                                                gpointer           user_data,
                                                GDestroyNotify     notify);
/* CA certificates (PEM) that signer chains must lead to. Without one,
 * seals are checked but the signer is reported as not checked. */
void            custos_reader_set_ca_file      (CustosReader      *self,
                                                const char        *ca_file);
/* The next DATA packet, or NULL at the end (error unset) or on a fatal
 * error (not a fusion stream, unsupported version, I/O). Damage is not
 * fatal: it is reported and reading goes on. */
CustosPacket   *custos_reader_next_packet      (CustosReader      *self,
                                                GCancellable      *cancellable,
                                                GError           **error);
/* Positions the reader on the keyframe at or before stream time t using
 * the file's index, reading only the sync point and record headers. A
 * file without a usable index (a fetched range, an unfinished recording)
 * is scanned from its start instead, reading record headers and the
 * fixed prefix of DATA records up to the keyframe after t: cancellable,
 * but as long as the file is. FALSE with NOT_SEEKABLE for an input that
 * cannot seek. */
gboolean        custos_reader_seek             (CustosReader      *self,
                                                gint64             time_us,
                                                GCancellable      *cancellable,
                                                GError           **error);
/* The first and last presentation time (stream time, µs) listed by the
 * file's table of contents, without moving the reader; without a usable
 * one, of the DATA records found by scanning the whole file's record
 * headers. FALSE when the input cannot seek or holds no packets. */
gboolean        custos_reader_get_time_range   (CustosReader      *self,
                                                gint64            *first_us,
                                                gint64            *last_us,
                                                GCancellable      *cancellable,
                                                GError           **error);
/* Bytes read from the input so far (the seek test and benchmarks use it). */
guint64         custos_reader_get_bytes_read   (CustosReader      *self);
CustosReport   *custos_reader_get_report       (CustosReader      *self);
const CustosFileHeader *custos_reader_get_header (CustosReader    *self);
/* CustosStreamInfo of the declared streams, by id order. */
GPtrArray      *custos_reader_get_streams      (CustosReader      *self);
/* CustosRecipientInfo of every recipient seen. */
GPtrArray      *custos_reader_get_recipients   (CustosReader      *self);
/* Signer certificates seen (CustosCertificate) and whether each chains to the CA. */
GPtrArray      *custos_reader_get_signers      (CustosReader      *self);

G_END_DECLS
