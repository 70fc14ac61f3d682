// Prompt template sets for zero-shot heads: OpenAI's 80 and the 7 "simple" ImageNet templates, the emoji set used
// for the testbed, or a user file (JSON list of strings, or one template per line); `{}` is the class name.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { assetPath } from '../util/assets.js';
import { InputError } from '../util/errors.js';

export const TEMPLATE_SETS = ['openai', 'simple', 'emoji'] as const;
export type TemplateSetName = (typeof TEMPLATE_SETS)[number];

const FILES: Record<TemplateSetName, string> = {
  openai: 'openai_imagenet_templates.json',
  simple: 'simple_imagenet_templates.json',
  emoji: 'emoji_templates.json',
};

export interface TemplateSet {
  /** `openai`, `simple`, `emoji`, or the file path. */
  name: string;
  templates: string[];
  /** sha256 (16 hex) of the templates joined by newlines: identifies the set in results and head caches. */
  hash: string;
}

function validate(where: string, list: unknown): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new InputError(where, 'expected a non-empty list of templates');
  return list.map((t, i) => {
    if (typeof t !== 'string') throw new InputError(`${where}: template ${i + 1}`, `expected a string, got ${JSON.stringify(t)}`);
    if (!t.includes('{}')) throw new InputError(`${where}: template ${i + 1}`, `"${t}" has no {} placeholder for the class name`);
    return t;
  });
}

function make(name: string, templates: string[]): TemplateSet {
  return { name, templates, hash: createHash('sha256').update(templates.join('\n')).digest('hex').slice(0, 16) };
}

/** A shipped set by name, or a file: JSON list of strings, or plain text with one template per non-empty line. */
export function loadTemplates(nameOrFile: string): TemplateSet {
  if ((TEMPLATE_SETS as readonly string[]).includes(nameOrFile)) {
    const file = assetPath('zeroshot', FILES[nameOrFile as TemplateSetName]);
    return make(nameOrFile, validate(file, JSON.parse(readFileSync(file, 'utf8'))));
  }
  let text: string;
  try {
    text = readFileSync(nameOrFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(nameOrFile, code === 'ENOENT' ? `no such template file (or one of ${TEMPLATE_SETS.join('|')})` : (e as Error).message);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new InputError(nameOrFile, `not valid JSON (${(e as Error).message})`);
    }
    return make(nameOrFile, validate(nameOrFile, parsed));
  }
  return make(nameOrFile, validate(nameOrFile, trimmed.split(/\r?\n/).filter((l) => l.trim() !== '')));
}

/** Python `template.replace('{}', name)` (every placeholder). */
export function fillTemplate(template: string, classname: string): string {
  return template.split('{}').join(classname);
}
