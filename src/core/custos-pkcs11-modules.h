/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PKCS#11 modules a provider uses: every module of p11-kit's registry
 * (OpenSC, SoftHSM, vendor modules configured on the system) or one module
 * loaded by path, narrowed by an RFC 7512 URI. Not installed.
 */
#pragma once

#include "custos-pkcs11-private.h"

G_BEGIN_DECLS

typedef struct
{
  CK_FUNCTION_LIST *funcs;
  char             *name;        /* p11-kit's name, else the file name */
} CustosPkcs11Module;

typedef struct _CustosPkcs11Modules CustosPkcs11Modules;

/* module_path NULL: the registry. uri may be NULL; its module-name,
 * module-path and library attributes select modules. Modules that fail
 * to initialize are skipped with a debug message, as p11-kit does; an
 * explicit module_path that fails is an error. */
G_GNUC_INTERNAL
CustosPkcs11Modules *custos_pkcs11_modules_load  (const char           *module_path,
                                                  P11KitUri            *uri,
                                                  GError              **error);
G_GNUC_INTERNAL
void                 custos_pkcs11_modules_free  (CustosPkcs11Modules  *self);
G_GNUC_INTERNAL
guint                custos_pkcs11_modules_get_n (CustosPkcs11Modules  *self);
G_GNUC_INTERNAL
CustosPkcs11Module  *custos_pkcs11_modules_get   (CustosPkcs11Modules  *self,
                                                  guint                 i);

/* An initialized token in a slot, as a poll found it. */
typedef struct
{
  CustosPkcs11Module *module;
  CK_SLOT_ID          slot;
  CK_TOKEN_INFO       info;
} CustosPkcs11PresentToken;

/* The tokens present now (CustosPkcs11PresentToken) that uri, if any,
 * selects. Drains the modules' slot events on the way: some modules only
 * notice a card when asked for them. */
G_GNUC_INTERNAL
GArray              *custos_pkcs11_modules_list_tokens (CustosPkcs11Modules *self,
                                                        P11KitUri           *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosPkcs11Modules, custos_pkcs11_modules_free)

G_END_DECLS
