/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors of PKCS#11 tokens. Like gck, the code of a CUSTOS_PKCS11_ERROR is
 * the CK_RV the module returned, and the message carries p11-kit's text for
 * it and its CKR_ name, so a log line says what the card said.
 *
 * The PKCS#11 key provider reports what a caller acts on in CUSTOS_KEY_ERROR
 * instead: a wrong PIN (CUSTOS_KEY_ERROR_BAD_PASSPHRASE), a locked PIN
 * (CUSTOS_KEY_ERROR_LOCKED), a card pulled out (CUSTOS_KEY_ERROR_REMOVED);
 * cancellation is G_IO_ERROR_CANCELLED. Everything else the token returns
 * stays in this domain.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CUSTOS_PKCS11_ERROR (custos_pkcs11_error_quark ())

GQuark      custos_pkcs11_error_quark  (void);
/* The CKR_ name of a return value ("CKR_PIN_INCORRECT"), or NULL when it
 * is not a standard one. */
const char *custos_pkcs11_rv_to_string (gulong rv);

G_END_DECLS
