/* cidr.h — IPv4 and IPv6 address ranges (A.B.C.D/N, X:X::X/N) as the proxy's
 * front door uses them: who may force a side (proxy.force_header.from) and
 * whose X-Forwarded-For is believed (proxy.trusted_proxies). Pure; no
 * allocation. */
#ifndef RG_UTIL_CIDR_H
#define RG_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rg_cidr {
	int family;          /* AF_INET or AF_INET6 */
	unsigned bits;       /* prefix length: 0..32 or 0..128 */
	uint8_t net[16];     /* network order, already masked; 4 bytes for IPv4 */
} rg_cidr;

/* "A.B.C.D/N" (0..32), "X:X::X/N" (0..128), or a single address (/32,
 * /128). False for anything else, host bits set beyond the prefix included
 * ("10.0.0.1/8" is a typo for "10.0.0.0/8", refused rather than guessed). */
bool rg_cidr_parse(const char *s, rg_cidr *out);
/* Whether addr (AF_INET or AF_INET6; anything else matches nothing) is in
 * one of the n ranges. An IPv4-mapped IPv6 address (::ffff:A.B.C.D, an IPv4
 * client of a dual-stack listener) is matched as the IPv4 address it is. */
bool rg_cidr_match(const rg_cidr *list, size_t n, const struct sockaddr *addr);
/* "10.0.0.0/8", "fd00::/8" (size >= 64). Returns out. */
char *rg_cidr_format(const rg_cidr *c, char *out, size_t size);

#endif
