/* test_routers.c — routers/ against the real things: the command router
 * runs real scripts, the HAProxy router talks to a real haproxy started
 * here from a generated config (it is a dependency: a missing haproxy fails
 * these tests, it does not skip them), the proxy router drives the real
 * dataplane. Every test leaves nothing running: its suite's fini kills the
 * haproxy it started, and each test closes its loop empty. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "dataplane/dataplane.h"
#include "routers/routers.h"

#define HAPROXY "/usr/sbin/haproxy"

static char dir[64];
static pid_t haproxy_pid = -1;
static int hang_fd = -1;

static void make_dir(void)
{
	strcpy(dir, "/tmp/rg-routers-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	if (haproxy_pid > 0) {
		kill(haproxy_pid, SIGKILL);
		waitpid(haproxy_pid, NULL, 0);
		haproxy_pid = -1;
	}
	if (hang_fd >= 0)
		close(hang_fd);
	hang_fd = -1;
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(routers_command, .init = make_dir, .fini = cleanup, .timeout = 30);
TestSuite(routers_haproxy, .init = make_dir, .fini = cleanup, .timeout = 30);
TestSuite(routers_proxy, .init = make_dir, .fini = cleanup, .timeout = 30);
TestSuite(routers_queue, .init = make_dir, .fini = cleanup, .timeout = 30);

/* ---- helpers --------------------------------------------------------------- */

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, mode), 0);
}

/* The file's text (owned), or NULL when it does not exist. */
static char *read_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void load_config(rg_config *cfg, const char *yaml)
{
	char path[256];
	snprintf(path, sizeof path, "%s/rollguard.yaml", dir);
	write_file("rollguard.yaml", yaml, 0644);
	rg_diags d = { 0 };
	rg_error err = { 0 };
	rg_err rc = rg_config_load(path, cfg, &d, &err);
	char all[1024] = "";
	for (size_t i = 0; i < d.n; i++)
		snprintf(all + strlen(all), sizeof all - strlen(all), "\n  %d:%d: %s",
			 d.items[i].line, d.items[i].col, d.items[i].message);
	rg_diags_release(&d);
	cr_assert_eq(rc, RG_OK, "config: %s%s", err.message, all);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static rg_route_state state(const char *env, const char *stable, const char *canary, int w)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.env, sizeof st.env, "%s", env);
	snprintf(st.stable_version, sizeof st.stable_version, "v1");
	snprintf(st.stable, sizeof st.stable, "%s", stable);
	snprintf(st.canary_version, sizeof st.canary_version, "%s", canary[0] ? "v2" : "");
	snprintf(st.canary, sizeof st.canary, "%s", canary);
	st.canary_weight = w;
	return st;
}

typedef struct outcome {
	int calls;
	rg_err rc;
	char msg[512];
	int64_t us;
	int order;          /* position among the outcomes of a test, from 1 */
	int *counter;       /* shared by the outcomes of a test */
	rg_routers **free_me; /* rg_routers_free from inside done */
	rg_route_op *cancel_me; /* rg_route_op_cancel from inside done */
} outcome;

static void on_done(void *ctx, rg_err rc, const char *msg, int64_t us)
{
	outcome *o = ctx;
	o->calls++;
	o->rc = rc;
	snprintf(o->msg, sizeof o->msg, "%s", msg ? msg : "(null)");
	o->us = us;
	if (o->counter)
		o->order = ++*o->counter;
	if (o->cancel_me)
		rg_route_op_cancel(o->cancel_me);
	if (o->free_me) {
		rg_routers_free(*o->free_me);
		*o->free_me = NULL;
	}
}

typedef struct fixture {
	uv_loop_t loop;
	rg_config cfg;
	rg_routers *r;
} fixture;

static void open_fixture(fixture *f, const char *yaml)
{
	memset(f, 0, sizeof *f);
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	load_config(&f->cfg, yaml);
	rg_error err = { 0 };
	cr_assert_eq(rg_routers_new(&f->loop, &f->cfg, NULL, &f->r, &err), RG_OK, "%s",
		     err.message);
}

/* Frees the routers, runs the loop dry and checks nothing was left on it. */
static void close_fixture(fixture *f)
{
	rg_routers_free(f->r);
	f->r = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&f->loop), 0, "handles left on the loop");
	rg_config_release(&f->cfg);
}

