"""The apps the tests synthesize, written as a Python user writes them.

Every call into the library is in this file, so an API change touches only it.
"""
from pathlib import Path

import cdk8s
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
