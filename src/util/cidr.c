/* cidr.c — IPv4 and IPv6 ranges (cidr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"

/* Whether the first bits of a and b agree. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Whether every bit of a (n bytes) after the first bits is 0. */
static bool host_bits_clear(const uint8_t *a, size_t n, unsigned bits)
{
	for (unsigned i = bits; i < n * 8; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

bool rg_cidr_parse(const char *s, rg_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof host)
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	rg_cidr c = { 0 };
	c.family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, host, c.net) != 1)
		return false;
	unsigned max = c.family == AF_INET ? 32 : 128;
	c.bits = max;
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		long bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0 || bits > (long)max)
			return false;
		c.bits = (unsigned)bits;
	}
	if (!host_bits_clear(c.net, max / 8, c.bits))
		return false;
	*out = c;
	return true;
}

bool rg_cidr_match(const rg_cidr *list, size_t n, const struct sockaddr *addr)
{
	const uint8_t *bytes;
	int family = addr ? addr->sa_family : AF_UNSPEC;
	if (family == AF_INET) {
		bytes = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		bytes = v6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			family = AF_INET;
			bytes += 12;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].family == family && prefix_equal(bytes, list[i].net, list[i].bits))
			return true;
	return false;
}

char *rg_cidr_format(const rg_cidr *c, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	if (!inet_ntop(c->family, c->net, host, sizeof host))
		snprintf(host, sizeof host, "?");
	snprintf(out, size, "%s/%u", host, c->bits);
	return out;
}
