/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The two certificate dialogs of an archiver (AdwMessageDialog, not a
 * type of their own):
 *   - trust: the archiver's SHA-256 fingerprint in groups of four hex
 *     digits to compare with the one the administrator gave; responses
 *     "cancel" and "trust" (the caller pins it on "trust");
 *   - changed: the pinned and the presented fingerprints, that the
 *     connection is refused, and what to do; responses "close" and
 *     "remove" — no way to accept the new certificate from here.
 */
#pragma once

#include <adwaita.h>

#include "custos-archiver-entry.h"

G_BEGIN_DECLS

GtkWidget *
custos_trust_dialog_new (GtkWindow *parent, CustosArchiverEntry *entry);
GtkWidget *
custos_changed_dialog_new (GtkWindow *parent, CustosArchiverEntry *entry);

G_END_DECLS
