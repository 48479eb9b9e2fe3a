#!/usr/bin/python3
"""Helper of tools/bench/run (it needs nothing outside Debian's python3):
  check    APP PORT OUT [--host H]   every endpoint of mix.txt answers 2xx; saves /config
  config   APP PORT OUT              saves the app's /config as OUT/settings-APP.json
  warmup   APP PORT CONNS SECONDS OUT [--host H]   wrk for SECONDS, results dropped
  measure  APP PORT CONNS SECONDS OUT [--host H] --client PATH
                                     wrk, then the uncorrected client, with the container's CPU
                                     and memory sampled; writes OUT/raw/APP-cCONNS.json
  meta     OUT --apps .. --conns .. --duration N --warmup N [--broken APP] --app-cpu N
                                     OUT/run.json: the run's parameters and containers
  report   OUT                       OUT/results.json and the table (also OUT/table.txt)
Traffic goes to 127.0.0.1 only. Load generators run pinned to LOAD_CPU (default 1)."""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIX_TXT = os.path.join(HERE, "mix.txt")
MIX_LUA = os.path.join(HERE, "mix.lua")
STATE_ROOT = os.environ.get("IOGAP_BENCH_STATE", "/run/iogap-bench")
LOAD_CPU = os.environ.get("LOAD_CPU", "1")
WRK_TIMEOUT_S = 2        # wrk's default, kept: its timeouts are socket errors in the table
CLIENT_TIMEOUT_MS = 10000  # the uncorrected client waits longer, to record the real tail
BROKEN_HOST = "bench.invalid"


