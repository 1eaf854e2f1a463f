/*
 * ops/config.c — configuration file and environment (see config.h).
 */
#include "ops/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/cron.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

typedef enum { T_STR, T_INT, T_BOOL, T_DURATION, T_CRON, T_TZ, T_URL, T_LIST, T_ENUM, T_PORTS } ktype;

typedef struct keydef {
	const char *section; /* "db" for [db:NAME] */
	const char *key;
	ktype type;
	long min, max;       /* T_INT */
	const char *env;     /* PGVAULT_... or NULL */
	int secret;
	const char *choices; /* T_ENUM: "a|b|c" */
	int unread;          /* accepted (and checked), but nothing reads it: a warning */
} keydef;

static const keydef keys[] = {
	{"connection", "host", T_STR, 0, 0, "PGVAULT_HOST", 0, NULL, 0},
	{"connection", "port", T_PORTS, 1, 65535, "PGVAULT_PORT", 0, NULL, 0},
	{"connection", "user", T_STR, 0, 0, "PGVAULT_USER", 0, NULL, 0},
	{"connection", "maintenance_db", T_STR, 0, 0, "PGVAULT_MAINTENANCE_DB", 0, NULL, 0},
	{"connection", "password", T_STR, 0, 0, NULL, 1, NULL, 0},
	{"connection", "retries", T_INT, 0, 100, "PGVAULT_RETRIES", 0, NULL, 0},
	{"connection", "retry_delay", T_DURATION, 0, 0, "PGVAULT_RETRY_DELAY", 0, NULL, 0},
	{"storage", "dir", T_STR, 0, 0, "PGVAULT_STORAGE", 0, NULL, 0},
	{"backup", "databases", T_LIST, 0, 0, "PGVAULT_DATABASES", 0, NULL, 0},
	{"backup", "exclude", T_LIST, 0, 0, "PGVAULT_EXCLUDE", 0, NULL, 0},
	{"backup", "allow_unsupported", T_BOOL, 0, 0, NULL, 0, NULL, 0},
	{"backup", "lock_timeout", T_DURATION, 0, 0, "PGVAULT_LOCK_TIMEOUT", 0, NULL, 0},
	{"backup", "jobs", T_INT, 1, 64, "PGVAULT_JOBS", 0, NULL, 0},
	{"backup", "compress_level", T_INT, 1, 19, "PGVAULT_COMPRESS_LEVEL", 0, NULL, 0},
	{"backup", "source", T_ENUM, 0, 0, "PGVAULT_SOURCE", 0, "primary|standby|prefer-standby|any", 0},
	{"backup", "max_standby_lag", T_DURATION, 0, 0, "PGVAULT_MAX_STANDBY_LAG", 0, NULL, 0},
	{"backup", "retries", T_INT, 0, 100, "PGVAULT_BACKUP_RETRIES", 0, NULL, 0},
	{"retention", "keep_days", T_INT, 0, 100000, "PGVAULT_KEEP_DAYS", 0, NULL, 0},
	{"retention", "keep_min", T_INT, 1, 100000, "PGVAULT_KEEP_MIN", 0, NULL, 0},
	{"retention", "keep_daily", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"retention", "keep_weekly", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"retention", "keep_monthly", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"retention", "keep_tagged", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"retention", "timezone", T_TZ, 0, 0, NULL, 0, NULL, 0},
	{"retention", "prune_after_backup", T_BOOL, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "timezone", T_TZ, 0, 0, "PGVAULT_TIMEZONE", 0, NULL, 0},
	{"schedule", "backup", T_CRON, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "prune", T_CRON, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "verify", T_CRON, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "restore_test", T_CRON, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "command", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"schedule", "user", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"status", "max_age", T_DURATION, 0, 0, "PGVAULT_MAX_AGE", 0, NULL, 0},
	{"notify", "url", T_URL, 0, 0, "PGVAULT_NOTIFY_URL", 1, NULL, 0},
	{"notify", "on_success", T_BOOL, 0, 0, NULL, 0, NULL, 0},
	{"notify", "timeout", T_DURATION, 0, 0, NULL, 0, NULL, 0},
	{"notify", "metrics_file", T_STR, 0, 0, "PGVAULT_METRICS_FILE", 0, NULL, 0},
	{"s3", "endpoint", T_URL, 0, 0, NULL, 0, NULL, 0},
	{"s3", "region", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"s3", "bucket", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"s3", "prefix", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"s3", "url_style", T_ENUM, 0, 0, NULL, 0, "path|virtual", 0},
	{"s3", "access_key_id", T_STR, 0, 0, NULL, 1, NULL, 0},
	{"s3", "secret_access_key", T_STR, 0, 0, NULL, 1, NULL, 0},
	{"s3", "session_token", T_STR, 0, 0, NULL, 1, NULL, 0},
	{"s3", "ca_file", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"s3", "upload", T_ENUM, 0, 0, NULL, 0, "always|never", 0},
	{"hooks", "pre_backup", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"hooks", "post_backup", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"hooks", "on_failure", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"hooks", "timeout", T_DURATION, 0, 0, NULL, 0, NULL, 0},
	{"security", "signing_key_file", T_STR, 0, 0, "PGVAULT_SIGNING_KEY_FILE", 0, NULL, 0},
	{"security", "encryption_key_file", T_STR, 0, 0, "PGVAULT_ENCRYPTION_KEY_FILE", 0, NULL, 0},
	{"security", "decryption_key_files", T_LIST, 0, 0, NULL, 0, NULL, 0},
	/* [server:NAME]: one server of several, its connection and backup keys overriding
	 * [connection] and [backup] (pv_config_set_server) */
	{"server", "host", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"server", "port", T_PORTS, 1, 65535, NULL, 0, NULL, 0},
	{"server", "user", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"server", "maintenance_db", T_STR, 0, 0, NULL, 0, NULL, 0},
	{"server", "password", T_STR, 0, 0, NULL, 1, NULL, 0},
	{"server", "source", T_ENUM, 0, 0, NULL, 0, "primary|standby|prefer-standby|any", 0},
	{"server", "max_standby_lag", T_DURATION, 0, 0, NULL, 0, NULL, 0},
	{"server", "databases", T_LIST, 0, 0, NULL, 0, NULL, 0},
	{"server", "exclude", T_LIST, 0, 0, NULL, 0, NULL, 0},
	{"server", "jobs", T_INT, 1, 64, NULL, 0, NULL, 0},
	/* [db:NAME] overrides */
	{"db", "keep_days", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"db", "keep_min", T_INT, 1, 100000, NULL, 0, NULL, 0},
	{"db", "keep_daily", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"db", "keep_weekly", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"db", "keep_monthly", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"db", "keep_tagged", T_INT, 0, 100000, NULL, 0, NULL, 0},
	{"db", "allow_unsupported", T_BOOL, 0, 0, NULL, 0, NULL, 0},
	{"db", "exclude", T_BOOL, 0, 0, NULL, 0, NULL, 0},
	{"db", "max_age", T_DURATION, 0, 0, NULL, 0, NULL, 0},
};

