/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-seal"

#include "config.h"

#include "custos-crypto.h"
#include "custos-seal-hasher.h"

/* Jobs in a ring the producer fills and the worker drains; the producer
 * blocks only when the ring is full or when it waits. */
#define RING 1024

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
};

/* head moves past a job only once its digest is appended. */
static gboolean
idle_locked (CustosSealHasher *self)
{
  return self->head == self->tail;
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
        g_cond_wait (&self->cond, &self->lock);
      if (self->head == self->tail)
        break;
      job = self->ring[self->head % RING];
      g_mutex_unlock (&self->lock);

      custos_sha256 (job.data, job.len, d);

      g_mutex_lock (&self->lock);
      /* Appended under the lock: the producer reads out only after wait(). */
      g_byte_array_append (job.out, d, sizeof d);
      self->head++;
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
    g_cond_wait (&self->cond, &self->lock);
  self->ring[self->tail % RING] = (Job){ data, len, out };
  self->tail++;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
custos_seal_hasher_wait (CustosSealHasher *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  while (!idle_locked (self))
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}
