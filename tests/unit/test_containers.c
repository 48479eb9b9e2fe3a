/*
 * Containers from cgroup v2 paths and runtime metadata, on fixtures: each runtime's real file
 * format under tests/fixtures/containers/<runtime>, and a directory tree imitating a cgroup2
 * mount (tests/fixtures/containers/cgroup2). tests/run starts tests from the repository root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/containers.h"
#include "model/model.h"

#define FIX "tests/fixtures/containers"

#define D_WEB "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb"
#define D_K8S "89016fc1ebe735d5d6bfa8fa9b5c0431890483da9035da7f4031b4fd87aff831"
#define D_BROKEN "7214fd1ba1e08804ddaf0ff991d1712fc6eefeeff04e1cf7f751f6077073c787"
#define P_PG "6fd522470aa19affb525a75c0de6c8fa686b29ff7e209b69dec432a5f3e1d3d1"
#define P_CACHE "1d2a774bec31ee65df0d02e37aeb1285f03a272feed8fb7dd6dcdc5321a18aa2"
#define P_ROOTLESS "56dfa3bc944415a972b0fe05883435f6f061150cc65600d923a24fd565932362"
#define C_API "b495dd2c99ff39b1eeca5565edf0281990ea9c7d80c082c785989225ecaf6ce3"
#define C_SANDBOX "a18bfabd3cf1d74d0267b59ef276e9c1c94d4e31a9fb482340d884a4c4275b94"
#define K_WEB "97d2c0c0223571e9bd6b053a230a69d287159fd5af06497581bc29c814056c77"
#define K_DEFAULT "f49de23fb9ebe32dc176203f09da3fb92b5f664e40d37bf6ac648c906683fd44"
#define U_WEB "79af16e4-c5a9-41d3-abc2-2bc3b07db5b5"
#define U_WEB_ "79af16e4_c5a9_41d3_abc2_2bc3b07db5b5"
#define U_API "01ef62b0-4395-42db-b77e-852618fe32b7"
#define U_API_ "01ef62b0_4395_42db_b77e_852618fe32b7"
#define U_SHOP "334ff2b2-c836-4980-8b10-fd560acc54a1"
#define U_SHOP_ "334ff2b2_c836_4980_8b10_fd560acc54a1"

static const struct container_roots fixture_roots = {
	.docker = FIX "/docker",
	.podman = FIX "/podman",
	.containerd_state = FIX "/containerd",
	.crio = FIX "/crio",
};

static const struct ident_case {
	const char *path;
	int ret;
	const char *runtime, *id, *name, *pod_uid, *qos;
	bool follow;   /* container_should_follow */
} ident_cases[] = {
	/* Docker: cgroupfs and systemd drivers */
	{ "/docker/" D_WEB, 1, "docker", D_WEB, "f31f384749f9", NULL, NULL, true },
	{ "/system.slice/docker-" D_WEB ".scope", 1, "docker", D_WEB, "f31f384749f9", NULL, NULL, true },
	{ "/system.slice/docker-" D_WEB ".scope/child", 1, "docker", D_WEB, "f31f384749f9", NULL, NULL, false },
	/* containerd's CRI, bare and in kubepods (systemd: QoS slices; guaranteed right below) */
	{ "/system.slice/cri-containerd-" K_WEB ".scope", 1, "containerd", K_WEB, "97d2c0c02235", NULL, NULL, true },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_WEB_ ".slice/cri-containerd-" K_WEB
	  ".scope", 1, "containerd", K_WEB, "97d2c0c02235", U_WEB, "burstable", true },
	{ "/kubepods.slice/kubepods-pod" U_SHOP_ ".slice/cri-containerd-" K_WEB ".scope", 1, "containerd", K_WEB,
	  "97d2c0c02235", U_SHOP, "guaranteed", true },
	{ "/kubepods/burstable/pod" U_WEB "/" K_WEB, 1, "containerd", K_WEB, "97d2c0c02235", U_WEB, "burstable",
	  true },
	{ "/kubepods/besteffort/pod" U_WEB "/" K_WEB, 1, "containerd", K_WEB, "97d2c0c02235", U_WEB, "besteffort",
	  true },
	{ "/kubepods/pod" U_SHOP "/" K_WEB, 1, "containerd", K_WEB, "97d2c0c02235", U_SHOP, "guaranteed", true },
	/* CRI-O, alone and in a pod; its conmon is not the container */
	{ "/system.slice/crio-" C_API ".scope", 1, "crio", C_API, "b495dd2c99ff", NULL, NULL, true },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_API_ ".slice/crio-" C_API ".scope",
	  1, "crio", C_API, "b495dd2c99ff", U_API, "besteffort", true },
	{ "/kubepods/besteffort/pod" U_API "/crio-" C_API, 1, "crio", C_API, "b495dd2c99ff", U_API, "besteffort",
	  true },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_API_ ".slice/crio-conmon-" C_API
	  ".scope", 0, NULL, NULL, NULL, NULL, NULL, false },
	/* Podman: machine.slice, rootless in a user's slice, cgroupfs; conmon ignored */
	{ "/machine.slice/libpod-" P_PG ".scope", 1, "podman", P_PG, "6fd522470aa1", NULL, NULL, true },
	{ "/machine.slice/libpod-" P_PG ".scope/container", 1, "podman", P_PG, "6fd522470aa1", NULL, NULL, false },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" P_ROOTLESS ".scope", 1, "podman",
	  P_ROOTLESS, "56dfa3bc9444", NULL, NULL, true },
	{ "/libpod_parent/libpod-" P_PG, 1, "podman", P_PG, "6fd522470aa1", NULL, NULL, true },
	{ "/machine.slice/libpod-conmon-" P_PG ".scope", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/libpod_parent/conmon", 0, NULL, NULL, NULL, NULL, NULL, false },
	/* LXC: payload is the container, monitor is not; before LXC 4.0, /lxc/<name> */
	{ "/lxc.payload.web", 1, "lxc", "web", "web", NULL, NULL, true },
	{ "/lxc.payload.web/init.scope", 1, "lxc", "web", "web", NULL, NULL, false },
	{ "/lxc.monitor.web", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/lxc/db", 1, "lxc", "db", "db", NULL, NULL, true },
	/* systemd-nspawn, the name unescaped */
	{ "/machine.slice/machine-my\\x2dbox.scope", 1, "nspawn", "my-box", "my-box", NULL, NULL, true },
	{ "/machine.slice/machine-debian.scope/payload", 1, "nspawn", "debian", "debian", NULL, NULL, false },
	/* systemd services, and the units that are not workloads */
	{ "/system.slice/nginx.service", 1, "systemd", "nginx.service", "nginx.service", NULL, NULL, true },
	{ "/system.slice/postgresql@16-main.service", 1, "systemd", "postgresql@16-main.service",
	  "postgresql@16-main.service", NULL, NULL, true },
	{ "/system.slice/nginx.service/worker", 1, "systemd", "nginx.service", "nginx.service", NULL, NULL, false },
	{ "/system.slice/var-lib-docker.mount", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/system.slice/dbus.socket", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/dev-vda2.swap", 0, NULL, NULL, NULL, NULL, NULL, false },
	/* plain cgroup directories: the project's own lightweight containers */
	{ "/seedbench/django", 1, "cgroup", "django", "django", NULL, NULL, true },
	{ "/seedbench", 1, "cgroup", "seedbench", "seedbench", NULL, NULL, true },
	{ "/seedbench/django/", 1, "cgroup", "django", "django", NULL, NULL, true },
	/* not containers */
	{ "/", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/system.slice", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/init.scope", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/iogap-4242", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/iogap-4242/child", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/iogap-x", 1, "cgroup", "iogap-x", "iogap-x", NULL, NULL, true },
	{ "/user.slice/user-1000.slice/session-2.scope", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/user.slice/user-1000.slice/user@1000.service", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_WEB_ ".slice", 0, NULL, NULL, NULL,
	  NULL, NULL, false },
	{ "/kubepods", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/kubepods/burstable", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/kubepods/burstable/pod" U_WEB, 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/kubepods/pod" U_WEB, 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/docker", 0, NULL, NULL, NULL, NULL, NULL, false },
	{ "/system.slice/docker-f31f.scope", 0, NULL, NULL, NULL, NULL, NULL, false },   /* not an id */
	{ "/seedbench/../system.slice", 0, NULL, NULL, NULL, NULL, NULL, false },
};

static void check_str(const char *what, const char *path, const char *got, const char *want)
{
	if (strcmp(got, want ? want : "")) {
		print_error("%s: %s is '%s', expected '%s'\n", path, what, got, want ? want : "");
		fail();
	}
}

static void test_identify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ident_cases) / sizeof(ident_cases[0]); i++) {
		const struct ident_case *t = &ident_cases[i];
		struct container_ident c;
		int ret = container_identify(t->path, &c);

		if (ret != t->ret) {
			print_error("%s: container_identify returned %d, expected %d\n", t->path, ret, t->ret);
			fail();
		}
		if (container_should_follow(t->path) != t->follow) {
			print_error("%s: container_should_follow is %d, expected %d\n", t->path, !t->follow, t->follow);
			fail();
		}
		if (!ret)
			continue;
		check_str("runtime", t->path, c.runtime, t->runtime);
		check_str("id", t->path, c.id, t->id);
		check_str("name", t->path, c.name, t->name);
		check_str("pod_uid", t->path, c.pod_uid, t->pod_uid);
		check_str("qos", t->path, c.qos, t->qos);
		check_str("image", t->path, c.image, NULL);
	}
}

