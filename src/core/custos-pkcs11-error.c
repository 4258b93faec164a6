/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include "custos-i18n-private.h"
#include "custos-pkcs11-private.h"

G_DEFINE_QUARK (custos-pkcs11-error-quark, custos_pkcs11_error)

#define RV(x) { x, #x }

/* p11_kit_strerror() explains; the name is what people search for. */
static const struct
{
  CK_RV       rv;
  const char *name;
} rv_names[] = {
  RV (CKR_OK), RV (CKR_CANCEL), RV (CKR_HOST_MEMORY), RV (CKR_SLOT_ID_INVALID),
  RV (CKR_GENERAL_ERROR), RV (CKR_FUNCTION_FAILED), RV (CKR_ARGUMENTS_BAD), RV (CKR_NO_EVENT),
  RV (CKR_ATTRIBUTE_SENSITIVE), RV (CKR_ATTRIBUTE_TYPE_INVALID),
  RV (CKR_ATTRIBUTE_VALUE_INVALID), RV (CKR_DATA_INVALID), RV (CKR_DATA_LEN_RANGE),
  RV (CKR_DEVICE_ERROR), RV (CKR_DEVICE_MEMORY), RV (CKR_DEVICE_REMOVED),
  RV (CKR_ENCRYPTED_DATA_INVALID), RV (CKR_ENCRYPTED_DATA_LEN_RANGE),
  RV (CKR_FUNCTION_CANCELED), RV (CKR_FUNCTION_NOT_SUPPORTED), RV (CKR_KEY_HANDLE_INVALID),
  RV (CKR_KEY_SIZE_RANGE), RV (CKR_KEY_TYPE_INCONSISTENT), RV (CKR_KEY_FUNCTION_NOT_PERMITTED),
  RV (CKR_KEY_UNEXTRACTABLE), RV (CKR_MECHANISM_INVALID), RV (CKR_MECHANISM_PARAM_INVALID),
  RV (CKR_OBJECT_HANDLE_INVALID), RV (CKR_OPERATION_ACTIVE), RV (CKR_OPERATION_NOT_INITIALIZED),
  RV (CKR_PIN_INCORRECT), RV (CKR_PIN_INVALID), RV (CKR_PIN_LEN_RANGE), RV (CKR_PIN_EXPIRED),
  RV (CKR_PIN_LOCKED), RV (CKR_SESSION_CLOSED), RV (CKR_SESSION_COUNT),
  RV (CKR_SESSION_HANDLE_INVALID), RV (CKR_SESSION_READ_ONLY), RV (CKR_TEMPLATE_INCOMPLETE),
  RV (CKR_TEMPLATE_INCONSISTENT), RV (CKR_TOKEN_NOT_PRESENT), RV (CKR_TOKEN_NOT_RECOGNIZED),
  RV (CKR_USER_ALREADY_LOGGED_IN), RV (CKR_USER_NOT_LOGGED_IN),
  RV (CKR_USER_PIN_NOT_INITIALIZED), RV (CKR_USER_TYPE_INVALID),
  RV (CKR_USER_ANOTHER_ALREADY_LOGGED_IN), RV (CKR_DOMAIN_PARAMS_INVALID),
  RV (CKR_CURVE_NOT_SUPPORTED), RV (CKR_BUFFER_TOO_SMALL), RV (CKR_CRYPTOKI_NOT_INITIALIZED),
  RV (CKR_CRYPTOKI_ALREADY_INITIALIZED), RV (CKR_PIN_TOO_WEAK), RV (CKR_PUBLIC_KEY_INVALID),
  RV (CKR_FUNCTION_REJECTED),
};

#undef RV

const char *
custos_pkcs11_rv_to_string (gulong rv)
{
  for (guint i = 0; i < G_N_ELEMENTS (rv_names); i++)
    if (rv_names[i].rv == rv)
      return rv_names[i].name;
  return NULL;
}

void
custos_pkcs11_set_error (GError     **error,
                         CK_RV        rv,
                         const char  *format,
                         ...)
{
  g_autofree char *what = NULL;
  const char *name = custos_pkcs11_rv_to_string (rv);
  g_autofree char *hex = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (name == NULL)
    name = hex = g_strdup_printf ("CKR 0x%lx", (gulong) rv);

  /* The code is the CK_RV; vendor codes above G_MAXINT wrap, which is
   * fine for a code nobody can name anyway. */
  /* Translators: what failed, p11-kit's explanation of the PKCS#11 return
   * value (English), and its name, e.g. "cannot log in to the token “A”:
   * The user's PIN is incorrect (CKR_PIN_INCORRECT)". */
  g_set_error (error, CUSTOS_PKCS11_ERROR, (gint) rv, _ ("%s: %s (%s)"), what,
               p11_kit_strerror (rv), name);
}

gboolean
custos_pkcs11_rv_is_removal (CK_RV rv)
{
  switch (rv)
    {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SLOT_ID_INVALID:
      return TRUE;

    default:
      return FALSE;
    }
}
