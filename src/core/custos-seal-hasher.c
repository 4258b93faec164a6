/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-seal"

#include "config.h"

#include "custos-crypto.h"
#include "custos-seal-hasher.h"

/* Jobs in a ring the producer fills and the worker drains; the producer
 * blocks only when the ring is full or when it waits. */
#define RING 1024
/* The worker is woken once this much is queued (or when the reader
 * waits), not for every record: a futex wake-up per record cost more
 * than the handoff saved. */
#define WAKE_BYTES (256 * 1024)

typedef struct
{
  const guint8 *data;
  gsize         len;
  GByteArray   *out;
} Job;

struct _CustosSealHasher
{
  GThread *thread;
  GMutex   lock;
  GCond    cond;
  Job      ring[RING];
  guint    head; /* next job the worker takes */
  guint    tail; /* next free slot */
  gboolean quit;
  /* Who sleeps on cond: signalled only then, and the worker only once
   * WAKE_BYTES are queued or the reader waits. */
  gboolean worker_sleeps;
  gboolean producer_sleeps;
  gsize    queued_bytes; /* pushed since the worker was last woken */
};

static void
wake_worker_locked (CustosSealHasher *self)
{
  self->queued_bytes = 0;
  g_cond_signal (&self->cond);
}

static gpointer
worker (gpointer data)
{
  CustosSealHasher *self = data;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      Job    job;
      guint8 d[CUSTOS_SHA256_LEN];

      while (self->head == self->tail && !self->quit)
        {
          self->worker_sleeps = TRUE;
          g_cond_wait (&self->cond, &self->lock);
          self->worker_sleeps = FALSE;
        }
      if (self->head == self->tail)
        break;
      job = self->ring[self->head % RING];
      g_mutex_unlock (&self->lock);

      custos_sha256 (job.data, job.len, d);

      g_mutex_lock (&self->lock);
      /* Appended under the lock: the producer reads out only after wait(). */
      g_byte_array_append (job.out, d, sizeof d);
      self->head++;
      if (self->producer_sleeps)
        g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

CustosSealHasher *
custos_seal_hasher_new (void)
{
  CustosSealHasher *self;

  if (g_get_num_processors () < 2)
    return NULL;
  self = g_new0 (CustosSealHasher, 1);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->thread = g_thread_new ("custos-seal", worker, self);
  return self;
}

void
custos_seal_hasher_free (CustosSealHasher *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->thread);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

void
custos_seal_hasher_push (CustosSealHasher *self, const guint8 *data, gsize len, GByteArray *out)
{
  g_mutex_lock (&self->lock);
  while (self->tail - self->head >= RING)
    {
      if (self->worker_sleeps)
        wake_worker_locked (self);
      self->producer_sleeps = TRUE;
      g_cond_wait (&self->cond, &self->lock);
      self->producer_sleeps = FALSE;
    }
  self->ring[self->tail % RING] = (Job){ data, len, out };
  self->tail++;
  self->queued_bytes += len;
  if (self->worker_sleeps && self->queued_bytes >= WAKE_BYTES)
    wake_worker_locked (self);
  g_mutex_unlock (&self->lock);
}

guint
custos_seal_hasher_mark (CustosSealHasher *self)
{
  guint mark;

  if (self == NULL)
    return 0;
  g_mutex_lock (&self->lock);
  mark = self->tail;
  g_mutex_unlock (&self->lock);
  return mark;
}

/* Counters wrap: what is left before mark is a signed distance. */
static gboolean
done_locked (CustosSealHasher *self,
             guint             mark)
{
  return (gint) (mark - self->head) <= 0;
}

void
custos_seal_hasher_wait_for (CustosSealHasher *self,
                             guint             mark)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  if (self->worker_sleeps && !done_locked (self, mark))
    wake_worker_locked (self);
  while (!done_locked (self, mark))
    {
      self->producer_sleeps = TRUE;
      g_cond_wait (&self->cond, &self->lock);
      self->producer_sleeps = FALSE;
    }
  g_mutex_unlock (&self->lock);
}

void
custos_seal_hasher_wait (CustosSealHasher *self)
{
  custos_seal_hasher_wait_for (self, custos_seal_hasher_mark (self));
}