static void test_identify_long_paths(void **state)
{
	char path[PATH_MAX + 64];
	struct container_ident c;
	size_t len = 0;

	(void)state;
	/* more components than any real hierarchy has, and longer than PATH_MAX: not containers */
	while (len < 200)
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/a");
	assert_int_equal(container_identify(path, &c), 0);
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	assert_int_equal(container_identify(path, &c), 0);
	assert_int_equal(container_identify(NULL, &c), 0);
}

static void test_ident_to_meta(void **state)
{
	struct container_ident c;
	struct container_meta m = { 0 };

	(void)state;
	assert_int_equal(container_identify("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
					    U_WEB_ ".slice/cri-containerd-" K_WEB ".scope", &c), 1);
	assert_int_equal(container_read_metadata(&fixture_roots, &c), 0);
	container_ident_to_meta(&c, &m);
	assert_string_equal(m.runtime, "containerd");
	assert_string_equal(m.id, K_WEB);
	assert_string_equal(m.image, "docker.io/library/nginx:1.25");
	assert_string_equal(m.pod, "web-6b7f9c8d5-2xq9z");
	assert_string_equal(m.pod_namespace, "default");
	assert_string_equal(m.k8s_container, "web");
	assert_string_equal(m.pod_uid, U_WEB);
	assert_string_equal(m.qos, "burstable");
	container_meta_free(&m);

	assert_int_equal(container_identify("/seedbench/django", &c), 1);
	container_ident_to_meta(&c, &m);
	assert_string_equal(m.runtime, "cgroup");
	assert_string_equal(m.id, "django");
	assert_null(m.image);
	assert_null(m.pod);
	assert_null(m.pod_namespace);
	assert_null(m.k8s_container);
	assert_null(m.pod_uid);
	assert_null(m.qos);
	container_meta_free(&m);
}

