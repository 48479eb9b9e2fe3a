#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "collect/cgroup.h"
#include "collect/containers.h"
#include "model/model.h"

#define MAX_COMPONENTS 64
#define LIST_MAX_DEPTH 32
#define METADATA_MAX (16 << 20)

enum match { M_NONE, M_IGNORE, M_FOUND };

static void field_set(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

#define FIELD(f, s) field_set((f), sizeof(f), (s), strlen(s))
#define FIELD_N(f, s, n) field_set((f), sizeof(f), (s), (n))

static bool is_hex_id(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The part of s between prefix and suffix, if s has both and something between them. */
static const char *between(const char *s, const char *prefix, const char *suffix, size_t *len)
{
	size_t n = strlen(s), p = strlen(prefix), q = strlen(suffix);

	if (n <= p + q || strncmp(s, prefix, p) || strcmp(s + n - q, suffix))
		return NULL;
	*len = n - p - q;
	return s + p;
}

static bool is_unit(const char *s)
{
	static const char *const suffixes[] = { ".slice", ".scope", ".service", ".mount", ".socket", ".swap" };
	size_t len;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (between(s, "", suffixes[i], &len))
			return true;
	return false;
}

static bool is_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool is_iogap(const char *s)
{
	return !strncmp(s, "iogap-", 6) && is_digits(s + 6, strlen(s + 6));
}

/* A systemd service; user@UID.service is a user's service manager, not a workload. */
static bool is_service(const char *s)
{
	size_t len, uid_len;
	const char *uid = between(s, "user@", ".service", &uid_len);

	return between(s, "", ".service", &len) && !(uid && is_digits(uid, uid_len));
}

static bool is_qos(const char *s)
{
	return !strcmp(s, "burstable") || !strcmp(s, "besteffort");
}

static void set_hex(struct container_ident *c, const char *runtime, const char *id)
{
	FIELD(c->runtime, runtime);
	FIELD_N(c->id, id, 64);
	FIELD_N(c->name, id, 12);   /* as `docker ps` shows it */
}

static void set_named(struct container_ident *c, const char *runtime, const char *name)
{
	FIELD(c->runtime, runtime);
	FIELD(c->id, name);
	FIELD(c->name, name);
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* systemd escapes unit names: "my-box" is "my\x2dbox". */
static void unescape_unit(char *dst, size_t size, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' && hex_value(s[i + 2]) >= 0 &&
		    hex_value(s[i + 3]) >= 0) {
			dst[o++] = (char)(hex_value(s[i + 2]) << 4 | hex_value(s[i + 3]));
			i += 3;
		} else {
			dst[o++] = s[i];
		}
	}
	dst[o] = 0;
}

static const struct hex_pattern {
	const char *prefix, *suffix, *runtime;
} hex_patterns[] = {
	{ "docker-", ".scope", "docker" },              /* Docker, systemd driver */
	{ "cri-containerd-", ".scope", "containerd" },  /* containerd's CRI, systemd driver */
	{ "crio-", ".scope", "crio" },
	{ "crio-", "", "crio" },                        /* CRI-O, cgroupfs driver */
	{ "libpod-", ".scope", "podman" },
	{ "libpod-", "", "podman" },                    /* Podman, cgroupfs driver */
};

static enum match classify(char *const *comp, int i, struct container_ident *c)
{
	const char *s = comp[i], *parent = i > 0 ? comp[i - 1] : "", *mid;
	size_t len;

	if (between(s, "crio-conmon-", ".scope", &len) || between(s, "libpod-conmon-", ".scope", &len) ||
	    !strncmp(s, "lxc.monitor", 11) || is_iogap(s) ||
	    (!strcmp(s, "conmon") && !strcmp(parent, "libpod_parent")))
		return M_IGNORE;
	for (size_t k = 0; k < sizeof(hex_patterns) / sizeof(hex_patterns[0]); k++) {
		const struct hex_pattern *p = &hex_patterns[k];

		if ((mid = between(s, p->prefix, p->suffix, &len)) && is_hex_id(mid, len)) {
			set_hex(c, p->runtime, mid);
			return M_FOUND;
		}
	}
	/* a bare id: Docker's cgroupfs driver below /docker, else containerd's (kubepods) */
	if (is_hex_id(s, strlen(s))) {
		set_hex(c, strcmp(parent, "docker") ? "containerd" : "docker", s);
		return M_FOUND;
	}
	if ((mid = between(s, "lxc.payload.", "", &len))) {
		set_named(c, "lxc", mid);
		return M_FOUND;
	}
	if (i == 1 && !strcmp(parent, "lxc") && !is_unit(s)) {  /* LXC before 4.0 */
		set_named(c, "lxc", s);
		return M_FOUND;
	}
	if ((mid = between(s, "machine-", ".scope", &len))) {
		char name[sizeof(c->name)];

		unescape_unit(name, sizeof(name), mid, len);
		set_named(c, "nspawn", name);
		return M_FOUND;
	}
	if (is_service(s)) {
		set_named(c, "systemd", s);
		return M_FOUND;
	}
	return M_NONE;
}

static void set_pod_uid(struct container_ident *c, const char *uid, size_t len)
{
	if (!len || len >= sizeof(c->pod_uid) || strspn(uid, "0123456789abcdef-_") < len)
		return;
	FIELD_N(c->pod_uid, uid, len);
	for (char *p = c->pod_uid; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* The pod and QoS class from the kubepods levels above the container at comp[i]. */
static void pod_from_path(char *const *comp, int i, struct container_ident *c)
{
	const char *parent = i > 0 ? comp[i - 1] : "", *gp = i > 1 ? comp[i - 2] : "";
	const char *ggp = i > 2 ? comp[i - 3] : "", *mid;
	size_t len;

	if ((mid = between(parent, "kubepods-", ".slice", &len))) {
		/* kubepods-pod<uid>.slice (guaranteed) or kubepods-<qos>-pod<uid>.slice */
		static const char *const qos[] = { "guaranteed", "burstable", "besteffort" };
		static const char *const lead[] = { "pod", "burstable-pod", "besteffort-pod" };

		for (int k = 0; k < 3; k++) {
			size_t l = strlen(lead[k]);

			if (len > l && !strncmp(mid, lead[k], l)) {
				FIELD(c->qos, qos[k]);
				set_pod_uid(c, mid + l, len - l);
				return;
			}
		}
		return;
	}
	if (strncmp(parent, "pod", 3))
		return;
	if (!strcmp(gp, "kubepods"))
		FIELD(c->qos, "guaranteed");
	else if (is_qos(gp) && !strcmp(ggp, "kubepods"))
		FIELD(c->qos, gp);
	else
		return;
	set_pod_uid(c, parent + 3, strlen(parent + 3));
}

/* The levels runtimes and Kubernetes put their containers under (cgroupfs drivers). */
static bool is_runtime_parent(char *const *comp, int n)
{
	static const char *const parents[] = { "docker", "kubepods", "libpod_parent", "lxc" };
	const char *s = comp[n - 1], *parent = n > 1 ? comp[n - 2] : "", *gp = n > 2 ? comp[n - 3] : "";

	for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++)
		if (!strcmp(s, parents[i]))
			return true;
	if (!strcmp(parent, "kubepods") && is_qos(s))
		return true;
	return !strncmp(s, "pod", 3) && (!strcmp(parent, "kubepods") || (is_qos(parent) && !strcmp(gp, "kubepods")));
}

/* container_identify, and whether the container is the directory itself (not an ancestor). */
static int identify(const char *path, struct container_ident *c, bool *self)
{
	char buf[PATH_MAX], *comp[MAX_COMPONENTS], *save, *tok;
	int n = 0;

	memset(c, 0, sizeof(*c));
	*self = false;
	if (!path || (size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return 0;
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == MAX_COMPONENTS || !strcmp(tok, ".") || !strcmp(tok, ".."))
			return 0;
		comp[n++] = tok;
	}
	for (int i = n - 1; i >= 0; i--) {
		enum match m = classify(comp, i, c);

		if (m == M_IGNORE)
			return 0;
		if (m == M_FOUND) {
			pod_from_path(comp, i, c);
			*self = i == n - 1;
			return 1;
		}
	}
	if (!n || is_unit(comp[n - 1]) || is_runtime_parent(comp, n))
		return 0;
	set_named(c, "cgroup", comp[n - 1]);
	*self = true;
	return 1;
}

int container_identify(const char *cgroup_path, struct container_ident *out)
{
	bool self;

	return identify(cgroup_path, out, &self);
}

bool container_should_follow(const char *cgroup_path)
{
	struct container_ident c;
	bool self;

	return identify(cgroup_path, &c, &self) == 1 && self;
}

static char *dup_nonempty(const char *s)
{
	return s[0] ? strdup(s) : NULL;
}

void container_ident_to_meta(const struct container_ident *c, struct container_meta *m)
{
	m->runtime = dup_nonempty(c->runtime);
	m->id = dup_nonempty(c->id);
	m->image = dup_nonempty(c->image);
	m->pod = dup_nonempty(c->pod);
	m->pod_namespace = dup_nonempty(c->pod_namespace);
	m->k8s_container = dup_nonempty(c->k8s_container);
	m->pod_uid = dup_nonempty(c->pod_uid);
	m->qos = dup_nonempty(c->qos);
}

void container_roots_default(struct container_roots *r)
{
	r->docker = "/var/lib/docker";
	r->podman = "/var/lib/containers/storage";
	r->containerd_state = "/run/containerd";
	r->crio = "/var/lib/containers/storage";   /* CRI-O stores containers with containers/storage */
}

/*
 * Parses the metadata file at the path fmt makes, which must hold a JSON value of this type
 * (cJSON_Object, cJSON_Array): -ENOENT when there is none, -EINVAL when it is not that JSON.
 */
static int json_vload(cJSON **out, int type, const char *fmt, va_list ap)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	*out = NULL;
	if ((size_t)vsnprintf(path, sizeof(path), fmt, ap) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > METADATA_MAX) {
		err = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + len, (size_t)st.st_size - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto out;
		}
		if (!got)
			break;
		len += (size_t)got;
	}
	*out = cJSON_ParseWithLength(buf, len);
	if (!*out || ((*out)->type & 0xff) != type) {
		cJSON_Delete(*out);
		*out = NULL;
		err = -EINVAL;
	}
out:
	free(buf);
	close(fd);
	return err;
}

