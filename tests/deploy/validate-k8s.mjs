// Validates Kubernetes objects against the API's OpenAPI schemas, with kubernetes-models and,
// for KEDA's custom resources, @kubernetes-models/keda (generated from KEDA's CRDs). Those
// packages are ESM only (their exports have only an "import" condition), which Jest's
// CommonJS module system cannot load, so k8s-manifests.spec.ts runs this file in a child Node.
//   stdin:  a JSON array of objects
//   stdout: a JSON array of { ok: true } | { ok: false, error: string }, in the same order
import { readFileSync } from 'node:fs';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';

/** The kinds deploy/k8s may hold; anything else is an error, not a pass. */
const models = new Map(
  [
    Deployment,
    Job,
    NetworkPolicy,
    PodDisruptionBudget,
    ConfigMap,
    Namespace,
    Secret,
    Service,
    ScaledObject,
    TriggerAuthentication,
  ].map((Model) => [`${Model.apiVersion} ${Model.kind}`, Model]),
);

function check(object) {
  const Model = models.get(`${object?.apiVersion} ${object?.kind}`);
  if (!Model) return { ok: false, error: `unknown kind ${object?.apiVersion} ${object?.kind}` };
  try {
    new Model(object).validate();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(objects.map(check)));
