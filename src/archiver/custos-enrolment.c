/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-archiver"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "custos-archiver-util.h"
#include "custos-crypto.h"
#include "custos-enrolment.h"

#define DEFAULT_RESCAN_S   30
#define DEBOUNCE_MS        200
#define MAX_CERT_FILE      (1024 * 1024)
#define MAX_REVOCATIONS    100000

typedef struct
{
  CustosCertificate   *cert;
  char                *path;
  char                *fingerprint; /* hex */
  char                *subject;
  gint64               not_before_us;
  gint64               not_after_us;
  char                *unusable;    /* why its key cannot be wrapped to */
  CustosEnrolmentState state;
} Entry;

struct _CustosEnrolment
{
  GObject       parent_instance;

  char         *folder;
  char         *revocation_file;
  guint         rescan_s;
  GPtrArray    *entries;      /* Entry, by file name */
  GHashTable   *revoked;      /* hex fingerprint -> NULL */
  char         *valid_key;    /* the valid fingerprints, joined: what "changed" compares */
  GFileMonitor *folder_monitor;
  GFileMonitor *revocation_monitor;
  guint         tick_id;
  guint         transition_id;
  guint         rescan_id;
  guint         debounce_id;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CustosEnrolment, custos_enrolment, G_TYPE_OBJECT)

const char *
custos_enrolment_state_to_string (CustosEnrolmentState state)
{
  switch (state)
    {
    case CUSTOS_ENROLMENT_VALID:
      return "valid";
    case CUSTOS_ENROLMENT_NOT_YET_VALID:
      return "not-yet-valid";
    case CUSTOS_ENROLMENT_EXPIRED:
      return "expired";
    case CUSTOS_ENROLMENT_REVOKED:
      return "revoked";
    case CUSTOS_ENROLMENT_UNUSABLE:
      return "unusable";
    default:
      return "unknown";
    }
}

static void
entry_free (Entry *e)
{
  g_clear_object (&e->cert);
  g_free (e->path);
  g_free (e->fingerprint);
  g_free (e->subject);
  g_free (e->unusable);
  g_free (e);
}

static void
custos_enrolment_dispose (GObject *object)
{
  CustosEnrolment *self = CUSTOS_ENROLMENT (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->transition_id, g_source_remove);
  g_clear_handle_id (&self->rescan_id, g_source_remove);
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  if (self->folder_monitor != NULL)
    g_file_monitor_cancel (self->folder_monitor);
  if (self->revocation_monitor != NULL)
    g_file_monitor_cancel (self->revocation_monitor);
  g_clear_object (&self->folder_monitor);
  g_clear_object (&self->revocation_monitor);
  G_OBJECT_CLASS (custos_enrolment_parent_class)->dispose (object);
}

static void
custos_enrolment_finalize (GObject *object)
{
  CustosEnrolment *self = CUSTOS_ENROLMENT (object);

  g_free (self->folder);
  g_free (self->revocation_file);
  g_free (self->valid_key);
  g_ptr_array_unref (self->entries);
  g_hash_table_unref (self->revoked);
  G_OBJECT_CLASS (custos_enrolment_parent_class)->finalize (object);
}

