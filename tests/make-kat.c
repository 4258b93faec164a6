/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Writes the known-answer set of docs/fusion-stream.md into a directory:
 * kat-v1.fusion (one encrypted, sealed stream of six packets in one key
 * period), the recipient's and signer's keys and certificates, and
 * kat-v1.json with the KEK, the period key and the SHA-256 of each packet.
 * Run by hand (`make-kat tests/data`); the tests read what it wrote.
 */
#define G_LOG_DOMAIN "custos-kat"

#include "config.h"

#include <string.h>

#include "custos.h"
#include "custos-test-util.h"

static void
copy_to (const char *from,
         const char *dir,
         const char *name)
{
  g_autofree char *contents = NULL;
  g_autofree char *to = g_build_filename (dir, name, NULL);
  gsize len;

  g_file_get_contents (from, &contents, &len, NULL);
  g_file_set_contents (to, contents, len, NULL);
}

static CustosSecret *
decode_keys (GBytes   *file,
             EVP_PKEY *key,
             GString  *json)
{
  gsize len, off = 0;
  const guint8 *p = g_bytes_get_data (file, &len);
  g_autoptr (CustosSecret) kek = NULL;
  CustosSecret *period_key = NULL;

  while (off < len)
    {
      CustosRecordHeader h;
      const guint8 *body = p + off + 6;

      custos_record_header_parse (p + off, len - off, &h, NULL);
      if (h.type == CUSTOS_RECORD_RECIPIENT && kek == NULL)
        {
          CustosRecipientRecord rr;
          g_autofree char *hex = NULL;

          custos_recipient_record_parse (body, h.length, &rr, NULL);
          kek = custos_unwrap_kek (key, rr.alg, rr.recipient_id, rr.epoch,
                                   g_bytes_get_data (rr.wrapped, NULL),
                                   g_bytes_get_size (rr.wrapped), NULL);
          hex = custos_hex_encode (custos_secret_peek (kek), 16);
          g_string_append_printf (json, "  \"kek\": \"%s\",\n  \"epoch\": %u,\n", hex, rr.epoch);
          custos_recipient_record_clear (&rr);
        }
      else if (h.type == CUSTOS_RECORD_KEY && period_key == NULL)
        {
          CustosKeyRecord kr;
          g_autofree char *hex = NULL;

          custos_key_record_parse (body, h.length, &kr, NULL);
          period_key = custos_kwp_unwrap (kek, kr.wrapped, kr.wrapped_len, NULL);
          hex = custos_hex_encode (custos_secret_peek (period_key), 16);
          g_string_append_printf (json, "  \"period_key\": \"%s\",\n  \"period\": %u,\n", hex,
                                  kr.period);
        }
      off += 6 + h.length;
    }
  return period_key;
}

int
main (int   argc,
      char *argv[])
{
  const char *dir = argc > 1 ? argv[1] : ".";
  g_autofree char *rcert = NULL, *rkey = NULL, *scert = NULL, *skey = NULL;
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (CustosWriter) writer = custos_writer_new (out, "KAT camera");
  g_autoptr (CustosCertificate) recipient = NULL;
  g_autoptr (CustosCertificate) signer = NULL;
  g_autoptr (EVP_PKEY) signer_key = NULL;
  g_autoptr (EVP_PKEY) recipient_key = NULL;
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  g_autoptr (GBytes) file = NULL;
  g_autoptr (CustosSecret) period_key = NULL;
  g_autoptr (GString) json = g_string_new ("{\n");
  g_autofree char *fusion_path = g_build_filename (dir, "kat-v1.fusion", NULL);
  g_autofree char *json_path = g_build_filename (dir, "kat-v1.json", NULL);
  gint64 start = G_GINT64_CONSTANT (1763700000000000);

  custos_test_make_cert ("rsa:2048", "kat-recipient", &rcert, &rkey);
  custos_test_make_cert ("ec:P-256", "kat-signer", &scert, &skey);
  recipient = custos_certificate_new_from_file (rcert, NULL);
  signer = custos_certificate_new_from_file (scert, NULL);
  signer_key = custos_private_key_load (skey, NULL, NULL);
  recipient_key = custos_private_key_load (rkey, NULL, NULL);
  g_ptr_array_add (chain, signer);

  custos_writer_set_signer (writer, signer_key, chain, NULL);
  custos_writer_add_recipient (writer, recipient, FALSE, NULL);
  custos_writer_add_stream (writer, CUSTOS_STREAM_KIND_VIDEO, CUSTOS_STREAM_FLAG_ENCRYPTED,
                            "video/x-h264, stream-format=(string)byte-stream", "video", 0, NULL);
  g_string_append (json, "  \"packet_sha256\": [\n");
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *payload = g_strdup_printf ("custos known-answer packet %u", i);
      guint8 digest[32];
      g_autofree char *hex = NULL;

      custos_writer_write_packet (writer, 0, start + i * 40000, CUSTOS_NO_TIMESTAMP, i == 0,
                                  (const guint8 *) payload, strlen (payload), NULL);
      custos_sha256 ((const guint8 *) payload, strlen (payload), digest);
      hex = custos_hex_encode (digest, 32);
      g_string_append_printf (json, "    \"%s\"%s\n", hex, i < 5 ? "," : "");
    }
  g_string_append (json, "  ],\n");
  custos_writer_close (writer, NULL);
  g_output_stream_close (out, NULL, NULL);
  file = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  period_key = decode_keys (file, recipient_key, json);
  g_string_append_printf (json, "  \"packets\": 6,\n  \"file_size\": %" G_GSIZE_FORMAT "\n}\n",
                          g_bytes_get_size (file));

  g_file_set_contents (fusion_path, g_bytes_get_data (file, NULL), g_bytes_get_size (file), NULL);
  g_file_set_contents (json_path, json->str, json->len, NULL);
  copy_to (rcert, dir, "kat-recipient.cert.pem");
  copy_to (rkey, dir, "kat-recipient.key.pem");
  copy_to (scert, dir, "kat-signer.cert.pem");
  g_print ("wrote the known-answer set to %s\n", dir);
  return 0;
}
