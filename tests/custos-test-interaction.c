/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include "custos-test-interaction.h"

G_DEFINE_FINAL_TYPE (TestInteraction, test_interaction, G_TYPE_TLS_INTERACTION)

static GTlsInteractionResult
test_interaction_ask_password (GTlsInteraction  *interaction,
                               GTlsPassword     *password,
                               GCancellable     *cancellable,
                               GError          **error)
{
  TestInteraction *self = TEST_INTERACTION (interaction);

  self->n_asks++;
  self->last_thread = g_thread_self ();
  self->last_flags = g_tls_password_get_flags (password);
  g_free (self->last_description);
  self->last_description = g_strdup (g_tls_password_get_description (password));

  if (self->cancel_on_ask != NULL)
    {
      g_cancellable_cancel (self->cancel_on_ask);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "dialog closed");
      return G_TLS_INTERACTION_FAILED;
    }
  if (self->answer == NULL)
    return G_TLS_INTERACTION_UNHANDLED;

  g_tls_password_set_value (password, (const guchar *) self->answer, -1);
  return G_TLS_INTERACTION_HANDLED;
}

static void
test_interaction_finalize (GObject *object)
{
  TestInteraction *self = TEST_INTERACTION (object);

  g_free (self->answer);
  g_free (self->last_description);
  g_clear_object (&self->cancel_on_ask);

  G_OBJECT_CLASS (test_interaction_parent_class)->finalize (object);
}

static void
test_interaction_class_init (TestInteractionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_interaction_finalize;
  G_TLS_INTERACTION_CLASS (klass)->ask_password = test_interaction_ask_password;
}

static void
test_interaction_init (TestInteraction *self)
{
}

TestInteraction *
test_interaction_new (const char *answer)
{
  TestInteraction *self = g_object_new (TEST_TYPE_INTERACTION, NULL);

  self->answer = g_strdup (answer);
  return self;
}
