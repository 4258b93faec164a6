/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-pkcs11"

#include "config.h"

#include <string.h>

#include "custos-i18n-private.h"
#include "custos-pkcs11-pin.h"
#include "custos-pkcs11-session.h"
#include "custos-pin-pad.h"

#define FIND_BATCH 32

struct _CustosPkcs11Session
{
  gatomicrefcount        ref_count;
  CustosPkcs11Module    *module;   /* outlives us: the provider frees modules last */
  CK_FUNCTION_LIST      *funcs;
  CK_SLOT_ID             slot;
  CK_TOKEN_INFO          identity; /* as found; label, serial, … identify the card */
  P11KitUri             *uri;      /* the provider's (it outlives us); selects certificates */
  char                  *label;    /* for messages */
  gint                   removed;  /* atomic */

  /* Everything done on `handle`, and the fields below it. */
  GMutex                 lock;
  CK_SESSION_HANDLE      handle;
  gboolean               open;
  guint                  n_wrong;  /* wrong PINs we passed on, for RETRY */
  CustosPkcs11Quirks     quirks;

  /* The snapshot callers read; replaced, never changed. */
  GMutex                 state_lock;
  CustosPkcs11TokenInfo *info;
  gboolean               changed;
};

static void
session_close_locked (CustosPkcs11Session *self)
{
  CK_RV rv;

  if (!self->open)
    return;
  /* Closing our last session also logs us out of the token. */
  rv = self->funcs->C_CloseSession (self->handle);
  if (rv != CKR_OK)
    g_debug ("Closing the session on “%s”: %s", self->label, p11_kit_strerror (rv));
  self->open = FALSE;
}

CustosPkcs11Session *
custos_pkcs11_session_ref (CustosPkcs11Session *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
custos_pkcs11_session_unref (CustosPkcs11Session *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;

  session_close_locked (self);
  g_clear_pointer (&self->info, custos_pkcs11_token_info_unref);
  g_free (self->label);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->state_lock);
  g_free (self);
}

/* The snapshot */

CustosPkcs11TokenInfo *
custos_pkcs11_session_dup_info (CustosPkcs11Session *self)
{
  CustosPkcs11TokenInfo *ret;

  g_mutex_lock (&self->state_lock);
  ret = custos_pkcs11_token_info_ref (self->info);
  g_mutex_unlock (&self->state_lock);
  return ret;
}

gboolean
custos_pkcs11_session_take_changed (CustosPkcs11Session *self)
{
  gboolean ret;

  g_mutex_lock (&self->state_lock);
  ret = self->changed;
  self->changed = FALSE;
  g_mutex_unlock (&self->state_lock);
  return ret;
}

/* Replaces the snapshot; certificates NULL keeps them. The whole
 * read-modify-write is under the lock, so a poll's flags and a login's
 * key states do not overwrite each other. */
#define KEEP_LOGIN (-1)

static void
update_state (CustosPkcs11Session    *self,
              CustosPkcs11TokenFlags  flags,
              gint                    logged_in,
              GPtrArray              *certificates)
{
  CustosPkcs11TokenInfo *old;

  g_mutex_lock (&self->state_lock);
  old = self->info;
  if (logged_in == KEEP_LOGIN)
    logged_in = old->logged_in;
  if (old->flags != flags || old->logged_in != logged_in || certificates != NULL)
    {
      self->info = custos_pkcs11_token_info_update (old, flags, logged_in, certificates);
      self->changed = TRUE;
      custos_pkcs11_token_info_unref (old);
    }
  g_mutex_unlock (&self->state_lock);
}

void
custos_pkcs11_session_update_flags (CustosPkcs11Session *self,
                                    const CK_TOKEN_INFO *info)
{
  update_state (self, custos_pkcs11_token_flags_from_ck (info->flags), KEEP_LOGIN, NULL);
}

gboolean
custos_pkcs11_session_is_token (CustosPkcs11Session *self,
                                CustosPkcs11Module  *module,
                                CK_SLOT_ID           slot,
                                const CK_TOKEN_INFO *info)
{
  return self->module == module && self->slot == slot &&
         memcmp (self->identity.label, info->label, sizeof info->label) == 0 &&
         memcmp (self->identity.serialNumber, info->serialNumber, sizeof info->serialNumber) == 0 &&
         memcmp (self->identity.manufacturerID, info->manufacturerID,
                 sizeof info->manufacturerID) == 0 &&
         memcmp (self->identity.model, info->model, sizeof info->model) == 0;
}

