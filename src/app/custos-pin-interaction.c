/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-pin-interaction"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "custos-pin-dialog.h"
#include "custos-pin-interaction.h"
#include "custos-pin-pad.h"
#include "custos-secret.h"

struct _CustosPinInteraction
{
  GTlsInteraction parent_instance;

  GtkWindow       *parent;
  GQueue           pending; /* GTask: one dialog at a time */
  GTask           *current;
  CustosPinDialog *dialog;
  gulong           cancelled_id;

  CustosPinDialog *pin_pad;
  GCancellable    *pin_pad_cancellable;
};

static void pin_pad_prompt_iface_init (CustosPinPadPromptInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosPinInteraction, custos_pin_interaction,
                               G_TYPE_TLS_INTERACTION,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_PIN_PAD_PROMPT,
                                                      pin_pad_prompt_iface_init))

enum
{
  DIALOG_SHOWN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_next (CustosPinInteraction *self);

/* Texts */

/* The card's name in the description the PKCS#11 provider writes
 * ("PIN for the token “NAME”"), or NULL for anything else. */
static char *
card_name_from_description (const char *description)
{
  static const char prefix[] = "PIN for the token “";
  const char       *start;
  const char       *end;

  if (description == NULL || !g_str_has_prefix (description, prefix))
    return NULL;
  start = description + strlen (prefix);
  end = g_strrstr (start, "”");
  if (end == NULL)
    return NULL;
  return g_strndup (start, end - start);
}

void
custos_pin_interaction_describe (const char *description, GTlsPasswordFlags flags, guint tries_left,
                                 char **heading, char **body, char **warning)
{
  g_autofree char *card = card_name_from_description (description);
  const char      *what = card != NULL ? _ ("PIN") : _ ("passphrase");

  if (card != NULL)
    {
      *heading = g_strdup (_ ("Smart Card PIN"));
      *body = g_strdup_printf (_ ("Enter the PIN of the card “%s” to open encrypted video."), card);
    }
  else
    {
      *heading = g_strdup (_ ("Passphrase Needed"));
      *body = g_strdup (description != NULL ? description : _ ("Enter the passphrase."));
    }

  if (tries_left == 0 && (flags & G_TLS_PASSWORD_FINAL_TRY))
    tries_left = 1;

  if (tries_left == 1 || (flags & G_TLS_PASSWORD_FINAL_TRY))
    *warning =
        card != NULL
            ? g_strdup_printf ("%s%s", (flags & G_TLS_PASSWORD_RETRY) ? _ ("Wrong PIN. ") : "",
                               _ ("Last try before the card locks"))
            : g_strdup_printf (_ ("Wrong %s. Last try"), what);
  else if (tries_left > 1)
    *warning = g_strdup_printf (
        g_dngettext (NULL, "Wrong %s. %u try left", "Wrong %s. %u tries left", tries_left), what,
        tries_left);
  else if (flags & G_TLS_PASSWORD_MANY_TRIES)
    *warning = g_strdup_printf (_ ("Wrong %s. Few tries left before the card locks"), what);
  else if (flags & G_TLS_PASSWORD_RETRY)
    *warning = g_strdup_printf (_ ("Wrong %s. Try again"), what);
  else
    *warning = NULL;
}

/* Helpers */

static GtkWindow *
find_parent (CustosPinInteraction *self)
{
  GApplication *app = g_application_get_default ();
  g_autoptr (GListModel) toplevels = NULL;

  if (self->parent != NULL)
    return self->parent;
  if (GTK_IS_APPLICATION (app) && gtk_application_get_active_window (GTK_APPLICATION (app)))
    return gtk_application_get_active_window (GTK_APPLICATION (app));

  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (gtk_widget_get_visible (GTK_WIDGET (window)) && !CUSTOS_IS_PIN_DIALOG (window))
        return window;
    }
  return NULL;
}

static void
wipe_and_free (gpointer data)
{
  char *text = data;

  custos_memzero (text, strlen (text));
  g_free (text);
}

/* Ends the current request with the dialog's answer. The dialog closes
 * itself after a response; the caller closes it otherwise. */
static void
finish_current (CustosPinInteraction *self, gboolean unlock)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->current);
  g_autoptr (CustosPinDialog) dialog = g_steal_pointer (&self->dialog);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (self->cancelled_id != 0)
    g_cancellable_disconnect (cancellable, self->cancelled_id);
  self->cancelled_id = 0;

  if (unlock)
    {
      GTlsPassword *password = g_task_get_task_data (task);
      gsize         len;
      char         *pin = custos_pin_dialog_take_pin (dialog, &len);

      /* The password wipes its copy when it is freed. */
      g_tls_password_set_value_full (password, (guchar *) pin, len, wipe_and_free);
      g_task_return_int (task, G_TLS_INTERACTION_HANDLED);
    }
  else
    {
      /* Clear the entry in case something was typed. */
      gsize len;
      char *pin = custos_pin_dialog_take_pin (dialog, &len);

      wipe_and_free (pin);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _ ("The PIN dialog was cancelled"));
    }

  show_next (self);
}