/* Applies st and runs the loop until it is done; done must not have run
 * inside apply. */
static outcome apply_wait(fixture *f, const rg_route_state *st)
{
	outcome o = { 0 };
	rg_route_op *op = NULL;
	rg_error err = { 0 };
	rg_err rc = rg_routers_apply(f->r, st, on_done, &o, &op, &err);
	cr_assert_eq(rc, RG_OK, "apply: %s", err.message);
	cr_assert_eq(o.calls, 0, "done ran inside apply");
	cr_assert_not_null(op);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	cr_assert_eq(o.calls, 1, "done ran %d times", o.calls);
	return o;
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

/* ---- command router ---------------------------------------------------------- */

#define COMMAND_ENV(cmd, timeout)                                                             \
	"service: shop\n"                                                                     \
	"environments:\n"                                                                     \
	"  prod:\n"                                                                           \
	"    vars: { STACK: shop-prod, QUOTE: \"it's $(touch pwned-var) `x`; &|\" }\n"     \
	"    router: { command: \"" cmd "\", timeout: " timeout " }\n"                      \
	"  plain: {}\n"                                                                       \
	"deploy: [ { name: app, run: ./app } ]\n"

/* Whether the "K=V" line is one the command may see. The shell adds PWD
 * (and some shells SHLVL and _) by itself. */
static bool allowed(const char *line)
{
	static const char *const keys[] = { "PATH=", "PWD=", "SHLVL=", "_=", "ROLLGUARD_",
					    "STACK=", "QUOTE=", NULL };
	for (int i = 0; keys[i]; i++)
		if (!strncmp(line, keys[i], strlen(keys[i])))
			return true;
	return false;
}

Test(routers_command, the_command_gets_exactly_the_route_state)
{
	setenv("RG_TEST_SECRET", "must-not-leak", 1);
	fixture f;
	open_fixture(&f, COMMAND_ENV("env > env.out", "5s"));
	cr_assert_str_eq(rg_routers_kind(f.r, "prod"), "command");
	cr_assert_null(rg_routers_kind(f.r, "plain"));
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002,127.0.0.1:9003", 25);
	snprintf(st.standby_version, sizeof st.standby_version, "v0");
	snprintf(st.standby, sizeof st.standby, "127.0.0.1:9000");
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	cr_assert_str_eq(o.msg, "command router: applied");
	cr_assert_gt(o.us, 0);
	char *env = read_file("env.out");
	cr_assert_not_null(env, "the command did not run in the config's directory");
	char path_line[4096];
	snprintf(path_line, sizeof path_line, "\nPATH=%s\n", getenv("PATH"));
	const char *want[] = { "\nROLLGUARD_SERVICE=shop\n", "\nROLLGUARD_ENV=prod\n",
			       "\nROLLGUARD_CANARY_WEIGHT=25\n", "\nROLLGUARD_STABLE_VERSION=v1\n",
			       "\nROLLGUARD_STABLE_BACKENDS=127.0.0.1:9001\n",
			       "\nROLLGUARD_CANARY_VERSION=v2\n",
			       "\nROLLGUARD_CANARY_BACKENDS=127.0.0.1:9002,127.0.0.1:9003\n",
			       "\nROLLGUARD_STANDBY_VERSION=v0\n",
			       "\nROLLGUARD_STANDBY_BACKENDS=127.0.0.1:9000\n", "\nSTACK=shop-prod\n",
			       path_line, NULL };
	char *text = NULL;
	cr_assert_gt(asprintf(&text, "\n%s", env), 0);
	for (int i = 0; want[i]; i++)
		cr_assert_not_null(strstr(text, want[i]), "missing %s in:%s", want[i], text);
	for (char *line = strtok(env, "\n"); line; line = strtok(NULL, "\n"))
		cr_assert(allowed(line), "the command saw '%s'", line);
	free(text);
	free(env);
	close_fixture(&f);
}

Test(routers_command, values_with_shell_metacharacters_stay_values)
{
	fixture f;
	open_fixture(&f, COMMAND_ENV("printf '%s|%s|%s' \\\"$ROLLGUARD_CANARY_BACKENDS\\\" "
				     "\\\"$ROLLGUARD_CANARY_VERSION\\\" \\\"$QUOTE\\\" > values.out",
				     "5s"));
	rg_route_state st = state("prod", "127.0.0.1:9001", "$(touch pwned-a);`touch pwned-b` && x", 10);
	snprintf(st.canary_version, sizeof st.canary_version, "v2;touch pwned-c");
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	char *values = read_file("values.out");
	cr_assert_not_null(values);
	cr_assert_str_eq(values, "$(touch pwned-a);`touch pwned-b` && x|v2;touch pwned-c|"
				 "it's $(touch pwned-var) `x`; &|");
	cr_assert_not(exists("pwned-a") || exists("pwned-b") || exists("pwned-c") ||
		      exists("pwned-var"), "a value was run as a command");
	free(values);
	close_fixture(&f);
}

Test(routers_command, a_failing_command_reports_its_code_and_last_line)
{
	write_file("route.sh", "#!/bin/sh\necho 'asking the balancer'\n"
			       "echo \"balancer refused weight $ROLLGUARD_CANARY_WEIGHT\" >&2\nexit 3\n",
		   0755);
	fixture f;
	open_fixture(&f, COMMAND_ENV("./route.sh", "5s"));
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 50);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_EIO);
	cr_assert_str_eq(o.msg, "command router: exit code 3: balancer refused weight 50");
	close_fixture(&f);
}

