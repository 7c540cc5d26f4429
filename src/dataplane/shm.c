/* shm.c — the shared region of shm.h: its layout, the proxy's creation (or
 * reuse, so figures outlive a proxy process) and the controller's read-only
 * mapping, and the seqlock of the per-environment views. Must never be
 * written by the controller: it maps it PROT_READ. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/shm.h"

#define SHM_MAGIC "rgdpshm"

static size_t up64(size_t n) { return (n + 63) & ~(size_t)63; }

typedef struct shm_env {
	char name[RG_VNAME_LEN];
	uint32_t workers;
	uint64_t view_off;
	uint64_t shards_off;          /* [gen][slot][worker] */
	_Atomic uint32_t seq;         /* odd while the view is being written */
} shm_env;

typedef struct shm_head {
	char magic[8];
	uint32_t version;
	uint32_t n_envs;
	uint64_t size;
	uint64_t view_size;
	uint64_t shard_size;
	_Atomic int32_t gen_owner[DP_SHM_GENS]; /* pid writing each generation, 0 none */
	shm_env envs[];
} shm_head;

struct dp_shm {
	shm_head *h;
	size_t size;
	bool writable;
	int gen;                      /* the generation this process writes, -1 reader */
	/* per env: [slot][every shard of both generations], and own shards */
	rg_stats_shard ***slot_shards;
	rg_stats_shard ***own;
};

static size_t layout(const unsigned *workers, size_t n, uint64_t *view_off, uint64_t *shards_off)
{
	size_t off = up64(sizeof(shm_head) + n * sizeof(shm_env));
	for (size_t i = 0; i < n; i++) {
		view_off[i] = off;
		off += up64(sizeof(dp_shm_view));
	}
	for (size_t i = 0; i < n; i++) {
		shards_off[i] = off;
		off += (size_t)DP_SHM_GENS * RG_PROXY_SLOTS * workers[i] * up64(rg_stats_shard_size());
	}
	return off;
}

static rg_stats_shard *shard_at(const dp_shm *m, size_t i, int gen, int slot, unsigned w)
{
	const shm_env *e = &m->h->envs[i];
	size_t idx = ((size_t)gen * RG_PROXY_SLOTS + (size_t)slot) * e->workers + w;
	return (rg_stats_shard *)((char *)m->h + e->shards_off + idx * up64(rg_stats_shard_size()));
}

/* The pointer tables readers and the proxy use (process-local memory). */
static rg_err index_shards(dp_shm *m, rg_error *err)
{
	size_t n = m->h->n_envs;
	m->slot_shards = calloc(n ? n : 1, sizeof *m->slot_shards);
	m->own = calloc(n ? n : 1, sizeof *m->own);
	if (!m->slot_shards || !m->own)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		unsigned w = m->h->envs[i].workers;
		m->slot_shards[i] = calloc((size_t)RG_PROXY_SLOTS * DP_SHM_GENS * w, sizeof(void *));
		m->own[i] = calloc((size_t)RG_PROXY_SLOTS * w, sizeof(void *));
		if (!m->slot_shards[i] || !m->own[i])
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		for (int s = 0; s < RG_PROXY_SLOTS; s++)
			for (int g = 0; g < DP_SHM_GENS; g++)
				for (unsigned k = 0; k < w; k++)
					m->slot_shards[i][((size_t)s * DP_SHM_GENS + (size_t)g) * w + k] =
						shard_at(m, i, g, s, k);
		for (int s = 0; s < RG_PROXY_SLOTS && m->gen >= 0; s++)
			for (unsigned k = 0; k < w; k++)
				m->own[i][(size_t)s * w + k] = shard_at(m, i, m->gen, s, k);
	}
	return RG_OK;
}

static bool matches(const shm_head *h, size_t size, const char *const *envs,
		    const unsigned *workers, size_t n)
{
	if (memcmp(h->magic, SHM_MAGIC, 8) || h->version != DP_SHM_VERSION || h->n_envs != n ||
	    h->size != size || h->view_size != sizeof(dp_shm_view) ||
	    h->shard_size != rg_stats_shard_size())
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(h->envs[i].name, envs[i]) || h->envs[i].workers != workers[i])
			return false;
	return true;
}

