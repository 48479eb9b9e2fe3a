/* iogap ps: the containers iogap sees, and whether each has SQLite loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "collect/cgroup.h"
#include "collect/containers.h"
#include "collect/sqlite_find.h"
#include "commands.h"

/* The library path of the first process of the container that has SQLite mapped or linked. */
static const char *container_sqlite(const struct container_entry *e, char *buf, size_t len)
{
	struct sqlite_lib lib;

	for (size_t i = 0; i < e->npids; i++)
		if (!sqlite_find(e->pids[i], false, &lib)) {
			snprintf(buf, len, "%s", lib.shown);
			return buf;
		}
	return NULL;
}

void options_container_roots(const struct iogap_opts *o, struct container_roots *r)
{
	container_roots_default(r);
	if (o->docker_root)
		r->docker = o->docker_root;
	if (o->podman_root)
		r->podman = o->podman_root;
	if (o->containerd_root)
		r->containerd_state = o->containerd_root;
	if (o->crio_root)
		r->crio = o->crio_root;
}

int cmd_ps(const struct iogap_opts *o)
{
	struct container_entry *list = NULL;
	struct container_roots roots;
	char mnt[4096], sq[4096];
	size_t n = 0;
	int err;

	if (o->nargs) {
		fprintf(stderr, "iogap: unexpected argument '%s' (iogap ps [--json] lists every "
			"container)\n", o->args[0]);
		return 2;
	}
	err = cgroup_mount(mnt, sizeof(mnt));
	if (err) {
		fprintf(stderr, "iogap: cannot find the cgroup v2 mount in /proc/self/mountinfo: %s "
			"(a cgroup-v1-only host has no container cgroups iogap can list; trace processes "
			"with -p PID)\n", strerror(-err));
		return 1;
	}
	options_container_roots(o, &roots);
	err = containers_list(mnt, &roots, &list, &n);
	if (err) {
		fprintf(stderr, "iogap: cannot list containers below %s: %s\n", mnt, strerror(-err));
		return 1;
	}
	if (o->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "containers");
		char *s;

		cJSON_AddStringToObject(doc, "cgroup_mount", mnt);
		for (size_t i = 0; i < n; i++) {
			const struct container_entry *e = &list[i];
			cJSON *c = cJSON_CreateObject(), *pids = cJSON_CreateArray();
			const char *lib = container_sqlite(e, sq, sizeof(sq));

			cJSON_AddStringToObject(c, "name", e->id.name);
			cJSON_AddStringToObject(c, "id", e->id.id);
			cJSON_AddStringToObject(c, "runtime", e->id.runtime);
			cJSON_AddStringToObject(c, "cgroup", e->cgroup);
			if (e->id.image[0])
				cJSON_AddStringToObject(c, "image", e->id.image);
			if (e->id.pod[0]) {
				cJSON_AddStringToObject(c, "pod", e->id.pod);
				cJSON_AddStringToObject(c, "pod_namespace", e->id.pod_namespace);
			}
			for (size_t j = 0; j < e->npids; j++)
				cJSON_AddItemToArray(pids, cJSON_CreateNumber(e->pids[j]));
			cJSON_AddItemToObject(c, "pids", pids);
			if (lib)
				cJSON_AddStringToObject(c, "sqlite", lib);
			else
				cJSON_AddNullToObject(c, "sqlite");
			cJSON_AddItemToArray(arr, c);
		}
		s = cJSON_Print(doc);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(doc);
	} else {
		printf("%-20s %-12s %-10s %5s  %-34s %s\n", "NAME", "ID", "RUNTIME", "PIDS", "CGROUP",
		       "SQLITE");
		for (size_t i = 0; i < n; i++) {
			const struct container_entry *e = &list[i];
			const char *lib = container_sqlite(e, sq, sizeof(sq));

			printf("%-20s %-12.12s %-10s %5zu  %-34s %s\n", e->id.name, e->id.id, e->id.runtime,
			       e->npids, e->cgroup, lib ? lib : "-");
		}
		if (!n)
			printf("(no containers below %s)\n", mnt);
	}
	containers_free(list, n);
	return 0;
}