static void
custos_enrolment_class_init (CustosEnrolmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = custos_enrolment_dispose;
  object_class->finalize = custos_enrolment_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

static void
custos_enrolment_init (CustosEnrolment *self)
{
  self->rescan_s = DEFAULT_RESCAN_S;
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  self->revoked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

CustosEnrolment *
custos_enrolment_new (const char *folder,
                      const char *revocation_file)
{
  CustosEnrolment *self = g_object_new (CUSTOS_TYPE_ENROLMENT, NULL);

  self->folder = g_strdup (folder);
  self->revocation_file = g_strdup (revocation_file);
  return self;
}

void
custos_enrolment_set_rescan_interval (CustosEnrolment *self,
                                      guint            seconds)
{
  self->rescan_s = MAX (seconds, 1);
}

/* Reading */

static gint64
to_us (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

static Entry *
entry_load (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CustosCertificate) cert = NULL;
  CustosWrapAlg alg;
  GStatBuf st;
  Entry *e;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_CERT_FILE)
    return NULL;
  if ((cert = custos_certificate_new_from_file (path, &error)) == NULL)
    {
      g_warning (_("Enrolment: %s is not a certificate: %s"), path, error->message);
      return NULL;
    }
  e = g_new0 (Entry, 1);
  e->path = g_strdup (path);
  e->fingerprint = custos_certificate_dup_fingerprint_hex (cert);
  e->subject = custos_certificate_dup_subject (cert);
  e->not_before_us = to_us (custos_certificate_get_not_before (cert));
  e->not_after_us = to_us (custos_certificate_get_not_after (cert));
  if (!custos_certificate_get_wrap_alg (cert, FALSE, &alg, &error))
    e->unusable = g_strdup (error->message);
  e->cert = g_steal_pointer (&cert);
  return e;
}

static gboolean
is_certificate_name (const char *name)
{
  return name[0] != '.' &&
         (g_str_has_suffix (name, ".pem") || g_str_has_suffix (name, ".crt") ||
          g_str_has_suffix (name, ".cer") || g_str_has_suffix (name, ".der"));
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 ((*(Entry **) a)->path, (*(Entry **) b)->path);
}

static void
load_folder (CustosEnrolment *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->folder, 0, NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  const char *name;

  g_ptr_array_set_size (self->entries, 0);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      Entry *e;

      if (!is_certificate_name (name))
        continue;
      path = g_build_filename (self->folder, name, NULL);
      if ((e = entry_load (path)) == NULL)
        continue;
      /* The same certificate in two files is one recipient. */
      if (g_hash_table_contains (seen, e->fingerprint))
        {
          entry_free (e);
          continue;
        }
      g_hash_table_add (seen, e->fingerprint);
      g_ptr_array_add (self->entries, e);
    }
  g_ptr_array_sort (self->entries, compare_paths);
}

static void
load_revocations (CustosEnrolment *self)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  g_hash_table_remove_all (self->revoked);
  if (self->revocation_file == NULL ||
      !g_file_get_contents (self->revocation_file, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", MAX_REVOCATIONS);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *hash = strchr (lines[i], '#');
      guint8 fp[32];

      if (hash != NULL)
        *hash = '\0';
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      if (!custos_archiver_parse_fingerprint (lines[i], fp))
        {
          g_warning (_("Revocation list %s, line %u: not a SHA-256 fingerprint"),
                     self->revocation_file, i + 1);
          continue;
        }
      g_hash_table_add (self->revoked, custos_hex_encode (fp, sizeof fp));
    }
}

/* States */

static CustosEnrolmentState
entry_state (CustosEnrolment *self,
             Entry           *e,
             gint64           now_us)
{
  if (g_hash_table_contains (self->revoked, e->fingerprint))
    return CUSTOS_ENROLMENT_REVOKED;
  if (now_us > e->not_after_us)
    return CUSTOS_ENROLMENT_EXPIRED;
  if (now_us < e->not_before_us)
    return CUSTOS_ENROLMENT_NOT_YET_VALID;
  if (e->unusable != NULL)
    return CUSTOS_ENROLMENT_UNUSABLE;
  return CUSTOS_ENROLMENT_VALID;
}

static void
log_transition (Entry               *e,
                CustosEnrolmentState state)
{
  g_autofree char *until = custos_archiver_format_time (e->not_after_us);

  if (state == CUSTOS_ENROLMENT_VALID)
    g_message (_("Enrolment: %s (%s) is valid until %s"), e->subject, e->fingerprint, until);
  else if (state == CUSTOS_ENROLMENT_EXPIRED)
    g_message (_("Enrolment: %s (%s) expired at %s and is no longer used"), e->subject,
               e->fingerprint, until);
  else
    g_message (_("Enrolment: %s (%s) is not used: %s"), e->subject, e->fingerprint,
               e->unusable ? e->unusable : custos_enrolment_state_to_string (state));
}

static void update_states (CustosEnrolment *self,
                           gboolean         fresh);

static gboolean
on_transition (gpointer user_data)
{
  CustosEnrolment *self = user_data;

  self->transition_id = 0;
  update_states (self, FALSE);
  return G_SOURCE_REMOVE;
}

