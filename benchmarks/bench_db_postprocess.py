"""DBPostProcess speed: images/s on generated 640x640 probability maps (median of ``--reps`` passes).

Each map holds ``--texts`` rotated, blurred text-like blobs (plus weak noise), the kind of map a
trained DB head gives. Rows (same maps, same run):

  quad, score fast      DBPostProcess as the det configs use it (thresh 0.3, box_thresh 0.6, unclip 1.5)
  quad, score slow      score_mode slow (mean inside the contour)
  poly                  box_type poly
  naive baseline        a straightforward per-contour implementation: the score mask is the whole
                        map (no bounding-box crop) and area/perimeter come from a shapely Polygon

The baseline's boxes are checked to equal the fast quad output before timing. Rates are given per CPU
second (the process's own CPU time: stable when other jobs share the cores; cv2 runs single-threaded
here) and per wall second.

    .venv/bin/python benchmarks/bench_db_postprocess.py [--num 20] [--reps 5] [--texts 30] [--size 640]
"""
import argparse
import os
import statistics
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppexp.postprocess.db_postprocess import MIN_SIZE, DBPostProcess, mini_box, to_source  # noqa: E402
from ppexp.utils.polygon import offset_polygon  # noqa: E402

CONFIG = {"thresh": 0.3, "box_thresh": 0.6, "max_candidates": 1000, "unclip_ratio": 1.5}


def make_maps(num, size, texts, seed=0):
    rng = np.random.default_rng(seed)
    maps = np.empty((num, 1, size, size), np.float32)
    for k in range(num):
        prob = np.zeros((size, size), np.float32)
        for _ in range(texts):
            w, h = rng.uniform(30, 160), rng.uniform(8, 28)
            rect = ((rng.uniform(0, size), rng.uniform(0, size)), (w, h), rng.uniform(-20, 20))
            cv2.fillPoly(prob, [cv2.boxPoints(rect).astype(np.int32)], float(rng.uniform(0.7, 0.95)))
        prob = cv2.GaussianBlur(prob, (5, 5), 0) + rng.uniform(0, 0.1, prob.shape).astype(np.float32)
        maps[k, 0] = np.clip(prob, 0, 1)
    return maps


def naive_boxes(prob, cfg, dest_w, dest_h):
    """Baseline: the same rules, written plainly (full-map masks, shapely geometry)."""
    from shapely.geometry import Polygon

    bitmap = (prob > cfg["thresh"]).astype(np.uint8)
    contours = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[-2]
    boxes = []
    for contour in contours[: cfg["max_candidates"]]:
        box, short = mini_box(contour)
        if short < MIN_SIZE:
            continue
        mask = np.zeros(prob.shape, np.uint8)
        cv2.fillPoly(mask, [box.astype(np.int32)], 1)
        if cv2.mean(prob, mask)[0] < cfg["box_thresh"]:
            continue
        poly = Polygon(box)
        pieces = offset_polygon(box, poly.area * cfg["unclip_ratio"] / poly.length)
        if len(pieces) != 1:
            continue
        box, short = mini_box(pieces[0].astype(np.int32))
        if short >= MIN_SIZE + 2:
            boxes.append(to_source(box, bitmap.shape, dest_w, dest_h))
    return np.array(boxes, np.int32).reshape(-1, 4, 2)


def timed(fn, maps, reps):
    """Median (images per wall second, images per CPU second) over ``reps`` passes."""
    wall, cpu = [], []
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        for m in maps:
            fn(m)
        wall.append(len(maps) / (time.perf_counter() - start))
        cpu.append(len(maps) / max(time.process_time() - start_cpu, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--texts", type=int, default=30)
    parser.add_argument("--size", type=int, default=640)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    maps = make_maps(args.num, args.size, args.texts)
    shape = np.array([[args.size, args.size, 1.0, 1.0]])
    runs = {
        "quad, score fast": DBPostProcess(**CONFIG),
        "quad, score slow": DBPostProcess(**CONFIG, score_mode="slow"),
        "poly": DBPostProcess(**CONFIG, box_type="poly"),
    }
    fast = runs["quad, score fast"]
    for m in maps:  # the baseline must find the same boxes
        ours = fast({"maps": m[None]}, shape)[0]["points"]
        assert ours.tolist() == naive_boxes(m[0], CONFIG, args.size, args.size).tolist()
    n_boxes = np.mean([len(fast({"maps": m[None]}, shape)[0]["points"]) for m in maps])
    print(f"{args.num} maps {args.size}x{args.size}, {args.texts} blobs each ({n_boxes:.1f} boxes found per map), "
          f"median of {args.reps} passes")
    results = {name: timed(lambda m, pp=pp: pp({"maps": m[None]}, shape), maps, args.reps) for name, pp in runs.items()}
    results["naive baseline"] = timed(lambda m: naive_boxes(m[0], CONFIG, args.size, args.size), maps, args.reps)
    base = results["naive baseline"][1]
    print(f"  {'':<18} {'images/CPU-s':>12} {'images/s (wall)':>16}   vs baseline (CPU)")
    for name, (wall, cpu) in results.items():
        print(f"  {name:<18} {cpu:12.1f} {wall:16.1f}   {cpu / base:5.2f}x")


if __name__ == "__main__":
    main()
