/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CustosTileBox in a real window: the grid's tiles go in the columns that
 * show 16:9 video largest for the window's shape, and every tile gets an
 * equal cell inside the box.
 */
#define G_LOG_DOMAIN "custos-test"

#include "config.h"

#include <gtk/gtk.h>

#include "custos-tile-box.h"

#define GUARD_US (10 * G_USEC_PER_SEC)

typedef struct
{
  int    width;
  int    height;
  guint  tiles;
  guint  columns;
  double aspect; /* 0: the default, 16:9 */
} Case;

static gboolean
allocated (CustosTileBox *box, int width, int height)
{
  return gtk_widget_get_width (GTK_WIDGET (box)) == width &&
         gtk_widget_get_height (GTK_WIDGET (box)) == height &&
         custos_tile_box_get_columns (box) > 0;
}

static void
check_case (const Case *c)
{
  GtkWidget     *window = gtk_window_new ();
  CustosTileBox *box = CUSTOS_TILE_BOX (custos_tile_box_new ());
  GtkWidget     *tiles[4];
  gint64         deadline = g_get_monotonic_time () + GUARD_US;
  guint          rows = (c->tiles + c->columns - 1) / c->columns;

  /* No title bar: the box is the whole window. */
  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), c->width, c->height);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (box));
  if (c->aspect > 0)
    custos_tile_box_set_aspect (box, c->aspect);
  for (guint i = 0; i < c->tiles; i++)
    custos_tile_box_append (box, tiles[i] = gtk_drawing_area_new ());
  gtk_window_present (GTK_WINDOW (window));
  while (!allocated (box, c->width, c->height))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("the box was not allocated %d×%d", c->width, c->height);
    }
  g_test_message ("%u tiles in %d×%d: %u columns", c->tiles, c->width, c->height,
                  custos_tile_box_get_columns (box));
  g_assert_cmpuint (custos_tile_box_get_columns (box), ==, c->columns);
  for (guint i = 0; i < c->tiles; i++)
    {
      graphene_rect_t bounds;
      int             cell_w = (c->width - 2 * ((int) c->columns - 1)) / (int) c->columns;
      int             cell_h = (c->height - 2 * ((int) rows - 1)) / (int) rows;

      g_assert_true (gtk_widget_compute_bounds (tiles[i], GTK_WIDGET (box), &bounds));
      /* Reading order, equal cells (within a pixel of rounding). */
      g_assert_cmpfloat (ABS (bounds.origin.x - (i % c->columns) * (cell_w + 2.0)), <=, 1);
      g_assert_cmpfloat (ABS (bounds.origin.y - (i / c->columns) * (cell_h + 2.0)), <=, 1);
      g_assert_cmpfloat (ABS (bounds.size.width - cell_w), <=, 1);
      g_assert_cmpfloat (ABS (bounds.size.height - cell_h), <=, 1);
    }
  /* One less: the others close up. */
  custos_tile_box_remove (box, tiles[0]);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_layouts (void)
{
  /* Within Xvfb's 1280×800 screen. */
  const Case cases[] = {
    /* Two cameras: side by side only in a band wider than two pictures. */
    { 1270, 300, 2, 2 },
    { 880, 600, 2, 1 },
    /* Four: a row in a wide band, 2×2 in a usual window, a column when tall. */
    { 1270, 160, 4, 4 },
    { 1200, 700, 4, 2 },
    { 300, 790, 4, 1 },
    /* Three: two rows of two, one cell empty. */
    { 1200, 700, 3, 2 },
    /* 4:3 cameras where 16:9 ones are stacked: side by side. */
    { 880, 600, 2, 2, 4.0 / 3.0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_case (&cases[i]);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_skip ("no display (run under xvfb-run)");
      return 0;
    }
  g_test_add_func ("/tile-box/layouts", test_layouts);
  return g_test_run ();
}
