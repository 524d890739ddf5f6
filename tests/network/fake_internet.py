"""A small fake internet for network tests: a network namespace joined to the host by a veth
pair, holding an authoritative DNS server and TCP/HTTP/TLS servers on documentation
addresses, with a self-signed certificate made at start.

    with FakeInternet() as net:
        clients.resolve(net.dns_v4, "allowed.test")      # ['203.0.113.10']
        net.connections()                                # what the servers saw

Layout (host = the test's network namespace, normally the root one):

    host: hfi-<hex>  203.0.113.1/32  2001:db8:ffff::1/128
          routes 203.0.113.0/24 and 2001:db8::/32 via the veth, nothing else
    ns hive-test-<hex>: veth0  203.0.113.2/32 2001:db8:ffff::2/128, and every server address
          of the zone (203.0.113.10, ...), the DNS server on 203.0.113.53 and 2001:db8::53,
          routes back to the host's two addresses only; no default route

Only one fake internet exists at a time on a machine (both route the same prefixes): start()
waits for a lock held by any other. Everything made is recorded in a state file before it is
made, undone in reverse order by stop() (also when start() fails half-way), and checked to
be gone while the lock is still held; what a killed test left is swept by the next start().
"""
import base64
import fcntl
import ipaddress
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import clients
import dns_wire

HERE = os.path.dirname(os.path.abspath(__file__))
IP = shutil.which("ip") or "/usr/sbin/ip"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
STATE_DIR = "/run/hive-test-net"
LOCK_FILE = os.path.join(STATE_DIR, "lock")
NETNS_PREFIX = "hive-test-"
VETH_PREFIX = "hfi-"

PREFIX_V4 = ipaddress.ip_network("203.0.113.0/24")
PREFIX_V6 = ipaddress.ip_network("2001:db8::/32")
HOST_V4, NS_V4 = "203.0.113.1", "203.0.113.2"
HOST_V6, NS_V6 = "2001:db8:ffff::1", "2001:db8:ffff::2"
DNS_V4, DNS_V6 = "203.0.113.53", "2001:db8::53"
UNNAMED_V4, UNNAMED_V6 = "203.0.113.99", "2001:db8::99"  # servers no name points at
SYNC_SUFFIX = ".sync.fake-internet.invalid"


def ech_config_list(public_name="cdn-a.test"):
    """A well-formed ECHConfigList (version 0xfe0d, X25519, HKDF-SHA256, AES-128-GCM) with a
    made-up key, in base64: what the HTTPS record of a provider that offers ECH carries."""
    name = public_name.encode()
    contents = (b"\x01" + struct.pack("!HH", 0x0020, 32) + bytes(range(32))
                + struct.pack("!HHH", 4, 0x0001, 0x0001) + b"\x00" + bytes([len(name)]) + name
                + b"\x00\x00")
    config = struct.pack("!HH", 0xfe0d, len(contents)) + contents
    return base64.b64encode(struct.pack("!H", len(config)) + config).decode()


