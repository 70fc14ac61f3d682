// Probes for the external tools some tests need, as `External` records for `describeWith`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { External } from './external.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const chromiumTool: External = {
  name: 'Chromium',
  available: existsSync(CHROMIUM_PATH),
  why: `no ${CHROMIUM_PATH} (Debian: apt-get install chromium)`,
};

/** Whether `python` imports every module in `modules` (with `env` added, e.g. a PYTHONPATH). */
export function pythonModules(python: string, modules: string[], env: NodeJS.ProcessEnv = {}): External {
  const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8', env: { ...process.env, ...env } });
  const missing = r.error ? `${python} not found` : r.status === 0 ? '' : (r.stderr.trim().split('\n').pop() ?? 'import failed');
  return { name: `${python} with ${modules.join(', ')}`, available: r.status === 0 && !r.error, why: missing };
}

/** A running Slurm controller this user can submit to (`scontrol ping` answers UP). */
export function slurmTool(): External {
  const r = spawnSync('scontrol', ['ping'], { encoding: 'utf8' });
  const up = r.status === 0 && /UP/.test(r.stdout);
  const why = r.error ? 'no scontrol on PATH (start a test cluster: ../shared/slurm/up.sh)' : 'scontrol ping: no controller UP (start one: ../shared/slurm/up.sh)';
  return { name: 'Slurm', available: up, why };
}
