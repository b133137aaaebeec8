/* langs: see langs.h. */
#include "codec/langs.h"

#include <string.h>

#include "codec/gsm7.h"
#include "codec/sms.h"

int sms_langs_parse(const char *spec, uint32_t *mask, struct errbuf *err)
{
	*mask = SMS_LANGS_NONE;
	if (!spec || !*spec || strcmp(spec, "none") == 0)
		return 0;
	if (strcmp(spec, "auto") == 0) {
		*mask = SMS_LANGS_AUTO;
		return 0;
	}
	const char *p = spec;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[32];
		if (n == 0 || n >= sizeof name)
			return errbuf_set(err, "national languages: empty or too long a name in \"%s\"", spec);
		memcpy(name, p, n);
		name[n] = '\0';
		int lang = gsm7_lang_from_name(name);
		if (lang <= 0)
			return errbuf_set(err,
			                  "national languages: unknown language \"%s\" (none, auto, or names such "
			                  "as turkish, spanish, portuguese)",
			                  name);
		*mask |= SMS_LANG_BIT(lang);
		p = end ? end + 1 : p + n;
	}
	return 0;
}
