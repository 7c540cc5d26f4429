/* test_config_notify.c — the `notify:` section: channels of every kind,
 * routes, and every problem at its file position; channel secrets read
 * from the environment only when asked. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#include "../support/config_load.h"

TestSuite(config_notify, .init = cfg_dir_make, .fini = cfg_dir_remove);

Test(config_notify, as_written)
{
	cfg_loaded L;
	cfg_load_ok(&L, CFG_BASE
		    "server: { public_url: \"https://rollguard.example\" }\n"
		    "notify:\n"
		    "  channels:\n"
		    "    devops: { slack: { url_env: T_SLACK_URL } }\n"
		    "    oncall: { pagerduty: { routing_key_env: T_PD_KEY } }\n"
		    "    leads: { email: { smtp: \"smtp://127.0.0.1:25\", from: rg@example.com, to: [cto@example.com] } }\n"
		    "    audit: { webhook: { url: \"http://127.0.0.1:9000/hook\", secret_env: T_HOOK } }\n"
		    "    pager: { run: ./page.sh, timeout: 5s }\n"
		    "  routes:\n"
		    "    - { events: [rollback_started, run_failed], envs: [production], to: [devops] }\n"
		    "    - { events: [approval_requested], to: [devops, leads] }\n");
	cr_assert_eq(L.cfg.n_channels, 5);
	cr_assert_str_eq(L.cfg.public_url, "https://rollguard.example");
	const rg_channel *pd = rg_config_channel(&L.cfg, "oncall");
	cr_assert_eq(pd->kind, RG_CHANNEL_PAGERDUTY);
	cr_assert_str_eq(pd->url, "https://events.pagerduty.com/v2/enqueue");
	cr_assert_str_eq(pd->key.env, "T_PD_KEY");
	cr_assert_null(pd->key.value, "secrets are read only when asked");
	cr_assert_eq(rg_config_channel(&L.cfg, "pager")->timeout_ms, 5000);
	cr_assert_eq(rg_config_channel(&L.cfg, "leads")->n_to, 1);
	cr_assert_eq(L.cfg.n_notify_routes, 2);

	setenv("T_SLACK_URL", "https://hooks.example/services/abc", 1);
	setenv("T_PD_KEY", "pd-routing-key-1", 1);
	unsetenv("T_HOOK");
	rg_diags d = { 0 };
	rg_error err = { 0 };
	cr_assert_eq(rg_notify_secrets_load(&L.cfg, &d, &err), RG_EINVAL);
	cr_assert_eq(d.n, 1);
	cr_assert(strstr(d.items[0].message, "environment variable 'T_HOOK' is not set"));
	cr_assert_str_eq(rg_config_channel(&L.cfg, "devops")->url_ref.value,
			 "https://hooks.example/services/abc");
	rg_diags_release(&d);
	cfg_release(&L);
}

Test(config_notify, problems_at_their_place)
{
	cfg_loaded L;
	cfg_load(&L, CFG_BASE
		 "notify:\n"
		 "  channels:\n"
		 "    a: { slack: { url: x } }\n"
		 "    b: { telegram: {} }\n"
		 "    c: { email: { smtp: \"http://x\", from: nobody, to: [x@y] } }\n"
		 "  routes:\n"
		 "    - { events: [rollback_sarted], envs: [prod], to: [aa] }\n");
	cfg_expect(&L, 10, 17, "slack needs 'url_env' or 'url_file'");
	cfg_expect(&L, 10, 19, "unknown key 'url' in slack (valid keys: url_env, url_file)");
	cfg_expect(&L, 11, 10, "unknown key 'telegram' in channel (valid keys: slack, pagerduty, email, "
			       "webhook, run, timeout)");
	cfg_expect(&L, 11, 5, "channel 'b' needs one of slack, pagerduty, email, webhook or run");
	cfg_expect(&L, 12, 25, "invalid smtp 'http://x' (use smtp://host:port)");
	cfg_expect(&L, 12, 43, "invalid e-mail address 'nobody' for 'from'");
	cfg_expect(&L, 14, 18, "unknown event 'rollback_sarted' (did you mean 'rollback_started'?)");
	cfg_expect(&L, 14, 43, "unknown environment 'prod' (defined: staging, production)");
	cfg_expect(&L, 14, 55, "unknown channel 'aa' (defined: a, b, c)");
	cfg_release(&L);
}
