import { Problem } from './rules';

// Partition prefixes differ in length: us-east-2, us-gov-west-1, eusc-de-east-1.
const AWS_REGION = /^[a-z]+(-[a-z]+)+-\d+$/;

/** An AWS region name such as `us-east-2`; `what` names the resource that lives there. */
export function checkAwsRegion(region: string, what: string): Problem | undefined {
  if (AWS_REGION.test(region)) return undefined;
  return { value: region, rule: 'an AWS region is a name such as "us-east-2"', fix: `use the region of ${what}` };
}
