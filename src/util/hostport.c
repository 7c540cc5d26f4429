/* hostport.c — HOST:PORT in and out (hostport.h). */
#include "util/hostport.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Digits only, no leading zero but "0" itself, at most 65535. */
static const char *parse_port(const char *p, rg_hostport_use use, uint16_t *out)
{
	bool any = use == RG_HOSTPORT_LISTEN_ANY_PORT;
	const char *range = any ? "port must be 0..65535" : "port must be 1..65535";
	size_t n = strlen(p);
	if (n == 0)
		return RG_HOSTPORT_EXPECTED;
	if (n > 5 || (p[0] == '0' && n > 1))
		return range;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return range;
		v = v * 10 + (p[i] - '0');
	}
	if (v > 65535 || (v == 0 && !any))
		return range;
	*out = (uint16_t)v;
	return NULL;
}

static const char *parse_v6(const char *s, const char **rest, struct sockaddr_in6 *a)
{
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN];
	size_t n = close ? (size_t)(close - s - 1) : 0;
	if (!close || close[1] != ':')
		return RG_HOSTPORT_EXPECTED;
	if (n == 0 || n >= sizeof host)
		return "not an IPv6 address between the brackets";
	memcpy(host, s + 1, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
		return "not an IPv6 address between the brackets";
	a->sin6_family = AF_INET6;
	*rest = close + 2;
	return NULL;
}

static const char *parse_v4(const char *s, rg_hostport_use use, const char **rest,
			    struct sockaddr_in *a)
{
	const char *colon = strchr(s, ':');
	char host[INET_ADDRSTRLEN + 8];
	size_t n = colon ? (size_t)(colon - s) : 0;
	if (colon && strchr(colon + 1, ':'))
		return "an IPv6 address needs brackets, e.g. [::1]:8080";
	if (!colon || n == 0)
		return RG_HOSTPORT_EXPECTED;
	if (n >= sizeof host)
		return "host must be an IPv4 address, a bracketed IPv6 address or localhost";
	memcpy(host, s, n);
	host[n] = '\0';
	a->sin_family = AF_INET;
	if (strcmp(host, "localhost") == 0)
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (strcmp(host, "*") == 0 && use != RG_HOSTPORT_CONNECT)
		a->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return "host must be an IPv4 address, a bracketed IPv6 address or localhost";
	*rest = colon + 1;
	return NULL;
}

/* A backend must be one host: not "any", not a multicast group (nor
 * 240.0.0.0/4 and the broadcast address above it). */
static bool unicast(const rg_sockaddr *a)
{
	if (a->ss.ss_family == AF_INET) {
		uint32_t v = ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr);
		return v != 0 && (v >> 28) < 0xe;
	}
	const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	return !IN6_IS_ADDR_UNSPECIFIED(v6) && !IN6_IS_ADDR_MULTICAST(v6);
}

const char *rg_hostport_check(const char *s, rg_hostport_use use, rg_sockaddr *out)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s || strpbrk(s, " \t\r\n"))
		return RG_HOSTPORT_EXPECTED;
	const char *rest = NULL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	const char *why = s[0] == '[' ? parse_v6(s, &rest, v6) : parse_v4(s, use, &rest, v4);
	if (why)
		return why;
	uint16_t port = 0;
	if ((why = parse_port(rest, use, &port)))
		return why;
	if (out->ss.ss_family == AF_INET) {
		v4->sin_port = htons(port);
		out->len = sizeof *v4;
	} else {
		v6->sin6_port = htons(port);
		out->len = sizeof *v6;
	}
	if (use == RG_HOSTPORT_CONNECT && !unicast(out))
		return "not a unicast address";
	return NULL;
}

rg_err rg_hostport_parse(const char *s, rg_hostport_use use, const char *field,
			 rg_sockaddr *out, rg_error *err)
{
	const char *why = rg_hostport_check(s, use, out);
	if (!why)
		return RG_OK;
	return rg_fail(err, RG_EINVAL, field, "invalid %s address '%.100s': %s", field,
		       s ? s : "", why);
}

char *rg_sockaddr_host(const struct sockaddr *sa, char *out, size_t size)
{
	const void *bytes = NULL;
	if (sa->sa_family == AF_INET)
		bytes = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		bytes = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!bytes || !inet_ntop(sa->sa_family, bytes, out, (socklen_t)size))
		snprintf(out, size, "?");
	return out;
}

int rg_sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

char *rg_sockaddr_format(const struct sockaddr *sa, char *out, size_t size)
{
	char host[RG_HOST_LEN];
	rg_sockaddr_host(sa, host, sizeof host);
	if (sa->sa_family == AF_INET6)
		snprintf(out, size, "[%s]:%d", host, rg_sockaddr_port(sa));
	else if (sa->sa_family == AF_INET)
		snprintf(out, size, "%s:%d", host, rg_sockaddr_port(sa));
	else
		snprintf(out, size, "?");
	return out;
}

bool rg_sockaddr_equal(const rg_sockaddr *a, const rg_sockaddr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
		       x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id;
	}
	return false;
}

bool rg_sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *v6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
}

void rg_sockaddr_unmap(rg_sockaddr *a)
{
	if (a->ss.ss_family != AF_INET6)
		return;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
	if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
		return;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = v6->sin6_port };
	memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
	memset(&a->ss, 0, sizeof a->ss);
	memcpy(&a->ss, &v4, sizeof v4);
	a->len = sizeof v4;
}
