/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "custos-certificate.h"
#include "custos-crypto.h"
#include "custos-format.h"
#include "custos-key-cache.h"
#include "custos-key-provider.h"
#include "custos-keyring.h"
#include "custos-local-key-provider.h"
#include "custos-reader.h"
#include "custos-record.h"
#include "custos-report.h"
#include "custos-rewrap.h"
#include "custos-secret.h"
#include "custos-seal.h"
#include "custos-writer.h"
