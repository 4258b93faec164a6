/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPinFileInteraction: answers a token's PIN request from a file
 * (its first line), for a daemon with nobody to ask. The file is read at
 * each request and every copy of the PIN is wiped; a PIN that was
 * already refused is not offered again (that would lock the token).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PIN_FILE_INTERACTION (custos_pin_file_interaction_get_type ())

G_DECLARE_FINAL_TYPE (CustosPinFileInteraction, custos_pin_file_interaction, CUSTOS,
                      PIN_FILE_INTERACTION, GTlsInteraction)

GTlsInteraction *
custos_pin_file_interaction_new (const char *path);
/* The PIN (wiped memory is the caller's to wipe: custos_pin_free()). */
char *
custos_pin_file_read (const char *path, GError **error);
void
custos_pin_free (char *pin);

G_END_DECLS