gboolean
custos_pkcs11_session_is_alive (CustosPkcs11Session *self)
{
  CK_SESSION_INFO info;
  CK_RV rv = CKR_OK;

  if (!g_mutex_trylock (&self->lock))
    return TRUE;
  if (self->open)
    rv = self->funcs->C_GetSessionInfo (self->handle, &info);
  g_mutex_unlock (&self->lock);

  return !custos_pkcs11_rv_is_removal (rv);
}

void
custos_pkcs11_session_mark_removed (CustosPkcs11Session *self)
{
  g_atomic_int_set (&self->removed, TRUE);
}

gboolean
custos_pkcs11_session_is_removed (CustosPkcs11Session *self)
{
  return g_atomic_int_get (&self->removed);
}

CustosPkcs11CertInfo *
custos_pkcs11_session_find_cert (CustosPkcs11Session *self,
                                 const guint8        *recipient_id)
{
  g_autoptr (CustosPkcs11TokenInfo) info = custos_pkcs11_session_dup_info (self);

  if (custos_pkcs11_session_is_removed (self))
    return NULL;

  for (guint i = 0; i < info->certificates->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (info->certificates, i);

      if (cert->key_state != CUSTOS_PKCS11_KEY_ABSENT && cert->wrap_alg != 0 &&
          memcmp (custos_certificate_get_fingerprint (cert->certificate), recipient_id,
                  CUSTOS_RECIPIENT_ID_LEN) == 0)
        return custos_pkcs11_cert_info_ref (cert);
    }
  return NULL;
}

/* Objects */

/* One attribute's value, NULL when the object has none (or it is sensitive). */
static GBytes *
get_attribute (CustosPkcs11Session *self,
               CK_OBJECT_HANDLE     object,
               CK_ATTRIBUTE_TYPE    type)
{
  CK_ATTRIBUTE attr = { type, NULL, 0 };
  g_autofree guint8 *value = NULL;

  if (self->funcs->C_GetAttributeValue (self->handle, object, &attr, 1) != CKR_OK ||
      attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return NULL;
  value = g_malloc (MAX (attr.ulValueLen, 1));
  attr.pValue = value;
  if (self->funcs->C_GetAttributeValue (self->handle, object, &attr, 1) != CKR_OK)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&value), attr.ulValueLen);
}

static gboolean
find_objects (CustosPkcs11Session  *self,
              CK_ATTRIBUTE         *match,
              CK_ULONG              n_match,
              GArray               *out,
              GError              **error)
{
  CK_OBJECT_HANDLE batch[FIND_BATCH];
  CK_ULONG n = 0;
  CK_RV rv;

  rv = self->funcs->C_FindObjectsInit (self->handle, match, n_match);
  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot search the token “%s”"), self->label);
      return FALSE;
    }
  do
    {
      rv = self->funcs->C_FindObjects (self->handle, batch, G_N_ELEMENTS (batch), &n);
      if (rv == CKR_OK)
        g_array_append_vals (out, batch, n);
    }
  while (rv == CKR_OK && n == G_N_ELEMENTS (batch));
  self->funcs->C_FindObjectsFinal (self->handle);

  if (rv != CKR_OK)
    {
      custos_pkcs11_set_error (error, rv, _ ("cannot search the token “%s”"), self->label);
      return FALSE;
    }
  return TRUE;
}

/* The private key paired with a certificate: same CKA_ID. 0 when none is
 * visible (absent, or hidden until login). */
static CK_OBJECT_HANDLE
find_private_key (CustosPkcs11Session  *self,
                  const guint8         *id,
                  gsize                 id_len,
                  GError              **error)
{
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, (void *) id, id_len },
  };
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (CK_OBJECT_HANDLE));

  if (!find_objects (self, match, G_N_ELEMENTS (match), found, error))
    return CK_INVALID_HANDLE;
  if (found->len == 0)
    return CK_INVALID_HANDLE;
  return g_array_index (found, CK_OBJECT_HANDLE, 0);
}

