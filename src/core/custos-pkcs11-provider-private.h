/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the enrolment functions use of a CustosPkcs11Provider. Not installed. */
#pragma once

#include "custos-pkcs11-provider.h"
#include "custos-pkcs11-session.h"

G_BEGIN_DECLS

/* The session of a token the provider listed (same module, slot and
 * token); CUSTOS_KEY_ERROR_REMOVED when it is no longer present. */
G_GNUC_INTERNAL
CustosPkcs11Session *custos_pkcs11_provider_dup_session     (CustosPkcs11Provider  *self,
                                                             CustosPkcs11TokenInfo *token,
                                                             GError               **error);
G_GNUC_INTERNAL
CustosPkcs11Stats   *custos_pkcs11_provider_get_stats       (CustosPkcs11Provider  *self);
/* Emits "certificate-added" for each (CustosCertificate) and
 * notify::tokens, in the provider's main context. */
G_GNUC_INTERNAL
void                 custos_pkcs11_provider_announce_added  (CustosPkcs11Provider  *self,
                                                             GPtrArray             *added);

G_END_DECLS
