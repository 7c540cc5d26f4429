/* test_cidr.c — IPv4 and IPv6 ranges (util/cidr.h): what parses, what is
 * refused (host bits beyond the prefix, bad prefixes), matching across
 * families and IPv4-mapped clients. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "util/cidr.h"

/* s as a socket address, IPv6 if it has a ':'. */
static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(s, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, s, &a->sin6_addr), 1, "%s", s);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, s, &a->sin_addr), 1, "%s", s);
	}
	return ss;
}

static bool in(const rg_cidr *c, size_t n, const char *s)
{
	struct sockaddr_storage ss = addr(s);
	return rg_cidr_match(c, n, (const struct sockaddr *)&ss);
}

Test(cidr, parse_and_match)
{
	rg_cidr c[3];
	cr_assert(rg_cidr_parse("10.0.0.0/8", &c[0]));
	cr_assert(rg_cidr_parse("192.168.1.7", &c[1]));
	cr_assert(rg_cidr_parse("0.0.0.0/0", &c[2]));
	cr_assert(in(c, 2, "10.200.3.4"));
	cr_assert(in(c, 2, "192.168.1.7"));
	cr_assert_not(in(c, 2, "192.168.1.8"));
	cr_assert(in(c, 3, "192.168.1.8"), "/0 is everyone");
	cr_assert_not(rg_cidr_match(NULL, 0, (const struct sockaddr *)&(struct sockaddr_storage){ 0 }),
		      "no ranges: nobody");
}

Test(cidr, ipv6_ranges)
{
	rg_cidr c[3];
	cr_assert(rg_cidr_parse("fd00:1234::/32", &c[0]));
	cr_assert(rg_cidr_parse("::1", &c[1]));
	cr_assert(rg_cidr_parse("2001:db8::/127", &c[2]));
	cr_assert_eq(c[0].family, AF_INET6);
	cr_assert_eq(c[1].bits, 128);
	cr_assert(in(c, 3, "fd00:1234:ffff::9"));
	cr_assert_not(in(c, 3, "fd00:1235::1"), "outside the /32");
	cr_assert(in(c, 3, "::1"));
	cr_assert_not(in(c, 3, "::2"));
	cr_assert(in(c, 3, "2001:db8::1"), "a /127 holds ::0 and ::1");
	cr_assert_not(in(c, 3, "2001:db8::2"));
	cr_assert(rg_cidr_parse("::/0", &c[0]));
	cr_assert(in(c, 1, "2001:db8::2"), "::/0 is every IPv6 client");
	cr_assert_not(in(c, 1, "10.0.0.1"), "but no IPv4 one");
}

/* A dual-stack [::] listener sees IPv4 clients as ::ffff:A.B.C.D: they are
 * in the IPv4 ranges, not in IPv6 ones that happen to cover ::ffff:0:0/96. */
Test(cidr, mapped_ipv4_matches_ipv4_ranges)
{
	rg_cidr c[2];
	cr_assert(rg_cidr_parse("127.0.0.0/8", &c[0]));
	cr_assert(in(c, 1, "::ffff:127.0.0.1"));
	cr_assert_not(in(c, 1, "::ffff:10.0.0.1"));
	cr_assert_not(in(c, 1, "::1"), "::1 is not 127.0.0.1");
	cr_assert(rg_cidr_parse("::/0", &c[1]));
	cr_assert_not(in(&c[1], 1, "::ffff:10.0.0.1"));
	cr_assert(in(c, 1, "127.0.0.1"));
}

Test(cidr, format)
{
	rg_cidr c;
	char text[64];
	cr_assert(rg_cidr_parse("10.1.0.0/16", &c));
	cr_assert_str_eq(rg_cidr_format(&c, text, sizeof text), "10.1.0.0/16");
	cr_assert(rg_cidr_parse("FD00:0::/8", &c));
	cr_assert_str_eq(rg_cidr_format(&c, text, sizeof text), "fd00::/8");
}

Test(cidr, refused)
{
	static const char *const bad[] = { "10.0.0.1/8", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x",
					   "1.2.3.4/-1", "", "/8", "1.2.3/24", "a.b.c.d",
					   "fd00::1/8", "::1/129", "::1/", "[::1]", "fe80::1%lo",
					   ":::1", "::1/+8" };
	rg_cidr c;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_not(rg_cidr_parse(bad[i], &c), "'%s'", bad[i]);
}
