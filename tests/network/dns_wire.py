"""DNS messages on the wire (RFC 1035, 3596, 6891, 9460): just enough to serve a test zone
and to read the answers back.

Names are kept as tuples of raw label bytes, so that a question is echoed exactly as it came
(case included: resolvers that randomise the case of the query name check the echo). Text
forms use the presentation format, so a label holding a dot or a control byte cannot be
mistaken for another name in a log.
"""
import ipaddress
import struct

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT, SVCB, HTTPS, ANY = (
    1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 64, 65, 255)
TYPE_NAMES = {A: "A", NS: "NS", CNAME: "CNAME", SOA: "SOA", PTR: "PTR", MX: "MX", TXT: "TXT",
              AAAA: "AAAA", SRV: "SRV", OPT: "OPT", SVCB: "SVCB", HTTPS: "HTTPS", ANY: "ANY"}
TYPES = {v: k for k, v in TYPE_NAMES.items()}
CLASS_IN = 1

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODE_NAMES = {NOERROR: "NOERROR", FORMERR: "FORMERR", SERVFAIL: "SERVFAIL",
               NXDOMAIN: "NXDOMAIN", NOTIMP: "NOTIMP", REFUSED: "REFUSED"}
RCODES = {v: k for k, v in RCODE_NAMES.items()}

# SvcParamKeys (RFC 9460 section 14.3.2).
SVC_KEYS = {"mandatory": 0, "alpn": 1, "no-default-alpn": 2, "port": 3, "ipv4hint": 4,
            "ech": 5, "ipv6hint": 6}

MAX_POINTERS = 64  # more jumps than any honest message needs: a loop


class WireError(ValueError):
    pass


def type_name(t):
    return TYPE_NAMES.get(t, f"TYPE{t}")


def type_code(t):
    """`A`, `https`, `TYPE99` or 99 -> the numeric type."""
    if isinstance(t, int):
        return t
    up = t.upper()
    if up in TYPES:
        return TYPES[up]
    if up.startswith("TYPE") and up[4:].isdigit():
        return int(up[4:])
    raise ValueError(f"unknown DNS type {t!r}")


def labels_of(name):
    """`www.Example.test.` -> (b'www', b'Example', b'test'); the root is '' or '.'."""
    name = name.rstrip(".") if name != "." else ""
    if not name:
        return ()
    labels = tuple(part.encode("ascii") for part in name.split("."))
    for label in labels:
        if not 0 < len(label) < 64:
            raise ValueError(f"bad label in DNS name {name!r}")
    return labels


def name_text(labels):
    """Presentation form, lower-case untouched, without the trailing dot ('' for the root)."""
    out = []
    for label in labels:
        chars = []
        for b in label:
            c = chr(b)
            if c in ".\\":
                chars.append("\\" + c)
            elif 0x21 <= b <= 0x7e:
                chars.append(c)
            else:
                chars.append(f"\\{b:03d}")
        out.append("".join(chars))
    return ".".join(out)


def normalize(name):
    """The form names are compared in: lower-case ASCII, no trailing dot."""
    return name.rstrip(".").lower() if name != "." else ""


def encode_name(labels):
    out = bytearray()
    for label in labels:
        out.append(len(label))
        out += label
    out.append(0)
    if len(out) > 255:
        raise ValueError("DNS name longer than 255 octets")
    return bytes(out)


