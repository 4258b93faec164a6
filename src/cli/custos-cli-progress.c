/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>

#include <signal.h>
#include <unistd.h>

#include "custos-cli-progress.h"

/* A terminal gets a line rewritten in place; a log a line a second. */
#define TTY_INTERVAL_US  (250 * 1000)
#define LOG_INTERVAL_US  (1000 * 1000)

struct _CustosCliProgress
{
  GMutex    lock;
  char     *what;
  gboolean  json;
  gboolean  enabled;
  gboolean  tty;
  gboolean  line_open;
  gint64    started;
  gint64    last;
};

CustosCliProgress *
custos_cli_progress_new (const char *what,
                         gboolean    json,
                         gboolean    enabled)
{
  CustosCliProgress *self = g_new0 (CustosCliProgress, 1);

  g_mutex_init (&self->lock);
  self->what = g_strdup (what);
  self->json = json;
  self->enabled = enabled;
  self->tty = !json && isatty (STDERR_FILENO);
  self->started = g_get_monotonic_time ();
  return self;
}

void
custos_cli_progress_free (CustosCliProgress *self)
{
  custos_cli_progress_finish (self);
  g_mutex_clear (&self->lock);
  g_free (self->what);
  g_free (self);
}

/* Seconds left, from the pace so far; -1 while that says nothing yet. */
static double
remaining (CustosCliProgress *self,
           double             fraction,
           double             elapsed)
{
  if (fraction < 0.01 || elapsed < 0.5)
    return -1;
  return elapsed * (1.0 - fraction) / fraction;
}

static char *
format_duration (double seconds)
{
  int s = (int) (seconds + 0.5);

  if (seconds < 0)
    return g_strdup ("?");
  if (s >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return g_strdup_printf ("%d:%02d", s / 60, s % 60);
}

static void
print_line (CustosCliProgress *self,
            double             fraction,
            double             elapsed)
{
  double left = remaining (self, fraction, elapsed);
  g_autofree char *left_text = format_duration (left);

  if (self->json)
    {
      g_printerr ("{\"progress\": %.3f, \"elapsed\": %.1f, \"remaining\": %.1f}\n", fraction,
                  elapsed, left);
      return;
    }
  /* TRANSLATORS: e.g. "Exporting: 42 % (0:12 left)" */
  g_printerr (_("%s%s: %3.0f %% (%s left)%s"), self->tty ? "\r" : "", self->what,
              fraction * 100.0, left_text, self->tty ? "  " : "\n");
  self->line_open = self->tty;
}

void
custos_cli_progress_update (CustosCliProgress *self,
                            double             fraction)
{
  gint64 now = g_get_monotonic_time ();
  gint64 interval = self->tty ? TTY_INTERVAL_US : LOG_INTERVAL_US;

  if (!self->enabled)
    return;
  g_mutex_lock (&self->lock);
  if (self->last == 0 || now - self->last >= interval)
    {
      self->last = now;
      print_line (self, CLAMP (fraction, 0.0, 1.0), (now - self->started) / 1e6);
    }
  g_mutex_unlock (&self->lock);
}

void
custos_cli_progress_finish (CustosCliProgress *self)
{
  g_mutex_lock (&self->lock);
  if (self->line_open)
    g_printerr ("\n");
  self->line_open = FALSE;
  g_mutex_unlock (&self->lock);
}

/* Signals */

typedef struct
{
  GCancellable *cancellable;
  int           signum;
} SignalWatch;

static guint signal_sources[2];
static int signal_received;

static void
signal_watch_free (SignalWatch *watch)
{
  g_object_unref (watch->cancellable);
  g_free (watch);
}

static gboolean
on_signal (gpointer user_data)
{
  SignalWatch *watch = user_data;

  if (signal_received == 0)
    signal_received = watch->signum;
  g_cancellable_cancel (watch->cancellable);
  return G_SOURCE_CONTINUE;
}

static guint
watch_signal (GCancellable *cancellable,
              int           signum)
{
  GSource *source = g_unix_signal_source_new (signum);
  SignalWatch *watch = g_new0 (SignalWatch, 1);
  guint id;

  watch->cancellable = g_object_ref (cancellable);
  watch->signum = signum;
  g_source_set_callback (source, on_signal, watch, (GDestroyNotify) signal_watch_free);
  id = g_source_attach (source, NULL);
  g_source_unref (source);
  return id;
}

void
custos_cli_cancel_on_signals (GCancellable *cancellable)
{
  signal_received = 0;
  signal_sources[0] = watch_signal (cancellable, SIGINT);
  signal_sources[1] = watch_signal (cancellable, SIGTERM);
}

int
custos_cli_cancel_on_signals_stop (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (signal_sources); i++)
    if (signal_sources[i] != 0)
      g_source_remove (signal_sources[i]);
  signal_sources[0] = signal_sources[1] = 0;
  return signal_received;
}
