import { ApiObject, Chart } from 'cdk8s';

/** How the apply order of the stage charts is stated for GitOps tools, besides the numbered files. */
export enum GitOpsOrdering {
  /** The numbered files alone, for `kubectl apply` in order. */
  NONE = 'NONE',
  /**
   * An Argo CD sync wave on every object of a stage: CRDs -5, SPIRE -4,
   * ClusterSPIFFEIDs -3, Istio profile -2, workloads -1. Objects without a
   * wave (0) sync after all of them.
   */
  ARGO_CD_SYNC_WAVES = 'ARGO_CD_SYNC_WAVES',
}

export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/**
 * Gives every object of the charts, listed in apply order, the sync wave of
 * its stage; the last stage gets -1, so that objects without a wave come after.
 * Custom resources may also skip Argo CD's dry run, whose CRD is not there
 * until an earlier wave applied it.
 */
export function addSyncWaves(stages: Chart[], customResourceKinds: string[]): void {
  stages.forEach((chart, index) => {
    const wave = String(index - stages.length);
    // At synth, when every object of the chart, the user's too, exists.
    chart.node.addValidation({
      validate: () => {
        for (const apiObject of objectsOf(chart)) {
          apiObject.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, wave);
          if (customResourceKinds.includes(apiObject.kind)) apiObject.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, 'SkipDryRunOnMissingResource=true');
        }
        return [];
      },
    });
  });
}

function objectsOf(chart: Chart): ApiObject[] {
  return chart.node.findAll().filter((construct): construct is ApiObject => ApiObject.isApiObject(construct) && Chart.of(construct) === chart);
}