static void
on_response (CustosPinDialog *dialog, const char *response, CustosPinInteraction *self)
{
  g_debug ("PIN dialog response “%s”", response);
  if (dialog != self->dialog)
    return;
  finish_current (self, g_strcmp0 (response, "unlock") == 0);
}

static gboolean
cancel_idle (gpointer data)
{
  g_autoptr (CustosPinInteraction) self = data;
  g_autoptr (CustosPinDialog) dialog = NULL;

  if (self->dialog == NULL || self->current == NULL ||
      !g_cancellable_is_cancelled (g_task_get_cancellable (self->current)))
    return G_SOURCE_REMOVE;

  dialog = g_object_ref (self->dialog);
  finish_current (self, FALSE);
  gtk_window_destroy (GTK_WINDOW (dialog));
  return G_SOURCE_REMOVE;
}

/* May run in any thread: the dialog is closed from the main context. */
static void
on_cancelled (GCancellable *cancellable, CustosPinInteraction *self)
{
  g_idle_add (cancel_idle, g_object_ref (self));
}

static void
show_next (CustosPinInteraction *self)
{
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  g_autofree char *warning = NULL;
  GTlsPassword    *password;
  GCancellable    *cancellable;
  guint            tries_left;

  if (self->current != NULL)
    return;

  while ((self->current = g_queue_pop_head (&self->pending)) != NULL)
    {
      if (!g_task_return_error_if_cancelled (self->current))
        break;
      g_clear_object (&self->current);
    }
  if (self->current == NULL)
    return;

  password = g_task_get_task_data (self->current);
  tries_left =
      GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (password), CUSTOS_PIN_TRIES_LEFT_KEY));
  custos_pin_interaction_describe (g_tls_password_get_description (password),
                                   g_tls_password_get_flags (password),
                                   tries_left > 0 ? tries_left - 1 : 0, &heading, &body, &warning);
  self->dialog =
      g_object_ref_sink (custos_pin_dialog_new (find_parent (self), heading, body, warning, FALSE));
  g_signal_connect_object (self->dialog, "response", G_CALLBACK (on_response), self, 0);

  cancellable = g_task_get_cancellable (self->current);
  if (cancellable != NULL)
    self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), self, NULL);

  gtk_window_present (GTK_WINDOW (self->dialog));
  gtk_widget_grab_focus (custos_pin_dialog_get_entry (self->dialog));
  g_signal_emit (self, signals[DIALOG_SHOWN], 0, self->dialog);
}

/* GTlsInteraction */

static void
custos_pin_interaction_ask_password_async (GTlsInteraction *interaction, GTlsPassword *password,
                                           GCancellable *cancellable, GAsyncReadyCallback callback,
                                           gpointer user_data)
{
  CustosPinInteraction *self = CUSTOS_PIN_INTERACTION (interaction);
  GTask                *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, custos_pin_interaction_ask_password_async);
  g_task_set_task_data (task, g_object_ref (password), g_object_unref);
  g_queue_push_tail (&self->pending, task);
  show_next (self);
}

static GTlsInteractionResult
custos_pin_interaction_ask_password_finish (GTlsInteraction *interaction, GAsyncResult *result,
                                            GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gssize ret;

  ret = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return G_TLS_INTERACTION_FAILED;
    }
  return (GTlsInteractionResult) ret;
}

static void
custos_pin_interaction_dispose (GObject *object)
{
  CustosPinInteraction *self = (CustosPinInteraction *) object;
  GTask                *task;

  if (self->current != NULL)
    {
      g_autoptr (CustosPinDialog) dialog = g_object_ref (self->dialog);

      finish_current (self, FALSE);
      gtk_window_destroy (GTK_WINDOW (dialog));
    }
  while ((task = g_queue_pop_head (&self->pending)) != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _ ("The PIN dialog was cancelled"));
      g_object_unref (task);
    }
  custos_pin_interaction_hide_pin_pad (self);
  g_clear_weak_pointer (&self->parent);

  G_OBJECT_CLASS (custos_pin_interaction_parent_class)->dispose (object);
}

static void
custos_pin_interaction_class_init (CustosPinInteractionClass *klass)
{
  GObjectClass         *object_class = G_OBJECT_CLASS (klass);
  GTlsInteractionClass *interaction_class = G_TLS_INTERACTION_CLASS (klass);

  object_class->dispose = custos_pin_interaction_dispose;
  interaction_class->ask_password_async = custos_pin_interaction_ask_password_async;
  interaction_class->ask_password_finish = custos_pin_interaction_ask_password_finish;

  /**
   * CustosPinInteraction::dialog-shown:
   * @dialog: the CustosPinDialog (an AdwMessageDialog) now presented
   */
  signals[DIALOG_SHOWN] =
      g_signal_new ("dialog-shown", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, GTK_TYPE_WIDGET);
}

static void
custos_pin_interaction_init (CustosPinInteraction *self)
{
  g_queue_init (&self->pending);
}

