/*
 * util/lock.h — advisory locks (flock) so that cron, the daemon and a deploy hook never run
 * over each other: one lock file per database (DIR/<db>/.lock: one backup of a database at
 * a time) and one per storage location (DIR/.lock: backups share it, prune takes it alone).
 * The holder's pid is written into the file for messages.  Locks vanish with the process.
 */
#ifndef PV_OPS_LOCK_H
#define PV_OPS_LOCK_H

typedef struct pv_lock pv_lock;

/* Wait up to timeout seconds (0: try once).  NULL with pv_fail_code(PV_EXIT_LOCK, ...)
 * naming what is locked and by which pid when it stays taken. */
pv_lock *pv_lock_take(const char *path, int exclusive, long timeout, const char *what);
void pv_lock_release(pv_lock *l);

#endif
