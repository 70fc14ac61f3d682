// Where a model's weights and config are, for every layout cliplab accepts: a cliplab run or checkpoint directory
// (model.safetensors or checkpoints/latest.safetensors, config.json), an OpenCLIP / Hugging Face model directory
// (open_clip_config.json beside open_clip_model.safetensors or open_clip_pytorch_model.bin, as OpenCLIP's
// push_to_hf_hub writes it), a Hugging Face cache entry (`models--org--name`, or `hf-hub:org/name` looked up in
// the local cache: cliplab never downloads), `local-dir:PATH` as OpenCLIP spells it, or a weights file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';

/** OpenCLIP's names (constants.py): the config and the weights files of a hub model directory. */
export const HF_CONFIG_FILE = 'open_clip_config.json';
/** OpenCLIP's `_find_checkpoint_in_dir` preference order. */
const HF_WEIGHTS = [
  'open_clip_model.safetensors',
  'open_clip_pytorch_model.safetensors',
  'open_clip_pytorch_model.bin',
  'open_clip_pytorch_model.pth',
  'model.safetensors',
  'pytorch_model.bin',
  'pytorch_model.pth',
  'model.pth',
];
const HUB_PREFIX = 'hf-hub:';
const LOCAL_PREFIX = 'local-dir:';

let hubCache: string | null = null;

/** The Hugging Face hub cache that `hf-hub:` names are looked up in (the CLI sets it from HF_HUB_CACHE / HF_HOME). */
export function setHuggingFaceCache(dir: string | null): void {
  hubCache = dir;
}

export interface ModelLocation {
  /** The weights file (safetensors or torch.save). */
  weights: string;
  /** config.json or open_clip_config.json for it, or null when none is found. */
  config: string | null;
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** A cache entry's snapshot: refs/<revision> names the commit; a lone snapshot is taken when there are no refs. */
function snapshotOf(entry: string, revision: string, what: string): string {
  const ref = join(entry, 'refs', revision);
  if (existsSync(ref)) {
    const commit = readFileSync(ref, 'utf8').trim();
    const snap = join(entry, 'snapshots', commit);
    if (isDir(snap)) return snap;
    throw new InputError(what, `refs/${revision} names commit ${commit}, which is not in ${join(entry, 'snapshots')}`);
  }
  if (isDir(join(entry, 'snapshots', revision))) return join(entry, 'snapshots', revision);
  const snaps = isDir(join(entry, 'snapshots')) ? readdirSync(join(entry, 'snapshots')).filter((n) => !n.startsWith('.')) : [];
  if (snaps.length === 1 && revision === 'main') return join(entry, 'snapshots', snaps[0]!);
  throw new InputError(what, `no revision "${revision}" in the cache entry ${entry} (snapshots: ${snaps.join(', ') || 'none'})`);
}

/** `hf-hub:org/name[@revision]` → its snapshot directory in the local hub cache. */
function hubSnapshot(name: string): string {
  const id = name.slice(HUB_PREFIX.length);
  const [repo, revision = 'main'] = id.split('@');
  if (!repo || repo.split('/').length !== 2) throw new InputError(name, 'expected hf-hub:ORG/NAME (optionally @REVISION)');
  if (!hubCache) throw new InputError(name, 'no Hugging Face cache directory known (set HF_HUB_CACHE or HF_HOME)');
  const entry = join(hubCache, `models--${repo.split('/').join('--')}`);
  if (!isDir(entry))
    throw new InputError(name, `not in the Hugging Face cache ${hubCache} (cliplab reads the cache and never downloads: fetch it first, e.g. huggingface-cli download ${repo})`);
  return snapshotOf(entry, revision, name);
}

/**
 * The config for a weights file: open_clip_config.json beside it (a hub directory's config.json, if any, is
 * Hugging Face transformers' CLIPConfig, not OpenCLIP's), else cliplab's config.json beside it or one level up.
 */
function configBeside(file: string): string | null {
  if (existsSync(join(dirname(file), HF_CONFIG_FILE))) return join(dirname(file), HF_CONFIG_FILE);
  for (const dir of [dirname(file), dirname(dirname(file))]) if (existsSync(join(dir, 'config.json'))) return join(dir, 'config.json');
  return null;
}

/** The weights of an OpenCLIP hub directory, chosen as OpenCLIP chooses them. */
function hubWeights(dir: string): string | null {
  for (const f of HF_WEIGHTS) if (existsSync(join(dir, f))) return join(dir, f);
  const any = readdirSync(dir)
    .filter((n) => /\.(safetensors|bin|pth)$/.test(n))
    .sort()
    .sort((a, b) => Number(b.endsWith('.safetensors')) - Number(a.endsWith('.safetensors')));
  return any.length ? join(dir, any[0]!) : null;
}

/** Finds the weights and config named by `path` (a file, a directory of any layout above, or hf-hub:/local-dir:). */
export function locateModel(path: string): ModelLocation {
  if (path.startsWith(HUB_PREFIX)) return locateModel(hubSnapshot(path));
  if (path.startsWith(LOCAL_PREFIX)) return locateModel(path.slice(LOCAL_PREFIX.length));
  if (!existsSync(path)) throw new InputError(path, 'no such file or directory');
  if (!statSync(path).isDirectory()) return { weights: path, config: configBeside(path) };
  if (basename(path).startsWith('models--') && isDir(join(path, 'snapshots'))) return locateModel(snapshotOf(path, 'main', path));
  // First: a hub directory may also hold transformers' model.safetensors + config.json, which are not OpenCLIP's.
  if (existsSync(join(path, HF_CONFIG_FILE))) {
    const weights = hubWeights(path);
    if (!weights) throw new InputError(path, `${HF_CONFIG_FILE} but no weights (${HF_WEIGHTS.slice(0, 3).join(', ')}, …) in this directory`);
    return { weights, config: join(path, HF_CONFIG_FILE) };
  }
  for (const f of ['model.safetensors', 'checkpoints/latest.safetensors']) {
    if (existsSync(join(path, f))) return { weights: join(path, f), config: configBeside(join(path, f)) };
  }
  throw new InputError(path, `no model.safetensors, checkpoints/latest.safetensors or ${HF_CONFIG_FILE} in this directory`);
}
