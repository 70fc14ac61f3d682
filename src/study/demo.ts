// The built-in demo studies: paths of the shipped specs (full and quick).
import { assetPath } from '../util/assets.js';

export const DEMO_SPEC = 'demo.yaml';
export const DEMO_QUICK_SPEC = 'demo-quick.yaml';

export function demoSpecPath(quick: boolean): string {
  return assetPath('studies', quick ? DEMO_QUICK_SPEC : DEMO_SPEC);
}