static void init_region(shm_head *h, size_t size, const char *const *envs,
			const unsigned *workers, size_t n, const uint64_t *view_off,
			const uint64_t *shards_off)
{
	memset(h, 0, sizeof *h + n * sizeof(shm_env));
	h->version = DP_SHM_VERSION;
	h->n_envs = (uint32_t)n;
	h->size = size;
	h->view_size = sizeof(dp_shm_view);
	h->shard_size = rg_stats_shard_size();
	for (size_t i = 0; i < n; i++) {
		snprintf(h->envs[i].name, sizeof h->envs[i].name, "%s", envs[i]);
		h->envs[i].workers = workers[i];
		h->envs[i].view_off = view_off[i];
		h->envs[i].shards_off = shards_off[i];
		memset((char *)h + view_off[i], 0, sizeof(dp_shm_view));
		size_t count = (size_t)DP_SHM_GENS * RG_PROXY_SLOTS * workers[i];
		for (size_t k = 0; k < count; k++)
			rg_stats_shard_init((char *)h + shards_off[i] + k * up64(rg_stats_shard_size()));
	}
	/* the magic last: a region is only ever taken whole */
	memcpy(h->magic, SHM_MAGIC, 8);
}

static bool owner_alive(int32_t pid)
{
	return pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM);
}

static int take_generation(shm_head *h)
{
	for (int g = 0; g < DP_SHM_GENS; g++) {
		int32_t pid = atomic_load(&h->gen_owner[g]);
		if (!owner_alive(pid)) {
			atomic_store(&h->gen_owner[g], (int32_t)getpid());
			return g;
		}
	}
	return -1;
}

/* An existing file with the same layout is kept (its figures go on);
 * anything else is replaced by a new file renamed over it, so that a
 * controller still mapping the old one reads a consistent region. */
static rg_err map_file(const char *path, size_t size, const char *const *envs,
		       const unsigned *workers, size_t n, shm_head **out, bool *fresh, rg_error *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat sb;
	if (fd >= 0 && fstat(fd, &sb) == 0 && (size_t)sb.st_size == size) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (p != MAP_FAILED && matches(p, size, envs, workers, n)) {
			*out = p;
			*fresh = false;
			return RG_OK;
		}
		if (p != MAP_FAILED)
			munmap(p, size);
	} else if (fd >= 0) {
		close(fd);
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return rg_fail(err, RG_EIO, NULL, "cannot create %s: %s", path, strerror(e));
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED || rename(tmp, path) < 0) {
		int e = errno;
		if (p != MAP_FAILED)
			munmap(p, size);
		unlink(tmp);
		return rg_fail(err, RG_EIO, NULL, "cannot map %s: %s", path, strerror(e));
	}
	*out = p;
	*fresh = true;
	return RG_OK;
}

rg_err dp_shm_create(const char *path, const char *const *envs, const unsigned *workers,
		     size_t n_envs, dp_shm **out, bool *fresh, rg_error *err)
{
	*out = NULL;
	uint64_t *view_off = calloc(n_envs + 1, sizeof *view_off);
	uint64_t *shards_off = calloc(n_envs + 1, sizeof *shards_off);
	dp_shm *m = calloc(1, sizeof *m);
	rg_err rc = RG_OK;
	if (!view_off || !shards_off || !m) {
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		goto out;
	}
	m->size = layout(workers, n_envs, view_off, shards_off);
	m->writable = true;
	m->gen = -1;
	shm_head *h = NULL;
	if (path) {
		rc = map_file(path, m->size, envs, workers, n_envs, &h, fresh, err);
	} else {
		void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			rc = rg_fail(err, RG_ENOMEM, NULL, "cannot map %zu bytes of statistics", m->size);
		h = p == MAP_FAILED ? NULL : p;
		*fresh = true;
	}
	if (rc)
		goto out;
	m->h = h;
	if (*fresh)
		init_region(h, m->size, envs, workers, n_envs, view_off, shards_off);
	if ((m->gen = take_generation(h)) < 0) {
		rc = rg_fail(err, RG_ECONFLICT, NULL, "two live proxies already write %s", path);
		goto out;
	}
	rc = index_shards(m, err);
out:
	free(view_off);
	free(shards_off);
	if (rc) {
		dp_shm_close(m);
		return rc;
	}
	*out = m;
	return RG_OK;
}