static struct container_ident ident_of(const char *path)
{
	struct container_ident c;

	assert_int_equal(container_identify(path, &c), 1);
	return c;
}

/* What a container's identity must be after its metadata is read; NULL: empty. */
struct want {
	const char *runtime, *name, *image, *pod, *pod_namespace, *k8s_container, *pod_uid, *qos;
};

static void check_ident(const struct container_ident *c, const struct want *w)
{
	check_str("runtime", c->id, c->runtime, w->runtime);
	check_str("name", c->id, c->name, w->name);
	check_str("image", c->id, c->image, w->image);
	check_str("pod", c->id, c->pod, w->pod);
	check_str("pod_namespace", c->id, c->pod_namespace, w->pod_namespace);
	check_str("k8s_container", c->id, c->k8s_container, w->k8s_container);
	check_str("pod_uid", c->id, c->pod_uid, w->pod_uid);
	check_str("qos", c->id, c->qos, w->qos);
}

/* Identifies path, reads its metadata from the fixtures and compares every field. */
static void check_metadata(const char *path, int ret, const struct want *w)
{
	struct container_ident c = ident_of(path);
	char id[sizeof(c.id)];

	memcpy(id, c.id, sizeof(id));
	assert_int_equal(container_read_metadata(&fixture_roots, &c), ret);
	assert_string_equal(c.id, id);
	check_ident(&c, w);
}