def decode_name(msg, off):
    """Reads a possibly compressed name at `off`: (labels, offset just past it)."""
    labels = []
    end = None
    jumps = 0
    total = 0
    while True:
        if off >= len(msg):
            raise WireError("name runs past the end of the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise WireError("truncated compression pointer")
            if end is None:
                end = off + 2
            jumps += 1
            if jumps > MAX_POINTERS:
                raise WireError("compression pointer loop")
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        if n & 0xC0:
            raise WireError(f"unsupported label type 0x{n:02x}")
        off += 1
        if n == 0:
            break
        if off + n > len(msg):
            raise WireError("label runs past the end of the message")
        labels.append(bytes(msg[off:off + n]))
        total += n + 1
        if total > 255:
            raise WireError("name longer than 255 octets")
        off += n
    return tuple(labels), (end if end is not None else off)


class Question:
    def __init__(self, labels, qtype, qclass=CLASS_IN):
        self.labels, self.qtype, self.qclass = labels, qtype, qclass

    @property
    def name(self):
        return name_text(self.labels)

    def encode(self):
        return encode_name(self.labels) + struct.pack("!HH", self.qtype, self.qclass)


class Record:
    """One resource record. `data` is the decoded value (see `rdata_value`), `rdata` the raw
    bytes."""

    def __init__(self, labels, rtype, ttl, rdata, rclass=CLASS_IN, data=None):
        self.labels, self.rtype, self.ttl, self.rdata, self.rclass = (
            labels, rtype, ttl, rdata, rclass)
        self.data = data

    @property
    def name(self):
        return name_text(self.labels)

    def encode(self):
        return (encode_name(self.labels)
                + struct.pack("!HHIH", self.rtype, self.rclass, self.ttl, len(self.rdata))
                + self.rdata)

    def as_dict(self):
        return {"name": self.name, "type": type_name(self.rtype), "ttl": self.ttl,
                "data": self.data if self.data is not None else self.rdata.hex()}


class Message:
    def __init__(self, msg_id=0, flags=0, questions=(), answers=(), authority=(),
                 additional=()):
        self.id, self.flags = msg_id, flags
        self.questions, self.answers = list(questions), list(answers)
        self.authority, self.additional = list(authority), list(additional)

    qr = property(lambda self: bool(self.flags & 0x8000))
    opcode = property(lambda self: (self.flags >> 11) & 0xF)
    aa = property(lambda self: bool(self.flags & 0x0400))
    tc = property(lambda self: bool(self.flags & 0x0200))
    rd = property(lambda self: bool(self.flags & 0x0100))
    rcode = property(lambda self: self.flags & 0xF)

    @property
    def rcode_name(self):
        return RCODE_NAMES.get(self.rcode, f"RCODE{self.rcode}")

    def opt(self):
        return next((r for r in self.additional if r.rtype == OPT), None)

    def encode(self):
        out = bytearray(struct.pack("!HHHHHH", self.id, self.flags, len(self.questions),
                                    len(self.answers), len(self.authority),
                                    len(self.additional)))
        for q in self.questions:
            out += q.encode()
        for section in (self.answers, self.authority, self.additional):
            for r in section:
                out += r.encode()
        return bytes(out)


def decode_header(msg):
    if len(msg) < 12:
        raise WireError("message shorter than a DNS header")
    return struct.unpack("!HHHHHH", msg[:12])


def decode(msg):
    """A whole message; raises WireError on anything malformed."""
    msg_id, flags, qd, an, ns, ar = decode_header(msg)
    m = Message(msg_id, flags)
    off = 12
    for _ in range(qd):
        labels, off = decode_name(msg, off)
        if off + 4 > len(msg):
            raise WireError("truncated question")
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        off += 4
        m.questions.append(Question(labels, qtype, qclass))
    for section, count in ((m.answers, an), (m.authority, ns), (m.additional, ar)):
        for _ in range(count):
            labels, off = decode_name(msg, off)
            if off + 10 > len(msg):
                raise WireError("truncated resource record")
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            if off + rdlen > len(msg):
                raise WireError("rdata runs past the end of the message")
            rdata = bytes(msg[off:off + rdlen])
            data = rdata_value(msg, off, rtype, rdata)
            off += rdlen
            section.append(Record(labels, rtype, ttl, rdata, rclass, data))
    return m


def rdata_value(msg, off, rtype, rdata):
    """A readable value for the types tests look at; None for the rest (shown as hex)."""
    try:
        if rtype == A and len(rdata) == 4:
            return str(ipaddress.IPv4Address(rdata))
        if rtype == AAAA and len(rdata) == 16:
            return str(ipaddress.IPv6Address(rdata))
        if rtype in (CNAME, NS, PTR):
            return name_text(decode_name(msg, off)[0])
        if rtype in (SVCB, HTTPS):
            return decode_svcb(rdata)
        if rtype == TXT:
            out, i = [], 0
            while i < len(rdata):
                n = rdata[i]
                out.append(rdata[i + 1:i + 1 + n].decode("latin-1"))
                i += 1 + n
            return out
    except (WireError, ValueError, IndexError):
        return None
    return None


# --- SVCB / HTTPS -----------------------------------------------------------------------------

def encode_svcb(priority, target, params):
    """params: {"alpn": ["h2"], "port": 443, "ipv4hint": [...], "ipv6hint": [...],
    "ech": bytes, "no-default-alpn": True, "mandatory": ["alpn"], "key65000": bytes}."""
    out = bytearray(struct.pack("!H", priority)) + encode_name(labels_of(target))
    encoded = []
    for key, value in params.items():
        code = SVC_KEYS[key] if key in SVC_KEYS else int(key[3:])
        if key == "alpn":
            v = b"".join(bytes([len(p)]) + p.encode() for p in value)
        elif key == "port":
            v = struct.pack("!H", value)
        elif key == "ipv4hint":
            v = b"".join(ipaddress.IPv4Address(a).packed for a in value)
        elif key == "ipv6hint":
            v = b"".join(ipaddress.IPv6Address(a).packed for a in value)
        elif key == "no-default-alpn":
            v = b""
        elif key == "mandatory":
            v = b"".join(struct.pack("!H", SVC_KEYS[k]) for k in value)
        else:
            v = bytes(value)
        encoded.append((code, v))
    for code, v in sorted(encoded):
        out += struct.pack("!HH", code, len(v)) + v
    return bytes(out)


def decode_svcb(rdata):
    priority = struct.unpack("!H", rdata[:2])[0]
    labels, off = decode_name(rdata, 2)
    params = {}
    names = {v: k for k, v in SVC_KEYS.items()}
    while off < len(rdata):
        code, n = struct.unpack("!HH", rdata[off:off + 4])
        params[names.get(code, f"key{code}")] = rdata[off + 4:off + 4 + n].hex()
        off += 4 + n
    return {"priority": priority, "target": name_text(labels) or ".", "params": params}


# --- building queries ---------------------------------------------------------------------------

def opt_record(payload=1232):
    return Record((), OPT, 0, b"", rclass=payload)


def make_query(name, qtype, msg_id, rd=True, edns=True):
    flags = 0x0100 if rd else 0
    return Message(msg_id, flags, [Question(labels_of(name), type_code(qtype))],
                   additional=[opt_record()] if edns else []).encode()
