# What img2dataset does with an existing output folder, in plain Python (img2dataset itself needs pyarrow
# and wandb, which CI does not have): main.py's resume scan turns every top-level *.json name into a shard
# number (int(name.split("_")[0])); logger.py's LoggerProcess reads each stats file and keeps
# min(start_time) / max(end_time) beside running sums (SpeedLogger), so the times must compare as numbers.
# Prints the aggregate as JSON; any incompatibility raises, as it does in img2dataset.
import glob
import json
import sys
from collections import Counter

out = sys.argv[1]
files = glob.glob(out + "/*.json")
done_shards = sorted(set(int(f.split("/")[-1].split("_")[0]) for f in files))

count = successes = failed_to_download = failed_to_resize = 0
start_time, end_time = float("+inf"), float("-inf")
status = Counter()
for f in sorted(files):
    with open(f) as fh:
        stats = json.load(fh)
    count += stats["count"]
    successes += stats["successes"]
    failed_to_download += stats["failed_to_download"]
    failed_to_resize += stats["failed_to_resize"]
    start_time = min(stats["start_time"], start_time)
    end_time = max(stats["end_time"], end_time)
    status.update(Counter(stats["status_dict"]))
duration = end_time - start_time
print(json.dumps({
    "done_shards": done_shards, "count": count, "successes": successes,
    "failed_to_download": failed_to_download, "failed_to_resize": failed_to_resize,
    "duration": duration, "images_per_sec": count / duration if duration > 0 else None,
    "status_dict": dict(status),
}))
