/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-keys"

#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "custos-crypto.h"
#include "custos-i18n-private.h"
#include "custos-local-key-provider.h"

typedef struct
{
  CustosCertificate *cert;
  char              *key_path;
  char              *cert_path;   /* NULL: the certificate came from the PKCS#12 */

  /* Held while the key is decoded, which may mean waiting for the user to
   * type a passphrase; other keys stay usable meanwhile. */
  GMutex             load_mutex;
  EVP_PKEY          *pkey;        /* NULL until the passphrase was given */
  guint              n_wrong;     /* wrong answers through the interaction */
} KeyEntry;

struct _CustosLocalKeyProvider
{
  GObject    parent_instance;

  GMutex     mutex;        /* entries: added from any thread, read by unwraps */
  GPtrArray *entries;      /* KeyEntry; only removed at finalize */
  gint       allow_legacy; /* atomic */
};

static void custos_local_key_provider_iface_init (CustosKeyProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CustosLocalKeyProvider, custos_local_key_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CUSTOS_TYPE_KEY_PROVIDER,
                                                      custos_local_key_provider_iface_init))

enum {
  PROP_0,
  PROP_ALLOW_LEGACY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
key_entry_free (gpointer data)
{
  KeyEntry *entry = data;

  g_clear_pointer (&entry->pkey, EVP_PKEY_free);
  g_clear_object (&entry->cert);
  g_clear_pointer (&entry->key_path, g_free);
  g_clear_pointer (&entry->cert_path, g_free);
  g_mutex_clear (&entry->load_mutex);
  g_free (entry);
}

/* For messages: where the certificate of an entry came from. */
static char *
describe_cert_source (const char *key_path,
                      const char *cert_path)
{
  if (cert_path != NULL)
    return g_strdup (cert_path);
  return g_strdup_printf (_ ("the certificate in %s"), key_path);
}

static gboolean
check_key_matches (CustosCertificate  *cert,
                   EVP_PKEY           *pkey,
                   const char         *key_path,
                   const char         *cert_path,
                   GError            **error)
{
  g_autofree char *source = NULL;

  if (custos_certificate_matches_key (cert, pkey))
    return TRUE;

  source = describe_cert_source (key_path, cert_path);
  g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
               _ ("the private key %s does not match %s"), key_path, source);
  return FALSE;
}

/* Turns an error of custos_private_key_load() into one of ours; the
 * passphrase case gets its own code so the UI can ask again. */
static void
propagate_key_load_error (GError     **error,
                          GError      *load_error,
                          const char  *key_path)
{
  if (g_error_matches (load_error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE))
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_BAD_PASSPHRASE,
                   _ ("wrong passphrase for %s"), key_path);
      g_error_free (load_error);
      return;
    }

  g_propagate_prefixed_error (error, load_error, "cannot load the private key %s: ", key_path);
}

/* Loads the key now if it can; leaves *out NULL for a key that is
 * encrypted while no passphrase was given, to be unlocked at first use. */
static gboolean
load_private_key (const char  *key_path,
                  const char  *passphrase,
                  EVP_PKEY   **out,
                  GError     **error)
{
  g_autoptr (GError) local_error = NULL;

  *out = custos_private_key_load (key_path, passphrase, &local_error);
  if (*out != NULL)
    return TRUE;

  if (passphrase == NULL &&
      g_error_matches (local_error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE))
    {
      g_debug ("%s is encrypted; its passphrase will be asked at first use", key_path);
      return TRUE;
    }

  propagate_key_load_error (error, g_steal_pointer (&local_error), key_path);
  return FALSE;
}

static CustosCertificate *
certificate_from_x509 (X509    *x509,
                       GError **error)
{
  g_autoptr (GBytes) der = NULL;
  unsigned char *buf = NULL;
  int len;

  len = i2d_X509 (x509, &buf);
  if (len <= 0)
    {
      ERR_clear_error ();
      g_set_error_literal (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
                           _ ("cannot encode the certificate"));
      return NULL;
    }
  der = g_bytes_new (buf, len);
  OPENSSL_free (buf);

  return custos_certificate_new_from_der (der, error);
}

