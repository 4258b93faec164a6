/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosPinInteraction in a real window under Xvfb: a PIN request shows
 * the dialog, transient for the window, naming the card; RETRY with
 * MANY_TRIES and FINAL_TRY show how many tries are left; typing a PIN and
 * pressing Enter hands exactly that PIN to the request (also to one made
 * from a worker thread, as the PKCS#11 provider makes them) and clears
 * the entry; Cancel and the request's cancellable cancel; a PIN pad
 * reader gets a message without an entry.
 */
#define G_LOG_DOMAIN "test-pin-dialog"

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "custos-pin-dialog.h"
#include "custos-pin-interaction.h"
#include "custos-pin-pad.h"

#define WAIT_MS 20000
#define CARD_DESCRIPTION "PIN for the token “Investigator Card”"

static GtkWindow            *window;
static CustosPinInteraction *interaction;

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_for (gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  guint  source = g_timeout_add (100, tick, NULL);

  while (!*flag && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  g_assert_true (*flag);
}

static void
on_dialog_shown (CustosPinInteraction *self, GtkWidget *dialog, gboolean *shown)
{
  *shown = TRUE;
}

typedef struct
{
  gboolean              done;
  GTlsInteractionResult result;
  GError               *error;
} Answer;

static void
on_answered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Answer *answer = user_data;

  answer->result =
      g_tls_interaction_ask_password_finish (G_TLS_INTERACTION (source), res, &answer->error);
  answer->done = TRUE;
}

/* Asks and waits until the dialog is on screen. */
static CustosPinDialog *
ask (GTlsPassword *password, GCancellable *cancellable, Answer *answer)
{
  gboolean shown = FALSE;
  gulong id = g_signal_connect (interaction, "dialog-shown", G_CALLBACK (on_dialog_shown), &shown);
  GtkWidget *dialog;

  g_tls_interaction_ask_password_async (G_TLS_INTERACTION (interaction), password, cancellable,
                                        on_answered, answer);
  wait_for (&shown);
  g_signal_handler_disconnect (interaction, id);

  dialog = custos_pin_interaction_get_dialog (interaction);
  g_assert_true (CUSTOS_IS_PIN_DIALOG (dialog));
  g_assert_true (ADW_IS_MESSAGE_DIALOG (dialog));
  /* Really on screen, over the app's window. */
  while (!gtk_widget_get_mapped (dialog))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == window);
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  return CUSTOS_PIN_DIALOG (dialog);
}

static void
type_and_press_enter (const char *pin)
{
  GtkWidget *entry = custos_pin_interaction_get_entry (interaction);

  g_assert_nonnull (entry);
  g_assert_true (gtk_widget_get_visible (entry));
  gtk_editable_set_text (GTK_EDITABLE (entry), pin);
  /* Enter in the entry's text activates the default response, "unlock". */
  for (GtkWidget *child = gtk_widget_get_first_child (entry); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_TEXT (child))
      {
        g_signal_emit_by_name (child, "activate");
        return;
      }
  g_assert_not_reached ();
}

static char *
password_text (GTlsPassword *password)
{
  gsize         len;
  const guchar *value = g_tls_password_get_value (password, &len);

  return g_strndup ((const char *) value, len);
}

/* The first request: the card's name, no warning; the PIN typed is the
 * PIN handed over, and the entry is empty afterwards. */
static void
test_pin (void)
{
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, CARD_DESCRIPTION);
  Answer           answer = { FALSE };
  CustosPinDialog *dialog;
  GtkWidget       *entry;
  g_autofree char *got = NULL;

  dialog = ask (password, NULL, &answer);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Smart Card PIN");
  g_assert_nonnull (
      strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "“Investigator Card”"));
  g_assert_null (custos_pin_dialog_get_warning (dialog));
  entry = g_object_ref (custos_pin_interaction_get_entry (interaction));

  type_and_press_enter ("4711 ü");
  wait_for (&answer.done);
  g_assert_no_error (answer.error);
  g_assert_cmpint (answer.result, ==, G_TLS_INTERACTION_HANDLED);
  got = password_text (password);
  g_assert_cmpstr (got, ==, "4711 ü");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "");
  g_assert_null (custos_pin_interaction_get_dialog (interaction));
  g_object_unref (entry);
}

/* After a wrong PIN: "Wrong PIN" and the tries left, as the card says. */
static void
test_tries_left (void)
{
  struct
  {
    GTlsPasswordFlags flags;
    guint             tries_left; /* 0: unknown */
    const char       *warning;
  } cases[] = {
    { G_TLS_PASSWORD_RETRY, 0, "Wrong PIN. Try again" },
    { G_TLS_PASSWORD_RETRY | G_TLS_PASSWORD_MANY_TRIES, 2, "Wrong PIN. 2 tries left" },
    { G_TLS_PASSWORD_RETRY | G_TLS_PASSWORD_MANY_TRIES, 0,
      "Wrong PIN. Few tries left before the card locks" },
    { G_TLS_PASSWORD_RETRY | G_TLS_PASSWORD_FINAL_TRY, 0,
      "Wrong PIN. Last try before the card locks" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GTlsPassword) password = g_tls_password_new (cases[i].flags, CARD_DESCRIPTION);
      Answer           answer = { FALSE };
      CustosPinDialog *dialog;

      if (cases[i].tries_left > 0)
        g_object_set_data (G_OBJECT (password), CUSTOS_PIN_TRIES_LEFT_KEY,
                           GUINT_TO_POINTER (cases[i].tries_left + 1));
      dialog = ask (password, NULL, &answer);
      g_assert_cmpstr (custos_pin_dialog_get_warning (dialog), ==, cases[i].warning);
      g_assert_nonnull (
          strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "Investigator Card"));
      type_and_press_enter ("1234");
      wait_for (&answer.done);
      g_assert_no_error (answer.error);
    }
}

