#!/usr/bin/env python3
"""Step 2: fit a tiny model (per-city mean temperature and a linear rain
trend) in plain Python, deterministic, and write it as JSON."""
import csv
import json
import os
import sys

mnt = sys.argv[1]
src = os.path.join(mnt, "artifacts", "weather-data", "latest", "clean.csv")
rows = list(csv.DictReader(open(src, newline="")))
by_city = {}
for r in rows:
    by_city.setdefault(r["city"], []).append(
        (float(r["temp_c"]), float(r["rain_mm"])))

model = {}
for city, pts in sorted(by_city.items()):
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mr = sum(r for _, r in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts) or 1.0
    slope = sum((t - mt) * (r - mr) for t, r in pts) / var
    model[city] = {"mean_temp": round(mt, 3), "mean_rain": round(mr, 3),
                   "rain_per_degree": round(slope, 4), "n": n}

out_dir = os.path.join(os.environ["ARTIFACTFS_OUTPUTS"], "weather-model")
os.makedirs(out_dir, exist_ok=True)
json.dump(model, open(os.path.join(out_dir, "model.json"), "w"), indent=1)
print(f"train: {len(model)} cities")
