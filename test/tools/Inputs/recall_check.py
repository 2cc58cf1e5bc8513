#!/usr/bin/env python3
"""Checks sattn-compile --emit=recall-json against a plain float64 computation.

recall_check.py RECALL.json MASK.npy Q.npy K.npy V.npy

Reads the pattern's token mask (sattn-compile --emit=mask-npy) and the inputs,
and recomputes from docs/patterns.md ("Attention recall") every head's
recall_mean, recall_p5 (nearest rank), recall_min, density and out_rel_err,
over all rows (small cases: no sampling). Prints "ok: N heads" or the first
difference, and exits 1 on a difference. Pure Python (CI has no numpy).
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "spec"))
from spec_masks import read_npy  # noqa: E402


def main():
    report_path, mask_path, q_path, k_path, v_path = sys.argv[1:6]
    with open(report_path) as fh:
        report = json.load(fh)
    (B, H, Sq, Sk), _, mask = read_npy(mask_path)
    (_, _, _, D), _, q = read_npy(q_path)
    (_, G, _, _), _, k = read_npy(k_path)
    _, _, v = read_npy(v_path)
    scale = 1.0 / math.sqrt(D)
    if report["rows_sampled"] != Sq:
        print(f"expected every row evaluated, got {report['rows_sampled']} of {Sq}")
        return 1
    for detail in report["heads_detail"]:
        b, h = detail["batch"], detail["head"]
        g = h // (H // G)
        recalls, err, ref, attended, causal = [], 0.0, 0.0, 0, 0
        for i in range(Sq):
            end = min(Sk, max(0, i + Sk - Sq + 1))
            causal += end
            row = ((b * H + h) * Sq + i) * Sk
            keep = [mask[row + j] for j in range(Sk)]
            attended += sum(keep)
            if end == 0:
                continue
            qi = q[((b * H + h) * Sq + i) * D:][:D]
            logits = []
            for j in range(end):
                kj = k[((b * G + g) * Sk + j) * D:][:D]
                logits.append(scale * sum(x * y for x, y in zip(qi, kj)))
            mx = max(logits)
            w = [math.exp(x - mx) for x in logits]
            z = sum(w)
            kept = sum(w[j] for j in range(end) if keep[j])
            recalls.append(kept / z)
            for d in range(D):
                vd = [v[((b * G + g) * Sk + j) * D + d] for j in range(end)]
                od = sum(w[j] * vd[j] for j in range(end)) / z
                osp = (sum(w[j] * vd[j] for j in range(end) if keep[j]) / kept
                       if kept > 0 else 0.0)
                err += (osp - od) ** 2
                ref += od * od
        recalls.sort()
        rank = max(1, math.ceil(0.05 * len(recalls)))
        want = {
            "recall_mean": sum(recalls) / len(recalls),
            "recall_p5": recalls[rank - 1],
            "recall_min": recalls[0],
            "density": attended / causal,
            "out_rel_err": math.sqrt(err / ref),
        }
        for key, value in want.items():
            got = detail[key]
            if abs(got - value) > 1e-9 * max(1.0, abs(value)):
                print(f"head ({b}, {h}) {key}: tool {got}, recomputed {value}")
                return 1
    print(f"ok: {len(report['heads_detail'])} heads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
