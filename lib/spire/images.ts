import { requireProps } from '../validation/required';

/**
 * Container images every component runs, pinned by release. Override any of
 * them through the constructs' `image` props (e.g. to pin a digest), or pull
 * the SPIRE components' defaults from a mirror with `imageRegistry`; an
 * unpinned image is a synth-time error.
 */
export class DefaultImages {
  public static readonly SPIRE_SERVER = 'ghcr.io/spiffe/spire-server:1.15.3';
  public static readonly SPIRE_AGENT = 'ghcr.io/spiffe/spire-agent:1.15.3';
  public static readonly OIDC_DISCOVERY_PROVIDER = 'ghcr.io/spiffe/oidc-discovery-provider:1.15.3';
  public static readonly SPIRE_CONTROLLER_MANAGER = 'ghcr.io/spiffe/spire-controller-manager:0.7.0';
  public static readonly SPIFFE_CSI_DRIVER = 'ghcr.io/spiffe/spiffe-csi-driver:0.2.13';
  public static readonly CSI_LIVENESS_PROBE = 'registry.k8s.io/sig-storage/livenessprobe:v2.17.0';
  public static readonly SOCKET_WAIT = 'docker.io/library/busybox:1.37.0';
  public static readonly NODE_DRIVER_REGISTRAR = 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.15.0';
  /** The demo client. */
  public static readonly DEMO_CURL = 'docker.io/curlimages/curl:8.11.1';
  /** The demo server. */
  public static readonly DEMO_HTTPBIN = 'docker.io/mccutchen/go-httpbin:v2.15.0';

  /**
   * The image with its registry replaced, path and tag kept:
   * `fromRegistry(DefaultImages.SPIRE_SERVER, "mirror.example/ghcr")` is
   * `mirror.example/ghcr/spiffe/spire-server:1.15.3`. Without a registry, the image as it is.
   */
  public static fromRegistry(image: string, registry?: string): string {
    requireProps('DefaultImages.fromRegistry', { image }, [['image', 'string', 'the image to pull from the registry, e.g. DefaultImages.SPIRE_SERVER']]);
    if (registry === undefined) return image;
    return `${registry}/${image.slice(image.indexOf('/') + 1)}`;
  }

  private constructor() {}
}
