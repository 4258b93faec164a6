/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "custos-i18n-private.h"
#include "custos-pkcs11-modules.h"

#define MAX_SLOT_EVENTS 64

struct _CustosPkcs11Modules
{
  CK_FUNCTION_LIST  **registry; /* everything p11_kit_modules_load() gave, to release */
  CK_FUNCTION_LIST   *single;   /* or the one module loaded by path */
  GPtrArray          *modules;  /* CustosPkcs11Module, initialized */
};

static void
module_free (gpointer data)
{
  CustosPkcs11Module *module = data;
  CK_RV rv;

  /* For p11-kit's managed modules this closes our sessions only; the
   * module itself stays up while others in the process use it. */
  rv = p11_kit_module_finalize (module->funcs);
  if (rv != CKR_OK)
    g_debug ("Finalizing %s: %s", module->name, p11_kit_strerror (rv));
  g_free (module->name);
  g_free (module);
}

static char *
module_name (CK_FUNCTION_LIST *funcs)
{
  char *name = p11_kit_module_get_name (funcs);
  char *filename;
  char *ret;

  if (name != NULL)
    {
      ret = g_strdup (name);
      free (name);
      return ret;
    }
  filename = p11_kit_module_get_filename (funcs);
  ret = g_path_get_basename (filename != NULL ? filename : "pkcs11-module");
  free (filename);
  return ret;
}

/* Trust modules (p11-kit-trust) hold the system's CA certificates and no
 * private keys; loading their thousand certificates would only slow every
 * scan down. */
static gboolean
is_trust_module (CK_FUNCTION_LIST *funcs)
{
  char *value = p11_kit_config_option (funcs, "trust-policy");
  gboolean ret = value != NULL && g_ascii_strcasecmp (value, "yes") == 0;

  free (value);
  return ret;
}

static gboolean
uri_selects_before_init (P11KitUri        *uri,
                         CK_FUNCTION_LIST *funcs,
                         const char       *name)
{
  const char *want_name;
  const char *want_path;

  if (uri == NULL)
    return TRUE;

  want_name = p11_kit_uri_get_module_name (uri);
  if (want_name != NULL && g_strcmp0 (want_name, name) != 0)
    return FALSE;

  want_path = p11_kit_uri_get_module_path (uri);
  if (want_path != NULL)
    {
      char *filename = p11_kit_module_get_filename (funcs);
      gboolean same = filename != NULL && g_strcmp0 (filename, want_path) == 0;

      free (filename);
      if (!same)
        return FALSE;
    }
  return TRUE;
}

/* library-description and friends need C_GetInfo, so after C_Initialize. */
static gboolean
uri_selects_after_init (P11KitUri        *uri,
                        CK_FUNCTION_LIST *funcs)
{
  CK_INFO info;

  if (uri == NULL)
    return TRUE;
  if (funcs->C_GetInfo (&info) != CKR_OK)
    return TRUE;
  return p11_kit_uri_match_module_info (uri, &info) != 0;
}

static gboolean
add_module (CustosPkcs11Modules  *self,
            CK_FUNCTION_LIST     *funcs,
            P11KitUri            *uri,
            GError              **error)
{
  CustosPkcs11Module *module;
  g_autofree char *name = module_name (funcs);
  CK_RV rv;

  rv = p11_kit_module_initialize (funcs);
  if (rv != CKR_OK)
    {
      const char *detail = p11_kit_message ();

      if (detail != NULL)
        /* Translators: the second %s is the module's own message (English). */
        custos_pkcs11_set_error (error, rv, _ ("cannot initialize the PKCS#11 module %s: %s"), name,
                                 detail);
      else
        custos_pkcs11_set_error (error, rv, _ ("cannot initialize the PKCS#11 module %s"), name);
      return FALSE;
    }

  if (!uri_selects_after_init (uri, funcs))
    {
      p11_kit_module_finalize (funcs);
      return TRUE;
    }

  module = g_new0 (CustosPkcs11Module, 1);
  module->funcs = funcs;
  module->name = g_steal_pointer (&name);
  g_ptr_array_add (self->modules, module);
  g_debug ("Using PKCS#11 module %s", module->name);
  return TRUE;
}

static gboolean
load_registry (CustosPkcs11Modules  *self,
               P11KitUri            *uri,
               GError              **error)
{
  /* p11_kit_modules_load_and_initialize() would also start modules we
   * skip (the trust module parses every CA on the system), so load, pick,
   * then initialize the ones we keep. */
  self->registry = p11_kit_modules_load (NULL, 0);
  if (self->registry == NULL)
    {
      const char *detail = p11_kit_message ();

      g_set_error (error, CUSTOS_PKCS11_ERROR, CKR_GENERAL_ERROR,
                   _ ("cannot load the PKCS#11 modules registered with p11-kit: %s"),
                   detail != NULL ? detail : "unknown error");
      return FALSE;
    }

  for (guint i = 0; self->registry[i] != NULL; i++)
    {
      CK_FUNCTION_LIST *funcs = self->registry[i];
      g_autofree char *name = module_name (funcs);
      g_autoptr (GError) local_error = NULL;

      if (is_trust_module (funcs) || !uri_selects_before_init (uri, funcs, name))
        continue;
      /* One broken module must not hide the cards of the others. */
      if (!add_module (self, funcs, uri, &local_error))
        g_debug ("Skipping a PKCS#11 module: %s", local_error->message);
    }
  return TRUE;
}

