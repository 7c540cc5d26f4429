/* test_cidr.c — IPv4 ranges (util/cidr.h): what parses, what is refused
 * (host bits beyond the prefix, bad prefixes, IPv6), and matching. */
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "util/cidr.h"

static struct sockaddr_in addr(const char *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	cr_assert_eq(inet_pton(AF_INET, s, &a.sin_addr), 1);
	return a;
}

Test(cidr, parse_and_match)
{
	rg_cidr c[3];
	cr_assert(rg_cidr_parse("10.0.0.0/8", &c[0]));
	cr_assert(rg_cidr_parse("192.168.1.7", &c[1]));
	cr_assert(rg_cidr_parse("0.0.0.0/0", &c[2]));
	struct sockaddr_in a = addr("10.200.3.4"), b = addr("192.168.1.7"), d = addr("192.168.1.8");
	cr_assert(rg_cidr_match(c, 2, &a));
	cr_assert(rg_cidr_match(c, 2, &b));
	cr_assert_not(rg_cidr_match(c, 2, &d));
	cr_assert(rg_cidr_match(c, 3, &d), "/0 is everyone");
	cr_assert_not(rg_cidr_match(NULL, 0, &a), "no ranges: nobody");
}

Test(cidr, refused)
{
	static const char *const bad[] = { "10.0.0.1/8", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x",
					   "1.2.3.4/-1", "::1", "", "/8", "1.2.3/24", "a.b.c.d" };
	rg_cidr c;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_not(rg_cidr_parse(bad[i], &c), "'%s'", bad[i]);
}
