/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosKeyring: the providers a reader may use, with one key cache in
 * front of them. It is itself a CustosKeyProvider, so readers and elements
 * take "a provider" and the app hands them its keyring.
 */
#pragma once

#include "custos-key-cache.h"
#include "custos-key-provider.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_KEYRING (custos_keyring_get_type ())

G_DECLARE_FINAL_TYPE (CustosKeyring, custos_keyring, CUSTOS, KEYRING, GObject)

CustosKeyring  *custos_keyring_new             (void);
void            custos_keyring_add_provider    (CustosKeyring     *self,
                                                CustosKeyProvider *provider);
void            custos_keyring_remove_provider (CustosKeyring     *self,
                                                CustosKeyProvider *provider);
CustosKeyCache *custos_keyring_get_cache       (CustosKeyring     *self);
/* Counts private-key operations that went to a provider (cache misses);
 * the smart card benchmark reads it. */
guint64         custos_keyring_get_unwrap_count (CustosKeyring    *self);

G_END_DECLS
