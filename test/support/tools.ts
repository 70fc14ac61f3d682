// Probes for the external tools some tests need, as `External` records for `describeWith`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * ../shared/peer beside the clone: OpenCLIP v2.20.0 on Debian's PyTorch (its setup.sh installs the packages).
 * CLIPLAB_PEER_DIR names it for a checkout elsewhere (a git worktree has no ../shared beside it).
 */
export const PEER_DIR = process.env.CLIPLAB_PEER_DIR || fileURLToPath(new URL('../../../shared/peer', import.meta.url));

/** The PYTHONPATH the peer's setup.sh prints (its bundled open_clip, ftfy and webdataset). */
export const PEER_PYTHONPATH = ['open_clip-2.20.0/src', 'ftfy-6.1.1', 'webdataset-0.2.48'].map((d) => join(PEER_DIR, d)).join(':');

/** OpenCLIP's trainer on /usr/bin/python3 with the peer's PYTHONPATH (torch, open_clip, training.main). */
export function openclipPeer(): External {
  if (!existsSync(PEER_DIR)) return { name: 'OpenCLIP (peer)', available: false, why: `no ${PEER_DIR} (the shared peer bundle beside the clone)` };
  const t = pythonModules('/usr/bin/python3', ['torch', 'open_clip', 'training.main'], { PYTHONPATH: PEER_PYTHONPATH });
  return { name: 'OpenCLIP (peer)', available: t.available, why: t.available ? '' : `${t.why} (run ../shared/peer/setup.sh)` };
}
