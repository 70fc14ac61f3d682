// Lint: typescript-eslint's recommended rules plus the layer boundaries of DESIGN.md §2
// (each layer imports only layers above it; only src/runtime imports onnxruntime-node).
import tseslint from 'typescript-eslint';

const layers = ['util', 'graph', 'runtime', 'nn', 'models', 'data', 'train', 'eval', 'analysis', 'study', 'cli'];

/** For a layer, the patterns of every layer below it (which it may not import). */
function below(layer) {
  return layers.slice(layers.indexOf(layer) + 1).map((l) => `**/${l}/**`);
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scratch/**', 'eslint.config.js', 'vitest.config.ts', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  ...layers.map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(below(layer).length ? [{ group: below(layer), message: `src/${layer} may import only layers above it (DESIGN.md §2)` }] : []),
            ...(layer === 'runtime' ? [] : [{ group: ['onnxruntime-node'], message: 'only src/runtime imports onnxruntime-node' }]),
          ],
        },
      ],
    },
  })),
);
