"""OpenCLIP's eval-mode image encoder on CPU, timed: the peer of `cliplab bench eval`.

model.eval(), torch.no_grad(), model.encode_image on one fixed batch of N(0,1) images (random init, as
`cliplab bench eval` uses). Prints one JSON line with images_per_s (wall clock over the timed batches) and
cpu_ms_per_image (process CPU time over them, all threads). One model per process:

    eval "$(bash ../shared/peer/setup.sh)"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/openclip_encode_image.py --model RN50 --batch-size 32 --threads 1
"""
import json
import sys
import time

from openclip_common import image_side, model_name, parse_args


def main():
    a = parse_args(steps=10, warmup=3)
    import torch
    torch.set_num_threads(a.threads)
    import open_clip
    a.model = model_name(open_clip, a.model)
    torch.manual_seed(0)
    model = open_clip.create_model(a.model, pretrained=None)
    model.eval()
    size = image_side(model)
    images = torch.randn(a.batch_size, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for _ in range(a.warmup):
            model.encode_image(images)
        times = []
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            t = time.perf_counter()
            model.encode_image(images)
            times.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    times.sort()
    n = a.batch_size * a.steps
    print(json.dumps({
        'bench': 'openclip-eval', 'model': a.model, 'batch': a.batch_size, 'threads': a.threads, 'steps': a.steps,
        'images_per_s': round(n / wall, 2), 'cpu_ms_per_image': round(1000 * cpu / n, 3),
        'batch_ms_median': round(1000 * times[len(times) // 2], 1), 'torch': torch.__version__,
    }))


if __name__ == '__main__':
    sys.exit(main())