DEFAULT_ZONE = {
    "allowed.test": {"A": ["203.0.113.10"], "AAAA": ["2001:db8::10"]},
    "www.allowed.test": {"CNAME": "allowed.test"},
    "api.allowed.test": {"A": ["203.0.113.13"]},
    "chain.allowed.test": {"CNAME": "edge1.cdn.test"},
    "edge1.cdn.test": {"CNAME": "edge2.cdn.test"},
    "edge2.cdn.test": {"A": ["203.0.113.12"], "AAAA": ["2001:db8::12"]},
    "other.test": {"A": ["203.0.113.11"], "AAAA": ["2001:db8::11"]},
    # Two names on one address: the shared-IP (CDN) case.
    "cdn-a.test": {"A": ["203.0.113.12"], "AAAA": ["2001:db8::12"]},
    "cdn-b.test": {"A": ["203.0.113.12"], "AAAA": ["2001:db8::12"]},
    "v6only.test": {"AAAA": ["2001:db8::14"]},
    "v4only.test": {"A": ["203.0.113.15"]},
    "ttl0.test": {"A": ["203.0.113.16"], "ttl": 0},
    "*.wild.test": {"A": ["203.0.113.19"]},
    # Names that resolve into host-internal ranges (DNS rebinding).
    "private.test": {"A": ["10.0.0.1"]},
    "loopback.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
    "metadata.test": {"A": ["169.254.169.254"]},
    "ula.test": {"AAAA": ["fd12:3456:789a::1"]},
    "mixed.test": {"A": ["203.0.113.17", "10.0.0.2"]},
    "loop1.test": {"CNAME": "loop2.test"},
    "loop2.test": {"CNAME": "loop1.test"},
    "dangling.test": {"CNAME": "missing.test"},
    "https.test": {"A": ["203.0.113.18"], "HTTPS": [{
        "priority": 1, "target": ".",
        "params": {"alpn": ["h2", "http/1.1"], "ipv4hint": ["203.0.113.18"],
                   "ech": ech_config_list()}}]},
    "txt.test": {"TXT": ["fake internet"]},
    "broken.test": {"rcode": "SERVFAIL"},
    "tc.test": {"A": ["203.0.113.10"], "udp": "truncate"},  # UDP always TC: asks for TCP
    "drop.test": {"A": ["203.0.113.10"], "udp": "drop"},    # UDP never answered
}

DEFAULT_TCP = [
    {"port": 7, "service": "echo"},
    {"port": 22, "service": "banner", "banner": "SSH-2.0-FakeInternet\r\n"},
    {"port": 25, "service": "banner", "banner": "220 fake-internet ESMTP\r\n"},
    {"port": 80, "service": "http"},
    {"port": 443, "service": "tls"},
    {"port": 5432, "service": "echo"},
    {"port": 8443, "service": "tls"},
    {"port": 9000, "service": "sink"},
    {"port": 9001, "service": "source"},
    {"port": 9002, "service": "accept"},
]


class Unavailable(Exception):
    """This machine cannot host a fake internet (not root, no `ip`, the prefixes are taken):
    a reason to skip, not a test failure."""


class LeftoverError(AssertionError):
    pass


def unavailable_reason():
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, routes)"
    if not os.access(IP, os.X_OK):
        return "`ip` (iproute2) is not installed"
    if not os.access(OPENSSL, os.X_OK):
        return "`openssl` is not installed"
    return None


def ipv6_available():
    return os.path.isdir("/proc/sys/net/ipv6")


