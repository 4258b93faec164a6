/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPinInteraction: the viewer's one GTlsInteraction. ask_password
 * shows a PIN dialog (AdwMessageDialog with a GtkPasswordEntry) transient
 * for the active window: it names the card (or the key file), says why it
 * asks again (G_TLS_PASSWORD_RETRY: "Wrong PIN", MANY_TRIES: tries left,
 * FINAL_TRY: "Last try before the card locks"), and hands the PIN to the
 * request on "Unlock". "Cancel", closing the dialog or the request's
 * cancellable fail the request with G_IO_ERROR_CANCELLED. The entry's
 * text is overwritten and cleared as soon as the PIN is handed over, and
 * the password object's copy is wiped when it is freed.
 *
 * PIN pad readers ask the PIN themselves (the PKCS#11 provider logs in
 * without a prompt): custos_pin_interaction_show_pin_pad() shows "Enter
 * the PIN on the reader" without an entry until _hide_pin_pad().
 *
 * The synchronous ask_password (from a worker thread through
 * g_tls_interaction_invoke_ask_password()) runs the dialog in the main
 * context the interaction was made in; never call it from that thread.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PIN_INTERACTION (custos_pin_interaction_get_type ())

G_DECLARE_FINAL_TYPE (CustosPinInteraction, custos_pin_interaction, CUSTOS, PIN_INTERACTION,
                      GTlsInteraction)

/* Set on a GTlsPassword (g_object_set_data, GUINT_TO_POINTER (n + 1)) by
 * callers that know how many tries are left; shown as "N tries left". */
#define CUSTOS_PIN_TRIES_LEFT_KEY "custos-tries-left"

CustosPinInteraction *custos_pin_interaction_new            (void);
/* The window the dialogs are transient for; NULL (the default) uses the
 * active window of the default GtkApplication, or the first toplevel. */
void                  custos_pin_interaction_set_parent     (CustosPinInteraction *self,
                                                             GtkWindow            *parent);

/* The dialog shown now (an AdwMessageDialog), or NULL; and its entry
 * (a GtkPasswordEntry; NULL for the PIN pad message). The "dialog-shown"
 * signal (GtkWidget *dialog) fires once it is presented: tests type the
 * PIN into the entry and answer with custos_pin_interaction_respond(). */
GtkWidget            *custos_pin_interaction_get_dialog     (CustosPinInteraction *self);
GtkWidget            *custos_pin_interaction_get_entry      (CustosPinInteraction *self);
/* Answers the open dialog as if its button was pressed: "unlock" or
 * "cancel". FALSE when no dialog is open. */
gboolean              custos_pin_interaction_respond        (CustosPinInteraction *self,
                                                             const char           *response);

/* The texts of a prompt, without showing it (for the dialog and tests):
 * heading ("Smart Card PIN"), body naming the card and, when flags ask
 * for it, the warning ("Wrong PIN. 2 tries left"). tries_left is 0 when
 * unknown. */
void                  custos_pin_interaction_describe       (const char           *description,
                                                             GTlsPasswordFlags     flags,
                                                             guint                 tries_left,
                                                             char                **heading,
                                                             char                **body,
                                                             char                **warning);

/* "Enter the PIN on the reader of “card_label”": no entry, a Cancel
 * button that cancels `cancellable`. Hidden again by _hide_pin_pad(). */
void                  custos_pin_interaction_show_pin_pad   (CustosPinInteraction *self,
                                                             const char           *card_label,
                                                             GCancellable         *cancellable);
void                  custos_pin_interaction_hide_pin_pad   (CustosPinInteraction *self);

G_END_DECLS
