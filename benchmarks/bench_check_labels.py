"""Benchmark `ppexp check-labels`.

1. Labels without images: 1,000,000 generated lines (Korean plates, alphanumeric words of
   1..25 characters, ~0.2 % planted defects), run_check(images=False) vs. a naive loop that
   reads the file like upstream and does CTC encode -> decode per line (the user's exp8 check).
   Target: < 10 s for the full check.
2. Images: N generated PNG/JPEG crops, run_check(images=True) (parallel decode) vs. a serial
   read + cv2.imdecode loop.

Prints medians over --repeat runs and the ratios. Usage:
    python benchmarks/bench_check_labels.py [--lines 1000000] [--images 3000] [--repeat 3]
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppexp.experiments.labels import CheckSettings, LabelSource, run_check  # noqa: E402
from ppexp.utils.character import CharacterDict  # noqa: E402

HANGUL = "가나다라마거너더러머고노도로모구누두루무바사아자허하호배"
ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz"
DEFECTS = ["", "12가 3456", "12ㄱ3456", "１２가3456", "12가\u200b3456", "12X3456", "1" * 30, "11" * 10]


def make_labels(path, n, seed=0):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            r = rng.random()
            if r < 0.002:
                label = rng.choice(DEFECTS)
            elif r < 0.7:
                label = f"{rng.randint(10, 999)}{rng.choice(HANGUL)}{rng.randint(1000, 9999)}"
            else:
                label = "".join(rng.choice(ALNUM) for _ in range(rng.randint(1, 25)))
            f.write(f"train/{i // 1000:04d}/{i:07d}.jpg\t{label}\n")


def make_images(root, n, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "img"), exist_ok=True)
    lines = []
    base = cv2.resize(rng.integers(0, 255, (12, 48, 3), dtype=np.uint8), (480, 120))   # smooth, plate-like
    for i in range(n):
        h = int(rng.integers(60, 120))
        w = int(h * rng.uniform(2.5, 5))
        img = cv2.resize(np.roll(base, i, axis=1), (w, h))
        name = f"img/{i:05d}.{'png' if i % 2 else 'jpg'}"
        cv2.imwrite(os.path.join(root, name), img)
        lines.append(f"{name}\t{rng.integers(10, 999)}{HANGUL[i % len(HANGUL)]}{rng.integers(1000, 9999)}\n")
    path = os.path.join(root, "images.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return path


def naive_roundtrip(label_file, charset, max_len=25):
    """The throw-away check: read like upstream, encode -> decode each line, compare."""
    bad = 0
    with open(label_file, "rb") as f:
        for raw in f.readlines():
            try:
                substr = raw.decode("utf-8").strip("\n").split("\t")
                label = substr[1]
            except (UnicodeDecodeError, IndexError):
                bad += 1
                continue
            ids = charset.encode(label)
            if not ids or len(label) > max_len or charset.decode_ids(ids) != charset.normalize(label):
                bad += 1
    return bad


def naive_images(label_file, data_dir):
    ok = 0
    with open(label_file, encoding="utf-8") as f:
        for line in f:
            path = os.path.join(data_dir, line.split("\t")[0])
            with open(path, "rb") as g:
                img = cv2.imdecode(np.frombuffer(g.read(), np.uint8), cv2.IMREAD_COLOR)
            ok += img is not None
    return ok


def timed(fn, repeat, cpu=None):
    """Median wall time (and, into ``cpu``, median process CPU time: all threads) of ``repeat`` runs."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dict_path = os.path.join(tmp, "dict.txt")
        with open(dict_path, "w", encoding="utf-8") as f:
            f.write("\n".join(list(ALNUM) + list(HANGUL)) + "\n")
        labels = os.path.join(tmp, "labels.txt")
        t = time.perf_counter()
        make_labels(labels, args.lines)
        print(f"generated {args.lines:,} lines in {time.perf_counter() - t:.1f} s; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f} (other processes slow both sides alike)")

        def check():
            s = CheckSettings(sources=[LabelSource("Train", labels)], dict_path=dict_path, images=False,
                              progress=False)
            return run_check(s)

        t_fast, res = timed(check, args.repeat)
        charset = CharacterDict(dict_path)
        t_naive, naive_bad = timed(lambda: naive_roundtrip(labels, charset), args.repeat)
        rep = res.report
        print(f"\nlabels, no images ({args.lines:,} lines, median of {args.repeat}):")
        print(f"  ppexp check-labels : {t_fast:7.2f} s  {args.lines / t_fast:12,.0f} labels/s  "
              f"({rep.n_errors:,} errors, {rep.n_warnings:,} warnings, {len(rep.counts)} categories)  "
              f"target < 10 s: {'OK' if t_fast < 10 else 'MISSED'}")
        print(f"  naive encode->decode: {t_naive:6.2f} s  {args.lines / t_naive:12,.0f} labels/s  "
              f"({naive_bad:,} lines fail the round trip / rejection rules; no other checks)")
        print(f"  ratio naive / check-labels: {t_naive / t_fast:.2f}x")
        print(f"  check-labels phases (last run): " + ", ".join(f"{k} {v:.2f}" for k, v in res.timings.items()))

        if args.images:
            img_dir = os.path.join(tmp, "imgs")
            img_labels = make_images(img_dir, args.images)

            def check_images():
                s = CheckSettings(sources=[LabelSource("Train", img_labels, img_dir)], dict_path=dict_path,
                                  images=True, progress=False)
                return run_check(s)

            cpu = []
            t_img, res = timed(check_images, args.repeat, cpu)
            t_ser, ok = timed(lambda: naive_images(img_labels, img_dir), args.repeat, cpu)
            print(f"\nimages ({args.images:,} files, median of {args.repeat}; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
            print(f"  ppexp check-labels (threads): {t_img:6.2f} s wall, {cpu[0]:6.2f} s CPU  "
                  f"{args.images / t_img:9,.0f} images/s  (all checks; {res.report.totals['images_checked']:,} "
                  "decoded + hashed)")
            print(f"  serial read + imdecode loop : {t_ser:6.2f} s wall, {cpu[1]:6.2f} s CPU  "
                  f"{args.images / t_ser:9,.0f} images/s  ({ok:,} decoded; no checks)")
            print(f"  ratio serial / check-labels: {t_ser / t_img:.2f}x wall, {cpu[1] / cpu[0]:.2f}x CPU")


if __name__ == "__main__":
    main()