Test(routers_command, a_silent_failure_says_so)
{
	fixture f;
	open_fixture(&f, COMMAND_ENV("exit 7", "5s"));
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_EIO);
	cr_assert_str_eq(o.msg, "command router: exit code 7 (no output)");
	close_fixture(&f);
}

Test(routers_command, a_hanging_command_times_out)
{
	fixture f;
	open_fixture(&f, COMMAND_ENV("echo started; sleep 20", "300ms"));
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 10);
	uint64_t t0 = now_ms();
	outcome o = apply_wait(&f, &st);
	uint64_t took = now_ms() - t0;
	cr_assert_eq(o.rc, RG_EIO);
	cr_assert_str_eq(o.msg, "command router: timed out after 300ms: started");
	cr_assert_geq(took, 250);
	cr_assert_lt(took, 5000, "took %llu ms", (unsigned long long)took);
	close_fixture(&f);
}

/* ---- the queue: order, cancel, free ---------------------------------------------- */

#define QUEUE_ENV(cmd)                                                                        \
	"service: shop\n"                                                                     \
	"environments:\n"                                                                     \
	"  prod: { router: { command: \"" cmd "\", timeout: 10s } }\n"                     \
	"  other: { router: { command: \"" cmd "\", timeout: 10s } }\n"                    \
	"  plain: {}\n"                                                                       \
	"deploy: [ { name: app, run: ./app } ]\n"

#define APPEND_WEIGHT "sleep 0.2; echo $ROLLGUARD_ENV=$ROLLGUARD_CANARY_WEIGHT >> order.out"

Test(routers_queue, one_environment_applies_in_order)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV(APPEND_WEIGHT));
	int counter = 0;
	outcome o[3] = { { .counter = &counter }, { .counter = &counter }, { .counter = &counter } };
	int weights[3] = { 10, 50, 100 };
	rg_error err = { 0 };
	for (int i = 0; i < 3; i++) {
		rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", weights[i]);
		cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o[i], NULL, &err), RG_OK);
	}
	uv_run(&f.loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(o[i].calls, 1);
		cr_assert_eq(o[i].rc, RG_OK, "%s", o[i].msg);
		cr_assert_eq(o[i].order, i + 1);
	}
	char *order = read_file("order.out");
	cr_assert_str_eq(order, "prod=10\nprod=50\nprod=100\n");
	cr_assert_geq(o[2].us, 500000, "the third waited for the first two (%lld us)",
		      (long long)o[2].us);
	free(order);
	close_fixture(&f);
}

Test(routers_queue, environments_do_not_wait_for_each_other)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV("sleep 0.5"));
	outcome a = { 0 }, b = { 0 };
	rg_error err = { 0 };
	rg_route_state sa = state("prod", "127.0.0.1:9001", "", 0);
	rg_route_state sb = state("other", "127.0.0.1:9001", "", 0);
	uint64_t t0 = now_ms();
	cr_assert_eq(rg_routers_apply(f.r, &sa, on_done, &a, NULL, &err), RG_OK);
	cr_assert_eq(rg_routers_apply(f.r, &sb, on_done, &b, NULL, &err), RG_OK);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.calls + b.calls, 2);
	cr_assert_lt(now_ms() - t0, 950, "the two environments ran one after the other");
	close_fixture(&f);
}

