"""The client side of a CRI streaming exec (the URL that RuntimeService.Exec returns), over a
WebSocket with the Kubernetes `v4.channel.k8s.io` subprotocol, in the standard library only.

Each binary message from the server starts with a channel byte: 1 stdout, 2 stderr, 3 the
final status (a JSON metav1.Status: "Success", or "Failure" with reason NonZeroExitCode and
the code in details.causes). Standard input (channel 0) is one message sent after the
handshake; with a terminal the program's output, stderr included, comes on channel 1.

    out, err, code = cri_stream.exec_stream(cri.exec_url(cid, ["sh", "-c", "echo x; exit 4"]))
"""
import base64
import json
import os
import socket
import struct
import urllib.parse

STDIN, STDOUT, STDERR, STATUS = 0, 1, 2, 3
_OP_CLOSE = 0x8


class StreamError(RuntimeError):
    pass


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise StreamError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def _read_frame(sock):
    """One WebSocket frame from the server: (fin, opcode, payload); None at end of stream."""
    first = sock.recv(1)
    if not first:
        return None
    b0, b1 = first[0], _read_exact(sock, 1)[0]
    length = b1 & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exact(sock, 8))[0]
    mask = _read_exact(sock, 4) if b1 & 0x80 else None
    payload = _read_exact(sock, length)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return bool(b0 & 0x80), b0 & 0x0F, payload


def _handshake(sock, url):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {url.path}?{url.query} HTTP/1.1\r\n" if url.query else
               f"GET {url.path} HTTP/1.1\r\n")
    request += (f"Host: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n")
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise StreamError(f"no upgrade response from {url.geturl()}: {head!r}")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise StreamError(f"{url.geturl()}: {status.decode(errors='replace')}")


def exit_code_of(status):
    """The exit code a v4 status message reports (0 on Success)."""
    if status.get("status") == "Success":
        return 0
    for cause in status.get("details", {}).get("causes", []):
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise StreamError(f"exec failed: {status.get('message', status)}")


def _send_binary(sock, payload):
    """One masked binary frame, as a client must send it."""
    mask = os.urandom(4)
    head = bytes([0x82])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))


def exec_stream(url, timeout=60.0, stdin=None):
    """Connects to a CRI exec URL and returns (stdout bytes, stderr bytes, exit code). `stdin`:
    bytes for the program's standard input (the URL must have been asked with stdin)."""
    parsed = urllib.parse.urlsplit(url)
    out, err, status = b"", b"", None
    with socket.create_connection((parsed.hostname, parsed.port or 80), timeout) as sock:
        _handshake(sock, parsed)
        if stdin is not None:
            _send_binary(sock, bytes([STDIN]) + stdin)
        message = b""
        while True:
            frame = _read_frame(sock)
            if frame is None or frame[1] == _OP_CLOSE:
                break
            fin, _, payload = frame
            message += payload
            if not fin:
                continue
            channel, data = (message[0], message[1:]) if message else (None, b"")
            message = b""
            if channel == STDOUT:
                out += data
            elif channel == STDERR:
                err += data
            elif channel == STATUS and data:
                status = json.loads(data)
    if status is None:
        raise StreamError(f"{url}: the stream closed without a status")
    return out, err, exit_code_of(status)