/* Cancel, and the request's own cancellable, fail it as cancelled and
 * hand over nothing. */
static void
test_cancel (void)
{
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, CARD_DESCRIPTION);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Answer answer = { FALSE };
  Answer second = { FALSE };
  gsize  len = 0;

  ask (password, NULL, &answer);
  gtk_editable_set_text (GTK_EDITABLE (custos_pin_interaction_get_entry (interaction)), "99");
  g_assert_true (custos_pin_interaction_respond (interaction, "cancel"));
  wait_for (&answer.done);
  g_assert_error (answer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (answer.result, ==, G_TLS_INTERACTION_FAILED);
  g_tls_password_get_value (password, &len);
  g_assert_cmpuint (len, ==, 0);
  g_clear_error (&answer.error);

  ask (password, cancellable, &second);
  g_cancellable_cancel (cancellable);
  wait_for (&second.done);
  g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&second.error);
  while (custos_pin_interaction_get_dialog (interaction) != NULL)
    g_main_context_iteration (NULL, TRUE);
}

/* As the PKCS#11 provider asks: from a worker thread, blocking it, with
 * the dialog in the main context. */
static gpointer
ask_from_thread (gpointer data)
{
  g_autoptr (GTlsPassword) password = g_tls_password_new (G_TLS_PASSWORD_NONE, CARD_DESCRIPTION);
  g_autoptr (GError) error = NULL;
  GTlsInteractionResult result;

  result = g_tls_interaction_invoke_ask_password (G_TLS_INTERACTION (interaction), password, NULL,
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, G_TLS_INTERACTION_HANDLED);
  *(gboolean *) data = TRUE;
  g_main_context_wakeup (NULL);
  return password_text (password);
}

static void
test_from_thread (void)
{
  gboolean shown = FALSE;
  gulong id = g_signal_connect (interaction, "dialog-shown", G_CALLBACK (on_dialog_shown), &shown);
  static gboolean answered;
  g_autoptr (GThread) thread = g_thread_new ("card", ask_from_thread, &answered);
  g_autofree char *got = NULL;

  wait_for (&shown);
  g_signal_handler_disconnect (interaction, id);
  type_and_press_enter ("246810");
  /* The answer reaches the thread through the main loop. */
  wait_for (&answered);
  got = g_thread_join (g_steal_pointer (&thread));
  g_assert_cmpstr (got, ==, "246810");
}

/* A PIN pad: the reader asks, so there is no entry; Cancel cancels. */
static void
test_pin_pad (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GtkWidget *dialog;

  custos_pin_interaction_show_pin_pad (interaction, "Investigator Card", cancellable);
  dialog = custos_pin_interaction_get_dialog (interaction);
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Enter the PIN on the reader");
  g_assert_nonnull (
      strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "Investigator Card"));
  g_assert_null (custos_pin_interaction_get_entry (interaction));
  g_assert_false (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "unlock"));
  while (!gtk_widget_get_mapped (dialog))
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (custos_pin_interaction_respond (interaction, "cancel"));
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_assert_null (custos_pin_interaction_get_dialog (interaction));

  /* Hidden by the caller once the reader is done. */
  custos_pin_interaction_show_pin_pad (interaction, "Investigator Card", NULL);
  g_assert_nonnull (custos_pin_interaction_get_dialog (interaction));
  custos_pin_interaction_hide_pin_pad (interaction);
  g_assert_null (custos_pin_interaction_get_dialog (interaction));
}

/* The PKCS#11 provider's worker thread reports a PIN pad login through
 * CustosPinPadPrompt: the message appears while the reader asks, and goes
 * when the login ends. */
static gpointer
pin_pad_login_thread (gpointer data)
{
  GCancellable *done = data;

  custos_pin_pad_prompt_begin (G_TLS_INTERACTION (interaction), "Reader Card");
  /* The reader would be waiting for the PIN here. */
  while (!g_cancellable_is_cancelled (done))
    g_usleep (1000);
  custos_pin_pad_prompt_end (G_TLS_INTERACTION (interaction));
  return NULL;
}

static void
test_pin_pad_prompt (void)
{
  g_autoptr (GCancellable) done = g_cancellable_new ();
  g_autoptr (GThread) thread = NULL;
  GtkWidget *dialog;

  g_assert_true (CUSTOS_IS_PIN_PAD_PROMPT (interaction));
  thread = g_thread_new ("pkcs11", pin_pad_login_thread, done);
  while ((dialog = custos_pin_interaction_get_dialog (interaction)) == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Enter the PIN on the reader");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "Reader Card"));
  g_assert_null (custos_pin_interaction_get_entry (interaction));

  g_cancellable_cancel (done);
  g_thread_join (g_steal_pointer (&thread));
  while (custos_pin_interaction_get_dialog (interaction) != NULL)
    g_main_context_iteration (NULL, TRUE);
}

int
main (int argc, char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return g_test_run ();
    }
  adw_init ();

  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 640, 480);
  gtk_window_present (window);
  interaction = custos_pin_interaction_new ();
  custos_pin_interaction_set_parent (interaction, window);

  g_test_add_func ("/pin-dialog/pin", test_pin);
  g_test_add_func ("/pin-dialog/tries-left", test_tries_left);
  g_test_add_func ("/pin-dialog/cancel", test_cancel);
  g_test_add_func ("/pin-dialog/from-thread", test_from_thread);
  g_test_add_func ("/pin-dialog/pin-pad", test_pin_pad);
  g_test_add_func ("/pin-dialog/pin-pad-prompt", test_pin_pad_prompt);
  ret = g_test_run ();

  g_clear_object (&interaction);
  gtk_window_destroy (window);
  return ret;
}