Test(routers_queue, cancel_removes_a_running_or_queued_op)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV(APPEND_WEIGHT));
	outcome o[3] = { { 0 } };
	rg_route_op *op[3];
	rg_error err = { 0 };
	for (int i = 0; i < 3; i++) {
		rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 10 * (i + 1));
		cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o[i], &op[i], &err), RG_OK);
	}
	rg_route_op_cancel(op[1]); /* queued */
	rg_route_op_cancel(op[0]); /* running: killed, the next starts */
	rg_route_op_cancel(NULL);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(o[0].calls, 0);
	cr_assert_eq(o[1].calls, 0);
	cr_assert_eq(o[2].calls, 1);
	cr_assert_eq(o[2].rc, RG_OK, "%s", o[2].msg);
	char *order = read_file("order.out");
	cr_assert_str_eq(order, "prod=30\n");
	free(order);
	close_fixture(&f);
}

Test(routers_queue, free_cancels_everything_in_flight)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV("sleep 20"));
	outcome o[2] = { { 0 } };
	rg_error err = { 0 };
	for (int i = 0; i < 2; i++) {
		rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
		cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o[i], NULL, &err), RG_OK);
	}
	uv_run(&f.loop, UV_RUN_NOWAIT);
	uint64_t t0 = now_ms();
	close_fixture(&f);
	cr_assert_lt(now_ms() - t0, 3000, "free waited for the command");
	cr_assert_eq(o[0].calls + o[1].calls, 0, "done fired after free");
}

Test(routers_queue, free_from_inside_done)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV("true"));
	outcome first = { .free_me = &f.r }, second = { 0 };
	rg_error err = { 0 };
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &first, NULL, &err), RG_OK);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &second, NULL, &err), RG_OK);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(first.calls, 1);
	cr_assert_eq(second.calls, 0);
	cr_assert_null(f.r);
	close_fixture(&f);
}

Test(routers_queue, cancel_from_inside_its_own_done_is_harmless)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV("true"));
	outcome o = { 0 };
	rg_error err = { 0 };
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &o.cancel_me, &err), RG_OK);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(o.calls, 1);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	close_fixture(&f);
}

Test(routers_queue, environments_without_a_router)
{
	fixture f;
	open_fixture(&f, QUEUE_ENV("true"));
	outcome o = { 0 };
	rg_error err = { 0 };
	rg_route_op *op = (rg_route_op *)&o;
	rg_route_state st = state("plain", "127.0.0.1:9001", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &op, &err), RG_ENOTFOUND);
	cr_assert_str_eq(err.message, "environment 'plain' has no proxy or router");
	cr_assert_null(op);
	st = state("nowhere", "127.0.0.1:9001", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, NULL, &err), RG_ENOTFOUND);
	cr_assert_null(rg_routers_kind(f.r, "nowhere"));
	cr_assert_eq(o.calls, 0);
	close_fixture(&f);
}

/* ---- HAProxy router ---------------------------------------------------------------- */

/* Starts haproxy in the foreground with a stats socket at level admin (and
 * on TCP when tcp_port > 0) and waits until the socket answers. It dies
 * with the test process if the test dies first. */
