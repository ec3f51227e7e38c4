/*
 * subverb.c - the one runner of sub-verb tables (subverb.h).
 */
#include <stdio.h>
#include <string.h>

#include "subverb.h"

static const struct cli_sub *find_sub(cli *c, const struct cli_subverbs *v, int argc, char **argv,
				      int *r)
{
	static char name[64];

	*r = 0;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: mtlskit %s <sub-command> [<args>]\n\n", v->verb);
		for (const struct cli_sub *s = v->subs; s->name != NULL; s++)
			printf("  %-14s %s\n", s->name, s->summary);
		return NULL;
	}
	for (const struct cli_sub *s = v->subs; argc >= 2 && s->name != NULL; s++) {
		if (strcmp(argv[1], s->name) == 0) {
			snprintf(name, sizeof(name), "%s %s", v->verb, s->name);
			c->verb = name;
			return s;
		}
	}
	if (argc < 2)
		*r = cli_usage_error(c, NULL, "a sub-command is needed");
	else
		*r = cli_usage_error(c, NULL, "unknown sub-command '%s'", argv[1]);
	return NULL;
}

static int open_target(struct cli_sub_run *run)
{
	switch (run->sub->open) {
	case CLI_SUB_OPEN_KS_READ:
		return ks_open(run->c, run->target, run->open_flags, &run->ks);
	case CLI_SUB_OPEN_KS_EDIT:
		return ks_open_edit(run->c, run->target, run->open_flags, &run->ks);
	case CLI_SUB_OPEN_KS_CREATE:
		return ks_open_or_create_flags(run->c, run->target, run->store_type,
					       run->open_flags, &run->ks);
	case CLI_SUB_OPEN_VERB:
		return run->verb->open(run);
	case CLI_SUB_OPEN_NONE:
	default:
		return 0;
	}
}

int cli_run_sub(cli *c, const struct cli_subverbs *v, void *ctx, int argc, char **argv)
{
	struct cli_sub_run run;
	const struct cli_sub *s;
	int r, n;

	if ((s = find_sub(c, v, argc, argv, &r)) == NULL)
		return r;
	argc--, argv++;
	memset(&run, 0, sizeof(run));
	run.c = c;
	run.verb = v;
	run.sub = s;
	run.ctx = ctx;
	run.argc = argc;
	run.argv = argv;
	run.open_flags = s->open_flags;
	/* parse */
	r = cli_parse(c, argc, argv, v->shortopts, v->longopts, v->on_opt, ctx, s->usage,
		      &run.first);
	if (r != 0) {
		r = r < 0 ? 0 : r;
		goto out;
	}
	if (v->check != NULL && (r = v->check(&run)) != 0)
		goto out;
	n = argc - run.first;
	if (n < s->min_args || (s->max_args >= 0 && n > s->max_args)) {
		r = cli_usage_error(c, s->usage, "%s", s->args_error);
		goto out;
	}
	run.target = n > 0 ? argv[run.first] : NULL;
	if (s->prepare != NULL && (r = s->prepare(&run)) != 0)
		goto out;
	/* open, apply, save, report */
	if ((r = open_target(&run)) != 0)
		goto out;
	run.changed = true;
	if (s->apply != NULL && (r = s->apply(&run)) != 0)
		goto out;
	if (s->save == CLI_SUB_SAVE_CHANGED && run.changed && (r = ks_save(c, &run.ks)) != 0)
		goto out;
	if (s->report != NULL)
		r = s->report(&run);
out:
	if (v->release != NULL)
		v->release(ctx);
	ks_close(&run.ks);
	return r;
}
