/* A driver's settings as the daemon takes them (drivers/driver.h: parsed
 * by ops->settings into a conf of ops->conf_size, then ops->check), for
 * the tests of what a driver's configuration accepts and refuses.
 * Included by a test file after cmocka.h. */
#ifndef SMSPOOL_TEST_CONF_CHECK_H
#define SMSPOOL_TEST_CONF_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "settings.h"
#include "util.h"

/* json parsed and checked for d: 0, or -1 with err set.  The conf is
 * freed. */
static int conf_parse_check(const struct driver_ops *d, const char *json, struct errbuf *err)
{
	void *conf = xcalloc(1, d->conf_size);
	int rc = settings_parse(d->settings, json, conf, err);
	if (rc == 0 && d->check)
		rc = d->check(conf, err);
	settings_free(d->settings, conf);
	free(conf);
	return rc;
}

/* A configuration d must refuse, and what its error must name. */
struct conf_refusal {
	const char *json, *want;
};

static void conf_refusals(const struct driver_ops *d, const struct conf_refusal *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct errbuf err = {""};
		if (conf_parse_check(d, cases[i].json, &err) != -1)
			fail_msg("accepted: %s", cases[i].json);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("%s: error \"%s\" does not name %s", cases[i].json, err.msg, cases[i].want);
	}
}

#endif
