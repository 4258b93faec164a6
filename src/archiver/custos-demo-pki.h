/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The demo's certificates, made with OpenSSL 3: a CA and what it issues
 * (the archiver's TLS and signing certificates, the operator's client
 * certificate for a key that lives on a token). For the demo only: a
 * real deployment brings its own PKI.
 */
#pragma once

#include <gio/gio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

typedef enum
{
  CUSTOS_DEMO_CERT_CA,
  CUSTOS_DEMO_CERT_SERVER,   /* 127.0.0.1 and localhost */
  CUSTOS_DEMO_CERT_SIGNER,   /* seals */
  CUSTOS_DEMO_CERT_CLIENT,   /* TLS client and encryption recipient */
} CustosDemoCertKind;

/* An EC P-256 key pair. */
EVP_PKEY *custos_demo_pki_new_key          (GError            **error);
/* A certificate for subject's public key, signed by issuer_key (and named
 * after issuer; NULL: self-signed, for the CA). */
X509     *custos_demo_pki_issue            (EVP_PKEY           *subject,
                                            const char         *common_name,
                                            CustosDemoCertKind  kind,
                                            EVP_PKEY           *issuer_key,
                                            X509               *issuer,
                                            guint               days,
                                            GError            **error);
gboolean  custos_demo_pki_write_key        (EVP_PKEY           *key,
                                            const char         *path,
                                            GError            **error);
gboolean  custos_demo_pki_write_cert       (X509               *cert,
                                            const char         *path,
                                            gboolean            der,
                                            GError            **error);
EVP_PKEY *custos_demo_pki_read_public_key  (const char         *path,
                                            GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

G_END_DECLS
