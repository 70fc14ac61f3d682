// OpenCLIP / Hugging Face model directories load wherever a model is accepted: the layout push_to_hf_hub writes
// (open_clip_config.json with its model_cfg wrapper beside open_clip_model.safetensors), the same inside a hub
// cache entry (models--org--name/refs, snapshots → blobs) or named hf-hub:org/name, and the wrapped config alone.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { golden } from '../../test/support/golden.js';
import { loadModelConfig } from './config.js';
import { loadClipModel } from './load.js';
import { locateModel, setHuggingFaceCache } from './model-dir.js';

const OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_STD = [0.26862954, 0.26130258, 0.27577711];

let root: string;
let hubDir: string;
let expected: Map<string, Float32Array>;

/** open_clip_config.json as save_config_for_hf writes it: json.dump({model_cfg, preprocess_cfg}, indent=2). */
function hubConfig(preprocess: Record<string, unknown> = { mean: OPENAI_MEAN, std: OPENAI_STD }): string {
  const modelCfg = JSON.parse(readFileSync(golden('clip-vit-tiny', 'config.json'), 'utf8')) as unknown;
  return JSON.stringify({ model_cfg: modelCfg, preprocess_cfg: preprocess }, null, 2);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-hub-'));
  hubDir = join(root, 'CLIP-ViT-Tiny-laion');
  mkdirSync(hubDir);
  writeFileSync(join(hubDir, 'open_clip_model.safetensors'), gunzipSync(readFileSync(golden('clip-vit-tiny', 'init.safetensors.gz'))));
  writeFileSync(join(hubDir, 'open_clip_config.json'), hubConfig());
  // A hub repository often also carries Hugging Face transformers' own files: they must not be picked.
  writeFileSync(join(hubDir, 'config.json'), JSON.stringify({ architectures: ['CLIPModel'], model_type: 'clip' }));
  writeFileSync(join(hubDir, 'model.safetensors'), 'not the OpenCLIP weights');
  const ref = join(root, 'ref');
  mkdirSync(ref);
  copyFileSync(golden('clip-vit-tiny', 'config.json'), join(ref, 'config.json'));
  copyFileSync(golden('clip-vit-tiny', 'init.safetensors.gz'), join(ref, 'init.safetensors.gz'));
  expected = (await loadClipModel(join(ref, 'init.safetensors.gz'))).weights;
});
afterEach(() => setHuggingFaceCache(null));

function expectSameWeights(got: Map<string, Float32Array>): void {
  expect([...got.keys()]).toEqual([...expected.keys()]);
  // Byte comparison: toEqual over the 3M-float token embedding takes minutes.
  for (const [k, v] of expected) expect(Buffer.from(got.get(k)!.buffer, got.get(k)!.byteOffset, got.get(k)!.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)), k).toBe(true);
}

/** A hub cache entry as huggingface_hub lays it out: blobs by hash, snapshots/<commit>/ symlinks, refs/main. */
function cacheEntry(cache: string, repo: string, commit: string): string {
  const entry = join(cache, `models--${repo.replace('/', '--')}`);
  mkdirSync(join(entry, 'blobs'), { recursive: true });
  mkdirSync(join(entry, 'snapshots', commit), { recursive: true });
  mkdirSync(join(entry, 'refs'));
  for (const [f, blob] of [['open_clip_config.json', 'c0ffee'], ['open_clip_model.safetensors', 'beef00']] as const) {
    copyFileSync(join(hubDir, f), join(entry, 'blobs', blob));
    symlinkSync(join('..', '..', 'blobs', blob), join(entry, 'snapshots', commit, f));
  }
  writeFileSync(join(entry, 'refs', 'main'), commit);
  return entry;
}

describe('OpenCLIP hub model directories', () => {
  it('loads a directory as push_to_hf_hub writes it, taking open_clip_* over transformers files', async () => {
    const m = await loadClipModel(hubDir);
    expect(m.file).toBe(join(hubDir, 'open_clip_model.safetensors'));
    expect(m.config.vision_cfg.patch_size).toBe(8);
    expectSameWeights(m.weights);
    expect(locateModel(`local-dir:${hubDir}`).config).toBe(join(hubDir, 'open_clip_config.json'));
    expect(locateModel(join(hubDir, 'open_clip_model.safetensors')).config).toBe(join(hubDir, 'open_clip_config.json'));
  });

  it('reads open_clip_config.json as a model config (its model_cfg), as --model-config does', () => {
    const cfg = loadModelConfig(join(hubDir, 'open_clip_config.json'));
    expect(cfg).toEqual(loadModelConfig(golden('clip-vit-tiny', 'config.json')));
  });

  it('refuses a preprocess_cfg cliplab would not follow, naming the key', () => {
    const d = join(root, 'other-mean');
    mkdirSync(d);
    writeFileSync(join(d, 'open_clip_config.json'), hubConfig({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }));
    expect(() => loadModelConfig(join(d, 'open_clip_config.json'))).toThrow(/open_clip_config\.json: preprocess_cfg\.mean = \[0\.5,0\.5,0\.5\]: cliplab preprocesses with OpenAI's CLIP mean only/);
    writeFileSync(join(d, 'open_clip_config.json'), hubConfig({ mean: OPENAI_MEAN, std: OPENAI_STD, interpolation: 'bicubic', resize_mode: 'squash' }));
    expect(() => loadModelConfig(join(d, 'open_clip_config.json'))).toThrow(/preprocess_cfg\.resize_mode = "squash"/);
  });

  it('loads a hub cache entry, and hf-hub:org/name[@commit] from the cache, without any network', async () => {
    const cache = join(root, 'hub-cache');
    const commit = 'a'.repeat(40);
    const entry = cacheEntry(cache, 'laion/CLIP-ViT-Tiny', commit);
    expectSameWeights((await loadClipModel(entry)).weights);
    setHuggingFaceCache(cache);
    const viaHub = await loadClipModel('hf-hub:laion/CLIP-ViT-Tiny');
    expect(viaHub.file).toBe(join(entry, 'snapshots', commit, 'open_clip_model.safetensors'));
    expectSameWeights(viaHub.weights);
    expect(locateModel(`hf-hub:laion/CLIP-ViT-Tiny@${commit}`).weights).toBe(viaHub.file);
    expect(() => locateModel('hf-hub:laion/CLIP-ViT-B-32')).toThrow(/hf-hub:laion\/CLIP-ViT-B-32: not in the Hugging Face cache .*never downloads/);
    expect(() => locateModel('hf-hub:laion/CLIP-ViT-Tiny@v2')).toThrow(/no revision "v2"/);
    setHuggingFaceCache(null);
    expect(() => locateModel('hf-hub:laion/CLIP-ViT-Tiny')).toThrow(/no Hugging Face cache directory known/);
  });

  it('says what a directory without weights lacks', () => {
    const d = join(root, 'config-only');
    mkdirSync(d);
    writeFileSync(join(d, 'open_clip_config.json'), hubConfig());
    expect(() => locateModel(d)).toThrow(/open_clip_config\.json but no weights \(open_clip_model\.safetensors/);
    expect(() => locateModel(root)).toThrow(/no model\.safetensors, checkpoints\/latest\.safetensors or open_clip_config\.json/);
  });
});
