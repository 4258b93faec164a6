/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCliInteraction: asks the passphrase of an encrypted private key on
 * the controlling terminal, without echo, when no --passphrase-file was
 * given. Without a terminal it fails, so scripts never hang on a prompt.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_CLI_TYPE_INTERACTION (custos_cli_interaction_get_type ())

G_DECLARE_FINAL_TYPE (CustosCliInteraction, custos_cli_interaction, CUSTOS_CLI, INTERACTION,
                      GTlsInteraction)

GTlsInteraction *custos_cli_interaction_new (void);

/* Gives password a copy of text (a passphrase or PIN) that is wiped when
 * the password lets go of it. */
void             custos_cli_password_set_text (GTlsPassword *password,
                                               const char   *text);

G_END_DECLS
