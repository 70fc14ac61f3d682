// What the Python that will run OpenCLIP's trainer has: torch (and CUDA), open_clip, the trainer module
// (`open_clip_train.main` in current releases, `training.main` in v2.20) and OpenCLIP's model names. One
// subprocess; when an import fails, one line names the Python and the module.
import { execFile } from 'node:child_process';
import { InputError } from '../../util/errors.js';

export interface OpenClipEnv {
  python: string;
  torch: string;
  cuda: boolean;
  gpus: number;
  openClip: string;
  /** The trainer module found, or null. */
  trainer: string | null;
  /** Model config names OpenCLIP knows (`open_clip.list_models()`). */
  models: string[];
}

// The probe imports torch and open_clip and only locates the trainer (importing it is slow and not needed).
const PROBE = `
import importlib, importlib.util, json, sys
for m in ('torch', 'open_clip'):
    try:
        importlib.import_module(m)
    except Exception as e:
        print(json.dumps({'missing': m, 'error': type(e).__name__ + ': ' + str(e)}))
        sys.exit(0)
import torch, open_clip
trainer = None
for m in ('open_clip_train.main', 'training.main'):
    try:
        if importlib.util.find_spec(m) is not None:
            trainer = m
            break
    except Exception:
        pass
print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda.is_available(), 'gpus': torch.cuda.device_count(),
                  'open_clip': getattr(open_clip, '__version__', 'unknown'), 'trainer': trainer, 'models': open_clip.list_models()}))
`;

export async function probeOpenClip(python: string): Promise<OpenClipEnv> {
  const { code, stdout, stderr } = await new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) =>
    execFile(python, ['-c', PROBE], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, so, se) =>
      resolve({ code: err ? ((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout: String(so), stderr: String(se) }),
    ),
  );
  if (code === 'ENOENT') throw new InputError('--python', `${python} not found`);
  const line = stdout.trim().split('\n').pop() ?? '';
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    const why = stderr.trim().split('\n').pop() ?? `exit ${code}`;
    throw new InputError('--engine openclip', `${python} could not be asked what it has (${why})`);
  }
  if (typeof r.missing === 'string')
    throw new InputError('--engine openclip', `${python} cannot import ${r.missing} (${String(r.error)}); install it for that Python, or pass --python`);
  return {
    python,
    torch: String(r.torch),
    cuda: r.cuda === true,
    gpus: Number(r.gpus ?? 0),
    openClip: String(r.open_clip),
    trainer: typeof r.trainer === 'string' ? r.trainer : null,
    models: Array.isArray(r.models) ? r.models.map(String) : [],
  };
}
