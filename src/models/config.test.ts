// Model configs: shipped OpenCLIP configs resolve over v2.20.0 defaults; bad configs fail naming file and key.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetPath } from '../util/assets.js';
import { listModelConfigs, loadModelConfig, parseModelConfig, visionHeads } from './config.js';
import { golden } from '../../test/support/golden.js';

const tmpFile = (name: string, text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'cliplab-cfg-')), name);
  writeFileSync(p, text);
  return p;
};

describe('shipped configs', () => {
  it('lists the OpenCLIP and tiny configs', () => {
    expect(listModelConfigs()).toEqual(expect.arrayContaining([
      'RN50', 'RN50-quickgelu', 'ViT-B-16', 'ViT-B-16-quickgelu', 'ViT-B-32', 'ViT-B-32-quickgelu', 'ViT-Tiny-8-64', 'RN-Tiny-64',
    ]));
    for (const name of listModelConfigs()) expect(() => loadModelConfig(name), name).not.toThrow();
  });

  it('ships the tiny configs exactly as the golden ones', () => {
    for (const [name, dir] of [['ViT-Tiny-8-64', 'clip-vit-tiny'], ['RN-Tiny-64', 'clip-rn-tiny']]) {
      const ours = JSON.parse(readFileSync(assetPath('model-configs', `${name}.json`), 'utf8'));
      expect(ours).toEqual(JSON.parse(readFileSync(golden(dir!, 'config.json'), 'utf8')));
    }
  });

  it('fills CLIPVisionCfg / CLIPTextCfg defaults of OpenCLIP v2.20.0', () => {
    const c = loadModelConfig('ViT-B-32');
    expect(c.embed_dim).toBe(512);
    expect(c.quick_gelu).toBe(false);
    expect(c.vision_cfg).toMatchObject({ layers: 12, width: 768, patch_size: 32, image_size: 224, head_width: 64, mlp_ratio: 4 });
    expect(c.vision_cfg).toMatchObject({ ls_init_value: null, patch_dropout: 0, global_average_pool: false, attentional_pool: false, output_tokens: false });
    expect(c.text_cfg).toMatchObject({ context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12, ls_init_value: null });
    expect(visionHeads(c.vision_cfg)).toBe(12);
    expect(loadModelConfig('ViT-B-16').vision_cfg.patch_size).toBe(16);
    expect(visionHeads(loadModelConfig('ViT-Tiny-8-64').vision_cfg)).toBe(3);
  });

  it('ModifiedResNet configs: layers [3,4,6,3], no patch size, heads = width*32/head_width', () => {
    const rn = loadModelConfig('RN50');
    expect(rn.embed_dim).toBe(1024);
    expect(rn.vision_cfg.layers).toEqual([3, 4, 6, 3]);
    expect(rn.vision_cfg.patch_size).toBeNull();
    expect(visionHeads(rn.vision_cfg)).toBe(32);
    expect(visionHeads(loadModelConfig('RN-Tiny-64').vision_cfg)).toBe(32);
  });

  it('-quickgelu variants differ only in quick_gelu', () => {
    for (const base of ['ViT-B-32', 'ViT-B-16', 'RN50']) {
      const q = loadModelConfig(`${base}-quickgelu`);
      expect(q.quick_gelu).toBe(true);
      expect({ ...q, quick_gelu: false }).toEqual(loadModelConfig(base));
    }
  });

  it('loads a config from a path, and a resolved config re-validates unchanged', () => {
    const c = loadModelConfig('RN-Tiny-64');
    const p = tmpFile('my.json', JSON.stringify(c));
    expect(loadModelConfig(p)).toEqual(c);
  });
});

describe('bad configs', () => {
  it('unknown name lists the available ones', () => {
    expect(() => loadModelConfig('ViT-Q-99')).toThrow(/ViT-Q-99.*unknown.*ViT-B-32/);
  });
  it('missing file and invalid JSON name the file', () => {
    expect(() => loadModelConfig('/nonexistent/x.json')).toThrow(/\/nonexistent\/x\.json.*not found/);
    const p = tmpFile('broken.json', '{"embed_dim": 64,');
    expect(() => loadModelConfig(p)).toThrow(/broken\.json.*not valid JSON/);
  });
  it('wrong types, missing and unknown keys name the key path', () => {
    const bad = tmpFile('bad.json', JSON.stringify({ embed_dim: 64, vision_cfg: { width: 'wide' } }));
    expect(() => loadModelConfig(bad)).toThrow(/bad\.json: vision_cfg\.width/);
    expect(() => parseModelConfig({ vision_cfg: {} }, 'c.json')).toThrow(/c\.json: embed_dim/);
    expect(() => parseModelConfig({ embed_dim: 8, text_cfg: { widht: 3 } }, 'c.json')).toThrow(/text_cfg\.widht: unknown key/);
    expect(() => parseModelConfig({ embed_dim: 8, vision_cfg: { layers: [1, 2] } }, 'c.json')).toThrow(/vision_cfg\.layers/);
  });
  it('accepts a newer config\'s default pool_type and drops it (v2.20.0 has no such field)', () => {
    const c = parseModelConfig({ embed_dim: 8, vision_cfg: { pool_type: 'tok' }, text_cfg: { pool_type: 'argmax' } }, 'x.json');
    expect('pool_type' in c.vision_cfg).toBe(false);
    expect('pool_type' in c.text_cfg).toBe(false);
  });
  it('rejects OpenCLIP features cliplab does not build', () => {
    const cases: Array<[object, RegExp]> = [
      [{ vision_cfg: { timm_model_name: 'convnext_base' } }, /vision_cfg\.timm_model_name.*timm/],
      [{ text_cfg: { hf_model_name: 'roberta-base' } }, /text_cfg\.hf_model_name/],
      [{ vision_cfg: { attentional_pool: true } }, /attentional_pool/],
      [{ vision_cfg: { global_average_pool: true } }, /global_average_pool/],
      [{ vision_cfg: { ls_init_value: 1e-5 } }, /ls_init_value/],
      [{ custom_text: true }, /custom_text/],
      [{ multimodal_cfg: { width: 512 } }, /multimodal_cfg/],
      [{ vision_cfg: { width: 100, head_width: 64 } }, /head_width/],
      [{ vision_cfg: { pool_type: 'avg' } }, /vision_cfg\.pool_type.*'avg'/],
      [{ text_cfg: { pool_type: 'last' } }, /text_cfg\.pool_type.*'last'/],
    ];
    for (const [extra, re] of cases) expect(() => parseModelConfig({ embed_dim: 8, ...extra }, 'x.json')).toThrow(re);
  });
});
