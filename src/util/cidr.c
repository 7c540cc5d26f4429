/* cidr.c — IPv4 ranges (cidr.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"

bool rg_cidr_parse(const char *s, rg_cidr *out)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof host)
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return false;
	long bits = 32;
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0 || bits > 32)
			return false;
	}
	uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
	uint32_t ip = ntohl(a.s_addr);
	if (ip & ~mask)
		return false;
	out->net = ip;
	out->mask = mask;
	return true;
}

bool rg_cidr_match(const rg_cidr *list, size_t n, const struct sockaddr_in *addr)
{
	uint32_t ip = ntohl(addr->sin_addr.s_addr);
	for (size_t i = 0; i < n; i++)
		if ((ip & list[i].mask) == list[i].net)
			return true;
	return false;
}