class FakeInternet:
    def __init__(self, zone=None, tcp=None, extra_addresses=(UNNAMED_V4, UNNAMED_V6),
                 lock_timeout=300.0, keep_dir=False):
        self.zone = DEFAULT_ZONE if zone is None else zone
        self.tcp = DEFAULT_TCP if tcp is None else tcp
        self.ipv6 = ipv6_available()
        self.lock_timeout, self.keep_dir = lock_timeout, keep_dir
        tag = os.urandom(4).hex()
        self.netns = NETNS_PREFIX + tag
        self.veth = VETH_PREFIX + tag
        self.host_v4, self.ns_v4 = HOST_V4, NS_V4
        self.host_v6, self.ns_v6 = (HOST_V6, NS_V6) if self.ipv6 else (None, None)
        self.dns_v4, self.dns_v6 = DNS_V4, (DNS_V6 if self.ipv6 else None)
        self.upstream_dns = [a for a in (self.dns_v4, self.dns_v6) if a]
        self.server_addresses = self._server_addresses(extra_addresses)
        self.dir = self.cert = self.key = None
        self.server_pid = None
        self._proc = None
        self._undo = []
        self._lock_fd = None
        self._markers = set()
        self._old_sigterm = None

    # --- life cycle ------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        reason = unavailable_reason()
        if reason:
            raise Unavailable(reason)
        t0 = time.monotonic()
        self._lock()
        try:
            self._setup()
        except BaseException:
            errors = self._teardown()
            self._unlock()
            if errors:
                sys.stderr.write("fake internet: clean-up after a failed start: "
                                 + "; ".join(errors) + "\n")
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self):
        """Undoes everything, then (still holding the lock) checks that nothing is left."""
        if self._lock_fd is None:
            return
        errors = self._teardown()
        try:
            left = self.leftovers()
        finally:
            self._unlock()
        if errors or left:
            raise LeftoverError("fake internet teardown: " + "; ".join(errors + left))

    def _setup(self):
        self._catch_sigterm()
        swept = sweep_stale()
        if swept:
            sys.stderr.write("fake internet: removed what a killed test left: "
                             + ", ".join(swept) + "\n")
        _check_prefixes_free()
        self.dir = tempfile.mkdtemp(prefix="hive-fake-internet-")
        self._on_undo(f"remove {self.dir}", lambda: None if self.keep_dir else shutil.rmtree(
            self.dir, ignore_errors=True))
        self._write_state()
        self._on_undo("remove the state file", lambda: _unlink(self._state_path()))

        ip("netns", "add", self.netns)
        self._on_undo(f"delete netns {self.netns}", lambda: _ip_ignore_missing(
            "netns", "delete", self.netns))
        ip("link", "add", self.veth, "type", "veth", "peer", "name", "veth0",
           "netns", self.netns)
        # Deleting the host end deletes the peer, and with them every address and route on
        # them: nothing else needs removing one by one.
        self._on_undo(f"delete veth {self.veth}", lambda: _ip_ignore_missing(
            "link", "delete", self.veth))
        self._configure_host_end()
        self._configure_namespace()
        self._add_host_routes()
        self._make_certificate()
        self._start_servers()

    def _on_undo(self, what, fn):
        self._undo.append((what, fn))

    def _teardown(self):
        errors = []
        while self._undo:
            what, fn = self._undo.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - every step runs; failures are reported
                errors.append(f"{what}: {e}")
        return errors

    # --- the steps -------------------------------------------------------------------------

    def _configure_host_end(self):
        if self.ipv6:
            # No link-local address (it would wait for DAD before it can be used); neighbour
            # discovery works with the global addresses, which are added with nodad.
            ip("link", "set", self.veth, "addrgenmode", "none")
            _sysctl(f"net/ipv6/conf/{self.veth}/accept_dad", "0")
            _sysctl(f"net/ipv6/conf/{self.veth}/disable_ipv6", "0")
        ip("addr", "add", f"{HOST_V4}/32", "dev", self.veth)
        if self.ipv6:
            ip("-6", "addr", "add", f"{HOST_V6}/128", "dev", self.veth, "nodad")
        ip("link", "set", self.veth, "up")

    def _configure_namespace(self):
        cmds = ["link set lo up"]
        if self.ipv6:
            cmds.append("link set veth0 addrgenmode none")
        for addr in [NS_V4, *self.server_addresses["v4"]]:
            cmds.append(f"addr add {addr}/32 dev veth0")
        if self.ipv6:
            for addr in [NS_V6, *self.server_addresses["v6"]]:
                cmds.append(f"addr add {addr}/128 dev veth0 nodad")
        cmds.append("link set veth0 up")
        cmds.append(f"route add {HOST_V4}/32 dev veth0 src {NS_V4}")
        # A packet for an address nobody holds gets an ICMP unreachable at once, so a client
        # fails fast (EHOSTUNREACH) instead of retrying its SYN for minutes. Only a router
        # sends those: forwarding is on in this namespace, which routes nowhere else.
        cmds.append(f"route add unreachable {PREFIX_V4}")
        if self.ipv6:
            cmds.append(f"route add {HOST_V6}/128 dev veth0 src {NS_V6}")
            cmds.append(f"route add unreachable {PREFIX_V6}")
        ip("-n", self.netns, "-batch", "-", input="\n".join(cmds) + "\n")
        # The ICMP rate limits would hold back the first error to a new peer (IPv6) or a
        # burst of them; these sysctls belong to this namespace alone.
        sysctls = {"net/ipv4/ip_forward": 1, "net/ipv4/icmp_ratelimit": 0}
        if self.ipv6:
            sysctls.update({"net/ipv6/conf/all/forwarding": 1, "net/ipv6/icmp/ratelimit": 0})
        ip("netns", "exec", self.netns, "sh", "-c", " && ".join(
            f"echo {v} > /proc/sys/{k}" for k, v in sysctls.items()))

    def _add_host_routes(self):
        # Through the peer as an on-link gateway: one neighbour entry, and an address nobody
        # holds gets a quick ICMP unreachable from the namespace instead of a silent ARP miss.
        ip("route", "add", str(PREFIX_V4), "via", NS_V4, "dev", self.veth, "onlink",
           "src", HOST_V4)
        if self.ipv6:
            ip("-6", "route", "add", str(PREFIX_V6), "via", NS_V6, "dev", self.veth, "onlink",
               "src", HOST_V6)

    def _make_certificate(self):
        names = sorted({n.rstrip(".").lower() for n in self.zone} |
                       {"*." + n.rstrip(".").lower() for n in self.zone if "*" not in n})
        san = ",".join("DNS:" + n for n in names)
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
             "/CN=fake internet test CA", "-keyout", self.key, "-out", self.cert,
             "-addext", "subjectAltName=" + san,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
             "-addext", "extendedKeyUsage=serverAuth"])
        self.cafile = self.cert

    def _start_servers(self):
        self.dns_log_path = os.path.join(self.dir, "dns.log")
        self.conn_log_path = os.path.join(self.dir, "conn.log")
        tcp = [dict(t, cert=self.cert, key=self.key) if t["service"] == "tls" else t
               for t in self.tcp]
        config = {"dns": {"zone": self.zone, "addresses": self.upstream_dns},
                  "tcp": tcp, "ipv6": self.ipv6, "dns_log": self.dns_log_path,
                  "conn_log": self.conn_log_path}
        config_path = os.path.join(self.dir, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=1)
        self.server_err = os.path.join(self.dir, "server.err")
        r, wfd = os.pipe()
        try:
            with open(self.server_err, "w") as err:
                self._proc = subprocess.Popen(
                    [IP, "netns", "exec", self.netns, sys.executable,
                     os.path.join(HERE, "serve.py"), config_path, str(wfd), str(os.getpid())],
                    pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        finally:
            os.close(wfd)
        # `ip netns exec` execs the command itself: this pid is the server's.
        self.server_pid = self._proc.pid
        self.server_start_time = _start_time(self.server_pid)
        self._write_state()
        self._on_undo(f"stop server pid {self.server_pid}", self._stop_server)
        with os.fdopen(r) as ready:
            if not select.select([ready], [], [], 15)[0]:
                raise RuntimeError("fake internet server: not ready after 15 s"
                                   + self._server_stderr())
            line = ready.readline().strip()
        if line != "ready":
            raise RuntimeError(f"fake internet server: {line or 'exited'}"
                               + self._server_stderr())

    def _server_stderr(self):
        try:
            with open(self.server_err) as f:
                text = f.read().strip()
        except OSError:
            return ""
        return f"\n{text[-2000:]}" if text else ""

    def _stop_server(self):
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    # --- what the test reads ---------------------------------------------------------------

    def _server_addresses(self, extra):
        v4, v6 = set(), set()
        for node in self.zone.values():
            for addr in node.get("A", []) + node.get("AAAA", []):
                a = ipaddress.ip_address(addr)
                if a in PREFIX_V4:
                    v4.add(a)
                elif a in PREFIX_V6:
                    v6.add(a)
        for addr in [DNS_V4, DNS_V6, *extra]:
            a = ipaddress.ip_address(addr)
            if a not in PREFIX_V4 and a not in PREFIX_V6:
                raise ValueError(f"server address {addr} is outside {PREFIX_V4} and {PREFIX_V6}")
            (v4 if a.version == 4 else v6).add(a)
        taken = {ipaddress.ip_address(a) for a in (HOST_V4, NS_V4, HOST_V6, NS_V6)}
        if (v4 | v6) & taken:
            raise ValueError(f"server addresses may not be the link addresses {sorted(taken)}")
        return {"v4": [str(a) for a in sorted(v4)],
                "v6": [str(a) for a in sorted(v6)] if self.ipv6 else []}

    def addresses_of(self, name):
        node = self.zone[name]
        return node.get("A", []) + (node.get("AAAA", []) if self.ipv6 else [])

    def dns_queries(self, name=None):
        """Every query the DNS server received (sync markers left out); with name, only the
        queries for it (compared lower-case, without the trailing dot)."""
        out = [e for e in _read_log(self.dns_log_path)
               if not e.get("name", "").endswith(SYNC_SUFFIX)]
        if name is not None:
            out = [e for e in out if e.get("name") == dns_wire.normalize(name)]
        return out

    def connections(self, event="connect", **match):
        """Connection events (connect, close, http, tls) of the TCP servers, sync markers left
        out, filtered by fields: connections(port=22), connections("tls", sni="x.test")."""
        return [e for e in _read_log(self.conn_log_path)
                if e["event"] == event and (e["peer"], e["peer_port"]) not in self._markers
                and all(e.get(k) == v for k, v in match.items())]

    def wait_for(self, fn, timeout=5.0, what="condition"):
        """Polls fn() until it returns something true; returns that. For events the servers
        write after the client is done (a close, a handshake the client gave up on)."""
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"fake internet: timed out after {timeout} s waiting for "
                                     f"{what}")
            time.sleep(0.01)

    def sync(self):
        """Returns once the logs hold every query and connection that reached a server before
        this call: a marker goes through each DNS socket and each listening port, and each is
        served in arrival order. Call before asserting that something did NOT arrive."""
        for server in self.upstream_dns:
            for tcp in (False, True):
                clients.query(server, os.urandom(4).hex() + SYNC_SUFFIX, "A", tcp=tcp)
        for t in self.tcp:
            if t["service"] == "accept":
                continue  # logs nothing to wait for
            with socket.create_connection((self.ns_v4, t["port"]), timeout=5) as s:
                marker = (self.host_v4, s.getsockname()[1])
            self._markers.add(marker)
            self.wait_for(lambda m=marker: any(
                (e["peer"], e["peer_port"]) == m for e in _read_log(self.conn_log_path)),
                what=f"the sync marker on port {t['port']}")

    def policy_network(self, allowed_domains, **extra):
        """The `security.network` section that points hive-run's resolver here."""
        return dict({"allowed_domains": list(allowed_domains),
                     "upstream_dns": list(self.upstream_dns)}, **extra)

    # --- lock, state file, leftovers -------------------------------------------------------

    def _lock(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise Unavailable(f"another fake internet is running ({_holders()}) and "
                                      f"did not stop within {self.lock_timeout:.0f} s")
                time.sleep(0.1)
        self._lock_fd = fd

    def _unlock(self):
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the flock
        self._restore_sigterm()

    def _catch_sigterm(self):
        # A test run that times out is sent SIGTERM; turning it into SystemExit unwinds the
        # `with` and tears down. (SIGKILL cannot be caught: the next start() sweeps.)
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
            def on_term(signum, frame):
                raise SystemExit(128 + signum)
            self._old_sigterm = signal.signal(signal.SIGTERM, on_term)

    def _restore_sigterm(self):
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    def _state_path(self):
        return os.path.join(STATE_DIR, self.netns + ".json")

    def _write_state(self):
        state = {"owner": os.getpid(), "owner_start": _start_time(os.getpid()),
                 "netns": self.netns, "veth": self.veth, "dir": self.dir,
                 "server_pid": self.server_pid,
                 "server_start": getattr(self, "server_start_time", None)}
        tmp = self._state_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self._state_path())

    def leftovers(self):
        """What of this fake internet still exists (empty after a clean stop), plus anything
        in the host's routing tables or addresses that overlaps the documentation prefixes."""
        left = []
        if self.netns in netns_names():
            left.append(f"netns {self.netns}")
        if self.veth in link_names():
            left.append(f"link {self.veth}")
        if self.server_pid and _alive(self.server_pid, self.server_start_time):
            left.append(f"server pid {self.server_pid}")
        if os.path.exists(self._state_path()):
            left.append(f"state file {self._state_path()}")
        if self.dir and os.path.exists(self.dir) and not self.keep_dir:
            left.append(f"directory {self.dir}")
        left += [f"route {r}" for r in doc_routes()]
        left += [f"address {a}" for a in doc_addresses()]
        return left


