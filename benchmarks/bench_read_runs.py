"""Benchmark: read 10 runs of 100k logged training steps each (target < 5 s).

Each run's VisualDL file holds, per logged step, the six TRAIN scalars ppexp's
trainer writes (loss, lr, acc, norm_edit_dis, epoch, samples_per_sec), plus
EVAL scalars every 1000 steps and dropped_samples every 500 steps: ~600k
records, ~23 MB per run; each run also has the matching 100k-line train.log
(~24 MB, scanned for facts) and its config.yml. The files are written once (a
byte-exact re-implementation of VisualDL's record writer, since LogWriter
needs ~50 us a record) and copied.

Compared in the same process with the naive approach: VisualDL's
``LogReader(file_path=...)`` + ``get_data('scalar', tag)`` on one run (it
takes ~10 us a record, so it is timed on one run and scaled to ten).

    .venv/bin/python benchmarks/bench_read_runs.py [--runs 10] [--steps 100000] [--repeat 3]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ppexp.experiments.analysis.run_reader import read_runs  # noqa: E402
from ppexp.experiments.analysis.synthetic import (encode_curves, make_config, make_curves,  # noqa: E402
                                                  write_train_log)


def write_runs(root, runs, steps):
    from ppexp.config import dump_config

    curves = make_curves("healthy", steps=steps, print_every=1, eval_every=1000, steps_per_epoch=500)
    data = encode_curves(curves)
    first = os.path.join(root, "run00")
    os.makedirs(os.path.join(first, "vdl"))
    with open(os.path.join(first, "vdl", "vdlrecords.1700000000.log"), "wb") as f:
        f.write(data)
    config = make_config("healthy", steps, 1000, 500, save_dir=first)
    dump_config(config, os.path.join(first, "config.yml"))
    write_train_log(os.path.join(first, "train.log"), curves, config["Global"]["epoch_num"], steps_per_epoch=500)
    paths = [first]
    for i in range(1, runs):
        path = os.path.join(root, f"run{i:02d}")
        shutil.copytree(first, path)
        paths.append(path)
    return paths, len(data), sum(len(v[0]) for v in curves.values())


def naive_read(path):
    from visualdl import LogReader

    out = {}
    for name in sorted(os.listdir(os.path.join(path, "vdl"))):
        reader = LogReader(file_path=os.path.join(path, "vdl", name))
        for tag in reader.get_tags().get("scalar", []):
            out[tag] = [(v.id, v.value, v.timestamp) for v in reader.get_data("scalar", tag)]
    return out


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ppexp_bench_runs_")
    try:
        start = time.perf_counter()
        paths, size, records = write_runs(root, args.runs, args.steps)
        print(f"wrote {args.runs} runs x {records} records ({size / 2**20:.1f} MiB each) "
              f"in {time.perf_counter() - start:.1f} s")

        def ours_all():
            for run in read_runs(paths):
                run.summary()

        ours_one = timed(lambda: read_runs(paths[:1])[0].summary(), args.repeat)
        ours = timed(ours_all, args.repeat)
        naive_one = timed(lambda: naive_read(paths[0]), 1)
        print(f"ppexp read_runs + summary, {args.runs} runs: median {ours:.2f} s "
              f"({ours / (args.runs * records) * 1e9:.0f} ns/record)")
        print(f"ppexp, 1 run: median {ours_one:.3f} s; VisualDL LogReader (scalars only, no summary), 1 run: "
              f"{naive_one:.2f} s -> for {args.runs} runs ~ {naive_one * args.runs:.0f} s, "
              f"{naive_one * args.runs / ours:.0f}x slower than ppexp")
        target = 5.0
        print(f"target < {target:.0f} s for {args.runs} runs: {'OK' if ours < target else 'MISSED'}")
        return 0 if ours < target else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
