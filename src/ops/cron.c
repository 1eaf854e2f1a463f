/*
 * ops/cron.c — the cron expression engine (see cron.h): parsing fields into
 * bit sets, walking wall-clock minutes to the next match, and mapping wall
 * clock to UTC in an IANA zone, DST gaps and repeats included.
 *
 * Wall-clock times are handled as "pseudo-UTC" seconds (the local date and
 * time read as if it were UTC), so calendar arithmetic needs no time zone;
 * only the final wall -> instant step asks libc (through TZ and localtime_r)
 * for the zone's UTC offsets.
 */
#include "ops/cron.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/tz.h"

struct pv_cron {
	char *text;        /* the expression as given, for messages */
	uint64_t minute;   /* bit n set: minute n matches (0-59) */
	uint32_t hour;     /* 0-23 */
	uint32_t dom;      /* 1-31 */
	uint32_t month;    /* 1-12 */
	uint32_t dow;      /* 0-6, Sunday 0 (a 7 in the expression is folded into 0) */
	int dom_star;      /* the day-of-month field starts with '*' */
	int dow_star;      /* the day-of-week field starts with '*' */
};

/* How far ahead pv_cron_next() looks, in wall-clock days. */
#define SEARCH_DAYS (5 * 366)

/* ---- parsing ------------------------------------------------------------------------ */

struct field {
	const char *name;
	int lo, hi;                /* values accepted */
	int max;                   /* the end of '*' and of "a/n" */
	const char *const *names;  /* names[i] is value names_base + i */
	int names_base, nnames;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, NFIELDS };

