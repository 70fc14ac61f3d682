// The peer bundle beside the repository (../shared/peer): OpenCLIP v2.20.0, webdataset and ftfy on Debian's
// python3 and torch. Tests that run the real tools import `peerTool` and `runPeer` from here.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PEER_DIR, pythonModules } from '../support/tools.js';

export { PEER_DIR };
export const PEER_PYTHON = '/usr/bin/python3';
const PYTHONPATH = ['open_clip-2.20.0/src', 'ftfy-6.1.1', 'webdataset-0.2.48'].map((p) => join(PEER_DIR, p)).join(':');

export const peerTool = {
  ...pythonModules(PEER_PYTHON, ['torch', 'open_clip', 'webdataset'], { PYTHONPATH }),
  name: 'OpenCLIP v2.20.0 peer (../shared/peer on Debian python3-torch)',
};
if (!peerTool.available) peerTool.why = `${peerTool.why} (run: bash ../shared/peer/setup.sh)`;

/** Runs a Python script with the peer on the path; returns stdout, throwing with stderr on failure. */
export function runPeer(script: string, args: string[] = []): string {
  const r = spawnSync(PEER_PYTHON, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH, OMP_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`peer python failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}
