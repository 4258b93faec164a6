/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosLocalKeyProvider: private keys from files (PEM, encrypted PEM,
 * PKCS#12), each paired with its certificate. The passphrase, when one is
 * needed, is asked through the GTlsInteraction when the key is first used
 * and wiped at once after the key is decoded.
 */
#pragma once

#include "custos-key-provider.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_LOCAL_KEY_PROVIDER (custos_local_key_provider_get_type ())

G_DECLARE_FINAL_TYPE (CustosLocalKeyProvider, custos_local_key_provider, CUSTOS, LOCAL_KEY_PROVIDER, GObject)

CustosLocalKeyProvider *custos_local_key_provider_new     (void);
/* key_path: PEM private key or PKCS#12; cert_path: PEM/DER certificate, or
 * NULL when key_path is a PKCS#12 that contains it. passphrase may be NULL;
 * it is copied into wiped memory. */
gboolean                custos_local_key_provider_add_key (CustosLocalKeyProvider *self,
                                                           const char             *key_path,
                                                           const char             *cert_path,
                                                           const char             *passphrase,
                                                           GError                **error);
/* Allow RSA PKCS#1 v1.5 unwraps (legacy cards); off by default. */
void                    custos_local_key_provider_set_allow_legacy (CustosLocalKeyProvider *self,
                                                                    gboolean                allow);

G_END_DECLS
