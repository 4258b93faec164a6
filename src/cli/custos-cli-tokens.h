/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What `custos-cli keys` and `custos-cli enroll` share about smart cards:
 * the options that choose a PKCS#11 module and token, the provider for
 * them, and where the PIN comes from: --pin-file (read into wiped memory,
 * offered once: a wrong PIN is never tried again) or the terminal without
 * echo. A PIN is never an argument: it would show in `ps` and the shell's
 * history.
 */
#pragma once

#include "custos.h"

G_BEGIN_DECLS

typedef struct
{
  char *module;   /* --module PATH: one PKCS#11 module instead of p11-kit's registry */
  char *uri;      /* --uri URI: RFC 7512, narrows modules, tokens and objects */
  char *token;    /* --token LABEL */
  char *pin_file; /* --pin-file FILE */
} CustosCliTokenOptions;

void                   custos_cli_token_options_clear (CustosCliTokenOptions  *options);
void                   custos_cli_add_token_options   (GOptionContext         *context,
                                                       CustosCliTokenOptions  *options);
gboolean               custos_cli_token_options_given (const CustosCliTokenOptions *options);

/* A provider for --module/--uri, not polling (a command is short). */
CustosPkcs11Provider  *custos_cli_token_provider_new  (const CustosCliTokenOptions *options,
                                                       GError                     **error);
/* The tokens --token selects (all without it). */
GPtrArray             *custos_cli_select_tokens       (CustosPkcs11Provider        *provider,
                                                       const CustosCliTokenOptions *options);
/* Exactly one selected token: none is G_IO_ERROR_NOT_FOUND, several a
 * G_OPTION_ERROR naming them. */
CustosPkcs11TokenInfo *custos_cli_select_one_token    (CustosPkcs11Provider        *provider,
                                                       const CustosCliTokenOptions *options,
                                                       GError                     **error);
/* Answers from --pin-file, else asks on the terminal. */
GTlsInteraction       *custos_cli_pin_interaction_new (const CustosCliTokenOptions *options,
                                                       GError                     **error);

/* "login required, PIN count low", or "" */
char                  *custos_cli_describe_token_flags (CustosPkcs11TokenFlags flags);
/* The flags as JSON strings: "login-required", "pin-pad", … */
GStrv                  custos_cli_token_flag_names     (CustosPkcs11TokenFlags flags);

G_END_DECLS
