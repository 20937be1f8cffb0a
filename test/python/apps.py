"""The apps the tests synthesize, written as a Python user writes them.

Every call into the library is in this file, so an API change touches only it.
"""
from pathlib import Path

import cdk8s
import cdk8s_plus_27 as kplus
import constructs
import jsii
import cdk8s_spire_istio as spire_istio

BOOKSTORE = Path(__file__).resolve().parents[2] / "examples" / "bookstore" / "bookstore.yaml"


@jsii.implements(spire_istio.IApiObjectPredicate)
class NamedOtherThan:
    """Chooses the objects of an Include whose name is not the given one."""

    def __init__(self, name: str) -> None:
        self._name = name

    def matches(self, api_object: cdk8s.ApiObject) -> bool:
        return api_object.name != self._name


def default_deployment(outdir: str, trust_domain: str = "example.org", cluster_name: str = "demo-cluster",
                       sidecar_mode: spire_istio.SidecarMode = spire_istio.SidecarMode.NATIVE) -> None:
    """What `npm run synth` writes, composed and synthesized from Python."""
    app = spire_istio.SpireIstioApp(outdir=outdir)
    mesh = spire_istio.SpireIstioMesh(app, "Mesh", trust_domain=trust_domain, cluster_name=cluster_name,
                                      istio=spire_istio.IstioSpireProfileOptions(sidecar_mode=sidecar_mode))
    profile = mesh.profile
    spire_istio.DemoWorkloads(mesh.workloads, "Demo", profile=profile, identity=mesh.mesh_identity)

    bookstore_identity = spire_istio.ClusterSpiffeId(
        mesh.identities, "BookstoreIdentity",
        server=mesh.server,
        name="bookstore-namespace-workloads",
        namespace_selector=spire_istio.LabelSelectorSpec(match_labels={"spire-identity": "namespace"}),
        pod_selector=spire_istio.LabelSelectorSpec(match_expressions=[spire_istio.LabelSelectorRequirement(
            key=spire_istio.ClusterSpiffeId.MANAGED_IDENTITY_LABEL,
            operator=spire_istio.LabelSelectorOperator.DOES_NOT_EXIST,
        )]),
    )
    namespace = spire_istio.MeshNamespace.create(mesh.workloads, "BookstoreNamespace", name="bookstore",
                                                 revision=profile.revision, labels={"spire-identity": "namespace"})
    bookstore = cdk8s.Include(mesh.workloads, "Bookstore", url=str(BOOKSTORE))
    spire_istio.SpireEnabledWorkload.enable_included(bookstore, profile=profile, identity=mesh.mesh_identity,
                                                     namespace=namespace, names=["ratings"])
    spire_istio.SpireEnabledWorkload.enable_included(bookstore, profile=profile, identity=bookstore_identity,
                                                     namespace=namespace, predicate=NamedOtherThan("ratings"))
    app.synth()


def user_app(outdir: str) -> None:
    """A user's own app: the stack in stages, and one SPIRE-enabled workload in a namespace of theirs."""
    app = spire_istio.SpireIstioApp(outdir=outdir)
    mesh = spire_istio.SpireIstioMesh(app, "Mesh", trust_domain="shop.example", cluster_name="prod")
    shop = spire_istio.MeshNamespace.create(mesh.workloads, "Shop", name="shop")
    spire_istio.SpireEnabledWorkload(
        mesh.workloads, "Cart",
        profile=mesh.profile, identity=mesh.mesh_identity, namespace=shop,
        name="cart", image="registry.example/cart:1.4.2", port=8080,
    )
    app.synth()


def second_mesh(outdir: str) -> None:
    """Two meshes in one app, which the library refuses: one mesh per cluster."""
    app = spire_istio.SpireIstioApp(outdir=outdir)
    spire_istio.SpireIstioMesh(app, "Mesh", trust_domain="shop.example", cluster_name="prod")
    spire_istio.SpireIstioMesh(app, "Other", trust_domain="other.example", cluster_name="prod")


def ledger_app(outdir: str, own_service_account: bool, allow_default_service_account: bool = False) -> None:
    """A StatefulSet of the user's own given a SPIRE identity, with or without a service account of its own."""
    app = spire_istio.SpireIstioApp(outdir=outdir)
    mesh = spire_istio.SpireIstioMesh(app, "Mesh", trust_domain="shop.example", cluster_name="prod")
    shop = spire_istio.MeshNamespace.create(mesh.workloads, "Shop", name="shop")
    metadata = cdk8s.ApiObjectMetadata(name="ledger", namespace="shop")
    account = kplus.ServiceAccount(mesh.workloads, "LedgerAccount", metadata=metadata) if own_service_account else None
    ledger = kplus.StatefulSet(mesh.workloads, "Ledger", metadata=metadata, service_account=account,
                               containers=[kplus.ContainerProps(image="registry.example/ledger:3.2.0", port_number=7000)])
    spire_istio.SpireEnabledWorkload.enable(ledger, profile=mesh.profile, identity=mesh.mesh_identity, namespace=shop,
                                            allow_default_service_account=allow_default_service_account)
    app.synth()


def vault_without_auth() -> spire_istio.UpstreamAuthority:
    """A factory's required prop passed as None."""
    return spire_istio.UpstreamAuthority.vault(vault_addr="https://vault.example:8200/", auth=None)


@jsii.implements(spire_istio.IApplyStaged)
class EgressSidecar(constructs.Construct):
    """An Istio Sidecar of the user's own, which needs Istio installed first."""

    def __init__(self, scope: constructs.Construct, id: str, profile: spire_istio.IstioSpireProfile) -> None:
        super().__init__(scope, id)
        self._prerequisites = [spire_istio.ApplyPrerequisite(construct=profile, reason="its Sidecar is an Istio CRD")]
        cdk8s.ApiObject(self, "Resource", api_version="networking.istio.io/v1", kind="Sidecar",
                        metadata=cdk8s.ApiObjectMetadata(name="default", namespace="shop"))
        spire_istio.ApplyStages.declare(self)

    @property
    def apply_stage(self) -> spire_istio.ApplyStage:
        return spire_istio.ApplyStage.WORKLOADS

    @property
    def apply_prerequisites(self) -> list[spire_istio.ApplyPrerequisite]:
        return self._prerequisites


def staged_sidecar_app(outdir: str, chart: str) -> None:
    """A user construct stating its apply stage, in the mesh chart named."""
    app = spire_istio.SpireIstioApp(outdir=outdir)
    mesh = spire_istio.SpireIstioMesh(app, "Mesh", trust_domain="shop.example", cluster_name="prod")
    spire_istio.MeshNamespace.create(mesh.workloads, "Shop", name="shop")
    EgressSidecar(getattr(mesh, chart), "Sidecar", mesh.profile)
    app.synth()
