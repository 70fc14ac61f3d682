// OpenCLIP model configs (`embed_dim`, `vision_cfg`, `text_cfg`, `quick_gelu`) validated over the typed defaults
// of OpenCLIP v2.20.0's `CLIPVisionCfg` / `CLIPTextCfg`; the shipped configs live in `assets/model-configs/`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { assetPath } from '../util/assets.js';
import { InputError } from '../util/errors.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** `CLIPVisionCfg` (v2.20.0): field names and defaults exactly as the dataclass. */
const visionSchema = z
  .object({
    layers: z.union([posInt, z.tuple([posInt, posInt, posInt, posInt])]).default(12),
    width: posInt.default(768),
    head_width: posInt.default(64),
    mlp_ratio: z.number().positive().default(4.0),
    patch_size: posInt.nullable().default(16),
    image_size: posInt.default(224),
    ls_init_value: z.number().nullable().default(null),
    patch_dropout: z.number().min(0).lt(1).default(0),
    input_patchnorm: z.boolean().default(false),
    global_average_pool: z.boolean().default(false),
    attentional_pool: z.boolean().default(false),
    n_queries: posInt.default(256),
    attn_pooler_heads: posInt.default(8),
    output_tokens: z.boolean().default(false),
    timm_model_name: z.string().nullable().default(null),
    timm_model_pretrained: z.boolean().default(false),
    timm_pool: z.string().default('avg'),
    timm_proj: z.string().default('linear'),
    timm_proj_bias: z.boolean().default(false),
    timm_drop: z.number().default(0),
    timm_drop_path: z.number().nullable().default(null),
    // Newer OpenCLIP versions only; accepted at its default ('tok', class-token pooling) and then dropped.
    pool_type: z.string().optional(),
  })
  .strict();

/** `CLIPTextCfg` (v2.20.0). */
const textSchema = z
  .object({
    context_length: posInt.default(77),
    vocab_size: posInt.default(49408),
    width: posInt.default(512),
    heads: posInt.default(8),
    layers: posInt.default(12),
    ls_init_value: z.number().nullable().default(null),
    hf_model_name: z.string().nullable().default(null),
    hf_tokenizer_name: z.string().nullable().default(null),
    hf_model_pretrained: z.boolean().default(true),
    proj: z.string().default('mlp'),
    pooler_type: z.string().default('mean_pooler'),
    embed_cls: z.boolean().default(false),
    pad_id: nonNegInt.default(0),
    output_tokens: z.boolean().default(false),
    // Newer OpenCLIP versions only; accepted at its default ('argmax', EOT-position pooling) and then dropped.
    pool_type: z.string().optional(),
  })
  .strict();

const clipSchema = z
  .object({
    embed_dim: posInt,
    quick_gelu: z.boolean().default(false),
    vision_cfg: visionSchema.prefault({}),
    text_cfg: textSchema.prefault({}),
    // Accepted only so that we can say clearly that they are not supported (see `unsupported`).
    custom_text: z.boolean().optional(),
    multimodal_cfg: z.unknown().optional(),
  })
  .strict();

export type VisionCfg = Omit<z.output<typeof visionSchema>, 'pool_type'>;
export type TextCfg = Omit<z.output<typeof textSchema>, 'pool_type'>;
/** A fully resolved OpenCLIP v2.20.0 model config: every dataclass field present, defaults filled in. */
export interface ClipConfig {
  embed_dim: number;
  quick_gelu: boolean;
  vision_cfg: VisionCfg;
  text_cfg: TextCfg;
}

export const isResNetVision = (v: VisionCfg): boolean => Array.isArray(v.layers);

/** Attention heads of the vision tower: `width // head_width` (ViT), `width * 32 // head_width` (ModifiedResNet). */
export function visionHeads(v: VisionCfg): number {
  return Math.floor((isResNetVision(v) ? v.width * 32 : v.width) / v.head_width);
}

