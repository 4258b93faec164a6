/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a PKCS#11 provider sees on its tokens, for `custos-cli keys` and the
 * app's card list. Both structs are immutable snapshots, reference counted:
 * the provider makes new ones when a card comes or goes or a login reveals
 * its private keys, and never changes one a caller holds.
 *
 *   CustosPkcs11TokenInfo   one token (a card in a reader, a SoftHSM token)
 *   └─ certificates         CustosPkcs11CertInfo: a certificate object, paired
 *                           with its private key by CKA_ID
 */
#pragma once

#include <gio/gio.h>

#include "custos-certificate.h"

G_BEGIN_DECLS

/* The CK_TOKEN_INFO flags a UI needs, named. */
typedef enum
{
  CUSTOS_PKCS11_TOKEN_LOGIN_REQUIRED      = 1 << 0, /* CKF_LOGIN_REQUIRED */
  CUSTOS_PKCS11_TOKEN_PROTECTED_AUTH_PATH = 1 << 1, /* PIN pad: the reader asks the PIN */
  CUSTOS_PKCS11_TOKEN_PIN_COUNT_LOW       = 1 << 2, /* a wrong PIN was entered */
  CUSTOS_PKCS11_TOKEN_PIN_FINAL_TRY       = 1 << 3, /* one more wrong PIN locks it */
  CUSTOS_PKCS11_TOKEN_PIN_LOCKED          = 1 << 4, /* needs the SO PIN (PUK) to unlock */
  CUSTOS_PKCS11_TOKEN_WRITE_PROTECTED     = 1 << 5,
} CustosPkcs11TokenFlags;

/* Maps CK_TOKEN_INFO.flags. */
CustosPkcs11TokenFlags custos_pkcs11_token_flags_from_ck (gulong ck_flags);

/* What logging in to a token with these flags takes. */
typedef enum
{
  CUSTOS_PKCS11_LOGIN_NOT_NEEDED, /* no CKF_LOGIN_REQUIRED */
  CUSTOS_PKCS11_LOGIN_ASK_PIN,    /* ask through the GTlsInteraction */
  CUSTOS_PKCS11_LOGIN_PIN_PAD,    /* C_Login with no PIN; the reader's pad asks */
  CUSTOS_PKCS11_LOGIN_LOCKED,     /* fail at once: asking would only lock it harder */
} CustosPkcs11LoginAction;

/* The rule the provider follows before it logs in, and the GTlsPassword
 * flags of the prompt for CUSTOS_PKCS11_LOGIN_ASK_PIN: PIN count low ->
 * MANY_TRIES, final try -> FINAL_TRY, after_wrong_pin -> RETRY. */
CustosPkcs11LoginAction custos_pkcs11_login_action (CustosPkcs11TokenFlags  flags,
                                                    gboolean                after_wrong_pin,
                                                    GTlsPasswordFlags      *password_flags);

typedef enum
{
  CUSTOS_PKCS11_KEY_UNKNOWN, /* private keys are hidden until the user logs in */
  CUSTOS_PKCS11_KEY_PRESENT, /* a private key with the certificate's CKA_ID is there */
  CUSTOS_PKCS11_KEY_ABSENT,  /* none: the certificate is only informational (a CA) */
} CustosPkcs11KeyState;

const char *custos_pkcs11_key_state_to_string (CustosPkcs11KeyState state);

#define CUSTOS_TYPE_PKCS11_CERT_INFO (custos_pkcs11_cert_info_get_type ())

typedef struct
{
  CustosCertificate    *certificate;
  char                 *id_hex;    /* CKA_ID in lower-case hex; pairs certificate and key */
  char                 *label;     /* CKA_LABEL, "" when none */
  CustosPkcs11KeyState  key_state;
  char                 *key_type;  /* of the certificate's key: "RSA", "EC P-256", … */
  guint                 key_bits;
  CustosWrapAlg         wrap_alg;  /* what files wrap to it (OAEP, ECDH-ES); 0: unusable */
  char                 *uri;       /* RFC 7512 URI of the certificate (for TLS, the CLI) */
  /*< private >*/
  gatomicrefcount       ref_count;
  guint8               *id;
  gsize                 id_len;
} CustosPkcs11CertInfo;

GType                 custos_pkcs11_cert_info_get_type (void) G_GNUC_CONST;
CustosPkcs11CertInfo *custos_pkcs11_cert_info_ref      (CustosPkcs11CertInfo *self);
void                  custos_pkcs11_cert_info_unref    (CustosPkcs11CertInfo *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPkcs11CertInfo, custos_pkcs11_cert_info_unref)

#define CUSTOS_TYPE_PKCS11_TOKEN_INFO (custos_pkcs11_token_info_get_type ())

typedef struct
{
  gulong                  slot_id;
  char                   *module_name;  /* p11-kit's name ("softhsm2", "opensc-pkcs11") */
  char                   *label;
  char                   *manufacturer;
  char                   *model;
  char                   *serial;
  CustosPkcs11TokenFlags  flags;        /* as of the last poll */
  gboolean                logged_in;    /* by this provider */
  char                   *uri;          /* RFC 7512 URI of the token */
  GPtrArray              *certificates; /* CustosPkcs11CertInfo, in token order */
  /*< private >*/
  gatomicrefcount         ref_count;
} CustosPkcs11TokenInfo;

GType                  custos_pkcs11_token_info_get_type (void) G_GNUC_CONST;
CustosPkcs11TokenInfo *custos_pkcs11_token_info_ref      (CustosPkcs11TokenInfo *self);
void                   custos_pkcs11_token_info_unref    (CustosPkcs11TokenInfo *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPkcs11TokenInfo, custos_pkcs11_token_info_unref)

G_END_DECLS
