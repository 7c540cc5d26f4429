/* cidr.h — IPv4 address ranges (A.B.C.D/N) as the proxy's front door uses
 * them: who may force a side (proxy.force_header.from) and whose
 * X-Forwarded-For is believed (proxy.trusted_proxies). Pure; no allocation. */
#ifndef RG_UTIL_CIDR_H
#define RG_UTIL_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_cidr {
	uint32_t net;   /* host order, already masked */
	uint32_t mask;  /* host order */
} rg_cidr;

/* "A.B.C.D/N" (0..32) or "A.B.C.D" (/32). False for anything else,
 * host bits set beyond the prefix included ("10.0.0.1/8" is a typo for
 * "10.0.0.0/8", refused rather than guessed). */
bool rg_cidr_parse(const char *s, rg_cidr *out);
/* Whether addr is in one of the n ranges. */
bool rg_cidr_match(const rg_cidr *list, size_t n, const struct sockaddr_in *addr);

#endif