/** Features OpenCLIP has and cliplab does not build yet: [key path, why]. */
function unsupported(raw: z.output<typeof clipSchema>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const v = raw.vision_cfg;
  const t = raw.text_cfg;
  if (raw.custom_text) out.push(['custom_text', 'CustomTextCLIP (separate text towers) is not supported']);
  if (raw.multimodal_cfg !== undefined) out.push(['multimodal_cfg', 'CoCa models are not supported']);
  if (v.timm_model_name !== null) out.push(['vision_cfg.timm_model_name', 'timm vision towers are not supported']);
  if (t.hf_model_name !== null) out.push(['text_cfg.hf_model_name', 'Hugging Face text towers are not supported']);
  if (t.hf_tokenizer_name !== null) out.push(['text_cfg.hf_tokenizer_name', 'Hugging Face tokenizers are not supported']);
  if (v.attentional_pool) out.push(['vision_cfg.attentional_pool', 'attentional pooling is not supported']);
  if (v.global_average_pool) out.push(['vision_cfg.global_average_pool', 'global average pooling is not supported (class-token pooling only)']);
  if (v.input_patchnorm) out.push(['vision_cfg.input_patchnorm', 'dual patchnorm is not supported']);
  if (v.output_tokens) out.push(['vision_cfg.output_tokens', 'token outputs are not supported']);
  if (t.output_tokens) out.push(['text_cfg.output_tokens', 'token outputs are not supported']);
  if (v.ls_init_value !== null) out.push(['vision_cfg.ls_init_value', 'layer scale is not supported']);
  if (t.ls_init_value !== null) out.push(['text_cfg.ls_init_value', 'layer scale is not supported']);
  if (v.patch_dropout !== 0) out.push(['vision_cfg.patch_dropout', 'patch dropout is not supported']);
  if (t.embed_cls) out.push(['text_cfg.embed_cls', 'a text CLS token (CoCa) is not supported']);
  if (t.pad_id !== 0) out.push(['text_cfg.pad_id', 'only pad_id 0 is supported']);
  if (v.pool_type !== undefined && v.pool_type !== 'tok') {
    out.push(['vision_cfg.pool_type', `pool_type '${v.pool_type}' is not supported (class-token pooling, 'tok', only)`]);
  }
  if (t.pool_type !== undefined && t.pool_type !== 'argmax') {
    out.push(['text_cfg.pool_type', `pool_type '${t.pool_type}' is not supported (end-token pooling, 'argmax', only)`]);
  }
  if (!isResNetVision(v)) {
    if (v.patch_size === null) out.push(['vision_cfg.patch_size', 'a ViT (integer layers) needs a patch_size']);
    if (v.width % v.head_width !== 0) out.push(['vision_cfg.head_width', `width ${v.width} is not a multiple of head_width ${v.head_width}`]);
  } else if ((v.width * 32) % v.head_width !== 0) {
    out.push(['vision_cfg.head_width', `ModifiedResNet embed width ${v.width * 32} is not a multiple of head_width ${v.head_width}`]);
  }
  if (t.width % t.heads !== 0) out.push(['text_cfg.heads', `width ${t.width} is not a multiple of heads ${t.heads}`]);
  return out;
}

/** Validate an OpenCLIP-style config object; `where` (a file or name) prefixes every error. */
export function parseModelConfig(value: unknown, where: string): ClipConfig {
  const parsed = clipSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => [...issue.path, k].join('.'));
      throw new InputError(where, `${keys.join(', ')}: unknown key (not an OpenCLIP v2.20.0 config field)`);
    }
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new InputError(where, `${path}: ${issue.message.replace(/received undefined$/, 'but it is missing')}`);
  }
  const problems = unsupported(parsed.data);
  if (problems.length) {
    throw new InputError(where, problems.map(([k, why]) => `${k}: ${why}`).join('; '));
  }
  const { embed_dim, quick_gelu, vision_cfg, text_cfg } = parsed.data;
  const { pool_type: _vp, ...vision } = vision_cfg;
  const { pool_type: _tp, ...text } = text_cfg;
  return { embed_dim, quick_gelu, vision_cfg: vision, text_cfg: text };
}

