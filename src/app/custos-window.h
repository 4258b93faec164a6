/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "custos-application.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_WINDOW (custos_window_get_type ())

G_DECLARE_FINAL_TYPE (CustosWindow, custos_window, CUSTOS, WINDOW, AdwApplicationWindow)

CustosWindow *custos_window_new        (CustosApplication *application);
void          custos_window_open_file  (CustosWindow      *self,
                                        GFile             *file);
void          custos_window_add_toast  (CustosWindow      *self,
                                        AdwToast          *toast);

G_END_DECLS
