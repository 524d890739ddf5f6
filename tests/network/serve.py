"""The server process of the fake internet; runs inside its network namespace.

    ip netns exec <ns> python3 serve.py <config.json> <ready-fd> <parent-pid>

Binds every socket first, then writes `ready` (or `error: ...`) to the ready fd and serves
until killed. It dies with the test process (PR_SET_PDEATHSIG), so a test killed with
SIGKILL leaves no server behind even before the stale sweep runs.
"""
import ctypes
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns_server  # noqa: E402
import eventlog  # noqa: E402
import servers  # noqa: E402

PR_SET_PDEATHSIG = 1


def die_with_parent(parent):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent died before the prctl took effect
        sys.exit(1)


def main():
    config_path, ready_fd, parent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    die_with_parent(parent)
    with open(ready_fd, "w", closefd=True) as ready:
        try:
            with open(config_path) as f:
                config = json.load(f)
            dns = dns_server.DnsServer(config["dns"]["zone"], config["dns"]["addresses"],
                                       eventlog.EventLog(config["dns_log"]))
            dns.bind()
            conn_log = eventlog.EventLog(config["conn_log"])
            listeners = [servers.Listener(spec, conn_log, config["ipv6"])
                         for spec in config["tcp"]]
        except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
            ready.write(f"error: {type(e).__name__}: {e}\n")
            sys.exit(1)
        dns.start()
        for listener in listeners:
            listener.start()
        ready.write("ready\n")
    threading.Event().wait()  # SIGTERM's default action ends the process


if __name__ == "__main__":
    main()