/* The once-a-second check would let a certificate be used for up to a
 * second after its notAfter: the next validity boundary gets a timer of
 * its own, to the millisecond. */
static void
schedule_transition (CustosEnrolment *self,
                     gint64           now_us)
{
  gint64 next = G_MAXINT64;

  g_clear_handle_id (&self->transition_id, g_source_remove);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];

      if (e->not_before_us > now_us)
        next = MIN (next, e->not_before_us);
      else if (e->not_after_us >= now_us)
        next = MIN (next, e->not_after_us + 1);
    }
  if (next - now_us < 2 * G_USEC_PER_SEC)
    self->transition_id = g_timeout_add ((next - now_us) / 1000 + 1, on_transition, self);
}

/* Recomputes every state; emits "changed" when the valid set differs. */
static void
update_states (CustosEnrolment *self,
               gboolean         fresh)
{
  g_autoptr (GString) key = g_string_new (NULL);
  gint64 now_us = g_get_real_time ();

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];
      CustosEnrolmentState state = entry_state (self, e, now_us);

      if (fresh || state != e->state)
        log_transition (e, state);
      e->state = state;
      if (state == CUSTOS_ENROLMENT_VALID)
        g_string_append_printf (key, "%s;", e->fingerprint);
    }
  schedule_transition (self, now_us);
  if (self->valid_key != NULL && g_str_equal (self->valid_key, key->str))
    return;
  g_free (self->valid_key);
  self->valid_key = g_string_free (g_steal_pointer (&key), FALSE);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
custos_enrolment_reload (CustosEnrolment *self)
{
  g_autoptr (GHashTable) before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < self->entries->len; i++)
    g_hash_table_add (before, g_strdup (((Entry *) self->entries->pdata[i])->fingerprint));
  load_revocations (self);
  load_folder (self);
  /* Log only what is new; the once-a-second check logs transitions. */
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];

      e->state = entry_state (self, e, g_get_real_time ());
      if (!g_hash_table_contains (before, e->fingerprint))
        log_transition (e, e->state);
    }
  update_states (self, FALSE);
}

/* Watching */

static gboolean
debounced_reload (gpointer user_data)
{
  CustosEnrolment *self = user_data;

  self->debounce_id = 0;
  custos_enrolment_reload (self);
  return G_SOURCE_REMOVE;
}

/* Editors and `cp` make several events per change: read once they settle. */
static void
on_file_changed (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other,
                 GFileMonitorEvent  event,
                 gpointer           user_data)
{
  CustosEnrolment *self = user_data;

  if (self->debounce_id == 0)
    self->debounce_id = g_timeout_add (DEBOUNCE_MS, debounced_reload, self);
}

static gboolean
on_tick (gpointer user_data)
{
  update_states (user_data, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_rescan (gpointer user_data)
{
  custos_enrolment_reload (user_data);
  return G_SOURCE_CONTINUE;
}

static GFileMonitor *
watch (CustosEnrolment *self,
       const char      *path,
       gboolean         folder)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  GFileMonitor *monitor = folder
    ? g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error)
    : g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

  if (monitor == NULL)
    {
      g_message (_("Not watching %s (%s): re-read every %u s"), path, error->message,
                 self->rescan_s);
      return NULL;
    }
  g_signal_connect (monitor, "changed", G_CALLBACK (on_file_changed), self);
  return monitor;
}

gboolean
custos_enrolment_start (CustosEnrolment  *self,
                        GError          **error)
{
  if (!g_file_test (self->folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The enrolment folder %s does not exist"), self->folder);
      return FALSE;
    }
  load_revocations (self);
  load_folder (self);
  update_states (self, TRUE);
  self->folder_monitor = watch (self, self->folder, TRUE);
  if (self->revocation_file != NULL)
    self->revocation_monitor = watch (self, self->revocation_file, FALSE);
  self->tick_id = g_timeout_add_seconds (1, on_tick, self);
  self->rescan_id = g_timeout_add_seconds (self->rescan_s, on_rescan, self);
  return TRUE;
}

/* Queries */

GPtrArray *
custos_enrolment_dup_valid (CustosEnrolment *self)
{
  GPtrArray *valid = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 now_us = g_get_real_time ();

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];

      if (entry_state (self, e, now_us) == CUSTOS_ENROLMENT_VALID)
        g_ptr_array_add (valid, g_object_ref (e->cert));
    }
  return valid;
}

