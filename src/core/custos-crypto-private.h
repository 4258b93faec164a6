/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared inside libcustos only; not installed. */
#pragma once

#include "custos-crypto.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL G_GNUC_PRINTF (3, 4)
void custos_set_openssl_error (GError            **error,
                               CustosCryptoError   code,
                               const char         *format,
                               ...);

G_END_DECLS
