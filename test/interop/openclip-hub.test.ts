// A hub model directory written by the real OpenCLIP v2.20.0 (push_to_hf_hub's save_config_for_hf and its file
// names, the weights as save_for_hf's torch.save of the state dict) loads in cliplab, and cliplab's image features
// on it match OpenCLIP's own.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ClipEncoders } from '../../src/models/encoders.js';
import { loadClipModel } from '../../src/models/load.js';
import { describeWith } from '../support/external.js';
import { peerTool, runPeer } from './peer.js';

const WRITE_HUB_DIR = `
import json, sys, torch, open_clip
from pathlib import Path
from open_clip.push_to_hf_hub import save_config_for_hf, HF_WEIGHTS_NAME, HF_CONFIG_NAME
from open_clip.factory import get_model_config
out = Path(sys.argv[1])
torch.manual_seed(0)
model = open_clip.create_model('ViT-Tiny-8-64').eval()
# save_for_hf(safe_serialization=False) without its tokenizer.save_pretrained (that needs transformers):
torch.save(model.state_dict(), out / HF_WEIGHTS_NAME)
save_config_for_hf(model, out / HF_CONFIG_NAME, model_config=get_model_config('ViT-Tiny-8-64'))
x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    f = model.encode_image(x)
print(json.dumps({'files': sorted(p.name for p in out.iterdir()), 'x': x.flatten().tolist(), 'features': f.flatten().tolist()}))
`;

const dir = mkdtempSync(join(tmpdir(), 'cliplab-oc-hub-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWith(peerTool, 'an OpenCLIP hub directory written by OpenCLIP itself', () => {
  it('loads with its open_clip_config.json and gives OpenCLIP’s image features', async () => {
    const py = JSON.parse(runPeer(WRITE_HUB_DIR, [dir])) as { files: string[]; x: number[]; features: number[] };
    expect(py.files).toEqual(['open_clip_config.json', 'open_clip_pytorch_model.bin']);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'open_clip_config.json'), 'utf8')) as object)).toEqual(['model_cfg', 'preprocess_cfg']);
    const m = await loadClipModel(dir);
    expect(m.file).toBe(join(dir, 'open_clip_pytorch_model.bin'));
    expect(m.config).toMatchObject({ embed_dim: 64, vision_cfg: { width: 96, patch_size: 8 }, text_cfg: { context_length: 32 } });
    const enc = await ClipEncoders.create(m.config, m.weights, { threads: 1 });
    try {
      const got = await enc.encodeImages(Float32Array.from(py.x), 2);
      expect(got.length).toBe(py.features.length);
      const maxDiff = Math.max(...py.features.map((v, i) => Math.abs(v - got[i]!)));
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await enc.release();
    }
  });
});
