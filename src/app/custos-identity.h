/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers of CustosCredentials (not a type): key files and the TLS client
 * certificate of an identity. Everything here may block (files, card I/O,
 * prompts through the interaction) and runs in GTask threads; prompts go
 * through g_tls_interaction_invoke_ask_password(), so they show in the
 * interaction's main context.
 */
#pragma once

#include <gio/gio.h>

#include "custos-secret.h"

G_BEGIN_DECLS

/* A wrong PIN or passphrase is asked again this many times in all. */
#define CUSTOS_IDENTITY_MAX_TRIES 3

/* Asks a PIN or passphrase; returns it NUL-terminated in wiped memory
 * (the length without the NUL is strlen of the data). NULL with
 * G_IO_ERROR_CANCELLED when the user declined. tries_left: 0 unknown. */
CustosSecret    *custos_identity_ask          (GTlsInteraction    *interaction,
                                               const char         *description,
                                               GTlsPasswordFlags   flags,
                                               guint               tries_left,
                                               GCancellable       *cancellable,
                                               GError            **error);

gboolean         custos_identity_is_pkcs11    (const char         *identity);
/* Whether a PKCS#11 identity may be on the card of token URI card_uri:
 * the token attributes the identity names match the card's. */
gboolean         custos_identity_is_on_card   (const char         *identity,
                                               const char         *card_uri);
gboolean         custos_identity_is_pkcs12    (const char         *path);
/* A PEM file whose private key is encrypted. */
gboolean         custos_identity_is_encrypted (const char         *path);
/* The certificate of a PEM key file: the file itself when it holds one,
 * else NAME.cert.pem / NAME.crt / NAME.pem beside NAME.key.pem or
 * NAME.key; NULL (error BAD_FILE) when there is none. */
char            *custos_identity_find_certificate (const char     *key_path,
                                                   GError        **error);

/* The GTlsCertificate of an identity (a PKCS#11 URI or a key file). For
 * a card, the PIN is checked with C_Login before it is handed to GnuTLS
 * (pin-value), so a wrong one is asked again (RETRY, and MANY_TRIES /
 * FINAL_TRY as the card says) instead of failing at the handshake.
 * pin_pad_func, when not NULL, is called with TRUE before a login on a PIN
 * pad reader and FALSE after it. */
typedef void (*CustosPinPadFunc) (gboolean    active,
                                  const char *card_label,
                                  gpointer    user_data);

GTlsCertificate *custos_identity_load_tls_certificate (const char       *identity,
                                                       GTlsInteraction  *interaction,
                                                       CustosPinPadFunc  pin_pad_func,
                                                       gpointer          user_data,
                                                       GCancellable     *cancellable,
                                                       GError          **error);

G_END_DECLS
