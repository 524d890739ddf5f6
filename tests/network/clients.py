"""Clients that reach the fake internet without the host's resolver: names are looked up
with a query sent to a DNS server the caller names, so a test checks the fake internet
itself, from the host's network namespace, with nothing else involved.
"""
import ipaddress
import os
import socket
import ssl
import struct

import dns_wire as w


def is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def query(server, name, qtype="A", tcp=False, timeout=2.0, edns=True, port=53,
          follow_tc=True):
    """Sends one query and returns the decoded reply (a dns_wire.Message). Over UDP a
    truncated reply is asked again over TCP unless follow_tc is false."""
    msg_id = struct.unpack("!H", os.urandom(2))[0]
    wire = w.make_query(name, qtype, msg_id, edns=edns)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    if tcp:
        with socket.create_connection((server, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            n = struct.unpack("!H", _recv_exact(s, 2))[0]
            reply = w.decode(_recv_exact(s, n))
    else:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect((server, port))  # replies from any other address are not ours
            s.send(wire)
            while True:
                reply = w.decode(s.recv(65535))
                if reply.id == msg_id and reply.qr:
                    break
        if reply.tc and follow_tc:
            return query(server, name, qtype, True, timeout, edns, port)
    if reply.id != msg_id:
        raise w.WireError(f"reply id {reply.id} does not match query id {msg_id}")
    return reply


def resolve(server, name, qtype="A", **kw):
    """The addresses (or other values) of type qtype the answer holds for `name`, CNAMEs
    followed inside the answer. NXDOMAIN and other errors raise LookupError."""
    reply = query(server, name, qtype, **kw)
    if reply.rcode != w.NOERROR:
        raise LookupError(f"{name} {qtype}: {reply.rcode_name}")
    want = w.type_code(qtype)
    return [r.data for r in reply.answers if r.rtype == want]


def addresses(server, name, families=("A", "AAAA"), **kw):
    out = []
    for qtype in families:
        try:
            out += resolve(server, name, qtype, **kw)
        except LookupError:
            if qtype == families[-1] and not out:
                raise
    return out


def connect(host, port, dns=None, timeout=5.0, family=None):
    """A connected TCP socket to an IP literal, or to the first address of a name looked up
    through `dns`. family: "A" or "AAAA" to use only that kind of address."""
    if is_ip(host):
        candidates = [host]
    else:
        if dns is None:
            raise ValueError(f"{host} is a name: give the DNS server to look it up with")
        candidates = addresses(dns, host, (family,) if family else ("A", "AAAA"))
        if not candidates:
            raise LookupError(f"{host}: no {family or 'A/AAAA'} records")
    err = None
    for addr in candidates:
        try:
            return socket.create_connection((addr, port), timeout=timeout)
        except OSError as e:
            err = e
    raise err


def exchange(sock, data, expect=None):
    """Sends data and reads until `expect` bytes came (default: len(data)) or EOF."""
    sock.sendall(data)
    want = len(data) if expect is None else expect
    got = bytearray()
    while len(got) < want:
        chunk = sock.recv(want - len(got))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def read_http_response(sock):
    """(status, headers with lower-case names, body) of a Connection: close response."""
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def _request(host_header, path, method="GET"):
    return (f"{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: fake-internet-test"
            "\r\nConnection: close\r\n\r\n").encode()


def http_get(host, port=80, path="/", dns=None, host_header=None, timeout=5.0):
    with connect(host, port, dns, timeout) as s:
        s.sendall(_request(host_header or host, path))
        return read_http_response(s)


def tls_context(cafile=None, verify=True):
    ctx = ssl.create_default_context(cafile=cafile) if verify else ssl.SSLContext(
        ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tls_connect(host, port=443, sni="", dns=None, cafile=None, verify=True, timeout=5.0):
    """A TLS socket after the handshake. sni: the name sent in the ClientHello ("" = the host
    itself when it is a name; None = no SNI at all, which also turns off the name check)."""
    if sni == "":
        sni = None if is_ip(host) else host
    ctx = tls_context(cafile, verify)
    if sni is None:
        ctx.check_hostname = False
    raw = connect(host, port, dns, timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def https_get(host, port=443, path="/", sni="", dns=None, cafile=None, verify=True,
              host_header=None, timeout=5.0):
    with tls_connect(host, port, sni, dns, cafile, verify, timeout) as s:
        s.sendall(_request(host_header or (sni or host), path))
        return read_http_response(s)


# --- a hand-made ClientHello, for what ssl will not send ----------------------------------------

def client_hello(sni, ech_grease=False, pad_to=0):
    """A TLS 1.3 ClientHello handshake message (not yet in records) that a real server
    answers. sni: str or bytes sent as is (an IP literal, a denied name) or None for none;
    ech_grease adds an encrypted_client_hello extension (outer, GREASE-shaped); pad_to pads
    the message to at least that many bytes (large hellos span several records)."""
    ext = bytearray()

    def add(etype, body):
        ext.extend(struct.pack("!HH", etype, len(body)) + body)

    if sni is not None:
        name = sni.encode() if isinstance(sni, str) else sni
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        add(0, struct.pack("!H", len(entry)) + entry)
    add(10, struct.pack("!H", 4) + struct.pack("!HH", 0x001d, 0x0017))  # x25519, secp256r1
    add(11, b"\x01\x00")
    algs = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
    add(13, struct.pack("!H", 2 * len(algs)) + b"".join(struct.pack("!H", a) for a in algs))
    add(16, b"\x00\x09\x08http/1.1")
    add(43, b"\x04\x03\x04\x03\x03")  # supported_versions: TLS 1.3, 1.2
    add(45, b"\x01\x01")  # psk_dhe_ke
    # Any 32 bytes are a valid X25519 public key, so the server gets through the hello.
    share = struct.pack("!HH", 0x001d, 32) + os.urandom(32)
    add(51, struct.pack("!H", len(share)) + share)
    if ech_grease:
        payload = os.urandom(144)
        add(0xfe0d, b"\x00" + struct.pack("!HH", 1, 1) + os.urandom(1)
            + struct.pack("!H", 32) + os.urandom(32) + struct.pack("!H", len(payload)) + payload)
    suites = (0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030)
    body = bytearray(b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32))
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"
    short = pad_to - (len(body) + 2 + len(ext) + 4 + 4)
    if short > 0:
        add(21, bytes(short))
    body += struct.pack("!H", len(ext)) + ext
    return b"\x01" + struct.pack("!I", len(body))[1:] + bytes(body)


def tls_records(handshake, record_size=16384):
    """The handshake message in TLS handshake records of at most record_size bytes each."""
    out = bytearray()
    for i in range(0, len(handshake), record_size):
        part = handshake[i:i + record_size]
        out += b"\x16\x03\x01" + struct.pack("!H", len(part)) + part
    return bytes(out)


def send_hello(host, port, hello_records, timeout=5.0, chunks=None):
    """Sends raw ClientHello records (optionally in TCP writes of `chunks` bytes) and returns
    the first bytes the server sent back: b'\\x16...' a ServerHello, b'\\x15...' an alert,
    b'' a close."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        step = chunks or len(hello_records)
        for i in range(0, len(hello_records), step):
            s.sendall(hello_records[i:i + step])
        try:
            return s.recv(65536)
        except ConnectionResetError:
            return b""


def _recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)
