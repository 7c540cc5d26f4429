/* test_flags_api.c — the feature flag routes: OFREP's paths and what
 * `flag set` accepts as a state. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/flags.h"
#include "api/routes.h"

Test(api_flags, ofrep_paths)
{
	rg_route_match m;
	rg_error err;
	rg_error_clear(&err);
	cr_assert_eq(rg_route_find("POST", "/ofrep/v1/evaluate/flags/new-checkout", &m, &err),
		     RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "ofrep_one");
	cr_assert_str_eq(m.step, "new-checkout");
	cr_assert_eq(rg_route_find("POST", "/ofrep/v1/evaluate/flags", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "ofrep_bulk");
	cr_assert_eq(rg_route_find("GET", "/ofrep/v1/evaluate/flags", &m, &err), RG_ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow, "POST");
	cr_assert_eq(rg_route_find("GET", "/api/v1/flags", &m, &err), RG_ROUTE_FOUND);
	cr_assert_eq(rg_route_find("POST", "/api/v1/flags/banner", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "flag_set");
}

Test(api_flags, states)
{
	bool on;
	int rollout;
	rg_error err;
	rg_error_clear(&err);
	cr_assert_eq(rg_flag_state_parse("on", &on, &rollout, &err), RG_OK);
	cr_assert(on);
	cr_assert_eq(rollout, 100);
	cr_assert_eq(rg_flag_state_parse("off", &on, &rollout, &err), RG_OK);
	cr_assert_not(on);
	cr_assert_eq(rollout, -1, "off keeps the rollout");
	cr_assert_eq(rg_flag_state_parse("20%", &on, &rollout, &err), RG_OK);
	cr_assert(on);
	cr_assert_eq(rollout, 20);
	cr_assert_eq(rg_flag_state_parse("0%", &on, &rollout, &err), RG_OK);
	cr_assert_eq(rollout, 0);
	cr_assert_eq(rg_flag_state_parse("100", &on, &rollout, &err), RG_OK);
	cr_assert_eq(rollout, 100);
	const char *bad[] = { "", "%", "101%", "12.5%", "-1%", "ON", "sideways", "020%" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(rg_flag_state_parse(bad[i], &on, &rollout, &err), RG_EINVAL, "'%s'", bad[i]);
		cr_assert_str_eq(err.field, "state");
	}
	cr_assert_eq(rg_flag_state_parse(NULL, &on, &rollout, &err), RG_EINVAL);
}
