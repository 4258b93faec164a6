/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCredentials: the viewer's keys, without any widget.
 *
 * It owns the app's one CustosKeyring, holding
 *   - a CustosPkcs11Provider per module: every module p11-kit registers,
 *     plus the paths in the `pkcs11-modules` setting;
 *   - a CustosLocalKeyProvider for the files in the `key-files` setting;
 * and sets the keyring's cache lifetime from `key-cache-minutes`.
 *
 * Players hand custos_credentials_get_key_provider() and
 * custos_credentials_get_interaction() to custosdemux; the archiver
 * connection takes custos_credentials_get_tls_certificate_async(). Both
 * ask PINs through the same interaction, so the user sees one dialog.
 *
 * The cards present are the GListModel of custos_credentials_get_cards(),
 * updated live. When a card is removed, the keys unwrapped with it are
 * wiped from the cache first, then "card-removed" is emitted (players
 * relock their tiles on it), then the item leaves the model.
 *
 * Use it from the main thread (the one it was made in).
 */
#pragma once

#include <gio/gio.h>

#include "custos-card.h"
#include "custos-key-provider.h"
#include "custos-keyring.h"

G_BEGIN_DECLS

#define CUSTOS_CREDENTIALS_ERROR (custos_credentials_error_quark ())

typedef enum
{
  CUSTOS_CREDENTIALS_ERROR_FAILED,
  CUSTOS_CREDENTIALS_ERROR_NOT_FOUND,    /* no card or key file with this identity */
  CUSTOS_CREDENTIALS_ERROR_BAD_FILE,     /* not a PEM key or PKCS#12 file, or no certificate */
  CUSTOS_CREDENTIALS_ERROR_BAD_PIN,      /* wrong PIN or passphrase, three times in a row */
  CUSTOS_CREDENTIALS_ERROR_LOCKED,       /* the PIN is locked */
} CustosCredentialsError;

GQuark custos_credentials_error_quark (void);

#define CUSTOS_TYPE_CREDENTIALS (custos_credentials_get_type ())

G_DECLARE_FINAL_TYPE (CustosCredentials, custos_credentials, CUSTOS, CREDENTIALS, GObject)

/* settings: an org.custos.Custos GSettings (read and written: key-files).
 * interaction: the GTlsInteraction for PINs and passphrases; NULL makes a
 * CustosPinInteraction (which needs GTK initialised when it is asked). */
CustosCredentials *custos_credentials_new               (GSettings          *settings,
                                                         GTlsInteraction    *interaction);
/* Only the modules given (paths), not p11-kit's registry nor the
 * `pkcs11-modules` setting: for tests and for a sandbox. NULL: as _new. */
CustosCredentials *custos_credentials_new_for_modules   (GSettings          *settings,
                                                         GTlsInteraction    *interaction,
                                                         const char * const *module_paths);

/* The keyring (a CustosKeyProvider) for custosdemux and exports. */
CustosKeyProvider *custos_credentials_get_key_provider  (CustosCredentials  *self);
CustosKeyring     *custos_credentials_get_keyring       (CustosCredentials  *self);
GTlsInteraction   *custos_credentials_get_interaction   (CustosCredentials  *self);

/* CustosCard items, one per token present. */
GListModel        *custos_credentials_get_cards         (CustosCredentials  *self);
/* Polls the modules now; card-added/card-removed follow in the main
 * context. Cards are otherwise noticed within half a second. */
void               custos_credentials_refresh           (CustosCredentials  *self);

/* The key files in use (the `key-files` setting, the ones that loaded):
 * char * paths. */
GPtrArray         *custos_credentials_dup_key_files     (CustosCredentials  *self);
/* Adds a PEM (private key; its certificate in the same file, or in
 * NAME.cert.pem / NAME.crt next to a NAME.key.pem / NAME.key) or PKCS#12
 * file, asking its passphrase through the interaction when it is
 * encrypted, checks the key matches the certificate, and appends the path
 * to `key-files`. Returns the certificate. */
void               custos_credentials_add_key_file_async  (CustosCredentials   *self,
                                                           GFile               *file,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
CustosCertificate *custos_credentials_add_key_file_finish (CustosCredentials   *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* Forgets a key file (and wipes the keys unwrapped with it); FALSE when
 * it was not in use. */
gboolean           custos_credentials_remove_key_file   (CustosCredentials  *self,
                                                         const char         *path);

/* The client certificate for an archiver connection. identity is what the
 * `archivers` setting holds: a PKCS#11 URI of a certificate on a card
 * ("pkcs11:…", as CustosCardCertificate:uri gives it) or the path of a key
 * file (PEM or PKCS#12). The card's PIN (or the file's passphrase) is asked
 * through the interaction; a wrong one is asked again (flagged RETRY, with
 * the tries left) up to three times before it fails with BAD_PIN. */
void               custos_credentials_get_tls_certificate_async  (CustosCredentials   *self,
                                                                  const char          *identity,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
GTlsCertificate   *custos_credentials_get_tls_certificate_finish (CustosCredentials   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

G_END_DECLS
