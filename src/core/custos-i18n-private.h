/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Translations of libcustos's own messages (GError texts, report issues).
 * Private: not installed. Include it instead of <glib/gi18n-lib.h> so that
 * _() binds the text domain on first use; an application using libcustos
 * need not know which domain or directory the library's messages live in,
 * as with GLib's and GIO's own messages.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The translation of msgid in libcustos's domain. */
G_GNUC_INTERNAL G_GNUC_FORMAT (1)
const char *custos_gettext     (const char *msgid);
/* The domain, bound: for g_dngettext (custos_i18n_domain (), ...), which
 * xgettext knows as a plural keyword. */
G_GNUC_INTERNAL
const char *custos_i18n_domain (void);

#undef _
#undef N_
#define _(String) custos_gettext (String)
#define N_(String) (String)

G_END_DECLS