struct pv_config {
	char *path;
	char *server;     /* pv_config_set_server */
	json_t *values;   /* section -> key -> {"v": value, "o": origin} */
	json_t *problems; /* [{"section", "message"}]: what load refused, by section */
};

long
pv_parse_duration(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || v < 0 || errno)
		return -1;
	while (*end == ' ')
		end++;
	long mul = 1;
	if (*end == 's' || *end == 0)
		mul = 1;
	else if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end == 'w')
		mul = 7 * 86400;
	else
		return -1;
	if (*end && end[1] != '\0')
		return -1;
	if (v > LONG_MAX / mul) /* (found by tests/fuzz/fuzz_config: "4444444444444444444h") */
		return -1;
	return v * mul;
}

int
pv_parse_bool(const char *s)
{
	static const char *t[] = {"yes", "true", "on", "1"}, *f[] = {"no", "false", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, t[i]) == 0)
			return 1;
		if (strcasecmp(s, f[i]) == 0)
			return 0;
	}
	return -1;
}

static const keydef *
find_key(const char *section, const char *key)
{
	const char *sec = strncmp(section, "db:", 3) == 0 ? "db"
	                  : strncmp(section, "server:", 7) == 0 ? "server" : section;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, sec) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static int
known_section(const char *section)
{
	if (strncmp(section, "db:", 3) == 0)
		return section[3] != '\0';
	if (strncmp(section, "server:", 7) == 0)
		return pv_config_server_name_ok(section + 7);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

/* NULL if value is valid for k, else what is wrong */
static char *
check_value(const keydef *k, const char *v)
{
	char *end;
	switch (k->type) {
	case T_INT: {
		errno = 0;
		long n = strtol(v, &end, 10);
		if (end == v || *end || errno || n < k->min || n > k->max)
			return pv_asprintf("expected a whole number from %ld to %ld, got \"%s\"", k->min, k->max, v);
		return NULL;
	}
	case T_PORTS: /* one port, or one per host of a list (libpq's host=a,b port=1,2) */
		for (const char *p = v;; p = end + 1) {
			errno = 0;
			long n = strtol(p, &end, 10);
			if (end == p || (*end && *end != ',') || errno || n < k->min || n > k->max)
				return pv_asprintf("expected a port from %ld to %ld, or one per host separated "
				                   "by commas, got \"%s\"", k->min, k->max, v);
			if (!*end)
				return NULL;
		}
	case T_BOOL:
		return pv_parse_bool(v) < 0 ? pv_asprintf("expected yes or no, got \"%s\"", v) : NULL;
	case T_DURATION:
		return pv_parse_duration(v) < 0
		           ? pv_asprintf("expected a duration such as 90s, 15m, 26h, 7d or 2w, got \"%s\"", v)
		           : NULL;
	case T_CRON: {
		pv_cron *c = pv_cron_parse(v);
		if (!c)
			return pv_strdup(pv_errmsg());
		pv_cron_free(c);
		return NULL;
	}
	case T_TZ:
		return pv_tz_valid(v) ? NULL : pv_asprintf("unknown time zone \"%s\"", v);
	case T_URL:
		return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0
		           ? NULL : pv_strdup("expected an http:// or https:// URL");
	case T_ENUM: {
		size_t n = strlen(v);
		for (const char *p = k->choices; p;) {
			const char *bar = strchr(p, '|');
			size_t len = bar ? (size_t)(bar - p) : strlen(p);
			if (len == n && strncmp(p, v, n) == 0)
				return NULL;
			p = bar ? bar + 1 : NULL;
		}
		return pv_asprintf("expected one of %s, got \"%s\"", k->choices, v);
	}
	default:
		return NULL;
	}
}

typedef struct parse_state {
	pv_config *c;
	FILE *f;
	int line;
	int toolong;
	int failed;
	json_t *secrets; /* sections holding a secret */
} parse_state;

/* A problem of the file with [section] key (key NULL: with the section, as an unknown key
 * in it; section "": with the file, as an unknown section, which could be any command's):
 * an error for the commands that read it, a warning for the others (pv_config_problems). */
static void
problem(pv_config *c, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void
problem(pv_config *c, const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pv_buf b = PV_BUF_INIT;
	pv_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	json_t *p = json_object();
	/* out of memory: the problem is lost, which can only make a command stricter below */
	(void)pvj_set_str(p, "section", section);
	if (key)
		(void)pvj_set_str(p, "key", key);
	(void)pvj_set_str(p, "message", b.data);
	(void)pvj_append(c->problems, p);
	pv_buf_free(&b);
}

/* "db" for [db:NAME], else the name */
static const char *
section_class(const char *section)
{
	return strncmp(section, "db:", 3) == 0 ? "db" : strncmp(section, "server:", 7) == 0 ? "server" : section;
}

/* inih hands us no line numbers and (as Debian builds it) no '#' inline comments and no
 * callback for a section header without keys: this line reader counts lines, cuts
 * " # comment" tails, and checks section headers itself. */
static char *
reader(char *str, int num, void *stream)
{
	parse_state *ps = stream;
	if (ps->failed || !fgets(str, num, ps->f))
		return NULL;
	ps->line++;
	size_t n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(ps->f)) {
		ps->toolong = ps->line;
		/* skip the rest of the line */
		int ch;
		while ((ch = fgetc(ps->f)) != EOF && ch != '\n')
			;
	}
	char *p = str + strspn(str, " \t");
	if (*p == '[') {
		char *end = strchr(p, ']');
		if (end) {
			char *name = pv_strndup(p + 1, (size_t)(end - p - 1));
			if (!known_section(name))
				problem(ps->c, "", NULL, "%s:%d: unknown section [%s]", ps->c->path, ps->line, name);
			free(name);
		}
	} else if (*p != '#' && *p != ';') {
		/* "key = value   # comment": a '#' after blanks starts a comment */
		for (char *h = strchr(p, '#'); h; h = strchr(h + 1, '#'))
			if (h > p && (h[-1] == ' ' || h[-1] == '\t')) {
				h[0] = '\n';
				h[1] = '\0';
				break;
			}
	}
	return str;
}

static int
set_value(pv_config *c, const char *section, const char *key, const char *value, const char *origin)
{
	json_t *sec = json_object_get(c->values, section);
	int bad = 0;
	if (!sec) {
		sec = json_object();
		if (pvj_set(c->values, section, sec) < 0)
			return pv_wrap("%s: [%s]", origin, section);
	}
	json_t *e = json_object();
	bad |= pvj_set_str(e, "v", value);
	bad |= pvj_set_str(e, "o", origin);
	bad |= pvj_set(sec, key, e);
	return bad ? pv_wrap("%s: [%s] %s", origin, section, key) : 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	parse_state *ps = user;
	if (ps->failed)
		return 0;
	if (ps->toolong == ps->line) {
		pv_fail_code(2, "%s:%d: line too long", ps->c->path, ps->line);
		ps->failed = 1;
		return 0;
	}
	if (!known_section(section))
		return 1; /* reported with its header (reader) */
	const keydef *k = find_key(section, name);
	if (!k) {
		problem(ps->c, section_class(section), NULL, "%s:%d: [%s] unknown key \"%s\"", ps->c->path,
		        ps->line, section, name);
		return 1;
	}
	if (json_string_value(json_object_get(json_object_get(json_object_get(ps->c->values, section), name), "v"))) {
		problem(ps->c, section_class(section), name, "%s:%d: [%s] %s is set twice", ps->c->path,
		        ps->line, section, name);
		return 1;
	}
	char *bad = check_value(k, value);
	if (bad) {
		problem(ps->c, section_class(section), name, "%s:%d: [%s] %s: %s", ps->c->path, ps->line,
		        section, name, bad);
		free(bad);
		return 1;
	}
	if (k->secret) {
		char *sk = pv_asprintf("%s.%s", section_class(section), name);
		(void)pvj_set_bool(ps->secrets, sk, 1);
		free(sk);
	}
	if (k->unread)
		pv_warn("%s:%d: [%s] %s is not used by this version of pgvault and is ignored",
		        ps->c->path, ps->line, section, name);
	char *origin = pv_asprintf("%s:%d", ps->c->path, ps->line);
	int rc = set_value(ps->c, section, name, value, origin);
	free(origin);
	if (rc < 0) {
		ps->failed = 1;
		return 0;
	}
	return 1;
}

int
pv_config_problems(const pv_config *c, int (*used)(void *ud, const char *section, const char *key),
                   void *ud)
{
	size_t i, errors = 0;
	json_t *p;
	const char *first = NULL;
	json_array_foreach(c->problems, i, p) {
		const char *sec = json_string_value(json_object_get(p, "section"));
		const char *key = json_string_value(json_object_get(p, "key"));
		const char *msg = json_string_value(json_object_get(p, "message"));
		if (!used || !*sec || used(ud, sec, key)) {
			if (!first)
				first = msg;
			errors++;
		} else {
			pv_warn("%s (not an error here: this command does not use it)", msg);
		}
	}
	if (!errors)
		return 0;
	if (errors == 1)
		return pv_fail_code(2, "%s", first);
	return pv_fail_code(2, "%s; and %zu more (pgvault config check lists them)", first, errors - 1);
}

size_t
pv_config_problem_count(const pv_config *c)
{
	return json_array_size(c->problems);
}

const char *
pv_config_problem(const pv_config *c, size_t i)
{
	return json_string_value(json_object_get(json_array_get(c->problems, i), "message"));
}

pv_config *
pv_config_load(const char *path)
{
	pv_config *c = pv_calloc(1, sizeof *c);
	c->values = json_object();
	c->problems = json_array();
	c->path = pv_strdup(path ? path : PV_DEFAULT_CONFIG);
	FILE *f = fopen(c->path, "r");
	if (!f && (path || errno != ENOENT)) {
		pv_fail_code(2, "cannot read configuration file %s: %s", c->path, strerror(errno));
		pv_config_free(c);
		return NULL;
	}
	struct stat fst;
	if (f && (fstat(fileno(f), &fst) < 0 || !S_ISREG(fst.st_mode))) {
		fclose(f);
		pv_fail_code(2, "configuration file %s is not a regular file", c->path);
		pv_config_free(c);
		return NULL;
	}
	if (f) {
		parse_state ps = {c, f, 0, 0, 0, json_object()};
		int rc = ini_parse_stream(reader, &ps, handler, &ps);
		struct stat st;
		int world = fstat(fileno(f), &st) == 0 && (st.st_mode & 077);
		fclose(f);
		if (ps.failed || rc != 0) {
			if (!ps.failed)
				pv_fail_code(2, "%s:%d: syntax error (expected [section] or key = value)", c->path, rc);
			json_decref(ps.secrets);
			pv_config_free(c);
			return NULL;
		}
		/* a secret others can read: refused by the commands that use it (its value stays,
		 * for the report of a run that this stops: pv_config_problems) */
		const char *sk;
		json_t *unused;
		json_object_foreach(ps.secrets, sk, unused) {
			if (!world)
				continue;
			const char *dot = strchr(sk, '.');
			char *sec = pv_strndup(sk, (size_t)(dot - sk));
			problem(c, sec, dot + 1, "%s holds a secret ([%s] %s: a password, S3 key or notification URL) "
			        "and can be read by other users (mode %03o); chmod 600 it", c->path, sec, dot + 1,
			        (unsigned)(st.st_mode & 0777));
			free(sec);
		}
		json_decref(ps.secrets);
	}
	/* the environment overrides the file */
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = keys[i].env ? getenv(keys[i].env) : NULL;
		if (!v || !*v)
			continue;
		char *bad = check_value(&keys[i], v);
		if (bad) {
			problem(c, keys[i].section, keys[i].key, "environment %s: %s", keys[i].env, bad);
			free(bad);
			continue;
		}
		char *origin = pv_asprintf("environment %s", keys[i].env);
		int rc = set_value(c, keys[i].section, keys[i].key, v, origin);
		free(origin);
		if (rc < 0) {
			pv_config_free(c);
			return NULL;
		}
	}
	return c;
}

