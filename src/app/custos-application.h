/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CUSTOS_APPLICATION_ID "org.custos.Custos"

#define CUSTOS_TYPE_APPLICATION (custos_application_get_type ())

G_DECLARE_FINAL_TYPE (CustosApplication, custos_application, CUSTOS, APPLICATION,
                      AdwApplication)

CustosApplication *custos_application_new          (void);
GSettings         *custos_application_get_settings (CustosApplication *self);

G_END_DECLS
