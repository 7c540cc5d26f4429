/* test_hostport.c — HOST:PORT (util/hostport.h): the forms every listener
 * and backend takes, what each use refuses, and the one way an address is
 * written back. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "util/hostport.h"

static const char *fmt(const rg_sockaddr *a)
{
	static char out[RG_HOSTPORT_LEN];
	return rg_sockaddr_format((const struct sockaddr *)&a->ss, out, sizeof out);
}

Test(hostport, ipv4_ipv6_and_localhost)
{
	rg_sockaddr a;
	cr_assert_null(rg_hostport_check("127.0.0.1:7070", RG_HOSTPORT_CONNECT, &a));
	cr_assert_eq(a.ss.ss_family, AF_INET);
	cr_assert_eq(a.len, sizeof(struct sockaddr_in));
	cr_assert_eq(rg_sockaddr_port((const struct sockaddr *)&a.ss), 7070);
	cr_assert_str_eq(fmt(&a), "127.0.0.1:7070");
	cr_assert_null(rg_hostport_check("[::1]:8080", RG_HOSTPORT_CONNECT, &a));
	cr_assert_eq(a.ss.ss_family, AF_INET6);
	cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
	cr_assert_str_eq(fmt(&a), "[::1]:8080");
	cr_assert_null(rg_hostport_check("[2001:DB8:0:0::7]:443", RG_HOSTPORT_CONNECT, &a));
	cr_assert_str_eq(fmt(&a), "[2001:db8::7]:443", "written the one canonical way");
	cr_assert_null(rg_hostport_check("localhost:80", RG_HOSTPORT_CONNECT, &a));
	cr_assert_str_eq(fmt(&a), "127.0.0.1:80");
	char host[RG_HOST_LEN];
	cr_assert_null(rg_hostport_check("[fd00::5]:1", RG_HOSTPORT_CONNECT, &a));
	cr_assert_str_eq(rg_sockaddr_host((const struct sockaddr *)&a.ss, host, sizeof host), "fd00::5");
}

Test(hostport, listen_forms)
{
	rg_sockaddr a;
	cr_assert_null(rg_hostport_check("0.0.0.0:7070", RG_HOSTPORT_LISTEN, &a));
	cr_assert_null(rg_hostport_check("*:7070", RG_HOSTPORT_LISTEN, &a));
	cr_assert_str_eq(fmt(&a), "0.0.0.0:7070");
	cr_assert_null(rg_hostport_check("[::]:7070", RG_HOSTPORT_LISTEN, &a));
	cr_assert_str_eq(fmt(&a), "[::]:7070");
	cr_assert_str_eq(rg_hostport_check("[::1]:0", RG_HOSTPORT_LISTEN, &a), "port must be 1..65535");
	cr_assert_null(rg_hostport_check("[::1]:0", RG_HOSTPORT_LISTEN_ANY_PORT, &a));
	cr_assert_null(rg_hostport_check("127.0.0.1:0", RG_HOSTPORT_LISTEN_ANY_PORT, &a));
	/* a backend is one host */
	cr_assert_str_eq(rg_hostport_check("0.0.0.0:80", RG_HOSTPORT_CONNECT, &a), "not a unicast address");
	cr_assert_str_eq(rg_hostport_check("[::]:80", RG_HOSTPORT_CONNECT, &a), "not a unicast address");
	cr_assert_str_eq(rg_hostport_check("[ff02::1]:80", RG_HOSTPORT_CONNECT, &a), "not a unicast address");
	cr_assert_str_eq(rg_hostport_check("224.0.0.1:80", RG_HOSTPORT_CONNECT, &a), "not a unicast address");
	cr_assert_not_null(rg_hostport_check("*:80", RG_HOSTPORT_CONNECT, &a));
}

Test(hostport, refused)
{
	static const char *const bad[] = {
		"", "7070", ":7070", "127.0.0.1:", "127.0.0.1:65536", "host:1", "127.0.0.1:-1",
		"127.0.0.1:70x", "127.0.0.1:+80", "127.0.0.1:080", "127.0.0.1: 80", "::1:8080",
		"[::1]", "[::1]8080", "[]:80", "[127.0.0.1]:80", "[::1%lo]:80", "[::g]:80",
		"1.2.3:80", "example.com:443", "[::1]:123456",
	};
	rg_sockaddr a;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_not_null(rg_hostport_check(bad[i], RG_HOSTPORT_LISTEN_ANY_PORT, &a), "'%s'", bad[i]);
	cr_assert_not_null(rg_hostport_check(NULL, RG_HOSTPORT_LISTEN, &a));
	cr_assert_str_eq(rg_hostport_check("::1:8080", RG_HOSTPORT_CONNECT, &a),
			 "an IPv6 address needs brackets, e.g. [::1]:8080");
}

Test(hostport, errors_name_the_field_and_the_value)
{
	rg_sockaddr a;
	rg_error err;
	cr_assert_eq(rg_hostport_parse("nope", RG_HOSTPORT_LISTEN, "listen", &a, &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "listen");
	cr_assert_str_eq(err.message, "invalid listen address 'nope': expected HOST:PORT, e.g. "
				      "127.0.0.1:8080 or [::1]:8080");
	cr_assert_eq(rg_hostport_parse("[::1]:8080", RG_HOSTPORT_LISTEN, "listen", &a, &err), RG_OK);
}

Test(hostport, equal_loopback_unmap)
{
	rg_sockaddr a, b;
	cr_assert_null(rg_hostport_check("[::1]:80", RG_HOSTPORT_CONNECT, &a));
	cr_assert_null(rg_hostport_check("[0:0::1]:80", RG_HOSTPORT_CONNECT, &b));
	cr_assert(rg_sockaddr_equal(&a, &b));
	cr_assert(rg_sockaddr_is_loopback((const struct sockaddr *)&a.ss));
	cr_assert_null(rg_hostport_check("[::1]:81", RG_HOSTPORT_CONNECT, &b));
	cr_assert_not(rg_sockaddr_equal(&a, &b), "another port");
	cr_assert_null(rg_hostport_check("127.0.0.1:80", RG_HOSTPORT_CONNECT, &b));
	cr_assert_not(rg_sockaddr_equal(&a, &b), "another family");
	cr_assert(rg_sockaddr_is_loopback((const struct sockaddr *)&b.ss));
	cr_assert_null(rg_hostport_check("[::ffff:10.1.2.3]:5", RG_HOSTPORT_CONNECT, &a));
	cr_assert_not(rg_sockaddr_is_loopback((const struct sockaddr *)&a.ss));
	rg_sockaddr_unmap(&a);
	cr_assert_eq(a.ss.ss_family, AF_INET);
	cr_assert_eq(a.len, sizeof(struct sockaddr_in));
	cr_assert_str_eq(fmt(&a), "10.1.2.3:5");
	rg_sockaddr_unmap(&b);
	cr_assert_str_eq(fmt(&b), "127.0.0.1:80", "IPv4 stays as it is");
}
