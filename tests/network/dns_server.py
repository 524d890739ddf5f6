"""An authoritative DNS server for a test zone, over UDP and TCP, logging every query.

The zone maps names to what they hold (names compare case-insensitively, no trailing dot):

    {"allowed.test":     {"A": ["203.0.113.10"], "AAAA": ["2001:db8::10"], "ttl": 300},
     "www.allowed.test": {"CNAME": "allowed.test"},
     "*.wild.test":      {"A": ["203.0.113.13"]},              # any name below wild.test
     "svc.test":         {"A": [...], "HTTPS": [{"priority": 1, "target": ".",
                                                 "params": {"alpn": ["h2"], "ech": "<base64>"}}]},
     "txt.test":         {"TXT": ["some text"]},
     "broken.test":      {"rcode": "SERVFAIL"},                # any rcode by name
     "big.test":         {"A": [...], "udp": "truncate"}}      # or "drop": no UDP answer at all

A name that is absent (and matches no wildcard) is NXDOMAIN; a present name without the
asked type is NODATA (NOERROR, no answer, the SOA in authority). CNAMEs are chased inside the
zone (at most MAX_CHASE hops, so loops end) and the chain is returned with the final answer.
"""
import base64
import socket
import struct
import threading
import time

import dns_wire as w

MAX_CHASE = 16
UDP_LIMIT_NO_EDNS = 512
UDP_LIMIT_EDNS = 1232
DEFAULT_TTL = 300


class Zone:
    def __init__(self, spec):
        self.nodes = {}
        for name, node in spec.items():
            self.nodes[w.normalize(name)] = self._compile(name, node)

    @staticmethod
    def _compile(name, node):
        out = {"ttl": int(node.get("ttl", DEFAULT_TTL)), "records": {}}
        if "rcode" in node:
            out["rcode"] = w.RCODES[node["rcode"].upper()]
        if node.get("udp") not in (None, "truncate", "drop"):
            raise ValueError(f"zone {name}: udp must be 'truncate' or 'drop'")
        out["udp"] = node.get("udp")
        for key, value in node.items():
            if key in ("ttl", "rcode", "udp"):
                continue
            rtype = w.type_code(key)
            if rtype == w.CNAME:
                out["records"][rtype] = [w.encode_name(w.labels_of(value))]
                out["cname"] = w.labels_of(value)
            elif rtype == w.A:
                out["records"][rtype] = [socket.inet_pton(socket.AF_INET, a) for a in value]
            elif rtype == w.AAAA:
                out["records"][rtype] = [socket.inet_pton(socket.AF_INET6, a) for a in value]
            elif rtype == w.TXT:
                out["records"][rtype] = [bytes([len(t)]) + t.encode() for t in value]
            elif rtype in (w.HTTPS, w.SVCB):
                out["records"][rtype] = [
                    w.encode_svcb(r.get("priority", 1), r.get("target", "."),
                                  _binary_params(r.get("params", {}))) for r in value]
            else:
                raise ValueError(f"zone {name}: type {key} is not supported")
        return out

    def find(self, name):
        """(node, matched-by-wildcard) for a normalized name, or (None, False)."""
        if name in self.nodes:
            return self.nodes[name], False
        labels = name.split(".")
        for i in range(1, len(labels)):
            node = self.nodes.get("*." + ".".join(labels[i:]))
            if node is not None:
                return node, True
        return None, False

    def resolve(self, question):
        """(rcode, answer records, node of the queried name or None)."""
        labels = question.labels
        first, _ = self.find(w.normalize(w.name_text(labels)))
        if first is not None and "rcode" in first:
            return first["rcode"], [], first
        answers = []
        node = first
        for _ in range(MAX_CHASE):
            if node is None:
                return w.NXDOMAIN, answers, first
            if "cname" in node and question.qtype != w.CNAME:
                answers.append(w.Record(labels, w.CNAME, node["ttl"], node["records"][w.CNAME][0]))
                labels = node["cname"]
                node, _ = self.find(w.normalize(w.name_text(labels)))
                continue
            if question.qtype == w.ANY:
                wanted = [(t, rd) for t, rds in node["records"].items() for rd in rds]
            else:
                wanted = [(question.qtype, rd) for rd in node["records"].get(question.qtype, [])]
            answers += [w.Record(labels, t, node["ttl"], rd) for t, rd in wanted]
            return w.NOERROR, answers, first
        return w.NOERROR, answers, first  # a CNAME loop: what an authoritative server returns


def _binary_params(params):
    out = {}
    for key, value in params.items():
        if (key == "ech" or key.startswith("key")) and isinstance(value, str):
            value = base64.b64decode(value)
        out[key] = value
    return out


def soa_for(labels):
    """A negative-answer SOA at the top-level label of the name ('test.' for 'x.test')."""
    apex = labels[-1:] if labels else ()
    rdata = (w.encode_name((b"ns", b"fake-internet") + apex)
             + w.encode_name((b"hostmaster", b"fake-internet") + apex)
             + struct.pack("!IIIII", 1, 3600, 600, 86400, 60))
    return w.Record(apex, w.SOA, 60, rdata)


