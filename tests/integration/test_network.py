"""security.network.allowed_domains, from inside real sandboxes, against the fake internet
(tests/network): allowed names connect and exchange bytes; everything else is refused at once,
never reaches the fake upstream, and is in the report and the signed audit log.

Skipped (77) when not root or when `ip`/`openssl` is missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "network"))
import hive_test  # noqa: E402
import fake_internet as fi  # noqa: E402

# Runs inside the sandbox: each argument is one action, each result one JSON line.
FETCH = r'''
import ctypes, errno, json, socket, sys, threading

def err(e):
    if isinstance(e, socket.gaierror):
        return "gaierror"
    return errno.errorcode.get(e.errno, str(e.errno))

def tcp(host, port):
    try:
        s = socket.create_connection((host, int(port)), timeout=10)
    except OSError as e:
        return err(e)
    try:
        s.sendall(b"hello from the sandbox\n")
        data = b""
        while len(data) < 23:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        return "ok " + s.getpeername()[0] + " " + data.decode(errors="replace").strip()
    except OSError as e:
        return "io " + err(e)
    finally:
        s.close()

def resolve(host):
    try:
        return sorted({a[4][0] for a in socket.getaddrinfo(host, 80, proto=socket.IPPROTO_TCP)})
    except OSError as e:
        return err(e)

def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (host, int(port)))
        return "sent"
    except OSError as e:
        return err(e)
    finally:
        s.close()

def raw():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        return "created"
    except OSError as e:
        return err(e)

def packet():
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        return "created"
    except OSError as e:
        return err(e)

def tfo(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.sendto(b"x", 0x20000000, (host, int(port)))  # MSG_FASTOPEN
        return "sent"
    except OSError as e:
        return err(e)
    finally:
        s.close()

def iouring():
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)
    fd = libc.syscall(425, 8, params)  # io_uring_setup
    return "created" if fd >= 0 else errno.errorcode[ctypes.get_errno()]

def vsock():
    try:
        socket.socket(40, socket.SOCK_STREAM).close()  # AF_VSOCK
        return "created"
    except OSError as e:
        return err(e)

def unspec(host, port, other):
    # A connection the supervisor made, then: disconnect it (AF_UNSPEC) and point it elsewhere.
    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.create_connection((host, int(port)), timeout=10)
    out = []
    rc = libc.connect(s.fileno(), ctypes.create_string_buffer(b"\0" * 16, 16), 16)
    out.append("ok" if rc == 0 else errno.errorcode[ctypes.get_errno()])
    try:
        s.connect((other, int(port)))
        out.append("ok")
    except OSError as e:
        out.append(err(e))
    s.sendall(b"still here\n")
    out.append(s.recv(100).decode().strip())
    s.close()
    return out

def https(host, sni):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, 443), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni or None) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() +
                          b"\r\nConnection: close\r\n\r\n")
                return s.recv(100).split(b"\r\n")[0].decode()
    except (OSError, ssl.SSLError) as e:
        return type(e).__name__

def http(host, hosthdr):
    try:
        with socket.create_connection((host, 80), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: " + hosthdr.encode() +
                      b"\r\nConnection: close\r\n\r\n")
            line = s.recv(100).split(b"\r\n")[0].decode()
            return line or "closed"
    except OSError as e:
        return type(e).__name__

def dnsq(name, qtype):
    # A raw question to the sandbox's resolver: (rcode, number of answers).
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + int(qtype).to_bytes(2, "big") + b"\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, ("127.0.0.53", 53))
    r = s.recv(4096)
    return [r[3] & 15, int.from_bytes(r[6:8], "big")]

def keepalive(host, first, second):
    # Two requests on one connection, the second only after the first was answered.
    out = []
    with socket.create_connection((host, 80), timeout=10) as s:
        f = s.makefile("rb")
        for name in (first, second):
            try:
                s.sendall(b"GET /" + name.encode() + b" HTTP/1.1\r\nHost: " + name.encode() +
                          b"\r\n\r\n")
                status = f.readline().decode().strip()
                length = 0
                while True:
                    line = f.readline().decode().strip()
                    if not line:
                        break
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":")[1])
                f.read(length)
                out.append(status or "closed")
            except OSError as e:
                out.append(type(e).__name__)
    return out

def sleep(seconds):
    import time
    time.sleep(float(seconds))
    return "slept"

def race(good, bad, port, rounds):
    # A second thread rewrites the sockaddr the connect call reads, between an allowed and a
    # refused destination, while the call is in flight.
    libc = ctypes.CDLL(None, use_errno=True)
    def sockaddr(ip):
        return (b"\x02\x00" + int(port).to_bytes(2, "big") + socket.inet_aton(ip) + b"\0" * 8)
    a, b = sockaddr(good), sockaddr(bad)
    buf = ctypes.create_string_buffer(a, 16)
    stop = False
    def flip():
        while not stop:
            ctypes.memmove(buf, b, 16)
            ctypes.memmove(buf, a, 16)
    t = threading.Thread(target=flip)
    t.start()
    peers, refused = {}, 0
    try:
        for _ in range(int(rounds)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if libc.connect(s.fileno(), buf, 16) == 0:
                p = s.getpeername()[0]
                peers[p] = peers.get(p, 0) + 1
            else:
                refused += 1
            s.close()
    finally:
        stop = True
        t.join()
    return {"peers": peers, "refused": refused}

for arg in sys.argv[1:]:
    name, *rest = arg.split(":")
    print(json.dumps([arg, globals()[name](*rest)]), flush=True)
'''


class NetworkTest(hive_test.SandboxTestCase):
    net = None

    @classmethod
    def setUpClass(cls):
        reason = fi.unavailable_reason()
        if reason:
            raise unittest.SkipTest(reason)
        cls.net = fi.FakeInternet().start()

    @classmethod
    def tearDownClass(cls):
        if cls.net:
            cls.net.stop()  # raises LeftoverError if the namespace or veth stayed

    def fetch(self, *actions, allowed=("allowed.test",), **network):
        policy = {"security": {"network": self.net.policy_network(allowed, **network)}}
        p = self.write("p.yml", json.dumps(policy))
        script = self.write("fetch.py", FETCH)
        self.t0 = time.time()
        r, report = self.report("script", "--policy", p, script, *actions, timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        results = {}
        for line in r.stdout.splitlines():
            k, v = json.loads(line)
            results[k] = v
        return results, report

    def conns(self, event="connect", **match):
        """What reached the fake internet's servers during this test's runs (one fake internet
        serves every test of the class)."""
        self.net.sync()
        return [e for e in self.net.connections(event, **match) if e["t"] >= self.t0]

    def queries(self, name):
        self.net.sync()
        return [e for e in self.net.dns_queries(name) if e["t"] >= self.t0]

    def refusals(self, report):
        return [v["detail"] for v in report["violations"] if v["type"] == "network"]

    def test_allowed_name_connects_and_exchanges_bytes(self):
        res, report = self.fetch("tcp:allowed.test:7", "resolve:allowed.test")
        self.assertTrue(res["tcp:allowed.test:7"].startswith("ok "), res)
        self.assertIn("hello from the sandbox", res["tcp:allowed.test:7"])
        peer = res["tcp:allowed.test:7"].split()[1]
        self.assertIn(peer, ("203.0.113.10", "2001:db8::10"))
        self.assertEqual(set(res["resolve:allowed.test"]) - {"203.0.113.10", "2001:db8::10"},
                         set())
        self.assertTrue(self.conns(port=7, local=peer))
        # The positive control for the "never reached upstream" assertions elsewhere.
        self.assertTrue(self.queries("allowed.test"))
        conns = report["network"]["connections"]
        self.assertIn({"domain": "allowed.test", "ip": peer, "port": 7, "verdict": "allowed",
                       "reason": "name `allowed.test`", "count": 1}, conns)
        self.assertTrue([d for d in report["network"]["dns"]
                         if d["name"] == "allowed.test" and d["verdict"] == "allowed"], report)
        self.assertEqual(self.refusals(report), [])

    def test_denied_name_is_nxdomain_and_never_forwarded(self):
        res, report = self.fetch("resolve:other.test", "tcp:other.test:7",
                                 "resolve:secret-data.exfil.test")
        self.assertEqual(res["resolve:other.test"], "gaierror")
        self.assertEqual(res["tcp:other.test:7"], "gaierror")
        self.assertEqual(self.queries("other.test"), [])
        self.assertEqual(self.queries("secret-data.exfil.test"), [])
        self.assertEqual(self.conns(local="203.0.113.11"), [])
        self.assertIn("DNS query for other.test refused: not in allowed_domains (NXDOMAIN, not "
                      "forwarded)", self.refusals(report))
        self.assertTrue([d for d in report["network"]["dns"]
                         if d["name"] == "secret-data.exfil.test" and d["verdict"] == "denied"],
                        report)

    def test_ip_literal_and_blocked_port_are_refused(self):
        res, report = self.fetch("tcp:203.0.113.99:7", "tcp:allowed.test:22",
                                 "tcp:203.0.113.10:7", blocked_ports=[22])
        self.assertEqual(res["tcp:203.0.113.99:7"], "EPERM")
        self.assertEqual(res["tcp:allowed.test:22"], "ECONNREFUSED")
        # An allowed name's address, once the name was resolved, is reachable as a literal too.
        self.assertTrue(res["tcp:203.0.113.10:7"].startswith("ok "), res)
        self.assertEqual(self.conns(local="203.0.113.99"), [])
        self.assertEqual(self.conns(port=22), [])
        refusals = self.refusals(report)
        self.assertIn("203.0.113.99:7 refused: not in allowed_domains (no allowed name resolved "
                      "to it)", refusals)
        self.assertIn("203.0.113.10:22 (allowed.test) refused: blocked port", refusals)

    def test_ipv6_and_ttl0_names(self):
        if not fi.ipv6_available():
            self.skipTest("no IPv6 in this kernel")
        res, report = self.fetch("tcp:v6only.test:7", "resolve:ttl0.test", "sleep:1.5",
                                 "tcp:ttl0.test:7", allowed=("v6only.test", "ttl0.test"))
        self.assertTrue(res["tcp:v6only.test:7"].startswith("ok 2001:db8::14"), res)
        # A binding outlives a TTL of 0: the connect after the answer expired still works.
        self.assertTrue(res["tcp:ttl0.test:7"].startswith("ok 203.0.113.16"), res)
        self.assertTrue(self.conns(port=7, local="2001:db8::14"))

    def test_ip_and_cidr_entries_allow_addresses(self):
        res, _ = self.fetch("tcp:203.0.113.99:7", "tcp:203.0.113.15:7",
                            allowed=("203.0.113.99", "203.0.113.0/29"))
        self.assertTrue(res["tcp:203.0.113.99:7"].startswith("ok 203.0.113.99"), res)
        self.assertEqual(res["tcp:203.0.113.15:7"], "EPERM")

    def test_names_resolving_to_private_addresses_are_refused(self):
        names = ["private.test", "loopback.test", "metadata.test", "mixed.test"]
        res, report = self.fetch(*[f"resolve:{n}" for n in names], "tcp:private.test:7",
                                 "tcp:10.0.0.1:7", allowed=names)
        for n in ("private.test", "loopback.test", "metadata.test"):
            self.assertEqual(res[f"resolve:{n}"], "gaierror", n)
        self.assertEqual(res["resolve:mixed.test"], ["203.0.113.17"])
        self.assertEqual(res["tcp:private.test:7"], "gaierror")
        self.assertEqual(res["tcp:10.0.0.1:7"], "EPERM")
        refusals = self.refusals(report)
        self.assertTrue(any("10.0.0.1" in d and "private (RFC 1918)" in d for d in refusals),
                        refusals)
        self.assertTrue(any("127.0.0.1" in d and "loopback" in d for d in refusals), refusals)

    def test_udp_raw_packet_and_fast_open_are_refused(self):
        res, report = self.fetch("udp:203.0.113.53:53", "raw", "packet",
                                 "tfo:203.0.113.10:7", "resolve:allowed.test")
        self.assertEqual(res["udp:203.0.113.53:53"], "EPERM")
        self.assertEqual(res["raw"], "EPERM")
        self.assertEqual(res["packet"], "EAFNOSUPPORT")
        self.assertIn(res["tfo:203.0.113.10:7"], ("EOPNOTSUPP", "ENOTSUP"))  # one errno, 95
        # DNS through the sandbox's own resolver still works.
        self.assertIn("203.0.113.10", res["resolve:allowed.test"])
        refusals = self.refusals(report)
        self.assertTrue(any(d.startswith("203.0.113.53:53 refused: UDP datagram") for d in refusals),
                        refusals)
        details = {v["detail"] for v in report["violations"]}
        self.assertIn("sendto (TCP Fast Open)", details)
        self.assertTrue(any(d.startswith("socket") and "raw socket" in d for d in details),
                        details)
        self.assertTrue(any(d.startswith("socket") and "AF_PACKET" in d for d in details),
                        details)

    def test_io_uring_vsock_and_disconnecting_a_made_connection_are_refused(self):
        res, report = self.fetch("iouring", "vsock", "resolve:allowed.test",
                                 "unspec:203.0.113.10:7:203.0.113.99")
        self.assertEqual(res["iouring"], "EPERM")
        self.assertEqual(res["vsock"], "EAFNOSUPPORT")
        self.assertEqual(res["unspec:203.0.113.10:7:203.0.113.99"],
                         ["EPERM", "EISCONN", "still here"])
        self.assertEqual(self.conns(local="203.0.113.99"), [])
        details = {v["detail"] for v in report["violations"]}
        self.assertIn("io_uring_setup (io_uring)", details)
        self.assertIn("socket (AF_VSOCK)", details)
        self.assertIn("socket refused: connect on a connection the supervisor made", details)

    def test_wildcards_cname_chains_and_truncated_answers(self):
        res, report = self.fetch("tcp:a.wild.test:7", "resolve:wild.test",
                                 "tcp:chain.allowed.test:7", "resolve:tc.test",
                                 "resolve:www.allowed.test",
                                 allowed=("*.wild.test", "chain.allowed.test", "tc.test"))
        self.assertTrue(res["tcp:a.wild.test:7"].startswith("ok 203.0.113.19"), res)
        self.assertEqual(res["resolve:wild.test"], "gaierror")  # the apex is not listed
        self.assertTrue(res["tcp:chain.allowed.test:7"].split()[1] in
                        ("203.0.113.12", "2001:db8::12"), res)
        self.assertIn("203.0.113.10", res["resolve:tc.test"])  # over TCP upstream
        self.assertEqual(res["resolve:www.allowed.test"], "gaierror")
        self.assertEqual(self.queries("wild.test"), [])
        self.assertEqual(self.queries("www.allowed.test"), [])
        self.assertTrue([q for q in self.queries("tc.test") if q["proto"] == "tcp"])
        self.assertIn({"domain": "chain.allowed.test", "ip": res["tcp:chain.allowed.test:7"].split()[1],
                       "port": 7, "verdict": "allowed", "reason": "name `chain.allowed.test`",
                       "count": 1}, report["network"]["connections"])

    def test_tls_sni_and_http_host_are_checked_on_inspect_ports(self):
        res, report = self.fetch("https:allowed.test:allowed.test", "https:allowed.test:other.test",
                                 "https:cdn-a.test:cdn-b.test", "https:allowed.test:",
                                 "https:allowed.test:203.0.113.10",
                                 "http:allowed.test:allowed.test", "http:allowed.test:other.test",
                                 allowed=("allowed.test", "cdn-a.test"))
        self.assertTrue(res["https:allowed.test:allowed.test"].startswith("HTTP/1."), res)
        self.assertTrue(res["http:allowed.test:allowed.test"].startswith("HTTP/1."), res)
        for refused in ("https:allowed.test:other.test", "https:cdn-a.test:cdn-b.test",
                        "https:allowed.test:", "https:allowed.test:203.0.113.10",
                        "http:allowed.test:other.test"):
            self.assertFalse(res[refused].startswith("HTTP/"), (refused, res[refused]))
        # (Python sends no server_name for an IP address: refused as "no server_name".)
        # Nothing refused reached a server: no handshake or request naming those hosts.
        self.assertTrue(self.conns("tls", sni="allowed.test"))
        self.assertEqual(self.conns("tls", sni="other.test"), [])
        self.assertEqual(self.conns("tls", sni="cdn-b.test"), [])
        self.assertEqual(self.conns("http", host="other.test"), [])
        self.assertEqual(len(self.conns(port=443)), 1)
        self.assertEqual(len(self.conns(port=80)), 1)
        refusals = self.refusals(report)
        for want in ("TLS SNI `other.test` is not in allowed_domains",
                     "TLS SNI `cdn-b.test` is not in allowed_domains",
                     "TLS SNI: no server_name",
                     "HTTP Host `other.test` is not in allowed_domains"):
            self.assertTrue(any(want in d for d in refusals), (want, refusals))

    def test_every_request_of_a_keep_alive_connection_is_checked(self):
        res, report = self.fetch("keepalive:allowed.test:allowed.test:other.test",
                                 "keepalive:allowed.test:allowed.test:allowed.test")
        refused = res["keepalive:allowed.test:allowed.test:other.test"]
        self.assertTrue(refused[0].startswith("HTTP/1.1 200"), refused)
        self.assertFalse(refused[1].startswith("HTTP/"), refused)
        both = res["keepalive:allowed.test:allowed.test:allowed.test"]
        self.assertTrue(all(r.startswith("HTTP/1.1 200") for r in both), both)
        self.assertEqual(len(self.conns("http", host="allowed.test")), 3)
        self.assertEqual(self.conns("http", host="other.test"), [])
        self.assertTrue(any("a later request: HTTP Host `other.test` is not in allowed_domains"
                            in d for d in self.refusals(report)), self.refusals(report))

    def test_an_allowed_sni_must_be_bound_to_the_address(self):
        # Both names allowed; cdn-a.test resolved, other.test never: an SNI of other.test sent
        # to cdn-a.test's address is refused (the shared-address hole of IP-only checks).
        res, report = self.fetch("https:cdn-a.test:other.test", allowed=("cdn-a.test", "other.test"))
        self.assertFalse(res["https:cdn-a.test:other.test"].startswith("HTTP/"), res)
        self.assertEqual(self.conns("tls", sni="other.test"), [])
        self.assertTrue(any("TLS SNI `other.test` is not a name 203.0.113.12 was resolved for" in d
                            or "TLS SNI `other.test` is not a name 2001:db8::12 was resolved for" in d
                            for d in self.refusals(report)), self.refusals(report))

    def test_https_svcb_and_other_types_are_answered_empty_and_not_forwarded(self):
        res, _ = self.fetch("dnsq:https.test:65", "dnsq:https.test:64", "dnsq:https.test:16",
                            "dnsq:https.test:1", "dnsq:other.test:65", allowed=("https.test",))
        self.assertEqual(res["dnsq:https.test:65"], [0, 0])  # NOERROR, no ECH config, no hints
        self.assertEqual(res["dnsq:https.test:64"], [0, 0])
        self.assertEqual(res["dnsq:https.test:16"], [0, 0])
        self.assertEqual(res["dnsq:https.test:1"], [0, 1])
        self.assertEqual(res["dnsq:other.test:65"], [3, 0])  # NXDOMAIN
        self.assertEqual([q["qtype"] for q in self.queries("https.test")], ["A"])

    def test_a_racing_thread_never_reaches_a_refused_destination(self):
        res, report = self.fetch("resolve:allowed.test", "race:203.0.113.10:203.0.113.99:7:300")
        race = res["race:203.0.113.10:203.0.113.99:7:300"]
        self.assertEqual(set(race["peers"]) - {"203.0.113.10"}, set(), race)
        self.assertEqual(sum(race["peers"].values()) + race["refused"], 300)
        self.assertEqual(self.conns(local="203.0.113.99"), [])

    def test_refusals_are_in_the_signed_audit_log(self):
        _, report = self.fetch("tcp:203.0.113.99:7", "resolve:other.test")
        with open(os.path.join(self.state_dir, "audit.log")) as f:
            records = [json.loads(line) for line in f]
        violations = [r for r in records if r.get("event") == "violation"
                      and r.get("run_id") == report["run_id"] and r.get("type") == "network"]
        details = {v["detail"] for v in violations}
        self.assertIn("203.0.113.99:7 refused: not in allowed_domains (no allowed name resolved "
                      "to it)", details)
        self.assertTrue(any("other.test" in d for d in details), details)
        run = [r for r in records if r.get("event") == "run" and r.get("run_id") == report["run_id"]]
        self.assertEqual(len(run), 1)
        self.assertEqual(run[0]["network"]["allowed_domains"], ["allowed.test"])
        v = self.hive("audit", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_nothing_gets_out_once_the_supervisor_is_gone(self):
        policy = {"security": {"network": self.net.policy_network(["allowed.test"])}}
        p = self.write("p.yml", json.dumps(policy))
        script = self.write("keep.py", """
