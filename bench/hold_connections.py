#!/usr/bin/env python3
"""Holds many client connections open to one HTTP server, for bench/bench.py's memory scenario.

Usage: hold_connections.py PORT COUNT PATH

Opens COUNT connections to 127.0.0.1:PORT and prints "opened N". Then follows commands read
from stdin, one a line, answering each with one line on stdout:
  request  sends one GET PATH on every connection (at most REQUEST_WINDOW outstanding at a
           time) and waits for every response: "answered OK BAD CLOSED STATUSES", STATUSES
           being the other statuses seen, as 503x2,502x1 ("-" when none)
  check    counts connections the server has closed meanwhile: "open N closed M"
  close    closes everything and exits.
"""
import errno
import resource
import selectors
import socket
import sys
import time

CONNECTING_WINDOW = 200
REQUEST_WINDOW = 64


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    for target in (max(needed, 65536), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
            return
        except (ValueError, OSError):
            continue


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def open_connections(port, count, deadline=60.0):
    sel = selectors.DefaultSelector()
    socks, failed, started = [], 0, 0
    in_flight = 0
    end = time.time() + deadline
    while (started < count or in_flight) and time.time() < end:
        while started < count and in_flight < CONNECTING_WINDOW:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            code = s.connect_ex(("127.0.0.1", port))
            started += 1
            if code in (0, errno.EINPROGRESS):
                sel.register(s, selectors.EVENT_WRITE)
                in_flight += 1
            else:
                s.close()
                failed += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            sel.unregister(s)
            in_flight -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                socks.append(s)
            else:
                s.close()
                failed += 1
    sel.close()
    return socks, failed + in_flight


def request_all(socks, path):
    """One GET on every connection; returns (ok, bad, closed, other statuses)."""
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: hold_connections\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    state = {}
    ok = bad = closed = 0
    others = {}
    next_index = 0
    end = time.time() + 60
    while (next_index < len(socks) or state) and time.time() < end:
        while next_index < len(socks) and len(state) < REQUEST_WINDOW:
            s = socks[next_index]
            next_index += 1
            try:
                s.send(request)  # small enough for one send on a fresh connection
            except OSError:
                closed += 1
                continue
            state[s] = bytearray()
            sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                del state[s]
                closed += 1
                continue
            buffer = state[s]
            buffer += data
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(buffer) - head_end - 4 < length:
                continue
            sel.unregister(s)
            del state[s]
            status = head[0].split(" ")[1]
            if status == "200":
                ok += 1
            else:
                bad += 1
                others[status] = others.get(status, 0) + 1
    sel.close()
    statuses = ",".join(f"{status}x{n}" for status, n in sorted(others.items())) or "-"
    return ok, bad, closed + len(state) + (len(socks) - next_index), statuses


def check(socks):
    open_count = closed = 0
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_PEEK)
            closed += 1 if not data else 0
            open_count += 1 if data else 0  # unexpected bytes, but still open
        except BlockingIOError:
            open_count += 1
        except OSError:
            closed += 1
    return open_count, closed


def main():
    port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    raise_fd_limit(count + 100)
    socks, failed = open_connections(port, count)
    say(f"opened {len(socks)} failed {failed}")
    for line in sys.stdin:
        command = line.strip()
        if command == "request":
            say("answered %d %d %d %s" % request_all(socks, path))
        elif command == "check":
            say("open %d closed %d" % check(socks))
        elif command == "close":
            break
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