/* Certificates in a PKCS#12 are usually encrypted under its passphrase, but
 * some exporters (openssl pkcs12 -certpbe NONE) leave them in the clear.
 * Reading those needs no passphrase and skips the MAC; that is fine since
 * the key is checked against the certificate once it is decoded. Prefers
 * the certificate with a localKeyID, which is the one paired with the key. */
static X509 *
pkcs12_find_plain_certificate (PKCS12 *p12)
{
  STACK_OF (PKCS7) *safes;
  X509 *with_key_id = NULL;
  X509 *first = NULL;

  safes = PKCS12_unpack_authsafes (p12);
  if (safes == NULL)
    {
      ERR_clear_error ();
      return NULL;
    }

  for (int i = 0; i < sk_PKCS7_num (safes); i++)
    {
      PKCS7 *p7 = sk_PKCS7_value (safes, i);
      STACK_OF (PKCS12_SAFEBAG) *bags;

      if (OBJ_obj2nid (p7->type) != NID_pkcs7_data)
        continue; /* encrypted under the passphrase */

      bags = PKCS12_unpack_p7data (p7);
      if (bags == NULL)
        continue;

      for (int j = 0; j < sk_PKCS12_SAFEBAG_num (bags); j++)
        {
          const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value (bags, j);
          X509 *x509;

          if (PKCS12_SAFEBAG_get_nid (bag) != NID_certBag ||
              PKCS12_SAFEBAG_get_bag_nid (bag) != NID_x509Certificate)
            continue;

          x509 = PKCS12_SAFEBAG_get1_cert (bag);
          if (x509 == NULL)
            continue;

          if (with_key_id == NULL && PKCS12_SAFEBAG_get0_attr (bag, NID_localKeyID) != NULL)
            with_key_id = x509;
          else if (first == NULL)
            first = x509;
          else
            X509_free (x509);
        }

      sk_PKCS12_SAFEBAG_pop_free (bags, PKCS12_SAFEBAG_free);
    }

  sk_PKCS7_pop_free (safes, PKCS7_free);
  ERR_clear_error ();

  if (with_key_id != NULL)
    {
      X509_free (first);
      return with_key_id;
    }
  return first;
}

static CustosCertificate *
pkcs12_load_certificate (const char  *path,
                         const char  *passphrase,
                         GError     **error)
{
  g_autofree char *contents = NULL;
  const unsigned char *p;
  gsize len;
  PKCS12 *p12;
  EVP_PKEY *pkey = NULL;
  X509 *x509 = NULL;
  CustosCertificate *ret = NULL;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;

  p = (const unsigned char *) contents;
  p12 = d2i_PKCS12 (NULL, &p, (long) len);
  if (p12 == NULL)
    {
      ERR_clear_error ();
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
                   _ ("%s is not a PKCS#12 file, so a certificate file is needed"), path);
      return NULL;
    }

  /* PKCS12_parse() only picks the certificate that matches the key, so it
   * needs the key out too; it is freed (and so wiped) right away. */
  if (!PKCS12_parse (p12, passphrase, &pkey, &x509, NULL) || x509 == NULL)
    {
      ERR_clear_error ();
      g_clear_pointer (&x509, X509_free);
      if (passphrase == NULL)
        x509 = pkcs12_find_plain_certificate (p12);
    }
  g_clear_pointer (&pkey, EVP_PKEY_free);
  PKCS12_free (p12);

  if (x509 != NULL)
    {
      ret = certificate_from_x509 (x509, error);
      X509_free (x509);
    }
  else if (passphrase == NULL)
    g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                 _ ("passphrase needed for %s to read its certificate; "
                    "give the passphrase or the certificate file"),
                 path);
  else
    g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_FAILED,
                 _ ("no certificate for the private key in %s"), path);

  return ret;
}

