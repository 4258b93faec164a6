/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CustosPinPadPrompt: an interface a GTlsInteraction may implement to be
 * told when a reader with a PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH)
 * asks for the PIN itself. Such a login needs no password from the
 * interaction, so without this the user would face a reader blinking for
 * a PIN while the application shows nothing.
 *
 * begin() and end() are called from the thread doing the PKCS#11 call
 * (a GTask worker): implementations hand them to their main context.
 * end() follows every begin(), whatever the login's outcome.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_PIN_PAD_PROMPT (custos_pin_pad_prompt_get_type ())

G_DECLARE_INTERFACE (CustosPinPadPrompt, custos_pin_pad_prompt, CUSTOS, PIN_PAD_PROMPT, GObject)

struct _CustosPinPadPromptInterface
{
  GTypeInterface parent_iface;

  void (*begin) (CustosPinPadPrompt *self,
                 const char         *token_label);
  void (*end)   (CustosPinPadPrompt *self);
};

/* Both do nothing when interaction is NULL or does not implement the
 * interface. */
void custos_pin_pad_prompt_begin (GTlsInteraction *interaction,
                                  const char      *token_label);
void custos_pin_pad_prompt_end   (GTlsInteraction *interaction);

G_END_DECLS
