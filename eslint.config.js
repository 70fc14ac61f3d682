// Lint: typescript-eslint's recommended rules plus the layer boundaries (each layer imports only the layers
// before it in LAYERS; only src/runtime imports onnxruntime-node). test/lint/layers.test.ts checks the rules.
import tseslint from 'typescript-eslint';

/** Layers in dependency order: a layer may import itself and the layers before it, never one after it. */
export const LAYERS = [
  { name: 'util', dirs: ['util'] },
  { name: 'graph', dirs: ['graph'] },
  { name: 'runtime', dirs: ['runtime'] },
  { name: 'nn', dirs: ['nn'] },
  { name: 'models', dirs: ['models'] },
  // data is three layers: file formats, pipelines built on them, and curation on top of both.
  { name: 'data formats', dirs: ['data/shards', 'data/images', 'data/tokenizer'] },
  { name: 'data pipelines', dirs: ['data/loader', 'data/ingest', 'data/testbed'] },
  { name: 'curation', dirs: ['data/curation'] },
  { name: 'train', dirs: ['train'] },
  { name: 'eval', dirs: ['eval'] },
  { name: 'analysis', dirs: ['analysis'] },
  { name: 'study', dirs: ['study'] },
  { name: 'cli', dirs: ['cli'] },
];

/** Import patterns that reach a folder of a later layer, from a file in `layer` (relative paths resolve by name). */
function forbidden(index) {
  const later = LAYERS.slice(index + 1).flatMap((l) => l.dirs);
  // From inside src/data a data folder is reached as `…/x/…` at any depth (`../x/`, `../../x/`, `./../x/`), so
  // its name alone is forbidden there (no other src folder shares a data folder's name); from elsewhere the path
  // passes through `data/`.
  const inData = LAYERS[index].dirs[0].startsWith('data/');
  return later.map((d) => {
    const leaf = d.split('/').pop();
    if (!d.startsWith('data/')) return `**/${d}/**`;
    return inData ? `**/${leaf}/**` : `**/data/${leaf}/**`;
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scratch/**', 'eslint.config.js', 'vitest.config.ts', 'bin/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  ...LAYERS.map((layer, i) => ({
    files: layer.dirs.map((d) => `src/${d}/**/*.ts`),
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(i < LAYERS.length - 1
              ? [{ group: forbidden(i), message: `src/${layer.dirs.join(', src/')} (${layer.name}) may import only itself and earlier layers: ${LAYERS.slice(0, i).map((l) => l.name).join(' → ') || 'none'}` }]
              : []),
            ...(layer.name === 'runtime' ? [] : [{ group: ['onnxruntime-node'], message: 'only src/runtime imports onnxruntime-node' }]),
            { group: ['**/test/**'], message: 'product code never imports test support' },
          ],
        },
      ],
    },
  })),
);
