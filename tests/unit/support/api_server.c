/* api_server.c — the daemon and the client of api_server.h. The daemon
 * collects a request's body across MHD's calls, answers from
 * rg_routes_handle's reply (status, Content-Type, Allow) and frees the body
 * when MHD says the request is over. */
#include "api_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdbool.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct MHD_Daemon *daemon_;
static int port;

typedef struct conn_body {
	char *data;
	size_t len;
} conn_body;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	conn_body *b = *con_cls;
	if (!b) {
		*con_cls = calloc(1, sizeof *b);
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		char *grown = realloc(b->data, b->len + *upload_data_size + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + b->len, upload_data, *upload_data_size);
		b->len += *upload_data_size;
		grown[b->len] = '\0';
		b->data = grown;
		*upload_data_size = 0;
		return MHD_YES;
	}
	rg_request req = { .conn = conn, .method = method, .path = url,
			   .body = b->data ? b->data : "", .body_len = b->len, .actor = "test" };
	rg_reply reply;
	rg_routes_handle(cls, &req, &reply);
	struct MHD_Response *r = MHD_create_response_from_buffer(reply.body_len, reply.body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_NO;
	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					reply.content_type ? reply.content_type : "");
		if (reply.allow[0])
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, reply.allow);
		ret = MHD_queue_response(conn, reply.status, r);
		MHD_destroy_response(r);
	}
	rg_reply_release(&reply);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_body *b = *con_cls;
	if (b)
		free(b->data);
	free(b);
	*con_cls = NULL;
}

/* With a store and no key of its own, the test's requests carry an admin
 * token made here, so handler tests need not think about tokens. */
static rg_token_key test_key;
static char test_auth[RG_TOKEN_TEXT_MAX + 32];

static void test_token(rg_api_ctx *ctx)
{
	char token[RG_TOKEN_TEXT_MAX];
	rg_error err = { 0 };
	rg_token_spec spec = { .name = "test-admin", .roles = RG_ROLE_ADMIN };
	test_auth[0] = '\0';
	if (!ctx->store || ctx->token_key)
		return;
	randombytes_buf(test_key.k, sizeof test_key.k);
	ctx->token_key = &test_key;
	cr_assert_eq(rg_token_create(ctx->store, &test_key, &spec, token, sizeof token, &err),
		     RG_OK, "%s", err.message);
	snprintf(test_auth, sizeof test_auth, "Authorization: Bearer %s", token);
}

void api_server_start(rg_api_ctx *ctx)
{
	test_token(ctx);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request,
				   ctx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	cr_assert_not_null(daemon_);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert_not_null(info);
	port = info->port;
}

void api_server_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	api_answer *a = ud;
	char *grown = realloc(a->body, a->len + size * n + 1);
	cr_assert_not_null(grown);
	memcpy(grown + a->len, p, size * n);
	a->len += size * n;
	grown[a->len] = '\0';
	a->body = grown;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	api_answer *a = ud;
	if (n * size > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(a->allow, sizeof a->allow, "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
	return size * n;
}

api_answer api_call(const char *method, const char *path, const char *body,
		    const char *const *headers)
{
	api_answer a = { 0 };
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	CURL *h = curl_easy_init();
	cr_assert_not_null(h);
	struct curl_slist *list = NULL;
	bool has_auth = false, has_type = false;
	for (size_t i = 0; headers && headers[i]; i++) {
		has_auth |= strncasecmp(headers[i], "Authorization:", 14) == 0;
		has_type |= strncasecmp(headers[i], "Content-Type:", 13) == 0;
	}
	if (test_auth[0] && !has_auth)
		list = curl_slist_append(list, test_auth);
	if (!has_type && strcmp(method, "GET"))
		list = curl_slist_append(list, "Content-Type: application/json");
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	CURLcode cc = curl_easy_perform(h);
	cr_assert_eq(cc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(cc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
	char *ct = NULL;
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(a.content_type, sizeof a.content_type, "%s", ct ? ct : "");
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
	return a;
}
