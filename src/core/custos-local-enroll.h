/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrolment without a smart card: the key pair is made by OpenSSL on this
 * machine and written at once, encrypted, to a new key file (PKCS#8 PEM,
 * AES-256-CBC under a PBKDF2 key from the passphrase, mode 0600); only
 * the certificate or request leaves. custos_private_key_load() and the
 * local key provider read the file back with the same passphrase.
 *
 * An existing file is never overwritten (G_IO_ERROR_EXISTS): it may be
 * the only copy of a key that video is encrypted to.
 */
#pragma once

#include "custos-enroll.h"

G_BEGIN_DECLS

/* passphrase: not empty; copied, the caller wipes its own. */
CustosEnrollment *custos_local_enroll        (const char              *key_path,
                                              const CustosEnrollSpec  *spec,
                                              const char              *passphrase,
                                              GCancellable            *cancellable,
                                              GError                 **error);
/* RSA-3072 generation takes a second or more: in a GTask thread. */
void              custos_local_enroll_async  (const char              *key_path,
                                              const CustosEnrollSpec  *spec,
                                              const char              *passphrase,
                                              GCancellable            *cancellable,
                                              GAsyncReadyCallback      callback,
                                              gpointer                 user_data);
CustosEnrollment *custos_local_enroll_finish (GAsyncResult            *result,
                                              GError                 **error);

/* A CA's certificate for the key in key_path: checked against the key
 * (read with passphrase) and as a recipient certificate (key type, not
 * expired); nothing is written. Not the key's: CUSTOS_KEY_ERROR_NO_KEY. */
CustosEnrollment *custos_local_import_certificate (const char         *key_path,
                                                   CustosCertificate  *certificate,
                                                   const char         *passphrase,
                                                   GError            **error);

G_END_DECLS
