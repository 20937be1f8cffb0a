import { checkAwsRegion } from '../../lib/validation/aws';

describe('checkAwsRegion', () => {
  test.each(['us-east-2', 'eu-west-1', 'us-gov-west-1', 'eusc-de-east-1', 'ap-southeast-5'])('%s is a region', (region) => {
    expect(checkAwsRegion(region, 'the keys')).toBeUndefined();
  });

  test.each(['', 'useast2', 'US East', 'us-east', 'eu-west-1a', 'arn:aws:kms:us-east-2'])('%j is rejected naming the resource', (region) => {
    expect(checkAwsRegion(region, 'the keys')).toEqual({ value: region, rule: 'an AWS region is a name such as "us-east-2"', fix: 'use the region of the keys' });
  });
});