rg_err dp_shm_open(const char *path, dp_shm **out, rg_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(shm_head)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return rg_fail(err, RG_EIO, NULL, "cannot open %s: %s", path,
			       fd < 0 ? strerror(e) : "too short");
	}
	void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return rg_fail(err, RG_EIO, NULL, "cannot map %s: %s", path, strerror(errno));
	dp_shm *m = calloc(1, sizeof *m);
	shm_head *h = p;
	if (!m || memcmp(h->magic, SHM_MAGIC, 8) || h->version != DP_SHM_VERSION ||
	    h->size != (uint64_t)sb.st_size || h->view_size != sizeof(dp_shm_view) ||
	    h->shard_size != rg_stats_shard_size()) {
		munmap(p, (size_t)sb.st_size);
		free(m);
		return rg_fail(err, RG_EIO, NULL, "%s is not a statistics region of this version", path);
	}
	m->h = h;
	m->size = (size_t)sb.st_size;
	m->gen = -1;
	rg_err rc = index_shards(m, err);
	if (rc) {
		dp_shm_close(m);
		return rc;
	}
	*out = m;
	return RG_OK;
}

void dp_shm_close(dp_shm *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->h && i < m->h->n_envs; i++) {
		if (m->slot_shards)
			free(m->slot_shards[i]);
		if (m->own)
			free(m->own[i]);
	}
	free(m->slot_shards);
	free(m->own);
	if (m->h) {
		/* a successor may take this generation once we are gone */
		if (m->writable && m->gen >= 0)
			atomic_store(&m->h->gen_owner[m->gen], 0);
		munmap(m->h, m->size);
	}
	free(m);
}

size_t dp_shm_envs(const dp_shm *m) { return m->h->n_envs; }

int dp_shm_find(const dp_shm *m, const char *env)
{
	for (size_t i = 0; env && i < m->h->n_envs; i++)
		if (strcmp(m->h->envs[i].name, env) == 0)
			return (int)i;
	return -1;
}

unsigned dp_shm_workers(const dp_shm *m, size_t i) { return m->h->envs[i].workers; }

rg_stats_shard *const *dp_shm_own_shards(const dp_shm *m, size_t i) { return m->own[i]; }

rg_stats_shard *const *dp_shm_slot_shards(const dp_shm *m, size_t i, int slot, size_t *n)
{
	size_t per = (size_t)DP_SHM_GENS * m->h->envs[i].workers;
	*n = per;
	return m->slot_shards[i] + (size_t)slot * per;
}

/* ---- the seqlock --------------------------------------------------------------

   One writer (the proxy's control thread). It makes the sequence odd,
   copies, makes it even again; a reader copies between two reads of an
   even, unchanged sequence. The fences order the plain copy against the
   sequence on both sides. */

static dp_shm_view *view_at(const dp_shm *m, size_t i)
{
	return (dp_shm_view *)((char *)m->h + m->h->envs[i].view_off);
}

void dp_shm_write(dp_shm *m, size_t i, const dp_shm_view *v)
{
	shm_env *e = &m->h->envs[i];
	uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(view_at(m, i), v, sizeof *v);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->seq, s + 2, memory_order_relaxed);
}

void dp_shm_read(const dp_shm *m, size_t i, dp_shm_view *out)
{
	shm_env *e = &m->h->envs[i];
	for (;;) {
		uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(out, view_at(m, i), sizeof *out);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == s1)
			return;
	}
}