static KeyEntry *
find_entry_locked (CustosLocalKeyProvider *self,
                   const guint8            recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      KeyEntry *entry = g_ptr_array_index (self->entries, i);

      if (memcmp (custos_certificate_get_fingerprint (entry->cert), recipient_id,
                  CUSTOS_RECIPIENT_ID_LEN) == 0)
        return entry;
    }

  return NULL;
}

static KeyEntry *
find_entry (CustosLocalKeyProvider *self,
            const guint8            recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  KeyEntry *ret;

  g_mutex_lock (&self->mutex);
  ret = find_entry_locked (self, recipient_id);
  g_mutex_unlock (&self->mutex);

  /* Entries live as long as the provider, so this stays valid. */
  return ret;
}

/* Asks the passphrase of a locked key through the interaction, once, and
 * decodes the key with it. Called with entry->load_mutex held. */
static gboolean
key_entry_unlock (KeyEntry         *entry,
                  GTlsInteraction  *interaction,
                  GCancellable     *cancellable,
                  GError          **error)
{
  g_autoptr (GTlsPassword) password = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *description = NULL;
  g_autoptr (EVP_PKEY) pkey = NULL;
  GTlsInteractionResult result;
  const guchar *value;
  gsize len;
  char *copy;

  if (interaction == NULL)
    {
      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                   _ ("passphrase needed for %s"), entry->key_path);
      return FALSE;
    }

  description = g_strdup_printf (_ ("Passphrase for the private key %s"), entry->key_path);
  password = g_tls_password_new (entry->n_wrong > 0 ? G_TLS_PASSWORD_RETRY : G_TLS_PASSWORD_NONE,
                                 description);

  /* The invoke variant runs the interaction in the main context it was
   * made in, which is what a UI needs when we are in a GTask thread. */
  result = g_tls_interaction_invoke_ask_password (interaction, password, cancellable,
                                                  &local_error);
  if (result != G_TLS_INTERACTION_HANDLED)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else if (local_error != NULL)
        /* Translators: the second %s says why none was given. */
        g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                     _ ("passphrase needed for %s: %s"), entry->key_path, local_error->message);
      else
        g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_LOCKED,
                     _ ("passphrase needed for %s"), entry->key_path);
      return FALSE;
    }

  /* custos_private_key_load() wants a C string; our copy is wiped below.
   * The password object's own buffer belongs to whoever set it. */
  value = g_tls_password_get_value (password, &len);
  copy = g_malloc (len + 1);
  memcpy (copy, value, len);
  copy[len] = '\0';
  pkey = custos_private_key_load (entry->key_path, copy, &local_error);
  custos_memzero (copy, len + 1);
  g_free (copy);

  if (pkey == NULL)
    {
      /* No second prompt here: the next unwrap may ask again, flagged as a
       * retry, but we never loop on the user. */
      if (g_error_matches (local_error, CUSTOS_CRYPTO_ERROR, CUSTOS_CRYPTO_ERROR_BAD_PASSPHRASE))
        entry->n_wrong++;
      propagate_key_load_error (error, g_steal_pointer (&local_error), entry->key_path);
      return FALSE;
    }

  if (!check_key_matches (entry->cert, pkey, entry->key_path, entry->cert_path, error))
    return FALSE;

  entry->pkey = g_steal_pointer (&pkey);
  return TRUE;
}

/* Returns a new reference to the entry's key, unlocking it if needed.
 *
 * The load mutex is held across the prompt so that concurrent unwraps ask
 * once. A prompt from a GTask thread runs in the interaction's main
 * context, so that context's thread must not itself make a blocking
 * unwrap of the same key meanwhile; UIs use the async call. */
static EVP_PKEY *
key_entry_dup_key (KeyEntry         *entry,
                   GTlsInteraction  *interaction,
                   GCancellable     *cancellable,
                   GError          **error)
{
  EVP_PKEY *ret = NULL;

  g_mutex_lock (&entry->load_mutex);
  if (entry->pkey != NULL || key_entry_unlock (entry, interaction, cancellable, error))
    {
      EVP_PKEY_up_ref (entry->pkey);
      ret = entry->pkey;
    }
  g_mutex_unlock (&entry->load_mutex);

  return ret;
}

