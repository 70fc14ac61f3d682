// Evaluation datasets and their classes: the testbed suite (reference + shifts from testbed.json), the ImageNet
// suite (val, V2, R, Sketch, A, ObjectNet under --data-root; R/A over their 200-class subsets, ObjectNet's 113
// classes mapped onto ImageNet indices with a 2-pixel border crop), and any ImageFolder.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readTestbedManifest } from '../data/testbed/index.js';
import { assetPath } from '../util/assets.js';
import { InputError } from '../util/errors.js';
import { codePointCompare, listClassDirs, readImageFolder, type FolderClass, type ImageFolder } from './image-folder.js';
import { IMAGENET_C, IMAGENET_C_FOLDERS, listImagenetC } from './imagenet-c.js';

/** A label of a dataset: its folder, its name, and the head columns whose max is its logit. */
export interface EvalClass extends FolderClass {
  columns: number[];
}

export interface DatasetSpec {
  /** Result `dataset` name. */
  name: string;
  suite?: string;
  root: string;
  /** Class names of the zero-shot head the dataset is scored against. */
  headClassnames: string[];
  /** Labels in order; a class's logit is the max over its head columns (one column except for ObjectNet). */
  classes: EvalClass[];
  /** Class subset id for results (`imagenet-r-200`, `testbed-100`, …). */
  classesId: string;
  /** Pixels cut from each side before the eval transform. */
  borderCrop: number;
  /** True for the suite's reference distribution. */
  reference?: boolean;
  /** The listing, when building the spec already read it. */
  folder?: ImageFolder;
  /** ImageNet-C: the set's corruption and severity; such sets are reported together in one `imagenet-c` result. */
  corruption?: { name: string; severity: number };
}

export const SUITES = ['testbed', 'imagenet'] as const;
export type SuiteName = (typeof SUITES)[number];

export function hashClassnames(names: readonly string[]): string {
  return createHash('sha256').update([...names].sort(codePointCompare).join('\n')).digest('hex').slice(0, 16);
}

