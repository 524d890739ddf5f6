"""TCP services of the fake internet, each logging what it saw for the test to assert.

A listener is {"port": 80, "service": "http"} plus the service's options. Services:

  echo    sends back what it receives
  banner  sends `banner` first (server-speaks-first, like ssh or smtp), then echoes
  http    HTTP/1.1, keep-alive: every request is answered 200 with a JSON body naming the
          Host, method and target it received
  tls     a TLS server (`cert`, `key`) that logs the SNI of every ClientHello, even of a
          handshake that then fails, and speaks the http service inside
  sink    reads to EOF, then answers the byte count in ASCII (upload throughput)
  source  reads an 8-byte big-endian count and sends that many bytes (download throughput)
  accept  closes every connection at once and logs nothing (connect() latency)

Every listener is dual-stack on all of the namespace's addresses, so one service answers
on every server address; the log says which address was dialled (`local`). The accept
thread writes the `connect` event before it hands the connection on, so events of one port
are in accept order (FakeInternet.sync relies on it).
"""
import itertools
import json
import socket
import ssl
import struct
import threading
import time

MAX_HEAD = 64 * 1024
BUF = 1 << 20
_conn_ids = itertools.count(1)


def plain(addr):
    """`::ffff:203.0.113.1` (a v4 peer on a dual-stack socket) -> `203.0.113.1`."""
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


class Listener:
    def __init__(self, spec, log, ipv6=True):
        self.spec, self.log = spec, log
        self.port, self.service = spec["port"], spec["service"]
        self.handler = HANDLERS[self.service]
        if ipv6:
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            bind_to = ("::", self.port)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            bind_to = ("0.0.0.0", self.port)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(bind_to)
        self.sock.listen(4096)
        self.tls = None
        if self.service == "tls":
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(spec["cert"], spec["key"])
            self.tls.set_alpn_protocols(["http/1.1"])
            self.tls.sni_callback = _remember_sni

    def start(self):
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            conn, peer = self.sock.accept()
            if self.service == "accept":  # connect() benchmarks: no thread, no log line
                conn.close()
                continue
            local = conn.getsockname()
            ev = {"conn": next(_conn_ids), "service": self.service, "port": self.port,
                  "local": plain(local[0]), "peer": plain(peer[0]), "peer_port": peer[1]}
            self.log.write(dict(ev, event="connect", t=time.time()))
            threading.Thread(target=self._run, args=(conn, ev), daemon=True).start()

    def _run(self, conn, ev):
        conn.settimeout(30)
        counts = {"rx": 0, "tx": 0}
        error = None
        try:
            self.handler(self, conn, ev, counts)
        except Exception as e:  # noqa: BLE001 - whatever broke is logged, never fatal
            error = f"{type(e).__name__}: {e}"
        finally:
            conn.close()
        self.log.write(dict(ev, event="close", t=time.time(), error=error, **counts))


def _recv(conn, counts, n=BUF):
    data = conn.recv(n)
    counts["rx"] += len(data)
    return data


def _send(conn, counts, data):
    conn.sendall(data)
    counts["tx"] += len(data)


def serve_echo(listener, conn, ev, counts):
    while True:
        data = _recv(conn, counts, 65536)
        if not data:
            return
        _send(conn, counts, data)


def serve_banner(listener, conn, ev, counts):
    _send(conn, counts, listener.spec.get("banner", "FAKE-INTERNET\r\n").encode())
    serve_echo(listener, conn, ev, counts)


def serve_sink(listener, conn, ev, counts):
    buf = bytearray(BUF)
    while True:
        n = conn.recv_into(buf)
        if not n:
            break
        counts["rx"] += n
    _send(conn, counts, str(counts["rx"]).encode())


def serve_source(listener, conn, ev, counts):
    head = b""
    while len(head) < 8:
        chunk = _recv(conn, counts, 8 - len(head))
        if not chunk:
            return
        head += chunk
    left = struct.unpack("!Q", head)[0]
    block = memoryview(bytes(BUF))
    while left:
        n = min(left, BUF)
        _send(conn, counts, block[:n])
        left -= n


def serve_http(listener, conn, ev, counts, sni=None):
    """HTTP/1.1 requests until the client closes or asks to; each one logged and answered."""
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            if len(pending) > MAX_HEAD:
                raise ValueError("request head over 64 KiB")
            data = _recv(conn, counts, 65536)
            if not data:
                return
            pending += data
        head, pending = pending.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            _send(conn, counts, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                  b"Connection: close\r\n\r\n")
            listener.log.write(dict(ev, event="http", t=time.time(), bad_request=lines[0]))
            return
        method, target, version = parts
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
        fields = {k.lower(): v for k, v in headers}
        length = int(fields.get("content-length", "0") or 0)
        while len(pending) < length:
            data = _recv(conn, counts, 65536)
            if not data:
                return
            pending += data
        pending = pending[length:]
        info = {"method": method, "target": target, "version": version,
                "host": fields.get("host"), "headers": headers, "sni": sni,
                "server": ev["local"], "port": ev["port"], "peer": ev["peer"]}
        listener.log.write(dict(ev, event="http", t=time.time(), **info))
        body = json.dumps(info, sort_keys=True).encode() + b"\n"
        close = (fields.get("connection", "").lower() == "close" or "chunked" in
                 fields.get("transfer-encoding", "").lower() or version == "HTTP/1.0")
        _send(conn, counts, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(body)}\r\n".encode()
              + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body)
        if close:
            return


def _remember_sni(sslobj, server_name, context):
    # Runs inside the handshake, before the server's certificate is even chosen, so the SNI
    # is known for handshakes that fail later (a client that rejects the certificate).
    sslobj.fake_internet_sni = server_name


def serve_tls(listener, conn, ev, counts):
    tls = listener.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
    tls.fake_internet_sni = None
    try:
        tls.do_handshake()
    except (ssl.SSLError, OSError) as e:
        listener.log.write(dict(ev, event="tls", t=time.time(), ok=False,
                                sni=tls.fake_internet_sni, error=str(e)))
        return
    sni = tls.fake_internet_sni
    listener.log.write(dict(ev, event="tls", t=time.time(), ok=True, sni=sni,
                            version=tls.version(), alpn=tls.selected_alpn_protocol()))
    try:
        serve_http(listener, tls, ev, counts, sni=sni)
    except ssl.SSLError as e:
        raise OSError(str(e)) from e


HANDLERS = {"echo": serve_echo, "banner": serve_banner, "http": serve_http, "tls": serve_tls,
            "sink": serve_sink, "source": serve_source, "accept": None}
