/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosCard: one smart card or token as the credentials list it, with
 * the certificates on it (CustosCardCertificate). Read-only properties,
 * set by CustosCredentials; "present" turns FALSE when the card is removed
 * (the item then leaves the cards model).
 */
#pragma once

#include <gio/gio.h>

#include "custos-card-certificate.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_CARD (custos_card_get_type ())

G_DECLARE_FINAL_TYPE (CustosCard, custos_card, CUSTOS, CARD, GObject)

CustosCard  *custos_card_new               (CustosPkcs11TokenInfo *info);
const char  *custos_card_get_label         (CustosCard            *self);
const char  *custos_card_get_manufacturer  (CustosCard            *self);
const char  *custos_card_get_model         (CustosCard            *self);
const char  *custos_card_get_serial        (CustosCard            *self);
/* RFC 7512 URI of the token. */
const char  *custos_card_get_uri           (CustosCard            *self);
gboolean     custos_card_get_present       (CustosCard            *self);
/* The reader has a PIN pad (the PIN is entered there). */
gboolean     custos_card_get_pin_pad       (CustosCard            *self);
/* CustosCardCertificate items. */
GListModel  *custos_card_get_certificates  (CustosCard            *self);
/* Internal to CustosCredentials. */
void         custos_card_set_present       (CustosCard            *self,
                                            gboolean               present);
void         custos_card_update            (CustosCard            *self,
                                            CustosPkcs11TokenInfo *info);

G_END_DECLS
