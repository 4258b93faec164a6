/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosPkcs11Session: one present token as the provider uses it. It owns
 * the PKCS#11 session on the token, the login (kept for the session's
 * life, as cards are used), the list of certificates, and the private-key
 * operations. A PKCS#11 session is not safe for concurrent operations, so
 * everything done on it happens under one mutex; a PIN prompt holds it
 * too, so two unwraps waiting for the same card ask once. Not installed.
 */
#pragma once

#include "custos-key-provider.h"
#include "custos-pkcs11-modules.h"
#include "custos-pkcs11-unwrap.h"

G_BEGIN_DECLS

typedef struct _CustosPkcs11Session CustosPkcs11Session;

/* Opens a session on the token in slot and lists its certificates (those
 * that uri's object attributes, if any, select). */
G_GNUC_INTERNAL
CustosPkcs11Session   *custos_pkcs11_session_open          (CustosPkcs11Module     *module,
                                                            CK_SLOT_ID              slot,
                                                            const CK_TOKEN_INFO    *info,
                                                            P11KitUri              *uri,
                                                            GError                **error);
G_GNUC_INTERNAL
CustosPkcs11Session   *custos_pkcs11_session_ref           (CustosPkcs11Session    *self);
G_GNUC_INTERNAL
void                   custos_pkcs11_session_unref         (CustosPkcs11Session    *self);

/* Same module, slot and token (label, serial, manufacturer, model)? A card
 * swapped for another in the same reader is a removal and an insertion. */
G_GNUC_INTERNAL
gboolean               custos_pkcs11_session_is_token      (CustosPkcs11Session    *self,
                                                            CustosPkcs11Module     *module,
                                                            CK_SLOT_ID              slot,
                                                            const CK_TOKEN_INFO    *info);
/* FALSE when the module says our session died (a card pulled out and put
 * back between two polls looks the same by its token info). Does not
 * wait for a session busy with a PIN prompt. */
G_GNUC_INTERNAL
gboolean               custos_pkcs11_session_is_alive      (CustosPkcs11Session    *self);
/* Takes the flags of a fresh C_GetTokenInfo. */
G_GNUC_INTERNAL
void                   custos_pkcs11_session_update_flags  (CustosPkcs11Session    *self,
                                                            const CK_TOKEN_INFO    *info);
/* TRUE once after each change of the info (flags, login, key states). */
G_GNUC_INTERNAL
gboolean               custos_pkcs11_session_take_changed  (CustosPkcs11Session    *self);
G_GNUC_INTERNAL
CustosPkcs11TokenInfo *custos_pkcs11_session_dup_info      (CustosPkcs11Session    *self);
/* The certificate for a recipient, unless its key is known to be absent. */
G_GNUC_INTERNAL
CustosPkcs11CertInfo  *custos_pkcs11_session_find_cert     (CustosPkcs11Session    *self,
                                                            const guint8           *recipient_id);
/* The token went away: unwraps fail with CUSTOS_KEY_ERROR_REMOVED and the
 * PKCS#11 session is closed by whoever holds it last. */
G_GNUC_INTERNAL
void                   custos_pkcs11_session_mark_removed  (CustosPkcs11Session    *self);
G_GNUC_INTERNAL
gboolean               custos_pkcs11_session_is_removed    (CustosPkcs11Session    *self);

G_GNUC_INTERNAL
CustosSecret          *custos_pkcs11_session_unwrap_kek    (CustosPkcs11Session    *self,
                                                            CustosPkcs11CertInfo   *cert,
                                                            const CustosWrappedKek *wrapped,
                                                            GTlsInteraction        *interaction,
                                                            GCancellable           *cancellable,
                                                            CustosPkcs11Stats      *stats,
                                                            GError                **error);

/* What an administrative operation (enrolment, certificate import) does
 * in a read-write session on the logged-in token. */
typedef gboolean (*CustosPkcs11AdminFunc) (CK_FUNCTION_LIST     *funcs,
                                           CK_SESSION_HANDLE     session,
                                           const CK_TOKEN_INFO  *token,
                                           GCancellable         *cancellable,
                                           gpointer              user_data,
                                           GError              **error);

/* Logs in exactly as an unwrap does (one PIN prompt through interaction,
 * a wrong PIN never retried, the PIN wiped after C_Login), then runs func
 * in a read-write session opened beside ours for the call (it shares the
 * login; ours stays read-only) and reloads the certificates. added, if
 * not NULL, gets the certificates that were not there before
 * (CustosCertificate). func NULL only logs in. */
G_GNUC_INTERNAL
gboolean               custos_pkcs11_session_run_admin     (CustosPkcs11Session    *self,
                                                            GTlsInteraction        *interaction,
                                                            GCancellable           *cancellable,
                                                            CustosPkcs11Stats      *stats,
                                                            CustosPkcs11AdminFunc   func,
                                                            gpointer                user_data,
                                                            GPtrArray             **added,
                                                            GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPkcs11Session, custos_pkcs11_session_unref)

G_END_DECLS
