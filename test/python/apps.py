"""The two apps the tests synthesize, written as a Python user writes them.

Every call into the library is in this file, so an API change touches only it.
"""
import cdk8s
import cdk8s_spire_istio as spire_istio


def default_deployment(outdir: str, **settings: str) -> None:
    """What `npm run synth` writes, built and synthesized from Python.

    `settings` are DeploymentSettings fields: trust_domain, cluster_name, sidecar_mode.
    """
    app = cdk8s.App(outdir=outdir)
    spire_istio.SpireIstioDeployment(app, **settings).synthesize()


def user_app(outdir: str) -> None:
    """A user's own app: the platform chart, then a chart with one SPIRE-enabled workload."""
    app = cdk8s.App(outdir=outdir)
    platform = cdk8s.Chart(app, "platform", disable_resource_name_hashes=True)
    server = spire_istio.SpireServer(platform, "Server", trust_domain="shop.example", cluster_name="prod")
    agent = spire_istio.SpireAgentDaemonSet(platform, "Agent", server=server)
    csi_driver = spire_istio.SpiffeCsiDriver(platform, "Csi", agent=agent)
    identity = spire_istio.ClusterSpiffeId(platform, "Mesh", server=server)
    profile = spire_istio.IstioSpireProfile(platform, "Istio", csi_driver=csi_driver)

    shop = cdk8s.Chart(app, "shop", disable_resource_name_hashes=True)
    shop.add_dependency(platform)
    namespace = spire_istio.SpireEnabledWorkload.injection_enabled_namespace(shop, "Namespace", "shop")
    spire_istio.SpireEnabledWorkload(
        shop, "Cart",
        profile=profile, identity=identity, namespace=namespace,
        name="cart", image="registry.example/cart:1.4.2", port=8080,
    )
    app.synth()
