/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Synthetic fusion files for the format tests: a video stream at 30 fps
 * with a keyframe every second and an optional audio stream at 50 packets
 * per second, with payloads derived from (stream, index) so any packet can
 * be checked without keeping the originals.
 */
#pragma once

#include "custos.h"

G_BEGIN_DECLS

typedef struct
{
  guint     seconds;
  gboolean  audio;
  gboolean  encrypted;
  guint     period_ms;
  guint     epoch_ms;
  guint     seal_ms;
  gint64    start_us;
  guint     max_payload;
  gboolean  legacy;
  gboolean  indexed;
} CustosTestSpec;

void          custos_test_spec_init      (CustosTestSpec *spec);
GBytes       *custos_test_payload        (guint           stream,
                                          guint           index,
                                          guint           max_payload);
/* recipients: CustosCertificate; signer_key/signer_cert may be NULL.
 * enroll_late: recipients added after a third of the packets. */
GBytes       *custos_test_fusion_make    (const CustosTestSpec *spec,
                                          GPtrArray      *recipients,
                                          GPtrArray      *late_recipients,
                                          EVP_PKEY       *signer_key,
                                          CustosCertificate *signer_cert);
/* Reads everything; returns the packets (CustosPacket). */
GPtrArray    *custos_test_fusion_read    (GBytes            *file,
                                          CustosKeyProvider *provider,
                                          const char        *ca_file,
                                          CustosReport     **report);
CustosLocalKeyProvider *custos_test_provider (const char *cert_path,
                                              const char *key_path);
/* Packets the spec writes for a stream. */
guint         custos_test_packet_count   (const CustosTestSpec *spec,
                                          guint           stream);
/* Checks a packet's payload against what the spec wrote. */
void          custos_test_assert_payload (const CustosTestSpec *spec,
                                          CustosPacket   *packet);
/* Byte offsets and headers of every record of a file. */
GArray       *custos_test_records        (GBytes         *file);

typedef struct
{
  gsize  offset;
  guint8 type;
  guint8 flags;
  gsize  length; /* whole record */
} CustosTestRecord;

G_END_DECLS
