/* tls.c — reading server.tls's certificate and key for the API.
 * The key is a secret: it is wiped before its memory is freed and nothing
 * of it reaches a message. */
#include "api/tls.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX ((size_t)1 << 20)

bool rg_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* The whole file as a string; what: "certificate" or "key". */
static rg_err pem_read(const char *path, const char *what, char **out, size_t *len,
		       rg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return rg_fail(err, RG_EIO, "server.tls", "cannot read TLS %s '%s': %s", what, path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rg_fail(err, RG_EIO, "server.tls", "TLS %s '%s' is not a file", what, path);
	}
	if ((size_t)st.st_size > PEM_MAX) {
		close(fd);
		return rg_fail(err, RG_ETOOLARGE, "server.tls", "TLS %s '%s' is larger than 1 MiB",
			       what, path);
	}
	size_t size = (size_t)st.st_size, n = 0;
	char *buf = calloc(1, size + 1);
	if (!buf) {
		close(fd);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	int rc = rg_read_full(fd, buf, size, &n);
	int e = errno;
	close(fd);
	if (!rc && n > 0 && !memchr(buf, '\0', n)) {
		*out = buf;
		*len = n;
		return RG_OK;
	}
	explicit_bzero(buf, size + 1);
	free(buf);
	if (rc)
		return rg_fail(err, RG_EIO, "server.tls", "cannot read TLS %s '%s': %s", what, path,
			       strerror(e));
	return rg_fail(err, RG_EINVAL, "server.tls", "TLS %s '%s' is empty or not PEM text", what,
		       path);
}

rg_err rg_tls_pem_load(const char *cert_path, const char *key_path, rg_tls_pem *out,
		       rg_error *err)
{
	size_t cert_len;
	memset(out, 0, sizeof *out);
	rg_err rc = pem_read(cert_path, "certificate", &out->cert, &cert_len, err);
	if (!rc)
		rc = pem_read(key_path, "key", &out->key, &out->key_len, err);
	if (rc)
		rg_tls_pem_release(out);
	return rc;
}

void rg_tls_pem_release(rg_tls_pem *p)
{
	if (p->key)
		explicit_bzero(p->key, p->key_len);
	free(p->key);
	free(p->cert);
	memset(p, 0, sizeof *p);
}
