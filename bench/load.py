"""A small HTTP load generator (stdlib only), run as its own process.

    .venv/bin/python bench/load.py --port 8001 --path /api/v1/customers/?page_size=50 \\
        --header "Authorization: Bearer ..." --duration 15 --connections 4

`--connections` threads, each with one `http.client` connection (kept alive when
the server allows it; gunicorn's sync workers close it after each response, and
the connection is then opened again), send GET requests back to back for
`--warmup` seconds unmeasured, then for `--duration` seconds. Prints one JSON
object: requests, errors (any status but 200, or a socket error), requests per
second and latency percentiles in milliseconds (with --raw, every latency).
"""

import argparse
import http.client
import json
import sys
import threading
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument("--duration", type=float, default=15.0, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds first.")
    parser.add_argument("--connections", type=int, default=4, help="Concurrent connections.")
    parser.add_argument("--raw", action="store_true", help="Add every latency (s) to the output.")
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def worker(args, headers: dict, start: float, stop: float, out: list, errors: list) -> None:
    connection = http.client.HTTPConnection(args.host, args.port, timeout=30)
    while True:
        began = time.perf_counter()
        if began >= stop:
            break
        try:
            connection.request("GET", args.path, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        ended = time.perf_counter()
        if began >= start:
            (out if ok else errors).append(ended - began)
    connection.close()


def run(args) -> dict:
    headers = {"Host": f"{args.host}:{args.port}", "Accept": "application/json"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    now = time.perf_counter()
    start, stop = now + args.warmup, now + args.warmup + args.duration
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors: list[list[float]] = [[] for _ in range(args.connections)]
    threads = [
        threading.Thread(target=worker, args=(args, headers, start, stop, latencies[i], errors[i]))
        for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [latency for per_thread in latencies for latency in per_thread]
    failed = sum(len(e) for e in errors)
    result = {
        "requests": len(done),
        "errors": failed,
        "rps": len(done) / args.duration,
        "p50_ms": percentile(done, 0.50) * 1000,
        "p99_ms": percentile(done, 0.99) * 1000,
        "max_ms": max(done, default=float("nan")) * 1000,
    }
    if args.raw:
        result["latencies"] = done
    return result


if __name__ == "__main__":
    print(json.dumps(run(parse_args())))
    sys.exit(0)
