/*
 * iogap explain: why one side was faster. Two targets of one recording (FILE A B), the same
 * target in two recordings (FILE1 FILE2 [--target NAME]), or two containers recorded first
 * (--live A B -d TIME).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "explain/explain.h"
#include "model/recording.h"

#define USAGE "iogap explain FILE A B | FILE1 FILE2 [--target NAME] | --live A B -d TIME [-o FILE]"

static void target_names(const struct model *m, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < m->ntargets && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", m->targets[i].name);
	if (!m->ntargets)
		snprintf(buf, len, "none");
}

/* A target by name, else by unique name prefix, else by unique container id prefix; NULL (and
 * the reason told) when there is none or more than one. */
static const struct target *target_find(const struct model *m, const char *path, const char *name)
{
	const struct target *hit = NULL;
	size_t len = strlen(name), n = 0;
	char names[1024];

	for (size_t i = 0; i < m->ntargets; i++)
		if (!strcmp(m->targets[i].name, name))
			return &m->targets[i];
	for (int by_id = 0; by_id < 2 && !n; by_id++)
		for (size_t i = 0; i < m->ntargets; i++) {
			const char *s = by_id ? m->targets[i].ctr.id : m->targets[i].name;

			if (s && !strncmp(s, name, len)) {
				hit = &m->targets[i];
				n++;
			}
		}
	if (n == 1)
		return hit;
	target_names(m, names, sizeof(names));
	fprintf(stderr, "iogap: %s target '%s' in %s (targets: %s)\n", n ? "ambiguous" : "no", name,
		path, names);
	return NULL;
}

static int explain_print(const struct iogap_opts *o, const struct model *ma, const struct target *a,
			 const struct model *mb, const struct target *b, const struct explain_opts *eo)
{
	struct explain_result r;
	int err = explain_compare_opts(ma, a, mb, b, eo, &r);
	struct cli_out w;
	FILE *mem;

	if (err) {
		fprintf(stderr, "iogap: cannot compare %s and %s: %s\n", a->name, b->name, strerror(-err));
		return 1;
	}
	mem = cli_out_open(&w);
	if (!mem) {
		fprintf(stderr, "iogap: cannot format the explanation: out of memory\n");
		explain_free(&r);
		return 1;
	}
	if (o->json) {
		char *s = explain_json(&r);

		if (!s) {
			fprintf(stderr, "iogap: cannot format JSON: out of memory\n");
			explain_free(&r);
			cli_out_write(&w, NULL);
			return 1;
		}
		fprintf(mem, "%s\n", s);
		free(s);
	} else {
		explain_text(mem, &r);
	}
	explain_free(&r);
	err = cli_out_write(&w, stdout);
	if (err) {
		fprintf(stderr, "iogap: cannot write the explanation: %s\n", strerror(err));
		return 1;
	}
	return 0;
}

static int explain_one(const struct iogap_opts *o, const char *path, const char *na, const char *nb,
		       const char *source)
{
	struct recording rec;
	const struct target *a, *b;
	int rc = 2;

	if (cli_recording_read(path, &rec))
		return 1;
	a = target_find(&rec.total, path, na);
	b = a ? target_find(&rec.total, path, nb) : NULL;
	if (a && b && a == b)
		fprintf(stderr, "iogap: '%s' and '%s' are the same target of %s: explain compares two\n",
			na, nb, path);
	else if (a && b) {
		struct explain_opts eo = { .source = source };

		rc = explain_print(o, &rec.total, a, &rec.total, b, &eo);
	}
	recording_free(&rec);
	return rc;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && s[1] ? s + 1 : path;
}

/* The target to compare across two recordings: --target, the only one of each, or the one
 * name they have in common. */
static int pick_common(const struct iogap_opts *o, const struct recording *r1,
		       const struct recording *r2, const struct target **a, const struct target **b)
{
	const struct model *m1 = &r1->total, *m2 = &r2->total;
	const struct target *common = NULL;
	size_t ncommon = 0;
	char n1[1024], n2[1024];

	if (o->target) {
		*a = target_find(m1, o->args[0], o->target);
		*b = *a ? target_find(m2, o->args[1], o->target) : NULL;
		return *a && *b ? 0 : 2;
	}
	if (m1->ntargets == 1 && m2->ntargets == 1) {
		*a = &m1->targets[0];
		*b = &m2->targets[0];
		return 0;
	}
	for (size_t i = 0; i < m1->ntargets; i++)
		for (size_t j = 0; j < m2->ntargets; j++)
			if (!strcmp(m1->targets[i].name, m2->targets[j].name)) {
				if (!ncommon++)
					common = &m1->targets[i];
				*b = &m2->targets[j];
			}
	if (ncommon == 1) {
		*a = common;
		for (size_t j = 0; j < m2->ntargets; j++)
			if (!strcmp(m2->targets[j].name, common->name))
				*b = &m2->targets[j];
		return 0;
	}
	target_names(m1, n1, sizeof(n1));
	target_names(m2, n2, sizeof(n2));
	fprintf(stderr, "iogap: which target? %s has %s; %s has %s (give --target NAME)\n", o->args[0],
		n1, o->args[1], n2);
	return 2;
}

