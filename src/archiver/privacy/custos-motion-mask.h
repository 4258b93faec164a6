/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosMotionMask: which squares of the picture something moved in,
 * for the Privacy Protector's regions=motion. Per square of block ×
 * block luma pixels it keeps a slowly following background mean; a
 * square whose mean leaves it by more than a threshold is marked for
 * the next `hold` frames, and so are its eight neighbours (a person
 * spans more than the squares whose mean changed).
 *
 * What never moves is never marked: someone standing still from the
 * first frame stays visible, and after a few seconds anything that
 * stopped becomes background. Whole-frame mode has no such gap.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CustosMotionMask CustosMotionMask;

CustosMotionMask *
custos_motion_mask_new (guint block, guint hold);
void
custos_motion_mask_free (CustosMotionMask *self);
/* Takes a frame's luma plane; returns one byte per square, row-major,
 * *cols × *rows, nonzero where the square is to be hidden. Owned by
 * the mask, valid until the next call. */
const guint8 *
custos_motion_mask_update (CustosMotionMask *self, const guint8 *luma, gint stride, gint width,
                           gint height, guint *cols, guint *rows);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CustosMotionMask, custos_motion_mask_free)

G_END_DECLS
