import { DestinationRule, Gateway, ServiceEntry, VirtualService } from '../../imports/networking.istio.io';
import { AuthorizationPolicy, PeerAuthentication } from '../../imports/security.istio.io';

/** The Istio kinds the library writes; their CRDs come with Istio's installation, not with this output. */
export const ISTIO_CUSTOM_RESOURCE_KINDS = [Gateway, VirtualService, ServiceEntry, DestinationRule, AuthorizationPolicy, PeerAuthentication].map((type) => type.GVK.kind);
