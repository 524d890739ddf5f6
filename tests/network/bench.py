"""connect() latency and bulk TCP throughput to a server of the fake internet, bare and
(optionally) through a wrapper command such as a sandbox, in alternating rounds.

    sudo python3 tests/network/bench.py                      # bare numbers only
    sudo python3 tests/network/bench.py --wrapper 'hive-run exec --policy p.yml --'

The client (bench_client.py) runs as a child process in both cases. Bare, it is given the
server's address (the host's resolver does not know the fake zone); wrapped, it is given the
name (allowed.test) and resolves it with the system resolver, which inside the sandbox is the
sandbox's own; `{dns}` in the wrapper is replaced by the fake internet's DNS address, for a
policy's upstream_dns. Nothing is asserted: numbers are printed (median of the rounds; for
throughput also the best transfer), with wrapped/bare ratios when there is a wrapper.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clients  # noqa: E402
import fake_internet  # noqa: E402

NAME = "allowed.test"


def run_client(prefix, target, args):
    argv = prefix + [os.path.join(HERE, "bench_client.py"), *target,
                     "--connects", str(args.connects), "--bytes", str(args.bytes),
                     "--transfers", str(args.transfers)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)}: exit {p.returncode}\n{p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def summary(results):
    ups = [v for r in results for v in r["upload_mib_s"]]
    downs = [v for r in results for v in r["download_mib_s"]]
    return {"connect_p50_us": statistics.median(r["connect"]["p50_us"] for r in results),
            "connect_p90_us": statistics.median(r["connect"]["p90_us"] for r in results),
            "connect_p99_us": statistics.median(r["connect"]["p99_us"] for r in results),
            "upload_mib_s": statistics.median(ups), "upload_best_mib_s": max(ups),
            "download_mib_s": statistics.median(downs), "download_best_mib_s": max(downs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wrapper", help="command line to run the client under, e.g. a sandbox")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connects", type=int, default=2000)
    ap.add_argument("--bytes", type=int, default=256 << 20)
    ap.add_argument("--transfers", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print every round's raw numbers too")
    args = ap.parse_args()
    reason = fake_internet.unavailable_reason()
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 77
    results = {"bare": []}
    with fake_internet.FakeInternet() as net:
        addr = clients.resolve(net.dns_v4, NAME)[0]
        variants = [("bare", [sys.executable], ["--addr", addr])]
        if args.wrapper:
            prefix = shlex.split(args.wrapper.replace("{dns}", net.dns_v4)) + ["python3"]
            variants.append(("wrapped", prefix, ["--host", NAME]))
            results["wrapped"] = []
        for i in range(args.rounds):
            order = variants if i % 2 == 0 else variants[::-1]
            for label, prefix, target in order:
                print(f"round {i + 1}/{args.rounds}: {label}", file=sys.stderr)
                results[label].append(run_client(prefix, target, args))
    sums = {k: summary(v) for k, v in results.items()}
    print(f"fake internet: {NAME} = {addr}, {args.connects} connects per round, "
          f"{args.bytes >> 20} MiB per transfer, {args.rounds} rounds x {args.transfers} "
          f"transfers each way; medians (best)")
    print("| | connect p50 µs | p90 µs | p99 µs | upload MiB/s | download MiB/s |")
    print("|---|---|---|---|---|---|")
    for label, s in sums.items():
        print(f"| {label} | {s['connect_p50_us']:.1f} | {s['connect_p90_us']:.1f} | "
              f"{s['connect_p99_us']:.1f} | {s['upload_mib_s']:.0f} ({s['upload_best_mib_s']:.0f})"
              f" | {s['download_mib_s']:.0f} ({s['download_best_mib_s']:.0f}) |")
    if "wrapped" in sums:
        b, w = sums["bare"], sums["wrapped"]
        print(f"\nwrapped vs bare: connect p50 +{w['connect_p50_us'] - b['connect_p50_us']:.1f} µs"
              f" (x{w['connect_p50_us'] / b['connect_p50_us']:.2f}), p90 "
              f"+{w['connect_p90_us'] - b['connect_p90_us']:.1f} µs; throughput upload "
              f"x{w['upload_mib_s'] / b['upload_mib_s']:.2f}, download "
              f"x{w['download_mib_s'] / b['download_mib_s']:.2f}")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