/**
 * The config as `config.json` beside a checkpoint: every field, less those that are null where OpenCLIP's
 * default is null too. OpenCLIP's create_model tests keys for presence (`'hf_model_name' in text_cfg` builds
 * a CustomTextCLIP, whose state dict names differ), so a null there is not the same as no key.
 */
export function configJson(cfg: ClipConfig): Record<string, unknown> {
  const drop = (o: object): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([k, v]) => !(v === null && NULL_DEFAULTS.has(k))));
  return { embed_dim: cfg.embed_dim, quick_gelu: cfg.quick_gelu, vision_cfg: drop(cfg.vision_cfg), text_cfg: drop(cfg.text_cfg) };
}

/** Fields of CLIPVisionCfg / CLIPTextCfg whose default is None. */
const NULL_DEFAULTS = new Set(['ls_init_value', 'timm_model_name', 'timm_drop_path', 'hf_model_name', 'hf_tokenizer_name']);

const CONFIG_DIR = () => assetPath('model-configs');

/** Names of the shipped configs (`assets/model-configs/<name>.json`), sorted. */
export function listModelConfigs(): string[] {
  return readdirSync(CONFIG_DIR())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** A shipped config by name (e.g. `ViT-B-32`), or a JSON file by path. */
export function loadModelConfig(nameOrPath: string): ClipConfig {
  const names = listModelConfigs();
  let file: string;
  if (names.includes(nameOrPath)) {
    file = assetPath('model-configs', `${nameOrPath}.json`);
  } else if (nameOrPath.endsWith('.json') || nameOrPath.includes('/') || existsSync(nameOrPath)) {
    file = nameOrPath;
    if (!existsSync(file)) throw new InputError(file, 'model config file not found');
  } else {
    throw new InputError(nameOrPath, `unknown model config; available: ${names.join(', ')} (or a path to a .json file)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, `not valid JSON (${(err as Error).message})`);
  }
  return parseModelConfig(unwrapHubConfig(raw, file), names.includes(nameOrPath) ? `${basename(file)}` : file);
}

const OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * The model config inside a JSON value. OpenCLIP's hub `open_clip_config.json` wraps it as `{model_cfg,
 * preprocess_cfg}` (push_to_hf_hub); a bare config is taken as it is, as OpenCLIP's get_model_config does.
 * cliplab preprocesses as OpenCLIP's defaults do, so a preprocess_cfg asking for anything else is refused.
 */
function unwrapHubConfig(raw: unknown, file: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('model_cfg' in raw)) return raw;
  const pp = (raw as { preprocess_cfg?: Record<string, unknown> }).preprocess_cfg ?? {};
  const same = (v: unknown, want: number[]) => Array.isArray(v) && v.length === 3 && v.every((x, i) => Math.abs(Number(x) - want[i]!) < 1e-6);
  const bad = (key: string, want: string) => new InputError(file, `preprocess_cfg.${key} = ${JSON.stringify(pp[key])}: cliplab preprocesses with ${want} only`);
  if (pp.mean !== undefined && !same(pp.mean, OPENAI_MEAN)) throw bad('mean', "OpenAI's CLIP mean");
  if (pp.std !== undefined && !same(pp.std, OPENAI_STD)) throw bad('std', "OpenAI's CLIP std");
  if (pp.interpolation !== undefined && pp.interpolation !== 'bicubic') throw bad('interpolation', 'bicubic');
  if (pp.resize_mode !== undefined && pp.resize_mode !== 'shortest') throw bad('resize_mode', "'shortest' (resize, then center crop)");
  return (raw as { model_cfg: unknown }).model_cfg;
}
