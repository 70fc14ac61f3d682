// The layer rules of eslint.config.js, exercised on imports written the way product files write them:
// wrong-way imports (inside data too) fail lint, right-way imports pass.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layerErrors(file: string, importPath: string): Promise<string[]> {
  const code = `import { x } from '${importPath}';\nexport const y = x;\n`;
  const [res] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return res!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint layers', () => {
  it.each([
    ['src/data/shards/a.ts', '../loader/order.js'],
    ['src/data/images/a.ts', '../ingest/ingest.js'],
    ['src/data/tokenizer/a.ts', '../curation/build.js'],
    ['src/data/loader/a.ts', '../curation/spec.js'],
    ['src/data/testbed/a.ts', '../curation/filters.js'],
    ['src/models/a.ts', '../data/shards/reader.js'],
    ['src/util/a.ts', '../graph/index.js'],
    ['src/train/a.ts', '../eval/index.js'],
    ['src/eval/a.ts', '../study/plan.js'],
    ['src/data/curation/a.ts', '../../train/loop.js'],
    ['src/analysis/a.ts', '../../test/support/golden.js'],
    ['src/models/a.ts', 'onnxruntime-node'],
    // Files in nested folders, and paths spelled with a leading `./`, reach the same later layers.
    ['src/data/images/corruptions/a.ts', '../../loader/order.js'],
    ['src/data/images/corruptions/a.ts', '../../curation/build.js'],
    ['src/data/images/corruptions/a.ts', '../../../train/loop.js'],
    ['src/data/images/a.ts', './../loader/order.js'],
    ['src/data/loader/sub/a.ts', '../../curation/spec.js'],
    ['src/models/sub/a.ts', '../../data/shards/reader.js'],
  ])('%s may not import %s', async (file, imp) => {
    expect(await layerErrors(file, imp)).toHaveLength(1);
  });

  it.each([
    ['src/data/loader/a.ts', '../shards/reader.js'],
    ['src/data/curation/a.ts', '../loader/index.js'],
    ['src/data/curation/a.ts', '../../models/load.js'],
    ['src/data/testbed/a.ts', '../images/transform.js'],
    ['src/data/ingest/a.ts', '../testbed/index.js'],
    ['src/train/a.ts', '../data/loader/index.js'],
    ['src/cli/a.ts', '../study/plan.js'],
    ['src/runtime/a.ts', 'onnxruntime-node'],
    ['src/eval/a.test.ts', '../../test/support/golden.js'],
    ['src/data/images/corruptions/a.ts', '../transform.js'],
    ['src/data/images/corruptions/a.ts', '../../shards/reader.js'],
    ['src/data/images/corruptions/a.ts', '../../../util/seed.js'],
    ['src/data/curation/sub/a.ts', '../../loader/index.js'],
  ])('%s may import %s', async (file, imp) => {
    expect(await layerErrors(file, imp)).toEqual([]);
  });
});
