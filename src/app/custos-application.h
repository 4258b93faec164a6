/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "custos-archiver-list.h"
#include "custos-credentials.h"
#include "custos-local-files.h"

G_BEGIN_DECLS

/* The settings schema; the application id (APPLICATION_ID in config.h)
 * is org.custos.Custos.Devel in the development profile. */
#define CUSTOS_SCHEMA_ID "org.custos.Custos"

/* Seconds between camera list refreshes. */
#define CUSTOS_APPLICATION_REFRESH_SECONDS 10

#define CUSTOS_TYPE_APPLICATION (custos_application_get_type ())

G_DECLARE_FINAL_TYPE (CustosApplication, custos_application, CUSTOS, APPLICATION, AdwApplication)

CustosApplication *
custos_application_new (void);
/* The models live from startup to shutdown. */
GSettings *
custos_application_get_settings (CustosApplication *self);
CustosCredentials *
custos_application_get_credentials (CustosApplication *self);
CustosArchiverList *
custos_application_get_archivers (CustosApplication *self);
CustosLocalFiles *
custos_application_get_local_files (CustosApplication *self);

G_END_DECLS
