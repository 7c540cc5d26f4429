/* hostport.h — the one reading of HOST:PORT that every listener (server.listen,
 * proxy.listen) and every backend address goes through: "A.B.C.D:PORT",
 * "[IPv6]:PORT" (brackets required) and "localhost:PORT". It never resolves
 * a name: nothing here may block the loop, and a name could mean anything
 * tomorrow. Pure; no allocation. */
#ifndef RG_UTIL_HOSTPORT_H
#define RG_UTIL_HOSTPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

/* An IPv4 or IPv6 socket address and its length, as bind, connect and
 * accept take it. Plain data: copied freely. */
typedef struct rg_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
} rg_sockaddr;

/* What an address is for. */
typedef enum rg_hostport_use {
	/* A backend to connect to: a unicast address, port 1..65535. */
	RG_HOSTPORT_CONNECT,
	/* An address to listen on: also 0.0.0.0, "*" (both IPv4 any) and [::]. */
	RG_HOSTPORT_LISTEN,
	/* The same, port 0 allowed too (the kernel picks a free one). */
	RG_HOSTPORT_LISTEN_ANY_PORT,
} rg_hostport_use;

/* "[ffff:…:ffff]:65535" and its NUL fit. */
#define RG_HOSTPORT_LEN 64
/* An address without port, IPv6 included, and its NUL. */
#define RG_HOST_LEN INET6_ADDRSTRLEN

/* What every HOST:PORT error shows. */
#define RG_HOSTPORT_EXAMPLE "e.g. 127.0.0.1:8080 or [::1]:8080"
#define RG_HOSTPORT_EXPECTED "expected HOST:PORT, " RG_HOSTPORT_EXAMPLE

/* s as use allows; NULL on success, else a static reason ("port must be
 * 1..65535", RG_HOSTPORT_EXPECTED, …) and *out is undefined. The port is
 * digits only, no sign, blank or leading zero. */
const char *rg_hostport_check(const char *s, rg_hostport_use use, rg_sockaddr *out);
/* The same as an error naming field and s:
 * "invalid listen address '[::1]:x': port must be 0..65535". */
rg_err rg_hostport_parse(const char *s, rg_hostport_use use, const char *field,
			 rg_sockaddr *out, rg_error *err);

/* "127.0.0.1:8080" or "[::1]:8080" (size >= RG_HOSTPORT_LEN); "?" for a
 * family that is neither. Returns out. */
char *rg_sockaddr_format(const struct sockaddr *sa, char *out, size_t size);
/* The address alone, "127.0.0.1" or "::1" (size >= RG_HOST_LEN). */
char *rg_sockaddr_host(const struct sockaddr *sa, char *out, size_t size);
/* The port in host order; 0 for an unknown family. */
int rg_sockaddr_port(const struct sockaddr *sa);
/* Same family, address and port. */
bool rg_sockaddr_equal(const rg_sockaddr *a, const rg_sockaddr *b);
/* 127.0.0.0/8 or ::1 (or ::ffff:127.x.y.z). */
bool rg_sockaddr_is_loopback(const struct sockaddr *sa);
/* An IPv4 client seen through a dual-stack [::] listener arrives as
 * ::ffff:A.B.C.D; rewritten in place as the plain IPv4 address, so logs,
 * X-Forwarded-For, CIDR ranges and per-client counts see one form. */
void rg_sockaddr_unmap(rg_sockaddr *a);

#endif