CustosPinInteraction *
custos_pin_interaction_new (void)
{
  return g_object_new (CUSTOS_TYPE_PIN_INTERACTION, NULL);
}

void
custos_pin_interaction_set_parent (CustosPinInteraction *self, GtkWindow *parent)
{
  g_return_if_fail (CUSTOS_IS_PIN_INTERACTION (self));
  g_return_if_fail (parent == NULL || GTK_IS_WINDOW (parent));

  g_set_weak_pointer (&self->parent, parent);
}

GtkWidget *
custos_pin_interaction_get_dialog (CustosPinInteraction *self)
{
  g_return_val_if_fail (CUSTOS_IS_PIN_INTERACTION (self), NULL);

  if (self->dialog != NULL)
    return GTK_WIDGET (self->dialog);
  return self->pin_pad != NULL ? GTK_WIDGET (self->pin_pad) : NULL;
}

GtkWidget *
custos_pin_interaction_get_entry (CustosPinInteraction *self)
{
  g_return_val_if_fail (CUSTOS_IS_PIN_INTERACTION (self), NULL);

  return self->dialog != NULL ? custos_pin_dialog_get_entry (self->dialog) : NULL;
}

gboolean
custos_pin_interaction_respond (CustosPinInteraction *self, const char *response)
{
  AdwMessageDialog *dialog;

  g_return_val_if_fail (CUSTOS_IS_PIN_INTERACTION (self), FALSE);

  dialog = ADW_MESSAGE_DIALOG (custos_pin_interaction_get_dialog (self));
  if (dialog == NULL)
    return FALSE;
  adw_message_dialog_response (dialog, response);
  return TRUE;
}

/* PIN pad */

static void
on_pin_pad_response (CustosPinDialog *dialog, const char *response, CustosPinInteraction *self)
{
  if (dialog != self->pin_pad)
    return;
  if (self->pin_pad_cancellable != NULL)
    g_cancellable_cancel (self->pin_pad_cancellable);
  /* The dialog closes itself after a response. */
  g_clear_object (&self->pin_pad);
  g_clear_object (&self->pin_pad_cancellable);
}

void
custos_pin_interaction_show_pin_pad (CustosPinInteraction *self, const char *card_label,
                                     GCancellable *cancellable)
{
  g_autofree char *body = NULL;

  g_return_if_fail (CUSTOS_IS_PIN_INTERACTION (self));

  custos_pin_interaction_hide_pin_pad (self);
  body = g_strdup_printf (_ ("Enter the PIN on the reader of the card “%s”."),
                          card_label != NULL ? card_label : "");
  self->pin_pad = g_object_ref_sink (custos_pin_dialog_new (
      find_parent (self), _ ("Enter the PIN on the reader"), body, NULL, TRUE));
  g_set_object (&self->pin_pad_cancellable, cancellable);
  g_signal_connect_object (self->pin_pad, "response", G_CALLBACK (on_pin_pad_response), self, 0);
  gtk_window_present (GTK_WINDOW (self->pin_pad));
  g_signal_emit (self, signals[DIALOG_SHOWN], 0, self->pin_pad);
}

void
custos_pin_interaction_hide_pin_pad (CustosPinInteraction *self)
{
  g_autoptr (CustosPinDialog) dialog = NULL;

  g_return_if_fail (CUSTOS_IS_PIN_INTERACTION (self));

  dialog = g_steal_pointer (&self->pin_pad);
  g_clear_object (&self->pin_pad_cancellable);
  if (dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (dialog));
}

/* CustosPinPadPrompt: the PKCS#11 provider's worker thread says a PIN pad
 * login starts and ends; the message is shown from the main context. The
 * login itself cannot be interrupted, so the message has no cancellable. */

typedef struct
{
  CustosPinInteraction *self;
  char                 *label; /* NULL: hide */
} PinPadUpdate;

static gboolean
pin_pad_update_idle (gpointer data)
{
  PinPadUpdate *update = data;

  if (update->label != NULL)
    custos_pin_interaction_show_pin_pad (update->self, update->label, NULL);
  else
    custos_pin_interaction_hide_pin_pad (update->self);
  g_object_unref (update->self);
  g_free (update->label);
  g_free (update);
  return G_SOURCE_REMOVE;
}

static void
queue_pin_pad_update (CustosPinInteraction *self,
                      const char           *label)
{
  PinPadUpdate *update = g_new0 (PinPadUpdate, 1);

  update->self = g_object_ref (self);
  update->label = g_strdup (label);
  g_idle_add (pin_pad_update_idle, update);
}

static void
pin_pad_begin (CustosPinPadPrompt *prompt,
               const char         *token_label)
{
  queue_pin_pad_update (CUSTOS_PIN_INTERACTION (prompt), token_label ? token_label : "");
}

static void
pin_pad_end (CustosPinPadPrompt *prompt)
{
  queue_pin_pad_update (CUSTOS_PIN_INTERACTION (prompt), NULL);
}

static void
pin_pad_prompt_iface_init (CustosPinPadPromptInterface *iface)
{
  iface->begin = pin_pad_begin;
  iface->end = pin_pad_end;
}