void
pv_config_free(pv_config *c)
{
	if (!c)
		return;
	free(c->path);
	json_decref(c->values);
	json_decref(c->problems);
	free(c->server);
	free(c);
}

const char *
pv_config_path(const pv_config *c)
{
	return c->path;
}

int
pv_config_server_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= 63 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                  "0123456789_-") == n;
}

void
pv_config_set_server(pv_config *c, const char *name)
{
	free(c->server);
	c->server = name ? pv_strdup(name) : NULL;
}

/* The NAMEs of the sections [PREFIX:NAME] (prefix with its colon) */
static json_t *
section_names(const pv_config *c, const char *prefix)
{
	json_t *a = json_array();
	const char *k;
	json_t *v;
	size_t n = strlen(prefix);
	if (c)
		json_object_foreach(c->values, k, v)
			if (strncmp(k, prefix, n) == 0)
				(void)pvj_append_str(a, k + n); /* a string into an array: cannot fail */
	return a;
}

json_t *
pv_config_servers(const pv_config *c)
{
	return section_names(c, "server:");
}

static json_t *
lookup(const pv_config *c, const char *db, const char *section, const char *key)
{
	if (!c)
		return NULL;
	if (db) {
		char *s = pv_asprintf("db:%s", db);
		json_t *e = json_object_get(json_object_get(c->values, s), key);
		free(s);
		if (e)
			return e;
	}
	/* the server's own [connection] and [backup] keys */
	if (c->server && (strcmp(section, "connection") == 0 || strcmp(section, "backup") == 0) &&
	    find_key("server", key)) {
		char *s = pv_asprintf("server:%s", c->server);
		json_t *e = json_object_get(json_object_get(c->values, s), key);
		free(s);
		if (e)
			return e;
	}
	return json_object_get(json_object_get(c->values, section), key);
}

