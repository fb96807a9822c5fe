#!/usr/bin/env python3
"""Side-by-side benchmark: the same traffic direct to nginx, through Baton, through Debian's
haproxy and through nginx as a proxy, each proxy with one thread pinned to one core.
Prints requests/s, p99 latency and proxy CPU per request, as ratios to haproxy.

Usage: bench/run.sh [--duration 10] [--connections 50]
"""
import argparse
import os
import re
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
PROXY_CPU = "0"
LOAD_CPU = "1"


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def start(cmd, cpu):
    return subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def configs(work):
    os.makedirs(f"{work}/www", exist_ok=True)
    write(f"{work}/www/small", "hello from the upstream, a small body of about 64 bytes......\n")
    with open(f"{work}/www/1m", "wb") as f:
        f.write(os.urandom(1024 * 1024))
    nginx_common = f"""
daemon off;
master_process off;
worker_processes 1;
error_log {work}/nginx-error.log;
pid {work}/PIDFILE;
events {{ worker_connections 4096; }}
"""
    write(f"{work}/upstream.conf", nginx_common.replace("PIDFILE", "upstream.pid") + f"""
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{ listen 127.0.0.1:{UPSTREAM_PORT}; root {work}/www; }}
}}
""")
    write(f"{work}/nginx-proxy.conf", nginx_common.replace("PIDFILE", "proxy.pid") + f"""
http {{
    access_log off;
    keepalive_requests 1000000;
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

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive

listen proxy
    bind 127.0.0.1:PORT
    server upstream 127.0.0.1:{UPSTREAM_PORT}
"""
    write(f"{work}/baton.cfg", haproxy_like.replace("PORT", str(PORTS["baton"])))
    write(f"{work}/haproxy.cfg", haproxy_like.replace("PORT", str(PORTS["haproxy"])))


def wrk(url, duration, connections):
    out = subprocess.run(["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}",
                          f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, requests, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--baton", default=f"{ROOT}/.build/release/baton")
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "haproxy", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-deps.sh --bench")
    work = tempfile.mkdtemp(prefix="baton-bench-")
    configs(work)
    procs = {}
    try:
        procs["upstream"] = start(["nginx", "-c", f"{work}/upstream.conf", "-p", work], LOAD_CPU)
        wait_for_port(UPSTREAM_PORT)
        procs["baton"] = start([args.baton, "-db", "-f", f"{work}/baton.cfg"], PROXY_CPU)
        procs["haproxy"] = start(["haproxy", "-db", "-f", f"{work}/haproxy.cfg"], PROXY_CPU)
        procs["nginx"] = start(["nginx", "-c", f"{work}/nginx-proxy.conf", "-p", work], PROXY_CPU)
        for port in PORTS.values():
            wait_for_port(port)
        rows = []
        for path in ("/small", "/1m"):
            results = {}
            direct = wrk(f"http://127.0.0.1:{UPSTREAM_PORT}{path}", args.duration, args.connections)
            results["direct"] = (direct[0], direct[1], None, direct[3])
            for name in ("haproxy", "baton", "nginx"):
                pid = procs[name].pid
                before = cpu_ticks(pid)
                rps, p99, requests, errors = wrk(f"http://127.0.0.1:{PORTS[name]}{path}",
                                                 args.duration, args.connections)
                ticks = cpu_ticks(pid) - before
                cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(requests, 1)
                results[name] = (rps, p99, cpu_us, errors)
            rows.append((path, results))
        print_table(rows, args)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, args):
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s; proxies pinned to CPU {PROXY_CPU} with one "
          f"thread; wrk and the nginx upstream on CPU {LOAD_CPU}.")
    print()
    print("| body | target | req/s | p99 ms | proxy CPU us/req | non-2xx | req/s vs haproxy | p99 vs haproxy | CPU/req vs haproxy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for path, results in rows:
        base = results["haproxy"]
        for name in ("direct", "haproxy", "baton", "nginx"):
            rps, p99, cpu, errors = results[name]
            cpu_text = f"{cpu:.1f}" if cpu is not None else "-"
            ratio_cpu = f"{cpu / base[2]:.2f}" if cpu is not None and base[2] else "-"
            print(f"| {path} | {name} | {rps:.0f} | {p99:.2f} | {cpu_text} | {errors} | "
                  f"{rps / base[0]:.2f} | {p99 / base[1]:.2f} | {ratio_cpu} |")


if __name__ == "__main__":
    main()
