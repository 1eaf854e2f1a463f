/*
 * cmd/opts.h — one table of options per command, in the spirit of git's parse-options.
 *
 * A command declares one static table: each option's long name, short letter, argument name,
 * help text and the configuration key it falls back to, plus the configuration keys the
 * command reads without an option.  From the table come getopt_long's option arrays, the
 * `--help` text, and the keys the command reads: `pgvault --dump-options` prints them all,
 * and tests/t/06-options.sh checks the man pages against that.  The global options
 * (pv_global_opts, cmd/common.c) go with every command's table.
 */
#ifndef PV_CMD_OPTS_H
#define PV_CMD_OPTS_H

#include <getopt.h>
#include <stdio.h>

typedef enum {
	PV_OPTK_END = 0, /* the end of a table */
	PV_OPTK_OPTION,  /* an option */
	PV_OPTK_GROUP,   /* a heading in --help ("Target:") */
	PV_OPTK_KEY,     /* a configuration key the command reads without an option */
	PV_OPTK_INCLUDE  /* the entries of another table (keys several commands read) */
} pv_opt_kind;

typedef struct pv_opt {
	pv_opt_kind kind;
	const char *name;             /* the long name, without "--" */
	int short_name;               /* its letter, or 0 */
	int id;                       /* what pv_opts_getopt returns: OPT_CMD_BASE and up, or the
	                               * short letter */
	const char *arg;              /* the argument's name in --help ("NAME"); NULL: a flag */
	const char *help;             /* one paragraph (--help wraps it), or a group's heading */
	const char *section, *key;    /* the configuration key ("db" for [db:NAME]), or NULL */
	const struct pv_opt *include; /* PV_OPT_INCLUDE */
} pv_opt;

#define PV_OPT(s, l, i, a, h) \
	{.kind = PV_OPTK_OPTION, .name = (l), .short_name = (s), .id = (i), .arg = (a), .help = (h)}
/* an option that falls back to (or adds to) the configuration key [sec] k */
#define PV_OPT_CFG(s, l, i, a, h, sec, k)                                                   \
	{.kind = PV_OPTK_OPTION, .name = (l), .short_name = (s), .id = (i), .arg = (a), .help = (h), \
	 .section = (sec), .key = (k)}
#define PV_OPT_GROUP(h) {.kind = PV_OPTK_GROUP, .help = (h)}
#define PV_OPT_KEY(sec, k) {.kind = PV_OPTK_KEY, .section = (sec), .key = (k)}
#define PV_OPT_INCLUDE(t) {.kind = PV_OPTK_INCLUDE, .include = (t)}
#define PV_OPT_END {.kind = PV_OPTK_END}

/* The ids of the global options (a command's own start at OPT_CMD_BASE). */
enum {
	OPT_CONFIG = 1000, OPT_STORAGE, OPT_MAINTDB, OPT_QUIET, OPT_VERBOSE, OPT_HELP, OPT_SERVER,
	OPT_CMD_BASE = 1100
};

struct pv_global;

typedef struct pv_command {
	const char *name;        /* "backup"; NULL: pgvault itself (its options come before a
	                          * command) */
	const char *summary;     /* one line in `pgvault --help` */
	const char *usage;       /* what follows "Usage: " */
	const char *description; /* the text after the usage line (lines end with '\n'), or NULL */
	const pv_opt *opts;      /* its table */
	const char *exit_status; /* what follows "Exit status: ", or NULL */
	const char *footer;      /* a last line, or NULL */
	const struct pv_command *const *commands; /* pgvault itself: the commands, NULL-ended */
	int (*run)(struct pv_global *g, int argc, char **argv);
} pv_command;

/* The options every command accepts (before and after the command's name), and the keys
 * every command reads (through pv_setup); cmd/common.c. */
extern const pv_opt pv_global_opts[];

#define PV_OPTS_MAX 48

typedef struct pv_parser {
	const pv_command *cmd;
	struct option longopts[PV_OPTS_MAX + 1];
	char shortopts[3 * PV_OPTS_MAX + 2];
	int shortid[128]; /* a short letter's id */
} pv_parser;

/* Builds getopt_long's arrays from the command's table and the global options, and starts
 * a new parse (optind = 0).  stop_at_operand: stop at the first operand ("+"), as pgvault
 * does at the command's name. */
void pv_opts_init(pv_parser *p, const pv_command *cmd, int stop_at_operand);
/* getopt_long over those arrays: the option's id (its argument in optarg), '?' for an
 * unknown option or a missing argument (getopt has said so), -1 at the end. */
int pv_opts_getopt(pv_parser *p, int argc, char **argv);
/* The command's --help. */
void pv_opts_help(const pv_command *cmd, FILE *out);
/* For tests/t/06-options.sh (`pgvault --dump-options`): each command ("command CMD"), each
 * of its options ("option CMD --LONG [-X]") and each configuration key it reads ("reads CMD
 * SECTION.KEY"); "global" are the global options and keys, "pgvault" the options of pgvault
 * itself.  Then every key the configuration file accepts ("key SECTION.KEY ENV|-", and
 * " ignored" when nothing reads it). */
void pv_opts_dump(const pv_command *top, FILE *out);

#endif