static void test_metadata_docker(void **state)
{
	(void)state;
	check_metadata("/system.slice/docker-" D_WEB ".scope", 0, &(struct want){
		.runtime = "docker", .name = "web-1", .image = "nginx:1.25" });
	/* Kubernetes labels (cri-dockerd): the pod spec's container name */
	check_metadata("/kubepods.slice/kubepods-pod" U_SHOP_ ".slice/docker-" D_K8S ".scope", 0, &(struct want){
		.runtime = "docker", .name = "shop", .k8s_container = "shop", .pod = "shop-7d9f8b6c5-x2x4p",
		.pod_namespace = "default", .pod_uid = U_SHOP, .qos = "guaranteed",
		.image = "registry.example.com/shop@sha256:"
			 "27da4481cb07d826bdc85279a2413a292c36630da79a6eab714f7b8d713c9196" });
	/* cri-dockerd with the cgroupfs driver: a bare id in kubepods that only Docker knows */
	check_metadata("/kubepods/pod" U_SHOP "/" D_K8S, 0, &(struct want){
		.runtime = "docker", .name = "shop", .k8s_container = "shop", .pod = "shop-7d9f8b6c5-x2x4p",
		.pod_namespace = "default", .pod_uid = U_SHOP, .qos = "guaranteed",
		.image = "registry.example.com/shop@sha256:"
			 "27da4481cb07d826bdc85279a2413a292c36630da79a6eab714f7b8d713c9196" });
}

static void test_metadata_podman(void **state)
{
	(void)state;
	check_metadata("/machine.slice/libpod-" P_PG ".scope", 0, &(struct want){
		.runtime = "podman", .name = "pg", .image = "docker.io/library/postgres:16" });
	/* no image-name in its metadata: the image's id */
	check_metadata("/machine.slice/libpod-" P_CACHE ".scope", 0, &(struct want){
		.runtime = "podman", .name = "cache",
		.image = "fd05544f5a9f392ded6367befa21384bfe3036adbfc3d99471fc21d0759f7007" });
	/* not in containers.json: the name from the path stays */
	check_metadata("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" P_ROOTLESS ".scope",
		       -ENOENT, &(struct want){ .runtime = "podman", .name = "56dfa3bc9444" });
}

static void test_metadata_crio(void **state)
{
	(void)state;
	check_metadata("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_API_ ".slice/crio-"
		       C_API ".scope", 0, &(struct want){
		.runtime = "crio", .name = "api", .k8s_container = "api", .pod = "api-5c7b9d4f8-kq2lm",
		.pod_namespace = "shop", .pod_uid = U_API, .qos = "besteffort", .image = "quay.io/example/api:3.2" });
	/* the pod's sandbox: its names only in the Labels annotation, no image name */
	check_metadata("/kubepods/besteffort/pod" U_API "/crio-" C_SANDBOX, 0, &(struct want){
		.runtime = "crio", .name = "POD", .k8s_container = "POD", .pod = "api-5c7b9d4f8-kq2lm",
		.pod_namespace = "shop", .pod_uid = U_API, .qos = "besteffort" });
}

static void test_metadata_containerd(void **state)
{
	(void)state;
	check_metadata("/kubepods/burstable/pod" U_WEB "/" K_WEB, 0, &(struct want){
		.runtime = "containerd", .name = "web", .k8s_container = "web", .pod = "web-6b7f9c8d5-2xq9z",
		.pod_namespace = "default", .pod_uid = U_WEB, .qos = "burstable",
		.image = "docker.io/library/nginx:1.25" });
	/* outside kubepods: the pod's uid from the annotations */
	check_metadata("/system.slice/cri-containerd-" K_WEB ".scope", 0, &(struct want){
		.runtime = "containerd", .name = "web", .k8s_container = "web", .pod = "web-6b7f9c8d5-2xq9z",
		.pod_namespace = "default", .pod_uid = U_WEB, .image = "docker.io/library/nginx:1.25" });
	/* another namespace, no Kubernetes annotations: found, named by its id */
	check_metadata("/default/" K_DEFAULT, 0, &(struct want){ .runtime = "containerd", .name = "f49de23fb9eb" });
}

