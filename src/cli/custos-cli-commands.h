/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The custos-cli commands. Each takes the arguments after "custos-cli"
 * (argv[0] is the command name) and returns a CustosCliExit code.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int custos_cli_inspect (int    argc,
                        char **argv);
int custos_cli_verify  (int    argc,
                        char **argv);
int custos_cli_decrypt (int    argc,
                        char **argv);
int custos_cli_create  (int    argc,
                        char **argv);
int custos_cli_keys    (int    argc,
                        char **argv);
int custos_cli_enroll  (int    argc,
                        char **argv);
int custos_cli_export  (int    argc,
                        char **argv);
int custos_cli_play    (int    argc,
                        char **argv);
int custos_cli_fetch   (int    argc,
                        char **argv);

G_END_DECLS
