/*
 * util/progress.c — the status line of long work (see progress.h): counters the engines add
 * to from any thread, and a reporter thread that draws them.
 */
#include "util/progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/names.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* the state */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int active, stopping, tty, approx;
static pthread_t reporter;
/* the thread whose work the line shows: only it ends it (several databases backed up at
 * once each begin and end one; the others' go unshown meanwhile) */
static pthread_t owner;
static char what[256], item[256];
static const char *unit = "done";
static int64_t total;
static atomic_llong done_bytes, done_rows;
static double t0, interval;

/* "1:05:09", "4:05", "0:09" */
static void
clock_text(double s, char *out, size_t len)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);
	if (t >= 3600)
		snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
	else
		snprintf(out, len, "%ld:%02ld", t / 60, t % 60);
}

/* The status (under mu) */
static void
status_text(char *out, size_t len)
{
	int64_t d = (int64_t)atomic_load(&done_bytes), rows = (int64_t)atomic_load(&done_rows);
	double el = pv_monotonic() - t0;
	char db[32], tb[32], rate[32], eta[32], elapsed[32];
	pv_human_size(d, db, sizeof db);
	pv_human_size(el > 0.5 ? (int64_t)((double)d / el) : 0, rate, sizeof rate);
	clock_text(el, elapsed, sizeof elapsed);
	size_t n = (size_t)snprintf(out, len, "%s%s%s: %s", what, *item ? ", " : "", item, db);
	if (total > 0 && n < len) {
		pv_human_size(total, tb, sizeof tb);
		n += (size_t)snprintf(out + n, len - n, " of %s%s %s (%d%%)", approx ? "~" : "", tb, unit,
		                      (int)(d >= total ? 100 : 100.0 * (double)d / (double)total));
	} else if (n < len) {
		n += (size_t)snprintf(out + n, len - n, " %s", unit);
	}
	if (rows > 0 && n < len)
		n += (size_t)snprintf(out + n, len - n, ", %lld rows", (long long)rows);
	if (el > 1 && n < len)
		n += (size_t)snprintf(out + n, len - n, ", %s/s", rate);
	if (n < len)
		n += (size_t)snprintf(out + n, len - n, ", %s", elapsed);
	if (total > 0 && d > 0 && d < total && el > 2 && n < len) {
		clock_text(el * (double)(total - d) / (double)d, eta, sizeof eta);
		snprintf(out + n, len - n, ", about %s left", eta);
	}
}

static int
columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

static void *
report(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double wait = tty ? 0.25 : interval;
		ts.tv_sec += (time_t)wait;
		ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &mu, &ts);
		if (stopping)
			break;
		char line[1024];
		status_text(line, sizeof line);
		if (tty) {
			int w = columns() - 1;
			if ((int)strlen(line) > w)
				line[w] = '\0';
			pv_log_status(line);
		} else {
			pv_info("%s", line);
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void
pv_progress_begin(const char *w, int64_t tot, int estimate, const char *u)
{
	pv_progress_end();
	if (pv_log_level() < PV_LOG_NORMAL)
		return;
	const char *term = getenv("TERM");
	int on_tty = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
	const char *env = getenv("PGVAULT_PROGRESS_INTERVAL");
	double iv = env && *env ? strtod(env, NULL) : 30;
	if (!on_tty && iv <= 0)
		return;
	pthread_mutex_lock(&mu);
	if (active) { /* another thread's */
		pthread_mutex_unlock(&mu);
		return;
	}
	snprintf(what, sizeof what, "%s", w);
	item[0] = '\0';
	unit = u;
	total = tot;
	approx = estimate;
	atomic_store(&done_bytes, 0);
	atomic_store(&done_rows, 0);
	t0 = pv_monotonic();
	tty = on_tty;
	interval = iv;
	stopping = 0;
	owner = pthread_self();
	active = pthread_create(&reporter, NULL, report, NULL) == 0;
	pthread_mutex_unlock(&mu);
}

void
pv_progress_item(const char *it)
{
	if (!active)
		return;
	pthread_mutex_lock(&mu);
	snprintf(item, sizeof item, "%s", it ? it : "");
	pthread_mutex_unlock(&mu);
}

void
pv_progress_add(int64_t bytes, int64_t rows)
{
	atomic_fetch_add(&done_bytes, (long long)bytes);
	if (rows)
		atomic_fetch_add(&done_rows, (long long)rows);
}

void
pv_progress_end(void)
{
	pthread_mutex_lock(&mu);
	if (!active || stopping || !pthread_equal(owner, pthread_self())) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&mu);
	pthread_join(reporter, NULL);
	pthread_mutex_lock(&mu);
	active = 0;
	if (tty)
		pv_log_status(NULL); /* takes the line away, if one is drawn */
	pthread_mutex_unlock(&mu);
}
