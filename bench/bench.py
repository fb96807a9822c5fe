#!/usr/bin/env python3
"""Side-by-side benchmark: the same traffic direct to nginx, through Baton, through Debian's
haproxy and through nginx as a proxy, each proxy with one thread pinned to one core.

Scenarios, every run:
- keep-alive wrk load for a small body, a 16 KiB body and a 1 MiB body, and the small body
  through the operator's frontend rules (4 ACLs, 3 set-header, 2 use_backend; not nginx);
- one request per connection (wrk -H "Connection: close") for the small body;
  each printed as requests/s, p99 latency and proxy CPU per request, with ratios to haproxy;
- memory per connection: 10,000 client connections held open to each proxy (restarted fresh
  for it), first idle without a request, then after one small request on each; the growth of
  the proxy's VmRSS divided by the number of connections, with ratios to haproxy.

Usage: bench/run.sh [--duration 10] [--connections 50] [--idle-connections 10000]
"""
import argparse
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAM_PORT = 18100
PORTS = {"baton": 18201, "haproxy": 18202, "nginx": 18203}
# The rules scenario's frontend (the operator's seed: 4 ACLs, 3 set-header, 2 use_backend);
# nginx has no equivalent configuration, so it sits that scenario out.
RULES_PORTS = {"baton": 18211, "haproxy": 18212}
PROXY_CPU = "0"
LOAD_CPU = "1"
# Global `maxconn` in the shared HAProxy-style configuration: above the memory scenario's
# 10,000 connections. HAProxy wants 2 * maxconn + a few file descriptors; where the hard limit
# is lower (20,000 in the container these results come from, and not raisable there), the
# haproxy configuration also says `no strict-limits`, so it warns instead of refusing to start.
MAXCONN = 12000
PURGE_WAIT = 6.0
SCENARIOS = [  # (label, path, extra wrk arguments, frontend)
    ("/small", "/small", [], "plain"),
    ("/small rules", "/small", [], "rules"),
    ("/16k", "/16k", [], "plain"),
    ("/1m", "/1m", [], "plain"),
    ("/small close", "/small", ["-H", "Connection: close"], "plain"),
]


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def raise_fd_limit():
    """Raises this process's file-descriptor limit as far as allowed; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (max(hard, 65536), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def machine_task_ticks():
    """CPU ticks the machine spent busy (user, nice, system, irq, softirq), all CPUs. A
    process's stime includes the interrupt ticks that landed while it ran, so they count here."""
    with open("/proc/stat") as f:
        fields = [int(n) for n in f.readline().split()[1:8]]
    return sum(fields) - fields[3] - fields[4]  # without idle and iowait


def own_ticks(pids):
    """CPU ticks of the benchmark's own processes: the servers, this script and its children."""
    clock = os.sysconf("SC_CLK_TCK")
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime
    return sum(cpu_ticks(pid) for pid in pids) + used * clock


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def established(pid, port_filter):
    """Established TCP connections of process `pid` matching an ss filter."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", port_filter],
                         capture_output=True, text=True).stdout
    return out.count(f"pid={pid},")


def upstream_connections(pid):
    """The proxy's connections to the origin."""
    return established(pid, f"( dport = :{UPSTREAM_PORT} )")


def start(cmd, cpu, log=None):
    """Starts `cmd` pinned to `cpu`, its stderr in `log` when given (haproxy's warnings)."""
    if not log:
        return subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    with open(log, "w") as err:
        return subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=subprocess.DEVNULL, stderr=err)