class DnsServer:
    """Serves `zone` on UDP and TCP port `port` of each address in `addresses`."""

    def __init__(self, zone, addresses, log, port=53):
        self.zone, self.addresses, self.log, self.port = Zone(zone), addresses, log, port
        self.sockets = []

    def bind(self):
        """Binds every socket now, so a failure is reported before the server says ready."""
        for addr in self.addresses:
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            u = socket.socket(family, socket.SOCK_DGRAM)
            u.bind((addr, self.port))
            t = socket.socket(family, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((addr, self.port))
            t.listen(128)
            self.sockets += [("udp", u), ("tcp", t)]

    def start(self):
        for kind, s in self.sockets:
            target = self._serve_udp if kind == "udp" else self._serve_tcp
            threading.Thread(target=target, args=(s,), daemon=True).start()

    def _serve_udp(self, s):
        local = s.getsockname()[0]
        while True:
            data, peer = s.recvfrom(65535)
            try:
                reply = self.answer(data, "udp", peer, local)
                if reply is not None:
                    s.sendto(reply, peer)
            except Exception as e:  # noqa: BLE001 - one bad query must not stop the server
                self.log.write({"event": "dns", "proto": "udp", "client": peer[0],
                                "error": f"{type(e).__name__}: {e}"})

    def _serve_tcp(self, s):
        local = s.getsockname()[0]
        while True:
            conn, peer = s.accept()
            threading.Thread(target=self._tcp_conn, args=(conn, peer, local), daemon=True).start()

    def _tcp_conn(self, conn, peer, local):
        conn.settimeout(10)
        try:
            with conn:
                while True:
                    head = _recv_exact(conn, 2)
                    if head is None:
                        return
                    data = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    reply = self.answer(data, "tcp", peer, local)
                    if reply is not None:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
        except Exception as e:  # noqa: BLE001 - logged; the connection ends
            self.log.write({"event": "dns", "proto": "tcp", "client": peer[0],
                            "error": f"{type(e).__name__}: {e}"})

    def answer(self, data, transport, peer, local):
        """The reply bytes for one query (None: send nothing). Logged before it is sent, so a
        client that got the answer can rely on the log holding the query."""
        entry = {"t": time.time(), "proto": transport, "client": peer[0], "client_port": peer[1],
                 "server": local}
        try:
            msg_id, flags, qd, _, _, _ = w.decode_header(data)
        except w.WireError as e:
            self.log.write(dict(entry, event="dns", error=str(e)))
            return None
        try:
            query = w.decode(data)
        except w.WireError as e:
            self.log.write(dict(entry, event="dns", id=msg_id, error=str(e), rcode="FORMERR"))
            return _reply_header(msg_id, flags, w.FORMERR)
        edns = query.opt() is not None
        entry.update(id=msg_id, edns=edns)
        if query.qr or query.opcode != 0 or qd != 1:
            rcode = w.FORMERR if qd != 1 or query.qr else w.NOTIMP
            self.log.write(dict(entry, event="dns", rcode=w.RCODE_NAMES[rcode]))
            return _reply_header(msg_id, flags, rcode)
        q = query.questions[0]
        entry.update(qname=q.name, name=w.normalize(q.name), qtype=w.type_name(q.qtype))
        if q.qclass != w.CLASS_IN:
            rcode, answers, node = w.REFUSED, [], None
        else:
            rcode, answers, node = self.zone.resolve(q)
        behaviour = node.get("udp") if node is not None and transport == "udp" else None
        reply = w.Message(msg_id, 0x8000 | 0x0400 | (flags & 0x0100) | rcode, [q], answers)
        if rcode == w.NXDOMAIN or (rcode == w.NOERROR and not any(
                r.rtype == q.qtype or q.qtype == w.ANY for r in answers)):
            reply.authority.append(soa_for(q.labels))
        if edns:
            reply.additional.append(w.opt_record(UDP_LIMIT_EDNS))
        out = reply.encode()
        limit = UDP_LIMIT_EDNS if edns else UDP_LIMIT_NO_EDNS
        truncated = transport == "udp" and (behaviour == "truncate" or len(out) > limit)
        if truncated:
            reply.flags |= 0x0200
            reply.answers, reply.authority = [], []
            out = reply.encode()
        entry.update(event="dns", rcode=w.RCODE_NAMES.get(rcode, str(rcode)),
                     answers=[r.as_dict() for r in w.decode(out).answers], tc=truncated,
                     dropped=behaviour == "drop")
        self.log.write(entry)
        return None if behaviour == "drop" else out


def _reply_header(msg_id, flags, rcode):
    return struct.pack("!HHHHHH", msg_id, 0x8000 | (flags & 0x7900) | rcode, 0, 0, 0, 0)


def _recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)