function readAsset<T>(file: string): T {
  return JSON.parse(readFileSync(assetPath('zeroshot', file), 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------- ImageNet

export const IMAGENET_DATASETS = ['imagenet-1k', 'imagenetv2', 'imagenet-r', 'imagenet-sketch', 'imagenet-a', 'objectnet'] as const;
export type ImagenetDataset = (typeof IMAGENET_DATASETS)[number];

/** Folder names tried under --data-root for each dataset, first match wins. */
export const IMAGENET_FOLDERS: Record<ImagenetDataset, string[]> = {
  'imagenet-1k': ['imagenet-1k', 'imagenet/val', 'imagenet1k/val', 'ILSVRC2012_img_val', 'val'],
  imagenetv2: ['imagenetv2', 'imagenetv2-matched-frequency-format-val', 'imagenetv2-matched-frequency'],
  'imagenet-r': ['imagenet-r'],
  'imagenet-sketch': ['imagenet-sketch', 'imagenet-sketch/sketch', 'sketch'],
  'imagenet-a': ['imagenet-a'],
  objectnet: ['objectnet', 'objectnet-1.0/images', 'objectnet/images'],
};

interface SubsetFile {
  indices: number[];
  wnids: string[];
  classnames: string[];
}

interface ObjectnetMapping {
  folder_to_imagenet_indices: Record<string, number[]>;
  folder_to_objectnet_label: Record<string, string>;
  imagenet_class_sublist: number[];
}

export function imagenetClassnames(): string[] {
  return readAsset<string[]>('imagenet_classnames.json');
}

/** The 200 ImageNet-R or ImageNet-A classes: folders (wnids, sorted) → their ImageNet columns. */
export function imagenetSubsetClasses(which: 'r' | 'a'): EvalClass[] {
  const names = imagenetClassnames();
  const f = readAsset<SubsetFile>(`imagenet_${which}_indices.json`);
  return f.indices.map((idx, k) => {
    const name = names[idx];
    if (name === undefined || name !== f.classnames[k])
      throw new InputError(`imagenet_${which}_indices.json`, `class '${f.classnames[k]}' (${f.wnids[k]}) is absent from the ImageNet head at index ${idx}`);
    return { dir: f.wnids[k]!, name, columns: [idx] };
  });
}

/** ObjectNet's 113 classes mapped to ImageNet (folders sorted); a class's logit is the max over its ImageNet columns. */
export function objectnetClasses(): EvalClass[] {
  const m = readAsset<ObjectnetMapping>('objectnet_mapping.json');
  return Object.keys(m.folder_to_imagenet_indices)
    .sort(codePointCompare)
    .map((dir) => ({ dir, name: m.folder_to_objectnet_label[dir] ?? dir, columns: [...m.folder_to_imagenet_indices[dir]!] }));
}

/** Known wnid → index pairs (from the R and A lists), to check a 1000-folder layout. */
function knownWnids(): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of ['r', 'a'] as const) {
    const f = readAsset<SubsetFile>(`imagenet_${w}_indices.json`);
    f.wnids.forEach((wnid, k) => m.set(wnid, f.indices[k]!));
  }
  return m;
}

/**
 * The 1000 classes of a full-ImageNet layout: folders `0`…`999` (ImageNetV2's release) or 1000 WordNet ids,
 * whose sorted order is the standard index order.
 */
export function imagenet1000Classes(root: string): EvalClass[] {
  const names = imagenetClassnames();
  const dirs = listClassDirs(root);
  if (dirs.length > 0 && dirs.every((d) => /^\d+$/.test(d))) {
    const have = new Set(dirs.map(Number));
    const missing = names.map((_, i) => i).filter((i) => !have.has(i));
    if (missing.length)
      throw new InputError(root, `missing class folder${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((i) => `'${i}' (${names[i]})`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    return names.map((name, i) => ({ dir: dirs.find((d) => Number(d) === i)!, name, columns: [i] }));
  }
  const wnids = dirs.filter((d) => /^n\d{8}$/.test(d));
  const known = knownWnids();
  if (wnids.length !== 1000) {
    const present = new Set(wnids);
    const named = [...known].filter(([w]) => !present.has(w)).slice(0, 5).map(([w, i]) => `'${w}' (${names[i]})`);
    throw new InputError(
      root,
      `expected the 1000 ImageNet class folders (WordNet ids or 0…999), found ${wnids.length}` + (named.length ? `; missing class folders include ${named.join(', ')}` : ''),
    );
  }
  wnids.forEach((w, i) => {
    const want = known.get(w);
    if (want !== undefined && want !== i) throw new InputError(join(root, w), `class folder sorts to index ${i} but is ImageNet class ${want} (${names[want]})`);
  });
  return wnids.map((dir, i) => ({ dir, name: names[i]!, columns: [i] }));
}

function findFolder(dataRoot: string, ds: ImagenetDataset): string | null {
  for (const f of IMAGENET_FOLDERS[ds]) if (existsSync(join(dataRoot, f))) return join(dataRoot, f);
  return null;
}

export interface SuiteOptions {
  dataRoot: string;
  /** Only these datasets (each must be present); default every dataset found (at least one). */
  datasets?: string[];
  /** Testbed: also the `-full` sets over every shared concept (not flagged reference; analyze them apart). */
  includeFull?: boolean;
}

export function imagenetSuite(opts: SuiteOptions): DatasetSpec[] {
  const root = resolve(opts.dataRoot);
  if (!existsSync(root)) throw new InputError(opts.dataRoot, 'no such directory');
  for (const d of opts.datasets ?? [])
    if (!(IMAGENET_DATASETS as readonly string[]).includes(d) && d !== IMAGENET_C)
      throw new InputError('--datasets', `unknown ImageNet-suite dataset '${d}' (have ${[...IMAGENET_DATASETS, IMAGENET_C].join(', ')})`);
  const want = (opts.datasets ?? IMAGENET_DATASETS) as readonly ImagenetDataset[];
  const head = imagenetClassnames();
  const specs: DatasetSpec[] = [];
  for (const ds of IMAGENET_DATASETS) {
    if (!want.includes(ds)) continue;
    const dir = findFolder(root, ds);
    if (!dir) {
      if (opts.datasets) throw new InputError(root, `no ${ds} folder (looked for ${IMAGENET_FOLDERS[ds].join(', ')})`);
      continue;
    }
    const classes =
      ds === 'imagenet-r' ? imagenetSubsetClasses('r')
      : ds === 'imagenet-a' ? imagenetSubsetClasses('a')
      : ds === 'objectnet' ? objectnetClasses()
      : imagenet1000Classes(dir);
    const classesId = ds === 'imagenet-r' ? 'imagenet-r-200' : ds === 'imagenet-a' ? 'imagenet-a-200' : ds === 'objectnet' ? 'objectnet-113' : 'imagenet-1k';
    specs.push({
      name: ds,
      suite: 'imagenet',
      root: dir,
      headClassnames: head,
      classes,
      classesId,
      borderCrop: ds === 'objectnet' ? 2 : 0,
      reference: ds === 'imagenet-1k',
    });
  }
  if (!opts.datasets || opts.datasets.includes(IMAGENET_C)) specs.push(...imagenetCSpecs(root, head, opts.datasets !== undefined));
  if (specs.length === 0)
    throw new InputError(root, `no ImageNet-suite dataset here (looked for ${[...IMAGENET_DATASETS.map((d) => IMAGENET_FOLDERS[d][0]), IMAGENET_C].join(', ')})`);
  return specs;
}

/** One 1000-class dataset per ImageNet-C (corruption, severity) folder, named `imagenet-c/<corruption>/<severity>`. */
function imagenetCSpecs(root: string, head: string[], required: boolean): DatasetSpec[] {
  const dir = IMAGENET_C_FOLDERS.map((f) => join(root, f)).find((p) => existsSync(p));
  if (!dir) {
    if (required) throw new InputError(root, `no ${IMAGENET_C} folder (looked for ${IMAGENET_C_FOLDERS.join(', ')})`);
    return [];
  }
  return listImagenetC(dir).map((set) => ({
    name: `${IMAGENET_C}/${set.corruption}/${set.severity}`,
    suite: 'imagenet',
    root: set.dir,
    headClassnames: head,
    classes: imagenet1000Classes(set.dir),
    classesId: 'imagenet-1k',
    borderCrop: 0,
    reference: false,
    corruption: { name: set.corruption, severity: set.severity },
  }));
}

// ----------------------------------------------------------------------------------------------- testbed

export function testbedSuite(opts: SuiteOptions): DatasetSpec[] {
  const root = resolve(opts.dataRoot);
  const manifest = readTestbedManifest(root);
  const names = new Set(manifest.eval.map((e) => e.name));
  for (const d of opts.datasets ?? []) if (!names.has(d)) throw new InputError('--datasets', `testbed has no eval set '${d}' (have ${[...names].join(', ')})`);
  const picked = manifest.eval.filter((e) => (opts.datasets ? opts.datasets.includes(e.name) : !e.full || opts.includeFull));
  return picked.map((e) => {
    const spec = imageFolderSpec(join(root, e.dir), { name: e.name });
    const ref = e.name === manifest.reference;
    return { ...spec, suite: 'testbed', reference: ref, classesId: `testbed-${e.full ? 'full-' : ''}${spec.classes.length}` };
  });
}

// ------------------------------------------------------------------------------------------- ImageFolder

export interface ImageFolderSpecOptions {
  /** Dataset name; default the folder's name. */
  name?: string;
  /** Score against a head over these names (a superset of the folder's classes); default the folder's classes. */
  headClassnames?: string[];
}

export function imageFolderSpec(rootIn: string, opts: ImageFolderSpecOptions = {}): DatasetSpec {
  const root = resolve(rootIn);
  const folder = readImageFolder(root);
  const head = opts.headClassnames ?? folder.classes.map((c) => c.name);
  const index = new Map<string, number>();
  head.forEach((n, i) => {
    if (!index.has(n)) index.set(n, i);
  });
  // Without a given head, class i is head row i (duplicate names keep their own rows, as CLIP_benchmark does).
  const classes = folder.classes.map((c, i) => {
    const col = opts.headClassnames ? index.get(c.name) : i;
    if (col === undefined) throw new InputError(join(root, c.dir), `class name '${c.name}' is absent from the zero-shot head's ${head.length} class names`);
    return { ...c, columns: [col] };
  });
  const name = opts.name ?? basename(root);
  return { name, root, headClassnames: [...head], classes, classesId: `${name}-${classes.length}`, borderCrop: 0, folder };
}
