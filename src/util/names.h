/*
 * util/names.h — turning database names (any characters) into safe file-name parts, and
 * bundle ids / timestamps.
 */
#ifndef PV_UTIL_NAMES_H
#define PV_UTIL_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Keeps [A-Za-z0-9._-] (a leading '.' is escaped), percent-encodes every other byte. */
char *pv_fsname(const char *s);
/* "20261122T020000Z" */
void pv_stamp(time_t t, char out[17]);
/* "2026-11-22T02:00:00Z" */
void pv_iso8601(time_t t, char out[21]);
/* bytes for people: "812 B", "13.5 KiB", "1.1 GiB" */
void pv_human_size(int64_t n, char *out, size_t len);
/* Parse "2026-11-22T02:00:00Z" or "20261122T020000Z"; -1 if malformed. */
int pv_parse_time(const char *s, time_t *out);
/* A tag is [A-Za-z0-9_-]{1,64}. */
int pv_valid_tag(const char *s);

#endif
