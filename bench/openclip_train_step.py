"""OpenCLIP's fp32 training step on CPU, timed, with the process's peak RSS: the peer of `cliplab bench train`.

One step as OpenCLIP's src/training/train.py does it (accum_freq 1): zero_grad, model(images, text), ClipLoss,
backward, AdamW.step (OpenCLIP's decay groups), logit_scale.clamp_(0, ln 100). Data: one fixed random batch
built like `cliplab bench train`'s (N(0,1) images; SOT, random ids, EOT at a random position, zero padding).
Prints one JSON line. Run one model per process, so that peak RSS is that model's:

    eval "$(bash ../shared/peer/setup.sh)"
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/openclip_train_step.py --model ViT-B-32 --batch-size 8
"""
import json
import math
import os
import sys
import time

from openclip_common import image_side, model_name, parse_args


def rss_mb(kind):
    """Current (VmRSS) or peak (VmHWM) resident set of this process, MB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(kind + ':'):
                return int(line.split()[1]) / 1024
    return float('nan')


def main():
    a = parse_args(steps=5, warmup=2)
    import torch
    torch.set_num_threads(a.threads)
    import open_clip
    from open_clip.loss import ClipLoss
    a.model = model_name(open_clip, a.model)

    torch.manual_seed(0)
    rss0 = rss_mb('VmRSS')
    model = open_clip.create_model(a.model, pretrained=None)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    # OpenCLIP's decay rule (src/training/main.py).
    exclude = lambda n, p: p.ndim < 2 or 'bn' in n or 'ln' in n or 'bias' in n or 'logit_scale' in n
    named = list(model.named_parameters())
    gain = [p for n, p in named if exclude(n, p) and p.requires_grad]
    rest = [p for n, p in named if not exclude(n, p) and p.requires_grad]
    opt = torch.optim.AdamW([{'params': gain, 'weight_decay': 0.}, {'params': rest, 'weight_decay': 0.2}], lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    loss_fn = ClipLoss()
    rss_model = rss_mb('VmRSS')

    g = torch.Generator().manual_seed(2)
    size = image_side(model)
    ctx = model.context_length
    B = a.batch_size
    images = torch.randn(B, 3, size, size, generator=g)
    text = torch.zeros(B, ctx, dtype=torch.long)
    for i in range(B):
        end = 2 + int(torch.randint(ctx - 2, (1,), generator=g))
        text[i, 0] = 49406
        text[i, 1:end] = torch.randint(1, 49406, (end - 1,), generator=g)
        text[i, end] = 49407

    def step():
        opt.zero_grad()
        out = model(images, text)
        loss = loss_fn(out['image_features'] if isinstance(out, dict) else out[0],
                       out['text_features'] if isinstance(out, dict) else out[1],
                       out['logit_scale'] if isinstance(out, dict) else out[2])
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))

    for _ in range(a.warmup):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    cpu = time.process_time() - c0
    times.sort()
    print(json.dumps({
        'bench': 'openclip-train', 'model': a.model, 'batch': B, 'threads': a.threads, 'steps': a.steps,
        'images_per_s': round(B * len(times) / sum(times), 2), 'step_ms_median': round(1000 * times[len(times) // 2], 1),
        'cpu_ms_per_image': round(1000 * cpu / (B * len(times)), 3),
        'params': n_params, 'rss_start_mb': round(rss0), 'rss_after_model_mb': round(rss_model),
        'rss_end_mb': round(rss_mb('VmRSS')), 'peak_rss_mb': round(rss_mb('VmHWM')),
        'torch': torch.__version__, 'omp': os.environ.get('OMP_NUM_THREADS'), 'openblas': os.environ.get('OPENBLAS_NUM_THREADS'),
    }))


if __name__ == '__main__':
    sys.exit(main())