static int json_load(cJSON **out, int type, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = json_vload(out, type, fmt, ap);
	va_end(ap);
	return err;
}

static const char *json_string(const cJSON *o, const char *key)
{
	const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Kubernetes names win over the runtime's: the container's name is the pod spec's. */
static void ident_set_k8s(struct container_ident *c, const char *pod, const char *ns, const char *ctr,
			  const char *uid)
{
	if (ctr) {
		FIELD(c->k8s_container, ctr);
		FIELD(c->name, ctr);
	}
	if (pod)
		FIELD(c->pod, pod);
	if (ns)
		FIELD(c->pod_namespace, ns);
	if (uid && !c->pod_uid[0])
		set_pod_uid(c, uid, strlen(uid));
}

static int docker_read(const char *root, struct container_ident *c)
{
	const cJSON *cfg, *labels;
	const char *name, *image;
	cJSON *j;
	int err = root ? json_load(&j, cJSON_Object, "%s/containers/%s/config.v2.json", root, c->id) : -ENOENT;

	if (err)
		return err;
	cfg = cJSON_GetObjectItemCaseSensitive(j, "Config");
	labels = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
	name = json_string(j, "Name");
	if (name && name[name[0] == '/'])
		FIELD(c->name, name + (name[0] == '/'));
	if ((image = json_string(cfg, "Image")))
		FIELD(c->image, image);
	ident_set_k8s(c, json_string(labels, "io.kubernetes.pod.name"),
		      json_string(labels, "io.kubernetes.pod.namespace"),
		      json_string(labels, "io.kubernetes.container.name"),
		      json_string(labels, "io.kubernetes.pod.uid"));
	cJSON_Delete(j);
	return 0;
}

/* containers/storage's list of containers: [{"id", "names": [...], "image", "metadata": "{...}"}] */
static int podman_read(const char *root, struct container_ident *c)
{
	const cJSON *e;
	cJSON *j;
	int err = root ? json_load(&j, cJSON_Array, "%s/overlay-containers/containers.json", root) : -ENOENT;

	if (err)
		return err;
	err = -ENOENT;
	cJSON_ArrayForEach(e, j) {
		const char *id = json_string(e, "id"), *image = json_string(e, "image");
		const char *meta_text = json_string(e, "metadata");
		const cJSON *name = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "names"), 0);
		cJSON *meta;

		if (!id || strcmp(id, c->id))
			continue;
		if (cJSON_IsString(name) && name->valuestring[0])
			FIELD(c->name, name->valuestring);
		/* metadata is JSON in a string; its image-name is what the user ran, "image" an id */
		meta = meta_text ? cJSON_Parse(meta_text) : NULL;
		if (json_string(meta, "image-name"))
			image = json_string(meta, "image-name");
		if (image)
			FIELD(c->image, image);
		cJSON_Delete(meta);
		err = 0;
		break;
	}
	cJSON_Delete(j);
	return err;
}

