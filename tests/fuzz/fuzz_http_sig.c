/*
 * fuzz_http_sig: what a hostile caller controls in webhook signatures and
 * token answers.  Byte 0 picks the target: a Vonage JWT (the rest is
 * "Authorization value NUL body"), the legacy sig over a query string, a
 * Twilio signature over a form, or an OAuth token endpoint answer (status
 * from byte 1).  Never crashes, never accepts a forged JWT (the secret is
 * not in the input's reach: only a token this target signs itself may
 * pass), and a parsed token is non-empty without spaces or controls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "http/oauth.h"
#include "http/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const secret = "fuzz-secret-never-in-the-input-6f1c";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 20000)
		return 0;
	char *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	size_t n = size - 1;
	struct errbuf err;
	switch (data[0] % 4) {
	case 0: {
		const char *auth = buf;
		size_t al = strlen(auth);
		const char *body = al + 1 < n ? buf + al + 1 : "";
		size_t bl = al + 1 < n ? n - al - 1 : 0;
		int rc = http_sig_vonage_jwt(secret, auth, body, bl, 1700000000, 300);
		if (rc != 0 && rc != 401 && rc != 403)
			abort();
		if (rc == 0)
			abort(); /* forging HS256 without the key */
		break;
	}
	case 1: {
		struct http_form q = {0};
		if (http_form_parse(buf, n, &q, &err) == 0) {
			int rc = http_sig_vonage(secret, (enum http_sig_method)(data[1] % 5), &q, NULL,
			                         http_form_get(&q, "sig"));
			if (rc == 0)
				abort();
		}
		http_form_free(&q);
		break;
	}
	case 2: {
		struct http_form f = {0};
		if (http_form_parse(buf, n, &f, &err) == 0) {
			char sig[29];
			http_sig_twilio_make(secret, "https://gw.example/report", &f, sig);
			if (http_sig_twilio(secret, "https://gw.example/report", &f, sig) != 0)
				abort(); /* what we sign ourselves verifies */
			if (http_sig_twilio(secret, "https://gw.example/report", &f, http_form_get(&f, "s")) == 0)
				abort();
		}
		http_form_free(&f);
		break;
	}
	default: {
		char *tok = NULL;
		long exp = 0;
		long status = 100 + data[1] * 2;
		if (http_oauth_parse(status, buf, n, &tok, &exp, &err) == 0) {
			if (!tok || !*tok || exp <= 0 || status < 200 || status > 299)
				abort();
			for (const char *p = tok; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == 0x7F)
					abort();
		} else if (tok) {
			abort();
		}
		free(tok);
		break;
	}
	}
	free(buf);
	return 0;
}
