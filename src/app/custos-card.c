/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-card"

#include "config.h"

#include "custos-card.h"

struct _CustosCard
{
  GObject     parent_instance;
  char       *label;
  char       *manufacturer;
  char       *model;
  char       *serial;
  char       *uri;
  gboolean    present;
  gboolean    pin_pad;
  GListStore *certificates;
};

G_DEFINE_FINAL_TYPE (CustosCard, custos_card, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_LABEL,
  PROP_MANUFACTURER,
  PROP_MODEL,
  PROP_SERIAL,
  PROP_URI,
  PROP_PRESENT,
  PROP_PIN_PAD,
  PROP_CERTIFICATES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
custos_card_finalize (GObject *object)
{
  CustosCard *self = (CustosCard *) object;

  g_clear_pointer (&self->label, g_free);
  g_clear_pointer (&self->manufacturer, g_free);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->serial, g_free);
  g_clear_pointer (&self->uri, g_free);
  g_clear_object (&self->certificates);

  G_OBJECT_CLASS (custos_card_parent_class)->finalize (object);
}

static void
custos_card_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CustosCard *self = CUSTOS_CARD (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_MANUFACTURER:
      g_value_set_string (value, self->manufacturer);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_SERIAL:
      g_value_set_string (value, self->serial);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_PRESENT:
      g_value_set_boolean (value, self->present);
      break;
    case PROP_PIN_PAD:
      g_value_set_boolean (value, self->pin_pad);
      break;
    case PROP_CERTIFICATES:
      g_value_set_object (value, self->certificates);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_property (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
boolean_property (const char *name)
{
  return g_param_spec_boolean (name, NULL, NULL, FALSE,
                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
custos_card_class_init (CustosCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_card_finalize;
  object_class->get_property = custos_card_get_property;

  properties[PROP_LABEL] = string_property ("label");
  properties[PROP_MANUFACTURER] = string_property ("manufacturer");
  properties[PROP_MODEL] = string_property ("model");
  properties[PROP_SERIAL] = string_property ("serial");
  properties[PROP_URI] = string_property ("uri");
  properties[PROP_PRESENT] = boolean_property ("present");
  properties[PROP_PIN_PAD] = boolean_property ("pin-pad");
  properties[PROP_CERTIFICATES] = g_param_spec_object (
      "certificates", NULL, NULL, G_TYPE_LIST_MODEL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_card_init (CustosCard *self)
{
  self->certificates = g_list_store_new (CUSTOS_TYPE_CARD_CERTIFICATE);
  self->present = TRUE;
}

static void
set_string (CustosCard *self, char **field, const char *value, guint prop)
{
  g_autofree char *stripped = g_strstrip (g_strdup (value != NULL ? value : ""));

  if (g_strcmp0 (*field, stripped) == 0)
    return;
  g_free (*field);
  *field = g_steal_pointer (&stripped);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

CustosCard *
custos_card_new (CustosPkcs11TokenInfo *info)
{
  CustosCard *self = g_object_new (CUSTOS_TYPE_CARD, NULL);

  custos_card_update (self, info);
  return self;
}

/* A login reveals private keys, so the certificates are replaced as a
 * whole with each new snapshot. */
void
custos_card_update (CustosCard *self, CustosPkcs11TokenInfo *info)
{
  g_autoptr (GPtrArray) certs = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean pin_pad;

  g_return_if_fail (CUSTOS_IS_CARD (self));
  g_return_if_fail (info != NULL);

  set_string (self, &self->label, info->label, PROP_LABEL);
  set_string (self, &self->manufacturer, info->manufacturer, PROP_MANUFACTURER);
  set_string (self, &self->model, info->model, PROP_MODEL);
  set_string (self, &self->serial, info->serial, PROP_SERIAL);
  set_string (self, &self->uri, info->uri, PROP_URI);

  pin_pad = (info->flags & CUSTOS_PKCS11_TOKEN_PROTECTED_AUTH_PATH) != 0;
  if (pin_pad != self->pin_pad)
    {
      self->pin_pad = pin_pad;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PIN_PAD]);
    }

  for (guint i = 0; info->certificates != NULL && i < info->certificates->len; i++)
    g_ptr_array_add (certs, custos_card_certificate_new (info->certificates->pdata[i]));
  g_list_store_splice (self->certificates, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->certificates)), certs->pdata,
                       certs->len);
}

void
custos_card_set_present (CustosCard *self, gboolean present)
{
  g_return_if_fail (CUSTOS_IS_CARD (self));

  present = !!present;
  if (present == self->present)
    return;
  self->present = present;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENT]);
}

const char *
custos_card_get_label (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return self->label;
}

const char *
custos_card_get_manufacturer (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return self->manufacturer;
}

const char *
custos_card_get_model (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return self->model;
}

const char *
custos_card_get_serial (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return self->serial;
}

const char *
custos_card_get_uri (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return self->uri;
}

gboolean
custos_card_get_present (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), FALSE);
  return self->present;
}

gboolean
custos_card_get_pin_pad (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), FALSE);
  return self->pin_pad;
}

GListModel *
custos_card_get_certificates (CustosCard *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD (self), NULL);
  return G_LIST_MODEL (self->certificates);
}