/* Annotation names in an OCI runtime spec (config.json) written by a CRI runtime. */
struct oci_keys {
	const char *pod, *pod_namespace, *container, *pod_uid, *image, *type;
	const char *labels;   /* an annotation holding the kubelet's labels as a JSON string */
};

static const struct oci_keys crio_keys = {
	"io.kubernetes.pod.name", "io.kubernetes.pod.namespace", "io.kubernetes.container.name",
	"io.kubernetes.pod.uid", "io.kubernetes.cri-o.ImageName", "io.kubernetes.cri-o.ContainerType",
	"io.kubernetes.cri-o.Labels",
};

static const struct oci_keys containerd_keys = {
	"io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-namespace",
	"io.kubernetes.cri.container-name", "io.kubernetes.cri.sandbox-uid",
	"io.kubernetes.cri.image-name", "io.kubernetes.cri.container-type", NULL,
};

static const char *annotation(const cJSON *a, const cJSON *labels, const char *key)
{
	const char *v = json_string(a, key);

	return v ? v : json_string(labels, key);
}

/* Reads the OCI spec at the path fmt makes. */
static int oci_read(const struct oci_keys *k, struct container_ident *c, const char *fmt, ...)
{
	const cJSON *a;
	const char *ctr, *type, *image, *labels_text;
	cJSON *j, *labels;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = json_vload(&j, cJSON_Object, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	a = cJSON_GetObjectItemCaseSensitive(j, "annotations");
	labels_text = json_string(a, k->labels);
	labels = labels_text ? cJSON_Parse(labels_text) : NULL;
	ctr = annotation(a, labels, k->container);
	type = json_string(a, k->type);
	if (type && !strcmp(type, "sandbox"))
		ctr = "POD";   /* the pod's pause container, named as the kubelet names it */
	if ((image = json_string(a, k->image)))
		FIELD(c->image, image);
	ident_set_k8s(c, annotation(a, labels, k->pod), annotation(a, labels, k->pod_namespace), ctr,
		      annotation(a, labels, k->pod_uid));
	cJSON_Delete(labels);
	cJSON_Delete(j);
	return 0;
}

static int crio_read(const char *root, struct container_ident *c)
{
	if (!root)
		return -ENOENT;
	return oci_read(&crio_keys, c, "%s/overlay-containers/%s/userdata/config.json", root, c->id);
}

/* containerd's metadata is in a bolt database; its task bundles hold the OCI spec, per namespace. */
static int containerd_read(const char *state, struct container_ident *c)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int err = -ENOENT;
	DIR *d;

	if (!state)
		return -ENOENT;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/io.containerd.runtime.v2.task", state) >= sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	while (err == -ENOENT && (de = readdir(d))) {
		if (de->d_name[0] != '.')
			err = oci_read(&containerd_keys, c, "%s/%s/%s/config.json", dir, de->d_name, c->id);
	}
	closedir(d);
	return err;
}

