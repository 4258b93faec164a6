/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-card"

#include "config.h"

#include "custos-card-certificate.h"

struct _CustosCardCertificate
{
  GObject            parent_instance;
  CustosCertificate *certificate;
  char              *subject;
  char              *name;
  char              *fingerprint;
  char              *uri;
  char              *key_type;
  gboolean           has_key;
};

G_DEFINE_FINAL_TYPE (CustosCardCertificate, custos_card_certificate, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SUBJECT,
  PROP_NAME,
  PROP_FINGERPRINT,
  PROP_URI,
  PROP_KEY_TYPE,
  PROP_HAS_KEY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
custos_card_certificate_finalize (GObject *object)
{
  CustosCardCertificate *self = (CustosCardCertificate *) object;

  g_clear_object (&self->certificate);
  g_clear_pointer (&self->subject, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->uri, g_free);
  g_clear_pointer (&self->key_type, g_free);

  G_OBJECT_CLASS (custos_card_certificate_parent_class)->finalize (object);
}

static void
custos_card_certificate_get_property (GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec)
{
  CustosCardCertificate *self = CUSTOS_CARD_CERTIFICATE (object);

  switch (prop_id)
    {
    case PROP_SUBJECT:
      g_value_set_string (value, self->subject);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_KEY_TYPE:
      g_value_set_string (value, self->key_type);
      break;
    case PROP_HAS_KEY:
      g_value_set_boolean (value, self->has_key);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_property (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
custos_card_certificate_class_init (CustosCardCertificateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_card_certificate_finalize;
  object_class->get_property = custos_card_certificate_get_property;

  properties[PROP_SUBJECT] = string_property ("subject");
  properties[PROP_NAME] = string_property ("name");
  properties[PROP_FINGERPRINT] = string_property ("fingerprint");
  properties[PROP_URI] = string_property ("uri");
  properties[PROP_KEY_TYPE] = string_property ("key-type");
  properties[PROP_HAS_KEY] = g_param_spec_boolean ("has-key", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_card_certificate_init (CustosCardCertificate *self)
{
}

CustosCardCertificate *
custos_card_certificate_new (CustosPkcs11CertInfo *info)
{
  CustosCardCertificate *self;

  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (CUSTOS_TYPE_CARD_CERTIFICATE, NULL);
  self->certificate = g_object_ref (info->certificate);
  self->subject = custos_certificate_dup_subject (info->certificate);
  self->name = custos_certificate_dup_common_name (info->certificate);
  if (self->name == NULL || self->name[0] == '\0')
    {
      g_free (self->name);
      self->name = g_strdup (self->subject);
    }
  self->fingerprint = custos_certificate_dup_fingerprint_hex (info->certificate);
  self->uri = g_strdup (info->uri);
  if (info->key_bits > 0 && g_str_has_prefix (info->key_type, "RSA"))
    self->key_type = g_strdup_printf ("%s %u", info->key_type, info->key_bits);
  else
    self->key_type = g_strdup (info->key_type != NULL ? info->key_type : "");
  /* Private keys are hidden until login: count an unknown key as usable,
   * a CA certificate shows as ABSENT once the card was opened. */
  self->has_key = info->key_state != CUSTOS_PKCS11_KEY_ABSENT;
  return self;
}

const char *
custos_card_certificate_get_subject (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->subject;
}

const char *
custos_card_certificate_get_name (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->name;
}

const char *
custos_card_certificate_get_fingerprint (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->fingerprint;
}

const char *
custos_card_certificate_get_uri (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->uri;
}

const char *
custos_card_certificate_get_key_type (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->key_type;
}

gboolean
custos_card_certificate_get_has_key (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), FALSE);
  return self->has_key;
}

CustosCertificate *
custos_card_certificate_get_certificate (CustosCardCertificate *self)
{
  g_return_val_if_fail (CUSTOS_IS_CARD_CERTIFICATE (self), NULL);
  return self->certificate;
}
