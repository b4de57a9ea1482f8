import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateManifests } from '../scripts/k8s-validate.js';

const K8S = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'k8s');

/** A copy of deploy/k8s with one file edited, for the negative cases. */
function mutated(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-k8s-'));
  cpSync(K8S, dir, { recursive: true });
  writeFileSync(path.join(dir, file), edit(readFileSync(path.join(dir, file), 'utf8')));
  return dir;
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('are valid against the Kubernetes schemas and carry probes, PDBs, HPAs, the migrate Job and BullMQ-safe Redis', async () => {
    const { manifests, problems } = await validateManifests(K8S);
    expect(problems).toEqual([]);
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata?.name ?? ''}`);
    for (const k of ['Deployment/tradegraph-api', 'Deployment/tradegraph-worker', 'Job/tradegraph-migrate', 'PodDisruptionBudget/tradegraph-api', 'HorizontalPodAutoscaler/tradegraph-worker', 'StatefulSet/tradegraph-redis']) {
      expect(kinds).toContain(k);
    }
  });

  it('reports a field of the wrong type (schema validation really runs)', async () => {
    const dir = mutated('api.yaml', (t) => t.replace('replicas: 2', 'replicas: two'));
    try {
      const { problems } = await validateManifests(dir);
      expect(problems.join('\n')).toMatch(/api\.yaml Deployment\/tradegraph-api/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a wrong probe path and a Redis that may evict BullMQ keys', async () => {
    const dir = mutated('worker.yaml', (t) => t.replace('path: /readyz', 'path: /ready'));
    writeFileSync(path.join(dir, 'redis.yaml'), readFileSync(path.join(dir, 'redis.yaml'), 'utf8').replace('    maxmemory-policy noeviction', '    maxmemory-policy allkeys-lru'));
    try {
      const { problems } = await validateManifests(dir);
      expect(problems).toContain('worker.yaml Deployment/tradegraph-worker: container worker needs a readinessProbe on /readyz');
      expect(problems).toContain('Redis: BullMQ needs maxmemory-policy noeviction');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