def die(msg):
    print("bench: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read_mix():
    kinds = []
    with open(MIX_TXT) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                parts = line.rstrip("\n").split(" ", 3)
                kinds.append({"weight": int(parts[0]), "method": parts[1], "path": parts[2],
                              "body": parts[3] if len(parts) > 3 else None})
    return kinds


def expand(text, rnd):
    text = text.replace("{id}", str(rnd.randint(1, 1000)))
    return text.replace("{n}", str(rnd.randint(0, 999999)))


def request(port, method, path, body=None, host=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host or "127.0.0.1:%d" % port}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def save_config(app, port, out):
    status, body = request(port, "GET", "/config")
    if status != 200:
        die("%s: GET /config answered %d" % (app, status))
    with open(os.path.join(out, "settings-%s.json" % app), "w") as f:
        json.dump(json.loads(body), f, indent=2, sort_keys=True)


def cmd_check(a):
    rnd, failed = random.Random(7), 0
    for kind in read_mix():
        path = expand(kind["path"], rnd)
        body = expand(kind["body"], rnd).encode() if kind["body"] else None
        t0 = time.monotonic()
        try:
            status, _ = request(a.port, kind["method"], path, body, a.host)
        except OSError as e:
            status = "%s" % e
        ok = isinstance(status, int) and 200 <= status < 300
        failed += not ok
        print("%s %s %s %s %s (%.1f ms)" % ("ok  " if ok else "FAIL", a.app, kind["method"],
                                           path, status, (time.monotonic() - t0) * 1000))
    if failed:
        die("%s: %d endpoint(s) did not answer 2xx" % (a.app, failed))
    save_config(a.app, a.port, a.out)


def cmd_config(a):
    save_config(a.app, a.port, a.out)


class Child:
    """A load generator run to completion, with its CPU time; killed if we are stopped."""
    current = None

    def __init__(self, argv, stdout):
        self.proc = subprocess.Popen(["taskset", "-c", LOAD_CPU] + argv, stdout=stdout)
        Child.current = self.proc

    def wait(self):
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        Child.current = None
        return self.proc.returncode, ru.ru_utime + ru.ru_stime


def on_signal(signum, _frame):
    if Child.current is not None and Child.current.poll() is None:
        Child.current.kill()
    sys.exit(128 + signum)


def container_state(app):
    with open(os.path.join(STATE_ROOT, app, "state")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def container_cgroup(app):
    return container_state(app)["cgroup"]


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields, _, tail = line.partition(" - ")
            if tail.split()[0] == "cgroup2":
                return fields.split()[4]
    return None


def cmd_meta(a):
    apps = {}
    for app in a.apps.split():
        state = container_state(app)
        apps[app] = {"container": app, "cgroup": state["cgroup"], "port": int(state["port"]),
                     "url": "http://127.0.0.1:%s" % state["port"], "cpu": int(state["cpu"]),
                     "mem_limit": state["mem_limit"], "command": state["cmd"],
                     "log": state["log"]}
    meta = {"apps": apps, "conns": [int(c) for c in a.conns.split()], "duration_s": a.duration,
            "warmup_s": a.warmup, "broken": a.broken or None, "app_cpu": a.app_cpu,
            "cgroup2": cgroup2_mount()}
    with open(os.path.join(a.out, "run.json"), "w") as f:
        json.dump(meta, f, indent=2)


def cgroup_cpu_usec(cg):
    with open(os.path.join(cg, "cpu.stat")) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("usage_usec "))


def cgroup_memory(cg):
    """(PSS sum, RSS sum) in bytes over the cgroup's processes: in a hybrid cgroup layout the
    v2 tree has no memory controller, so memory.current may not exist."""
    pss = rss = 0
    with open(os.path.join(cg, "cgroup.procs")) as f:
        pids = f.read().split()
    for pid in pids:
        try:
            with open("/proc/%s/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
        except OSError:
            pass  # exited meanwhile
    return pss, rss


class Sampler:
    """The container's CPU use and memory while a load runs."""

    def __init__(self, cg, interval=0.25):
        self.cg, self.interval, self.samples = cg, interval, []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_event.wait(self.interval):
            self.samples.append(cgroup_memory(self.cg))

    def __enter__(self):
        self.cpu0, self.t0 = cgroup_cpu_usec(self.cg), time.monotonic()
        self.samples.append(cgroup_memory(self.cg))
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self.samples.append(cgroup_memory(self.cg))
        wall = time.monotonic() - self.t0
        pss = [s[0] for s in self.samples]
        self.result = {
            "cpu_pct": round(100.0 * (cgroup_cpu_usec(self.cg) - self.cpu0) / (wall * 1e6), 1),
            "mem_bytes": int(sum(pss) / len(pss)),
            "mem_peak_bytes": max(pss),
            "mem_rss_bytes": int(sum(s[1] for s in self.samples) / len(self.samples)),
            "wall_s": round(wall, 3),
        }


def run_wrk(port, conns, seconds, host, out_file):
    argv = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "%ds" % WRK_TIMEOUT_S,
            "--latency", "-s", MIX_LUA, "http://127.0.0.1:%d" % port, "--", MIX_TXT]
    if host:
        argv.append(host)
    with open(out_file, "w") as f:
        child = Child(argv, f)
        rc, cpu_s = child.wait()
    if rc != 0:
        die("wrk failed (exit %d), see %s" % (rc, out_file))
    with open(out_file) as f:
        line = next((x for x in f if x.startswith("IOGAP_WRK_JSON ")), None)
    if line is None:
        die("no summary from wrk in %s" % out_file)
    return json.loads(line.split(" ", 1)[1]), cpu_s


def cmd_warmup(a):
    out = os.path.join(a.out, "raw", "%s-warmup.wrk.txt" % a.app)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    res, _ = run_wrk(a.port, a.conns, a.seconds, a.host, out)
    print("bench: warmed up %s: %d requests in %ds" % (a.app, res["requests"], a.seconds))


def error_rate(requests, non2xx, socket_errors):
    return round((non2xx + socket_errors) / max(1, requests + socket_errors), 4)


def cmd_measure(a):
    raw = os.path.join(a.out, "raw")
    os.makedirs(raw, exist_ok=True)
    stem = os.path.join(raw, "%s-c%d" % (a.app, a.conns))
    cg = container_cgroup(a.app)

    with Sampler(cg) as wrk_phase:
        wrk, wrk_cpu_s = run_wrk(a.port, a.conns, a.seconds, a.host, stem + ".wrk.txt")
    client_argv = [a.client, "-p", str(a.port), "-c", str(a.conns), "-d", str(a.seconds),
                   "-m", MIX_TXT, "-t", str(CLIENT_TIMEOUT_MS), "-s", str(a.conns)]
    if a.host:
        client_argv += ["-H", a.host]
    with Sampler(cg) as client_phase, open(stem + ".client.json", "w") as f:
        rc, client_cpu_s = Child(client_argv, f).wait()
    if rc != 0:
        die("loadclient failed (exit %d)" % rc)
    with open(stem + ".client.json") as f:
        client = json.load(f)

    seconds = wrk["duration_us"] / 1e6
    sock = sum(wrk["errors"][k] for k in ("connect", "read", "write", "timeout"))
    usock = sum(client["errors"].values())
    lat, ulat = wrk["lat_us"], client["lat_ns"]
    run = {
        "conns": a.conns, "duration_s": round(seconds, 3), "requests": wrk["requests"],
        "rps": round(wrk["requests"] / seconds, 2),
        "rps_2xx": round((wrk["requests"] - wrk["errors"]["status"]) / seconds, 2),
        "avg_ns": int(lat["mean"] * 1000), "p50_ns": lat["p50"] * 1000,
        "p90_ns": lat["p90"] * 1000, "p95_ns": lat["p95"] * 1000, "p99_ns": lat["p99"] * 1000,
        "max_ns": lat["max"] * 1000,
        "non2xx": wrk["errors"]["status"], "socket_errors": sock,
        "socket_errors_detail": {k: wrk["errors"][k]
                                 for k in ("connect", "read", "write", "timeout")},
        "error_rate": error_rate(wrk["requests"], wrk["errors"]["status"], sock),
        "uncorrected_requests": client["requests"], "uncorrected_rps": client["rps"],
        "uncorrected_avg_ns": ulat["mean"], "uncorrected_p50_ns": ulat["p50"],
        "uncorrected_p90_ns": ulat["p90"], "uncorrected_p95_ns": ulat["p95"],
        "uncorrected_p99_ns": ulat["p99"], "uncorrected_max_ns": ulat["max"],
        "uncorrected_non2xx": client["non2xx"], "uncorrected_socket_errors": usock,
        "uncorrected_status": client["status"],
        "uncorrected_error_rate": error_rate(client["requests"], client["non2xx"], usock),
        "uncorrected_cpu_pct": client_phase.result["cpu_pct"],
        "loadgen": {
            "cpu": int(LOAD_CPU),
            "wrk_cpu_pct": round(100 * wrk_cpu_s / wrk_phase.result["wall_s"], 1),
            "client_cpu_pct": round(100 * client_cpu_s / client_phase.result["wall_s"], 1),
            "client_cpu_pct_self": client["cpu_pct"],
        },
    }
    run.update({k: wrk_phase.result[k]
                for k in ("cpu_pct", "mem_bytes", "mem_peak_bytes", "mem_rss_bytes")})
    with open(stem + ".json", "w") as f:
        json.dump(run, f, indent=2)
    print("bench: %s c=%d: %.0f rps, p99 %.1f ms (wrk) / %.1f ms (uncorrected), errors %.1f%%, "
          "cpu %.0f%%, load generator cpu %.0f%%/%.0f%%"
          % (a.app, a.conns, run["rps"], run["p99_ns"] / 1e6, run["uncorrected_p99_ns"] / 1e6,
             100 * run["error_rate"], run["cpu_pct"], run["loadgen"]["wrk_cpu_pct"],
             run["loadgen"]["client_cpu_pct"]))


APP_ORDER = ("django", "fastapi")
LATENCY_NOTE = ("p50_ns/p95_ns/p99_ns/avg_ns are wrk 4.1's, which include its coordinated-"
                "omission correction (synthetic samples added for responses slower than the "
                "mean interval); uncorrected_* come from tools/bench/loadclient.c, which records "
                "every request's real latency, in a second run of the same length right after.")


def ms(ns):
    return "%.1f" % (ns / 1e6) if ns < 1e9 else "%.0f" % (ns / 1e6)


def table(results):
    head = ("%-8s %5s %8s %7s %7s %7s %7s | %7s %7s %7s | %8s %6s %6s %5s %7s"
            % ("app", "conns", "RPS", "avg", "p50", "p95", "p99", "p50", "p95", "p99",
               "non-2xx", "sock", "err%", "CPU%", "mem MB"))
    bars = [i for i, ch in enumerate(head) if ch == "|"]
    start = bars[0] - 4 * 8
    groups = " " * start + "wrk latency, ms".center(bars[0] - start) + "|" + \
        "uncorrected, ms".center(bars[1] - bars[0] - 1) + "|"
    lines = [groups, head, "-" * len(head)]
    for app, info in results["apps"].items():
        for r in info["runs"]:
            lines.append("%-8s %5d %8.1f %7s %7s %7s %7s | %7s %7s %7s | %8d %6d %6.1f %5.0f %7.1f"
                         % (app, r["conns"], r["rps"], ms(r["avg_ns"]), ms(r["p50_ns"]),
                            ms(r["p95_ns"]), ms(r["p99_ns"]), ms(r["uncorrected_p50_ns"]),
                            ms(r["uncorrected_p95_ns"]), ms(r["uncorrected_p99_ns"]),
                            r["non2xx"], r["socket_errors"], 100 * r["error_rate"],
                            r["cpu_pct"], r["mem_bytes"] / 1e6))
    return "\n".join(lines)


def differences(apps):
    if len(apps) < 2:
        return []
    a, b = list(apps)[:2]
    sa, sb = apps[a]["settings"], apps[b]["settings"]
    skip = {"app", "python", "sqlite_library_version", "server", "python_threads"}
    return [{"setting": k, a: sa.get(k), b: sb.get(k)} for k in sorted(set(sa) | set(sb))
            if k not in skip and sa.get(k) != sb.get(k)]


def cmd_report(a):
    with open(os.path.join(a.out, "run.json")) as f:
        meta = json.load(f)
    apps = {}
    for app in sorted(meta["apps"], key=lambda x: APP_ORDER.index(x) if x in APP_ORDER else 9):
        runs = []
        for conns in meta["conns"]:
            path = os.path.join(a.out, "raw", "%s-c%d.json" % (app, conns))
            if os.path.exists(path):
                with open(path) as f:
                    runs.append(json.load(f))
        settings_file = os.path.join(a.out, "settings-%s.json" % app)
        settings = {}
        if os.path.exists(settings_file):
            with open(settings_file) as f:
                settings = json.load(f)
        apps[app] = dict(meta["apps"][app], settings=settings, runs=runs)
    results = {
        "format": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": meta["duration_s"], "conns": meta["conns"], "warmup_s": meta["warmup_s"],
        "broken": meta["broken"] or None,
        "broken_how": ("load for %s sends Host: %s, which the app rejects with 400"
                       % (meta["broken"], BROKEN_HOST)) if meta["broken"] else None,
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                 "app_cpu": meta["app_cpu"], "load_cpu": int(LOAD_CPU),
                 "cgroup2": meta["cgroup2"]},
        "load": {
            "generator": subprocess.run(["wrk", "-v"], capture_output=True, text=True)
            .stdout.splitlines()[0].split(" [")[0],
            "wrk_threads": 1, "wrk_timeout_s": WRK_TIMEOUT_S,
            "uncorrected_client": "tools/bench/loadclient.c (closed loop, keep-alive, "
                                  "timeout %d ms)" % CLIENT_TIMEOUT_MS,
            "order": "one app at a time: warmup, then per connection count wrk for duration_s "
                     "followed by the uncorrected client for duration_s; both apps stay up",
            "mix": read_mix(), "latency_note": LATENCY_NOTE,
            "error_rate": "(non2xx + socket_errors) / (requests + socket_errors)",
            "cpu_pct": "container cgroup cpu.stat usage_usec over the wrk run, % of one CPU",
            "mem_bytes": "mean over the wrk run of the sum of the container processes' PSS "
                         "(smaps_rollup); mem_peak_bytes its maximum",
        },
        "apps": apps,
    }
    results["differences"] = differences(apps)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    text = table(results)
    if results["differences"]:
        names = list(apps)[:2]
        text += "\n\nSettings that differ (measured inside each app):\n"
        for d in results["differences"]:
            text += "  %-30s %s: %s\n  %-30s %s: %s\n" % (
                d["setting"], names[0], d[names[0]], "", names[1], d[names[1]])
    if results["broken"]:
        text += "\nBROKEN=%s: %s\n" % (results["broken"], results["broken_how"])
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(text + "\n")
    print(text)
    print("\nresults: %s" % os.path.join(a.out, "results.json"))


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("check", "config", "warmup", "measure"):
        s = sub.add_parser(name)
        s.add_argument("app")
        s.add_argument("port", type=int)
        if name in ("warmup", "measure"):
            s.add_argument("conns", type=int)
            s.add_argument("seconds", type=int)
        s.add_argument("out")
        s.add_argument("--host", help="Host header for the load (BROKEN mode)")
        s.add_argument("--client", help="the compiled loadclient")
    s = sub.add_parser("meta")
    s.add_argument("out")
    s.add_argument("--apps", required=True)
    s.add_argument("--conns", required=True)
    s.add_argument("--duration", type=int, required=True)
    s.add_argument("--warmup", type=int, required=True)
    s.add_argument("--broken", default="")
    s.add_argument("--app-cpu", type=int, required=True)
    sub.add_parser("report").add_argument("out")
    a = p.parse_args()
    {"check": cmd_check, "config": cmd_config, "warmup": cmd_warmup, "measure": cmd_measure,
     "meta": cmd_meta, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
