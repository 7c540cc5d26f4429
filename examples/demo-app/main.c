/* main.c — demo-app (an HTTP service with injectable faults for rollguard's
 * demo and tests): command line, startup, clean shutdown. It must never listen
 * outside 127.0.0.0/8 and ::1 nor leave its pidfile behind on
 * SIGTERM/SIGINT/SIGHUP. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo-app.h"

static const char usage[] =
	"usage: demo-app --listen 127.0.0.1:PORT|[::1]:PORT [--version V] [--error-rate F] [--seed N]\n"
	"                [--latency-ms N] [--fail-health] [--pidfile FILE]\n"
	"                [--threads N] [--max-conns N]\n"
	"PORT 0 picks a free port; the address is printed as 'listening on ADDR'.\n";

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* 127.x.x.x:PORT or [::1]:PORT. Loopback only: this service exists to be
 * broken on purpose. */
static bool parse_listen(const char *s, struct demo_opts *o)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;
	if (!colon || (size_t)(colon - s) >= sizeof host || !parse_long(colon + 1, 0, 65535, &port))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(&o->listen, 0, sizeof o->listen);
	if (strcmp(host, "[::1]") == 0) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->listen;
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		a6->sin6_port = htons((uint16_t)port);
		o->listen_len = sizeof *a6;
		return true;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o->listen;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	o->listen_len = sizeof *a4;
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 &&
	       (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
}

/* "127.0.0.1:8080" or "[::1]:8080". */
static void format_addr(const struct sockaddr_storage *sa, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
		snprintf(out, size, "[%s]:%u", ip, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
		snprintf(out, size, "%s:%u", ip, ntohs(a4->sin_port));
	}
}

static bool version_valid(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 64 && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789._+-") == n;
}

static bool parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return false;
	*out = v;
	return true;
}

static int bad_value(const char *opt, const char *v)
{
	fprintf(stderr, "demo-app: error: invalid value '%s' for --%s\n", v, opt);
	return -1;
}

static int parse_opt(int c, const char *name, const char *arg, struct demo_opts *o)
{
	long v;
	char *end;
	switch (c) {
	case 'l': return parse_listen(arg, o) ? 1 : bad_value(name, arg);
	case 'v': o->version = arg; return version_valid(arg) ? 0 : bad_value(name, arg);
	case 'e': return parse_rate(arg, &o->error_rate) ? 0 : bad_value(name, arg);
	case 's':
		errno = 0;
		o->seed = strtoull(arg, &end, 10);
		return (errno || end == arg || *end) ? bad_value(name, arg) : 0;
	case 'd':
		if (!parse_long(arg, 0, 600000, &v))
			return bad_value(name, arg);
		o->latency_ms = (int)v;
		return 0;
	case 'f': o->fail_health = true; return 0;
	case 'p': o->pidfile = arg; return 0;
	case 't':
		if (!parse_long(arg, 1, 64, &v))
			return bad_value(name, arg);
		o->threads = (int)v;
		return 0;
	case 'm':
		if (!parse_long(arg, 1, 1000000, &v))
			return bad_value(name, arg);
		o->max_conns = (int)v;
		return 0;
	case 'h':
		fputs(usage, stdout);
		exit(0);
	default:
		fputs(usage, stderr);
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "version", required_argument, NULL, 'v' },
		{ "error-rate", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "latency-ms", required_argument, NULL, 'd' },
		{ "fail-health", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct demo_opts){ .version = "dev", .max_conns = 4096,
				 .threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus };
	bool have_listen = false;
	int c, idx = -1;
	while ((c = getopt_long(argc, argv, "", longs, &idx)) != -1) {
		int r = parse_opt(c, idx >= 0 ? longs[idx].name : "?", optarg, o);
		if (r < 0)
			return -1;
		have_listen |= r == 1;
		idx = -1;
	}
	if (optind < argc) {
		fprintf(stderr, "demo-app: error: unexpected argument '%s'\n%s", argv[optind], usage);
		return -1;
	}
	if (!have_listen) {
		fprintf(stderr, "demo-app: error: --listen 127.0.0.1:PORT is required\n%s", usage);
		return -1;
	}
	return 0;
}

static int listen_on(const struct demo_opts *o)
{
	int fd = socket(o->listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (const struct sockaddr *)&o->listen, o->listen_len) < 0 ||
	    listen(fd, 1024) < 0) {
		char addr[64];
		int e = errno;
		format_addr(&o->listen, addr, sizeof addr);
		fprintf(stderr, "demo-app: error: cannot listen on %s: %s\n", addr, strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Written to FILE.tmp and renamed, so a reader never sees it half-written;
 * it exists only once the socket accepts connections. */
static int write_pidfile(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Many keep-alive connections under load: use the whole hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void print_listening(const struct demo_opts *o, int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char addr[64];
	getsockname(fd, (struct sockaddr *)&sa, &len);
	format_addr(&sa, addr, sizeof addr);
	printf("demo-app %s listening on %s (error-rate %g, latency %d ms%s)\n", o->version,
	       addr, o->error_rate, o->latency_ms,
	       o->fail_health ? ", failing health" : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct demo_opts o;
	/* Started in the background by deploy scripts, it may inherit their
	 * parent's descriptors (a server's listening socket, a step's log pipe);
	 * holding them would keep that port busy or that step from finishing. */
	closefrom(3);
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so only sigwait() below sees them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	int fd = listen_on(&o);
	struct demo_server *srv;
	if (fd < 0)
		return 1;
	if (server_start(&o, fd, &srv) < 0) {
		fprintf(stderr, "demo-app: error: cannot start workers: %s\n", strerror(errno));
		return 1;
	}
	print_listening(&o, fd);
	int rc = 0, sig = 0;
	if (o.pidfile && write_pidfile(o.pidfile) < 0) {
		fprintf(stderr, "demo-app: error: cannot write pidfile '%s': %s\n", o.pidfile,
			strerror(errno));
		rc = 1;
	} else {
		sigwait(&stop, &sig);
		printf("demo-app %s: %s, stopping\n", o.version, strsignal(sig));
	}
	server_stop(srv);
	close(fd);
	if (o.pidfile && rc == 0)
		unlink(o.pidfile);
	return rc;
}