static GPtrArray *
custos_local_key_provider_list_certificates (CustosKeyProvider *provider)
{
  CustosLocalKeyProvider *self = CUSTOS_LOCAL_KEY_PROVIDER (provider);
  GPtrArray *ret;

  g_mutex_lock (&self->mutex);
  ret = g_ptr_array_new_full (self->entries->len, g_object_unref);
  for (guint i = 0; i < self->entries->len; i++)
    {
      KeyEntry *entry = g_ptr_array_index (self->entries, i);

      g_ptr_array_add (ret, g_object_ref (entry->cert));
    }
  g_mutex_unlock (&self->mutex);

  return ret;
}

static gboolean
custos_local_key_provider_has_recipient (CustosKeyProvider *provider,
                                         const guint8       recipient_id[CUSTOS_RECIPIENT_ID_LEN])
{
  return find_entry (CUSTOS_LOCAL_KEY_PROVIDER (provider), recipient_id) != NULL;
}

static CustosSecret *
custos_local_key_provider_unwrap_kek (CustosKeyProvider       *provider,
                                      const CustosWrappedKek  *wrapped,
                                      GTlsInteraction         *interaction,
                                      GCancellable            *cancellable,
                                      GError                 **error)
{
  CustosLocalKeyProvider *self = CUSTOS_LOCAL_KEY_PROVIDER (provider);
  g_autoptr (EVP_PKEY) pkey = NULL;
  g_autoptr (GError) local_error = NULL;
  CustosSecret *kek;
  KeyEntry *entry;
  const guint8 *data;
  gsize len;

  entry = find_entry (self, wrapped->recipient_id);
  if (entry == NULL)
    {
      g_autofree char *hex = custos_hex_encode (wrapped->recipient_id, CUSTOS_RECIPIENT_ID_LEN);

      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NO_KEY,
                   _ ("no key for recipient %s"), hex);
      return NULL;
    }

  if (wrapped->alg == CUSTOS_WRAP_RSA_PKCS1_V15 && !g_atomic_int_get (&self->allow_legacy))
    {
      g_set_error_literal (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_NOT_ENABLED,
                           _ ("RSA PKCS#1 v1.5 key unwrapping is not enabled (legacy)"));
      return NULL;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  pkey = key_entry_dup_key (entry, interaction, cancellable, error);
  if (pkey == NULL)
    return NULL;

  data = g_bytes_get_data (wrapped->wrapped, &len);
  kek = custos_unwrap_kek (pkey, wrapped->alg, wrapped->recipient_id, wrapped->epoch,
                           data, len, &local_error);
  if (kek == NULL)
    {
      g_autofree char *hex = custos_hex_encode (wrapped->recipient_id, CUSTOS_RECIPIENT_ID_LEN);

      g_set_error (error, CUSTOS_KEY_ERROR, CUSTOS_KEY_ERROR_UNWRAP_FAILED,
                   _ ("cannot unwrap the KEK of recipient %s (epoch %u) with %s: %s"),
                   hex, wrapped->epoch, entry->key_path, local_error->message);
      return NULL;
    }

  return kek;
}

static void
custos_local_key_provider_iface_init (CustosKeyProviderInterface *iface)
{
  iface->list_certificates = custos_local_key_provider_list_certificates;
  iface->has_recipient = custos_local_key_provider_has_recipient;
  iface->unwrap_kek = custos_local_key_provider_unwrap_kek;
  /* unwrap_kek_async: the default, unwrap_kek in a GTask thread. */
}

static void
custos_local_key_provider_finalize (GObject *object)
{
  CustosLocalKeyProvider *self = (CustosLocalKeyProvider *) object;

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (custos_local_key_provider_parent_class)->finalize (object);
}

