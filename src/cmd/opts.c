/*
 * cmd/opts.c — the option tables (see opts.h): getopt_long's arrays, --help, the dump.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/opts.h"
#include "config.h"
#include "ops/config.h"

#define HELP_WIDTH 89   /* --help lines are at most 88 characters long */
#define HELP_MAX_LEFT 32 /* a longer option column puts the help on the next line */

static void
add_option(pv_parser *p, const pv_opt *o, size_t *n)
{
	if (*n >= PV_OPTS_MAX)
		abort(); /* a table too large for PV_OPTS_MAX: a programming error */
	p->longopts[*n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->id};
	(*n)++;
	if (o->short_name) {
		size_t len = strlen(p->shortopts);
		p->shortopts[len++] = (char)o->short_name;
		if (o->arg)
			p->shortopts[len++] = ':';
		p->shortopts[len] = '\0';
		p->shortid[o->short_name & 127] = o->id;
	}
}

static void
add_table(pv_parser *p, const pv_opt *t, size_t *n)
{
	for (; t->kind != PV_OPTK_END; t++) {
		if (t->kind == PV_OPTK_OPTION)
			add_option(p, t, n);
		else if (t->kind == PV_OPTK_INCLUDE)
			add_table(p, t->include, n);
	}
}

void
pv_opts_init(pv_parser *p, const pv_command *cmd, int stop_at_operand)
{
	memset(p, 0, sizeof *p);
	p->cmd = cmd;
	size_t n = 0;
	if (stop_at_operand)
		strcpy(p->shortopts, "+");
	add_table(p, cmd->opts, &n);
	add_table(p, pv_global_opts, &n);
	optind = 0; /* GNU getopt: full re-initialisation */
}

int
pv_opts_getopt(pv_parser *p, int argc, char **argv)
{
	int r = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);
	if (r > 0 && r < 128 && p->shortid[r])
		return p->shortid[r];
	return r;
}

/* ---------------------------------------------------------------- --help */

/* text from column col, wrapped before HELP_WIDTH, continuation lines indented by indent;
 * a '\n' breaks the line, a '\x1f' is a space that does not */
static void
put_wrapped(FILE *out, const char *text, int col, int indent)
{
	int first = 1;
	while (*text) {
		while (*text == ' ')
			text++;
		if (*text == '\n') {
			text++;
			first = 1;
			fprintf(out, "\n%*s", indent, "");
			col = indent;
			continue;
		}
		size_t w = strcspn(text, " \n");
		if (!w)
			break;
		if (!first && col + 1 + (int)w >= HELP_WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', out);
			col++;
		}
		for (size_t i = 0; i < w; i++)
			fputc(text[i] == '\x1f' ? ' ' : text[i], out);
		col += (int)w;
		text += w;
		first = 0;
	}
	fputc('\n', out);
}

