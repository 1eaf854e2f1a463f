/*
 * util/err.c — per-thread error message with context wrapping (see err.h).
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PV_ERR_MAX 4096

static _Thread_local char errbuf[PV_ERR_MAX];
static _Thread_local int errcode = PV_EXIT_OK;
static _Thread_local int errkind = PV_ERRK_NONE;

static void __attribute__((format(printf, 1, 0)))
set_msg(const char *fmt, va_list ap)
{
	/* format into a copy: callers may pass pv_errmsg() itself as an argument */
	char tmp[PV_ERR_MAX];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	memcpy(errbuf, tmp, sizeof errbuf);
	/* Messages from libpq end in a newline; we add our own. */
	size_t n = strlen(errbuf);
	while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
		errbuf[--n] = '\0';
}

int
pv_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_msg(fmt, ap);
	va_end(ap);
	errcode = PV_EXIT_FAIL;
	errkind = PV_ERRK_NONE;
	return -1;
}

int
pv_fail_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_msg(fmt, ap);
	va_end(ap);
	errcode = code;
	errkind = PV_ERRK_NONE;
	return -1;
}

int
pv_wrap(const char *fmt, ...)
{
	char ctx[1024];
	char old[PV_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof old);
	size_t n = strlen(ctx);
	if (old[0] != '\0' && n + 2 < sizeof errbuf) {
		memcpy(errbuf, ctx, n);
		memcpy(errbuf + n, ": ", 2);
		size_t rest = strnlen(old, sizeof errbuf - n - 3);
		memcpy(errbuf + n + 2, old, rest);
		errbuf[n + 2 + rest] = '\0';
	} else {
		memcpy(errbuf, ctx, n + 1);
	}
	if (errcode == PV_EXIT_OK)
		errcode = PV_EXIT_FAIL;
	return -1;
}

const char *
pv_errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

int
pv_errcode(void)
{
	return errcode == PV_EXIT_OK ? PV_EXIT_FAIL : errcode;
}

void
pv_err_clear(void)
{
	errbuf[0] = '\0';
	errcode = PV_EXIT_OK;
	errkind = PV_ERRK_NONE;
}

void
pv_err_set_kind(int kind)
{
	errkind = kind;
}

int
pv_err_kind(void)
{
	return errkind;
}