char *
custos_enrolment_dup_no_valid_reason (CustosEnrolment *self)
{
  g_autoptr (GString) s = NULL;
  gint64 now_us = g_get_real_time ();

  if (self->entries->len == 0)
    return g_strdup_printf (_("no certificate is enrolled (the enrolment folder %s is empty)"),
                            self->folder);
  s = g_string_new (_("no enrolled certificate is valid:"));
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];
      CustosEnrolmentState state = entry_state (self, e, now_us);
      g_autofree char *until = custos_archiver_format_time (e->not_after_us);

      g_string_append_printf (s, "%s %s", i ? ";" : "", e->subject);
      if (state == CUSTOS_ENROLMENT_EXPIRED)
        g_string_append_printf (s, _(" expired at %s"), until);
      else if (state == CUSTOS_ENROLMENT_UNUSABLE)
        g_string_append_printf (s, " (%s)", e->unusable);
      else
        g_string_append_printf (s, " is %s", custos_enrolment_state_to_string (state));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static Entry *
find_entry (CustosEnrolment *self,
            const char      *hex)
{
  for (guint i = 0; i < self->entries->len; i++)
    if (g_str_equal (((Entry *) self->entries->pdata[i])->fingerprint, hex))
      return self->entries->pdata[i];
  return NULL;
}

gboolean
custos_enrolment_is_revoked (CustosEnrolment *self,
                             const guint8    *fingerprint)
{
  g_autofree char *hex = custos_hex_encode (fingerprint, 32);

  return g_hash_table_contains (self->revoked, hex);
}

char *
custos_enrolment_check_client (CustosEnrolment *self,
                               const guint8    *fingerprint)
{
  g_autofree char *hex = custos_hex_encode (fingerprint, 32);
  Entry *e = find_entry (self, hex);
  g_autofree char *until = NULL;

  if (g_hash_table_contains (self->revoked, hex))
    return g_strdup_printf (_("the certificate %s is revoked"), hex);
  if (e == NULL)
    return g_strdup_printf (_("the certificate %s is not enrolled on this archiver"), hex);
  until = custos_archiver_format_time (e->not_after_us);
  switch (entry_state (self, e, g_get_real_time ()))
    {
    case CUSTOS_ENROLMENT_VALID:
      return NULL;
    case CUSTOS_ENROLMENT_EXPIRED:
      return g_strdup_printf (_("the certificate %s expired at %s"), hex, until);
    case CUSTOS_ENROLMENT_NOT_YET_VALID:
      return g_strdup_printf (_("the certificate %s is not valid yet"), hex);
    case CUSTOS_ENROLMENT_UNUSABLE:
      return g_strdup_printf (_("the certificate %s cannot be encrypted to: %s"), hex, e->unusable);
    case CUSTOS_ENROLMENT_REVOKED:
    default:
      return g_strdup_printf (_("the certificate %s is revoked"), hex);
    }
}

static void
add_time (JsonBuilder *b,
          const char  *member,
          gint64       us)
{
  g_autofree char *text = custos_archiver_format_time (us);

  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, text);
}

void
custos_enrolment_build_json (CustosEnrolment *self,
                             JsonBuilder     *b)
{
  gint64 now_us = g_get_real_time ();

  json_builder_begin_array (b);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = self->entries->pdata[i];
      g_autofree char *file = g_path_get_basename (e->path);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, e->fingerprint);
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, e->subject);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, file);
      add_time (b, "not_before", e->not_before_us);
      add_time (b, "not_after", e->not_after_us);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, custos_enrolment_state_to_string (entry_state (self, e,
                                                                                       now_us)));
      if (e->unusable != NULL)
        {
          json_builder_set_member_name (b, "problem");
          json_builder_add_string_value (b, e->unusable);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}
