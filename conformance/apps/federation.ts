import { synthFederation } from '../../examples/federation/federation';

// The two-cluster federation example, each cluster in its own folder under the given directory.
synthFederation(process.argv[2]);
