/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-i18n"

#include "config.h"

#include <libintl.h>

#include "custos-i18n-private.h"

/* Binds the domain once, from whichever thread asks first: GError
 * messages are made in GTask threads too. */
static gpointer
custos_i18n_bind (gpointer data)
{
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  return NULL;
}

const char *
custos_i18n_domain (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, custos_i18n_bind, NULL);
  return GETTEXT_PACKAGE;
}

const char *
custos_gettext (const char *msgid)
{
  return g_dgettext (custos_i18n_domain (), msgid);
}