int container_read_metadata(const struct container_roots *roots, struct container_ident *c)
{
	struct container_roots def;
	int err;

	if (!roots) {
		container_roots_default(&def);
		roots = &def;
	}
	if (!c->id[0] || strchr(c->id, '/') || strstr(c->id, ".."))
		return -EINVAL;
	if (!strcmp(c->runtime, "docker"))
		return docker_read(roots->docker, c);
	if (!strcmp(c->runtime, "podman"))
		return podman_read(roots->podman, c);
	if (!strcmp(c->runtime, "crio"))
		return crio_read(roots->crio, c);
	if (strcmp(c->runtime, "containerd"))
		return -ENOENT;
	err = containerd_read(roots->containerd_state, c);
	if (err == -ENOENT) {
		err = docker_read(roots->docker, c);
		if (!err)
			FIELD(c->runtime, "docker");
	}
	return err;
}

struct list_ctx {
	size_t mlen;               /* of the mount's path, which starts every path walked */
	struct container_entry *e;
	size_t n, cap;
	ssize_t cur;               /* the container whose sub-cgroups are being walked, or -1 */
	pid_t *buf;
	size_t bufcap;
};

/* The pids in a cgroup.procs, into x->buf: their number, or -errno. */
static int procs_read(const char *abs_path, struct list_ctx *x)
{
	for (;;) {
		int n = cgroup_procs(abs_path, x->buf, (int)x->bufcap);
		pid_t *nb;

		if (n < 0 || (size_t)n < x->bufcap)
			return n;
		/* cgroup_procs stops at the buffer's size: read again with room to spare */
		nb = realloc(x->buf, 2 * x->bufcap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		x->buf = nb;
		x->bufcap *= 2;
	}
}

static int entry_add_pids(struct container_entry *e, const pid_t *pids, size_t n)
{
	pid_t *np;

	if (!n)
		return 0;
	np = realloc(e->pids, (e->npids + n) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	memcpy(np + e->npids, pids, n * sizeof(*pids));
	e->pids = np;
	e->npids += n;
	return 0;
}

static bool is_below(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return !strncmp(path, dir, len) && path[len] == '/';
}

static int list_visit(const char *path, uint64_t cgid, void *ctx)
{
	struct list_ctx *x = ctx;
	const char *rel = path[x->mlen] ? path + x->mlen : "/";
	struct container_ident c;
	struct container_entry *e;
	int depth = 0, n, err;
	bool self;

	for (const char *s = rel; *s; s++)
		depth += s[0] == '/' && s[1] && s[1] != '/';
	/* cgroup_walk passes over a subtree whose callback says -ENOENT (as for one removed meanwhile) */
	if (depth > LIST_MAX_DEPTH)
		return -ENOENT;
	if (x->cur >= 0 && is_below(rel, x->e[x->cur].cgroup)) {
		n = procs_read(path, x);
		return n > 0 ? entry_add_pids(&x->e[x->cur], x->buf, (size_t)n) : n == -ENOMEM ? n : 0;
	}
	x->cur = -1;
	if (identify(rel, &c, &self) != 1 || !self)
		return 0;
	n = procs_read(path, x);
	if (n == -ENOMEM)
		return n;
	/* a service or plain directory is a container for its own processes, not its children's */
	if (n <= 0 && (!strcmp(c.runtime, "cgroup") || !strcmp(c.runtime, "systemd")))
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct container_entry *ne = realloc(x->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		x->e = ne;
		x->cap = cap;
	}
	e = &x->e[x->n];
	memset(e, 0, sizeof(*e));
	e->id = c;
	FIELD(e->cgroup, rel);
	x->cur = (ssize_t)x->n++;
	err = n > 0 ? entry_add_pids(e, x->buf, (size_t)n) : 0;
	return err;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct container_entry *)a)->cgroup, ((const struct container_entry *)b)->cgroup);
}

