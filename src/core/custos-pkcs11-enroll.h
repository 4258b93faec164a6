/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrolment on a smart card or token that a CustosPkcs11Provider lists:
 * the key pair is generated ON the token (C_GenerateKeyPair; the private
 * key is sensitive and not extractable, so it never exists anywhere
 * else), its certificate or request is built by OpenSSL around the
 * token's public key and signed by the token (C_Sign), and a self-signed
 * certificate is stored next to the key (same CKA_ID). A certificate that
 * a CA later issues for a request is stored the same way by
 * custos_pkcs11_import_certificate(), which finds its key pair by public
 * key.
 *
 * The PIN is asked through the GTlsInteraction the way unwrapping asks it
 * (the provider's login path: one prompt, a wrong PIN is
 * CUSTOS_KEY_ERROR_BAD_PASSPHRASE naming the tries the token says are
 * left and is never retried by itself, a locked PIN is
 * CUSTOS_KEY_ERROR_LOCKED without a prompt, a PIN pad is used without
 * one, the PIN is wiped after C_Login). The provider stays logged in.
 *
 * Everything runs in GTask threads in the _async variants and checks
 * the cancellable between token operations (G_IO_ERROR_CANCELLED); a key
 * pair whose enrolment fails or is cancelled after its generation is
 * destroyed again, so no orphan keys are left on the card. New
 * certificates are emitted as "certificate-added" by the provider.
 */
#pragma once

#include "custos-enroll.h"
#include "custos-pkcs11-provider.h"

G_BEGIN_DECLS

/* token: as custos_pkcs11_provider_list_tokens() returned it. */
CustosEnrollment *custos_pkcs11_enroll                     (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            const CustosEnrollSpec  *spec,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GError                 **error);
void              custos_pkcs11_enroll_async               (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            const CustosEnrollSpec  *spec,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GAsyncReadyCallback      callback,
                                                            gpointer                 user_data);
CustosEnrollment *custos_pkcs11_enroll_finish              (CustosPkcs11Provider    *provider,
                                                            GAsyncResult            *result,
                                                            GError                 **error);

/* Stores certificate next to its key pair on the token. label NULL: the
 * private key's CKA_LABEL. A certificate already on the token is not
 * stored twice (the result's stored is FALSE). No key pair with the
 * certificate's public key: CUSTOS_KEY_ERROR_NO_KEY; an expired
 * certificate: CUSTOS_CRYPTO_ERROR_EXPIRED. */
CustosEnrollment *custos_pkcs11_import_certificate         (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            CustosCertificate       *certificate,
                                                            const char              *label,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GError                 **error);
void              custos_pkcs11_import_certificate_async   (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            CustosCertificate       *certificate,
                                                            const char              *label,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GAsyncReadyCallback      callback,
                                                            gpointer                 user_data);
CustosEnrollment *custos_pkcs11_import_certificate_finish  (CustosPkcs11Provider    *provider,
                                                            GAsyncResult            *result,
                                                            GError                 **error);

/* Logs in (asking the PIN as above), so that the token's private keys show:
 * its certificates' key_state becomes PRESENT or ABSENT. */
gboolean          custos_pkcs11_login                      (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GError                 **error);
void              custos_pkcs11_login_async                (CustosPkcs11Provider    *provider,
                                                            CustosPkcs11TokenInfo   *token,
                                                            GTlsInteraction         *interaction,
                                                            GCancellable            *cancellable,
                                                            GAsyncReadyCallback      callback,
                                                            gpointer                 user_data);
gboolean          custos_pkcs11_login_finish               (CustosPkcs11Provider    *provider,
                                                            GAsyncResult            *result,
                                                            GError                 **error);

G_END_DECLS
