/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos_export_range: an encrypted .fusion file for a time range of
 * another one, self-contained (docs/fusion-stream.md §7.1).
 *
 * Seals cover whole segments and a reader can only start at a sync point
 * (a FILE_HEADER, the descriptors, the signer and the keys in force), so
 * the export starts at the sync point at or before the segment holding
 * `from` and ends after the SEAL and INDEX of the segment holding `to`:
 * it covers at least the range asked for, usually a little more. The
 * records in between are copied byte for byte, so every seal still
 * verifies; the INDEX records and a new TOC are rewritten for the new
 * offsets. Extra recipients get the period keys re-wrapped for them
 * without re-encrypting anything (the same code as custos_rewrap()),
 * which needs a provider that can open the file itself.
 */
#pragma once

#include <gio/gio.h>

#include "custos-key-provider.h"

G_BEGIN_DECLS

/* No bound: from the first segment, or to the last. */
#define CUSTOS_EXPORT_START G_MININT64
#define CUSTOS_EXPORT_END   G_MAXINT64

/* What was exported. Times are stream time (µs), as in the TOC. */
typedef struct
{
  gint64  first_us;     /* first presentation time of the exported segments */
  gint64  last_us;      /* last presentation time */
  guint64 input_offset; /* the byte range of the input that was copied */
  guint64 input_length;
  guint64 written;      /* bytes of the output */
  guint   segments;
} CustosExportInfo;

/* Called from the exporting thread every few hundred KiB of input. */
typedef void (*CustosExportProgressFunc) (guint64  done,
                                          guint64  total,
                                          gpointer user_data);

/* input must be seekable and the file finished (it has a TOC). from_us and
 * to_us are stream time (UTC µs for recordings with utc_origin 0, as
 * archivers write them). recipients (CustosCertificate, may be NULL or
 * empty) need provider; provider is otherwise unused and may be NULL.
 * info may be NULL. */
gboolean custos_export_range (GInputStream              *input,
                              GOutputStream             *output,
                              gint64                     from_us,
                              gint64                     to_us,
                              CustosKeyProvider         *provider,
                              GTlsInteraction           *interaction,
                              GPtrArray                 *recipients,
                              gboolean                   legacy,
                              CustosExportProgressFunc   progress,
                              gpointer                   user_data,
                              CustosExportInfo          *info,
                              GCancellable              *cancellable,
                              GError                   **error);

G_END_DECLS
