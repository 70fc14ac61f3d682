// Test helper: a Python 3 that can import given modules (Debian's /usr/bin/python3 first, then PATH), and a
// runner that feeds it JSON on stdin and parses JSON from stdout. Used for scikit-learn/scipy reference values.
import { spawnSync } from 'node:child_process';

const CANDIDATES = ['/usr/bin/python3', 'python3'];

export interface Python {
  name: string;
  available: boolean;
  why: string;
  /** Runs `script` with `input` as JSON on stdin; returns the parsed JSON it prints. */
  run<T>(script: string, input: unknown): T;
}

/** The first Python that imports every module in `modules` (e.g. ["sklearn"]); `install` says how to get them. */
export function pythonWith(modules: string[], install: string): Python {
  const probe = modules.map((m) => `import ${m}`).join('; ');
  const exe = CANDIDATES.find((p) => spawnSync(p, ['-c', probe], { stdio: 'ignore' }).status === 0);
  return {
    name: `Python with ${modules.join(', ')}`,
    available: exe !== undefined,
    why: `no python3 that imports ${modules.join(', ')} (${install})`,
    run<T>(script: string, input: unknown): T {
      if (!exe) throw new Error(`no python3 with ${modules.join(', ')}`);
      const r = spawnSync(exe, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
  };
}