static void
custos_local_key_provider_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  CustosLocalKeyProvider *self = CUSTOS_LOCAL_KEY_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ALLOW_LEGACY:
      g_value_set_boolean (value, g_atomic_int_get (&self->allow_legacy));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_local_key_provider_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  CustosLocalKeyProvider *self = CUSTOS_LOCAL_KEY_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ALLOW_LEGACY:
      custos_local_key_provider_set_allow_legacy (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
custos_local_key_provider_class_init (CustosLocalKeyProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = custos_local_key_provider_finalize;
  object_class->get_property = custos_local_key_provider_get_property;
  object_class->set_property = custos_local_key_provider_set_property;

  /**
   * CustosLocalKeyProvider:allow-legacy:
   *
   * Whether RSA PKCS#1 v1.5 wrapped KEKs may be unwrapped.
   */
  properties[PROP_ALLOW_LEGACY] =
    g_param_spec_boolean ("allow-legacy", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
custos_local_key_provider_init (CustosLocalKeyProvider *self)
{
  g_mutex_init (&self->mutex);
  self->entries = g_ptr_array_new_with_free_func (key_entry_free);
}

CustosLocalKeyProvider *
custos_local_key_provider_new (void)
{
  return g_object_new (CUSTOS_TYPE_LOCAL_KEY_PROVIDER, NULL);
}

/* Adds the entry, or, when the certificate is known already, gives the
 * existing entry the decoded key if it was still locked. */
static void
add_entry (CustosLocalKeyProvider *self,
           CustosCertificate      *cert,
           const char             *key_path,
           const char             *cert_path,
           EVP_PKEY               *pkey)
{
  KeyEntry *existing;

  g_mutex_lock (&self->mutex);
  existing = find_entry_locked (self, custos_certificate_get_fingerprint (cert));
  if (existing == NULL)
    {
      KeyEntry *entry = g_new0 (KeyEntry, 1);

      g_mutex_init (&entry->load_mutex);
      entry->cert = g_object_ref (cert);
      entry->key_path = g_strdup (key_path);
      entry->cert_path = g_strdup (cert_path);
      if (pkey != NULL && EVP_PKEY_up_ref (pkey))
        entry->pkey = pkey;
      g_ptr_array_add (self->entries, entry);
    }
  g_mutex_unlock (&self->mutex);

  /* Not under self->mutex: the load mutex may be held by a prompt. */
  if (existing != NULL && pkey != NULL)
    {
      g_mutex_lock (&existing->load_mutex);
      if (existing->pkey == NULL && EVP_PKEY_up_ref (pkey))
        existing->pkey = pkey;
      g_mutex_unlock (&existing->load_mutex);
    }
}

gboolean
custos_local_key_provider_add_key (CustosLocalKeyProvider  *self,
                                   const char              *key_path,
                                   const char              *cert_path,
                                   const char              *passphrase,
                                   GError                 **error)
{
  g_autoptr (CustosCertificate) cert = NULL;
  g_autoptr (EVP_PKEY) pkey = NULL;

  g_return_val_if_fail (CUSTOS_IS_LOCAL_KEY_PROVIDER (self), FALSE);
  g_return_val_if_fail (key_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* With a passphrase, a wrong one is reported now rather than in the
   * middle of playback; without, an encrypted key waits for first use. */
  if (!load_private_key (key_path, passphrase, &pkey, error))
    return FALSE;

  if (cert_path != NULL)
    cert = custos_certificate_new_from_file (cert_path, error);
  else
    cert = pkcs12_load_certificate (key_path, passphrase, error);
  if (cert == NULL)
    return FALSE;

  if (pkey != NULL && !check_key_matches (cert, pkey, key_path, cert_path, error))
    return FALSE;

  add_entry (self, cert, key_path, cert_path, pkey);

  g_debug ("Added key %s for %s%s", key_path, cert_path != NULL ? cert_path : "its PKCS#12",
           pkey == NULL ? " (locked)" : "");

  return TRUE;
}

void
custos_local_key_provider_set_allow_legacy (CustosLocalKeyProvider *self,
                                            gboolean                allow)
{
  g_return_if_fail (CUSTOS_IS_LOCAL_KEY_PROVIDER (self));

  allow = !!allow;
  if (g_atomic_int_exchange (&self->allow_legacy, allow) != allow)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_LEGACY]);
}
