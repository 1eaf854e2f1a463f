/*
 * ops/config.h — the configuration file (INI, read with inih) and PGVAULT_* environment.
 *
 * Precedence: command line (applied by the commands) > PGVAULT_* environment > file >
 * defaults.  Every key is declared in one table with its type.  Unknown sections or keys,
 * malformed values and a secret (a password, an S3 secret key, a notification URL) in a
 * file that group or others can read are problems naming the file, line and key, each
 * blamed on its key (an unknown key on its section); a malformed value is not used.  A
 * problem is an error for a command that reads the key and a warning for the others
 * (pv_config_problems), so a bad [schedule] line never stops a backup; an unknown section,
 * which could be any command's, is an error for all.  [db:NAME] sections override retention and backup
 * keys for one database; [server:NAME] sections, connection and backup keys for one server.
 */
#ifndef PV_OPS_CONFIG_H
#define PV_OPS_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#define PV_DEFAULT_CONFIG PGVAULT_SYSCONFDIR "/pgvault/pgvault.conf"

typedef struct pv_config pv_config;

/* path NULL: the default file, which may be absent.  A named file must exist.  NULL with
 * pv_fail_code(PV_EXIT_USAGE, ...) when the file cannot be read at all (missing, not a
 * regular file, a syntax error); other problems are recorded, by section. */
pv_config *pv_config_load(const char *path);
/* The recorded problems: those of keys used(ud, section, key) says the command reads (an
 * unknown key: key NULL, any key of the section), an unknown section, and all of them with
 * used NULL, make it -1 with pv_fail_code(PV_EXIT_USAGE, the first of them); the others
 * are warnings.  Section "db" stands for every [db:NAME]. */
int pv_config_problems(const pv_config *c, int (*used)(void *ud, const char *section, const char *key),
                       void *ud);
size_t pv_config_problem_count(const pv_config *c);
const char *pv_config_problem(const pv_config *c, size_t i); /* its message */
void pv_config_free(pv_config *c);
const char *pv_config_path(const pv_config *c);

/* The value of [section] key (environment first), or NULL.  For a database, its [db:NAME]
 * section is tried first (db may be NULL). */
const char *pv_config_get(const pv_config *c, const char *db, const char *section, const char *key);
/* Typed getters: *out keeps def when the key is unset.  Values were validated at load. */
int pv_config_int(const pv_config *c, const char *db, const char *section, const char *key, long def, long *out);
int pv_config_bool(const pv_config *c, const char *db, const char *section, const char *key, int def, int *out);
int pv_config_seconds(const pv_config *c, const char *db, const char *section, const char *key, long def, long *out);
/* Where a key's value came from, for messages: "FILE:LINE" or "environment PGVAULT_X". */
const char *pv_config_origin(const pv_config *c, const char *db, const char *section, const char *key);
/* Names of the [db:NAME] sections. */
json_t *pv_config_databases(const pv_config *c);
/* Several servers: the names of the [server:NAME] sections (letters, digits, '-', '_'; 63
 * at most); with pv_config_set_server(c, NAME), its keys override those of [connection]
 * and [backup] of the same name (NULL: none does). */
json_t *pv_config_servers(const pv_config *c);
void pv_config_set_server(pv_config *c, const char *name);
int pv_config_server_name_ok(const char *name);

/* Items of a comma/space separated list value (array of strings; empty if unset). */
json_t *pv_config_list(const pv_config *c, const char *db, const char *section, const char *key);
/* name is an item of such a list. */
int pv_config_list_has(const pv_config *c, const char *db, const char *section, const char *key,
                       const char *name);

/* The i-th key of the table of keys the file may set: its section ("db" for [db:NAME]), key,
 * environment variable (or NULL), and whether pgvault reads it (0: accepted, warned about
 * and ignored).  0 past the end.  For `pgvault --dump-options`. */
int pv_config_key_info(size_t i, const char **section, const char **key, const char **env, int *read);

/* "90s", "15m", "26h", "7d", "2w" or plain seconds; -1 if malformed. */
long pv_parse_duration(const char *s);
/* "yes/no/true/false/on/off/1/0"; -1 if malformed. */
int pv_parse_bool(const char *s);

#endif