/* "  -d, --db NAME" */
static int
left_column(const pv_opt *o, char *buf, size_t len)
{
	char sh[8] = "    ";
	if (o->short_name)
		snprintf(sh, sizeof sh, "-%c, ", o->short_name);
	return snprintf(buf, len, "  %s--%s%s%s", sh, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static int
widest(const pv_opt *t, int w)
{
	char buf[128];
	for (; t->kind != PV_OPTK_END; t++) {
		int n = 0;
		if (t->kind == PV_OPTK_OPTION)
			n = left_column(t, buf, sizeof buf);
		else if (t->kind == PV_OPTK_INCLUDE)
			n = widest(t->include, 0);
		if (n + 2 > w && n + 2 <= HELP_MAX_LEFT)
			w = n + 2;
	}
	return w;
}

/* the options of t, one per line with its help; 1 if it printed any */
static int
put_options(FILE *out, const pv_opt *t, int width)
{
	char buf[128];
	int any = 0;
	for (; t->kind != PV_OPTK_END; t++) {
		if (t->kind == PV_OPTK_GROUP) {
			fprintf(out, "%s\n", t->help);
		} else if (t->kind == PV_OPTK_INCLUDE) {
			any |= put_options(out, t->include, width);
		} else if (t->kind == PV_OPTK_OPTION) {
			int n = left_column(t, buf, sizeof buf);
			fputs(buf, out);
			if (n + 2 > width)
				fprintf(out, "\n%*s", width, "");
			else
				fprintf(out, "%*s", width - n, "");
			put_wrapped(out, t->help, width, width);
			any = 1;
		}
	}
	return any;
}

/* the global options on a line or two: "--config FILE  --storage DIR  -h HOST ..." */
static void
put_globals_short(FILE *out)
{
	int col = 6;
	fputs("Global options (see pgvault --help):\n      ", out);
	for (const pv_opt *o = pv_global_opts; o->kind != PV_OPTK_END; o++) {
		if (o->kind != PV_OPTK_OPTION || o->id == OPT_HELP)
			continue;
		char item[64];
		if (o->short_name && o->arg)
			snprintf(item, sizeof item, "-%c %s", o->short_name, o->arg);
		else
			snprintf(item, sizeof item, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		int w = (int)strlen(item);
		if (col > 6 && col + 2 + w >= HELP_WIDTH) {
			fputs("\n      ", out);
			col = 6;
		} else if (col > 6) {
			fputs("  ", out);
			col += 2;
		}
		fputs(item, out);
		col += w;
	}
	fputc('\n', out);
}

void
pv_opts_help(const pv_command *cmd, FILE *out)
{
	if (!cmd->name)
		fprintf(out, "pgvault %s - %s\n\n", PACKAGE_VERSION, cmd->summary);
	fprintf(out, "Usage: %s\n\n", cmd->usage);
	if (cmd->description)
		fprintf(out, "%s\n", cmd->description);
	if (cmd->commands) {
		fputs("Commands:\n", out);
		for (const pv_command *const *c = cmd->commands; *c; c++)
			fprintf(out, "  %-9s %s\n", (*c)->name, (*c)->summary);
		fputc('\n', out);
	}
	int width = widest(cmd->opts, 0);
	if (!cmd->name)
		width = widest(pv_global_opts, width);
	if (cmd->opts[0].kind == PV_OPTK_OPTION)
		fputs("Options:\n", out);
	put_options(out, cmd->opts, width);
	if (cmd->name) {
		put_globals_short(out);
	} else {
		fputs("Global options (also accepted after the command):\n", out);
		put_options(out, pv_global_opts, width);
	}
	if (cmd->exit_status) {
		fputs("Exit status: ", out);
		put_wrapped(out, cmd->exit_status, 13, 0);
	}
	if (cmd->footer)
		fprintf(out, "\n%s\n", cmd->footer);
}

/* ---------------------------------------------------------------- --dump-options */

static void
dump_table(FILE *out, const char *cmd, const pv_opt *t)
{
	for (; t->kind != PV_OPTK_END; t++) {
		if (t->kind == PV_OPTK_INCLUDE) {
			dump_table(out, cmd, t->include);
			continue;
		}
		if (t->kind == PV_OPTK_OPTION) {
			fprintf(out, "option %s --%s", cmd, t->name);
			if (t->short_name)
				fprintf(out, " -%c", t->short_name);
			fputc('\n', out);
		}
		if ((t->kind == PV_OPTK_OPTION || t->kind == PV_OPTK_KEY) && t->key)
			fprintf(out, "reads %s %s.%s\n", cmd, t->section, t->key);
	}
}

void
pv_opts_dump(const pv_command *top, FILE *out)
{
	dump_table(out, "global", pv_global_opts);
	dump_table(out, "pgvault", top->opts);
	for (const pv_command *const *c = top->commands; *c; c++) {
		fprintf(out, "command %s\n", (*c)->name);
		dump_table(out, (*c)->name, (*c)->opts);
	}
	const char *section, *key, *env;
	int read;
	for (size_t i = 0; pv_config_key_info(i, &section, &key, &env, &read); i++)
		fprintf(out, "key %s.%s %s%s\n", section, key, env ? env : "-", read ? "" : " ignored");
}