static void start_haproxy(int tcp_port)
{
	cr_assert_eq(access(HAPROXY, X_OK), 0,
		     HAPROXY " is missing: run scripts/install-deps.sh (these tests need it)");
	char cfg[2048], tcp[128] = "";
	if (tcp_port > 0)
		snprintf(tcp, sizeof tcp, "    stats socket ipv4@127.0.0.1:%d level admin\n", tcp_port);
	snprintf(cfg, sizeof cfg,
		 "global\n"
		 "    stats socket %s/admin.sock mode 600 level admin\n"
		 "%s"
		 "defaults\n"
		 "    mode http\n"
		 "    timeout connect 1s\n"
		 "    timeout client 5s\n"
		 "    timeout server 5s\n"
		 "backend app\n"
		 "    balance roundrobin\n"
		 "    server stable 127.0.0.1:1 weight 100\n"
		 "    server canary 127.0.0.1:1 weight 0\n",
		 dir, tcp);
	write_file("haproxy.cfg", cfg, 0644);
	char cfg_path[256], log_path[256], sock[256];
	snprintf(cfg_path, sizeof cfg_path, "%s/haproxy.cfg", dir);
	snprintf(log_path, sizeof log_path, "%s/haproxy.log", dir);
	snprintf(sock, sizeof sock, "%s/admin.sock", dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(HAPROXY, "haproxy", "-db", "-f", cfg_path, (char *)NULL);
		_exit(127);
	}
	haproxy_pid = pid;
	for (int i = 0; i < 250; i++) {
		int status;
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "haproxy exited at start; see %s",
			     log_path);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		snprintf(un.sun_path, sizeof un.sun_path, "%s", sock);
		bool up = connect(fd, (struct sockaddr *)&un, sizeof un) == 0;
		close(fd);
		if (up)
			return;
		usleep(20000);
	}
	cr_assert_fail("haproxy's stats socket did not come up");
}

/* One runtime-API command over the unix socket, blocking: the test's own
 * view of what HAProxy now does. */
static void haproxy_cli(const char *cmd, char *out, size_t size)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof un.sun_path, "%s/admin.sock", dir);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
	char line[256];
	snprintf(line, sizeof line, "%s\n", cmd);
	cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	size_t len = 0;
	ssize_t n;
	while (len + 1 < size && (n = read(fd, out + len, size - len - 1)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fd);
}

typedef struct server_view {
	char addr[64];
	int port, weight, admin;
} server_view;

/* The server's line of `show servers state app`: srv_addr is field 5,
 * srv_admin_state 7, srv_uweight 8, srv_port 19. */
static server_view server(const char *name)
{
	char out[8192];
	haproxy_cli("show servers state app", out, sizeof out);
	server_view v = { .port = -1 };
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char f[20][64];
		int n = sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s %63s %63s %63s %63s "
				     "%63s %63s %63s %63s %63s %63s %63s",
			       f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10],
			       f[11], f[12], f[13], f[14], f[15], f[16], f[17], f[18]);
		if (n == 19 && !strcmp(f[3], name)) {
			snprintf(v.addr, sizeof v.addr, "%s", f[4]);
			v.admin = atoi(f[6]);
			v.weight = atoi(f[7]);
			v.port = atoi(f[18]);
			return v;
		}
	}
	cr_assert_fail("no server '%s' in: %s", name, out);
	return v;
}

static void expect_server(const char *name, const char *addr, int port, int weight, bool maint)
{
	server_view v = server(name);
	cr_assert_str_eq(v.addr, addr, "%s addr", name);
	cr_assert_eq(v.port, port, "%s port %d", name, v.port);
	cr_assert_eq(v.weight, weight, "%s weight %d", name, v.weight);
	cr_assert_eq(v.admin & 1, maint ? 1 : 0, "%s admin state %d", name, v.admin);
}

static void haproxy_fixture(fixture *f, const char *socket, const char *canary_server,
			    const char *timeout)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "service: shop\n"
		 "environments:\n"
		 "  prod:\n"
		 "    router:\n"
		 "      haproxy: { socket: \"%s\", backend: app, stable: stable, canary: %s }\n"
		 "      timeout: %s\n"
		 "deploy: [ { name: app, run: ./app } ]\n",
		 socket, canary_server, timeout);
	memset(f, 0, sizeof *f);
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	load_config(&f->cfg, yaml);
	rg_error err = { 0 };
	cr_assert_eq(rg_routers_new(&f->loop, &f->cfg, NULL, &f->r, &err), RG_OK);
}

