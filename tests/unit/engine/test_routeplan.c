/* Unit tests for routeplan: the route states of traffic steps and rollbacks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "engine/routeplan.h"

static rg_route_state stable_only(const char *version, const char *backends)
{
	rg_route_state s;
	rg_routeplan_only("prod", version, backends, 1, &s);
	return s;
}

Test(routeplan, normalizes_backend_lists)
{
	char out[RG_BACKENDS_LEN];
	rg_error err = { 0 };
	cr_assert_eq(rg_backends_normalize(" 127.0.0.1:9002 ,127.0.0.1:9003\t10.0.0.1:80", out, sizeof out, &err), RG_OK);
	cr_assert_str_eq(out, "127.0.0.1:9002,127.0.0.1:9003,10.0.0.1:80");
	cr_assert_eq(rg_backends_normalize("127.0.0.1:9002", out, sizeof out, &err), RG_OK);
	cr_assert_str_eq(out, "127.0.0.1:9002");
	/* IPv6 and localhost, each written the one way the proxy names it */
	cr_assert_eq(rg_backends_normalize("[::1]:9002, [0:0::1]:9003 localhost:9004", out, sizeof out,
					   &err), RG_OK);
	cr_assert_str_eq(out, "[::1]:9002,[::1]:9003,127.0.0.1:9004");
}

/* 64 backends of the longest IPv6 form fit, a 65th is refused. */
Test(routeplan, sixty_four_long_ipv6_backends_fit)
{
	static char in[65 * 64], out[RG_BACKENDS_LEN];
	size_t used = 0;
	for (int i = 0; i < 65; i++)
		used += (size_t)snprintf(in + used, sizeof in - used, "%s[fd00:1111:2222:3333:4444:5555:6666:%04x]:65535",
					 i ? "," : "", i + 0xa000);
	rg_error err = { 0 };
	char *last = strrchr(in, ',');
	*last = '\0';
	cr_assert_eq(rg_backends_normalize(in, out, sizeof out, &err), RG_OK, "%s", err.message);
	cr_assert_eq(strlen(out), 64 * 47 + 63);
	cr_assert(strstr(out, "[fd00:1111:2222:3333:4444:5555:6666:a03f]:65535"));
	*last = ',';
	cr_assert_eq(rg_backends_normalize(in, out, sizeof out, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "at most 64"), "%s", err.message);
}

Test(routeplan, rejects_bad_backends_naming_them)
{
	char out[RG_BACKENDS_LEN];
	const char *bad[] = { "", " , ", "localhost", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
			      "127.0.0.1:80x", "127.0.0.1:80;rm", "1.2.3:80", "::1:80", "[::1]",
			      "[::]:80", "0.0.0.0:80" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rg_error err = { 0 };
		cr_assert_eq(rg_backends_normalize(bad[i], out, sizeof out, &err), RG_EINVAL, "%s", bad[i]);
		cr_assert_str_eq(err.field, "backend");
	}
	rg_error err = { 0 };
	rg_backends_normalize("127.0.0.1:80,nope:1", out, sizeof out, &err);
	cr_assert(strstr(err.message, "'nope:1'"), "%s", err.message);
}

Test(routeplan, share_keeps_stable_and_sets_canary)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), st;
	rg_routeplan_share(&cur, "v2", "127.0.0.1:9002", 10, 77, 5, &st);
	cr_assert_str_eq(st.stable_version, "v1");
	cr_assert_str_eq(st.stable, "127.0.0.1:9001");
	cr_assert_str_eq(st.canary_version, "v2");
	cr_assert_eq(st.canary_weight, 10);
	cr_assert_eq(st.seed, 77);
	cr_assert_eq(st.run_id, 5);
	char d[200];
	rg_routeplan_describe(&st, d, sizeof d);
	cr_assert_str_eq(d, "v2 10% · v1 90%");
}

Test(routeplan, promote_keeps_old_release_standing_by)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), shared, st;
	rg_routeplan_share(&cur, "v2", "127.0.0.1:9002", 50, 1, 5, &shared);
	rg_routeplan_promote(&shared, "v2", "127.0.0.1:9002", 5, &st);
	cr_assert_str_eq(st.stable_version, "v2");
	cr_assert_str_eq(st.canary, "");
	cr_assert_eq(st.canary_weight, 0);
	cr_assert_str_eq(st.standby_version, "v1");
	cr_assert_str_eq(st.standby, "127.0.0.1:9001");
	rg_route_state retired;
	rg_routeplan_retired(&st, 5, &retired);
	cr_assert_str_eq(retired.standby, "");
	cr_assert_str_eq(retired.stable_version, "v2");
}

Test(routeplan, promote_of_same_release_has_no_standby)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), st;
	rg_routeplan_promote(&cur, "v1", "127.0.0.1:9001", 5, &st);
	cr_assert_str_eq(st.standby, "");
}

Test(routeplan, rollback_of_a_canary_sets_its_share_to_zero)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), shared, st;
	rg_routeplan_share(&cur, "v2", "127.0.0.1:9002", 10, 1, 5, &shared);
	cr_assert(rg_routeplan_without(&shared, "v2", 5, &st));
	cr_assert_str_eq(st.canary, "");
	cr_assert_eq(st.canary_weight, 0);
	cr_assert_str_eq(st.stable_version, "v1");
}

Test(routeplan, rollback_after_promotion_swaps_to_the_standby)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), promoted, st;
	rg_routeplan_promote(&cur, "v2", "127.0.0.1:9002", 5, &promoted);
	cr_assert(rg_routeplan_without(&promoted, "v2", 5, &st));
	cr_assert_str_eq(st.stable_version, "v1");
	cr_assert_str_eq(st.stable, "127.0.0.1:9001");
	cr_assert_str_eq(st.standby, "");
}

Test(routeplan, rollback_without_standby_leaves_the_route_alone)
{
	rg_route_state cur = stable_only("v2", "127.0.0.1:9002"), st;
	cr_assert(!rg_routeplan_without(&cur, "v2", 5, &st));
	cr_assert_str_eq(st.stable_version, "v2");
}

Test(routeplan, rollback_of_a_release_not_in_traffic_changes_nothing)
{
	rg_route_state cur = stable_only("v1", "127.0.0.1:9001"), st;
	cr_assert(!rg_routeplan_without(&cur, "v9", 5, &st));
	cr_assert(memcmp(&st, &cur, sizeof st) == 0);
}
