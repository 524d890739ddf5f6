"""The fake internet itself, from the host's network namespace with no sandbox involved:
its DNS answers and logs, its servers answer and log, and it leaves nothing behind, also
when the test using it fails or is killed.

Skipped (77) when not root or when `ip` or `openssl` is missing.
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clients  # noqa: E402
import dns_wire as w  # noqa: E402
import fake_internet as fi  # noqa: E402

SKIP = 77


def main_table_routes():
    out = []
    for family in ("-4", "-6") if fi.ipv6_available() else ("-4",):
        out += [json.dumps(r, sort_keys=True) for r in fi._ip_json(family, "route", "show")]
    return sorted(out)


class FakeInternetTest(unittest.TestCase):
    """One fake internet for every case of this class (starting one costs ~0.3 s)."""

    @classmethod
    def setUpClass(cls):
        cls.routes_before = main_table_routes()
        try:
            cls.net = fi.FakeInternet().start()
        except fi.Unavailable as e:
            raise unittest.SkipTest(str(e))

    @classmethod
    def tearDownClass(cls):
        cls.net.stop()  # raises if anything is left behind

    def need_ipv6(self):
        if not self.net.ipv6:
            self.skipTest("IPv6 is disabled on this host")

    # --- DNS -----------------------------------------------------------------------------

    def test_resolves_a_and_aaaa(self):
        net = self.net
        self.assertEqual(clients.resolve(net.dns_v4, "allowed.test", "A"), ["203.0.113.10"])
        self.assertEqual(clients.resolve(net.dns_v4, "allowed.test", "A", tcp=True),
                         ["203.0.113.10"])
        self.need_ipv6()
        self.assertEqual(clients.resolve(net.dns_v4, "allowed.test", "AAAA"), ["2001:db8::10"])
        self.assertEqual(clients.resolve(net.dns_v6, "allowed.test", "AAAA"), ["2001:db8::10"])

    def test_follows_cname_chain(self):
        reply = clients.query(self.net.dns_v4, "chain.allowed.test", "A")
        self.assertEqual(reply.rcode, w.NOERROR)
        self.assertEqual([(r.name, w.type_name(r.rtype), r.data) for r in reply.answers], [
            ("chain.allowed.test", "CNAME", "edge1.cdn.test"),
            ("edge1.cdn.test", "CNAME", "edge2.cdn.test"),
            ("edge2.cdn.test", "A", "203.0.113.12")])
        self.assertEqual(clients.resolve(self.net.dns_v4, "www.allowed.test"), ["203.0.113.10"])

    def test_nxdomain_for_unknown_name(self):
        reply = clients.query(self.net.dns_v4, "unknown.test", "A")
        self.assertEqual(reply.rcode_name, "NXDOMAIN")
        self.assertEqual(reply.answers, [])
        self.assertEqual([w.type_name(r.rtype) for r in reply.authority], ["SOA"])
        with self.assertRaisesRegex(LookupError, "NXDOMAIN"):
            clients.resolve(self.net.dns_v4, "unknown.test")
        # A CNAME to a missing name: NXDOMAIN with the chain (RFC 6604).
        reply = clients.query(self.net.dns_v4, "dangling.test", "A")
        self.assertEqual(reply.rcode_name, "NXDOMAIN")
        self.assertEqual([r.data for r in reply.answers], ["missing.test"])

    def test_query_log(self):
        name = f"q{os.urandom(4).hex()}.allowed.test"
        never = f"n{os.urandom(4).hex()}.other.test"
        clients.query(self.net.dns_v4, name.upper(), "AAAA")
        self.net.sync()
        entries = self.net.dns_queries(name)
        self.assertEqual(len(entries), 1, entries)
        e = entries[0]
        self.assertEqual((e["qname"], e["qtype"], e["proto"], e["rcode"], e["client"]),
                         (name.upper(), "AAAA", "udp", "NXDOMAIN", fi.HOST_V4))
        self.assertEqual(self.net.dns_queries(never), [])
        self.assertFalse(any(q.get("name", "").endswith(fi.SYNC_SUFFIX)
                             for q in self.net.dns_queries()), "sync markers are left out")

    def test_https_and_svcb_records(self):
        reply = clients.query(self.net.dns_v4, "https.test", "HTTPS")
        self.assertEqual(len(reply.answers), 1)
        rr = reply.answers[0].data
        self.assertEqual(rr["priority"], 1)
        self.assertIn("ech", rr["params"])
        self.assertIn("alpn", rr["params"])
        for name, qtype in (("allowed.test", "HTTPS"), ("https.test", "SVCB")):
            reply = clients.query(self.net.dns_v4, name, qtype)
            self.assertEqual((reply.rcode_name, reply.answers), ("NOERROR", []), (name, qtype))

    def test_dns_behaviours(self):
        dns = self.net.dns_v4
        reply = clients.query(dns, "tc.test", "A", follow_tc=False)
        self.assertTrue(reply.tc)
        self.assertEqual(reply.answers, [])
        self.assertEqual(clients.resolve(dns, "tc.test"), ["203.0.113.10"])  # again over TCP
        with self.assertRaises(socket.timeout):
            clients.query(dns, "drop.test", "A", timeout=0.3)
        self.assertEqual(clients.resolve(dns, "drop.test", tcp=True), ["203.0.113.10"])
        self.assertEqual(clients.query(dns, "broken.test").rcode_name, "SERVFAIL")
        # The question is echoed as asked (case included) and matched case-insensitively.
        reply = clients.query(dns, "AlLoWeD.TeSt", "A")
        self.assertEqual(reply.questions[0].name, "AlLoWeD.TeSt")
        self.assertEqual([r.data for r in reply.answers], ["203.0.113.10"])
        self.assertEqual(clients.resolve(dns, "a.b.wild.test"), ["203.0.113.19"])
        self.assertEqual(clients.query(dns, "wild.test").rcode_name, "NXDOMAIN")
        loop = clients.query(dns, "loop1.test", "A")
        self.assertTrue(0 < len(loop.answers) <= 16)
        self.assertEqual(clients.resolve(dns, "private.test"), ["10.0.0.1"])
        self.assertEqual(clients.resolve(dns, "loopback.test"), ["127.0.0.1"])
        self.assertEqual(clients.resolve(dns, "mixed.test"), ["203.0.113.17", "10.0.0.2"])
        self.assertEqual(clients.query(dns, "ttl0.test").answers[0].ttl, 0)

    def test_malformed_query_gets_formerr(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c", (
                self.net.dns_v4, 53))  # the question name is a pointer to itself
            reply = s.recv(512)
        self.assertEqual(reply[:2], b"\x12\x34")
        self.assertEqual(reply[3] & 0xF, w.FORMERR)

    # --- TCP, HTTP, TLS ------------------------------------------------------------------

    def test_echo_server(self):
        with clients.connect("allowed.test", 7, dns=self.net.dns_v4) as s:
            self.assertEqual(clients.exchange(s, b"hello fake internet"), b"hello fake internet")
            port = s.getsockname()[1]
        got = self.net.connections(port=7, peer_port=port)
        self.assertEqual(len(got), 1)
        self.assertEqual((got[0]["local"], got[0]["peer"], got[0]["service"]),
                         ("203.0.113.10", fi.HOST_V4, "echo"))
        closed = self.net.wait_for(lambda: self.net.connections("close", peer_port=port))
        self.assertEqual((closed[0]["rx"], closed[0]["tx"]), (19, 19))
        if self.net.ipv6:
            with clients.connect("allowed.test", 5432, dns=self.net.dns_v4, family="AAAA") as s:
                self.assertEqual(s.getpeername()[0], "2001:db8::10")
                self.assertEqual(clients.exchange(s, b"v6"), b"v6")
            self.assertTrue(self.net.connections(port=5432, local="2001:db8::10"))

    def test_banner_on_port_22(self):
        with clients.connect(fi.UNNAMED_V4, 22) as s:
            self.assertEqual(s.recv(100), b"SSH-2.0-FakeInternet\r\n")
        self.assertTrue(self.net.connections(port=22, local=fi.UNNAMED_V4))

    def test_http_echoes_host(self):
        status, headers, body = clients.http_get("allowed.test", dns=self.net.dns_v4,
                                                 path="/x?y=1")
        self.assertEqual(status, 200)
        info = json.loads(body)
        self.assertEqual((info["host"], info["target"], info["server"]),
                         ("allowed.test", "/x?y=1", "203.0.113.10"))
        # The Host header is what the client sent, whatever the address.
        _, _, body = clients.http_get("203.0.113.10", host_header="other.test")
        self.assertEqual(json.loads(body)["host"], "other.test")
        hosts = [e["host"] for e in self.net.connections("http", local="203.0.113.10")]
        self.assertIn("allowed.test", hosts)
        self.assertIn("other.test", hosts)

    def test_tls_reports_sni(self):
        net = self.net
        _, _, body = clients.https_get("allowed.test", dns=net.dns_v4, cafile=net.cafile)
        self.assertEqual(json.loads(body)["sni"], "allowed.test")
        # An allowed name's address with another name in the hello: the server sees that name.
        _, _, body = clients.https_get("203.0.113.10", sni="other.test", cafile=net.cafile)
        self.assertEqual(json.loads(body)["sni"], "other.test")
        with clients.tls_connect("203.0.113.10", sni=None, cafile=net.cafile) as s:
            port = s.getsockname()[1]
        tls = net.wait_for(lambda: net.connections("tls", peer_port=port))
        self.assertIsNone(tls[0]["sni"])
        snis = [e["sni"] for e in net.connections("tls", local="203.0.113.10")]
        self.assertIn("allowed.test", snis)
        self.assertIn("other.test", snis)

    def test_certificate_is_made_here(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            clients.https_get("allowed.test", dns=self.net.dns_v4)  # system trust store
        with self.assertRaises(ssl.SSLCertVerificationError):
            clients.https_get("allowed.test", dns=self.net.dns_v4, sni="not-in-zone.example",
                              cafile=self.net.cafile)

    def test_hand_made_hellos(self):
        """What ssl will not send: an IP-literal SNI, an ECH extension, a hello over many
        records and TCP writes. The server answers each and logs the SNI."""
        net = self.net
        cases = [("203.0.113.10", False, 0, None), ("allowed.test", True, 0, None),
                 ("allowed.test", False, 40000, 1000)]
        for sni, ech, pad, record in cases:
            hello = clients.tls_records(clients.client_hello(sni, ech_grease=ech, pad_to=pad),
                                        record or 16384)
            first = clients.send_hello("203.0.113.11", 443, hello, chunks=record and 7000)
            self.assertEqual(first[:1], b"\x16", f"no ServerHello for {sni}, {ech}, {pad}")
            net.wait_for(lambda s=sni: any(e["sni"] == s for e in net.connections(
                "tls", local="203.0.113.11")), what=f"tls event with sni {sni}")
        self.assertGreater(len(clients.tls_records(clients.client_hello("a", pad_to=40000),
                                                   1000)), 40000)

    def test_unassigned_address_fails_fast(self):
        t = time.monotonic()
        with self.assertRaises(OSError) as cm:
            clients.connect("203.0.113.200", 7, timeout=10).close()
        self.assertEqual(cm.exception.errno, 113)  # EHOSTUNREACH, not a timeout
        self.assertLess(time.monotonic() - t, 5)

    def test_bulk_transfer(self):
        n = 8 << 20
        with clients.connect("other.test", 9000, dns=self.net.dns_v4) as s:
            s.sendall(bytes(n))
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(100), str(n).encode())
        with clients.connect("other.test", 9001, dns=self.net.dns_v4) as s:
            s.sendall(n.to_bytes(8, "big"))
            got = 0
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        self.assertEqual(got, n)

    def test_only_documentation_routes_added(self):
        """Routes through the veth lead only into the documentation prefixes, and every route
        into them goes through the veth. (Other routes are not compared: other tests on the
        machine may add theirs meanwhile.)"""
        ours = [json.loads(r) for r in main_table_routes()
                if json.loads(r).get("dev") == self.net.veth]
        self.assertIn(str(fi.PREFIX_V4), [r["dst"] for r in ours])
        if self.net.ipv6:
            self.assertIn(str(fi.PREFIX_V6), [r["dst"] for r in ours])
        for r in ours:
            dst = fi.ipaddress.ip_network(r["dst"], strict=False)
            self.assertTrue(dst.subnet_of(fi.PREFIX_V4) if dst.version == 4
                            else dst.subnet_of(fi.PREFIX_V6), r)
        for r in fi.doc_routes():
            self.assertIn(f"dev {self.net.veth} ", r)
        defaults = [r for r in main_table_routes() if json.loads(r)["dst"] == "default"]
        self.assertEqual(defaults, [r for r in self.routes_before
                                    if json.loads(r)["dst"] == "default"])


class TeardownTest(unittest.TestCase):
    """Each case starts its own fake internet (the class above has stopped by now)."""

    def setUp(self):
        if fi.unavailable_reason():
            self.skipTest(fi.unavailable_reason())

    def assertGone(self, net):
        self.assertNotIn(net.netns, fi.netns_names())
        self.assertNotIn(net.veth, fi.link_names())
        if net.server_pid:
            self.assertFalse(fi._alive(net.server_pid, net.server_start_time),
                             f"server pid {net.server_pid} still runs")
        self.assertEqual(fi.doc_routes(), [])
        self.assertEqual(fi.doc_addresses(), [])
        self.assertFalse(os.path.exists(net._state_path()))
        if net.dir:
            self.assertFalse(os.path.exists(net.dir))

    def test_teardown_leaves_nothing(self):
        net = fi.FakeInternet().start()
        self.assertIn(net.netns, fi.netns_names())
        self.assertIn(net.veth, fi.link_names())
        self.assertTrue(os.path.exists(f"/proc/{net.server_pid}"))
        pids = fi.run([fi.IP, "netns", "pids", net.netns]).split()
        self.assertEqual(pids, [str(net.server_pid)])
        net.stop()
        self.assertGone(net)

    def test_teardown_when_the_test_fails(self):
        with self.assertRaises(ZeroDivisionError):
            with fi.FakeInternet() as net:
                clients.resolve(net.dns_v4, "allowed.test")
                1 / 0
        self.assertGone(net)

    def test_failed_start_cleans_up(self):
        net = fi.FakeInternet(tcp=[{"port": 7, "service": "no-such-service"}])
        with self.assertRaisesRegex(RuntimeError, "no-such-service"):
            net.start()
        self.assertGone(net)

    def test_sigterm_tears_down(self):
        """A test run that times out gets SIGTERM: the fake internet still goes away."""
        child = subprocess.Popen([sys.executable, "-c", (
            "import json, sys, time; sys.path.insert(0, sys.argv[1]); import fake_internet as fi\n"
            "with fi.FakeInternet() as net:\n"
            "    print(json.dumps([net.netns, net.veth]), flush=True)\n"
            "    time.sleep(60)"), os.path.dirname(os.path.abspath(__file__))],
            stdout=subprocess.PIPE, text=True)
        netns, veth = json.loads(child.stdout.readline())
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(10), 128 + signal.SIGTERM)
        child.stdout.close()
        self.assertNotIn(netns, fi.netns_names())
        self.assertNotIn(veth, fi.link_names())
        self.assertFalse(os.path.exists(os.path.join(fi.STATE_DIR, netns + ".json")))

    def test_killed_test_is_swept_by_the_next_start(self):
        child = subprocess.Popen([sys.executable, "-c", (
            "import os, sys, json; sys.path.insert(0, sys.argv[1]); import fake_internet as fi\n"
            "net = fi.FakeInternet().start()\n"
            "print(json.dumps([net.netns, net.veth, net.server_pid, net.dir]), flush=True)\n"
            "os.kill(os.getpid(), 9)"), os.path.dirname(os.path.abspath(__file__))],
            stdout=subprocess.PIPE, text=True)
        netns, veth, pid, tmp = json.loads(child.stdout.readline())
        child.wait()
        child.stdout.close()
        self.assertEqual(child.returncode, -signal.SIGKILL)
        self.assertIn(netns, fi.netns_names())  # what a killed test leaves ...
        self.assertIn(veth, fi.link_names())
        # ... but not its server: it dies with its parent.
        deadline = time.monotonic() + 5
        while fi._alive(pid, None) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertFalse(fi._alive(pid, None), f"server pid {pid} outlived its test")
        with fi.FakeInternet() as net:
            self.assertNotIn(netns, fi.netns_names())
            self.assertNotIn(veth, fi.link_names())
            self.assertFalse(os.path.exists(tmp))
            self.assertEqual(clients.resolve(net.dns_v4, "allowed.test"), ["203.0.113.10"])
        self.assertGone(net)


if __name__ == "__main__":
    reason = fi.unavailable_reason()
    if reason:
        print(f"skipped: {reason}")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
