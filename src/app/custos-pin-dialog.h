/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPinDialog: the PIN (or passphrase) prompt of CustosPinInteraction:
 * an AdwMessageDialog with a warning line and a GtkPasswordEntry, whose
 * responses are "unlock" and "cancel". In PIN pad mode it has no entry and
 * no "unlock": the reader asks the PIN.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PIN_DIALOG (custos_pin_dialog_get_type ())

G_DECLARE_FINAL_TYPE (CustosPinDialog, custos_pin_dialog, CUSTOS, PIN_DIALOG, AdwMessageDialog)

/* warning may be NULL. pin_pad: no entry and no "unlock". */
CustosPinDialog *custos_pin_dialog_new         (GtkWindow       *parent,
                                                const char      *heading,
                                                const char      *body,
                                                const char      *warning,
                                                gboolean         pin_pad);
GtkWidget       *custos_pin_dialog_get_entry   (CustosPinDialog *self);
/* The warning shown ("Wrong PIN. 2 tries left"), or NULL. */
const char      *custos_pin_dialog_get_warning (CustosPinDialog *self);
/* A copy of the entry's text in wiped memory, NUL-terminated; the entry
 * is cleared. */
char            *custos_pin_dialog_take_pin    (CustosPinDialog *self,
                                                gsize           *len);

G_END_DECLS