static gboolean
load_single (CustosPkcs11Modules  *self,
             const char           *module_path,
             P11KitUri            *uri,
             GError              **error)
{
  self->single = p11_kit_module_load (module_path, 0);
  if (self->single == NULL)
    {
      const char *detail = p11_kit_message ();

      g_set_error (error, CUSTOS_PKCS11_ERROR, CKR_GENERAL_ERROR,
                   _ ("cannot load the PKCS#11 module %s: %s"), module_path,
                   detail != NULL ? detail : "unknown error");
      return FALSE;
    }
  return add_module (self, self->single, uri, error);
}

CustosPkcs11Modules *
custos_pkcs11_modules_load (const char  *module_path,
                            P11KitUri   *uri,
                            GError     **error)
{
  g_autoptr (CustosPkcs11Modules) self = g_new0 (CustosPkcs11Modules, 1);
  const char *uri_path = uri != NULL ? p11_kit_uri_get_module_path (uri) : NULL;

  self->modules = g_ptr_array_new_with_free_func (module_free);

  /* A module-path in the URI loads that module, registered or not. */
  if (module_path == NULL && uri_path != NULL)
    module_path = uri_path;

  if (module_path != NULL ? !load_single (self, module_path, uri, error)
                          : !load_registry (self, uri, error))
    return NULL;

  return g_steal_pointer (&self);
}

void
custos_pkcs11_modules_free (CustosPkcs11Modules *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->modules, g_ptr_array_unref);
  if (self->registry != NULL)
    p11_kit_modules_release (self->registry);
  if (self->single != NULL)
    p11_kit_module_release (self->single);
  g_free (self);
}

guint
custos_pkcs11_modules_get_n (CustosPkcs11Modules *self)
{
  return self->modules->len;
}

CustosPkcs11Module *
custos_pkcs11_modules_get (CustosPkcs11Modules *self,
                           guint                i)
{
  g_return_val_if_fail (i < self->modules->len, NULL);

  return g_ptr_array_index (self->modules, i);
}

/* Present tokens */

/* Slot events are only a hint here: the slot list is compared anyway. A
 * blocking C_WaitForSlotEvent could only be woken by C_Finalize, which a
 * module shared through p11-kit with the rest of the process (GnuTLS
 * loads the same ones for TLS client certificates) is not ours to call;
 * SoftHSM reports no events at all. Polling without blocking serves both. */
static void
drain_slot_events (CustosPkcs11Module *module)
{
  CK_SLOT_ID slot;

  for (guint i = 0; i < MAX_SLOT_EVENTS; i++)
    if (module->funcs->C_WaitForSlotEvent (CKF_DONT_BLOCK, &slot, NULL) != CKR_OK)
      break;
}

static GArray *
get_slots (CustosPkcs11Module *module)
{
  GArray *slots = g_array_new (FALSE, TRUE, sizeof (CK_SLOT_ID));
  CK_ULONG n = 0;
  CK_RV rv;

  /* Slots can come between the two calls (a reader plugged in). */
  do
    {
      rv = module->funcs->C_GetSlotList (CK_TRUE, NULL, &n);
      if (rv != CKR_OK)
        break;
      g_array_set_size (slots, n);
      rv = module->funcs->C_GetSlotList (CK_TRUE, (CK_SLOT_ID_PTR) slots->data, &n);
    }
  while (rv == CKR_BUFFER_TOO_SMALL);

  if (rv != CKR_OK)
    {
      g_debug ("Listing the slots of %s: %s", module->name, p11_kit_strerror (rv));
      n = 0;
    }
  g_array_set_size (slots, n);
  return slots;
}

static gboolean
uri_selects_token (P11KitUri           *uri,
                   CK_SLOT_ID           slot,
                   const CK_TOKEN_INFO *info)
{
  if (uri == NULL)
    return TRUE;
  if (p11_kit_uri_get_slot_id (uri) != (CK_SLOT_ID) -1 && p11_kit_uri_get_slot_id (uri) != slot)
    return FALSE;
  return p11_kit_uri_match_token_info (uri, info) != 0;
}

static void
list_module_tokens (CustosPkcs11Module *module,
                    P11KitUri          *uri,
                    GArray             *out)
{
  g_autoptr (GArray) slots = NULL;

  drain_slot_events (module);
  slots = get_slots (module);

  for (guint i = 0; i < slots->len; i++)
    {
      CustosPkcs11PresentToken token = { module, g_array_index (slots, CK_SLOT_ID, i), { { 0 } } };

      /* A token that does not answer is as good as gone: SoftHSM says
       * CKR_GENERAL_ERROR for one deleted behind its back. */
      if (module->funcs->C_GetTokenInfo (token.slot, &token.info) != CKR_OK ||
          !(token.info.flags & CKF_TOKEN_INITIALIZED) ||
          !uri_selects_token (uri, token.slot, &token.info))
        continue;
      g_array_append_val (out, token);
    }
}

GArray *
custos_pkcs11_modules_list_tokens (CustosPkcs11Modules *self,
                                   P11KitUri           *uri)
{
  GArray *ret = g_array_new (FALSE, FALSE, sizeof (CustosPkcs11PresentToken));

  for (guint i = 0; i < self->modules->len; i++)
    list_module_tokens (g_ptr_array_index (self->modules, i), uri, ret);
  return ret;
}
