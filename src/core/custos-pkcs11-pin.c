/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <string.h>

#include "custos-pkcs11-pin.h"

struct _CustosPkcs11Pin
{
  GTlsPassword  parent_instance;
  /* One byte longer than the PIN and NUL-terminated, for interactions
   * that read the value back as a string. */
  CustosSecret *value;
  gsize         len;
};

G_DEFINE_FINAL_TYPE (CustosPkcs11Pin, custos_pkcs11_pin, G_TYPE_TLS_PASSWORD)

static const guchar *
custos_pkcs11_pin_get_value (GTlsPassword *password,
                             gsize        *length)
{
  CustosPkcs11Pin *self = CUSTOS_PKCS11_PIN (password);

  if (length != NULL)
    *length = self->len;
  if (self->value == NULL)
    return (const guchar *) "";
  return custos_secret_peek (self->value);
}

static void
custos_pkcs11_pin_set_value (GTlsPassword   *password,
                             guchar         *value,
                             gssize          length,
                             GDestroyNotify  destroy)
{
  CustosPkcs11Pin *self = CUSTOS_PKCS11_PIN (password);
  gsize len = length < 0 ? strlen ((const char *) value) : (gsize) length;

  custos_pkcs11_pin_clear (self);
  self->value = custos_secret_new (len + 1);
  memcpy (custos_secret_get_data (self->value), value, len);
  self->len = len;

  /* With a destroy function the buffer is ours (g_tls_password_set_value
   * hands over a copy); without one it may be read-only, so leave it. */
  if (destroy != NULL)
    {
      custos_memzero (value, len);
      destroy (value);
    }
}

void
custos_pkcs11_pin_clear (CustosPkcs11Pin *self)
{
  g_return_if_fail (CUSTOS_IS_PKCS11_PIN (self));

  g_clear_pointer (&self->value, custos_secret_unref);
  self->len = 0;
}

static void
custos_pkcs11_pin_finalize (GObject *object)
{
  custos_pkcs11_pin_clear (CUSTOS_PKCS11_PIN (object));

  G_OBJECT_CLASS (custos_pkcs11_pin_parent_class)->finalize (object);
}

static void
custos_pkcs11_pin_class_init (CustosPkcs11PinClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GTlsPasswordClass *password_class = G_TLS_PASSWORD_CLASS (klass);

  object_class->finalize = custos_pkcs11_pin_finalize;
  password_class->get_value = custos_pkcs11_pin_get_value;
  password_class->set_value = custos_pkcs11_pin_set_value;
}

static void
custos_pkcs11_pin_init (CustosPkcs11Pin *self)
{
}

CustosPkcs11Pin *
custos_pkcs11_pin_new (GTlsPasswordFlags  flags,
                       const char        *description)
{
  return g_object_new (CUSTOS_TYPE_PKCS11_PIN,
                       "flags", flags,
                       "description", description,
                       NULL);
}
