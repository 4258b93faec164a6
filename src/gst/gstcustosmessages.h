/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The structures of custosdemux's element messages, "custos-verification"
 * and "custos-locked"; their fields are documented in gstcustosdemux.h.
 */
#pragma once

#include <gst/gst.h>

#include "custos-reader.h"

G_BEGIN_DECLS

/* base_utc_us: UTC of output time 0, or G_MININT64 while unknown (the
 * fields in output time are then left out). */
GstStructure *gst_custos_verification_new (const CustosSealResult *result,
                                           gint64                  base_utc_us);
GstStructure *gst_custos_locked_new       (CustosReader           *reader,
                                           guint                   stream,
                                           guint32                 period,
                                           const char             *reason,
                                           gint64                  start_utc_us,
                                           gint64                  stop_utc_us,
                                           gint64                  base_utc_us);

G_END_DECLS
