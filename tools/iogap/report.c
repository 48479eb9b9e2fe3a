/* iogap report FILE: a recording's text, JSON or HTML view. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "commands.h"
#include "explain/explain.h"
#include "model/recording.h"
#include "report/report.h"

/* Reads a recording, telling the user what was lost; 0 or 1 (the message printed). */
int cli_recording_read(const char *path, struct recording *r)
{
	int err = recording_read(path, r);

	if (err) {
		fprintf(stderr, "iogap: cannot read %s: %s\n", path, r->error);
		return 1;
	}
	for (size_t i = 0; i < r->nproblems; i++)
		fprintf(stderr, "iogap: %s: %s\n", path, r->problems[i]);
	return 0;
}

static int write_html(const struct iogap_opts *o, const struct recording *r, const char *explain)
{
	const struct model **iv = calloc(r->nintervals + 1, sizeof(*iv));
	uint64_t *t = calloc(r->nintervals + 1, sizeof(*t));
	char *meta = NULL;
	FILE *out;
	int rc = 1;

	if (!iv || !t)
		goto out;
	for (size_t i = 0; i < r->nintervals; i++) {
		iv[i] = &r->intervals[i].delta;
		t[i] = r->intervals[i].t_ns;
	}
	if (r->header) {
		cJSON *h = cJSON_Duplicate(r->header, 1);

		cJSON_DeleteItemFromObject(h, "targets");
		meta = cJSON_PrintUnformatted(h);
		cJSON_Delete(h);
	}
	out = fopen(o->html, "we");
	if (!out) {
		fprintf(stderr, "iogap: cannot write %s: %s\n", o->html, strerror(errno));
		goto out;
	}
	struct report_html_input in = {
		.title = o->args[0], .total = &r->total, .nintervals = r->nintervals,
		.intervals = iv, .t_ns = t, .explain_html = explain, .meta_json = meta,
	};
	struct cli_out w;
	FILE *mem = cli_out_open(&w);
	int err;

	if (!mem || report_html(mem, &in)) {
		fprintf(stderr, "iogap: cannot format the HTML report: out of memory\n");
		if (mem)
			cli_out_write(&w, NULL);
		fclose(out);
		goto out;
	}
	err = cli_out_write(&w, out);
	errno = 0;
	if (fclose(out) && !err)
		err = errno ? errno : EIO;
	if (err) {
		fprintf(stderr, "iogap: cannot write %s: %s\n", o->html, strerror(err));
		goto out;
	}
	rc = 0;
out:
	free(iv);
	free(t);
	free(meta);
	return rc;
}

int cmd_report(const struct iogap_opts *o)
{
	struct recording r;
	int rc;

	if (o->nargs != 1) {
		fprintf(stderr, "iogap: report needs one recording (iogap report FILE [--json | --html OUT])\n");
		return 2;
	}
	if (cli_recording_read(o->args[0], &r))
		return 1;
	if (o->html) {
		char *ex = explain_model_html(&r.total);

		rc = write_html(o, &r, ex);
		free(ex);
	}
	else
		rc = cli_print_model(o, stdout, &r.total, false);
	recording_free(&r);
	return rc;
}
