// Command clusterspiffeid-check decodes every ClusterSPIFFEID in the given multi-document
// YAML files with spire-controller-manager's own API types (strictly: unknown or duplicate
// fields are errors) and runs that package's spec validation, the same one its admission
// webhook applies. It then renders the SPIFFE ID template for a sample pod, the way the
// controller does, and checks the result is an Istio workload identity in the expected
// trust domain. ControllerManagerConfig documents embedded in ConfigMaps are decoded the same
// way, loaded with the package's own loader and checked against the expected trust domain and
// cluster name.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	spirev1alpha1 "github.com/spiffe/spire-controller-manager/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
)

// templateData mirrors the fields spire-controller-manager exposes to ClusterSPIFFEID templates.
type templateData struct {
	TrustDomain   string
	ClusterName   string
	ClusterDomain string
	PodMeta       *metav1.ObjectMeta
	PodSpec       *corev1.PodSpec
	NodeMeta      *metav1.ObjectMeta
	NodeSpec      *corev1.NodeSpec
}

const (
	sampleNamespace      = "conformance-ns"
	sampleServiceAccount = "conformance-sa"
)

func main() {
	trustDomain := flag.String("trust-domain", "", "trust domain the rendered SPIFFE IDs must belong to")
	clusterName := flag.String("cluster-name", "", "cluster name passed to the templates")
	minCount := flag.Int("min", 1, "minimum number of ClusterSPIFFEID objects expected")
	flag.Parse()
	if *trustDomain == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: clusterspiffeid-check -trust-domain TD [-cluster-name NAME] FILE.yaml...")
		os.Exit(2)
	}
	td, err := spiffeid.TrustDomainFromString(*trustDomain)
	if err != nil {
		fail("invalid -trust-domain: %v", err)
	}

	decoder := strictDecoder()
	count, failures, configs, federations := 0, 0, 0, 0
	for _, path := range flag.Args() {
		docs, err := readDocuments(path)
		if err != nil {
			fail("%s: %v", path, err)
		}
		for i, doc := range docs {
			for _, cfg := range embeddedControllerManagerConfigs(doc) {
				configs++
				if err := checkControllerManagerConfig(decoder, cfg.data, td, *clusterName); err != nil {
					failures++
					fmt.Printf("FAIL: %s document %d %s: ControllerManagerConfig: %v\n", path, i+1, cfg.where, err)
					continue
				}
				fmt.Printf("ok: %s %s: ControllerManagerConfig decodes strictly, loads, and names trust domain %q and cluster %q\n", path, cfg.where, td.Name(), *clusterName)
			}
			if isSpireKind(doc, "ClusterFederatedTrustDomain") {
				federations++
				name, relationship, err := checkFederatedTrustDomain(decoder, doc, td)
				if err != nil {
					failures++
					fmt.Printf("FAIL: %s document %d ClusterFederatedTrustDomain %q: %v\n", path, i+1, name, err)
					continue
				}
				fmt.Printf("ok: %s ClusterFederatedTrustDomain %q decodes strictly and passes ParseClusterFederatedTrustDomainSpec: %s\n", path, name, relationship)
				continue
			}
			if !isSpireKind(doc, "ClusterSPIFFEID") {
				continue
			}
			count++
			name, err := check(decoder, doc, td, *clusterName)
			if err != nil {
				failures++
				fmt.Printf("FAIL: %s document %d ClusterSPIFFEID %q: %v\n", path, i+1, name, err)
				continue
			}
			fmt.Printf("ok: %s ClusterSPIFFEID %q decodes strictly and passes ParseClusterSPIFFEIDSpec\n", path, name)
		}
	}
	if count < *minCount {
		fail("found %d ClusterSPIFFEID objects, expected at least %d", count, *minCount)
	}
	if configs == 0 {
		fmt.Println("note: no ConfigMap embeds a spire-controller-manager ControllerManagerConfig")
	}
	if failures > 0 {
		fail("%d of %d ClusterSPIFFEID/ClusterFederatedTrustDomain/ControllerManagerConfig objects are invalid", failures, count+federations+configs)
	}
	fmt.Printf("ok: %d ClusterSPIFFEID and %d ClusterFederatedTrustDomain objects valid\n", count, federations)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func strictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := spirev1alpha1.AddToScheme(scheme); err != nil {
		fail("registering spire-controller-manager types: %v", err)
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
}

