"""A/B of the per-op overhead: softgrad ÷ PyTorch for two softgrad trees, interleaved.

Each child process imports one softgrad tree (``--base DIR``: a folder holding a
``softgrad`` package, e.g. made by ``git archive HEAD softgrad | tar -x -C DIR``; the other
is this checkout) together with PyTorch, and alternates blocks of the overhead chain
(``bench_overhead.chain``) between the two frameworks, so that each softgrad ÷ PyTorch ratio
is measured side by side. The parent runs the base and the new children in turn, ``--rounds``
times, and prints the median ratio of each tree (and the new ÷ base ratio).

Usage:  OMP_NUM_THREADS=1 python bench/ab_overhead.py --base /tmp/base [--rounds 6]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def child(tree: str, iters: int, blocks: int) -> None:
    """Print the per-block softgrad ÷ PyTorch ratios of the chain, using the tree ``tree``."""
    sys.path.insert(0, tree)
    import softgrad  # first, before bench/common.py puts this checkout on the path

    sys.path.insert(1, HERE)
    import bench_overhead

    assert os.path.dirname(os.path.dirname(softgrad.__file__)) == tree, softgrad.__file__
    runs = {fw: bench_overhead.chain_loop(fw, 1, iters) for fw in ("softgrad", "torch")}
    for run in runs.values():
        run()  # warm-up
    ratios = []
    for _ in range(blocks):
        t = {}
        for fw, run in runs.items():
            t0 = time.process_time()  # CPU time: not the time a busy neighbour holds the core
            run()
            t[fw] = time.process_time() - t0
        ratios.append(t["softgrad"] / t["torch"])
    print(json.dumps(ratios))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", required=True, help="folder holding the base softgrad package")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--iters", type=int, default=1000, help="chain iterations per block")
    p.add_argument("--blocks", type=int, default=5, help="alternating blocks per child")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.iters, args.blocks)
        return
    trees = {"base": os.path.abspath(args.base), "new": REPO}
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    ratios: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            out = subprocess.run([sys.executable, __file__, "--base", args.base, "--child", tree,
                                  "--iters", str(args.iters), "--blocks", str(args.blocks)],
                                 env=env, capture_output=True, text=True, check=True)
            ratios[name] += json.loads(out.stdout.strip().splitlines()[-1])
    med = {name: statistics.median(r) for name, r in ratios.items()}
    for name, r in ratios.items():
        q = statistics.quantiles(r, n=4)
        print(f"{name:5s} softgrad/torch median {med[name]:.3f}  (quartiles {q[0]:.3f}-"
              f"{q[2]:.3f}, {len(r)} blocks)")
    print(f"new/base {med['new'] / med['base']:.3f}")


if __name__ == "__main__":
    main()
