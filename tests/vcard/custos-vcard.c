/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * custos-vcard: a virtual smart card for the tests.
 *
 * libcacard emulates a US DoD Common Access Card whose certificates and
 * private keys are those of the PKCS#11 tokens an NSS database loads (here
 * a SoftHSM token). This program plugs that card into vsmartcard's vpcd,
 * a pcscd reader driver that waits for a card on a TCP port. Through pcscd
 * the real OpenSC module then sees a "Common Access Card" in a reader
 * called "Virtual PCD", exactly as it would see an investigator's card.
 *
 * The vpcd protocol: vpcd sends messages, each a 2-byte big-endian length
 * and the payload; a 1-byte payload is a control message (0x00 power off,
 * 0x01 power on, 0x02 reset, 0x04 get ATR), anything longer a command
 * APDU. Only "get ATR" and APDUs are answered, in the same framing.
 * Closing the connection is pulling the card out of the reader.
 *
 * Control: the lines "remove", "insert" and "quit" on stdin, or SIGUSR1
 * (remove), SIGUSR2 (insert), SIGTERM/SIGINT (quit). Each change is
 * reported on stdout as a line, "inserted" (once pcscd has powered the
 * card) or "removed", so tests can wait for it. Logs go to stderr.
 */
#define G_LOG_DOMAIN "custos-vcard"

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <libcacard.h>

#define VPCD_CTRL_OFF   0x00
#define VPCD_CTRL_ON    0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR   0x04

/* An ATR is at most 33 bytes (ISO 7816-3). */
#define ATR_MAX 33
/* The 2-byte length bounds every message. */
#define MSG_MAX 0xFFFF

/* How long "insert" keeps trying when vpcd is not listening yet: the
 * tests start pcscd and this program at the same time. */
#define CONNECT_TIMEOUT_US (10 * G_USEC_PER_SEC)

typedef struct
{
  GMainLoop         *loop;
  VReader           *reader;
  char              *host;
  guint16            port;
  GSocketConnection *vpcd;        /* NULL while the card is out */
  GSource           *vpcd_source;
  gboolean           powered;     /* "inserted" was said for this connection */
  guint              apdu_delay_ms;
  guint              key_delay_ms;
  int                status;
} Bridge;

static Bridge bridge;

static void
announce (const char *state)
{
  /* stdout is a pipe in the tests: flush so the line arrives now. */
  printf ("%s\n", state);
  fflush (stdout);
}

static void
quit (int status)
{
  bridge.status = MAX (bridge.status, status);
  g_main_loop_quit (bridge.loop);
}

/* libcacard turns each removable slot of the NSS database into a reader;
 * the one we want is the one with a card (a token with certificates). */
static VReader *
find_reader_with_card (void)
{
  VReaderList *list = vreader_get_reader_list ();
  VReader *found = NULL;

  for (VReaderListEntry *e = vreader_list_get_first (list);
       e != NULL && found == NULL;
       e = vreader_list_get_next (e))
    {
      VReader *reader = vreader_list_get_reader (e);

      if (vreader_card_is_present (reader) == VREADER_OK)
        found = reader;
      else
        vreader_free (reader);
    }
  vreader_list_delete (list);

  return found;
}

static gboolean
init_card (const char  *nss_db,
           GError     **error)
{
  g_autofree char *args = NULL;
  VCardEmulOptions *options;

  /* libcacard's option parser ends the path at the first quote. */
  if (strchr (nss_db, '"') != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The NSS database path must not contain '\"'");
      return FALSE;
    }

  /* use_hw=removable: emulate a CAC for every removable slot, whether or
   * not NSS believes it is hardware (SoftHSM is not). */
  args = g_strdup_printf ("db=\"sql:%s\" use_hw=removable hw_type=CAC", nss_db);
  options = vcard_emul_options (args);
  if (options == NULL || vcard_emul_init (options) != VCARD_EMUL_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "libcacard could not open the NSS database %s", nss_db);
      return FALSE;
    }

  bridge.reader = find_reader_with_card ();
  if (bridge.reader == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "No token with a certificate in %s (is SOFTHSM2_CONF set, "
                   "with slots.removable = true?)", nss_db);
      return FALSE;
    }
  g_info ("Card from token slot \"%s\"", vreader_get_name (bridge.reader));

  return TRUE;
}

