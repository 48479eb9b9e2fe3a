/* Containers: who a cgroup v2 directory belongs to, from its path and the runtime's metadata. */
#ifndef IOGAP_COLLECT_CONTAINERS_H
#define IOGAP_COLLECT_CONTAINERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct container_meta;

/* Fixed-size, so identifying a cgroup allocates nothing; "" where unknown. */
struct container_ident {
	char runtime[16];        /* docker, containerd, crio, podman, lxc, nspawn, systemd, cgroup */
	char id[256];            /* the runtime's full id; for lxc, nspawn, systemd, cgroup the name */
	char name[256];          /* the runtime's name, else the id's first 12 characters, or the name */
	char image[512];
	char pod[256], pod_namespace[256], k8s_container[256];
	char pod_uid[64];        /* with '-', as Kubernetes writes it */
	char qos[16];            /* guaranteed, burstable, besteffort */
};

/*
 * Identifies the container a cgroup belongs to; cgroup_path is below the cgroup2 mount
 * ("/system.slice/docker-<id>.scope"). Returns 1 and fills out for a container (the deepest
 * component that names one wins, so a container's sub-cgroups are the container's), a systemd
 * service or a plain cgroup directory; 0 for the root, slices, scopes that are not containers,
 * conmon and LXC monitor cgroups, iogap's own iogap-<pid> and Kubernetes' pod and QoS levels.
 */
int container_identify(const char *cgroup_path, struct container_ident *out);
/*
 * Whether a cgroup directory just created at cgroup_path is itself a container by its name
 * (a runtime's pattern, a systemd service or a plain cgroup directory not inside one), so the
 * live watch follows it before it has processes.
 */
bool container_should_follow(const char *cgroup_path);
/* Sets m's fields to copies of c's non-empty ones (all but the name; the target has the name);
 * m's old fields are not freed, its new ones are with container_meta_free. */
void container_ident_to_meta(const struct container_ident *c, struct container_meta *m);

/* Where runtimes keep their metadata; NULL skips a runtime. */
struct container_roots {
	const char *docker;            /* /var/lib/docker */
	const char *podman;            /* /var/lib/containers/storage */
	const char *containerd_state;  /* /run/containerd */
	const char *crio;              /* /var/lib/containers/storage */
};

void container_roots_default(struct container_roots *r);
/*
 * Fills the name, image and Kubernetes fields from the runtime's files (roots NULL: the
 * defaults). 0 when metadata was found and read; -ENOENT when there is none (the name from the
 * path stays); -EINVAL for an id that could leave the root or a file that is not the runtime's
 * JSON; -errno when a file cannot be read. An id under containerd's pattern that containerd does
 * not know is looked up in Docker's root too (cri-dockerd uses the same cgroup layout); when
 * Docker knows it, the runtime becomes "docker".
 */
int container_read_metadata(const struct container_roots *roots, struct container_ident *c);

struct container_entry {
	struct container_ident id;
	char cgroup[PATH_MAX];   /* below the mount: "/system.slice/docker-<id>.scope" */
	pid_t *pids;             /* the processes in it and in its descendants, sorted */
	size_t npids;
};

/*
 * Every container below the cgroup2 mount cg_mount (roots NULL: the defaults): a directory of a
 * container runtime's, and a systemd service or plain cgroup directory with processes of its
 * own; not below 32 levels, not through symlinks, not inside a container. Sorted by cgroup path,
 * metadata read (a warning on stderr for a file that cannot be parsed). *out is freed with
 * containers_free, also when it is empty.
 */
int containers_list(const char *cg_mount, const struct container_roots *roots,
		    struct container_entry **out, size_t *n);
void containers_free(struct container_entry *e, size_t n);
/*
 * Finds the container a user means: an exact name, a full id or a unique id prefix (at least 3
 * characters; only hex digits for a hex id). 0 and *index; -ENOENT or -EEXIST (ambiguous) with
 * the reason in err, without the "iogap: " prefix.
 */
int containers_match(const struct container_entry *e, size_t n, const char *query, size_t *index,
		     char *err, size_t errlen);

#endif
