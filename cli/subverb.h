/*
 * subverb.h - the sub-verbs of keystore, mid and ca as rows of a table, run by
 * one function (cli_run_sub): parse -> prepare -> open -> apply -> save ->
 * report.  A row says what the sub-verb takes (usage, operand count), how
 * its keystore is opened (read-only, edited under the lock, created when
 * absent) and whether it is saved; the functions of the row hold only what
 * is particular to it.
 */
#ifndef MTLSKIT_SUBVERB_H
#define MTLSKIT_SUBVERB_H

#include "cli.h"
#include "ks_cli.h"

enum cli_sub_open {
	CLI_SUB_OPEN_NONE,	/* nothing is opened */
	CLI_SUB_OPEN_KS_READ,	/* ks_open: an existing store, no lock */
	CLI_SUB_OPEN_KS_EDIT,	/* ks_open_edit: an existing store, locked to the end */
	CLI_SUB_OPEN_KS_CREATE, /* ks_open_or_create_flags: locked; new when absent */
	CLI_SUB_OPEN_VERB,	/* the verb's own open (a CA directory: ca's open_ca) */
};

enum cli_sub_save {
	CLI_SUB_SAVE_NONE,
	CLI_SUB_SAVE_CHANGED, /* ks_save (atomic) unless apply cleared run->changed */
};

struct cli_sub;
struct cli_subverbs;

struct cli_sub_run {
	cli *c;
	const struct cli_subverbs *verb;
	const struct cli_sub *sub;
	void *ctx;		/* the verb's options and working state */
	int argc;
	char **argv;
	int first;		/* operands are argv[first..argc) */
	const char *target;	/* the store: argv[first] unless prepare sets it */
	const char *store_type; /* type of a new store (CLI_SUB_OPEN_KS_CREATE) */
	unsigned open_flags;	/* the row's; prepare may change them */
	struct ksfile ks;	/* the opened store */
	bool changed;		/* true before apply; false: nothing to save */
};

/* A phase: 0, or the exit status to stop with (errors already reported). */
typedef int (*cli_sub_fn)(struct cli_sub_run *run);

struct cli_sub {
	const char *name;
	const char *summary;	/* one line in `mtlskit VERB --help` */
	const char *usage;	/* `mtlskit VERB SUB --help` */
	int min_args, max_args; /* operand count; max_args -1: no limit */
	const char *args_error; /* the usage error when the count is wrong */
	enum cli_sub_open open;
	unsigned open_flags;	/* MTK_KS_READ_* for a keystore; for
				   CLI_SUB_OPEN_VERB, the verb's (ca: MTK_CA_KEY_*) */
	enum cli_sub_save save;
	cli_sub_fn prepare;	/* options, sources; before the open (may be NULL) */
	cli_sub_fn apply;	/* the change, on run->ks (may be NULL) */
	cli_sub_fn report;	/* after the save: text and result members (may be NULL);
				   its return is the exit status */
};

struct cli_subverbs {
	const char *verb;
	const char *shortopts;
	const struct option *longopts;
	int (*on_opt)(cli *c, int opt, const char *arg, void *ctx);
	cli_sub_fn check;	    /* after parse, every sub-verb (may be NULL) */
	cli_sub_fn open;	    /* CLI_SUB_OPEN_VERB; what it opens goes in ctx
				       and release closes it */
	void (*release)(void *ctx); /* frees the working state in ctx (may be NULL) */
	const struct cli_sub *subs; /* ends with a NULL name */
};

/* Runs `mtlskit VERB SUB ...` (argv[0] is VERB) over v's table with ctx
 * (zeroed by the caller) as the options; lists the sub-verbs on --help.
 * Returns the exit status. */
int cli_run_sub(cli *c, const struct cli_subverbs *v, void *ctx, int argc, char **argv);

#endif