int containers_list(const char *cg_mount, const struct container_roots *roots,
		    struct container_entry **out, size_t *n)
{
	struct list_ctx x = { .cur = -1, .bufcap = 256 };
	char mount[PATH_MAX];
	bool warned = false;
	int err;

	*out = NULL;
	*n = 0;
	if ((size_t)snprintf(mount, sizeof(mount), "%s", cg_mount) >= sizeof(mount))
		return -ENAMETOOLONG;
	x.mlen = strlen(mount);
	while (x.mlen > 1 && mount[x.mlen - 1] == '/')
		mount[--x.mlen] = 0;
	x.buf = malloc(x.bufcap * sizeof(*x.buf));
	if (!x.buf)
		return -ENOMEM;
	err = cgroup_walk(mount, list_visit, &x);
	free(x.buf);
	if (err) {
		containers_free(x.e, x.n);
		return err;
	}
	for (size_t i = 0; i < x.n; i++) {
		struct container_entry *e = &x.e[i];

		err = container_read_metadata(roots, &e->id);
		if (err == -EINVAL)
			fprintf(stderr, "iogap: cannot read the %s metadata of %s: not the runtime's JSON "
				"(named from its cgroup path)\n", e->id.runtime, e->cgroup);
		else if (err && err != -ENOENT && !warned) {
			fprintf(stderr, "iogap: cannot read the %s metadata of %s: %s (containers are "
				"named from their cgroup paths)\n", e->id.runtime, e->cgroup, strerror(-err));
			warned = true;
		}
		if (e->npids)
			qsort(e->pids, e->npids, sizeof(*e->pids), pid_cmp);
	}
	if (x.n)
		qsort(x.e, x.n, sizeof(*x.e), entry_cmp);
	*out = x.e;
	*n = x.n;
	return 0;
}

