/* remote.c — the controller's dataplane: the same interface as the proxy
 * process's, but no listener and no worker here. A state is checked with
 * the proxy's own code and handed to the link (send); figures and the
 * proxy's view are read from the region the proxy process shares, mapped
 * read-only. Must never write that region nor wait for the proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane_internal.h"

rg_err rg_dataplane_remote(const rg_config *cfg, rg_dataplane_send_fn send, void *ctx,
			   rg_dataplane **out, rg_error *err)
{
	rg_err rc = dp_new(cfg, out, err);
	if (rc)
		return rc;
	(*out)->remote = true;
	(*out)->send = send;
	(*out)->send_ctx = ctx;
	return RG_OK;
}

rg_err rg_dataplane_remote_map(rg_dataplane *dp, const char *path, rg_error *err)
{
	dp_shm *m;
	rg_err rc = dp_shm_open(path, &m, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&dp->lock);
	dp_shm_close(dp->shm);
	dp->shm = m;
	for (size_t i = 0; i < dp->n; i++)
		dp->proxies[i].idx = dp_shm_find(m, dp->proxies[i].env->name);
	pthread_mutex_unlock(&dp->lock);
	return RG_OK;
}

void dp_sync(dp_proxy *x)
{
	if (!x->dp->remote)
		return;
	if (x->idx < 0 || !x->dp->shm) {
		memset(x->view, 0, sizeof *x->view);
	} else {
		dp_shm_read(x->dp->shm, (size_t)x->idx, x->view);
	}
	if (x->view->applied) {
		x->st = x->view->st;
		memcpy(x->slots, x->view->slots, sizeof x->slots);
	}
	atomic_store(&x->routable, x->view->routable);
}

rg_err dp_remote_apply(dp_proxy *x, const rg_route_state *st, rg_error *err)
{
	dp_sync(x);
	rg_err rc = dp_check_state(x, st, err);
	if (rc)
		return rc;
	/* kept first: a proxy that restarts is sent it again, even if this
	 * send finds no proxy */
	x->sent_st = *st;
	x->sent = true;
	return x->dp->send(x->dp->send_ctx, st, err);
}

bool dp_remote_pending(const dp_proxy *x, const char *version)
{
	if (!x->dp->remote || !x->sent)
		return false;
	const char *names[DP_ROLES];
	dp_role_names(&x->sent_st, names);
	for (int r = 0; r < DP_ROLES; r++)
		if (names[r] && strcmp(names[r], version) == 0)
			return true;
	return false;
}

void rg_dataplane_remote_each_sent(rg_dataplane *dp,
				   void (*fn)(void *ctx, const rg_route_state *st), void *ctx)
{
	pthread_mutex_lock(&dp->lock);
	for (size_t i = 0; i < dp->n; i++)
		if (dp->proxies[i].sent)
			fn(ctx, &dp->proxies[i].sent_st);
	pthread_mutex_unlock(&dp->lock);
}
