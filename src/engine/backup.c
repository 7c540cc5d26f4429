/* backup.c — a backup step's artifacts. Before the command runs it gets an
 * empty directory of its own ($ROLLGUARD_BACKUP_DIR, under server.backups:
 * ENV/runRUN-STEP); once it exited 0, every file in it is checksummed on
 * libuv's thread pool (a database dump may be large: the loop never reads
 * it), and the step's success is committed together with the backup's row
 * and the pruning of the environment's backups beyond `keep`. Only then are
 * the pruned directories removed (on the pool again): what is deleted was
 * recorded first. A backup command that wrote nothing, or a symlink, fails
 * the step. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/artifacts.h"
#include "util/log.h"
#include "util/timeutil.h"

static rg_err make_dirs(const char *path, rg_error *err)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return rg_fail(err, RG_EIO, NULL, "cannot create '%s': %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return rg_fail(err, RG_EIO, NULL, "cannot create '%s': %s", buf, strerror(errno));
	return RG_OK;
}

rg_err rg_backup_prepare(rg_active *a, const rg_step *s, rg_error *err)
{
	rg_backup_forget(a);
	if (!s->backup)
		return RG_OK;
	snprintf(a->backup.dir, sizeof a->backup.dir, "%s/%s/run%lld-%s", a->eng->cfg->backups_dir,
		 a->run.env, (long long)a->run.id, s->name);
	/* An earlier attempt's leftovers are not this backup. */
	rg_err rc = rg_artifacts_remove(a->backup.dir, err);
	if (!rc)
		rc = make_dirs(a->backup.dir, err);
	if (rc)
		a->backup.dir[0] = '\0';
	return rc;
}

void rg_backup_forget(rg_active *a)
{
	free(a->backup.files);
	a->backup.files = NULL;
	a->backup.sealed = false;
	a->backup.dir[0] = '\0';
}

/* ---- sealing: checksums on the pool ------------------------------------------ */

typedef struct seal_job {
	uv_work_t req;
	rg_active *a;
	char dir[PATH_MAX];
	char *files;
	int64_t bytes;
	rg_err rc;
	rg_error err;
	rg_launch_done_fn done;
	int exit_code;
} seal_job;

static void seal_work(uv_work_t *req)
{
	seal_job *j = req->data;
	j->rc = rg_artifacts_scan(j->dir, &j->files, &j->bytes, &j->err);
}

static void seal_done(uv_work_t *req, int status)
{
	seal_job *j = req->data;
	rg_active *a = j->a;
	bool gone = a->released || a->eng->shutting_down;
	if (!gone && status == 0 && !j->rc) {
		a->backup.files = j->files;
		a->backup.bytes = j->bytes;
		a->backup.sealed = true;
		j->files = NULL;
		j->done(a, RG_OUTCOME_SUCCEEDED, "exit 0", j->exit_code);
	} else if (!gone) {
		char detail[600];
		snprintf(detail, sizeof detail, "backup: %s", status ? "the checksums could not be computed" : j->err.message);
		rg_launch_keep_log(a, detail, strlen(detail));
		j->done(a, RG_OUTCOME_FAILED, detail, -1);
	}
	free(j->files);
	free(j);
	rg_active_unref(a);
}

void rg_backup_seal(rg_active *a, int exit_code, rg_launch_done_fn done)
{
	seal_job *j = calloc(1, sizeof *j);
	if (!j) {
		rg_launch_keep_log(a, "out of memory", 13);
		return done(a, RG_OUTCOME_FAILED, "backup: out of memory", -1);
	}
	j->req.data = j;
	j->a = a;
	j->done = done;
	j->exit_code = exit_code;
	snprintf(j->dir, sizeof j->dir, "%s", a->backup.dir);
	a->open_handles++;   /* released in seal_done */
	if (uv_queue_work(a->eng->loop, &j->req, seal_work, seal_done) != 0) {
		a->open_handles--;
		free(j);
		rg_launch_keep_log(a, "cannot queue the checksums", 26);
		done(a, RG_OUTCOME_FAILED, "backup: cannot queue the checksums", -1);
	}
}

