/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Running custos-cli (or any program) from the CLI tests: exit status and
 * both outputs, with no terminal on stdin (a prompt fails instead of
 * waiting) and a crash or sanitizer abort never taken for an exit code.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  int   status;
  char *out;
  char *err;
} CustosCliResult;

void             custos_cli_result_free        (CustosCliResult    *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosCliResult, custos_cli_result_free)

/* argv[0] is the program; env_unset: variables the child does not get
 * (may be NULL). */
CustosCliResult *custos_test_spawn             (const char *const  *argv,
                                                const char *const  *env_unset);
/* $CUSTOS_CLI with these arguments (NULL-terminated). */
CustosCliResult *custos_test_cli_runv          (const char *const  *args);
CustosCliResult *custos_test_cli_run           (const char         *first,
                                                ...) G_GNUC_NULL_TERMINATED;
/* Fails the test with both outputs when the status is not expected. */
void             custos_test_cli_assert_status (CustosCliResult    *result,
                                                int                 expected);

/* A path in the test's temporary folder. */
char            *custos_test_tmp_path          (const char         *name);
gboolean         custos_test_have_program      (const char         *name);
/* What a program that must succeed printed (argv[0] from PATH). */
char            *custos_test_run_output        (const char *const  *argv);

JsonNode        *custos_test_parse_json        (const char         *text);
JsonObject      *custos_test_parse_json_object (const char         *text);

G_END_DECLS
