/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosSecret: a reference-counted buffer for key material (period keys,
 * KEKs, shared secrets, PINs). The bytes are wiped with OPENSSL_cleanse()
 * when the last reference goes, and locked in memory where the OS allows,
 * so they are never swapped out. Never log a secret's bytes.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_SECRET (custos_secret_get_type ())

typedef struct _CustosSecret CustosSecret;

GType          custos_secret_get_type   (void) G_GNUC_CONST;
CustosSecret  *custos_secret_new        (gsize               len);
CustosSecret  *custos_secret_new_copy   (const guint8       *data,
                                         gsize               len);
CustosSecret  *custos_secret_new_random (gsize               len,
                                         GError            **error);
CustosSecret  *custos_secret_ref        (CustosSecret       *self);
void           custos_secret_unref      (CustosSecret       *self);
guint8        *custos_secret_get_data   (CustosSecret       *self);
const guint8  *custos_secret_peek       (const CustosSecret *self);
gsize          custos_secret_get_len    (const CustosSecret *self);
gboolean       custos_secret_equal      (const CustosSecret *a,
                                         const CustosSecret *b);
void           custos_memzero           (gpointer            mem,
                                         gsize               len);
/* Secrets alive in this process; tests use it to prove that caches and
 * readers release (and so wipe) every key they held. */
guint          custos_secret_get_live_count (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosSecret, custos_secret_unref)

G_END_DECLS
