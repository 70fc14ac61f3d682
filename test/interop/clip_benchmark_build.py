# CLIP_benchmark's `clip_benchmark build FILES --output CSV` step (cli.py main_build), in plain Python so it runs
# where CLIP_benchmark's heavy imports (torch, open_clip, torchvision datasets) are missing: each result's
# metrics are lifted into the row, `metrics` dropped, model_fullname = model + ' ' + pretrained, one CSV row per
# file. Prints the CSV read back, as JSON, so the test sees exactly what a CLIP_benchmark user would get.
import argparse
import csv
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("files", nargs="+")
parser.add_argument("--output", default="benchmark.csv")
args = parser.parse_args()

rows, fieldnames = [], set()
def process_file(path):
    data = json.load(open(path))
    row = {}
    row.update(data["metrics"])
    row.update(data)
    del row["metrics"]
    row["model_fullname"] = row["model"] + " " + row["pretrained"]
    fieldnames.update(row.keys())
    rows.append(row)

for path in args.files:
    if os.path.isdir(path):
        for f in [os.path.join(path, f) for f in os.listdir(path) if f.endswith(".json")]:
            process_file(f)
    else:
        process_file(path)
with open(args.output, "w") as csvfile:
    writer = csv.DictWriter(csvfile, fieldnames=fieldnames)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
print(json.dumps(list(csv.DictReader(open(args.output)))))
