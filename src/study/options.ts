// The options of `cliplab study` (and the subset `cliplab demo` takes), declared once: the study command's
// flags, the typed values its runner gets, and RunStudyOptions' jobs/threads/retries derive from this table.
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { type OptionsOf, type ValueKind, choice, count, flagName, int, option, text } from '../util/options.js';
import type { SlurmJobSettings } from './slurm.js';

/** Text matching `re`, described as `want` in errors. */
function matching(re: RegExp, want: string): ValueKind<string> {
  return { schema: z.string().regex(re), want, fromText: (t) => t };
}

/** One sbatch argument per --sbatch-arg (its text may hold commas). */
const sbatchArgs: ValueKind<string[]> = { schema: z.array(z.string()), want: 'an sbatch argument', fromText: (t) => [t] };

export const STUDY_OPTIONS = {
  out: option(text, { flag: '--out <dir>', help: 'study directory (holds study.sqlite, runs, results, report.html)', required: true }),
  executor: option(choice(['local', 'slurm'] as const), { flag: '--executor <local|slurm>', help: 'where jobs run: local subprocesses (default) or one Slurm batch job each (see docs/scale.md)' }),
  partition: option(text, { flag: '--partition <name>', help: 'slurm: partition for every job' }),
  gpusPerJob: option(int(0), { flag: '--gpus-per-job <n>', help: 'slurm: GPUs per job (--gres=gpu:N)' }),
  cpusPerJob: option(count, { flag: '--cpus-per-job <n>', help: 'slurm: CPUs per job (--cpus-per-task)' }),
  mem: option(matching(/^\d+[KMGT]?$/i, 'Slurm memory such as 16G'), { flag: '--mem <size>', help: 'slurm: memory per job, e.g. 32G' }),
  time: option(matching(/^(\d+-)?\d+(:\d+){0,2}$/, 'a Slurm time such as 4:00:00'), { flag: '--time <limit>', help: 'slurm: time limit per job, e.g. 4:00:00' }),
  sbatchArg: option(sbatchArgs, { flag: '--sbatch-arg <arg>', help: 'slurm: one more sbatch argument (repeatable), e.g. --sbatch-arg=--account=abc', repeatable: true }),
  cliplab: option(text, { flag: '--cliplab <cmd>', help: "slurm: the command that starts cliplab on the nodes (default 'cliplab' on their PATH)" }),
  jobs: option(count, { flag: '--jobs <n>', help: 'jobs at once (default 1; with slurm: jobs submitted at once, default all that are ready)' }),
  threads: option(count, { flag: '--threads <t>', help: 'intra-op threads per job' }),
  retries: option(int(0), { flag: '--retries <n>', help: 'extra attempts per failed job in this run', defaultText: '1' }),
};

/** The Slurm-only options: refused with the local executor. */
export const SLURM_ONLY = ['partition', 'gpusPerJob', 'cpusPerJob', 'mem', 'time', 'cliplab', 'sbatchArg'] as const;

export type StudyOptions = OptionsOf<typeof STUDY_OPTIONS>;

/** The Slurm options' values, as every command running its work through the Slurm executor reads them. */
export type SlurmOptions = Pick<StudyOptions, 'executor' | (typeof SLURM_ONLY)[number]>;

/** Refuses a Slurm-only option given for the local executor, where it would be silently ignored. */
export function refuseSlurmOnly(o: SlurmOptions): void {
  const given = SLURM_ONLY.find((k) => o[k] !== undefined);
  if (given) throw new InputError(flagName(STUDY_OPTIONS[given]), 'applies only with --executor slurm');
}

/** The sbatch resources the options ask for (each job's; a study's spec may add per-kind ones under them). */
export function slurmJobSettings(o: SlurmOptions): SlurmJobSettings {
  return { partition: o.partition, gpus: o.gpusPerJob, cpus: o.cpusPerJob, mem: o.mem, time: o.time, sbatch_args: o.sbatchArg };
}
