"""connect() latency and bulk TCP throughput against the fake internet's servers.

Standalone (standard library only, no imports from this directory), so the same file runs
bare on the host and as the payload of a sandbox; bench.py drives both and compares them.

    python3 bench_client.py --addr 203.0.113.10        # bare: an address, no resolver needed
    python3 bench_client.py --host allowed.test        # sandboxed: the system resolver

Prints one JSON object: connect latency percentiles in microseconds (only the connect()
call is timed: socket creation and close are outside the clock) and throughput in MiB/s for
an upload to the sink service and a download from the source service (the clock runs from
before connect() to the last byte, or to the sink's byte count).
"""
import argparse
import json
import socket
import struct
import time

CHUNK = 1 << 20


def percentile(sorted_values, p):
    i = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


def connect_latency(addr, port, count, warmup):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    samples = []
    for i in range(warmup + count):
        s = socket.socket(family, socket.SOCK_STREAM)
        t0 = time.perf_counter_ns()
        s.connect((addr, port))
        t1 = time.perf_counter_ns()
        s.close()
        if i >= warmup:
            samples.append((t1 - t0) / 1000)
    samples.sort()
    return {"count": count, "p50_us": percentile(samples, 50), "p90_us": percentile(samples, 90),
            "p99_us": percentile(samples, 99), "min_us": samples[0],
            "mean_us": sum(samples) / len(samples)}


def upload(addr, port, nbytes):
    block = memoryview(bytes(CHUNK))
    t0 = time.perf_counter()
    with socket.create_connection((addr, port)) as s:
        left = nbytes
        while left:
            n = min(left, CHUNK)
            s.sendall(block[:n])
            left -= n
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(64)
    elapsed = time.perf_counter() - t0
    if int(reply or b"-1") != nbytes:
        raise RuntimeError(f"sink counted {reply!r}, sent {nbytes}")
    return nbytes / elapsed / (1 << 20)


def download(addr, port, nbytes):
    buf = bytearray(CHUNK)
    got = 0
    t0 = time.perf_counter()
    with socket.create_connection((addr, port)) as s:
        s.sendall(struct.pack("!Q", nbytes))
        while got < nbytes:
            n = s.recv_into(buf)
            if not n:
                break
            got += n
    elapsed = time.perf_counter() - t0
    if got != nbytes:
        raise RuntimeError(f"source sent {got} of {nbytes} bytes")
    return nbytes / elapsed / (1 << 20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--addr", help="server address")
    where.add_argument("--host", help="server name, looked up with the system resolver")
    ap.add_argument("--connect-port", type=int, default=9002)
    ap.add_argument("--sink-port", type=int, default=9000)
    ap.add_argument("--source-port", type=int, default=9001)
    ap.add_argument("--connects", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--bytes", type=int, default=256 << 20)
    ap.add_argument("--transfers", type=int, default=3, help="uploads and downloads each")
    args = ap.parse_args()
    addr = args.addr
    if addr is None:
        t0 = time.perf_counter()
        addr = socket.getaddrinfo(args.host, args.connect_port, type=socket.SOCK_STREAM)[0][4][0]
        resolve_us = (time.perf_counter() - t0) * 1e6
    out = {"addr": addr, "host": args.host,
           "resolve_us": resolve_us if args.host else None,
           "connect": connect_latency(addr, args.connect_port, args.connects, args.warmup),
           "bytes": args.bytes,
           "upload_mib_s": [upload(addr, args.sink_port, args.bytes)
                            for _ in range(args.transfers)],
           "download_mib_s": [download(addr, args.source_port, args.bytes)
                              for _ in range(args.transfers)]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