static const struct field fields[NFIELDS] = {
	{"minute", 0, 59, 59, NULL, 0, 0},
	{"hour", 0, 23, 23, NULL, 0, 0},
	{"day-of-month", 1, 31, 31, NULL, 0, 0},
	{"month", 1, 12, 12, month_names, 1, 12},
	{"day-of-week", 0, 7, 6, dow_names, 0, 7},
};

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* Fail with a message about one field of expr. */
static int field_fail(const char *expr, const struct field *f, const char *text,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
field_fail(const char *expr, const struct field *f, const char *text, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return pv_fail("cron expression \"%s\": %s field \"%s\": %s", expr, f->name, text, why);
}

/*
 * Read one value (a number or, where the field has them, a name) at *pp.
 * *is_name tells which it was.  -1 with a message on error.
 */
static int
parse_value(const char *expr, const struct field *f, const char *text, const char **pp,
            int *out, int *is_name)
{
	const char *p = *pp;

	*is_name = 0;
	if (isdigit((unsigned char)*p)) {
		const char *start = p;
		long v = 0;
		while (isdigit((unsigned char)*p)) {
			if (v < 1000)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (v < f->lo || v > f->hi)
			return field_fail(expr, f, text, "%.*s is out of range %d-%d",
			                  (int)(p - start), start, f->lo, f->hi);
		*out = (int)v;
		*pp = p;
		return 0;
	}
	if (isalpha((unsigned char)*p)) {
		const char *start = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - start);
		for (int i = 0; i < f->nnames; i++) {
			if (n == 3 && strncasecmp(start, f->names[i], 3) == 0) {
				*out = f->names_base + i;
				*is_name = 1;
				*pp = p;
				return 0;
			}
		}
		if (f->nnames == 0)
			return field_fail(expr, f, text, "names like \"%.*s\" are not allowed here",
			                  (int)n, start);
		return field_fail(expr, f, text, "unknown name \"%.*s\" (expected %s)", (int)n,
		                  start, f->nnames == 12 ? "JAN-DEC" : "SUN-SAT");
	}
	if (*p == '\0')
		return field_fail(expr, f, text, "a value is missing");
	return field_fail(expr, f, text, "unexpected '%c'", *p);
}

/* Parse one list item ("*", "a", "a-b", each optionally "/n") into *bits. */
static int
parse_item(const char *expr, const struct field *f, const char *text, const char *item,
           uint64_t *bits)
{
	const char *p = item;
	int lo, hi, step = 1, single = 0, is_name;

	if (*p == '*') {
		lo = f->lo;
		hi = f->max;
		p++;
	} else {
		if (parse_value(expr, f, text, &p, &lo, &is_name) < 0)
			return -1;
		if (*p == '-') {
			p++;
			if (parse_value(expr, f, text, &p, &hi, &is_name) < 0)
				return -1;
			/* FRI-SUN: the name SUN ends a range on the 7th day */
			if (f == &fields[F_DOW] && is_name && hi == 0 && lo > 0)
				hi = 7;
			if (lo > hi)
				return field_fail(expr, f, text, "range \"%s\" is reversed", item);
		} else {
			hi = lo;
			single = 1;
		}
	}
	if (*p == '/') {
		const char *start = ++p;
		long v = 0;
		if (!isdigit((unsigned char)*p))
			return field_fail(expr, f, text, "a step must be a number");
		while (isdigit((unsigned char)*p)) {
			if (v < 1000)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (v < 1 || v > f->max - f->lo + 1)
			return field_fail(expr, f, text, "step %.*s is out of range 1-%d",
			                  (int)(p - start), start, f->max - f->lo + 1);
		step = (int)v;
		if (single)
			hi = lo > f->max ? lo : f->max; /* "a/n" means a-max/n */
	}
	if (*p != '\0')
		return field_fail(expr, f, text, "unexpected '%c' in \"%s\"", *p, item);
	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << (f == &fields[F_DOW] && v == 7 ? 0 : v);
	return 0;
}

/* Parse a comma-separated field into *bits.  text is modified (split at commas). */
static int
parse_field(const char *expr, const struct field *f, char *text, uint64_t *bits)
{
	char *shown = pv_strdup(text); /* the field whole, for messages */
	char *item = text;
	int rc = 0;

	*bits = 0;
	for (;;) {
		char *comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		if (*item == '\0') {
			rc = field_fail(expr, f, shown, "empty list item");
			break;
		}
		if (parse_item(expr, f, shown, item, bits) < 0) {
			rc = -1;
			break;
		}
		if (!comma)
			break;
		item = comma + 1;
	}
	free(shown);
	return rc;
}

static pv_cron *
parse_fields(const char *expr, const char *body)
{
	char *copy = pv_strdup(body);
	char *tok[NFIELDS + 1];
	int n = 0;
	pv_cron *c = NULL;
	uint64_t bits[NFIELDS];

	for (char *p = copy; *p;) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n <= NFIELDS)
			tok[n] = p;
		n++;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	if (n != NFIELDS) {
		pv_fail("cron expression \"%s\": has %d field%s, expected 5 (minute hour "
		        "day-of-month month day-of-week) or a macro like @daily",
		        expr, n, n == 1 ? "" : "s");
		goto out;
	}
	for (int i = 0; i < NFIELDS; i++)
		if (parse_field(expr, &fields[i], tok[i], &bits[i]) < 0)
			goto out;

	c = pv_calloc(1, sizeof *c);
	c->text = pv_strdup(expr);
	c->minute = bits[F_MINUTE];
	c->hour = (uint32_t)bits[F_HOUR];
	c->dom = (uint32_t)bits[F_DOM];
	c->month = (uint32_t)bits[F_MONTH];
	c->dow = (uint32_t)bits[F_DOW];
	c->dom_star = tok[F_DOM][0] == '*';
	c->dow_star = tok[F_DOW][0] == '*';
out:
	free(copy);
	return c;
}

pv_cron *
pv_cron_parse(const char *expr)
{
	if (!expr) {
		pv_fail("cron expression: missing");
		return NULL;
	}
	const char *s = expr;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		pv_fail("cron expression \"%s\": is empty", expr);
		return NULL;
	}
	if (*s != '@')
		return parse_fields(expr, s);

	size_t n = 0;
	while (s[n] && !isspace((unsigned char)s[n]))
		n++;
	for (const char *t = s + n; *t; t++) {
		if (!isspace((unsigned char)*t)) {
			pv_fail("cron expression \"%s\": a macro takes no fields after it", expr);
			return NULL;
		}
	}
	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
		if (strlen(macros[i].name) == n && strncasecmp(s, macros[i].name, n) == 0) {
			pv_cron *c = parse_fields(macros[i].expr, macros[i].expr);
			if (c) {
				free(c->text);
				c->text = pv_strdup(expr);
			}
			return c;
		}
	}
	pv_fail("cron expression \"%s\": unknown macro \"%.*s\" (expected @yearly, @annually, "
	        "@monthly, @weekly, @daily, @midnight or @hourly)", expr, (int)n, s);
	return NULL;
}