static void test_metadata_missing_and_broken(void **state)
{
	struct container_roots none = { 0 };
	struct container_ident c;

	(void)state;
	/* a config.v2.json cut short: refused, the name from the path stays */
	check_metadata("/system.slice/docker-" D_BROKEN ".scope", -EINVAL, &(struct want){
		.runtime = "docker", .name = "7214fd1ba1e0" });
	/* ids the runtime's files do not have */
	check_metadata("/system.slice/docker-" P_PG ".scope", -ENOENT, &(struct want){
		.runtime = "docker", .name = "6fd522470aa1" });
	check_metadata("/system.slice/cri-containerd-" P_PG ".scope", -ENOENT, &(struct want){
		.runtime = "containerd", .name = "6fd522470aa1" });
	check_metadata("/system.slice/crio-" P_PG ".scope", -ENOENT, &(struct want){
		.runtime = "crio", .name = "6fd522470aa1" });
	/* runtimes without metadata files */
	check_metadata("/seedbench/django", -ENOENT, &(struct want){ .runtime = "cgroup", .name = "django" });
	check_metadata("/system.slice/nginx.service", -ENOENT, &(struct want){
		.runtime = "systemd", .name = "nginx.service" });
	check_metadata("/lxc.payload.web", -ENOENT, &(struct want){ .runtime = "lxc", .name = "web" });
	/* roots left out */
	c = ident_of("/system.slice/docker-" D_WEB ".scope");
	assert_int_equal(container_read_metadata(&none, &c), -ENOENT);
	assert_string_equal(c.name, "f31f384749f9");
	c = ident_of("/kubepods/pod" U_SHOP "/" D_K8S);
	assert_int_equal(container_read_metadata(&none, &c), -ENOENT);
	assert_string_equal(c.runtime, "containerd");
}

static void test_metadata_rejects_path_escapes(void **state)
{
	static const char *const bad[] = { "../../../etc", "..", "a/b", "/etc/passwd", "x/../y", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static const char *const runtimes[] = { "docker", "podman", "crio", "containerd" };

		for (size_t r = 0; r < sizeof(runtimes) / sizeof(runtimes[0]); r++) {
			struct container_ident c = { 0 };

			snprintf(c.runtime, sizeof(c.runtime), "%s", runtimes[r]);
			snprintf(c.id, sizeof(c.id), "%s", bad[i]);
			snprintf(c.name, sizeof(c.name), "kept");
			if (container_read_metadata(&fixture_roots, &c) != -EINVAL) {
				print_error("id '%s' (%s) was not rejected\n", bad[i], runtimes[r]);
				fail();
			}
			assert_string_equal(c.name, "kept");
		}
	}
	/* an id that climbs to a real config.v2.json is still refused */
	{
		struct container_ident c = { .runtime = "docker", .id = "../containers/" D_WEB };

		assert_int_equal(container_read_metadata(&fixture_roots, &c), -EINVAL);
		assert_string_equal(c.image, "");
	}
}

/* What containers_list must find in the fixture tree, in its order (by cgroup path). */
static const struct list_case {
	const char *cgroup, *runtime, *name;
	size_t npids;
	pid_t pids[3];
} list_cases[] = {
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_API_ ".slice/crio-" C_API ".scope",
	  "crio", "api", 1, { 7101 } },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_WEB_ ".slice/cri-containerd-" K_WEB
	  ".scope", "containerd", "web", 1, { 7001 } },
	{ "/kubepods.slice/kubepods-pod" U_SHOP_ ".slice/docker-" D_K8S ".scope", "docker", "shop", 1, { 7201 } },
	{ "/lxc.payload.web", "lxc", "web", 1, { 3001 } },
	{ "/machine.slice/libpod-" P_PG ".scope", "podman", "pg", 2, { 6001, 6002 } },
	{ "/machine.slice/machine-my\\x2dbox.scope", "nspawn", "my-box", 1, { 3101 } },
	{ "/seedbench/django", "cgroup", "django", 2, { 4101, 4102 } },
	{ "/seedbench/fastapi", "cgroup", "fastapi", 3, { 4201, 4202, 4203 } },
	{ "/system.slice/docker-" D_BROKEN ".scope", "docker", "7214fd1ba1e0", 1, { 5101 } },
	{ "/system.slice/docker-" D_WEB ".scope", "docker", "web-1", 2, { 5001, 5002 } },
	{ "/system.slice/nginx.service", "systemd", "nginx.service", 2, { 800, 801 } },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" P_ROOTLESS ".scope", "podman",
	  "56dfa3bc9444", 1, { 9601 } },
};

