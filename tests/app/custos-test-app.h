/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers of the tests that drive the whole application window
 * (test-app, test-window): waiting on the main context, finding widgets.
 */
#pragma once

#include "custos-application.h"
#include "custos-player.h"
#include "custos-window.h"

G_BEGIN_DECLS

typedef gboolean (*CustosTestCondition) (gpointer data);

/* Runs the default main context until cond (data) holds; FALSE when it
 * still does not after seconds. */
gboolean      custos_test_wait_for            (CustosTestCondition cond,
                                               gpointer            data,
                                               guint               seconds);
/* The application's active window, which must be a CustosWindow. */
CustosWindow *custos_test_app_window          (CustosApplication  *app);
/* Whether a label at or below widget contains text. */
gboolean      custos_test_widget_has_label    (GtkWidget          *widget,
                                               const char         *text);
/* Every widget of type at or below root, outermost first. */
GPtrArray    *custos_test_widget_find_all     (GtkWidget          *root,
                                               GType               type);

/* The first editable AdwEntryRow at or below widget whose title starts
 * with title_prefix, or NULL. */
GtkEditable  *custos_test_find_entry_row      (GtkWidget          *widget,
                                               const char         *title_prefix);
/* Runs app on file (no single-instance handover: there is no session bus
 * under xvfb-run) and, once it has started, the GTest cases, without
 * animations and after prepare () when given; g_test_run ()'s result. */
int           custos_test_app_run             (CustosApplication  *app,
                                               const char         *file,
                                               void              (*prepare) (void));
/* Whether the player's picture has a frame in it. A CustosTestCondition. */
gboolean      custos_test_player_has_frame    (gpointer            player);
/* A handler of CustosPlayer::first-frame (a frame painted after opening
 * or seeking) that counts them, the count, and a CustosTestCondition on
 * it: more than GPOINTER_TO_UINT (before). */
void          custos_test_on_first_frame      (CustosPlayer       *player,
                                               gpointer            unused);
guint         custos_test_first_frames        (void);
gboolean      custos_test_first_frames_beyond (gpointer            before);

G_END_DECLS
