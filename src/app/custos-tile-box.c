/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-grid"

#include "config.h"

#include "custos-tile-box.h"

#define SPACING 2

struct _CustosTileBox
{
  GtkWidget parent_instance;

  double aspect;
  guint  columns;
};

G_DEFINE_FINAL_TYPE (CustosTileBox, custos_tile_box, GTK_TYPE_WIDGET)

static guint
count_tiles (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += gtk_widget_should_layout (child);
  return n;
}

/* The area of the largest picture of the aspect ratio in a cell. */
static double
picture_area (double cell_width, double cell_height, double aspect)
{
  double width = MIN (cell_width, cell_height * aspect);

  return cell_width <= 0 || cell_height <= 0 ? 0 : width * (width / aspect);
}

static guint
best_columns (guint n, int width, int height, double aspect)
{
  guint  best = 1;
  double best_area = -1;

  for (guint columns = 1; columns <= n; columns++)
    {
      guint  rows = (n + columns - 1) / columns;
      double area = picture_area ((width - SPACING * (columns - 1.0)) / columns,
                                  (height - SPACING * (rows - 1.0)) / rows, aspect);

      /* Ties go to fewer columns. */
      if (area > best_area + 0.5)
        {
          best = columns;
          best_area = area;
        }
    }
  return best;
}

static void
custos_tile_box_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  CustosTileBox *self = CUSTOS_TILE_BOX (widget);
  guint          n = count_tiles (widget), rows, i = 0;
  double         cell_width, cell_height;

  if (n == 0)
    return;
  self->columns = best_columns (n, width, height, self->aspect);
  rows = (n + self->columns - 1) / self->columns;
  cell_width = (width - SPACING * (self->columns - 1.0)) / self->columns;
  cell_height = (height - SPACING * (rows - 1.0)) / rows;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      guint column, row;
      int   x, y;

      if (!gtk_widget_should_layout (child))
        continue;
      column = i % self->columns;
      row = i / self->columns;
      x = (int) (column * (cell_width + SPACING));
      y = (int) (row * (cell_height + SPACING));
      /* Edges from the next cell's start, so rounding leaves no gap. */
      gtk_widget_size_allocate (
          child,
          &(GtkAllocation){ x, y, (int) ((column + 1) * (cell_width + SPACING)) - SPACING - x,
                            (int) ((row + 1) * (cell_height + SPACING)) - SPACING - y },
          -1);
      i++;
    }
}

/* As small as one tile may be; as large as the tiles would like, one each. */
static void
custos_tile_box_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                         int *natural, int *minimum_baseline, int *natural_baseline)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      int child_min = 0, child_nat = 0;

      if (!gtk_widget_should_layout (child))
        continue;
      gtk_widget_measure (child, orientation, -1, &child_min, &child_nat, NULL, NULL);
      *minimum = MAX (*minimum, child_min);
      *natural = MAX (*natural, child_nat);
    }
}

static void
custos_tile_box_dispose (GObject *object)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (custos_tile_box_parent_class)->dispose (object);
}

static void
custos_tile_box_class_init (CustosTileBoxClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = custos_tile_box_dispose;
  widget_class->measure = custos_tile_box_measure;
  widget_class->size_allocate = custos_tile_box_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "tilebox");
  /* As the GtkGrid it replaces: a group of the camera tiles. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
custos_tile_box_init (CustosTileBox *self)
{
  self->aspect = 16.0 / 9.0;
}

GtkWidget *
custos_tile_box_new (void)
{
  return g_object_new (CUSTOS_TYPE_TILE_BOX, NULL);
}

void
custos_tile_box_append (CustosTileBox *self, GtkWidget *tile)
{
  g_return_if_fail (CUSTOS_IS_TILE_BOX (self));
  g_return_if_fail (gtk_widget_get_parent (tile) == NULL);

  gtk_widget_insert_before (tile, GTK_WIDGET (self), NULL);
}

void
custos_tile_box_remove (CustosTileBox *self, GtkWidget *tile)
{
  g_return_if_fail (CUSTOS_IS_TILE_BOX (self));
  g_return_if_fail (gtk_widget_get_parent (tile) == GTK_WIDGET (self));

  gtk_widget_unparent (tile);
}

void
custos_tile_box_set_aspect (CustosTileBox *self, double aspect)
{
  g_return_if_fail (CUSTOS_IS_TILE_BOX (self));
  g_return_if_fail (aspect > 0);

  if (G_APPROX_VALUE (self->aspect, aspect, 1e-6))
    return;
  self->aspect = aspect;
  gtk_widget_queue_allocate (GTK_WIDGET (self));
}

guint
custos_tile_box_get_columns (CustosTileBox *self)
{
  g_return_val_if_fail (CUSTOS_IS_TILE_BOX (self), 0);
  return self->columns;
}