static gboolean
uri_selects_object (P11KitUri  *uri,
                    GBytes     *id,
                    const char *label)
{
  CK_ATTRIBUTE_PTR want;

  if (uri == NULL)
    return TRUE;

  want = p11_kit_uri_get_attribute (uri, CKA_ID);
  if (want != NULL && (id == NULL || g_bytes_get_size (id) != want->ulValueLen ||
                       memcmp (g_bytes_get_data (id, NULL), want->pValue, want->ulValueLen) != 0))
    return FALSE;

  want = p11_kit_uri_get_attribute (uri, CKA_LABEL);
  if (want != NULL && (strlen (label) != want->ulValueLen ||
                       memcmp (label, want->pValue, want->ulValueLen) != 0))
    return FALSE;

  return TRUE;
}

static CustosPkcs11KeyState
key_state_for (CustosPkcs11Session *self,
               const guint8        *id,
               gsize                id_len,
               gboolean             logged_in)
{
  g_autoptr (GError) error = NULL;

  if (id_len > 0 && find_private_key (self, id, id_len, &error) != CK_INVALID_HANDLE)
    return CUSTOS_PKCS11_KEY_PRESENT;
  /* Cards keep private keys CKA_PRIVATE: invisible before the PIN. */
  if (!logged_in && (self->identity.flags & CKF_LOGIN_REQUIRED))
    return CUSTOS_PKCS11_KEY_UNKNOWN;
  return CUSTOS_PKCS11_KEY_ABSENT;
}

static CustosPkcs11CertInfo *
load_certificate (CustosPkcs11Session *self,
                  CK_OBJECT_HANDLE     object,
                  P11KitUri           *uri,
                  gboolean             logged_in)
{
  g_autoptr (GBytes) der = get_attribute (self, object, CKA_VALUE);
  g_autoptr (GBytes) id = get_attribute (self, object, CKA_ID);
  g_autoptr (GBytes) label_bytes = get_attribute (self, object, CKA_LABEL);
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *label = NULL;
  const guint8 *id_data = NULL;
  gsize id_len = 0;

  if (der == NULL)
    return NULL;
  label = label_bytes != NULL ? g_strndup (g_bytes_get_data (label_bytes, NULL),
                                           g_bytes_get_size (label_bytes))
                              : g_strdup ("");
  if (!uri_selects_object (uri, id, label))
    return NULL;

  cert = custos_certificate_new_from_der (der, &error);
  if (cert == NULL)
    {
      g_debug ("Skipping certificate “%s” on “%s”: %s", label, self->label, error->message);
      return NULL;
    }

  if (id != NULL)
    id_data = g_bytes_get_data (id, &id_len);
  return custos_pkcs11_cert_info_new (cert, &self->identity, id_data, id_len, label,
                                      key_state_for (self, id_data, id_len, logged_in));
}

static GPtrArray *
load_certificates (CustosPkcs11Session  *self,
                   P11KitUri            *uri,
                   gboolean              logged_in,
                   GError              **error)
{
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_CERTIFICATE_TYPE, &type, sizeof type },
  };
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (CK_OBJECT_HANDLE));
  g_autoptr (GPtrArray) ret = NULL;

  if (!find_objects (self, match, G_N_ELEMENTS (match), found, error))
    return NULL;

  ret = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_cert_info_unref);
  for (guint i = 0; i < found->len; i++)
    {
      CK_OBJECT_HANDLE object = g_array_index (found, CK_OBJECT_HANDLE, i);
      CustosPkcs11CertInfo *cert = load_certificate (self, object, uri, logged_in);

      if (cert != NULL)
        g_ptr_array_add (ret, cert);
    }
  return g_steal_pointer (&ret);
}

/* Sessions and login */

static gboolean
check_removal (CustosPkcs11Session  *self,
               CK_RV                 rv,
               GError              **error)
{
  if (!custos_pkcs11_rv_is_removal (rv) && !custos_pkcs11_session_is_removed (self))
    return FALSE;

  /* The handle is dead; a card put back gets a new session. */
  self->open = FALSE;
  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_REMOVED,
               _ ("the token “%s” was removed (%s)"), self->label,
               rv != CKR_OK ? p11_kit_strerror (rv) : "no longer present");
  return TRUE;
}

