/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosKeyProvider: something that holds private keys and can unwrap the
 * KEK of a RECIPIENT record for the certificates it has: local key files
 * (CustosLocalKeyProvider), smart cards and tokens (CustosPkcs11Provider),
 * or several of them behind one cache (CustosKeyring). Slow providers
 * (cards) do their work in the async pair; the sync call is for threads
 * and the CLI.
 */
#pragma once

#include <gio/gio.h>

#include "custos-certificate.h"
#include "custos-format.h"
#include "custos-secret.h"

G_BEGIN_DECLS

#define CUSTOS_KEY_ERROR (custos_key_error_quark ())

typedef enum
{
  CUSTOS_KEY_ERROR_FAILED,
  CUSTOS_KEY_ERROR_NO_KEY,          /* no private key for this recipient */
  CUSTOS_KEY_ERROR_BAD_PASSPHRASE,  /* wrong passphrase or PIN */
  CUSTOS_KEY_ERROR_LOCKED,          /* PIN locked, or the user declined */
  CUSTOS_KEY_ERROR_NOT_ENABLED,     /* algorithm disabled by policy (PKCS#1 v1.5) */
  CUSTOS_KEY_ERROR_UNWRAP_FAILED,   /* the private key operation failed */
  CUSTOS_KEY_ERROR_REMOVED,         /* the token went away */
} CustosKeyError;

GQuark custos_key_error_quark (void);

/* What a RECIPIENT record asks of a provider. */
typedef struct
{
  guint8        recipient_id[CUSTOS_RECIPIENT_ID_LEN];
  guint32       epoch;
  CustosWrapAlg alg;
  GBytes       *wrapped;
} CustosWrappedKek;

#define CUSTOS_TYPE_WRAPPED_KEK (custos_wrapped_kek_get_type ())

GType             custos_wrapped_kek_get_type (void) G_GNUC_CONST;
CustosWrappedKek *custos_wrapped_kek_new  (const guint8   recipient_id[CUSTOS_RECIPIENT_ID_LEN],
                                           guint32        epoch,
                                           CustosWrapAlg  alg,
                                           GBytes        *wrapped);
CustosWrappedKek *custos_wrapped_kek_copy (const CustosWrappedKek *self);
void              custos_wrapped_kek_free (CustosWrappedKek *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosWrappedKek, custos_wrapped_kek_free)

#define CUSTOS_TYPE_KEY_PROVIDER (custos_key_provider_get_type ())

G_DECLARE_INTERFACE (CustosKeyProvider, custos_key_provider, CUSTOS, KEY_PROVIDER, GObject)

struct _CustosKeyProviderInterface
{
  GTypeInterface parent_iface;

  /* Certificates whose private keys this provider holds. */
  GPtrArray    *(*list_certificates) (CustosKeyProvider      *self);
  gboolean      (*has_recipient)     (CustosKeyProvider      *self,
                                      const guint8            recipient_id[CUSTOS_RECIPIENT_ID_LEN]);
  /* May block (card I/O, PIN prompt through the interaction). */
  CustosSecret *(*unwrap_kek)        (CustosKeyProvider      *self,
                                      const CustosWrappedKek *wrapped,
                                      GTlsInteraction        *interaction,
                                      GCancellable           *cancellable,
                                      GError                **error);
  /* Default: unwrap_kek in a GTask thread. */
  void          (*unwrap_kek_async)  (CustosKeyProvider      *self,
                                      const CustosWrappedKek *wrapped,
                                      GTlsInteraction        *interaction,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  CustosSecret *(*unwrap_kek_finish) (CustosKeyProvider      *self,
                                      GAsyncResult           *result,
                                      GError                **error);
};

/* Signals of the interface, emitted in the main context the provider was
 * made in:
 *   "certificate-added"   (CustosCertificate *) a token with its key came
 *   "certificate-removed" (CustosCertificate *) it went: forget its keys now
 * A CustosKeyring wipes the cached KEKs of a removed certificate. Providers
 * emit them with these helpers. */
void          custos_key_provider_emit_certificate_added   (CustosKeyProvider *self,
                                                            CustosCertificate *certificate);
void          custos_key_provider_emit_certificate_removed (CustosKeyProvider *self,
                                                            CustosCertificate *certificate);

GPtrArray    *custos_key_provider_list_certificates (CustosKeyProvider      *self);
gboolean      custos_key_provider_has_recipient     (CustosKeyProvider      *self,
                                                     const guint8            recipient_id[CUSTOS_RECIPIENT_ID_LEN]);
CustosSecret *custos_key_provider_unwrap_kek        (CustosKeyProvider      *self,
                                                     const CustosWrappedKek *wrapped,
                                                     GTlsInteraction        *interaction,
                                                     GCancellable           *cancellable,
                                                     GError                **error);
void          custos_key_provider_unwrap_kek_async  (CustosKeyProvider      *self,
                                                     const CustosWrappedKek *wrapped,
                                                     GTlsInteraction        *interaction,
                                                     GCancellable           *cancellable,
                                                     GAsyncReadyCallback     callback,
                                                     gpointer                user_data);
CustosSecret *custos_key_provider_unwrap_kek_finish (CustosKeyProvider      *self,
                                                     GAsyncResult           *result,
                                                     GError                **error);

G_END_DECLS
