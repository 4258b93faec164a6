/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the PKCS#11 files of libcustos only; not installed. */
#pragma once

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "custos-certificate.h"
#include "custos-pkcs11-error.h"
#include "custos-pkcs11-token.h"

G_BEGIN_DECLS

/* Sets a CUSTOS_PKCS11_ERROR with code rv: "<what>: <p11-kit text> (CKR_…)". */
G_GNUC_INTERNAL G_GNUC_PRINTF (3, 4)
void                  custos_pkcs11_set_error          (GError              **error,
                                                        CK_RV                 rv,
                                                        const char           *format,
                                                        ...);
/* Does rv mean the token or our session on it is gone? */
G_GNUC_INTERNAL
gboolean              custos_pkcs11_rv_is_removal      (CK_RV                 rv);

/* The 32/16-byte blank-padded strings of CK_TOKEN_INFO, trimmed. */
G_GNUC_INTERNAL
char                 *custos_pkcs11_dup_padded         (const unsigned char  *string,
                                                        gsize                 max_len);

G_GNUC_INTERNAL
CustosPkcs11TokenInfo *custos_pkcs11_token_info_new    (const char           *module_name,
                                                        CK_SLOT_ID            slot,
                                                        const CK_TOKEN_INFO  *info,
                                                        GPtrArray            *certificates);
/* A new snapshot with other flags, login state or certificates (NULL:
 * the same certificates). */
G_GNUC_INTERNAL
CustosPkcs11TokenInfo *custos_pkcs11_token_info_update (CustosPkcs11TokenInfo *self,
                                                        CustosPkcs11TokenFlags flags,
                                                        gboolean              logged_in,
                                                        GPtrArray            *certificates);
G_GNUC_INTERNAL
CustosPkcs11CertInfo *custos_pkcs11_cert_info_new      (CustosCertificate    *certificate,
                                                        const CK_TOKEN_INFO  *token,
                                                        const guint8         *id,
                                                        gsize                 id_len,
                                                        const char           *label,
                                                        CustosPkcs11KeyState  key_state);
/* A copy with another key state (after a login made private keys visible). */
G_GNUC_INTERNAL
CustosPkcs11CertInfo *custos_pkcs11_cert_info_with_key_state (CustosPkcs11CertInfo *self,
                                                              CustosPkcs11KeyState  key_state);
/* The raw CKA_ID of a certificate, to find its private key by. */
G_GNUC_INTERNAL
const guint8         *custos_pkcs11_cert_info_get_id   (CustosPkcs11CertInfo *self,
                                                        gsize                *len);

G_END_DECLS
