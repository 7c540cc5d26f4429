/* report.c — what the dataplane tells about its proxies: a release's
 * figures (its slot's, minus what the slot held before the release was
 * named), the traffic JSON of the API and the Prometheus exposition. Runs
 * on the control plane only and merely reads the workers' shards, so it
 * never slows the request path. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane_internal.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* ---- figures since a release was named --------------------------------------------

   A slot's shards count from the proxy's start, whichever releases owned
   the slot before. Its owner's figures are therefore the shards' minus the
   baseline taken when the slot was assigned: the whole-life figures then
   (for "total"), and the figures of that very second (for a window that
   reaches back to it). A window is also cut to the seconds since the
   assignment, so a reused slot never shows its previous owner's traffic.
   The difference saturates at zero (rg_stats_summary_sub). */

static int64_t mono_s(void) { return rg_mono_ms() / 1000; }

/* Every shard of a slot (both generations of shm.h); none before a
 * controller has mapped the region. */
static rg_stats_shard *const *shards_of(const dp_proxy *x, int slot, size_t *n)
{
	*n = 0;
	return x->idx < 0 || !x->dp->shm ? NULL : dp_shm_slot_shards(x->dp->shm, (size_t)x->idx, slot, n);
}

static void snapshot(const dp_proxy *x, int slot, rg_stats_summary *out)
{
	size_t n;
	rg_stats_shard *const *sh = shards_of(x, slot, &n);
	rg_stats_snapshot(sh, n, out);
}

/* The window of one second, read within that second (retried if the clock
 * ticked meanwhile, so the figures belong to *second). */
static void window_now(dp_proxy *x, int slot, int window_s, int64_t *second,
		       rg_stats_summary *out)
{
	size_t n;
	rg_stats_shard *const *sh = shards_of(x, slot, &n);
	for (int tries = 0;; tries++) {
		int64_t now = mono_s();
		rg_stats_window(sh, n, now, window_s, out, NULL);
		if (mono_s() == now || tries == 3) {
			*second = now;
			return;
		}
	}
}

void dp_slot_baseline(dp_proxy *x, int slot, int64_t *since_s, rg_stats_summary *total,
		      rg_stats_summary *second)
{
	snapshot(x, slot, total);
	window_now(x, slot, 1, since_s, second);
}

rg_err dp_slot_figures(dp_proxy *x, int slot, int window_s, rg_stats_summary *out, rg_error *err)
{
	const dp_slot *s = &x->slots[slot];
	if (window_s == 0) {
		snapshot(x, slot, out);
		rg_stats_summary_sub(out, &s->base_total);
		return RG_OK;
	}
	if (window_s < 1 || window_s > RG_STATS_WINDOW_SLOTS)
		return rg_fail(err, RG_EINVAL, "window", "window of %d s is outside 1..%d s", window_s,
			       RG_STATS_WINDOW_SLOTS);
	int64_t age = mono_s() - s->since_s + 1, now;
	int w = age < 1 ? 1 : age < window_s ? (int)age : window_s;
	window_now(x, slot, w, &now, out);
	if (now - w + 1 <= s->since_s)
		rg_stats_summary_sub(out, &s->base_second);
	return RG_OK;
}

static int slot_of(const dp_proxy *x, const char *version)
{
	for (int s = 0; s < RG_PROXY_SLOTS; s++)
		if (x->slots[s].named && strcmp(x->slots[s].version, version) == 0)
			return s;
	return -1;
}

rg_err rg_dataplane_release_stats(rg_dataplane *dp, const char *env, const char *version,
				  int window_s, rg_stats_summary *out, rg_error *err)
{
	dp_proxy *x = dp_find(dp, env);
	if (!x)
		return rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no built-in proxy",
			       env ? env : "");
	pthread_mutex_lock(&dp->lock);
	dp_sync(x);
	int slot = slot_of(x, version ? version : "");
	rg_err rc;
	if (slot < 0 && dp_remote_pending(x, version ? version : "")) {
		/* sent, not yet shown by the proxy: nothing counted for it yet */
		memset(out, 0, sizeof *out);
		rg_hist_init(&out->latency);
		rc = RG_OK;
	} else {
		rc = slot < 0 ? rg_fail(err, RG_ENOTFOUND, "version",
					"release '%s' is not routed by the proxy of environment '%s'",
					version ? version : "", env)
			      : dp_slot_figures(x, slot, window_s, out, err);
	}
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

/* ---- GET /api/v1/traffic ---------------------------------------------------------- */

static double ms(uint64_t us) { return (double)us / 1000.0; }

