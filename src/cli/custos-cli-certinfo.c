/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "custos-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "custos-cli-certinfo.h"
#include "custos-cli-common.h"

gint
custos_cli_cert_days_left (CustosCertificate *cert,
                           GDateTime         *now)
{
  GTimeSpan left = g_date_time_difference (custos_certificate_get_not_after (cert), now);

  /* Rounded: a certificate made for 730 days says 730 right after. */
  if (left >= 0)
    return (gint) ((left + G_TIME_SPAN_DAY / 2) / G_TIME_SPAN_DAY);
  return (gint) -((-left + G_TIME_SPAN_DAY / 2) / G_TIME_SPAN_DAY);
}

char *
custos_cli_format_date (GDateTime *date)
{
  g_autoptr (GDateTime) utc = g_date_time_to_utc (date);

  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

char *
custos_cli_cert_describe_validity (CustosCertificate *cert,
                                   GDateTime         *now)
{
  gint days = custos_cli_cert_days_left (cert, now);
  g_autofree char *not_before = NULL;

  if (g_date_time_compare (now, custos_certificate_get_not_after (cert)) > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "EXPIRED %d day ago",
                                         "EXPIRED %d days ago", -days), -days);
  if (g_date_time_compare (now, custos_certificate_get_not_before (cert)) < 0)
    {
      not_before = custos_cli_format_date (custos_certificate_get_not_before (cert));
      return g_strdup_printf (_("not valid before %s"), not_before);
    }
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "expires in %d day",
                                       "expires in %d days", days), days);
}

char *
custos_cli_cert_describe_key (CustosCertificate *cert)
{
  EVP_PKEY *pkey = custos_certificate_get_public_key (cert);
  CustosWrapAlg alg = 0;

  if (!custos_certificate_get_wrap_alg (cert, FALSE, &alg, NULL))
    alg = 0;
  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256:
      return g_strdup_printf (_("RSA %d bits"), EVP_PKEY_get_bits (pkey));
    case CUSTOS_WRAP_ECDH_ES_P256:
      return g_strdup ("EC P-256");
    case CUSTOS_WRAP_ECDH_ES_P384:
      return g_strdup ("EC P-384");
    default:
      return g_strdup_printf (_("%s %d bits (not usable as a recipient)"),
                              pkey != NULL ? EVP_PKEY_get0_type_name (pkey) : "?",
                              pkey != NULL ? EVP_PKEY_get_bits (pkey) : 0);
    }
}

void
custos_cli_cert_print (CustosCertificate *cert,
                       const char        *indent,
                       GDateTime         *now)
{
  g_autofree char *subject = custos_certificate_dup_subject (cert);
  g_autofree char *fingerprint = custos_certificate_dup_fingerprint_hex (cert);
  g_autofree char *key = custos_cli_cert_describe_key (cert);
  g_autofree char *not_before = custos_cli_format_date (custos_certificate_get_not_before (cert));
  g_autofree char *not_after = custos_cli_format_date (custos_certificate_get_not_after (cert));
  g_autofree char *validity = custos_cli_cert_describe_validity (cert, now);

  custos_cli_print_field (indent, 12, _("Subject"), "%s", subject);
  custos_cli_print_field (indent, 12, _("SHA-256"), "%s", fingerprint);
  custos_cli_print_field (indent, 12, _("Key"), "%s", key);
  custos_cli_print_field (indent, 12, _("Not before"), "%s", not_before);
  custos_cli_print_field (indent, 12, _("Not after"), "%s (%s)", not_after, validity);
}

void
custos_cli_cert_json_members (JsonBuilder       *builder,
                              CustosCertificate *cert,
                              GDateTime         *now)
{
  g_autofree char *subject = custos_certificate_dup_subject (cert);
  g_autofree char *cn = custos_certificate_dup_common_name (cert);
  g_autofree char *fingerprint = custos_certificate_dup_fingerprint_hex (cert);
  g_autofree char *not_before = custos_cli_format_date (custos_certificate_get_not_before (cert));
  g_autofree char *not_after = custos_cli_format_date (custos_certificate_get_not_after (cert));
  EVP_PKEY *pkey = custos_certificate_get_public_key (cert);
  CustosWrapAlg alg = 0;

  if (!custos_certificate_get_wrap_alg (cert, FALSE, &alg, NULL))
    alg = 0;
  custos_cli_json_add_string (builder, "subject", subject);
  custos_cli_json_add_string (builder, "common_name", cn);
  custos_cli_json_add_string (builder, "fingerprint", fingerprint);
  custos_cli_json_add_string (builder, "key_type",
                              pkey != NULL ? EVP_PKEY_get0_type_name (pkey) : NULL);
  json_builder_set_member_name (builder, "key_bits");
  json_builder_add_int_value (builder, pkey != NULL ? EVP_PKEY_get_bits (pkey) : 0);
  custos_cli_json_add_string (builder, "wrap", alg != 0 ? custos_wrap_alg_to_string (alg) : NULL);
  custos_cli_json_add_string (builder, "not_before", not_before);
  custos_cli_json_add_string (builder, "not_after", not_after);
  json_builder_set_member_name (builder, "expired");
  json_builder_add_boolean_value (builder,
                                  g_date_time_compare (now,
                                                       custos_certificate_get_not_after (cert)) > 0);
  json_builder_set_member_name (builder, "not_yet_valid");
  json_builder_add_boolean_value (builder,
                                  g_date_time_compare (now,
                                                       custos_certificate_get_not_before (cert)) < 0);
  json_builder_set_member_name (builder, "days_left");
  json_builder_add_int_value (builder, custos_cli_cert_days_left (cert, now));
}

/* The keys given on the command line, for an error saying they do not
 * open a file: fingerprint prefix and subject of each. */
char *
custos_cli_describe_key_certificates (GPtrArray *key_certs)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; key_certs != NULL && i < key_certs->len; i++)
    {
      g_autofree char *hex = custos_certificate_dup_fingerprint_hex (key_certs->pdata[i]);
      g_autofree char *subject = custos_certificate_dup_subject (key_certs->pdata[i]);

      g_string_append_printf (text, "%s%.16s… (%s)", i ? ", " : "", hex, subject);
    }
  if (text->len == 0)
    g_string_append (text, _("none given (use --key and --cert)"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}
