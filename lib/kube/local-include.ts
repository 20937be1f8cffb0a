import * as fs from 'fs';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as YAML from 'yaml';

export interface LocalIncludeProps {
  /** Path of a local multi-document YAML manifest. */
  readonly file: string;
}

/**
 * The objects of a local YAML manifest as ApiObjects, with the construct ids,
 * order and content cdk8s's Include gives them, so output is the same. Include
 * reads every file through a child process (so that it can fetch URLs too),
 * which costs a synth more than all the parsing; a local file needs none.
 */
export class LocalInclude extends Construct {
  constructor(scope: Construct, id: string, props: LocalIncludeProps) {
    super(scope, id);
    let unnamed = 0;
    for (const doc of documentsOf(props.file)) {
      const name = doc.metadata?.name ?? `object${unnamed++}`;
      const objectId = [name, doc.kind?.toLowerCase(), doc.metadata?.namespace].filter((part) => part).join('-');
      new ApiObject(this, objectId, doc);
    }
  }

  /** The loaded objects, in file order. */
  public get apiObjects(): ApiObject[] {
    return this.node.children.filter(ApiObject.isApiObject);
  }
}

/** The non-empty documents of a manifest, read with YAML 1.1 rules as cdk8s reads and writes YAML. */
function documentsOf(file: string): any[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { version: '1.1' })
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: not YAML: ${document.errors[0].message}`);
      return document.toJSON();
    })
    .filter((doc) => doc !== null && doc !== undefined && (typeof doc !== 'object' || Object.keys(doc).length > 0));
}
