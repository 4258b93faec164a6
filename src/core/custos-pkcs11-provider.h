/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosPkcs11Provider: the smart cards and tokens of the system as a
 * CustosKeyProvider. Modules come from p11-kit's registry, so OpenSC,
 * SoftHSM or a vendor module configured on the system is found with no
 * setup; custos_pkcs11_provider_new_for_module() uses one module by path.
 * An RFC 7512 URI ("pkcs11:token=Alice;id=%01") narrows modules, tokens
 * and certificates.
 *
 * A RECIPIENT record is matched to a certificate on a token by the SHA-256
 * of the certificate, and the certificate to its private key by CKA_ID.
 * The private key never leaves the token: RSA-OAEP is C_Decrypt with
 * CKM_RSA_PKCS_OAEP (SHA-256), or CKM_RSA_X_509 and OAEP decoding in
 * software where the token refuses SHA-256 parameters (SoftHSM 2.6);
 * ECDH-ES is C_DeriveKey with CKM_ECDH1_DERIVE; RSA PKCS#1 v1.5 only with
 * "allow-legacy".
 *
 * The PIN is asked through the GTlsInteraction given to unwrap_kek (the one
 * the TLS client certificate uses, so the app shows one dialog for both),
 * once per token and provider lifetime: the provider stays logged in. A
 * wrong PIN is CUSTOS_KEY_ERROR_BAD_PASSPHRASE and is never retried by
 * itself; the next attempt is flagged G_TLS_PASSWORD_RETRY. A locked PIN is
 * CUSTOS_KEY_ERROR_LOCKED without a prompt; a PIN pad
 * (CKF_PROTECTED_AUTHENTICATION_PATH) is used without a prompt.
 *
 * A thread polls the modules every "poll-interval" ms (slot events where
 * the module reports them, the list of present tokens always). When a
 * token goes, its session is dropped and "certificate-removed" is emitted
 * for each of its certificates, so a CustosKeyring wipes their cached KEKs;
 * when one comes, "certificate-added". Both, and notify::tokens, are
 * emitted in the thread-default main context the provider was made in.
 *
 * All token I/O of unwrap_kek_async and of the _async constructors runs
 * in GTask threads and can be cancelled (G_IO_ERROR_CANCELLED).
 */
#pragma once

#include "custos-key-provider.h"
#include "custos-pkcs11-error.h"
#include "custos-pkcs11-token.h"

G_BEGIN_DECLS

#define CUSTOS_PKCS11_DEFAULT_POLL_INTERVAL 500 /* ms */

#define CUSTOS_TYPE_PKCS11_PROVIDER (custos_pkcs11_provider_get_type ())

G_DECLARE_FINAL_TYPE (CustosPkcs11Provider, custos_pkcs11_provider,
                      CUSTOS, PKCS11_PROVIDER, GObject)

/* uri may be NULL (every token of every registered module). */
CustosPkcs11Provider *custos_pkcs11_provider_new             (const char            *uri,
                                                              GCancellable          *cancellable,
                                                              GError               **error);
CustosPkcs11Provider *custos_pkcs11_provider_new_for_module  (const char            *module_path,
                                                              const char            *uri,
                                                              GCancellable          *cancellable,
                                                              GError               **error);
/* Module start-up can take seconds (OpenSC with a card inserted). */
void                  custos_pkcs11_provider_new_async       (const char            *module_path,
                                                              const char            *uri,
                                                              GCancellable          *cancellable,
                                                              GAsyncReadyCallback    callback,
                                                              gpointer               user_data);
CustosPkcs11Provider *custos_pkcs11_provider_new_finish      (GAsyncResult          *result,
                                                              GError               **error);

/* The tokens present as of the last poll (CustosPkcs11TokenInfo). No I/O. */
GPtrArray            *custos_pkcs11_provider_list_tokens     (CustosPkcs11Provider  *self);
/* Polls now instead of waiting for the next interval; the signals follow
 * in the provider's main context. */
gboolean              custos_pkcs11_provider_refresh         (CustosPkcs11Provider  *self,
                                                              GCancellable          *cancellable,
                                                              GError               **error);
void                  custos_pkcs11_provider_refresh_async   (CustosPkcs11Provider  *self,
                                                              GCancellable          *cancellable,
                                                              GAsyncReadyCallback    callback,
                                                              gpointer               user_data);
gboolean              custos_pkcs11_provider_refresh_finish  (CustosPkcs11Provider  *self,
                                                              GAsyncResult          *result,
                                                              GError               **error);

const char           *custos_pkcs11_provider_get_uri          (CustosPkcs11Provider *self);
gboolean              custos_pkcs11_provider_get_allow_legacy (CustosPkcs11Provider *self);
void                  custos_pkcs11_provider_set_allow_legacy (CustosPkcs11Provider *self,
                                                               gboolean              allow);
/* 0 stops polling. */
guint                 custos_pkcs11_provider_get_poll_interval (CustosPkcs11Provider *self);
void                  custos_pkcs11_provider_set_poll_interval (CustosPkcs11Provider *self,
                                                                guint                 interval_ms);

/* For tests and benchmarks: private-key operations sent to tokens
 * (C_Decrypt and C_DeriveKey calls), and the CKM_* mechanism of the last
 * successful unwrap (CKM_RSA_PKCS_OAEP, CKM_RSA_X_509, CKM_RSA_PKCS,
 * CKM_ECDH1_DERIVE), 0 before any. */
guint                 custos_pkcs11_provider_get_private_key_ops (CustosPkcs11Provider *self);
gulong                custos_pkcs11_provider_get_last_mechanism  (CustosPkcs11Provider *self);

G_END_DECLS
