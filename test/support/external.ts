// Tests that need a tool a user may not have (Slurm, OpenCLIP on PyTorch, Chromium, scikit-learn):
// outside CI they skip with one line naming what is missing; under CI=true a missing tool fails the run,
// since CI installs every one of them and a silent skip there would hide a broken setup.
import { describe, it } from 'vitest';

export interface External {
  /** Short name of the tool, e.g. "Slurm (sbatch)". */
  name: string;
  /** Whether it is usable here. */
  available: boolean;
  /** What is missing and how to get it, one line. */
  why: string;
}

const inCI = () => process.env.CI === 'true' || process.env.CI === '1';
const reported = new Set<string>();

/**
 * `describe` for a suite that needs `tool`: runs it when available; else, outside CI, prints one line and
 * skips it; under CI=true, registers one failing test that names what is missing.
 */
export function describeWith(tool: External, title: string, body: () => void): void {
  if (tool.available) {
    describe(title, body);
    return;
  }
  const line = `${tool.name} not available: ${tool.why}`;
  if (inCI()) {
    describe(title, () => {
      it(`needs ${tool.name}`, () => {
        throw new Error(`${line} (CI=true: every external tool must be installed)`);
      });
    });
    return;
  }
  if (!reported.has(line)) {
    reported.add(line);
    process.stderr.write(`skip: ${title}: ${line}\n`);
  }
  describe.skip(title, body);
}