static gboolean
send_message (const guint8  *data,
              gsize          len,
              GError       **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (bridge.vpcd));
  g_autofree guint8 *msg = g_malloc (len + 2);

  /* Length and payload in one write, so they travel in one segment. */
  msg[0] = len >> 8;
  msg[1] = len & 0xff;
  memcpy (msg + 2, data, len);

  return g_output_stream_write_all (out, msg, len + 2, NULL, NULL, error);
}

static gboolean
answer_control (guint8   code,
                GError **error)
{
  guint8 atr[ATR_MAX];
  int atr_len = sizeof atr;

  switch (code)
    {
    case VPCD_CTRL_OFF:
      vreader_power_off (bridge.reader);
      return TRUE;

    case VPCD_CTRL_ON:
    case VPCD_CTRL_RESET:
      /* Both reset the card: a power cycle logs out, as on a real card. */
      vreader_power_on (bridge.reader, NULL, NULL);
      if (!bridge.powered)
        {
          bridge.powered = TRUE;
          announce ("inserted");
        }
      return TRUE;

    case VPCD_CTRL_ATR:
      /* vpcd asks for the ATR on every presence poll, so it must not
       * power-cycle the card; libcacard's ATR does not change. */
      vcard_emul_get_atr (NULL, atr, &atr_len);
      return send_message (atr, atr_len, error);

    default:
      g_warning ("Unknown vpcd control message 0x%02x", code);
      return TRUE;
    }
}

/* The CAC applet's private key operation (GENERAL AUTHENTICATE-like
 * "sign/decrypt", INS 0x42) answers 61xx, "more data", on the APDU that
 * completes it: the result waits for GET RESPONSE. */
static gboolean
is_key_operation (const guint8 *apdu,
                  const guint8 *response,
                  int           response_len)
{
  return apdu[1] == 0x42 && response_len == 2 && response[0] == 0x61;
}

static gboolean
answer_apdu (const guint8  *apdu,
             gsize          len,
             GError       **error)
{
  /* vpcd's 2-byte length caps a reply to MSG_MAX bytes. */
  g_autofree guint8 *response = g_malloc (MSG_MAX);
  int response_len = MSG_MAX;
  guint delay_ms = bridge.apdu_delay_ms;

  if (vreader_xfr_bytes (bridge.reader, (guint8 *) apdu, len,
                         response, &response_len) != VREADER_OK ||
      response_len < 2)
    {
      /* Cannot happen while connected (the card is in libcacard's reader
       * for the whole run), but vpcd waits for an answer: "no precise
       * diagnosis" fails the command cleanly. */
      static const guint8 sw_error[] = { 0x6F, 0x00 };

      g_warning ("libcacard did not answer an APDU with INS %02x", apdu[1]);
      return send_message (sw_error, sizeof sw_error, error);
    }

  if (is_key_operation (apdu, response, response_len))
    delay_ms += bridge.key_delay_ms;
  if (delay_ms > 0)
    g_usleep (delay_ms * 1000);

  /* G_MESSAGES_DEBUG=custos-vcard traces the card's side of the dialogue. */
  g_debug ("APDU INS %02x, %zu bytes -> SW %02x%02x, %d bytes", apdu[1], len,
           response[response_len - 2], response[response_len - 1], response_len);

  return send_message (response, response_len, error);
}

static void card_remove (void);

