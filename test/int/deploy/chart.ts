/**
 * Rendering the Helm chart and reading what it rendered, for the chart's test. The tools (helm,
 * manifest-check) come from deploy/helm/tools.sh, the one script a developer uses too
 * (`npm run helm:check`); it builds them into the git-ignored deploy/.tools/bin on first use.
 */
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../../support/process.ts';

export const CHART = join(repoRoot, 'deploy', 'helm', 'session-pipeline');
export const PRODUCTION_VALUES = join(CHART, 'values-production.yaml');

export interface Tools {
  readonly helm: string;
  readonly manifestCheck: string;
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(cmd: readonly string[], stdin?: string): Promise<Run> {
  const proc = Bun.spawn([...cmd], {
    cwd: repoRoot,
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Builds the tools if missing (minutes the first time on an empty Go cache) and returns their paths. */
export async function buildTools(): Promise<Tools> {
  const r = await run(['sh', join(repoRoot, 'deploy', 'helm', 'tools.sh'), 'build']);
  if (r.code !== 0) throw new Error(`deploy/helm/tools.sh build failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  const path = (name: string) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name}=`));
    if (line === undefined) throw new Error(`tools.sh build printed no ${name}= line:\n${r.stdout}`);
    return line.slice(name.length + 1);
  };
  return { helm: path('helm'), manifestCheck: path('manifest-check') };
}

// --- the rendered objects, typed as far as the checks read them

export interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port?: string | number };
}
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: ReadonlyArray<{ readonly name: string }>;
  readonly envFrom?: ReadonlyArray<{ readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }>;
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly containerPort: number }>;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: readonly string[] } } };
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
}
export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly terminationGracePeriodSeconds?: number;
}
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>> };
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>> | null;
  // Deployment, Job, HPA, ScaledObject: read through the accessors below.
  readonly spec?: Readonly<Record<string, unknown>>;
}

export interface Rendered {
  readonly text: string;
  readonly objects: readonly K8sObject[];
}

export async function render(tools: Tools, args: readonly string[]): Promise<Rendered> {
  const r = await run([tools.helm, 'template', 'sp', CHART, '--namespace', 'sessions', ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  const objects = YAML.parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { text: r.stdout, objects };
}

export const byKind = (r: Rendered, kind: string) => r.objects.filter((o) => o.kind === kind);

export function find(r: Rendered, kind: string, name: string): K8sObject | undefined {
  return r.objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** The pod spec of a Deployment or Job; undefined for other kinds. */
export function podSpec(o: K8sObject): PodSpec | undefined {
  if (o.kind !== 'Deployment' && o.kind !== 'Job') return undefined;
  return (o.spec as { template: { spec: PodSpec } }).template.spec;
}

export function allContainers(o: K8sObject): Container[] {
  const spec = podSpec(o);
  return spec === undefined ? [] : [...spec.containers, ...(spec.initContainers ?? [])];
}

/** The application's containers: those running `bun <entry point>` (not Kafka's topic tool). */
export const isAppContainer = (c: Container) => c.command?.[0] === 'bun';
