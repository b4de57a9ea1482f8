/**
 * `npm run k8s:validate` — checks deploy/k8s against the Kubernetes OpenAPI schemas (kubernetes-models,
 * offline: the schemas ship in the package) and against what this product needs: probes on /readyz and
 * /healthz, PDBs and HPAs that select real Deployments, config from the ConfigMap and Secret, and the
 * Redis settings BullMQ needs. Exit code 1 with every problem listed. Also run by test/k8s.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** Every YAML document under `dir` (recursively), with the file it came from. */
export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) {
        for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
          if (doc.errors.length) throw new Error(`${p}: ${doc.errors.map((e) => e.message).join('; ')}`);
          const obj = doc.toJS() as Manifest | null;
          if (obj) out.push({ ...obj, file: path.relative(dir, p) });
        }
      }
    }
  };
  walk(dir);
  return out;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** The API groups the manifests may use, each with its kubernetes-models classes (schemas included). */
const GROUPS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'batch/v1': batch,
  'policy/v1': policy,
  'autoscaling/v2': autoscaling,
};

function modelOf(apiVersion: string, kind: string): ModelClass | null {
  return (GROUPS[apiVersion]?.[kind] as ModelClass | undefined) ?? null;
}

/** Schema validation of each object, then the product's own rules across objects. */
export async function validateManifests(dir: string): Promise<{ manifests: Manifest[]; problems: string[] }> {
  const manifests = loadManifests(dir);
  const problems: string[] = [];
  const where = (m: Manifest) => `${m.file} ${m.kind}/${m.metadata?.name}`;

  for (const m of manifests) {
    if (m.kind === 'Kustomization') {
      for (const r of (m as unknown as { resources: string[] }).resources ?? []) {
        if (!manifests.some((o) => o.file === r)) problems.push(`${m.file}: resource ${r} not found`);
      }
      continue;
    }
    const Model = modelOf(m.apiVersion, m.kind);
    if (!Model) {
      problems.push(`${where(m)}: unknown apiVersion/kind ${m.apiVersion} ${m.kind}`);
      continue;
    }
    const { file: _file, ...object } = m;
    try {
      new Model(object).validate();
    } catch (err) {
      problems.push(`${where(m)}: ${(err as Error).message}`);
    }
  }

  const main = manifests.filter((m) => !m.file.startsWith('optional'));
  const of = (kind: string) => main.filter((m) => m.kind === kind);
  const deployments = of('Deployment');
  const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
    Boolean(selector && labels && Object.entries(selector).every(([k, v]) => labels[k] === v));

  for (const name of ['tradegraph-api', 'tradegraph-worker']) {
    const d = deployments.find((x) => x.metadata.name === name);
    if (!d) {
      problems.push(`missing Deployment ${name}`);
      continue;
    }
    for (const c of d.spec.template.spec.containers as any[]) {
      if (c.readinessProbe?.httpGet?.path !== '/readyz') problems.push(`${where(d)}: container ${c.name} needs a readinessProbe on /readyz`);
      if (c.livenessProbe?.httpGet?.path !== '/healthz') problems.push(`${where(d)}: container ${c.name} needs a livenessProbe on /healthz`);
      const refs = (c.envFrom ?? []).map((e: any) => e.configMapRef?.name ?? e.secretRef?.name);
      for (const ref of ['tradegraph-config', 'tradegraph-secrets']) if (!refs.includes(ref)) problems.push(`${where(d)}: container ${c.name} does not read ${ref}`);
    }
    if (!of('PodDisruptionBudget').some((p) => matches(p.spec.selector?.matchLabels, d.spec.template.metadata.labels))) {
      problems.push(`${where(d)}: no PodDisruptionBudget selects it`);
    }
    if (!of('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef?.name === name)) {
      problems.push(`${where(d)}: no HorizontalPodAutoscaler scales it`);
    }
  }
  for (const m of manifests.filter((x) => x.kind === 'HorizontalPodAutoscaler')) {
    const target = m.spec.scaleTargetRef;
    if (!deployments.some((d) => d.metadata.name === target?.name)) problems.push(`${where(m)}: scales unknown ${target?.kind}/${target?.name}`);
  }
  const job = of('Job').find((j) => j.spec.template.spec.containers.some((c: any) => c.args?.[0] === 'migrate'));
  if (!job) problems.push('missing the migrate Job (a container with args ["migrate"])');
  for (const s of of('Service')) {
    if (!main.some((m) => ['Deployment', 'StatefulSet'].includes(m.kind) && matches(s.spec.selector, m.spec.template.metadata.labels))) {
      problems.push(`${where(s)}: selects no pods`);
    }
  }
  const config = of('ConfigMap').find((c) => c.metadata.name === 'tradegraph-config');
  if (!config) problems.push('missing ConfigMap tradegraph-config');
  else if (config.data?.NODE_ENV !== 'production') problems.push('tradegraph-config: NODE_ENV must be production');
  const redisConf = Object.values(of('ConfigMap').find((c) => c.metadata.name === 'tradegraph-redis')?.data ?? {}).join('\n');
  if (!/^maxmemory-policy\s+noeviction\s*$/m.test(redisConf)) problems.push('Redis: BullMQ needs maxmemory-policy noeviction');
  if (!/^appendonly\s+yes\s*$/m.test(redisConf)) problems.push('Redis: BullMQ needs persistence (appendonly yes)');
  return { manifests, problems };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'k8s');
  const { manifests, problems } = await validateManifests(dir);
  for (const m of manifests) console.log(`  ${m.file.padEnd(40)} ${m.kind}/${m.metadata?.name ?? ''}`);
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`\n${manifests.length} documents valid against the Kubernetes schemas and the product's rules`);
}