void
pv_cron_free(pv_cron *c)
{
	if (!c)
		return;
	free(c->text);
	free(c);
}

/* ---- calendar arithmetic ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long
days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static long long
floor_div(long long a, long long b)
{
	long long q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A wall-clock minute; day is days since 1970-01-01 and agrees with y/m/d. */
struct wall {
	long long day;
	long long y;
	int m, d, h, min;
};

static void
wall_set_day(struct wall *w, long long day)
{
	w->day = day;
	civil_from_days(day, &w->y, &w->m, &w->d);
	w->h = 0;
	w->min = 0;
}

static int
day_matches(const pv_cron *c, const struct wall *w)
{
	int wday = (int)(((w->day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	int dom_ok = (c->dom >> w->d) & 1;
	int dow_ok = (c->dow >> wday) & 1;

	if (c->dom_star || c->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/* The lowest set bit >= from and <= max, or -1. */
static int
next_bit(uint64_t bits, int from, int max)
{
	for (int i = from; i <= max; i++)
		if ((bits >> i) & 1)
			return i;
	return -1;
}

/*
 * Move *w forward (or leave it) to the first matching wall-clock minute at or
 * after it.  -1 if there is none up to and including day last_day.
 */
static int
next_match(const pv_cron *c, struct wall *w, long long last_day)
{
	for (;;) {
		if (w->min > 59) {
			w->min = 0;
			w->h++;
		}
		if (w->h > 23)
			wall_set_day(w, w->day + 1);
		if (w->day > last_day)
			return -1;
		if (!((c->month >> w->m) & 1)) {
			if (w->m == 12)
				wall_set_day(w, days_from_civil(w->y + 1, 1, 1));
			else
				wall_set_day(w, days_from_civil(w->y, w->m + 1, 1));
			continue;
		}
		if (!day_matches(c, w)) {
			wall_set_day(w, w->day + 1);
			continue;
		}
		int h = next_bit(c->hour, w->h, 23);
		if (h < 0) {
			wall_set_day(w, w->day + 1);
			continue;
		}
		if (h != w->h) {
			w->h = h;
			w->min = 0;
		}
		int m = next_bit(c->minute, w->min, 59);
		if (m < 0) {
			w->h++;
			w->min = 0;
			continue;
		}
		w->min = m;
		return 0;
	}
}

/* ---- wall clock <-> UTC ------------------------------------------------------------- */

/* Offsets are at most ~15h (historical LMT); look this far either side. */
#define ZONE_WINDOW (26 * 3600)
/* Transitions closer together than this may be missed; none are. */
#define ZONE_SAMPLE 3600

/* The offset of local (TZ) wall clock from UTC at instant t, in seconds. */
static int
utc_offset(time_t t, long long *off)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return pv_fail("time %lld cannot be converted to local time", (long long)t);
	long long wall = days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday) * 86400 +
	                 tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	*off = wall - (long long)t;
	return 0;
}

/*
 * The first instant at which the local wall clock reads u (pseudo-UTC
 * seconds) or, if a forward jump skips u, the instant of that jump.
 *
 * The window around u is cut into pieces of constant offset (found by
 * sampling and bisecting); piece [start, end) with offset o shows the wall
 * clock [start + o, end + o).  The earliest piece showing u wins, unless a
 * jump between pieces that skips u comes first.
 */
static int
first_instant(long long u, int utc, time_t *out)
{
	if (utc) {
		*out = (time_t)u;
		return 0;
	}
	long long lo = u - ZONE_WINDOW, hi = u + ZONE_WINDOW;
	long long start = lo, prev = lo, cur, o;

	if (utc_offset((time_t)lo, &cur) < 0)
		return -1;
	while (prev < hi) {
		long long s = prev + ZONE_SAMPLE < hi ? prev + ZONE_SAMPLE : hi;
		if (utc_offset((time_t)s, &o) < 0)
			return -1;
		if (o == cur) {
			prev = s;
			continue;
		}
		/* A transition in (prev, s]: find its first second. */
		long long a = prev, b = s;
		while (b - a > 1) {
			long long mid = a + (b - a) / 2;
			if (utc_offset((time_t)mid, &o) < 0)
				return -1;
			if (o == cur)
				a = mid;
			else
				b = mid;
		}
		if (utc_offset((time_t)b, &o) < 0)
			return -1;
		if (u - cur >= start && u - cur < b) {
			*out = (time_t)(u - cur);
			return 0;
		}
		if (b + cur <= u && u < b + o) {
			*out = (time_t)b; /* u is in the gap */
			return 0;
		}
		start = prev = b;
		cur = o;
	}
	if (u - cur >= start && u - cur <= hi) {
		*out = (time_t)(u - cur);
		return 0;
	}
	return pv_fail("cannot map local time to UTC (is the time zone database sane?)");
}

/* pv_cron_next() with TZ already set up (or utc). */
static time_t
next_instant(const pv_cron *c, time_t after, int utc)
{
	long long off = 0;
	struct wall w;

	if (!utc && utc_offset(after, &off) < 0)
		return -1;
	long long wall = floor_div((long long)after + off, 60) * 60;
	long long day = floor_div(wall, 86400);
	long long last_day = day + SEARCH_DAYS;
	wall_set_day(&w, day);
	w.h = (int)((wall - day * 86400) / 3600);
	w.min = (int)((wall - day * 86400) % 3600 / 60);

	/*
	 * Wall minutes map to instants monotonically (first occurrences), so the
	 * first match whose instant is after `after` is the answer; matches still
	 * at or before it are those of the current minute and of a repeated hour
	 * being lived through the second time.
	 */
	for (;;) {
		time_t t = -1;
		if (next_match(c, &w, last_day) < 0) {
			pv_fail("cron expression \"%s\": does not fire in the next 5 years", c->text);
			return -1;
		}
		if (first_instant(w.day * 86400 + w.h * 3600 + w.min * 60, utc, &t) < 0)
			return -1;
		if (t > after)
			return t;
		w.min++;
	}
}

time_t
pv_cron_next(const pv_cron *c, time_t after, const char *tz)
{
	int utc = !tz || !*tz || strcmp(tz, "UTC") == 0;
	pv_tz_saved saved;

	if (utc)
		return next_instant(c, after, 1);
	if (!pv_tz_valid(tz))
		return -1;

	char *val = pv_asprintf(":%s", tz);
	int pushed = pv_tz_push(val, &saved);
	free(val);
	if (pushed < 0)
		return -1;
	time_t t = next_instant(c, after, 0);
	pv_tz_pop(&saved);
	return t;
}

/* ---- time zone names ---------------------------------------------------------------- */

int
pv_tz_valid(const char *tz)
{
	if (!tz || !*tz) {
		pv_fail("time zone: the name is empty");
		return 0;
	}
	if (strcmp(tz, "UTC") == 0)
		return 1;
	if (strlen(tz) > 200 || tz[0] == '/') {
		pv_fail("time zone \"%s\": not a zone name like Europe/Berlin", tz);
		return 0;
	}
	for (const char *p = tz; *p; p++) {
		int start = p == tz || p[-1] == '/';
		if ((start && (*p == '.' || *p == '/')) ||
		    !(isalnum((unsigned char)*p) || strchr("/_-+.", *p))) {
			pv_fail("time zone \"%s\": not a zone name like Europe/Berlin", tz);
			return 0;
		}
	}
	if (strncmp(tz, "right/", 6) == 0) {
		pv_fail("time zone \"%s\": zones counting leap seconds are not supported", tz);
		return 0;
	}

	const char *dir = getenv("TZDIR");
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	char *path = pv_asprintf("%s/%s", dir, tz);
	char magic[4];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	         read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
	         memcmp(magic, "TZif", 4) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok)
		pv_fail("time zone \"%s\": not found in %s", tz, dir);
	free(path);
	return ok;
}