/* vpcd sends the length and the payload in separate small writes, and with
 * Nagle's algorithm on its side the payload waits for our ACK of the
 * length, which Linux delays by up to 40 ms: every APDU would cost 40 ms.
 * Acknowledge at once. The kernel clears the flag again, so set it for
 * every message. */
static void
quick_ack (GSocket *socket)
{
  g_socket_set_option (socket, IPPROTO_TCP, TCP_QUICKACK, 1, NULL);
}

/* One message from vpcd. vpcd writes the payload right behind its length,
 * so the blocking reads here return at once. */
static gboolean
on_vpcd_readable (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (bridge.vpcd));
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *msg = NULL;
  guint8 head[2];
  gsize len, got = 0;
  gboolean ok;

  if (!g_input_stream_read_all (in, head, sizeof head, &got, NULL, &error) ||
      got < sizeof head)
    goto lost;
  quick_ack (socket);

  len = (head[0] << 8) | head[1];
  msg = g_malloc (MAX (len, 1));
  if (!g_input_stream_read_all (in, msg, len, &got, NULL, &error) || got < len)
    goto lost;

  if (len == 1)
    ok = answer_control (msg[0], &error);
  else
    ok = answer_apdu (msg, len, &error);
  if (!ok)
    goto lost;

  return G_SOURCE_CONTINUE;

lost:
  /* pcscd went away (or was restarted): nothing to serve any more. */
  g_warning ("Lost the connection to vpcd: %s",
             error != NULL ? error->message : "closed by pcscd");
  bridge.vpcd_source = NULL;
  card_remove ();
  quit (EXIT_FAILURE);
  return G_SOURCE_REMOVE;
}

static GSocketConnection *
connect_vpcd (GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_US;

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      GSocketConnection *conn;

      conn = g_socket_client_connect_to_host (client, bridge.host, bridge.port,
                                              NULL, &local_error);
      if (conn != NULL)
        return conn;

      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
          g_get_monotonic_time () > deadline)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot reach vpcd on %s:%u: ",
                                      bridge.host, bridge.port);
          return NULL;
        }
      g_usleep (50 * 1000);
    }
}

static gboolean
card_insert (GError **error)
{
  GSocket *socket;

  if (bridge.vpcd != NULL)
    return TRUE;

  bridge.vpcd = connect_vpcd (error);
  if (bridge.vpcd == NULL)
    return FALSE;

  socket = g_socket_connection_get_socket (bridge.vpcd);
  /* Small request/response messages: never hold one back (Nagle). */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  bridge.powered = FALSE;
  bridge.vpcd_source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (bridge.vpcd_source, G_SOURCE_FUNC (on_vpcd_readable), NULL, NULL);
  g_source_attach (bridge.vpcd_source, NULL);
  g_source_unref (bridge.vpcd_source);

  return TRUE;
}

static void
card_remove (void)
{
  if (bridge.vpcd == NULL)
    return;

  if (bridge.vpcd_source != NULL)
    g_source_destroy (bridge.vpcd_source);
  bridge.vpcd_source = NULL;
  g_io_stream_close (G_IO_STREAM (bridge.vpcd), NULL, NULL);
  g_clear_object (&bridge.vpcd);

  /* A card pulled out loses its power, and with it the PIN login. */
  vreader_power_off (bridge.reader);
  announce ("removed");
}

static void
run_command (const char *command)
{
  g_autoptr (GError) error = NULL;

  if (g_str_equal (command, "remove"))
    card_remove ();
  else if (g_str_equal (command, "insert"))
    {
      if (!card_insert (&error))
        {
          g_printerr ("custos-vcard: %s\n", error->message);
          quit (EXIT_FAILURE);
        }
    }
  else if (g_str_equal (command, "quit"))
    quit (EXIT_SUCCESS);
  else if (command[0] != '\0')
    g_warning ("Unknown command \"%s\" (remove, insert, quit)", command);
}

