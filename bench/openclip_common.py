"""What the OpenCLIP peers of `cliplab bench` share: their flags, and the model named by --model (an OpenCLIP
model name, or a config .json file such as cliplab's assets/model-configs/RN-Tiny-64.json, registered under
its file stem)."""
import argparse
import os


def parse_args(steps, warmup):
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='ViT-Tiny-8-64', help='an OpenCLIP model name or a config .json file')
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--steps', type=int, default=steps)
    ap.add_argument('--warmup', type=int, default=warmup)
    ap.add_argument('--threads', type=int, default=2)
    return ap.parse_args()


def model_name(open_clip, model):
    """The name OpenCLIP knows the model by, registering a config file first."""
    if not model.endswith('.json'):
        return model
    open_clip.add_model_config(model)
    return os.path.splitext(os.path.basename(model))[0]


def image_side(model):
    size = model.visual.image_size
    return size[0] if isinstance(size, (tuple, list)) else size
