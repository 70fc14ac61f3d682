#!/bin/bash
# cliplab against OpenCLIP v2.20.0, row by row, back to back at equal settings; one JSON line per row on stdout.
#
#   bash bench/side-by-side.sh                      # every row, 1 thread each
#   THREADS=2 bash bench/side-by-side.sh            # both engines at 2 intra-op threads
#   CPUS=1 bash bench/side-by-side.sh train-rn-tiny # pinned to core 1 (taskset), one row
#
# Rows: train-vit-tiny, train-rn-tiny (batch 128), train-vit-b32, train-rn50 (batch 8; peak RSS of the step),
# eval-vit-b32, eval-rn50 (image encoder, batch 32). Each row runs cliplab's command, then OpenCLIP's peer script
# (bench/openclip_train_step.py, bench/openclip_encode_image.py) in a fresh process, and prints both results and
# the ratios: speed (images/s), CPU per image (OpenCLIP's over cliplab's: above 1 means cliplab does less work
# per image, the figure to read on a loaded machine) and, for training, peak RSS (cliplab's over OpenCLIP's).
# Needs dist/ built (npm run build) and the OpenCLIP peer bundle (../shared/peer or PEER=path/to/peer).
# Progress goes to stderr; the machine should be otherwise idle for the speed columns to mean anything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
peer="${PEER:-$root/../shared/peer}"
threads="${THREADS:-1}"
steps_small="${STEPS_SMALL:-20}"
steps_large="${STEPS_LARGE:-3}"
[ -f "$root/dist/cli/main.js" ] || { echo "side-by-side: dist/ is not built (run npm run build)" >&2; exit 1; }
[ -f "$peer/setup.sh" ] || { echo "side-by-side: OpenCLIP peer not found at $peer (set PEER)" >&2; exit 1; }
eval "$(bash "$peer/setup.sh")"
pin=()
[ -n "${CPUS:-}" ] && pin=(taskset -c "$CPUS")
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS="$threads"
cliplab=(node "$root/bin/cliplab.js")
py=/usr/bin/python3

# row NAME KIND MODEL BATCH STEPS WARMUP
row() {
  local name=$1 kind=$2 model=$3 batch=$4 steps=$5 warmup=$6 ours theirs oc_model=$3
  [ -f "$root/assets/model-configs/$model.json" ] && ! grep -qx "$model" <<<"$OPENCLIP_MODELS" && oc_model="$root/assets/model-configs/$model.json"
  echo "side-by-side: $name ($kind $model, batch $batch, $threads thread(s))" >&2
  if [ "$kind" = train ]; then
    ours=$("${pin[@]}" "${cliplab[@]}" bench train --model "$model" --batch-size "$batch" --threads "$threads" --steps "$steps" --warmup "$warmup" --no-spin)
    theirs=$("${pin[@]}" "$py" "$here/openclip_train_step.py" --model "$oc_model" --batch-size "$batch" --threads "$threads" --steps "$steps" --warmup "$warmup")
  else
    ours=$("${pin[@]}" "${cliplab[@]}" bench eval --model "$model" --batch-size "$batch" --threads "$threads" --steps "$steps")
    theirs=$("${pin[@]}" "$py" "$here/openclip_encode_image.py" --model "$oc_model" --batch-size "$batch" --threads "$threads" --steps "$steps" --warmup "$warmup")
  fi
  ROW="$name" KIND="$kind" OURS="$ours" THEIRS="$theirs" node -e '
    const o = JSON.parse(process.env.OURS), t = JSON.parse(process.env.THEIRS);
    const r = (x) => Math.round(x * 100) / 100;
    const ours = { images_per_s: o.images_per_s, cpu_ms_per_image: o.cpu_ms_per_image ?? r((1000 * o.cpu_seconds) / (o.batch_size * o.steps)) };
    if (o.memory) Object.assign(ours, { peak_rss_mb: o.memory.peak_rss_mb, mfu_vs_sgemm: o.mfu_vs_sgemm, sgemm_gflop_per_s: o.sgemm_gflop_per_s });
    const theirs = { images_per_s: t.images_per_s, cpu_ms_per_image: t.cpu_ms_per_image };
    if (t.peak_rss_mb !== undefined) theirs.peak_rss_mb = t.peak_rss_mb;
    const line = { row: process.env.ROW, kind: process.env.KIND, model: o.model, batch: o.batch ?? o.batch_size, threads: o.threads, cliplab: ours, openclip: theirs,
      speed_ratio: r(ours.images_per_s / theirs.images_per_s), cpu_ratio: r(theirs.cpu_ms_per_image / ours.cpu_ms_per_image) };
    if (ours.peak_rss_mb !== undefined) line.rss_ratio = r(ours.peak_rss_mb / theirs.peak_rss_mb);
    console.log(JSON.stringify(line));'
}

OPENCLIP_MODELS=$(cd / && "$py" -c 'import open_clip; print("\n".join(open_clip.list_models()))')
all=(train-vit-tiny train-rn-tiny train-vit-b32 train-rn50 eval-vit-b32 eval-rn50)
for r in "${@:-${all[@]}}"; do
  case "$r" in
    train-vit-tiny) row "$r" train ViT-Tiny-8-64 128 "$steps_small" 3 ;;
    train-rn-tiny) row "$r" train RN-Tiny-64 128 "$steps_small" 3 ;;
    train-vit-b32) row "$r" train ViT-B-32 8 "$steps_large" 1 ;;
    train-rn50) row "$r" train RN50 8 "$steps_large" 1 ;;
    eval-vit-b32) row "$r" eval ViT-B-32 32 "$steps_large" 1 ;;
    eval-rn50) row "$r" eval RN50 32 "$steps_large" 1 ;;
    *) echo "side-by-side: unknown row '$r' (rows: ${all[*]})" >&2; exit 2 ;;
  esac
done