/* ---- recording, pruning ------------------------------------------------------- */

/* The environment's backups beyond `keep`, pruned in the transaction that
 * records the new one; their ids go into *ids for the files to follow. */
static rg_err prune_rows(rg_active *a, const rg_step *s, int64_t **ids, size_t *n, rg_error *err)
{
	rg_err rc = rg_store_backups_beyond(a->eng->store, a->run.env, s->backup->keep, ids, n, err);
	int64_t now = rg_now_ms();
	for (size_t i = 0; !rc && i < *n; i++)
		rc = rg_store_backup_prune(a->eng->store, (*ids)[i], now, err);
	return rc;
}

rg_err rg_backup_record(rg_active *a, const rg_step *s, rg_error *err)
{
	if (!s->backup || !a->backup.sealed)
		return RG_OK;
	rg_backup b;
	memset(&b, 0, sizeof b);
	snprintf(b.env, sizeof b.env, "%s", a->run.env);
	snprintf(b.version, sizeof b.version, "%s", a->run.version);
	b.run_id = a->run.id;
	snprintf(b.step, sizeof b.step, "%s", s->name);
	snprintf(b.dir, sizeof b.dir, "%s", a->backup.dir);
	b.files = a->backup.files;
	b.bytes = a->backup.bytes;
	b.created = rg_now_ms();
	rg_err rc = rg_store_backup_add(a->eng->store, &b, err);
	free(a->backup.pruned);
	a->backup.pruned = NULL;
	a->backup.n_pruned = 0;
	if (!rc)
		rc = prune_rows(a, s, &a->backup.pruned, &a->backup.n_pruned, err);
	char msg[300];
	json_t *files = json_loads(b.files, 0, NULL);
	snprintf(msg, sizeof msg, "backup %lld of %s taken: %zu file%s, %lld bytes, checksummed; %zu older pruned (keep %d)",
		 (long long)b.id, a->run.env, json_array_size(files), json_array_size(files) == 1 ? "" : "s",
		 (long long)b.bytes, a->backup.n_pruned, s->backup->keep);
	json_decref(files);
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "backup_taken", s->name, msg, err);
	return rc;
}

typedef struct prune_job {
	uv_work_t req;
	char **dirs;
	size_t n;
} prune_job;

static void prune_work(uv_work_t *req)
{
	prune_job *j = req->data;
	rg_error err;
	for (size_t i = 0; i < j->n; i++)
		if (rg_artifacts_remove(j->dirs[i], &err))
			rg_warn("backups: %s", err.message);
}

static void prune_done(uv_work_t *req, int status)
{
	prune_job *j = req->data;
	for (size_t i = 0; i < j->n; i++)
		free(j->dirs[i]);
	free(j->dirs);
	free(j);
}

void rg_backup_recorded(rg_active *a)
{
	prune_job *j = calloc(1, sizeof *j);
	size_t n = a->backup.n_pruned;
	if (j && n)
		j->dirs = calloc(n, sizeof *j->dirs);
	for (size_t i = 0; j && j->dirs && i < n; i++) {
		rg_backup b;
		if (rg_store_backup_get(a->eng->store, a->backup.pruned[i], &b, NULL) == RG_OK &&
		    (j->dirs[j->n] = strdup(b.dir)))
			j->n++;
		rg_backup_release(&b);
	}
	free(a->backup.pruned);
	a->backup.pruned = NULL;
	a->backup.n_pruned = 0;
	rg_backup_forget(a);
	if (!j)
		return;
	j->req.data = j;
	if (j->n && uv_queue_work(a->eng->loop, &j->req, prune_work, prune_done) == 0)
		return;
	if (j->n)
		rg_warn("backups: pruned backups' files stay (cannot queue their removal)");
	prune_done(&j->req, 0);
}