static void
on_stdin_line (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GDataInputStream *in = G_DATA_INPUT_STREAM (source);
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (in, result, NULL, NULL);
  /* End of input is not a command: a test that stops talking to us still
   * ends us with SIGTERM, and a shell's background job has no stdin. */
  if (line == NULL)
    return;

  run_command (g_strstrip (line));
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_stdin_line, NULL);
}

static gboolean
on_signal (gpointer user_data)
{
  run_command (user_data);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GInputStream) stdin_raw = NULL;
  g_autoptr (GDataInputStream) stdin_lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *nss_db = NULL;
  g_autofree char *host = NULL;
  gboolean removed = FALSE;
  int port = 35963;
  int apdu_delay_ms = 0;
  int key_delay_ms = 0;
  const GOptionEntry entries[] = {
    { "nss-db", 'd', 0, G_OPTION_ARG_FILENAME, &nss_db,
      "NSS database whose removable tokens become the card (required)", "DIR" },
    { "host", 'H', 0, G_OPTION_ARG_STRING, &host,
      "Host where vpcd listens (default 127.0.0.1)", "HOST" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port,
      "Port vpcd listens on (default 35963)", "PORT" },
    { "removed", 'r', 0, G_OPTION_ARG_NONE, &removed,
      "Start with the card out of the reader", NULL },
    /* The emulation answers in microseconds; a real card takes ~5-20 ms
     * per APDU and ~100-500 ms for an RSA-2048 private key operation.
     * These make it that slow, for tests of waiting and caching. */
    { "apdu-delay-ms", 0, 0, G_OPTION_ARG_INT, &apdu_delay_ms,
      "Answer every APDU this late (default 0)", "MS" },
    { "key-delay-ms", 0, 0, G_OPTION_ARG_INT, &key_delay_ms,
      "Add this to private key operations (default 0)", "MS" },
    { NULL }
  };

  /* stdout carries the state lines; keep every log line off it. */
  g_log_writer_default_set_use_stderr (TRUE);
  /* A test that closed our stdout must not kill us mid-cleanup. */
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new ("- plug a libcacard virtual card into vpcd");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("custos-vcard: %s\n", error->message);
      return 2;
    }
  if (nss_db == NULL || port <= 0 || port > 65535 ||
      apdu_delay_ms < 0 || key_delay_ms < 0)
    {
      g_printerr ("custos-vcard: --nss-db is required, --port must be 1-65535 "
                  "and delays must not be negative\n");
      return 2;
    }

  bridge.host = host != NULL ? g_steal_pointer (&host) : g_strdup ("127.0.0.1");
  bridge.port = port;
  bridge.apdu_delay_ms = apdu_delay_ms;
  bridge.key_delay_ms = key_delay_ms;
  bridge.loop = g_main_loop_new (NULL, FALSE);

  if (!init_card (nss_db, &error) ||
      (!removed && !card_insert (&error)))
    {
      g_printerr ("custos-vcard: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (removed)
    announce ("removed");

  g_unix_signal_add (SIGTERM, on_signal, (gpointer) "quit");
  g_unix_signal_add (SIGINT, on_signal, (gpointer) "quit");
  g_unix_signal_add (SIGUSR1, on_signal, (gpointer) "remove");
  g_unix_signal_add (SIGUSR2, on_signal, (gpointer) "insert");

  stdin_raw = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  stdin_lines = g_data_input_stream_new (stdin_raw);
  g_data_input_stream_read_line_async (stdin_lines, G_PRIORITY_DEFAULT, NULL,
                                       on_stdin_line, NULL);

  g_main_loop_run (bridge.loop);

  card_remove ();
  /* No vcard_emul_finalize (): libcacard's slot-event thread may still be
   * inside NSS, and shutting NSS down under it can crash; exiting is safe. */
  g_clear_pointer (&bridge.reader, vreader_free);
  g_main_loop_unref (bridge.loop);
  g_free (bridge.host);

  return bridge.status;
}
