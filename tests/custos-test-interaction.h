/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TestInteraction: a scripted PIN or passphrase dialog. It answers
 * ask_password with a fixed answer (declines when it has none, or plays a
 * dialog closed mid-prompt by cancelling cancel_on_ask) and remembers how
 * it was asked: how often, with which flags and text, from which thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TEST_TYPE_INTERACTION (test_interaction_get_type ())
G_DECLARE_FINAL_TYPE (TestInteraction, test_interaction, TEST, INTERACTION, GTlsInteraction)

struct _TestInteraction
{
  GTlsInteraction    parent_instance;
  char              *answer;
  GCancellable      *cancel_on_ask; /* cancelled while "the dialog is open" */
  guint              n_asks;
  char              *last_description;
  GTlsPasswordFlags  last_flags;
  GThread           *last_thread;
};

TestInteraction *test_interaction_new (const char *answer);

G_END_DECLS