# --- machine-wide helpers ----------------------------------------------------------------------

def ip(*args, input=None):
    return run([IP, *args], input=input)


def _ip_ignore_missing(*args):
    p = subprocess.run([IP, *args], capture_output=True, text=True)
    if p.returncode != 0 and not any(s in p.stderr for s in (
            "No such file", "Cannot find device", "does not exist")):
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")


def run(argv, input=None):
    p = subprocess.run(argv, input=input, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: "
                           f"{(p.stderr or p.stdout).strip()}")
    return p.stdout


def _ip_json(*args):
    out = subprocess.run([IP, "-j", *args], capture_output=True, text=True).stdout.strip()
    return json.loads(out) if out else []


def netns_names():
    return [n["name"] for n in _ip_json("netns", "list")]


def link_names():
    return [link["ifname"] for link in _ip_json("link", "show")]


def doc_routes():
    """Routes of this namespace (any table) that overlap 203.0.113.0/24 or 2001:db8::/32."""
    found = []
    for family, prefix in (("-4", PREFIX_V4), ("-6", PREFIX_V6)):
        if family == "-6" and not ipv6_available():
            continue
        for r in _ip_json(family, "route", "show", "table", "all"):
            dst = r.get("dst", "")
            try:
                net = ipaddress.ip_network(dst, strict=False)
            except ValueError:
                continue
            if net.overlaps(prefix):
                found.append(f"{dst} dev {r.get('dev')} table {r.get('table', 'main')}")
    return found


