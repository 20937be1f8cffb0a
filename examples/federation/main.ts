import { synthFederation } from './federation';

// The output folder may be given, as the conformance suite does; `npm run synth` writes dist-federation/.
try {
  synthFederation(process.argv[2] ?? 'dist-federation');
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
