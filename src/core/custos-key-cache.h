/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosKeyCache: unwrapped KEKs kept in memory for a limited time, so one
 * card operation serves a whole wrap epoch while scrubbing. Entries are
 * wiped when they expire, when dropped, when cleared (card removed, session
 * ended) and when the cache is finalized.
 */
#pragma once

#include <glib-object.h>

#include "custos-format.h"
#include "custos-secret.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_KEY_CACHE (custos_key_cache_get_type ())

G_DECLARE_FINAL_TYPE (CustosKeyCache, custos_key_cache, CUSTOS, KEY_CACHE, GObject)

/* lifetime_ms: how long an entry lives after it was inserted; 0 keeps
 * nothing. The default of the property is 10 minutes. */
CustosKeyCache *custos_key_cache_new          (guint           lifetime_ms);
guint           custos_key_cache_get_lifetime (CustosKeyCache *self);
void            custos_key_cache_set_lifetime (CustosKeyCache *self,
                                               guint           lifetime_ms);
void            custos_key_cache_insert       (CustosKeyCache *self,
                                               const guint8    recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                               guint32         epoch,
                                               CustosSecret   *kek);
/* A new reference, or NULL when absent or expired (an expired entry is wiped). */
CustosSecret   *custos_key_cache_lookup       (CustosKeyCache *self,
                                               const guint8    recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                               guint32         epoch);
/* Drops the entries of one recipient (its card went away); NULL drops all. */
void            custos_key_cache_clear        (CustosKeyCache *self,
                                               const guint8   *recipient_id);
/* Wipes expired entries now; returns how many were dropped. */
guint           custos_key_cache_expire       (CustosKeyCache *self);
guint           custos_key_cache_get_size     (CustosKeyCache *self);

G_END_DECLS
