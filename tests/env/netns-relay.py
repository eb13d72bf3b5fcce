#!/usr/bin/env python3
# A TCP relay between network namespaces, for the swarm test nodes
# (tests/env/swarm-up.sh): each RULE listens in one namespace and connects,
# per accepted connection, in another, so that an engine inside its own
# namespace pulls from the registry on the host's 127.0.0.1:5000 as if it
# were its own, and the host reaches a port published inside a namespace.
#
#   netns-relay.py RULE...
#   RULE = LNS,LADDR,LPORT,CNS,CADDR,CPORT
#   NS   = "-" for the relay's own namespace, else a path such as
#          /run/netns/NAME (sockets keep the namespace they were made in).
#
# Runs in the foreground until TERM/INT; one line on stderr per failed
# connection. Standard library only.
import ctypes
import os
import signal
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_ns_lock = threading.Lock()
_own_ns = os.open("/proc/self/ns/net", os.O_RDONLY)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def socket_in(ns):
    """A new TCP socket made in namespace ns ("-": our own)."""
    if ns == "-":
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with _ns_lock:
        fd = os.open(ns, os.O_RDONLY)
        try:
            _setns(fd)
            try:
                return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            finally:
                _setns(_own_ns)
        finally:
            os.close(fd)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve_conn(conn, rule):
    _, _, _, cns, caddr, cport = rule
    up = None
    try:
        up = socket_in(cns)
        up.settimeout(10)
        up.connect((caddr, cport))
        up.settimeout(None)
    except OSError as e:
        sys.stderr.write(f"netns-relay: {cns} {caddr}:{cport}: {e}\n")
        conn.close()
        if up is not None:
            up.close()
        return
    t = threading.Thread(target=pump, args=(up, conn), daemon=True)
    t.start()
    pump(conn, up)
    t.join()
    conn.close()
    up.close()


def listen(rule):
    lns, laddr, lport = rule[:3]
    s = socket_in(lns)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((laddr, lport))
    s.listen(64)
    return s


def accept_loop(s, rule):
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_conn, args=(conn, rule), daemon=True).start()


def parse(arg):
    f = arg.split(",")
    if len(f) != 6:
        raise SystemExit(f"netns-relay: bad rule {arg!r} (LNS,LADDR,LPORT,CNS,CADDR,CPORT)")
    return (f[0], f[1], int(f[2]), f[3], f[4], int(f[5]))


def main():
    rules = [parse(a) for a in sys.argv[1:]]
    if not rules:
        raise SystemExit("usage: netns-relay.py LNS,LADDR,LPORT,CNS,CADDR,CPORT...")
    socks = []
    for r in rules:
        try:
            socks.append((listen(r), r))
        except OSError as e:
            raise SystemExit(f"netns-relay: listen {r[0]} {r[1]}:{r[2]}: {e}")
    for s, r in socks:
        threading.Thread(target=accept_loop, args=(s, r), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    print("netns-relay: ready", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
