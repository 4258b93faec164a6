/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Progress of a long command on stderr (stdout stays for the result):
 * percent done and time left, at most a few times a second, rewritten in
 * place on a terminal and one line each otherwise; with --json, one JSON
 * object per line. And the SIGINT/SIGTERM handling that cancels it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CustosCliProgress CustosCliProgress;

/* Prints nothing when enabled is FALSE (--quiet). */
CustosCliProgress *custos_cli_progress_new      (const char        *what,
                                                 gboolean           json,
                                                 gboolean           enabled);
void               custos_cli_progress_free     (CustosCliProgress *self);
/* fraction 0 … 1; any thread. */
void               custos_cli_progress_update   (CustosCliProgress *self,
                                                 double             fraction);
/* Ends a line rewritten in place. */
void               custos_cli_progress_finish   (CustosCliProgress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosCliProgress, custos_cli_progress_free)

/* Cancels `cancellable` on SIGINT or SIGTERM (on the main context) until
 * custos_cli_cancel_on_signals_stop(); the signal that came, or 0. */
void               custos_cli_cancel_on_signals      (GCancellable *cancellable);
int                custos_cli_cancel_on_signals_stop (void);

G_END_DECLS