void containers_free(struct container_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].pids);
	free(e);
}

enum match_by { BY_NAME, BY_ID, BY_PREFIX };

static bool match_one(const struct container_ident *c, const char *q, size_t qlen, enum match_by by)
{
	switch (by) {
	case BY_NAME:
		return !strcmp(c->name, q);
	case BY_ID:
		return !strcmp(c->id, q);
	case BY_PREFIX:
		/* a prefix of a hex id is hex only: the comparison itself sees to that */
		return qlen >= 3 && !strncmp(c->id, q, qlen);
	}
	return false;
}

static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (w > 0)
		*off += (size_t)w;
}

int containers_match(const struct container_entry *e, size_t n, const char *query, size_t *index,
		     char *err, size_t errlen)
{
	size_t qlen = strlen(query), off = 0;

	if (!errlen)
		err = NULL;
	for (enum match_by by = BY_NAME; by <= BY_PREFIX; by++) {
		size_t hits = 0, first = 0;

		for (size_t i = 0; i < n; i++)
			if (match_one(&e[i].id, query, qlen, by) && !hits++)
				first = i;
		if (hits == 1) {
			*index = first;
			return 0;
		}
		if (!hits)
			continue;
		if (err) {
			appendf(err, errlen, &off, "%s '%s' is ambiguous:", by == BY_NAME ? "name" : "id prefix",
				query);
			for (size_t i = 0, k = 0; i < n; i++) {
				const struct container_ident *c = &e[i].id;

				if (!match_one(c, query, qlen, by))
					continue;
				if (strcmp(c->id, c->name))
					appendf(err, errlen, &off, "%s %s (%.12s%s)", k++ ? "," : "", c->name, c->id,
						strlen(c->id) > 12 ? "…" : "");
				else
					appendf(err, errlen, &off, "%s %s (%s)", k++ ? "," : "", c->name, e[i].cgroup);
			}
			if (by == BY_NAME)
				appendf(err, errlen, &off, " (give an id)");
		}
		return -EEXIST;
	}
	if (err)
		snprintf(err, errlen, "no container named or with id '%s' (%siogap ps lists them)", query,
			 qlen < 3 ? "an id prefix needs 3 characters or more; " : "");
	return -ENOENT;
}
