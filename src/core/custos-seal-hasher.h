/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * custos-seal-hasher.h: SHA-256 of sealed records on a second thread.
 *
 * Checking seals hashes every byte of the stream, and SHA-256 costs more
 * than AES-GCM: on one thread it doubled the time of an export. The
 * record digests are independent of each other (docs/fusion-stream.md
 * §5.6), so the reader hands each record to this worker and goes on
 * decrypting and pushing; it waits only before the bytes it handed over
 * move (its input window slides) and before a seal needs the digests.
 * Not installed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CustosSealHasher CustosSealHasher;

/* NULL when one thread would do as well (a single processor). */
CustosSealHasher *
custos_seal_hasher_new (void);
void
custos_seal_hasher_free (CustosSealHasher *self);
/* Appends SHA-256(data) to out, in the order of the calls. data and out
 * must stay valid and untouched until custos_seal_hasher_wait(). */
void
custos_seal_hasher_push (CustosSealHasher *self, const guint8 *data, gsize len, GByteArray *out);
/* Returns when every pushed record is digested. */
void
custos_seal_hasher_wait (CustosSealHasher *self);
/* A point in the queue: the records pushed so far. Waiting for it lets
 * the caller reuse their bytes while later ones are still digested.
 * (0 for a NULL hasher.) */
guint
custos_seal_hasher_mark (CustosSealHasher *self);
void
custos_seal_hasher_wait_for (CustosSealHasher *self, guint mark);

/* From now on the chain's record digests are computed by hasher (which
 * must outlive the chain or be waited for before it is freed). */
typedef struct _CustosSealChain CustosSealChain;
void
custos_seal_chain_set_hasher (CustosSealChain *chain, CustosSealHasher *hasher);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosSealHasher, custos_seal_hasher_free)

G_END_DECLS
