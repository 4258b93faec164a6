/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosPkcs11Pin: the GTlsPassword the PKCS#11 provider asks a PIN with.
 * Whatever the interaction sets is copied at once into a CustosSecret
 * (locked, wiped memory) and the interaction's own buffer is wiped before
 * it is freed, so the PIN exists in one place only until
 * custos_pkcs11_pin_clear() right after C_Login. Not installed.
 */
#pragma once

#include <gio/gio.h>

#include "custos-secret.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_PKCS11_PIN (custos_pkcs11_pin_get_type ())

G_DECLARE_FINAL_TYPE (CustosPkcs11Pin, custos_pkcs11_pin, CUSTOS, PKCS11_PIN, GTlsPassword)

G_GNUC_INTERNAL
CustosPkcs11Pin *custos_pkcs11_pin_new   (GTlsPasswordFlags  flags,
                                          const char        *description);
/* Wipes the value. */
G_GNUC_INTERNAL
void             custos_pkcs11_pin_clear (CustosPkcs11Pin   *self);

G_END_DECLS
