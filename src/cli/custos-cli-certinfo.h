/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A certificate described for people (text) and scripts (JSON members), the
 * same way by `custos-cli keys` and `custos-cli enroll`: subject, SHA-256
 * fingerprint (the recipient id archivers use), key, validity.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "custos.h"

G_BEGIN_DECLS

/* Whole days from now to notAfter, rounded; negative once expired. */
gint   custos_cli_cert_days_left         (CustosCertificate *cert,
                                          GDateTime         *now);
/* "expires in 730 days", "EXPIRED 3 days ago", "not valid before …" */
char  *custos_cli_cert_describe_validity (CustosCertificate *cert,
                                          GDateTime         *now);
/* "RSA 2048 bits", "EC P-256" */
char  *custos_cli_cert_describe_key      (CustosCertificate *cert);
/* "a1b2…  (CN=…), …" for the certificates of --key/--cert, or how to give one. */
char  *custos_cli_describe_key_certificates (GPtrArray      *key_certs);
/* ISO 8601, UTC */
char  *custos_cli_format_date            (GDateTime         *date);
/* Subject, fingerprint, key and validity lines, indented. */
void   custos_cli_cert_print             (CustosCertificate *cert,
                                          const char        *indent,
                                          GDateTime         *now);
/* Members "subject", "common_name", "fingerprint", "key_type", "key_bits",
 * "wrap", "not_before", "not_after", "expired", "not_yet_valid",
 * "days_left" of the object being built. */
void   custos_cli_cert_json_members      (JsonBuilder       *builder,
                                          CustosCertificate *cert,
                                          GDateTime         *now);

G_END_DECLS
