# shellcheck shell=bash
# Two runs that federate: e2e/run.sh joins their network namespaces with a veth pair and gives
# each a load balancer address the other routes to; FEDERATION_DIR holds, per run,
# NETNS.lb (its load balancer address) and NETNS.hosts (the partners' bundle endpoint names, as
# cluster DNS answers them), and per trust domain TD.bundle (its bundle, for docs/federation.md's hand
# step). Sourced by cluster.sh.

# The hosts file cluster DNS answers from, when the run has partners.
federation_hosts_file() { [[ -n "$FEDERATION" && -s "$FEDERATION/$NETNS.hosts" ]] && echo "$FEDERATION/$NETNS.hosts"; }

# Every LoadBalancer Service gets the run's address, as a cloud's load balancer controller would
# write it (the one part of this stood in), so kube-proxy forwards it to the bundle endpoint; the
# server's bundle goes where the partner's run reads it for docs/federation.md's hand step.
expose_bundle_endpoint() {
  local address ns name
  address="$(cat "$FEDERATION/$NETNS.lb")"
  while read -r ns name; do
    kc -n "$ns" patch service "$name" --subresource=status --type=merge \
      -p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"$address\"}]}}}" >/dev/null
    log "Service $ns/$name of type LoadBalancer: ingress $address"
  done < <(kc get services -A -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace} {.metadata.name}{"\n"}{end}')
  server_cli bundle show -format spiffe >"$FEDERATION/$TRUST_DOMAIN.bundle.tmp"
  mv "$FEDERATION/$TRUST_DOMAIN.bundle.tmp" "$FEDERATION/$TRUST_DOMAIN.bundle"
  log "bundle of $TRUST_DOMAIN shared for the partner's hand step"
}

# set_partner_bundles TD...: docs/federation.md's step before the federated identities: each partner's
# bundle, from the partner's own server, set with spire-server bundle set.
set_partner_bundles() {
  local td
  for td in "$@"; do
    wait_for "$WAIT" "the partner's run to share the bundle of $td" test -s "$FEDERATION/$td.bundle" || return 1
    server_cli bundle set -format spiffe -id "spiffe://$td" <"$FEDERATION/$td.bundle" >/dev/null
    log "spire-server bundle set -id spiffe://$td (from the $td server's bundle show)"
  done
}

# bundle_refreshed TD: the server fetched TD's bundle from TD's bundle endpoint (not the one set
# by hand), as it logs after each fetch.
bundle_refreshed() {
  api_get /api/v1/namespaces/spire-server/pods/spire-server-0/log container=spire-server | grep 'Bundle refreshed' | grep -q "trust_domain=\"\{0,1\}$1"
}

check_partner_bundles_fetched() {
  local td host
  while read -r td host; do
    if ! wait_for "$WAIT" "the server to fetch the bundle of $td from https://$host (its ClusterFederatedTrustDomain)" bundle_refreshed "$td"; then
      { kc -n spire-server logs spire-server-0 -c spire-server | grep -E 'Error updating bundle|federat' || true; } | tail -n 5 | sed 's/^/    /'
      return 1
    fi
    server_cli bundle list -format spiffe -id "spiffe://$td" >/dev/null
    log "bundle of $td fetched from https://$host by the server itself (log: Bundle refreshed), listed by spire-server bundle list"
  done < <(pods_js bundle-endpoint-hosts "$DIR")
}

federation_matches() {
  spire_enabled_pods
  collect_sds_logs
  server_cli entry show -output json >"$S/entries.json"
  record_identities_json
  pods_js federation "$S/spire-pods.json" "$S/entries.json" "$S/identities.json" "$S/sds"
}

# The pods a federating ClusterSPIFFEID selects, and only those, get entries that federate and
# hold the partners' bundles in what SDS serves as ROOTCA.
check_federated_pods() {
  wait_for 45 "the partners' bundles to reach the federating pods over SDS" federation_matches || true
  federation_matches
}

federation_checks() {
  stage "the server fetched each partner's bundle from the partner's bundle endpoint" check_partner_bundles_fetched
  stage "only the pods of federating identities hold the partners' bundles, and their entries federate" check_federated_pods
}