static gboolean
ensure_open (CustosPkcs11Session  *self,
             GError              **error)
{
  CK_RV rv;

  if (self->open)
    return TRUE;

  /* Read-only is enough: decrypting and deriving a session object both
   * work in a read-only session, and cards limit read-write ones. */
  rv = self->funcs->C_OpenSession (self->slot, CKF_SERIAL_SESSION, NULL, NULL, &self->handle);
  if (rv != CKR_OK)
    {
      if (!check_removal (self, rv, error))
        custos_pkcs11_set_error (error, rv, _ ("cannot open a session on the token “%s”"),
                                 self->label);
      return FALSE;
    }
  self->open = TRUE;
  return TRUE;
}

static gboolean
is_logged_in (CustosPkcs11Session *self)
{
  CK_SESSION_INFO info;

  /* Asked rather than remembered: another user of the module in this
   * process may have logged in (or out) on the same token. */
  if (self->funcs->C_GetSessionInfo (self->handle, &info) != CKR_OK)
    return FALSE;
  return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
}

CustosPkcs11Session *
custos_pkcs11_session_open (CustosPkcs11Module   *module,
                            CK_SLOT_ID            slot,
                            const CK_TOKEN_INFO  *info,
                            P11KitUri            *uri,
                            GError              **error)
{
  g_autoptr (CustosPkcs11Session) self = g_new0 (CustosPkcs11Session, 1);
  g_autoptr (GPtrArray) certs = NULL;
  gboolean logged_in;

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  g_mutex_init (&self->state_lock);
  self->module = module;
  self->funcs = module->funcs;
  self->slot = slot;
  self->identity = *info;
  self->uri = uri;
  self->label = custos_pkcs11_dup_padded (info->label, sizeof info->label);

  /* Not shared yet, so no lock needed. */
  if (!ensure_open (self, error))
    return NULL;
  logged_in = is_logged_in (self);
  certs = load_certificates (self, uri, logged_in, error);
  if (certs == NULL)
    return NULL;

  self->info = custos_pkcs11_token_info_new (module->name, slot, info, certs);
  self->info->logged_in = logged_in;
  g_debug ("Token “%s” in slot %lu of %s: %u certificates", self->label, (gulong) slot,
           module->name, certs->len);
  return g_steal_pointer (&self);
}

/* After a login private keys show: say which certificates have one. */
static void
refresh_key_states (CustosPkcs11Session *self,
                    CK_FLAGS             ck_flags)
{
  g_autoptr (CustosPkcs11TokenInfo) old = custos_pkcs11_session_dup_info (self);
  g_autoptr (GPtrArray) certs = NULL;

  certs = g_ptr_array_new_with_free_func ((GDestroyNotify) custos_pkcs11_cert_info_unref);
  for (guint i = 0; i < old->certificates->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (old->certificates, i);
      CustosPkcs11KeyState state;
      const guint8 *id;
      gsize id_len;

      id = custos_pkcs11_cert_info_get_id (cert, &id_len);
      state = key_state_for (self, id, id_len, TRUE);
      g_ptr_array_add (certs, custos_pkcs11_cert_info_with_key_state (cert, state));
    }
  update_state (self, custos_pkcs11_token_flags_from_ck (ck_flags), TRUE, certs);
}

static CK_FLAGS
fresh_token_flags (CustosPkcs11Session *self)
{
  CK_TOKEN_INFO info;

  if (self->funcs->C_GetTokenInfo (self->slot, &info) != CKR_OK)
    return self->identity.flags;
  return info.flags;
}

/* For the message after a wrong PIN: what the token says is left. */
static const char *
describe_tries (CK_FLAGS flags)
{
  if (flags & CKF_USER_PIN_LOCKED)
    return _ ("the PIN is now locked");
  if (flags & CKF_USER_PIN_FINAL_TRY)
    return _ ("one try is left before the PIN locks");
  if (flags & CKF_USER_PIN_COUNT_LOW)
    return _ ("the token reports few tries left");
  return _ ("the token does not say how many tries are left");
}