static json_t *summary_json(const rg_stats_summary *s)
{
	static const char *const classes[RG_STATS_CLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	json_t *resp = json_object(), *up = json_object();
	for (int i = 0; i < RG_STATS_CLASSES; i++)
		json_object_set_new(resp, classes[i], json_integer((json_int_t)s->responses[i]));
	json_object_set_new(up, "connect", json_integer((json_int_t)s->upstream_errors[RG_UPSTREAM_CONNECT]));
	json_object_set_new(up, "timeout", json_integer((json_int_t)s->upstream_errors[RG_UPSTREAM_TIMEOUT]));
	json_object_set_new(up, "protocol", json_integer((json_int_t)s->upstream_errors[RG_UPSTREAM_PROTOCOL]));
	double rate = rg_stats_error_rate(s);
	return json_pack("{s:I,s:o,s:o,s:f,s:{s:f,s:f,s:f,s:f}}",
			 "requests", (json_int_t)s->requests, "responses", resp, "upstream_errors", up,
			 "error_rate", rate, "latency_ms",
			 "p50", ms(rg_hist_quantile(&s->latency, 0.50)),
			 "p95", ms(rg_hist_quantile(&s->latency, 0.95)),
			 "p99", ms(rg_hist_quantile(&s->latency, 0.99)),
			 "mean", rg_hist_mean(&s->latency) / 1000.0);
}

/* Percent of users each role gets: the weight splits them only when both
 * routed sides have backends; the standby gets none. */
static int share_of(const dp_proxy *x, int role, const int n[DP_ROLES])
{
	if (role == DP_STANDBY || !atomic_load(&x->routable))
		return 0;
	int canary = n[DP_CANARY] == 0 ? 0 : n[DP_STABLE] == 0 ? 100 : x->st.canary_weight;
	return role == DP_CANARY ? canary : n[DP_STABLE] ? 100 - canary : 0;
}

static json_t *backends_json(dp_proxy *x, const char *const *items, int n)
{
	json_t *a = json_array();
	int64_t now = rg_mono_ms();
	for (int i = 0; i < n; i++) {
		long inflight = 0;
		bool down = false;
		if (x->router) {
			if (rg_router_backend_state(x->router, items[i], now, &inflight, &down, NULL))
				inflight = 0, down = false;
		} else {
			for (uint32_t k = 0; k < x->view->n_backends; k++)
				if (strcmp(x->view->backends[k].addr, items[i]) == 0) {
					inflight = (long)x->view->backends[k].inflight;
					down = x->view->backends[k].down;
					break;
				}
		}
		json_array_append_new(a, json_pack("{s:s,s:I,s:b}", "address", items[i], "inflight",
						   (json_int_t)inflight, "down", down));
	}
	return a;
}

static rg_err release_json(dp_proxy *x, int role, int slot, const int n[DP_ROLES],
			   const char *const *items, int window_s, json_t **out, rg_error *err)
{
	static const char *const sides[DP_ROLES] = { "stable", "canary", "standby" };
	rg_stats_summary *s = malloc(2 * sizeof *s);
	if (!s)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_err rc = dp_slot_figures(x, slot, 0, &s[0], err);
	if (!rc)
		rc = dp_slot_figures(x, slot, window_s, &s[1], err);
	if (!rc)
		*out = json_pack("{s:s,s:s,s:i,s:o,s:o,s:o}", "version", x->slots[slot].version,
				 "side", sides[role], "share", share_of(x, role, n), "backends",
				 backends_json(x, items, n[role]), "total", summary_json(&s[0]),
				 "window", summary_json(&s[1]));
	free(s);
	return rc;
}

static char *listen_of(const dp_proxy *x, char *buf, size_t size)
{
	const char *l = x->env->proxy_listen;
	const char *colon = strrchr(l, ':');
	int port = x->proxy ? rg_proxy_port(x->proxy) : x->idx >= 0 ? x->view->port : -1;
	snprintf(buf, size, "%.*s:%d", (int)(colon ? colon - l : (ptrdiff_t)strlen(l)), l, port);
	return buf;
}

typedef struct split_lists {
	char buf[DP_ROLES][RG_BACKENDS_LEN];
	const char *items[DP_ROLES][RG_ROUTES_MAX_BACKENDS];
	int n[DP_ROLES];
} split_lists;

static rg_err releases_json(dp_proxy *x, const split_lists *sl, int window_s, json_t *releases,
			    rg_error *err)
{
	const char *names[DP_ROLES];
	dp_role_names(&x->st, names);
	bool listed[RG_PROXY_SLOTS] = { false };
	for (int r = 0; r < DP_ROLES; r++) {
		int slot = names[r] ? slot_of(x, names[r]) : -1;
		if (slot < 0 || listed[slot])
			continue; /* a release named twice is listed once, by its first role */
		listed[slot] = true;
		json_t *rel = NULL;
		rg_err rc = release_json(x, r, slot, sl->n, sl->items[r], window_s, &rel, err);
		if (rc)
			return rc;
		json_array_append_new(releases, rel);
	}
	return RG_OK;
}

static rg_err traffic_locked(dp_proxy *x, int window_s, json_t **out, rg_error *err)
{
	split_lists *sl = malloc(sizeof *sl);
	json_t *releases = json_array();
	rg_err rc = RG_OK;
	if (!sl || !releases) {
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (int r = 0; r < DP_ROLES; r++) {
		sl->n[r] = dp_split(dp_role_backends(&x->st, r), sl->buf[r], sizeof sl->buf[r],
				    sl->items[r], RG_ROUTES_MAX_BACKENDS);
		if (sl->n[r] < 0)
			sl->n[r] = 0; /* cannot happen: apply checked it */
	}
	if ((rc = releases_json(x, sl, window_s, releases, err)))
		goto out;
	char listen[96];
	*out = json_pack("{s:s,s:s,s:s,s:i,s:i,s:O}", "env", x->env->name, "router", "proxy",
			 "listen", listen_of(x, listen, sizeof listen), "canary_weight",
			 x->st.canary_weight, "window_seconds", window_s, "releases", releases);
	if (!*out)
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
out:
	json_decref(releases);
	free(sl);
	return rc;
}

rg_err rg_dataplane_traffic_json(rg_dataplane *dp, const char *env, int window_s,
				 json_t **out, rg_error *err)
{
	*out = NULL;
	dp_proxy *x = dp_find(dp, env);
	if (!x)
		return rg_fail(err, RG_ENOTFOUND, "env", "environment '%s' has no built-in proxy",
			       env ? env : "");
	if (window_s == 0)
		window_s = RG_STATS_WINDOW_SLOTS;
	if (window_s < 1 || window_s > RG_STATS_WINDOW_SLOTS)
		return rg_fail(err, RG_EINVAL, "window", "window of %d s is outside 1..%d s", window_s,
			       RG_STATS_WINDOW_SLOTS);
	pthread_mutex_lock(&dp->lock);
	dp_sync(x);
	rg_err rc = traffic_locked(x, window_s, out, err);
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

/* ---- Prometheus text format 0.0.4 ---------------------------------------------- */

/* The first failure sticks, so the many add calls need no checks. */
typedef struct text {
	rg_strbuf sb;
	bool oom;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
	if (t->oom)
		return;
	va_list ap;
	va_start(ap, fmt);
	t->oom = rg_strbuf_vaddf(&t->sb, fmt, ap) != RG_OK;
	va_end(ap);
}

/* A label value: backslash, double quote and newline escaped. */
static void add_label(text *t, const char *name, const char *v)
{
	add(t, "%s=\"", name);
	for (; *v; v++) {
		if (*v == '\\')
			add(t, "\\\\");
		else if (*v == '"')
			add(t, "\\\"");
		else if (*v == '\n')
			add(t, "\\n");
		else
			add(t, "%c", *v);
	}
	add(t, "\"");
}

static void add_labels(text *t, const char *env, const char *release, const char *extra_name,
		       const char *extra)
{
	add(t, "{");
	add_label(t, "env", env);
	if (release) {
		add(t, ",");
		add_label(t, "release", release);
	}
	if (extra_name) {
		add(t, ",");
		add_label(t, extra_name, extra);
	}
	add(t, "} ");
}

static void add_family(text *t, const char *name, const char *type, const char *help)
{
	add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One named release of one proxy, as read at the start of the exposition. */
typedef struct series {
	const char *env;
	const char *release;
	rg_stats_summary figures;
} series;

/* The fixed buckets: a histogram bucket counts under the first bound at or
 * above its upper end, so a bound never counts a value above it. */
static const uint64_t le_us[] = { 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
				  500000, 1000000, 2500000, 5000000, 10000000 };
static const char *const le_text[] = { "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
				       "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };
#define N_LE (sizeof le_us / sizeof *le_us)

static void add_histogram(text *t, const series *s)
{
	uint64_t bins[N_LE + 1] = { 0 };
	rg_hist_iter it;
	rg_hist_iter_init(&it);
	while (rg_hist_next(&s->figures.latency, &it)) {
		size_t k = 0;
		while (k < N_LE && le_us[k] < it.upper)
			k++;
		bins[k] += it.count;
	}
	const char *name = "rollguard_proxy_request_duration_seconds";
	uint64_t cum = 0;
	for (size_t k = 0; k <= N_LE; k++) {
		cum += bins[k];
		add(t, "%s_bucket", name);
		add_labels(t, s->env, s->release, "le", k < N_LE ? le_text[k] : "+Inf");
		add(t, "%llu\n", (unsigned long long)cum);
	}
	add(t, "%s_sum", name);
	add_labels(t, s->env, s->release, NULL, NULL);
	add(t, "%.6f\n", cum ? (double)rg_hist_sum(&s->figures.latency) / 1e6 : 0.0);
	add(t, "%s_count", name);
	add_labels(t, s->env, s->release, NULL, NULL);
	add(t, "%llu\n", (unsigned long long)cum);
}

/* One counter sample of a release: name{env,release[,label]} value. */
static void add_count(text *t, const char *name, const series *s, const char *label,
		      const char *label_value, uint64_t v)
{
	add(t, "%s", name);
	add_labels(t, s->env, s->release, label, label_value);
	add(t, "%llu\n", (unsigned long long)v);
}

static void add_series(text *t, const rg_dataplane *dp, const series *ss, size_t n)
{
	static const char *const classes[RG_STATS_CLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	static const char *const kinds[RG_UPSTREAM_KINDS] = { "connect", "timeout", "protocol" };
	add_family(t, "rollguard_proxy_requests_total", "counter",
		   "Requests the built-in proxy finished, by release.");
	for (size_t i = 0; i < n; i++)
		add_count(t, "rollguard_proxy_requests_total", &ss[i], NULL, NULL,
			  ss[i].figures.requests);
	add_family(t, "rollguard_proxy_responses_total", "counter",
		   "Responses the clients got, by release and status class.");
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < RG_STATS_CLASSES; c++)
			add_count(t, "rollguard_proxy_responses_total", &ss[i], "class", classes[c],
				  ss[i].figures.responses[c]);
	add_family(t, "rollguard_proxy_upstream_errors_total", "counter",
		   "Failed upstream attempts, by release and kind.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < RG_UPSTREAM_KINDS; k++)
			add_count(t, "rollguard_proxy_upstream_errors_total", &ss[i], "kind",
				  kinds[k], ss[i].figures.upstream_errors[k]);
	add_family(t, "rollguard_proxy_canary_weight", "gauge",
		   "Percent of users the route state sends to the canary.");
	for (size_t i = 0; i < dp->n; i++) {
		add(t, "rollguard_proxy_canary_weight");
		add_labels(t, dp->proxies[i].env->name, NULL, NULL, NULL);
		add(t, "%d\n", dp->proxies[i].st.canary_weight);
	}
	add_family(t, "rollguard_proxy_request_duration_seconds", "histogram",
		   "Time from the request head to the response head, by release.");
	for (size_t i = 0; i < n; i++)
		add_histogram(t, &ss[i]);
}

rg_err rg_dataplane_metrics(rg_dataplane *dp, char **buf, size_t *len, rg_error *err)
{
	if (!dp || dp->n == 0)
		return RG_OK;
	series *ss = malloc(dp->n * RG_PROXY_SLOTS * sizeof *ss);
	if (!ss)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	size_t n = 0;
	pthread_mutex_lock(&dp->lock);
	for (size_t i = 0; i < dp->n; i++) {
		dp_proxy *x = &dp->proxies[i];
		dp_sync(x);
		for (int s = 0; s < RG_PROXY_SLOTS; s++) {
			if (!x->slots[s].named)
				continue;
			ss[n].env = x->env->name;
			ss[n].release = x->slots[s].version;
			dp_slot_figures(x, s, 0, &ss[n].figures, NULL);
			n++;
		}
	}
	/* The caller's malloc'd text (len bytes and its NUL) becomes the buffer. */
	size_t had = *buf ? *len : 0;
	text t = { .sb = { *buf, had, had + 1 }, .oom = false };
	if (!*buf)
		rg_strbuf_init(&t.sb);
	add_series(&t, dp, ss, n);
	pthread_mutex_unlock(&dp->lock);
	free(ss);
	if (t.oom) {
		rg_strbuf_setlen(&t.sb, had); /* the caller's text, as it was */
		*buf = t.sb.alloc ? t.sb.buf : NULL;
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	*buf = rg_strbuf_detach(&t.sb, len);
	return *buf ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
}
