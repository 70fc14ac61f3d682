// `cliplab corrupt` reruns: an output made from other input images is refused (it would keep corruptions of
// images the new input no longer has), as is a non-empty directory that does not record its input; the same
// input reruns.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { corruptFolder } from '../../src/eval/corrupt-folder.js';
import { writeColorPng } from '../support/stub-model.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-corrupt-rel-'));
const input = join(root, 'in');
const run = (out: string) => corruptFolder({ input, out, corruptions: ['contrast'], severities: [1], size: 32 });

beforeAll(async () => {
  for (const [c, rgb] of [['red', [255, 0, 0]], ['blue', [0, 0, 255]]] as const) for (let i = 0; i < 2; i++) await writeColorPng(join(input, c, `${i}.png`), [...rgb], 40);
});

describe('corrupt reruns check the input images by content', () => {
  it('the same input reruns; other images under the same names are refused; so is a directory without a record', async () => {
    const out = join(root, 'out');
    expect((await run(out)).written).toBe(4);
    expect((await run(out)).written).toBe(4);
    rmSync(join(input, 'red', '1.png'));
    await writeColorPng(join(input, 'red', '0.png'), [200, 0, 0], 40);
    await expect(run(out)).rejects.toThrow(new RegExp(`^${out}: holds corruptions of other input images \\(sha256 [0-9a-f]{12}…, this input [0-9a-f]{12}…\\): use another --out`));
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(run(foreign)).rejects.toThrow(`${foreign}: is not empty and does not record which images it was made from`);
  });
});
