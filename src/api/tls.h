/* tls.h — the API's TLS certificate and private key (server.tls), read
 * into memory when serve starts, for libmicrohttpd (MHD_USE_TLS with
 * MHD_OPTION_HTTPS_MEM_CERT / _KEY). Messages name the files, never hold
 * what is in them. */
#ifndef RG_API_TLS_H
#define RG_API_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct rg_tls_pem {
	char *cert;      /* owned, NUL-terminated PEM */
	char *key;       /* owned, NUL-terminated PEM; wiped on release */
	size_t key_len;
} rg_tls_pem;

/* Whether this libmicrohttpd can serve TLS at all. */
bool rg_tls_supported(void);
/* Reads both files into out (zeroed first). RG_EIO naming the file when
 * one cannot be read, RG_EINVAL when one is empty or not text,
 * RG_ETOOLARGE past 1 MiB. On failure out holds nothing. */
rg_err rg_tls_pem_load(const char *cert_path, const char *key_path, rg_tls_pem *out,
		       rg_error *err);
/* Wipes the key and frees both; out is zeroed. */
void rg_tls_pem_release(rg_tls_pem *p);

#endif
