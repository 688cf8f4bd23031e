"""Command line: python -m chordsim COMMAND [--out DIR] [--seed N] [--small]."""
import argparse
import sys
from pathlib import Path

from . import bench, vectors
from .experiments import (
    cache_churn,
    churn,
    failure,
    load,
    merge,
    pathlen,
    pathlen_cache,
)

EXPERIMENTS = {"pathlen": pathlen, "pathlen-cache": pathlen_cache, "load": load,
               "cache-churn": cache_churn, "failure": failure, "churn": churn,
               "merge": merge}
"""Experiment name -> module with main(out, seed, small)."""


def parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chordsim", description="Chord simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in EXPERIMENTS.items():
        p = sub.add_parser(name, help=module.__doc__.splitlines()[0])
        p.add_argument("--out", type=Path, default=Path("out"), help="folder for CSV and PNG")
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--small", action="store_true", help="test-sized run")
    p = sub.add_parser("vectors", help="write the Rust test vectors")
    p.add_argument("--out", type=Path, default=vectors.VECTOR_PATH)
    p.add_argument("--vnodes-out", type=Path, default=vectors.VNODE_PATH)
    p = sub.add_parser("bench", help="time N nodes with L lookups")
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--lookups", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "vectors":
        print(vectors.write(args.out))
        print(vectors.write_vnodes(args.vnodes_out))
    elif args.command == "bench":
        for run in (bench.static, bench.event_driven):
            print(run(args.seed, args.nodes, args.lookups))
    else:
        rows = EXPERIMENTS[args.command].main(args.out, args.seed, args.small)
        for row in rows:
            print(",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        print(f"wrote {args.out / (args.command + '.csv')} and .png")
    return 0
