/**
 * Labels and annotations users add to the pods of a SPIRE component, e.g.
 * for cost allocation, policy engines or log shippers. The keys a construct
 * sets itself (its selector labels, config checksum, scrape annotations)
 * stay its own.
 */
import * as kplus from 'cdk8s-plus-27';
import { checkAnnotationKey, checkLabelKey, checkLabelValue, Problem } from '../validation/rules';
import { Check } from '../validation/validate';
import { PodMetadataOptions } from './pod-settings';

/** The keys a construct writes into its pod template itself. */
export interface OwnPodMetadata {
  readonly labels: { [key: string]: string };
  readonly annotationKeys: string[];
}

/** Adds the user's labels and annotations to the pod template, leaving out keys the construct owns (the checks report them). */
export function addPodMetadata(workload: kplus.Workload, metadata: PodMetadataOptions | undefined, own: OwnPodMetadata): void {
  for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
    if (!(key in own.labels)) workload.podMetadata.addLabel(key, value);
  }
  for (const [key, value] of Object.entries(metadata?.annotations ?? {})) {
    if (!own.annotationKeys.includes(key)) workload.podMetadata.addAnnotation(key, value);
  }
}

/** The synth-time checks of `podMetadata`. */
export function podMetadataChecks(metadata: PodMetadataOptions | undefined, own: OwnPodMetadata): Check[] {
  return [
    ...Object.entries(metadata?.labels ?? {}).flatMap(([key, value]): Check[] => [
      ['podMetadata.labels', checkLabelKey(key)],
      ['podMetadata.labels', checkLabelValue(value)],
      ['podMetadata.labels', key in own.labels ? ownKey(key, 'the component selects its pods by this label') : undefined],
    ]),
    ...Object.keys(metadata?.annotations ?? {}).flatMap((key): Check[] => [
      ['podMetadata.annotations', checkAnnotationKey(key)],
      ['podMetadata.annotations', own.annotationKeys.includes(key) ? ownKey(key, 'the component sets this annotation itself') : undefined],
    ]),
  ];
}

function ownKey(key: string, rule: string): Problem {
  return { value: key, rule, fix: 'use a key of your own' };
}