Test(routers_haproxy, a_canary_shift_sets_addresses_weights_and_states)
{
	start_haproxy(0);
	fixture f;
	haproxy_fixture(&f, "admin.sock", "canary", "5s"); /* relative to the config */
	cr_assert_str_eq(rg_routers_kind(f.r, "prod"), "haproxy");
	char sock[256], want[512];
	snprintf(sock, sizeof sock, "%s/admin.sock", f.cfg.dir);

	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.2:9002", 10);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	snprintf(want, sizeof want, "haproxy %s: 6 commands applied", sock);
	cr_assert_str_eq(o.msg, want);
	cr_assert_gt(o.us, 0);
	expect_server("stable", "127.0.0.1", 9001, 90, false);
	expect_server("canary", "127.0.0.2", 9002, 10, false);

	st.canary_weight = 50;
	o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	expect_server("stable", "127.0.0.1", 9001, 50, false);
	expect_server("canary", "127.0.0.2", 9002, 50, false);

	/* Promoted: the canary's backend is the stable side now, no canary. */
	st = state("prod", "127.0.0.2:9002", "", 0);
	o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	expect_server("stable", "127.0.0.2", 9002, 100, false);
	expect_server("canary", "127.0.0.2", 9002, 0, true);

	/* Applying the same state again is harmless. */
	o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	expect_server("stable", "127.0.0.2", 9002, 100, false);
	close_fixture(&f);
}

Test(routers_haproxy, only_a_canary_takes_everything)
{
	start_haproxy(0);
	fixture f;
	char sock[256];
	snprintf(sock, sizeof sock, "%s/admin.sock", dir);
	haproxy_fixture(&f, sock, "canary", "5s");
	rg_route_state st = state("prod", "", "127.0.0.1:9002", 30);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	expect_server("canary", "127.0.0.1", 9002, 100, false);
	expect_server("stable", "127.0.0.1", 1, 0, true);
	close_fixture(&f);
}

Test(routers_haproxy, over_tcp)
{
	int port = free_port();
	start_haproxy(port);
	fixture f;
	char sock[64], want[128];
	snprintf(sock, sizeof sock, "127.0.0.1:%d", port);
	haproxy_fixture(&f, sock, "canary", "5s");
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 20);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	snprintf(want, sizeof want, "haproxy %s: 6 commands applied", sock);
	cr_assert_str_eq(o.msg, want);
	expect_server("stable", "127.0.0.1", 9001, 80, false);
	expect_server("canary", "127.0.0.1", 9002, 20, false);
	close_fixture(&f);
}

Test(routers_haproxy, an_unknown_server_is_haproxys_answer)
{
	start_haproxy(0);
	fixture f;
	char sock[256], want[512];
	snprintf(sock, sizeof sock, "%s/admin.sock", dir);
	haproxy_fixture(&f, sock, "green", "5s");
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 10);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_EIO);
	snprintf(want, sizeof want,
		 "haproxy %s: No such server. (set server app/green addr 127.0.0.1 port 9002)", sock);
	cr_assert_str_eq(o.msg, want);
	close_fixture(&f);
}

Test(routers_haproxy, states_haproxy_cannot_route_are_refused_at_once)
{
	fixture f;
	haproxy_fixture(&f, "/nonexistent/admin.sock", "canary", "5s");
	outcome o = { 0 };
	rg_route_op *op = NULL;
	rg_error err = { 0 };
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002,127.0.0.1:9003", 10);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &op, &err), RG_EINVAL);
	cr_assert_str_eq(err.message,
			 "haproxy router: side 'canary' names 2 backends; HAProxy mode routes one per side");
	cr_assert_null(op);
	st = state("prod", "127.0.0.1:9001;shutdown sessions", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &op, &err), RG_EINVAL);
	cr_assert_str_eq(err.message, "haproxy router: stable backend '127.0.0.1:9001;shutdown "
				      "sessions' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)");
	st = state("prod", "[::1]", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &op, &err), RG_EINVAL);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(o.calls, 0);
	close_fixture(&f);
}

Test(routers_haproxy, nobody_listening)
{
	fixture f;
	char sock[256], want[512];
	snprintf(sock, sizeof sock, "%s/nothing.sock", dir);
	haproxy_fixture(&f, sock, "canary", "5s");
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	outcome o = apply_wait(&f, &st);
	cr_assert_eq(o.rc, RG_EIO);
	snprintf(want, sizeof want, "haproxy %s: cannot connect: no such file or directory", sock);
	cr_assert_str_eq(o.msg, want);
	close_fixture(&f);
}

/* A socket that accepts connections (the kernel queues them) and never
 * answers: a hung HAProxy. */