static void test_list_fixture_tree(void **state)
{
	struct container_entry *e;
	size_t n, want = sizeof(list_cases) / sizeof(list_cases[0]);

	(void)state;
	/* a trailing slash on the mount is fine; the broken config.v2.json is warned about */
	assert_int_equal(containers_list(FIX "/cgroup2/", &fixture_roots, &e, &n), 0);
	assert_int_equal(n, want);
	for (size_t i = 0; i < want; i++) {
		const struct list_case *t = &list_cases[i];

		assert_string_equal(e[i].cgroup, t->cgroup);
		assert_string_equal(e[i].id.runtime, t->runtime);
		assert_string_equal(e[i].id.name, t->name);
		assert_int_equal(e[i].npids, t->npids);
		for (size_t k = 0; k < t->npids; k++)
			assert_int_equal(e[i].pids[k], t->pids[k]);
	}
	/* metadata was read: Kubernetes fields from the runtime's files, QoS from the path */
	assert_string_equal(e[0].id.pod, "api-5c7b9d4f8-kq2lm");
	assert_string_equal(e[1].id.image, "docker.io/library/nginx:1.25");
	assert_string_equal(e[2].id.qos, "guaranteed");
	containers_free(e, n);
}

static char tmp[64];

static int tmp_setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/iogap-test-containers-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int tmp_teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (!strncmp(tmp, "/tmp/iogap-test-containers-", 27)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd)) {
			/* a directory left in /tmp is not a test failure */
		}
	}
	return 0;
}

static void make_cgroup(const char *dir, const char *procs)
{
	char p[PATH_MAX];
	FILE *f;

	assert_true(!mkdir(dir, 0755) || errno == EEXIST);
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(procs, f);
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_metadata_wrong_shape_size_and_links(void **state)
{
	char p[PATH_MAX], target[PATH_MAX];
	struct container_roots roots = { .docker = tmp, .podman = tmp };
	struct container_ident c = ident_of("/machine.slice/libpod-" P_PG ".scope");
	FILE *f;

	(void)state;
	/* JSON, but not the runtime's: containers.json is an array, config.v2.json an object */
	snprintf(p, sizeof(p), "%s/overlay-containers", tmp);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/overlay-containers/containers.json", tmp);
	write_text(p, "{\"id\": \"" P_PG "\"}");
	assert_int_equal(container_read_metadata(&roots, &c), -EINVAL);
	write_text(p, "[]");
	assert_int_equal(container_read_metadata(&roots, &c), -ENOENT);
	write_text(p, "[{\"id\": \"" P_PG "\", \"names\": [], \"metadata\": \"not json\"}, 7]");
	assert_int_equal(container_read_metadata(&roots, &c), 0);
	assert_string_equal(c.name, "6fd522470aa1");
	assert_string_equal(c.image, "");

	c = ident_of("/system.slice/docker-" D_WEB ".scope");
	snprintf(p, sizeof(p), "%s/containers", tmp);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/containers/" D_WEB, tmp);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/containers/" D_WEB "/config.v2.json", tmp);
	write_text(p, "[\"Name\", \"/web-1\"]");
	assert_int_equal(container_read_metadata(&roots, &c), -EINVAL);
	/* valid JSON (trailing NULs end it), but larger than the 16 MiB bound: refused unread */
	write_text(p, "{\"Name\": \"/big\"}");
	assert_int_equal(container_read_metadata(&roots, &c), 0);
	assert_string_equal(c.name, "big");
	c = ident_of("/system.slice/docker-" D_WEB ".scope");
	f = fopen(p, "r+e");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 17 << 20), 0);
	fclose(f);
	assert_int_equal(container_read_metadata(&roots, &c), -EINVAL);
	assert_string_equal(c.name, "f31f384749f9");
	/* a link in place of the file is not followed, even to a good one */
	assert_non_null(realpath(FIX "/docker/containers/" D_WEB "/config.v2.json", target));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(target, p), 0);
	assert_true(container_read_metadata(&roots, &c) < 0);
	assert_string_equal(c.name, "f31f384749f9");
}