def doc_addresses():
    found = []
    for link in _ip_json("addr", "show"):
        for a in link.get("addr_info", []):
            addr = ipaddress.ip_address(a["local"])
            if addr in PREFIX_V4 or addr in PREFIX_V6:
                found.append(f"{a['local']} on {link['ifname']}")
    return found


def _check_prefixes_free():
    busy = doc_routes() + doc_addresses()
    if busy:
        raise Unavailable("the host already uses the documentation prefixes the fake internet "
                          "needs: " + "; ".join(busy))



def sweep_stale():
    """Removes what fake internets of dead test processes left (their state files say what
    they made). Call with the lock held; returns what was removed."""
    removed = []
    if not os.path.isdir(STATE_DIR):
        return removed
    for entry in sorted(os.listdir(STATE_DIR)):
        if not (entry.startswith(NETNS_PREFIX) and entry.endswith(".json")):
            continue
        path = os.path.join(STATE_DIR, entry)
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            continue
        if _alive(state["owner"], state["owner_start"]):
            continue
        pid = state.get("server_pid")
        if pid and _alive(pid, state.get("server_start")):
            os.kill(pid, signal.SIGKILL)
            removed.append(f"server pid {pid}")
        if state["veth"] in link_names():
            _ip_ignore_missing("link", "delete", state["veth"])
            removed.append(f"link {state['veth']}")
        if state["netns"] in netns_names():
            _ip_ignore_missing("netns", "delete", state["netns"])
            removed.append(f"netns {state['netns']}")
        if state.get("dir") and os.path.isdir(state["dir"]):
            shutil.rmtree(state["dir"], ignore_errors=True)
            removed.append(f"directory {state['dir']}")
        _unlink(path)
    return removed


def _holders():
    owners = []
    if os.path.isdir(STATE_DIR):
        for entry in os.listdir(STATE_DIR):
            if entry.endswith(".json"):
                try:
                    with open(os.path.join(STATE_DIR, entry)) as f:
                        owners.append(f"pid {json.load(f)['owner']}")
                except (OSError, ValueError, KeyError):
                    pass
    return ", ".join(owners) or "holder unknown"


def _start_time(pid):
    """The process's start time in clock ticks (field 22 of stat): tells a pid that was
    reused from the process that had it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid, start_time):
    """The process that had this start time still runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and (start_time is None or int(fields[19]) == start_time)


def _sysctl(key, value):
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _read_log(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):  # a line still being written is read next time
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out
