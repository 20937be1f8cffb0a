/**
 * Where each pod-owning kind keeps its pod template, as a path of keys from
 * the object's root. No cdk8s here: the check command reads it too.
 */
export const POD_TEMPLATE_PATHS: { [kind: string]: string[] } = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The pod template of an object as JSON, or undefined when its kind owns no pods. */
export function podTemplateIn(object: any): any {
  const templatePath = POD_TEMPLATE_PATHS[object?.kind ?? ''];
  return templatePath?.reduce<any>((node, key) => node?.[key], object);
}

/** A JSON pointer to the pod template of a kind, e.g. `/spec/template`. */
export function podTemplatePointer(kind: string): string | undefined {
  const templatePath = POD_TEMPLATE_PATHS[kind];
  return templatePath && templatePath.map((key) => `/${key}`).join('');
}

/** Escapes a key for use in a JSON pointer (RFC 6901). */
export function pointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