static void test_list_depth_and_symlinks(void **state)
{
	char dir[PATH_MAX], sub[PATH_MAX + 16], link[PATH_MAX];
	struct container_entry *e;
	size_t n;

	(void)state;
	/* /d1/.../d40, with a container at depth 32 (listed) and one at depth 33 (too deep) */
	snprintf(dir, sizeof(dir), "%s", tmp);
	make_cgroup(dir, "1\n");
	for (int depth = 1; depth <= 40; depth++) {
		size_t len = strlen(dir);

		snprintf(dir + len, sizeof(dir) - len, "/d%d", depth);
		make_cgroup(dir, "");
		if (depth == 31) {
			snprintf(sub, sizeof(sub), "%s/edge", dir);
			make_cgroup(sub, "11\n");
		}
		if (depth == 32) {
			snprintf(sub, sizeof(sub), "%s/deep", dir);
			make_cgroup(sub, "12\n");
		}
	}
	/* links to directories are not followed: otherwise "edge" would be found twice */
	snprintf(link, sizeof(link), "%s/alias", tmp);
	assert_int_equal(symlink("d1", link), 0);
	snprintf(link, sizeof(link), "%s/linked.service", tmp);
	assert_int_equal(symlink(sub, link), 0);

	assert_int_equal(containers_list(tmp, NULL, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].id.runtime, "cgroup");
	assert_string_equal(e[0].id.name, "edge");
	assert_int_equal(e[0].npids, 1);
	assert_int_equal(e[0].pids[0], 11);
	assert_int_equal(strncmp(e[0].cgroup, "/d1/d2/d3/", 10), 0);
	containers_free(e, n);

	snprintf(link, sizeof(link), "%s/missing", tmp);
	assert_int_equal(containers_list(link, NULL, &e, &n), -ENOENT);
	assert_int_equal(n, 0);
	containers_free(e, n);
}

/* A cgroup directory whose cgroup.procs lists count pids, from count down to 1. */
static void make_cgroup_with_pids(const char *dir, int count)
{
	char p[PATH_MAX + 16];
	FILE *f;

	make_cgroup(dir, "");
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "we");
	assert_non_null(f);
	for (int pid = count; pid > 0; pid--)
		fprintf(f, "%d\n", pid);
	fclose(f);
}

static void test_list_many_pids(void **state)
{
	char dir[PATH_MAX], app[PATH_MAX + 8];
	struct container_entry *e;
	size_t n;

	(void)state;
	/* more pids than the first read's buffer holds; the mount itself is never a container */
	snprintf(dir, sizeof(dir), "%s/many", tmp);
	make_cgroup_with_pids(dir, 3000);
	snprintf(app, sizeof(app), "%s/app", dir);
	make_cgroup_with_pids(app, 3000);
	assert_int_equal(containers_list(dir, NULL, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].cgroup, "/app");
	assert_int_equal(e[0].npids, 3000);
	for (size_t i = 0; i < 3000; i++)
		assert_int_equal(e[0].pids[i], (pid_t)i + 1);
	containers_free(e, n);
}

static struct container_entry entry(const char *runtime, const char *id, const char *name, const char *cgroup)
{
	struct container_entry e = { 0 };

	snprintf(e.id.runtime, sizeof(e.id.runtime), "%s", runtime);
	snprintf(e.id.id, sizeof(e.id.id), "%s", id);
	snprintf(e.id.name, sizeof(e.id.name), "%s", name);
	snprintf(e.cgroup, sizeof(e.cgroup), "%s", cgroup);
	return e;
}

#define AB12 "ab12c0ffee0000000000000000000000000000000000000000000000000000aa"
#define AB98 "ab98c0ffee0000000000000000000000000000000000000000000000000000bb"
#define CD34 "cd34c0ffee0000000000000000000000000000000000000000000000000000cc"

static struct container_entry match_set[5];

static int match_setup(void **state)
{
	(void)state;
	match_set[0] = entry("docker", AB12, "web-1", "/system.slice/docker-" AB12 ".scope");
	match_set[1] = entry("docker", AB98, "db", "/system.slice/docker-" AB98 ".scope");
	match_set[2] = entry("containerd", CD34, "web", "/kubepods/pod" U_WEB "/" CD34);
	match_set[3] = entry("cgroup", "django", "django", "/seedbench/django");
	match_set[4] = entry("systemd", "nginx.service", "nginx.service", "/system.slice/nginx.service");
	return 0;
}