def stop(procs):
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def configs(work, fd_limit):
    os.makedirs(f"{work}/www", exist_ok=True)
    write(f"{work}/www/small", "hello from the upstream, a small body of about 64 bytes......\n")
    with open(f"{work}/www/16k", "wb") as f:
        f.write(os.urandom(16 * 1024))
    with open(f"{work}/www/1m", "wb") as f:
        f.write(os.urandom(1024 * 1024))
    nginx_common = f"""
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {fd_limit};
error_log {work}/nginx-error.log;
pid {work}/PIDFILE;
"""
    write(f"{work}/upstream.conf", nginx_common.replace("PIDFILE", "upstream.pid") + f"""
events {{ worker_connections {fd_limit - 100}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{ listen 127.0.0.1:{UPSTREAM_PORT} backlog=4096; root {work}/www; }}
}}
""")
    # worker_connections counts client and upstream connections; nginx allocates its
    # connection table for this many at start (so that part is in its RSS before).
    write(f"{work}/nginx-proxy.conf", nginx_common.replace("PIDFILE", "proxy.pid") + f"""
events {{ worker_connections {MAXCONN}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    upstream app {{ server 127.0.0.1:{UPSTREAM_PORT}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{PORTS['nginx']};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }}
    }}
}}
""")
    haproxy_like = f"""
global
    nbthread 1
    maxconn {MAXCONN}
HAPROXY_ONLY
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 30s
    timeout http-keep-alive 60s
    option http-keep-alive

listen proxy
    bind 127.0.0.1:PORT
    server upstream 127.0.0.1:{UPSTREAM_PORT}

frontend rules
    bind 127.0.0.1:RULESPORT
    acl             h_xoh_exists req.hdr(X-Original-Host) -m found
    http-request    set-header X-Original-Host %[req.hdr(Host)] unless h_xoh_exists
    acl             h_xfh_exists req.hdr(X-Forwarded-Host) -m found
    http-request    set-header X-Forwarded-Host %[req.hdr(Host)] unless h_xfh_exists
    acl             h_xfport_exists req.hdr(X-Forwarded-Proto) -m found
    http-request    set-header X-Forwarded-Proto https unless h_xfport_exists
    acl             is_service_a hdr(host) -i service.domain.tld
    use_backend     app_a if is_service_a
    use_backend     app_b if {{ path_beg /api }}
    default_backend app_b

backend app_a
    server upstream 127.0.0.1:{UPSTREAM_PORT}

backend app_b
    server upstream 127.0.0.1:{UPSTREAM_PORT}
"""
    haproxy_only = "    no strict-limits\n" if fd_limit < 2 * MAXCONN + 100 else ""
    write(f"{work}/baton.cfg", haproxy_like.replace("RULESPORT", str(RULES_PORTS["baton"]))
          .replace("PORT", str(PORTS["baton"])).replace("HAPROXY_ONLY\n", ""))
    write(f"{work}/haproxy.cfg", haproxy_like.replace("RULESPORT", str(RULES_PORTS["haproxy"]))
          .replace("PORT", str(PORTS["haproxy"])).replace("HAPROXY_ONLY\n", haproxy_only))


def proxy_command(name, work, baton):
    return {
        "baton": [baton, "-db", "-f", f"{work}/baton.cfg"],
        "haproxy": ["haproxy", "-db", "-f", f"{work}/haproxy.cfg"],
        "nginx": ["nginx", "-c", f"{work}/nginx-proxy.conf", "-p", work],
    }[name]


