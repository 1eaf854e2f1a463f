/*
 * util/names.c — file-name encoding and timestamps (see names.h).
 */
#include "util/names.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

char *
pv_fsname(const char *s)
{
	pv_buf b = PV_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		           (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		           (*p == '.' && p != (const unsigned char *)s);
		if (keep)
			pv_buf_putc(&b, (char)*p);
		else
			pv_buf_printf(&b, "%%%02X", *p);
	}
	return pv_buf_detach(&b);
}

void
pv_stamp(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void
pv_iso8601(time_t t, char out[21])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
pv_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char z = 0;
	int n = 0;
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) == 7 && z == 'Z' && s[n] == '\0')
		;
	else if (sscanf(s, "%4d%2d%2dT%2d%2d%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) == 7 && z == 'Z' && s[n] == '\0')
		;
	else
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

int
pv_valid_tag(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

void
pv_human_size(int64_t n, char *out, size_t len)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}
