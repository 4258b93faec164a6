/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "custos" plugin: custosdemux, custosmux, and a typefinder that
 * recognises fusion streams so that decodebin and playbin can open
 * ".fusion" files.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "custos-format.h"
#include "gstcustosdemux.h"
#include "gstcustosmux.h"

GST_DEBUG_CATEGORY_STATIC (gst_custos_plugin_debug);
#define GST_CAT_DEFAULT gst_custos_plugin_debug

#define FUSION_CAPS "application/x-custos-fusion"
/* GST_PLUGIN_DEFINE names the package with it. */
#define PACKAGE     "custos"

static GstStaticCaps fusion_caps = GST_STATIC_CAPS (FUSION_CAPS);

/* A fusion stream starts with a FILE_HEADER record (CF 01 00, a length)
 * whose body starts with the magic "CUSTOSFS" (docs/fusion-stream.md §4.1). */
static void
fusion_type_find (GstTypeFind *tf,
                  gpointer     user_data)
{
  const guint8 *data = gst_type_find_peek (tf, 0, CUSTOS_RECORD_HEADER_LEN + CUSTOS_FILE_MAGIC_LEN);

  if (data == NULL || data[0] != CUSTOS_RECORD_SYNC || data[1] != 0x01 || data[2] != 0x00)
    return;
  if (memcmp (data + CUSTOS_RECORD_HEADER_LEN, CUSTOS_FILE_MAGIC, CUSTOS_FILE_MAGIC_LEN) != 0)
    return;
  gst_type_find_suggest (tf, GST_TYPE_FIND_MAXIMUM, gst_static_caps_get (&fusion_caps));
}

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = TRUE;

  GST_DEBUG_CATEGORY_INIT (gst_custos_plugin_debug, "custos", 0, "Custos plugin");
  /* As GStreamer's own plugins do: the elements' error texts are in our
   * domain, and the application loading the plugin need not know where it
   * lives. Debian's GLib always has gettext, so there is no ENABLE_NLS. */
  GST_DEBUG ("binding text domain %s to locale dir %s", GETTEXT_PACKAGE, LOCALEDIR);
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  ok &= gst_type_find_register (plugin, FUSION_CAPS, GST_RANK_PRIMARY, fusion_type_find, "fusion",
                                gst_static_caps_get (&fusion_caps), NULL, NULL);
  ok &= GST_ELEMENT_REGISTER (custosdemux, plugin);
  ok &= GST_ELEMENT_REGISTER (custosmux, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, custos,
                   "Custos end-to-end encrypted fusion streams", plugin_init, PACKAGE_VERSION,
                   "LGPL", "custos", "https://custos.invalid/")