func readDocuments(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

func isSpireKind(doc []byte, kind string) bool {
	var meta metav1.TypeMeta
	if err := utilyaml.Unmarshal(doc, &meta); err != nil {
		return false
	}
	return meta.Kind == kind && strings.HasPrefix(meta.APIVersion, spirev1alpha1.GroupName+"/")
}

// checkFederatedTrustDomain runs what the controller manager's admission webhook runs, and refuses
// a relationship with the own trust domain, which the SPIRE server would reject.
func checkFederatedTrustDomain(decoder runtime.Decoder, doc []byte, td spiffeid.TrustDomain) (string, string, error) {
	obj, _, err := decoder.Decode(doc, nil, nil)
	if err != nil {
		return "", "", fmt.Errorf("strict decode: %w", err)
	}
	cftd, ok := obj.(*spirev1alpha1.ClusterFederatedTrustDomain)
	if !ok {
		return "", "", fmt.Errorf("decoded %T, not a ClusterFederatedTrustDomain", obj)
	}
	relationship, err := spirev1alpha1.ParseClusterFederatedTrustDomainSpec(&cftd.Spec)
	if err != nil {
		return cftd.Name, "", fmt.Errorf("ParseClusterFederatedTrustDomainSpec: %w", err)
	}
	if relationship.TrustDomain == td {
		return cftd.Name, "", fmt.Errorf("trust domain %q is the own one", td.Name())
	}
	return cftd.Name, fmt.Sprintf("trust domain %s, endpoint %s, profile %s", relationship.TrustDomain.Name(), relationship.BundleEndpointURL, cftd.Spec.BundleEndpointProfile.Type), nil
}

func check(decoder runtime.Decoder, doc []byte, td spiffeid.TrustDomain, clusterName string) (string, error) {
	obj, _, err := decoder.Decode(doc, nil, nil)
	if err != nil {
		var meta struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		_ = utilyaml.Unmarshal(doc, &meta)
		return meta.Metadata.Name, fmt.Errorf("strict decode: %w", err)
	}
	csid, ok := obj.(*spirev1alpha1.ClusterSPIFFEID)
	if !ok {
		return "", fmt.Errorf("decoded %T, not a ClusterSPIFFEID", obj)
	}
	parsed, err := spirev1alpha1.ParseClusterSPIFFEIDSpec(&csid.Spec)
	if err != nil {
		return csid.Name, fmt.Errorf("ParseClusterSPIFFEIDSpec: %w", err)
	}
	return csid.Name, checkRenderedID(parsed, td, clusterName)
}

// checkRenderedID renders the template for a sample pod; Istio only accepts workload
// certificates whose URI SAN is spiffe://<trust domain>/ns/<namespace>/sa/<service account>.
func checkRenderedID(parsed *spirev1alpha1.ParsedClusterSPIFFEIDSpec, td spiffeid.TrustDomain, clusterName string) error {
	data := templateData{
		TrustDomain:   td.Name(),
		ClusterName:   clusterName,
		ClusterDomain: "cluster.local",
		PodMeta:       &metav1.ObjectMeta{Name: "sample-0", Namespace: sampleNamespace, UID: "00000000-0000-0000-0000-000000000001"},
		PodSpec:       &corev1.PodSpec{ServiceAccountName: sampleServiceAccount, NodeName: "node-0"},
		NodeMeta:      &metav1.ObjectMeta{Name: "node-0", UID: "00000000-0000-0000-0000-000000000002"},
		NodeSpec:      &corev1.NodeSpec{},
	}
	var rendered bytes.Buffer
	if err := parsed.SPIFFEIDTemplate.Execute(&rendered, data); err != nil {
		return fmt.Errorf("rendering spiffeIDTemplate: %w", err)
	}
	id, err := spiffeid.FromString(rendered.String())
	if err != nil {
		return fmt.Errorf("rendered SPIFFE ID %q is invalid: %w", rendered.String(), err)
	}
	if id.TrustDomain() != td {
		return fmt.Errorf("rendered SPIFFE ID %q is not in trust domain %q", id, td)
	}
	want := fmt.Sprintf("/ns/%s/sa/%s", sampleNamespace, sampleServiceAccount)
	if id.Path() != want {
		return fmt.Errorf("rendered SPIFFE ID %q: path must be %q (Istio identity format ns/<namespace>/sa/<service account>)", id, want)
	}
	for _, t := range parsed.DNSNameTemplates {
		if err := t.Execute(io.Discard, data); err != nil {
			return fmt.Errorf("rendering dnsNameTemplate: %w", err)
		}
	}
	return nil
}

type embeddedConfig struct {
	where string
	data  []byte
}

// embeddedControllerManagerConfigs returns the ConfigMap data values that hold a
// ControllerManagerConfig, which spire-controller-manager reads from a mounted file.
func embeddedControllerManagerConfigs(doc []byte) []embeddedConfig {
	var cm corev1.ConfigMap
	if err := utilyaml.Unmarshal(doc, &cm); err != nil || cm.Kind != "ConfigMap" {
		return nil
	}
	var found []embeddedConfig
	for key, value := range cm.Data {
		var meta metav1.TypeMeta
		if err := utilyaml.Unmarshal([]byte(value), &meta); err != nil {
			continue
		}
		if meta.Kind == "ControllerManagerConfig" {
			found = append(found, embeddedConfig{where: fmt.Sprintf("ConfigMap %s/%s data[%s]", cm.Namespace, cm.Name, key), data: []byte(value)})
		}
	}
	return found
}

func checkControllerManagerConfig(decoder runtime.Decoder, data []byte, td spiffeid.TrustDomain, clusterName string) error {
	if _, _, err := decoder.Decode(data, nil, nil); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	file := filepath.Join(os.TempDir(), fmt.Sprintf("controller-manager-config-%d.yaml", os.Getpid()))
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return err
	}
	defer os.Remove(file)
	scheme := runtime.NewScheme()
	if err := spirev1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	var config spirev1alpha1.ControllerManagerConfig
	options := ctrl.Options{Scheme: scheme}
	if err := spirev1alpha1.LoadOptionsFromFile(file, scheme, &options, &config, false); err != nil {
		return fmt.Errorf("LoadOptionsFromFile: %w", err)
	}
	configTD, err := spiffeid.TrustDomainFromString(config.TrustDomain)
	if err != nil {
		return fmt.Errorf("trustDomain %q: %w", config.TrustDomain, err)
	}
	if configTD != td {
		return fmt.Errorf("trustDomain is %q, expected %q", configTD.Name(), td.Name())
	}
	if clusterName != "" && config.ClusterName != clusterName {
		return fmt.Errorf("clusterName is %q, expected %q", config.ClusterName, clusterName)
	}
	return nil
}
