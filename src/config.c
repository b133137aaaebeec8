/* config: see config.h. */
#include "config.h"
#include "listen_addr.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The top directory is the parent of the directory holding the binary
 * (bin/smspool or build-san/bin/smspool → two levels for the latter). */
static char *find_root(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return xstrdup(".");
	path[n] = '\0';
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
		char probe[PATH_MAX + 32];
		snprintf(probe, sizeof probe, "%s/conf/smspool.conf", path);
		if (access(probe, R_OK) == 0)
			return xstrdup(path);
	}
	if (getcwd(path, sizeof path))
		return xstrdup(path);
	return xstrdup(".");
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_write_connections(const char *val, int *out)
{
	char *end;
	long n = strtol(val, &end, 10);
	if (end == val || *end || n < 1 || n > WRITE_CONNECTIONS_MAX)
		return -1;
	*out = (int)n;
	return 0;
}

/* "host:port", "[v6]:port", or a bare port meaning loopback (127.0.0.1:port):
 * the status page is read-only but not for the world by default. */
static int parse_metrics_listen(const char *val, char **out)
{
	char addr[300];
	if (strspn(val, "0123456789") == strlen(val) && *val)
		snprintf(addr, sizeof addr, "127.0.0.1:%s", val);
	else
		snprintf(addr, sizeof addr, "%s", val);
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128];
	int port;
	if (listen_addr_parse(addr, &ss, &sl, host, sizeof host, &port))
		return -1;
	free(*out);
	*out = xstrdup(addr);
	return 0;
}

static int parse_metrics_auth(const char *val, bool *out)
{
	if (strcmp(val, "none") == 0 || !*val)
		*out = false;
	else if (strcmp(val, "admin") == 0)
		*out = true;
	else
		return -1;
	return 0;
}

static int set_key(struct config *cfg, const char *key, const char *val, struct errbuf *err)
{
	if (strcmp(key, "database") == 0) {
		free(cfg->database);
		cfg->database = *val ? xstrdup(val) : NULL;
	} else if (strcmp(key, "instance") == 0) {
		free(cfg->instance);
		cfg->instance = *val ? xstrdup(val) : NULL;
	} else if (strcmp(key, "log_level") == 0) {
		if (log_level_parse(val, &cfg->log_level))
			return errbuf_set(err, "log_level: must be debug, info, warn or error (got \"%s\")", val);
	} else if (strcmp(key, "write_connections") == 0) {
		if (parse_write_connections(val, &cfg->write_connections))
			return errbuf_set(err, "write_connections: must be 1 to %d (got \"%s\")", WRITE_CONNECTIONS_MAX,
			                  val);
	} else if (strcmp(key, "metrics_listen") == 0) {
		if (!*val) {
			free(cfg->metrics_listen);
			cfg->metrics_listen = NULL;
		} else if (parse_metrics_listen(val, &cfg->metrics_listen)) {
			return errbuf_set(err, "metrics_listen: must be host:port, [v6]:port or a port (got \"%s\")",
			                  val);
		}
	} else if (strcmp(key, "metrics_auth") == 0) {
		if (parse_metrics_auth(val, &cfg->metrics_auth))
			return errbuf_set(err, "metrics_auth: must be none or admin (got \"%s\")", val);
	} else {
		return errbuf_set(err, "unknown key \"%s\"", key);
	}
	return 0;
}

static int read_file(struct config *cfg, const char *path, int must_exist, struct errbuf *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return errbuf_set(err, "%s: %s", path, strerror(errno));
	}
	char line[1024];
	int lineno = 0, rc = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = errbuf_set(err, "%s:%d: expected key = value", path, lineno);
			break;
		}
		*eq = '\0';
		struct errbuf kerr;
		if (set_key(cfg, trim(s), trim(eq + 1), &kerr))
			rc = errbuf_set(err, "%s:%d: %s", path, lineno, kerr.msg);
	}
	fclose(f);
	return rc;
}

int config_load(struct config *cfg, struct errbuf *err)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->log_level = LOG_INFO;
	cfg->write_connections = 2;
	cfg->root = find_root();
	const char *file = getenv("SMSPOOL_CONF");
	char path[PATH_MAX + 32];
	if (file && *file) {
		if (read_file(cfg, file, 1, err))
			return -1;
	} else {
		snprintf(path, sizeof path, "%s/conf/smspool.conf", cfg->root);
		/* An installed binary (/usr/bin) has no conf/ beside it. */
		if (access(path, F_OK) != 0 && access("/etc/smspool/smspool.conf", F_OK) == 0)
			snprintf(path, sizeof path, "%s", "/etc/smspool/smspool.conf");
		if (read_file(cfg, path, 0, err))
			return -1;
	}
	const char *v;
	if ((v = getenv("SMSPOOL_DB")) && *v) {
		free(cfg->database);
		cfg->database = xstrdup(v);
	}
	if ((v = getenv("SMSPOOL_INSTANCE")) && *v) {
		free(cfg->instance);
		cfg->instance = xstrdup(v);
	}
	if ((v = getenv("SMSPOOL_LOG_LEVEL")) && *v && log_level_parse(v, &cfg->log_level))
		return errbuf_set(err, "SMSPOOL_LOG_LEVEL: must be debug, info, warn or error (got \"%s\")", v);
	if ((v = getenv("SMSPOOL_WRITE_CONNECTIONS")) && *v && parse_write_connections(v, &cfg->write_connections))
		return errbuf_set(err, "SMSPOOL_WRITE_CONNECTIONS: must be 1 to %d (got \"%s\")", WRITE_CONNECTIONS_MAX,
		                  v);
	if ((v = getenv("SMSPOOL_METRICS_LISTEN")) && *v && parse_metrics_listen(v, &cfg->metrics_listen))
		return errbuf_set(err, "SMSPOOL_METRICS_LISTEN: must be host:port, [v6]:port or a port (got \"%s\")",
		                  v);
	if ((v = getenv("SMSPOOL_METRICS_AUTH")) && *v && parse_metrics_auth(v, &cfg->metrics_auth))
		return errbuf_set(err, "SMSPOOL_METRICS_AUTH: must be none or admin (got \"%s\")", v);
	if (!cfg->database) {
		/* Keep in step with packaging/pgcluster.sh url. */
		char url[PATH_MAX + 128];
		snprintf(url, sizeof url, "host=%s/var/pg/run port=5499 user=smspool dbname=smspool", cfg->root);
		cfg->database = xstrdup(url);
		cfg->database_private = 1;
	}
	if (!cfg->instance) {
		char host[256] = "smspool";
		if (gethostname(host, sizeof host - 1) == 0)
			host[sizeof host - 1] = '\0';
		cfg->instance = xstrdup(host);
	}
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->database);
	free(cfg->instance);
	free(cfg->root);
	free(cfg->metrics_listen);
	memset(cfg, 0, sizeof *cfg);
}