static void test_match(void **state)
{
	const size_t n = sizeof(match_set) / sizeof(match_set[0]);
	char err[256];
	size_t idx = 99;

	(void)state;
	assert_int_equal(containers_match(match_set, n, "db", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(containers_match(match_set, n, "django", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 3);
	assert_int_equal(containers_match(match_set, n, AB12, &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(containers_match(match_set, n, "ab9", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(containers_match(match_set, n, "cd34c0", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 2);
	/* a name id's prefix: nginx for nginx.service */
	assert_int_equal(containers_match(match_set, n, "nginx", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 4);
	/* "web" is a name, not a prefix of web-1's name */
	assert_int_equal(containers_match(match_set, n, "web", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 2);
}

static void test_match_ambiguous_and_unknown(void **state)
{
	const size_t n = sizeof(match_set) / sizeof(match_set[0]);
	struct container_entry twice[2];
	char err[256];
	size_t idx = 99;

	(void)state;
	assert_int_equal(containers_match(match_set, n, "ab1", &idx, err, sizeof(err)), 0);
	assert_int_equal(containers_match(match_set, n, "ab", &idx, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no container named or with id 'ab' (an id prefix needs 3 characters or more; "
			    "iogap ps lists them)");
	/* ambiguous prefix: both listed by name and short id */
	match_set[1].id.id[2] = '1';
	idx = 99;
	assert_int_equal(containers_match(match_set, n, "ab1", &idx, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "id prefix 'ab1' is ambiguous: web-1 (ab12c0ffee00…), db (ab18c0ffee00…)");
	match_set[1].id.id[2] = '9';
	assert_int_equal(idx, 99);

	assert_int_equal(containers_match(match_set, n, "redis", &idx, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no container named or with id 'redis' (iogap ps lists them)");
	/* hex ids take hex prefixes only; upper case is not the id */
	assert_int_equal(containers_match(match_set, n, "AB12", &idx, err, sizeof(err)), -ENOENT);
	assert_int_equal(containers_match(match_set, n, "ab1z", &idx, err, sizeof(err)), -ENOENT);
	assert_int_equal(containers_match(match_set, 0, "db", &idx, err, sizeof(err)), -ENOENT);

	/* the same name twice (two pods' "web"): ambiguous, give an id */
	twice[0] = match_set[2];
	twice[1] = entry("containerd", AB98, "web", "/kubepods/pod" U_SHOP "/" AB98);
	assert_int_equal(containers_match(twice, 2, "web", &idx, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "name 'web' is ambiguous: web (cd34c0ffee00…), web (ab98c0ffee00…) (give an id)");
	assert_int_equal(containers_match(twice, 2, "ab98", &idx, err, sizeof(err)), 0);
	assert_int_equal(idx, 1);
	/* names that are ids show their cgroup */
	twice[0] = entry("cgroup", "django", "django", "/seedbench/django");
	twice[1] = entry("cgroup", "django", "django", "/other/django");
	assert_int_equal(containers_match(twice, 2, "django", &idx, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "name 'django' is ambiguous: django (/seedbench/django), django (/other/django) "
			    "(give an id)");
	/* a short buffer truncates the message, and none at all is fine */
	assert_int_equal(containers_match(twice, 2, "django", &idx, err, 8), -EEXIST);
	assert_string_equal(err, "name 'd");
	assert_int_equal(containers_match(twice, 2, "django", &idx, NULL, 0), -EEXIST);
}

static void test_roots_default(void **state)
{
	struct container_roots r;

	(void)state;
	container_roots_default(&r);
	assert_string_equal(r.docker, "/var/lib/docker");
	assert_string_equal(r.podman, "/var/lib/containers/storage");
	assert_string_equal(r.containerd_state, "/run/containerd");
	assert_string_equal(r.crio, "/var/lib/containers/storage");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify_table),
		cmocka_unit_test(test_identify_long_paths),
		cmocka_unit_test(test_ident_to_meta),
		cmocka_unit_test(test_metadata_docker),
		cmocka_unit_test(test_metadata_podman),
		cmocka_unit_test(test_metadata_crio),
		cmocka_unit_test(test_metadata_containerd),
		cmocka_unit_test(test_metadata_missing_and_broken),
		cmocka_unit_test(test_metadata_rejects_path_escapes),
		cmocka_unit_test_setup_teardown(test_metadata_wrong_shape_size_and_links, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_list_fixture_tree),
		cmocka_unit_test_setup_teardown(test_list_depth_and_symlinks, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_list_many_pids, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup(test_match, match_setup),
		cmocka_unit_test_setup(test_match_ambiguous_and_unknown, match_setup),
		cmocka_unit_test(test_roots_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
