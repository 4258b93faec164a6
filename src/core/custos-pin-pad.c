/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include "custos-pin-pad.h"

G_DEFINE_INTERFACE (CustosPinPadPrompt, custos_pin_pad_prompt, G_TYPE_TLS_INTERACTION)

static void
custos_pin_pad_prompt_default_init (CustosPinPadPromptInterface *iface)
{
}

void
custos_pin_pad_prompt_begin (GTlsInteraction *interaction,
                             const char      *token_label)
{
  CustosPinPadPromptInterface *iface;

  if (interaction == NULL || !CUSTOS_IS_PIN_PAD_PROMPT (interaction))
    return;
  iface = CUSTOS_PIN_PAD_PROMPT_GET_IFACE (interaction);
  if (iface->begin != NULL)
    iface->begin (CUSTOS_PIN_PAD_PROMPT (interaction), token_label);
}

void
custos_pin_pad_prompt_end (GTlsInteraction *interaction)
{
  CustosPinPadPromptInterface *iface;

  if (interaction == NULL || !CUSTOS_IS_PIN_PAD_PROMPT (interaction))
    return;
  iface = CUSTOS_PIN_PAD_PROMPT_GET_IFACE (interaction);
  if (iface->end != NULL)
    iface->end (CUSTOS_PIN_PAD_PROMPT (interaction));
}