import socket, sys, time
socket.create_connection(("allowed.test", 7), timeout=10).close()
print("connected", flush=True)
while True:
    try:
        socket.create_connection(("allowed.test", 5432), timeout=2).close()
    except OSError:
        pass
    time.sleep(0.05)
""")
        self.t0 = time.time()
        proc = subprocess.Popen([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "script",
                                 "--policy", p, script, self.marker], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            self.assertEqual(proc.stdout.readline(), "connected\n")
            # The control: connects get through while the supervisor lives.
            self.net.wait_for(lambda: self.conns(port=5432), what="a connect on 5432")
            proc.send_signal(signal.SIGKILL)
            killed_at = time.time()
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        deadline = time.monotonic() + 10
        while hive_test.hive_processes(self.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(hive_test.hive_processes(self.marker), [], "sandbox outlived hive-run")
        time.sleep(0.5)
        late = [e for e in self.conns(port=5432) if e["t"] > killed_at + 0.2]
        self.assertEqual(late, [])
        # The next run records the lost one and removes its cgroups.
        r = self.hive("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_bundle_reaches_the_allowed_name_and_nothing_else(self):
        bundle = self.path("bb")
        r = self.hive("bundle", "init", "--template", "busybox", bundle, state=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        policy = {"security": {"network": self.net.policy_network(("allowed.test",))}}
        self.write("bb/policy.yml", json.dumps(policy))
        self.t0 = time.time()
        r, report = self.report(bundle, "--", "sh", "-c",
                                "cat /etc/resolv.conf; nslookup allowed.test; "
                                "nslookup other.test && echo LEAK; "
                                "echo hello | nc -w 3 allowed.test 7; "
                                "nc -w 3 203.0.113.99 7 </dev/null || echo REFUSED")
        self.assertIn("nameserver 127.0.0.53", r.stdout, r.stderr)
        self.assertIn("203.0.113.10", r.stdout, r.stderr)
        self.assertNotIn("LEAK", r.stdout)
        self.assertIn("REFUSED", r.stdout, r.stderr)
        self.assertEqual(self.queries("other.test"), [])
        self.assertIn("hello", r.stdout.splitlines(), r.stderr)
        self.assertTrue([c for c in self.conns(port=7)
                         if c["local"] in ("203.0.113.10", "2001:db8::10")], r.stdout + r.stderr)
        self.assertEqual(self.conns(local="203.0.113.99"), [])
        self.assertTrue([c for c in report["network"]["connections"]
                         if c["domain"] == "allowed.test" and c["verdict"] == "allowed"], report)
        # The bundle on disk is untouched: its resolv.conf stays the empty one it was made with.
        with open(os.path.join(bundle, "rootfs", "etc", "resolv.conf")) as f:
            self.assertEqual(f.read(), "")

    def test_a_bundle_without_resolv_conf_is_refused_by_name(self):
        bundle = self.path("bb2")
        r = self.hive("bundle", "init", "--template", "busybox", bundle, state=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.unlink(os.path.join(bundle, "rootfs", "etc", "resolv.conf"))
        policy = {"security": {"network": self.net.policy_network(("allowed.test",))}}
        self.write("bb2/policy.yml", json.dumps(policy))
        r = self.hive(bundle, "--", "true")
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("/etc/resolv.conf", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(bundle, "rootfs", "etc", "resolv.conf")))

    def test_empty_allowlist_keeps_the_network_off(self):
        p = self.write("p.yml", "security:\n  network:\n    allowed_domains: []\n")
        script = self.write("fetch.py", FETCH)
        r, report = self.report("script", "--policy", p, script, "tcp:203.0.113.10:7",
                                "resolve:allowed.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("network", report)
        out = dict(json.loads(line) for line in r.stdout.splitlines())
        self.assertEqual(out["tcp:203.0.113.10:7"], "EPERM")
        self.assertEqual(out["resolve:allowed.test"], "gaierror")

    def test_an_unmodified_client_curl_reaches_only_what_is_allowed(self):
        curl = shutil.which("curl")
        if not curl:
            self.skipTest("curl is not installed")
        p = self.write("p.yml", json.dumps(
            {"security": {"network": self.net.policy_network(["allowed.test"])}}))
        self.t0 = time.time()
        got = {}
        for url in ("http://allowed.test/c1", "https://allowed.test/c2", "http://other.test/c3",
                    "https://203.0.113.99/c4"):
            r = self.hive("exec", "--policy", p, "--", curl, "-sk", "-m", "10", "-o", "/dev/null",
                          "-w", "%{http_code}", url)
            got[url] = (r.returncode, r.stdout)
        self.assertEqual(got["http://allowed.test/c1"], (0, "200"))
        self.assertEqual(got["https://allowed.test/c2"], (0, "200"))
        self.assertEqual(got["http://other.test/c3"][0], 6)  # could not resolve
        self.assertEqual(got["https://203.0.113.99/c4"][0], 7)  # could not connect
        self.assertEqual([e["target"] for e in self.conns("http")], ["/c1", "/c2"])

    def test_a_kernel_without_what_enforcement_needs_refuses_the_run(self):
        policy = {"security": {"network": self.net.policy_network(["allowed.test"])}}
        p = self.write("p.yml", json.dumps(policy))
        r = self.hive("exec", "--policy", p, "--", "/bin/true",
                      env={"HIVE_RUN_TEST_KERNEL": "5.15.0"})
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("WAIT_KILLABLE_RECV", r.stderr)
        self.assertIn("security.network.allowed_domains", r.stderr)
        self.assertNoRunState()

    def test_bad_network_policy_is_refused_with_the_field(self):
        p = self.write("p.yml", "security:\n  network:\n    allowed_domains: ['a.*.test']\n")
        r = self.hive("script", "--policy", p, self.write("x.py", "print(1)\n"))
        self.assertEqual(r.returncode, 125)
        self.assertIn("security.network.allowed_domains[0]", r.stderr)


if __name__ == "__main__":
    hive_test.main()
