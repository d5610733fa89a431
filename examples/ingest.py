#!/usr/bin/env python3
"""Step 1: clean the raw CSV into a dataset.

Reads the raw data through the mount (the daemon records that read as an
input of this step) and writes the cleaned table to this step's outputs.
"""
import csv
import os
import sys

mnt = sys.argv[1]
src = os.path.join(mnt, "artifacts", "weather-raw", "latest", "raw.csv")
out_dir = os.path.join(os.environ["ARTIFACTFS_OUTPUTS"], "weather-data")
os.makedirs(out_dir, exist_ok=True)

kept = 0
with open(src, newline="") as f, \
        open(os.path.join(out_dir, "clean.csv"), "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["city", "temp_c", "rain_mm"])
    for row in csv.DictReader(f):
        if not row["temp_c"] or not row["rain_mm"]:
            continue  # drop incomplete rows
        w.writerow([row["city"].strip().title(), float(row["temp_c"]),
                    float(row["rain_mm"])])
        kept += 1
print(f"ingest: kept {kept} rows")