const char *
pv_config_get(const pv_config *c, const char *db, const char *section, const char *key)
{
	return json_string_value(json_object_get(lookup(c, db, section, key), "v"));
}

const char *
pv_config_origin(const pv_config *c, const char *db, const char *section, const char *key)
{
	return json_string_value(json_object_get(lookup(c, db, section, key), "o"));
}

int
pv_config_int(const pv_config *c, const char *db, const char *section, const char *key, long def, long *out)
{
	const char *v = pv_config_get(c, db, section, key);
	*out = v ? strtol(v, NULL, 10) : def;
	return v != NULL;
}

int
pv_config_bool(const pv_config *c, const char *db, const char *section, const char *key, int def, int *out)
{
	const char *v = pv_config_get(c, db, section, key);
	*out = v ? pv_parse_bool(v) : def;
	return v != NULL;
}

int
pv_config_seconds(const pv_config *c, const char *db, const char *section, const char *key, long def, long *out)
{
	const char *v = pv_config_get(c, db, section, key);
	*out = v ? pv_parse_duration(v) : def;
	return v != NULL;
}

json_t *
pv_config_databases(const pv_config *c)
{
	return section_names(c, "db:");
}

json_t *
pv_config_list(const pv_config *c, const char *db, const char *section, const char *key)
{
	json_t *a = json_array();
	const char *v = pv_config_get(c, db, section, key);
	for (const char *p = v; p && *p;) {
		p += strspn(p, ", \t");
		size_t len = strcspn(p, ", \t");
		if (len) {
			char *item = pv_strndup(p, len);
			(void)pvj_append_str(a, item); /* a string into an array: cannot fail */
			free(item);
		}
		p += len;
	}
	return a;
}

int
pv_config_list_has(const pv_config *c, const char *db, const char *section, const char *key,
                   const char *name)
{
	json_t *a = pv_config_list(c, db, section, key);
	size_t i;
	json_t *e;
	int has = 0;
	json_array_foreach(a, i, e)
		if (strcmp(json_string_value(e), name) == 0)
			has = 1;
	json_decref(a);
	return has;
}

int
pv_config_key_info(size_t i, const char **section, const char **key, const char **env, int *read)
{
	if (i >= sizeof keys / sizeof keys[0])
		return 0;
	*section = keys[i].section;
	*key = keys[i].key;
	*env = keys[i].env;
	*read = !keys[i].unread;
	return 1;
}
