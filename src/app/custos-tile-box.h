/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosTileBox: the grid's tiles, in as many columns as show their video
 * largest. Tiles are equal cells in reading order; for each allocation
 * the box tries every column count and keeps the one whose cells hold the
 * largest picture of the videos' aspect ratio (16:9 unless set): two
 * cameras side by side in a wide window, one above the other in a narrow
 * one, four in 2×2 or 4×1 as the window's shape says.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CUSTOS_TYPE_TILE_BOX (custos_tile_box_get_type ())

G_DECLARE_FINAL_TYPE (CustosTileBox, custos_tile_box, CUSTOS, TILE_BOX, GtkWidget)

GtkWidget *
custos_tile_box_new (void);
void
custos_tile_box_append (CustosTileBox *self, GtkWidget *tile);
void
custos_tile_box_remove (CustosTileBox *self, GtkWidget *tile);
/* Width over height of the videos the tiles show. */
void
custos_tile_box_set_aspect (CustosTileBox *self, double aspect);
/* The columns of the last allocation (0 before the first). */
guint
custos_tile_box_get_columns (CustosTileBox *self);

G_END_DECLS
