/* test_config_flags.c — the `flags:` section and a trigger's disable_flag:
 * types taken from the default, per-environment settings, and every
 * problem at its file position. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_flags, .init = cfg_dir_make, .fini = cfg_dir_remove);

Test(config_flags, as_written)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE
		    "flags:\n"
		    "  new-checkout: { default: false, envs: { production: { enabled: true, rollout: 20% } } }\n"
		    "  banner: { default: classic, value: \"new\", envs: { staging: { targets: [alice] } } }\n"
		    "  limit: { default: 10, value: 2.5 }\n"
		    "  quoted: { default: \"true\", value: \"false\" }\n");
	cr_assert_eq(L.cfg.n_flags, 4);
	const rg_flag *f = rg_config_flag(&L.cfg, "new-checkout");
	cr_assert_eq(f->type, RG_FLAG_BOOL);
	cr_assert_str_eq(f->off_json, "false");
	cr_assert_str_eq(f->on_json, "true");
	const rg_flag_env *p = rg_flag_env_of(f, "production");
	cr_assert(p->enabled);
	cr_assert_eq(p->rollout, 20);
	cr_assert_null(rg_flag_env_of(f, "staging"));
	const rg_flag *b = rg_config_flag(&L.cfg, "banner");
	cr_assert_eq(b->type, RG_FLAG_STRING);
	cr_assert_str_eq(b->on_json, "\"new\"");
	cr_assert_eq(rg_flag_env_of(b, "staging")->rollout, 100, "rollout defaults to 100%%");
	cr_assert_str_eq(rg_flag_env_of(b, "staging")->targets[0], "alice");
	cr_assert_eq(rg_config_flag(&L.cfg, "limit")->type, RG_FLAG_NUMBER);
	cr_assert_str_eq(rg_config_flag(&L.cfg, "limit")->off_json, "10");
	cr_assert_eq(rg_config_flag(&L.cfg, "quoted")->type, RG_FLAG_STRING,
		     "a quoted \"true\" is text, not a boolean");
	cfg_release(&L);
}

Test(config_flags, problems_at_their_place)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE
		 "flags:\n"
		 "  bad/name: { default: false }\n"
		 "  a: { value: true }\n"
		 "  b: { default: false, value: blue }\n"
		 "  c: { default: red }\n"
		 "  d: { default: false, envs: { prod: {}, staging: { rollout: 12.5%, enabled: yes } } }\n"
		 "  e: { default: false, colour: red }\n");
	cfg_expect(&L, 9, 3, "invalid flag name 'bad/name' (use letters, digits, '.', '_', '+' and '-', "
			     "starting with a letter or digit, at most 64)");
	cfg_expect(&L, 10, 6, "missing required key 'default' in flag");
	cfg_expect(&L, 11, 31, "'value' of flag 'b' must be a boolean like its default (got a string)");
	cfg_expect(&L, 12, 6, "flag 'c' needs 'value' (the string served when it is on)");
	cfg_expect(&L, 13, 32, "unknown environment 'prod' (defined: staging, production)");
	cfg_expect(&L, 13, 62, "invalid rollout '12.5%' (use a whole percentage from 0% to 100%, like 20%)");
	cfg_expect(&L, 13, 78, "expected true or false for 'enabled' (got 'yes')");
	cfg_expect_has(&L, "unknown key 'colour' in flag");
	cfg_release(&L);
}

Test(config_flags, disable_flag_names_a_flag)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE
		    "checks:\n"
		    "  checkout: { run: ./check }\n"
		    "triggers:\n"
		    "  - { name: checkout, check: checkout, every: 1s, failures: 2, severity: P2, disable_flag: new-checkout }\n"
		    "flags:\n"
		    "  new-checkout: { default: false, envs: { production: {} } }\n");
	cr_assert_str_eq(L.cfg.triggers[0].disable_flag, "new-checkout");
	cfg_release(&L);
	cfg_load(&L, CFG_BASE
		 "checks:\n"
		 "  checkout: { run: ./check }\n"
		 "triggers:\n"
		 "  - { name: checkout, check: checkout, disable_flag: new-chekout }\n"
		 "flags:\n"
		 "  new-checkout: { default: false }\n");
	cfg_expect_only(&L, 11, 54, "undefined flag 'new-chekout' (did you mean 'new-checkout'?)");
	cfg_release(&L);
}
