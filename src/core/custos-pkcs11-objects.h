/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Objects on a token, for enrolment: attributes read, objects found,
 * certificates stored and key pairs matched to certificates by their
 * public key. All on a session the caller holds (and locks). Not
 * installed.
 */
#pragma once

#include <openssl/evp.h>

#include "custos-pkcs11-private.h"

G_BEGIN_DECLS

/* One attribute's value; NULL when the object has none or hides it. */
G_GNUC_INTERNAL
GBytes           *custos_pkcs11_objects_get_attribute (CK_FUNCTION_LIST   *funcs,
                                                       CK_SESSION_HANDLE   session,
                                                       CK_OBJECT_HANDLE    object,
                                                       CK_ATTRIBUTE_TYPE   type);
/* CK_OBJECT_HANDLEs matching the template. */
G_GNUC_INTERNAL
GArray           *custos_pkcs11_objects_find          (CK_FUNCTION_LIST   *funcs,
                                                       CK_SESSION_HANDLE   session,
                                                       CK_ATTRIBUTE       *match,
                                                       CK_ULONG            n_match,
                                                       GError            **error);
/* The first object of class klass with this CKA_ID; CK_INVALID_HANDLE
 * when none (error set only when the search failed). */
G_GNUC_INTERNAL
CK_OBJECT_HANDLE  custos_pkcs11_objects_find_by_id    (CK_FUNCTION_LIST   *funcs,
                                                       CK_SESSION_HANDLE   session,
                                                       CK_OBJECT_CLASS     klass,
                                                       GBytes             *id,
                                                       GError            **error);
/* An X.509 certificate object (CKA_TOKEN) with CKA_ID and CKA_LABEL. */
G_GNUC_INTERNAL
gboolean          custos_pkcs11_objects_store_certificate (CK_FUNCTION_LIST   *funcs,
                                                           CK_SESSION_HANDLE   session,
                                                           CustosCertificate  *certificate,
                                                           GBytes             *id,
                                                           const char         *label,
                                                           GError            **error);

/* The public key of a key object: RSA from CKA_MODULUS and
 * CKA_PUBLIC_EXPONENT (public keys, and the private keys of most tokens),
 * EC P-256/P-384 from CKA_EC_PARAMS and CKA_EC_POINT (public keys). */
G_GNUC_INTERNAL
EVP_PKEY         *custos_pkcs11_objects_get_public_key (CK_FUNCTION_LIST   *funcs,
                                                        CK_SESSION_HANDLE   session,
                                                        CK_OBJECT_HANDLE    object,
                                                        GError            **error);
/* The CKA_ID of the key pair whose public key is public_key, looked for
 * among the public keys, then the RSA private keys; NULL when none (error
 * set only when the search failed). */
G_GNUC_INTERNAL
GBytes           *custos_pkcs11_objects_find_key_id    (CK_FUNCTION_LIST   *funcs,
                                                        CK_SESSION_HANDLE   session,
                                                        EVP_PKEY           *public_key,
                                                        GError            **error);

G_END_DECLS