static void hanging_socket(const char *path)
{
	hang_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
	cr_assert_eq(bind(hang_fd, (struct sockaddr *)&un, sizeof un), 0);
	cr_assert_eq(listen(hang_fd, 8), 0);
}

Test(routers_haproxy, a_hung_haproxy_times_out)
{
	fixture f;
	char sock[256], want[512];
	snprintf(sock, sizeof sock, "%s/hung.sock", dir);
	hanging_socket(sock);
	haproxy_fixture(&f, sock, "canary", "300ms");
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 10);
	uint64_t t0 = now_ms();
	outcome o = apply_wait(&f, &st);
	uint64_t took = now_ms() - t0;
	cr_assert_eq(o.rc, RG_EIO);
	snprintf(want, sizeof want, "haproxy %s: no answer within 300ms", sock);
	cr_assert_str_eq(o.msg, want);
	cr_assert_geq(took, 250);
	cr_assert_lt(took, 3000);
	close_fixture(&f);
}

Test(routers_haproxy, free_while_waiting_for_a_hung_haproxy)
{
	fixture f;
	char sock[256];
	snprintf(sock, sizeof sock, "%s/hung.sock", dir);
	hanging_socket(sock);
	haproxy_fixture(&f, sock, "canary", "10s");
	outcome o[2] = { { 0 } };
	rg_error err = { 0 };
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o[i], NULL, &err), RG_OK);
	uv_run(&f.loop, UV_RUN_NOWAIT);
	uint64_t t0 = now_ms();
	close_fixture(&f);
	cr_assert_lt(now_ms() - t0, 1000);
	cr_assert_eq(o[0].calls + o[1].calls, 0);
}

/* ---- the built-in proxy ------------------------------------------------------------- */

Test(routers_proxy, applies_at_once_and_reports_the_swap)
{
	int port = free_port();
	char yaml[512];
	snprintf(yaml, sizeof yaml,
		 "service: shop\n"
		 "environments:\n"
		 "  prod: { proxy: { listen: \"127.0.0.1:%d\", threads: 1 } }\n"
		 "deploy: [ { name: app, run: ./app } ]\n",
		 port);
	fixture f;
	memset(&f, 0, sizeof f);
	cr_assert_eq(uv_loop_init(&f.loop), 0);
	load_config(&f.cfg, yaml);
	rg_error err = { 0 };
	rg_dataplane *dp = NULL;
	cr_assert_eq(rg_dataplane_start(&f.cfg, &dp, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_routers_new(&f.loop, &f.cfg, dp, &f.r, &err), RG_OK);
	cr_assert_str_eq(rg_routers_kind(f.r, "prod"), "proxy");

	outcome o = { 0 };
	rg_route_op *op = (rg_route_op *)&o;
	rg_route_state st = state("prod", "127.0.0.1:9001", "127.0.0.1:9002", 10);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, &op, &err), RG_OK, "%s", err.message);
	cr_assert_eq(o.calls, 1, "done must run before apply returns");
	cr_assert_null(op);
	cr_assert_eq(o.rc, RG_OK, "%s", o.msg);
	cr_assert_geq(o.us, 0);

	char want[128];
	snprintf(want, sizeof want, "proxy 127.0.0.1:%d: ", port);
	st = state("prod", "not-an-address", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, NULL, &err), RG_OK);
	cr_assert_eq(o.calls, 2);
	cr_assert_eq(o.rc, RG_EINVAL);
	cr_assert(!strncmp(o.msg, want, strlen(want)), "%s", o.msg);
	close_fixture(&f);
	rg_dataplane_stop(dp);
}

Test(routers_proxy, without_a_dataplane)
{
	fixture f;
	open_fixture(&f, "service: shop\nenvironments:\n  prod: { proxy: { listen: \"127.0.0.1:1\" } }\n"
			 "deploy: [ { name: app, run: ./app } ]\n");
	outcome o = { 0 };
	rg_error err = { 0 };
	rg_route_state st = state("prod", "127.0.0.1:9001", "", 0);
	cr_assert_eq(rg_routers_apply(f.r, &st, on_done, &o, NULL, &err), RG_EUNAVAILABLE);
	cr_assert_str_eq(err.message, "environment 'prod': the built-in proxy is not running");
	cr_assert_eq(o.calls, 0);
	close_fixture(&f);
}
