"""The kernel's BPF run-time statistics between two snapshots of lib.sh's bpf_stats_of
("name run_time_ns run_cnt" lines; programs of one name summed): used by profile and apps."""


def load(path):
    d = {}
    for line in open(path):
        n, t, c = line.split()
        a = d.setdefault(n, [0, 0])
        a[0] += int(t)
        a[1] += int(c)
    return d


def delta(before, after):
    """{name: (run_time_ns, run_cnt)} of what ran between the two snapshot files."""
    b, a = load(before), load(after)
    return {n: (a[n][0] - b.get(n, [0, 0])[0], a[n][1] - b.get(n, [0, 0])[1]) for n in a}
