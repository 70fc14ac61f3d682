// ImageFolder datasets (torchvision layout: ROOT/<class dir>/**/<image>): class folders, their names
// (classnames.json / classes.json / folder names), and the sample list; errors name the missing folder or class.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '../util/errors.js';

/** torchvision's IMG_EXTENSIONS (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

export interface FolderClass {
  /** Folder name under the root. */
  dir: string;
  /** Class name the zero-shot head uses. */
  name: string;
}

export interface FolderSample {
  file: string;
  /** Index into `classes`. */
  label: number;
}

export interface ImageFolder {
  root: string;
  classes: FolderClass[];
  samples: FolderSample[];
  /** Folders under the root that are not among `classes` (e.g. ObjectNet's unmapped ones). */
  ignoredDirs: string[];
}

/** Python's sorted(): code-point order. */
export const codePointCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Class folders under `root`, sorted (hidden entries skipped). */
export function listClassDirs(root: string): string[] {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(root, code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message);
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name)).isDirectory())))
    .map((e) => e.name)
    .sort(codePointCompare);
}

function imagesUnder(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => codePointCompare(a.name, b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory())) imagesUnder(p, out);
    else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
  }
}

/**
 * Class names of a plain ImageFolder: `classes.json` when it is a list of {dir, name} (as the testbed writes),
 * else `classnames.json` (a list in sorted-folder order, or an object folder → name), else the folder names
 * with `_` read as spaces.
 */
export function folderClassNames(root: string, dirs: readonly string[]): FolderClass[] {
  const namesFile = join(root, 'classnames.json');
  const classesFile = join(root, 'classes.json');
  const readJson = (f: string): unknown => {
    try {
      return JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new InputError(f, `not valid JSON (${(e as Error).message})`);
    }
  };
  // classes.json ({dir, name} per class, as the testbed writes) maps folders to names explicitly: preferred.
  if (existsSync(classesFile)) {
    const v = readJson(classesFile);
    const entries = Array.isArray(v) ? (v as { dir?: unknown; name?: unknown }[]) : [];
    if (entries.length > 0 && entries.every((e) => typeof e?.dir === 'string' && typeof e.name === 'string')) {
      const byDir = new Map<string, string>();
      for (const o of entries) {
        if (!dirs.includes(o.dir as string)) throw new InputError(root, `missing class folder '${String(o.dir)}' (class '${String(o.name)}', listed in classes.json)`);
        byDir.set(o.dir as string, o.name as string);
      }
      return dirs.map((dir) => {
        const name = byDir.get(dir);
        if (name === undefined) throw new InputError(classesFile, `class folder '${dir}' has no class name here`);
        return { dir, name };
      });
    }
  }
  if (existsSync(namesFile)) {
    const v = readJson(namesFile);
    if (Array.isArray(v)) {
      if (v.length !== dirs.length)
        throw new InputError(namesFile, `lists ${v.length} class names but ${root} has ${dirs.length} class folders`);
      return dirs.map((dir, i) => {
        if (typeof v[i] !== 'string' || v[i] === '') throw new InputError(`${namesFile}: entry ${i + 1}`, 'expected a non-empty class name');
        return { dir, name: v[i] as string };
      });
    }
    if (v !== null && typeof v === 'object') {
      const map = v as Record<string, unknown>;
      for (const k of Object.keys(map)) if (!dirs.includes(k)) throw new InputError(root, `missing class folder '${k}' (named in classnames.json)`);
      return dirs.map((dir) => {
        const name = map[dir];
        if (typeof name !== 'string' || name === '') throw new InputError(namesFile, `class folder '${dir}' has no class name here`);
        return { dir, name };
      });
    }
    throw new InputError(namesFile, 'expected a list of class names or an object {folder: name}');
  }
  return dirs.map((dir) => ({ dir, name: dir.replace(/_/g, ' ') }));
}

/**
 * Lists an ImageFolder. With `classes`, exactly those folders are the labels, in that order (each must exist;
 * others are ignored and reported); without, every folder is a class (sorted) named by `folderClassNames`.
 * Throws when a class folder is missing or the dataset has no images.
 */
export function readImageFolder(root: string, classes?: readonly FolderClass[]): ImageFolder {
  const dirs = listClassDirs(root);
  const present = new Set(dirs);
  let cls: FolderClass[];
  if (classes) {
    const missing = classes.filter((c) => !present.has(c.dir));
    if (missing.length)
      throw new InputError(
        root,
        `missing class folder${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((c) => `'${c.dir}' (${c.name})`).join(', ')}` +
          (missing.length > 5 ? ` and ${missing.length - 5} more` : ''),
      );
    cls = [...classes];
  } else {
    if (dirs.length === 0) throw new InputError(root, 'no class folders (expected ROOT/<class>/<image files>)');
    cls = folderClassNames(root, dirs);
  }
  const want = new Set(cls.map((c) => c.dir));
  const samples: FolderSample[] = [];
  cls.forEach((c, label) => {
    const files: string[] = [];
    imagesUnder(join(root, c.dir), files);
    for (const file of files) samples.push({ file, label });
  });
  if (samples.length === 0)
    throw new InputError(root, `empty dataset: no image files (${IMAGE_EXTENSIONS.join(' ')}) in its ${cls.length} class folders`);
  return { root, classes: cls, samples, ignoredDirs: dirs.filter((d) => !want.has(d)) };
}
