import { createHash } from 'crypto';
import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

/** Pod template annotation with the checksum of the config files the pod reads. */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';

/** sha256 of the files' contents, concatenated in name order: for one file, what `sha256sum` prints. */
function configChecksum(files: { [name: string]: string }): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(files[name]);
  return hash.digest('hex');
}

/**
 * Annotates the pod template with the checksum of its config files. A
 * ConfigMap change alone does not restart pods; a changed annotation rolls them.
 */
export function annotateConfigChecksum(workload: kplus.Workload, files: () => { [name: string]: string }): void {
  workload.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, Lazy.any({ produce: () => configChecksum(files()) }));
}