def wrk(url, duration, connections, extra):
    out = subprocess.run(["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}",
                          f"-d{duration}s", "--latency"] + extra + [url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (rps, float(p99.group(1)) * scale, requests, int(errors.group(1)) if errors else 0,
            sum(int(n) for n in socket_errors.groups()) if socket_errors else 0)


def time_wait_count():
    out = subprocess.run(["ss", "-tanH", "state", "time-wait"], capture_output=True, text=True).stdout
    return len(out.splitlines())


def throughput(procs, args):
    """Runs every scenario; returns the rows and the largest CPU share (in cores) other
    processes of the machine took during a proxy's run, with where it happened."""
    rows = []
    busiest = (0.0, "")
    clock = os.sysconf("SC_CLK_TCK")
    pids = [proc.pid for proc in procs.values()]
    for label, path, extra, frontend in SCENARIOS:
        if args.scenarios and label not in args.scenarios:
            continue
        results = {}
        if extra:
            print(f"  {label}: {time_wait_count()} sockets in TIME_WAIT before", file=sys.stderr)
        direct = wrk(f"http://127.0.0.1:{UPSTREAM_PORT}{path}", args.duration, args.connections, extra)
        results["direct"] = (direct[0], direct[1], None, direct[3], direct[4])
        for name in ("haproxy", "baton", "nginx"):
            if frontend == "rules" and name not in RULES_PORTS:
                continue
            port = RULES_PORTS[name] if frontend == "rules" else PORTS[name]
            pid = procs[name].pid
            before, began = cpu_ticks(pid), time.time()
            machine_before, own_before = machine_task_ticks(), own_ticks(pids)
            rps, p99, requests, errors, socket_errors = wrk(
                f"http://127.0.0.1:{port}{path}", args.duration, args.connections, extra)
            ticks = cpu_ticks(pid) - before
            others = ((machine_task_ticks() - machine_before) - (own_ticks(pids) - own_before)) \
                / clock / (time.time() - began)
            print(f"  {label}, {name}: {rps:.0f} req/s; other processes {others:.2f} of a core",
                  file=sys.stderr)
            if others > busiest[0]:
                busiest = (others, f"{label}, {name}")
            cpu_us = ticks / clock * 1e6 / max(requests, 1)
            results[name] = (rps, p99, cpu_us, errors, socket_errors)
        if extra:
            print(f"  {label}: {time_wait_count()} sockets in TIME_WAIT after", file=sys.stderr)
        rows.append((label, results))
    return rows, busiest


def warm_up(port, requests=200):
    with socket.create_connection(("127.0.0.1", port)) as s:
        for _ in range(requests):
            s.sendall(b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, body = data.split(b"\r\n\r\n", 1)
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            while len(body) < length:
                body += s.recv(65536)


def wait_for_accepted(pid, port, target, timeout=30.0):
    """Waits until the proxy has accepted `target` client connections; returns how many it has."""
    deadline = time.time() + timeout
    while True:
        accepted = established(pid, f"( sport = :{port} )")
        if accepted >= target or time.time() > deadline:
            return accepted
        time.sleep(0.2)


def hold_connections(name, pid, count, settle):
    """Opens `count` connections to the proxy; returns its RSS growth idle and after a request."""
    port = PORTS[name]
    warm_up(port)
    time.sleep(settle)
    base_rss = rss_kib(pid)
    client = subprocess.Popen(["taskset", "-c", LOAD_CPU, sys.executable,
                               f"{ROOT}/bench/hold_connections.py", str(port), str(count), "/small"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(command=None):
        if command:
            client.stdin.write(command + "\n")
            client.stdin.flush()
        return client.stdout.readline().split()

    try:
        opened = int(ask()[1])
        accepted = wait_for_accepted(pid, port, opened)
        time.sleep(settle)
        idle_rss = rss_kib(pid)
        idle_open = int(ask("check")[1])
        _, ok, bad, closed, statuses = ask("request")
        time.sleep(settle)
        after_rss = rss_kib(pid)
        upstream = upstream_connections(pid)
        # Idle server connections are closed after 5 s (HAProxy's pool-purge-delay, Baton's
        # pool lifetime): read once more when they are gone, for the client side alone.
        time.sleep(PURGE_WAIT)
        purged_rss = rss_kib(pid)
        purged_upstream = upstream_connections(pid)
        after_open = int(ask("check")[1])
        ask("close")
    finally:
        client.stdin.close()
        client.wait(timeout=30)
    notes = []
    if opened < count or accepted < opened or idle_open < opened:
        notes.append(f"{name}: {opened} of {count} opened, {accepted} accepted, "
                     f"{idle_open} still open when measured")
    if int(ok) < opened or after_open < opened:
        notes.append(f"{name}: {ok} answered 200, {bad} other status ({statuses}), {closed} closed "
                     f"during the request, {after_open} still open {PURGE_WAIT:g} s later")
    return {"count": opened, "base": base_rss, "idle": idle_rss, "after": after_rss,
            "purged": purged_rss, "notes": notes,
            "upstream": {"idle": "-", "after": upstream, "purged": purged_upstream}}


def memory(work, args):
    results = {}
    for name in ("haproxy", "baton", "nginx"):
        proc = start(proxy_command(name, work, args.baton), PROXY_CPU, f"{work}/{name}-memory.log")
        try:
            wait_for_port(PORTS[name])
            results[name] = hold_connections(name, proc.pid, args.idle_connections, args.settle)
        finally:
            stop([proc])
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--idle-connections", type=int, default=10000,
                        help="client connections held open for the memory scenario; 0 skips it")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to wait before reading a proxy's RSS")
    parser.add_argument("--baton", default=f"{ROOT}/.build/release/baton")
    parser.add_argument("--scenarios", nargs="*", default=[],
                        help="run only these scenarios (labels as printed, e.g. '/small' '/small rules')")
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "haproxy", "taskset", "ss"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-deps.sh --bench")
    began = time.time()
    fd_limit = raise_fd_limit()
    if args.idle_connections + 100 > fd_limit:
        sys.exit(f"the file-descriptor limit ({fd_limit}) is too low for {args.idle_connections} connections")
    work = tempfile.mkdtemp(prefix="baton-bench-")
    configs(work, fd_limit)
    procs = {}
    try:
        procs["upstream"] = start(["nginx", "-c", f"{work}/upstream.conf", "-p", work], LOAD_CPU)
        wait_for_port(UPSTREAM_PORT)
        for name in ("baton", "haproxy", "nginx"):
            procs[name] = start(proxy_command(name, work, args.baton), PROXY_CPU, f"{work}/{name}.log")
        for port in list(PORTS.values()) + list(RULES_PORTS.values()):
            wait_for_port(port)
        rows, busiest = throughput(procs, args)
        stop([procs.pop(name) for name in ("baton", "haproxy", "nginx")])
        held = memory(work, args) if args.idle_connections else None
        print_table(rows, args)
        print()
        print(f"Other processes on the machine took up to about {busiest[0]:.2f} of a core during "
              f"a proxy's run ({busiest[1] or '-'}): busy CPU time of the machine minus that of the "
              f"servers, wrk and this script.")
        if held:
            print()
            print_memory(held, args)
        print()
        print(f"File-descriptor limit {fd_limit}; the run took {time.time() - began:.0f} s.")
    finally:
        stop(procs.values())
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, args):
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s; proxies pinned to CPU {PROXY_CPU} with one "
          f"thread; wrk and the nginx upstream on CPU {LOAD_CPU}. \"close\": one request per "
          f"connection (wrk -H \"Connection: close\").")
    print()
    print("| scenario | target | req/s | p99 ms | proxy CPU us/req | non-2xx | socket errors | req/s vs haproxy | p99 vs haproxy | CPU/req vs haproxy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, results in rows:
        base = results["haproxy"]
        for name in ("direct", "haproxy", "baton", "nginx"):
            if name not in results:
                continue
            rps, p99, cpu, errors, socket_errors = results[name]
            cpu_text = f"{cpu:.1f}" if cpu is not None else "-"
            ratio_cpu = f"{cpu / base[2]:.2f}" if cpu is not None and base[2] else "-"
            print(f"| {label} | {name} | {rps:.0f} | {p99:.2f} | {cpu_text} | {errors} | {socket_errors} | "
                  f"{rps / base[0]:.2f} | {p99 / base[1]:.2f} | {ratio_cpu} |")


def print_memory(held, args):
    count = args.idle_connections
    print(f"{count} client connections held open to each proxy (restarted fresh, warmed up with 200 "
          f"requests); VmRSS read {args.settle:g} s after all were accepted (\"idle, no request\"), "
          f"{args.settle:g} s after each had one /small response (\"after 1 request\") and "
          f"{PURGE_WAIT:g} s later, once idle server connections are purged (\"after 1 request, "
          f"+{PURGE_WAIT:g} s\"). Per connection = (VmRSS - VmRSS before) / {count}; \"upstream "
          f"conns\": the proxy's connections to the origin at that moment.")
    print()
    print("| scenario | target | RSS before MiB | RSS with conns MiB | KiB per conn | upstream conns | KiB/conn vs haproxy |")
    print("|---|---|---:|---:|---:|---:|---:|")
    held_count = f"{count // 1000}k" if count % 1000 == 0 else str(count)
    for label, key in ((f"{held_count} idle, no request", "idle"),
                       (f"{held_count} idle, after 1 request", "after"),
                       (f"{held_count} idle, after 1 request, +{PURGE_WAIT:g} s", "purged")):
        base = (held["haproxy"][key] - held["haproxy"]["base"]) / held["haproxy"]["count"]
        for name in ("haproxy", "baton", "nginx"):
            r = held[name]
            per = (r[key] - r["base"]) / r["count"]
            upstream = r["upstream"][key]
            ratio = f"{per / base:.2f}" if base > 0 else "-"
            print(f"| {label} | {name} | {r['base'] / 1024:.1f} | {r[key] / 1024:.1f} | {per:.2f} | "
                  f"{upstream} | {ratio} |")
    for r in held.values():
        for note in r["notes"]:
            print(f"\nNote: {note}")


if __name__ == "__main__":
    main()
