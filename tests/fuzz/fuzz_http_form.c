/*
 * fuzz_http_form: arbitrary application/x-www-form-urlencoded input (query
 * strings and callback bodies).  Decoding fails cleanly or yields fields
 * without NUL; re-encoding the fields with the url filter and decoding
 * again gives the same fields (round trip).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/form.h"
#include "http/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_form f = {0};
	struct errbuf err;
	if (http_form_parse((const char *)data, size, &f, &err)) {
		assert(f.n == 0);
		return 0;
	}
	assert(f.n <= HTTP_FORM_MAX_FIELDS);
	struct sbuf b;
	sbuf_init(&b);
	for (size_t i = 0; i < f.n; i++) {
		if (i)
			sbuf_add(&b, "&", 1);
		assert(http_filter_apply(HF_URL, f.kv[i].name, strlen(f.kv[i].name), &b, &err) == 0);
		sbuf_add(&b, "=", 1);
		assert(http_filter_apply(HF_URL, f.kv[i].value, strlen(f.kv[i].value), &b, &err) == 0);
	}
	struct http_form g = {0};
	assert(http_form_parse(b.buf, b.len, &g, &err) == 0);
	/* fields with an empty name and no value vanish on the way ("=" stays) */
	assert(g.n == f.n);
	for (size_t i = 0; i < f.n; i++) {
		assert(strcmp(f.kv[i].name, g.kv[i].name) == 0);
		assert(strcmp(f.kv[i].value, g.kv[i].value) == 0);
	}
	http_form_free(&g);
	sbuf_free(&b);
	http_form_free(&f);
	return 0;
}