static gboolean
report_login_failure (CustosPkcs11Session  *self,
                      CK_RV                 rv,
                      GError              **error)
{
  CK_FLAGS flags;

  switch (rv)
    {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      /* Never retried here: a real card locks after three. The next
       * unwrap may ask again, flagged as a retry. */
      self->n_wrong++;
      flags = fresh_token_flags (self);
      update_state (self, custos_pkcs11_token_flags_from_ck (flags), FALSE, NULL);
      g_set_error (error, CUSTOS_KEY_ERROR,
                   (flags & CKF_USER_PIN_LOCKED) ? CUSTOS_KEY_ERROR_LOCKED
                                                 : CUSTOS_KEY_ERROR_BAD_PASSPHRASE,
                   _ ("wrong PIN for the token “%s” (%s); %s"), self->label,
                   p11_kit_strerror (rv), describe_tries (flags));
      return FALSE;

    case CKR_PIN_LOCKED:
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                   _ ("the PIN of the token “%s” is locked; unblock it with the SO PIN (PUK)"),
                   self->label);
      return FALSE;

    case CKR_PIN_EXPIRED:
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                   _ ("the PIN of the token “%s” has expired; change it first"), self->label);
      return FALSE;

    default:
      if (!check_removal (self, rv, error))
        custos_pkcs11_set_error (error, rv, _ ("cannot log in to the token “%s”"), self->label);
      return FALSE;
    }
}

static gboolean
ask_pin (CustosPkcs11Session  *self,
         GTlsInteraction      *interaction,
         GTlsPasswordFlags     flags,
         GCancellable         *cancellable,
         CustosPkcs11Stats    *stats,
         CustosPkcs11Pin     **pin_out,
         GError              **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *description = NULL;
  g_autoptr (CustosPkcs11Pin) pin = NULL;
  GTlsInteractionResult result;

  if (interaction == NULL)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                   _ ("PIN needed for the token “%s”"), self->label);
      return FALSE;
    }

  description = g_strdup_printf (_ ("PIN for the token “%s”"), self->label);
  pin = custos_pkcs11_pin_new (flags, description);
  g_atomic_int_inc (&stats->prompts);

  /* The invoke variant runs the prompt in the interaction's main context,
   * which is what a UI needs when we are in a GTask thread. */
  result = g_tls_interaction_invoke_ask_password (interaction, G_TLS_PASSWORD (pin), cancellable,
                                                  &local_error);
  if (result == G_TLS_INTERACTION_HANDLED)
    {
      *pin_out = g_steal_pointer (&pin);
      return TRUE;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else if (local_error != NULL)
    /* Translators: the second %s says why none was given. */
    g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                 _ ("PIN needed for the token “%s”: %s"), self->label, local_error->message);
  else
    g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                 _ ("PIN needed for the token “%s”"), self->label);
  return FALSE;
}

static CK_RV
login_with_pin (CustosPkcs11Session *self,
                CustosPkcs11Pin     *pin)
{
  const guchar *value;
  gsize len;
  CK_RV rv;

  value = g_tls_password_get_value (G_TLS_PASSWORD (pin), &len);
  rv = self->funcs->C_Login (self->handle, CKU_USER, (CK_UTF8CHAR_PTR) value, len);
  custos_pkcs11_pin_clear (pin);
  return rv;
}

static gboolean
ensure_login (CustosPkcs11Session  *self,
              GTlsInteraction      *interaction,
              GCancellable         *cancellable,
              CustosPkcs11Stats    *stats,
              GError              **error)
{
  g_autoptr (CustosPkcs11Pin) pin = NULL;
  GTlsPasswordFlags password_flags;
  CK_FLAGS ck_flags;
  CK_RV rv;

  if (is_logged_in (self))
    {
      g_autoptr (CustosPkcs11TokenInfo) info = custos_pkcs11_session_dup_info (self);

      /* Logged in by another user of the module in this process. */
      if (!info->logged_in)
        refresh_key_states (self, fresh_token_flags (self));
      return TRUE;
    }

  ck_flags = fresh_token_flags (self);
  switch (custos_pkcs11_login_action (custos_pkcs11_token_flags_from_ck (ck_flags),
                                      self->n_wrong > 0, &password_flags))
    {
    case CUSTOS_PKCS11_LOGIN_NOT_NEEDED:
      return TRUE;

    case CUSTOS_PKCS11_LOGIN_LOCKED:
      return report_login_failure (self, CKR_PIN_LOCKED, error);

    case CUSTOS_PKCS11_LOGIN_PIN_PAD:
      custos_pin_pad_prompt_begin (interaction, self->label);
      rv = self->funcs->C_Login (self->handle, CKU_USER, NULL, 0);
      custos_pin_pad_prompt_end (interaction);
      break;

    case CUSTOS_PKCS11_LOGIN_ASK_PIN:
    default:
      if (!ask_pin (self, interaction, password_flags, cancellable, stats, &pin, error))
        return FALSE;
      rv = login_with_pin (self, pin);
      break;
    }

  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
    return report_login_failure (self, rv, error);

  g_atomic_int_inc (&stats->logins);
  self->n_wrong = 0;
  refresh_key_states (self, fresh_token_flags (self));
  return TRUE;
}