static int explain_two(const struct iogap_opts *o)
{
	struct recording r1, r2;
	const struct target *a = NULL, *b = NULL;
	const char *p1 = o->args[0], *p2 = o->args[1];
	bool same_base = !strcmp(base_name(p1), base_name(p2));
	char la[512], lb[512], source[1100];
	int rc;

	if (cli_recording_read(p1, &r1))
		return 1;
	if (cli_recording_read(p2, &r2)) {
		recording_free(&r1);
		return 1;
	}
	rc = pick_common(o, &r1, &r2, &a, &b);
	if (!rc) {
		snprintf(la, sizeof(la), "%s (%s)", a->name, same_base ? p1 : base_name(p1));
		snprintf(lb, sizeof(lb), "%s (%s)", b->name, same_base ? p2 : base_name(p2));
		snprintf(source, sizeof(source), "recordings %s and %s", p1, p2);
		struct explain_opts eo = { .label_a = la, .label_b = lb, .source = source };

		rc = explain_print(o, &r1.total, a, &r2.total, b, &eo);
	}
	recording_free(&r1);
	recording_free(&r2);
	return rc;
}

/* Records the two containers for -d (the record subcommand's own path), then explains. */
static int explain_live(const struct iogap_opts *o)
{
	struct iogap_opts rec = *o;
	const char *dir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
	char tmp[4096], source[4200];
	int rc, fd = -1;

	if (o->nargs != 2 || o->npids || o->ncgroups || o->ncontainers || o->all_containers ||
	    o->host || o->cmd_argv || o->target) {
		fprintf(stderr, "iogap: explain --live takes the two containers to record as A B and "
			"no other target (" USAGE ")\n");
		return 2;
	}
	if (!o->duration_ns) {
		fprintf(stderr, "iogap: explain --live needs -d TIME: how long to record (" USAGE ")\n");
		return 2;
	}
	if (!o->output) {
		snprintf(tmp, sizeof(tmp), "%s/iogap-explain-XXXXXX", dir);
		fd = mkstemp(tmp);     /* mode 0600 */
		if (fd < 0) {
			fprintf(stderr, "iogap: cannot create a temporary recording in %s: %s (set TMPDIR, or "
				"keep the recording with -o FILE)\n", dir, strerror(errno));
			return 1;
		}
		close(fd);
	}
	rec.subcmd = "record";
	rec.containers[0] = o->args[0];
	rec.containers[1] = o->args[1];
	rec.ncontainers = 2;
	rec.nargs = 0;
	rec.json = false;
	rec.live = false;
	rec.output = o->output ? o->output : tmp;
	rc = cmd_record(&rec);
	if (!rc) {
		if (o->output)
			snprintf(source, sizeof(source), "recording %s", o->output);
		else
			snprintf(source, sizeof(source), "live recording");
		rc = explain_one(o, rec.output, o->args[0], o->args[1], source);
	}
	if (fd >= 0 && unlink(tmp) && errno != ENOENT)
		fprintf(stderr, "iogap: cannot remove %s: %s\n", tmp, strerror(errno));
	return rc;
}

int cmd_explain(const struct iogap_opts *o)
{
	char source[4200];

	if (o->live)
		return explain_live(o);
	if (o->output) {
		fprintf(stderr, "iogap: explain -o FILE keeps the recording of --live; redirect the "
			"output to save the explanation\n");
		return 2;
	}
	if (o->nargs == 3 && !o->target) {
		snprintf(source, sizeof(source), "recording %s", o->args[0]);
		return explain_one(o, o->args[0], o->args[1], o->args[2], source);
	}
	if (o->nargs == 2 && access(o->args[1], F_OK)) {
		fprintf(stderr, "iogap: %s: %s (two arguments are two recordings; a recording and its "
			"targets are FILE A B)\n", o->args[1], strerror(errno));
		return 2;
	}
	if (o->nargs == 2)
		return explain_two(o);
	fprintf(stderr, "iogap: explain needs a recording and two of its targets, or two recordings "
		"(%s)\n", USAGE);
	return 2;
}
