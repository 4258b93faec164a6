/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the custos-cli commands share: exit codes, the options that name
 * keys and certificates, the keyring built from them, atomic output files
 * and the helpers that print text and JSON.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "custos.h"
#include "custos-cli-tokens.h"

G_BEGIN_DECLS

/* Exit codes; scripts depend on them, so they only ever get added to. */
typedef enum
{
  CUSTOS_CLI_EXIT_OK     = 0,
  CUSTOS_CLI_EXIT_USAGE  = 1, /* bad options or arguments */
  CUSTOS_CLI_EXIT_INPUT  = 2, /* unreadable, not a fusion stream, unsupported version, I/O */
  CUSTOS_CLI_EXIT_LOCKED = 3, /* some packets had no key; what could be read was written */
  CUSTOS_CLI_EXIT_VERIFY = 4, /* altered, missing or damaged data; unsigned with --ca */
  CUSTOS_CLI_EXIT_KEY    = 5, /* wrong passphrase, key/certificate mismatch, expired certificate */
} CustosCliExit;

/* Options several commands take; each command adds the groups it uses. */
typedef struct
{
  char   **keys;
  char   **certs;
  char    *passphrase_file;
  char    *ca_file;
  gboolean allow_legacy;
  gboolean json;
  gboolean quiet;
  gboolean card;                /* --card: keys on smart cards too */
  CustosCliTokenOptions token;  /* --token, --uri, --module, --pin-file */
} CustosCliOptions;

void            custos_cli_options_clear         (CustosCliOptions *options);

/* --help shows the exit codes; the program name is set by main(). */
GOptionContext *custos_cli_context_new           (const char       *parameter,
                                                  const char       *summary);
/* --key, --cert, --passphrase-file, --allow-legacy, --ca, and the smart
 * card options --card, --token, --uri, --module, --pin-file */
void            custos_cli_add_key_options       (GOptionContext   *context,
                                                  CustosCliOptions *options);
/* --json, --quiet */
void            custos_cli_add_output_options    (GOptionContext   *context,
                                                  CustosCliOptions *options);
/* Parses and prints a usage error with a hint; FALSE means exit 1. */
gboolean        custos_cli_parse                 (GOptionContext   *context,
                                                  const char       *command,
                                                  int              *argc,
                                                  char           ***argv);
gboolean        custos_cli_usage_error           (const char       *command,
                                                  const char       *format,
                                                  ...) G_GNUC_PRINTF (2, 3);
/* After parsing: usage errors for an argument too many, or for anything
 * but one fusion file (argc counts the command). FALSE means exit 1. */
gboolean        custos_cli_check_no_arguments    (const char       *command,
                                                  int               argc,
                                                  char            **argv);
gboolean        custos_cli_check_one_file        (const char       *command,
                                                  int               argc);
const char     *custos_cli_exit_codes_help       (void);

/* Were keys given: key files, or a smart card? */
gboolean        custos_cli_options_have_keys     (const CustosCliOptions *options);
/* What asks for secrets: the PIN (from --pin-file or the terminal) when a
 * card is used, else the passphrase of an encrypted key on the terminal. */
GTlsInteraction *custos_cli_options_interaction  (const CustosCliOptions *options,
                                                  GError               **error);

/* The first line of the passphrase file, in wiped memory, NUL-terminated. */
CustosSecret   *custos_cli_read_passphrase       (const char       *path,
                                                  GError          **error);
/* A keyring with one local provider holding every --key/--cert pair.
 * certs_out (optional) gets the certificates of those keys. */
CustosKeyring  *custos_cli_keyring_new           (CustosCliOptions *options,
                                                  GPtrArray       **certs_out,
                                                  GError          **error);
/* custos_cli_keyring_new() into *keyring when a key, certificate or card
 * is named; with none, *keyring stays NULL and that is no error. */
gboolean        custos_cli_load_keyring          (CustosCliOptions *options,
                                                  CustosKeyring   **keyring,
                                                  GPtrArray       **certs_out,
                                                  GError          **error);
/* Loads the seal signing key (with the passphrase file's passphrase, if
 * any) and its chain: cert_path, then chain_path (may be NULL). */
gboolean        custos_cli_set_signer            (CustosWriter     *writer,
                                                  const char       *key_path,
                                                  const char       *cert_path,
                                                  const char       *chain_path,
                                                  const char       *passphrase_file,
                                                  GError          **error);
int             custos_cli_exit_for_error        (const GError     *error);
/* Prints the error; returns custos_cli_exit_for_error(). */
int             custos_cli_fail                  (const GError     *error);

/* The reader of a fusion file, with nothing configured yet. */
CustosReader   *custos_cli_reader_new            (const char       *path,
                                                  GError          **error);

/* Output files appear under their name only once complete: they are
 * written as NAME.part and renamed on success. */
GOutputStream  *custos_cli_part_create           (const char       *path,
                                                  GFile           **part_out,
                                                  GError          **error);
gboolean        custos_cli_part_commit           (GFile            *part,
                                                  const char       *path,
                                                  GError          **error);
void            custos_cli_part_discard          (GFile            *part);

void            custos_cli_error                 (const char       *format,
                                                  ...) G_GNUC_PRINTF (1, 2);
/* label, padded with spaces to columns on a terminal (printf's %-12s
 * counts bytes, so translated labels with accents came out short). */
char           *custos_cli_pad                   (const char       *label,
                                                  guint             columns);
/* "<indent><label padded to columns> <value>\n". */
void            custos_cli_print_field           (const char       *indent,
                                                  guint             columns,
                                                  const char       *label,
                                                  const char       *format,
                                                  ...) G_GNUC_PRINTF (4, 5);
gboolean        custos_cli_text_wanted           (const CustosCliOptions *options);
char           *custos_cli_format_utc            (gint64            utc_us);
char           *custos_cli_format_source_id      (const guint8      id[16]);
void            custos_cli_json_add_utc          (JsonBuilder      *builder,
                                                  const char       *member,
                                                  gint64            utc_us);
/* The member, null when value is NULL. */
void            custos_cli_json_add_string       (JsonBuilder      *builder,
                                                  const char       *member,
                                                  const char       *value);
void            custos_cli_print_json            (JsonBuilder      *builder);

G_END_DECLS