/* Private-key operations */

static CK_OBJECT_HANDLE
require_private_key (CustosPkcs11Session   *self,
                     CustosPkcs11CertInfo  *cert,
                     GError               **error)
{
  g_autofree char *fp = custos_certificate_dup_fingerprint_hex (cert->certificate);
  CK_OBJECT_HANDLE key;
  const guint8 *id;
  gsize id_len;

  id = custos_pkcs11_cert_info_get_id (cert, &id_len);
  key = id_len > 0 ? find_private_key (self, id, id_len, error) : CK_INVALID_HANDLE;
  if (key != CK_INVALID_HANDLE)
    return key;
  if (error != NULL && *error != NULL)
    return CK_INVALID_HANDLE;

  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
               _ ("the token “%s” holds the certificate %s (“%s”) but no private key with "
                  "its CKA_ID %s"),
               self->label, fp, cert->label, id_len > 0 ? cert->id_hex : "(none)");
  return CK_INVALID_HANDLE;
}

/* What the token said, as a caller can act on it: a session that died
 * means a card pulled out, a lost login means asking again. */
static void
propagate_operation_error (CustosPkcs11Session  *self,
                           GError               *op_error,
                           GError              **error)
{
  if (op_error->domain == CUSTOS_PKCS11_ERROR &&
      check_removal (self, (CK_RV) (gulong) (guint) op_error->code, error))
    {
      g_error_free (op_error);
      return;
    }
  if (g_error_matches (op_error, CUSTOS_PKCS11_ERROR, CKR_USER_NOT_LOGGED_IN))
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                   _ ("logged out of the token “%s” meanwhile"), self->label);
      g_error_free (op_error);
      return;
    }
  g_propagate_error (error, op_error);
}

static CustosSecret *
unwrap_locked (CustosPkcs11Session     *self,
               CustosPkcs11CertInfo    *cert,
               const CustosWrappedKek  *wrapped,
               GTlsInteraction         *interaction,
               GCancellable            *cancellable,
               CustosPkcs11Stats       *stats,
               GError                 **error)
{
  CustosPkcs11KeyOp op = { self->funcs, CK_INVALID_HANDLE, CK_INVALID_HANDLE, self->label,
                           &self->quirks, stats };
  GError *op_error = NULL;
  CustosSecret *kek;

  if (check_removal (self, CKR_OK, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !ensure_open (self, error) ||
      !ensure_login (self, interaction, cancellable, stats, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  op.session = self->handle;
  op.key = require_private_key (self, cert, error);
  if (op.key == CK_INVALID_HANDLE)
    return NULL;

  kek = custos_pkcs11_unwrap (&op, cert, wrapped, &op_error);
  if (kek == NULL)
    propagate_operation_error (self, op_error, error);
  return kek;
}

CustosSecret *
custos_pkcs11_session_unwrap_kek (CustosPkcs11Session     *self,
                                  CustosPkcs11CertInfo    *cert,
                                  const CustosWrappedKek  *wrapped,
                                  GTlsInteraction         *interaction,
                                  GCancellable            *cancellable,
                                  CustosPkcs11Stats       *stats,
                                  GError                 **error)
{
  CustosSecret *kek;

  g_mutex_lock (&self->lock);
  kek = unwrap_locked (self, cert, wrapped, interaction, cancellable, stats, error);
  g_mutex_unlock (&self->lock);

  /* Pulled out while we worked: the key must not outlive the card in a
   * cache that was already cleared for it. */
  if (kek != NULL && custos_pkcs11_session_is_removed (self))
    {
      custos_secret_unref (kek);
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_REMOVED,
                   _ ("the token “%s” was removed"), self->label);
      return NULL;
    }
  return kek;
}

/* Administration (enrolment, certificate import) */

/* The usable certificates of certs that the snapshot old did not have:
 * what "certificate-added" announces. */
static GPtrArray *
certificates_not_in (GPtrArray             *certs,
                     CustosPkcs11TokenInfo *old)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < certs->len; i++)
    {
      CustosPkcs11CertInfo *cert = g_ptr_array_index (certs, i);
      gboolean known = FALSE;

      if (cert->key_state == CUSTOS_PKCS11_KEY_ABSENT || cert->wrap_alg == 0)
        continue;
      for (guint j = 0; j < old->certificates->len && !known; j++)
        {
          CustosPkcs11CertInfo *was = g_ptr_array_index (old->certificates, j);

          known = was->key_state != CUSTOS_PKCS11_KEY_ABSENT &&
                  custos_certificate_equal (was->certificate, cert->certificate);
        }
      if (!known)
        g_ptr_array_add (ret, g_object_ref (cert->certificate));
    }
  return ret;
}

