// `cliplab study SPEC --out DIR [--jobs N] [--threads T]`: runs a study spec's grid (build → train → eval),
// resumable through its SQLite store, then analyze + report. Also the shared runner behind `cliplab demo`.
import { cpus } from 'node:os';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Robustness } from '../../analysis/robustness-types.js';
import { STUDY_OPTIONS, type StudyOptions, refuseSlurmOnly, slurmJobSettings } from '../../study/options.js';
import { readStudySpec, type LoadedSpec } from '../../study/spec.js';
import { runStudy, validateStudy } from '../../study/run-study.js';
import { SlurmExecutor, kindSettings } from '../../study/slurm-executor.js';
import type { StudyEvent } from '../../study/scheduler.js';
import { CliplabError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { addOptions, optionsFromFlags } from '../options.js';

/** The study's options as its runner takes them: --out given, and the command's own switches. */
export type StudyFlags = StudyOptions & { out: string; dryRun?: boolean; json?: boolean };

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}`;
}

/** One line per design: mean accuracies and the average-over-shifts effective robustness with its CI. */
export function designTable(r: Robustness): string[] {
  const rows = r.designs.filter((d) => d.dataset === r.averageDataset);
  const w = Math.max(6, ...rows.map((d) => d.design.length));
  const lines = [`${'design'.padEnd(w)}  kind      models  ref acc%  shift acc%  ER (avg over shifts, points)  95% CI`];
  for (const d of rows) {
    const er = d.effectiveRobustness;
    lines.push(
      `${d.design.padEnd(w)}  ${d.kind.padEnd(8)}  ${String(d.models).padStart(6)}  ${pct(d.accReference).padStart(8)}  ${pct(d.accShift).padStart(10)}  ` +
        `${er ? pct(er.mean).padStart(28) : 'n/a'.padStart(28)}  ${er ? `[${pct(er.ci95[0])}, ${pct(er.ci95[1])}]` : ''}`,
    );
  }
  return lines;
}

/** OpenCLIP training jobs get the tasks and nodes srun will start (unless the spec's slurm.train says otherwise). */
function withOpenClipTasks(loaded: LoadedSpec): LoadedSpec['spec']['slurm'] {
  const t = loaded.spec.train;
  const s = loaded.spec.slurm ?? {};
  if (t?.engine !== 'openclip' || ((t.nproc_per_node ?? 1) === 1 && (t.nnodes ?? 1) === 1)) return s;
  return { ...s, train: { tasks_per_node: t.nproc_per_node ?? 1, nodes: t.nnodes ?? 1, ...s.train } };
}

/** `--executor slurm` and its flags: an executor submitting each job with sbatch (null for the local pool). */
async function executorFor(loaded: LoadedSpec, flags: StudyFlags, jobs: number | undefined): Promise<SlurmExecutor | null> {
  if ((flags.executor ?? 'local') === 'local') {
    refuseSlurmOnly(flags);
    return null;
  }
  await SlurmExecutor.check();
  const out = resolve(flags.out);
  return new SlurmExecutor({
    study: loaded.spec.name ?? basename(out),
    workDir: out,
    cliplab: flags.cliplab ?? 'cliplab',
    slots: jobs,
    settings: kindSettings(withOpenClipTasks(loaded), slurmJobSettings(flags)),
  });
}

/** Runs a loaded spec with the study flags; SIGINT/SIGTERM stop the jobs and leave the store resumable. */
export async function runStudyCommand(loaded: LoadedSpec, flags: StudyFlags, defaults: { jobs?: number } = {}): Promise<void> {
  const jobs = flags.jobs ?? defaults.jobs ?? 1;
  const slurm = await executorFor(loaded, flags, flags.jobs);
  if (flags.dryRun) {
    const plan = validateStudy(loaded, flags.out);
    const summary = {
      designs: plan.designs.map((d) => ({ name: d.name, kind: d.kind, sources: d.sources, sizes: d.sizes.map((s) => s.name), seeds: d.seeds })),
      models: plan.models.length,
      jobs: plan.jobs.map((j) => ({ id: j.id, deps: j.deps })),
      baseline: plan.baseline,
    };
    process.stdout.write(flags.json ? JSON.stringify(summary) + '\n' : plan.jobs.map((j) => `${j.id}${j.deps.length ? `  ← ${j.deps.join(', ')}` : ''}`).join('\n') + '\n');
    return;
  }
  const controller = new AbortController();
  const stop = (): void => {
    if (!controller.signal.aborted) info('interrupted: stopping running jobs (rerun the same command to resume)');
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let total = 0;
  let finished = 0;
  const onEvent = (e: StudyEvent): void => {
    const tag = () => `[${finished}/${total}]`;
    if (e.type === 'start') info(`${tag()} start ${e.job.id}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
    else if (e.type === 'done') {
      finished++;
      info(`${tag()} ${e.adopted ? 'found complete' : 'done'} ${e.job.id}${e.adopted ? '' : ` (${e.seconds.toFixed(1)} s)`}`);
    } else if (e.type === 'failed') info(`${tag()} FAILED ${e.job.id}: ${e.error}${e.willRetry ? ' — retrying' : ''}`);
    else if (e.type === 'attached') info(`${tag()} waiting on ${e.job.id} (${e.handle}, started by an interrupted run)`);
    else info(`blocked ${e.job.id} (needs ${e.by})`);
  };
  try {
    const outcome = await runStudy({
      spec: loaded,
      out: flags.out,
      jobs,
      threads: flags.threads,
      retries: flags.retries,
      ...(slurm ? { executor: slurm } : {}),
      signal: controller.signal,
      onEvent,
      onInfo: (m) => {
        const n = /(\d+) jobs \((\d+) already done\)/.exec(m);
        if (n) {
          total = Number(n[1]);
          finished = Number(n[2]);
        }
        info(m);
      },
    });
    const s = outcome.schedule;
    if (s.interrupted) throw new CliplabError(`study interrupted with ${outcome.counts.done}/${outcome.plan.jobs.length} jobs done; rerun to resume`);
    if (s.failed.length > 0 || s.blocked.length > 0)
      throw new CliplabError(
        `${s.failed.length} job(s) failed (${s.failed.map((f) => f.id).join(', ')}), ${s.blocked.length} blocked; fix and rerun to resume — first error: ${s.failed[0]?.error ?? ''}`,
      );
    const a = outcome.analysis!;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ out: flags.out, seconds: outcome.seconds, ran: s.ran.length, adopted: s.adopted.length, files: a.files, report: a.report }) + '\n');
    } else {
      process.stdout.write(designTable(a.robustness).join('\n') + '\n');
      process.stdout.write(`baseline: ${a.robustness.baseline.designs?.join(', ') ?? a.robustness.baseline.source}; reference ${a.robustness.reference}; shifts ${a.robustness.shifts.join(', ')}\n`);
      process.stdout.write(`${a.report ?? `report not written (${a.reportError})`}\n${a.files.find((f) => f.endsWith('robustness.json'))}\n`);
    }
    info(`study finished in ${outcome.seconds.toFixed(0)} s (${s.ran.length} jobs run, ${s.adopted.length} found complete)`);
    if (a.reportError) throw new CliplabError(`report: ${a.reportError}`);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(4, cpus().length));
}

export function register(program: Command): void {
  const cmd = program
    .command('study')
    .description('run a study spec: build → train → eval for every design and size, then analyze and report (resumable; see docs/study.md)')
    .argument('<spec>', 'study spec (YAML or JSON)');
  addOptions(cmd, STUDY_OPTIONS)
    .option('--dry-run', 'validate the spec and print the job graph')
    .option('--json', 'print a JSON summary')
    .action(async (spec: string, flags: Record<string, unknown> & { dryRun?: boolean; json?: boolean }) => {
      const o = optionsFromFlags(STUDY_OPTIONS, flags);
      await runStudyCommand(readStudySpec(spec), { ...o, out: String(o.out), dryRun: flags.dryRun, json: flags.json });
    });
}
