/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos_rewrap: copies a fusion stream and gives extra recipients the
 * keys to it (docs/fusion-stream.md §6.3): the period keys a provider can
 * open are wrapped again under a fresh KEK per new recipient and epoch.
 * DATA and every sealed record are copied byte for byte, so nothing is
 * re-encrypted and every seal stays valid; the seek index is rewritten
 * for the new offsets.
 */
#pragma once

#include <gio/gio.h>

#include "custos-key-provider.h"

G_BEGIN_DECLS

gboolean custos_rewrap (GInputStream      *input,
                        GOutputStream     *output,
                        CustosKeyProvider *provider,
                        GTlsInteraction   *interaction,
                        GPtrArray         *recipients,
                        gboolean           legacy,
                        GCancellable      *cancellable,
                        GError           **error);

G_END_DECLS