static gboolean
reload_certificates (CustosPkcs11Session  *self,
                     GPtrArray           **added,
                     GError              **error)
{
  g_autoptr (CustosPkcs11TokenInfo) old = custos_pkcs11_session_dup_info (self);
  g_autoptr (GPtrArray) certs = NULL;
  gboolean logged_in = is_logged_in (self);

  certs = load_certificates (self, self->uri, logged_in, error);
  if (certs == NULL)
    return FALSE;
  if (added != NULL)
    *added = certificates_not_in (certs, old);
  update_state (self, custos_pkcs11_token_flags_from_ck (fresh_token_flags (self)), logged_in,
                certs);
  return TRUE;
}

static gboolean
open_rw_session (CustosPkcs11Session  *self,
                 CK_SESSION_HANDLE    *rw,
                 GError              **error)
{
  CK_RV rv;

  rv = self->funcs->C_OpenSession (self->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                   rw);
  if (rv == CKR_OK)
    return TRUE;
  if (check_removal (self, rv, error))
    return FALSE;
  if (rv == CKR_TOKEN_WRITE_PROTECTED)
    custos_pkcs11_set_error (error, rv,
                             _ ("the token “%s” is write-protected: keys and "
                                "certificates cannot be added to it"),
                             self->label);
  else
    custos_pkcs11_set_error (error, rv, _ ("cannot open a read-write session on the token “%s”"),
                             self->label);
  return FALSE;
}

static gboolean
run_admin_locked (CustosPkcs11Session    *self,
                  GTlsInteraction        *interaction,
                  GCancellable           *cancellable,
                  CustosPkcs11Stats      *stats,
                  CustosPkcs11AdminFunc   func,
                  gpointer                user_data,
                  GPtrArray             **added,
                  GError                **error)
{
  CK_SESSION_HANDLE rw = CK_INVALID_HANDLE;
  GError *op_error = NULL;
  gboolean ok;

  if (check_removal (self, CKR_OK, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !ensure_open (self, error) ||
      !ensure_login (self, interaction, cancellable, stats, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (func == NULL)
    return TRUE;

  if (!open_rw_session (self, &rw, error))
    return FALSE;
  ok = func (self->funcs, rw, &self->identity, cancellable, user_data, &op_error);
  /* Our read-only session stays open, so the token stays logged in. */
  self->funcs->C_CloseSession (rw);
  if (!ok)
    {
      if (op_error == NULL)
        g_set_error (&op_error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
                     _ ("the operation on the token “%s” failed"), self->label);
      propagate_operation_error (self, op_error, error);
      return FALSE;
    }
  return reload_certificates (self, added, error);
}

gboolean
custos_pkcs11_session_run_admin (CustosPkcs11Session    *self,
                                 GTlsInteraction        *interaction,
                                 GCancellable           *cancellable,
                                 CustosPkcs11Stats      *stats,
                                 CustosPkcs11AdminFunc   func,
                                 gpointer                user_data,
                                 GPtrArray             **added,
                                 GError                **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = run_admin_locked (self, interaction, cancellable, stats, func, user_data, added, error);
  g_mutex_unlock (&self->lock);
  return ok;
}
