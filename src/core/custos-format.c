/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "custos-format"

#include "config.h"

#include "custos-format.h"

const char *
custos_record_type_to_string (guint type)
{
  switch (type)
    {
    case CUSTOS_RECORD_FILE_HEADER: return "file header";
    case CUSTOS_RECORD_STREAM:      return "stream";
    case CUSTOS_RECORD_SIGNER:      return "signer";
    case CUSTOS_RECORD_RECIPIENT:   return "recipient";
    case CUSTOS_RECORD_KEY:         return "key";
    case CUSTOS_RECORD_DATA:        return "data";
    case CUSTOS_RECORD_SEAL:        return "seal";
    case CUSTOS_RECORD_INDEX:       return "index";
    case CUSTOS_RECORD_TOC:         return "table of contents";
    case CUSTOS_RECORD_PADDING:     return "padding";
    default:                        return "unknown";
    }
}

const char *
custos_wrap_alg_to_string (CustosWrapAlg alg)
{
  switch (alg)
    {
    case CUSTOS_WRAP_RSA_OAEP_SHA256: return "RSA-OAEP-SHA256";
    case CUSTOS_WRAP_ECDH_ES_P256:    return "ECDH-ES-P256";
    case CUSTOS_WRAP_ECDH_ES_P384:    return "ECDH-ES-P384";
    case CUSTOS_WRAP_RSA_PKCS1_V15:   return "RSA-PKCS1-v1.5";
    default:                          return "unknown";
    }
}

const char *
custos_sig_alg_to_string (CustosSigAlg alg)
{
  switch (alg)
    {
    case CUSTOS_SIG_ECDSA_P256_SHA256: return "ECDSA-P256-SHA256";
    case CUSTOS_SIG_RSA_PSS_SHA256:    return "RSA-PSS-SHA256";
    default:                           return "unknown";
    }
}

const char *
custos_stream_kind_to_string (CustosStreamKind kind)
{
  switch (kind)
    {
    case CUSTOS_STREAM_KIND_VIDEO:    return "video";
    case CUSTOS_STREAM_KIND_AUDIO:    return "audio";
    case CUSTOS_STREAM_KIND_METADATA: return "metadata";
    default:                          return "unknown";
    }
}
