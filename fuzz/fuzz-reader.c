/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes through the streaming reader, with seal
 * checking on. The reader must never crash, hang or read out of bounds,
 * whatever it is given.
 */
#define G_LOG_DOMAIN "custos-fuzz"

#include "config.h"

#include "custos.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr (CustosReader) reader = custos_reader_new (in);
  CustosPacket *p;

  while ((p = custos_reader_next_packet (reader, NULL, NULL)) != NULL)
    custos_packet_unref (p);
  return 0;
}
