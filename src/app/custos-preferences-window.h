/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPreferencesWindow: archivers (list, remove), PKCS#11 modules (add a
 * path, remove), key files (add, remove; through CustosCredentials), key
 * cache time and time zone — all GSettings of org.custos.Custos.
 */
#pragma once

#include <adwaita.h>

#include "custos-application.h"

G_BEGIN_DECLS

#define CUSTOS_TYPE_PREFERENCES_WINDOW (custos_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (CustosPreferencesWindow,
                      custos_preferences_window,
                      CUSTOS,
                      PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWidget *
custos_preferences_window_new (CustosApplication *application);

G_END_DECLS
