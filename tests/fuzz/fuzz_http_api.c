/*
 * fuzz_http_api: hostile input to the HTTP send API's request side.  The
 * first byte chooses what the rest is: a JSON body, a form body, a request
 * path, an ISO 8601 time or an Authorization header.  Parsing fails cleanly
 * (a 400, 413 or 415 and nothing kept) or yields items that are each either
 * a sane submission or an error; every answer rendered from them is JSON.
 */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_auth.h"
#include "http/api_json.h"
#include "http/api_req.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	assert(j && json_is_object(j));
	json_decref(j);
	free(s);
}

static void body(const char *ct, const char *p, size_t n)
{
	struct http_api_request r;
	struct http_api_error err;
	if (http_api_parse(ct, p, n, &r, &err)) {
		assert(err.status == 400 || err.status == 413 || err.status == 415);
		assert(r.n == 0 && r.items == NULL);
		assert(memchr(err.msg, 0, sizeof err.msg));
		check_json(http_api_error_json(err.msg, err.field));
		return;
	}
	assert(r.n >= 1 && r.n <= HTTP_API_BATCH_MAX);
	assert(r.batch || r.n == 1);
	for (int i = 0; i < r.n; i++) {
		struct http_api_item *it = &r.items[i];
		if (!it->sub) {
			assert(it->err.status == 400);
			continue;
		}
		const struct submission *s = it->sub;
		assert(s->recipient && *s->recipient && s->encoding);
		assert((s->body != NULL) != (s->payload != NULL));
		assert(s->priority >= 0 && s->priority <= 9);
		assert(s->msg_class >= -1 && s->msg_class <= 3);
		assert(s->send_after_s >= 0 && s->valid_until_s >= 0);
		it->id = i + 1;
	}
	int status;
	check_json(http_api_result_json(&r, &status));
	assert(status == 201 || status == 207 || status == 400);
	http_api_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	char *s = xstrndup(p, n); /* NUL-terminated (cut at the first NUL) */
	switch (data[0] % 5) {
	case 0:
		body("application/json", p, n);
		break;
	case 1:
		body("application/x-www-form-urlencoded", p, n);
		break;
	case 2: {
		int64_t id = 0;
		enum http_api_route r = http_api_route("/api/v1", s, &id);
		assert(r != API_ROUTE_MESSAGE || id > 0);
		r = http_api_route("", s, &id);
		assert(r != API_ROUTE_MESSAGE || id > 0);
		break;
	}
	case 3: {
		int64_t t;
		if (http_api_iso8601(s, &t) == 0) {
			char buf[32];
			int64_t back;
			assert(t >= 0 && t < 253402387200);
			http_api_iso8601_format(t, buf, sizeof buf);
			assert(http_api_iso8601(buf, &back) == 0 && back == t);
		}
		break;
	}
	case 4: {
		char *user, *pass;
		if (http_api_basic(s, &user, &pass) == API_CRED_OK)
			assert(user && *user && pass);
		else
			assert(!user && !pass);
		free(user);
		http_api_secret_free(pass);
		break;
	}
	}
	free(s);
	return 0;
}
