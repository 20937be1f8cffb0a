// Command entrygc runs spire-controller-manager's own entry reconciler against a real SPIRE
// server: with the entry ID prefix, GC interval, class and trust domain of the output's
// ControllerManagerConfig (from its ConfigMap, loaded with the package's loader), and the
// output's ClusterStaticEntries in an in-memory Kubernetes API. It reconciles for the given time, which
// spans several GC intervals, and exits; what the server holds afterwards is the shell's to check.
// -drop-prefix runs the same config without entryIDPrefix, as an output without one would.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	spirev1alpha1 "github.com/spiffe/spire-controller-manager/api/v1alpha1"
	"github.com/spiffe/spire-controller-manager/pkg/spireapi"
	"github.com/spiffe/spire-controller-manager/pkg/spireentry"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	manifests := flag.String("manifests", "", "directory of the synthesized *.k8s.yaml files")
	socket := flag.String("socket", "", "the SPIRE server API socket")
	duration := flag.Duration("for", 0, "how long to reconcile")
	dropPrefix := flag.Bool("drop-prefix", false, "run without the config's entryIDPrefix")
	flag.Parse()
	if *manifests == "" || *socket == "" || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "usage: entrygc -manifests DIR -socket PATH -for DURATION [-drop-prefix]")
		os.Exit(2)
	}
	if err := run(*manifests, *socket, *duration, *dropPrefix); err != nil {
		fmt.Fprintf(os.Stderr, "entrygc: %v\n", err)
		os.Exit(1)
	}
}

func run(manifests, socket string, duration time.Duration, dropPrefix bool) error {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	scheme := runtime.NewScheme()
	if err := spirev1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		return err
	}
	configPath, entries, err := readOutput(manifests)
	if err != nil {
		return err
	}
	defer os.Remove(configPath)
	var config spirev1alpha1.ControllerManagerConfig
	options := ctrl.Options{Scheme: scheme}
	if err := spirev1alpha1.LoadOptionsFromFile(configPath, scheme, &options, &config, false); err != nil {
		return fmt.Errorf("loading %s: %w", configPath, err)
	}
	if dropPrefix {
		config.EntryIDPrefix = ""
	}
	if config.GCInterval <= 0 {
		return errors.New("the config sets no gcInterval; the scenario's app must set one")
	}
	trustDomain, err := spiffeid.TrustDomainFromString(config.TrustDomain)
	if err != nil {
		return err
	}
	k8s := fake.NewClientBuilder().WithScheme(scheme).WithObjects(entries...).
		WithStatusSubresource(&spirev1alpha1.ClusterStaticEntry{}, &spirev1alpha1.ClusterSPIFFEID{}).Build()
	spire, err := spireapi.DialSocket(socket, nil)
	if err != nil {
		return err
	}
	defer spire.Close()

	reconcile := spirev1alpha1.ReconcileConfig{ClusterSPIFFEIDs: true, ClusterStaticEntries: true, ClusterFederatedTrustDomains: true}
	if config.Reconcile != nil {
		reconcile = *config.Reconcile
	}
	fmt.Printf("reconciling %d ClusterStaticEntry(s) of class %q for %s, gcInterval %s, entryIDPrefix %q\n",
		len(entries), config.ClassName, duration, config.GCInterval, config.EntryIDPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	err = spireentry.Reconciler(spireentry.ReconcilerConfig{
		TrustDomain:    trustDomain,
		ClusterName:    config.ClusterName,
		ClusterDomain:  config.ClusterDomain,
		EntryClient:    spire,
		K8sClient:      k8s,
		ClassName:      config.ClassName,
		WatchClassless: config.WatchClassless,
		Reconcile:      reconcile,
		// The controller manager adds the separating "." the same way at start.
		EntryIDPrefix:        withDot(config.EntryIDPrefix),
		EntryIDPrefixCleanup: config.EntryIDPrefixCleanup,
		GCInterval:           config.GCInterval,
	}).Run(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

func withDot(prefix string) string {
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		return prefix + "."
	}
	return prefix
}

// readOutput writes the output's ControllerManagerConfig to a file of its own and decodes its
// ClusterStaticEntries.
func readOutput(dir string) (string, []client.Object, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.k8s.yaml"))
	if err != nil {
		return "", nil, err
	}
	configPath := ""
	var entries []client.Object
	for _, file := range files {
		docs, err := readDocuments(file)
		if err != nil {
			return "", nil, err
		}
		for _, doc := range docs {
			var meta struct {
				Kind string            `json:"kind"`
				Data map[string]string `json:"data"`
			}
			if err := json.Unmarshal(doc, &meta); err != nil {
				return "", nil, fmt.Errorf("%s: %w", file, err)
			}
			switch {
			case meta.Kind == "ClusterStaticEntry":
				var entry spirev1alpha1.ClusterStaticEntry
				if err := json.Unmarshal(doc, &entry); err != nil {
					return "", nil, fmt.Errorf("%s: %w", file, err)
				}
				entries = append(entries, &entry)
			case meta.Kind == "ConfigMap" && meta.Data["controller-manager-config.yaml"] != "":
				if configPath != "" {
					return "", nil, errors.New("the output holds more than one ControllerManagerConfig")
				}
				configPath = filepath.Join(os.TempDir(), fmt.Sprintf("entrygc-%d-controller-manager-config.yaml", os.Getpid()))
				if err := os.WriteFile(configPath, []byte(meta.Data["controller-manager-config.yaml"]), 0o600); err != nil {
					return "", nil, err
				}
			}
		}
	}
	if configPath == "" {
		return "", nil, errors.New("the output holds no ControllerManagerConfig")
	}
	return configPath, entries, nil
}

// readDocuments splits a multi-document YAML file into JSON documents.
func readDocuments(file string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var docs [][]byte
	for {
		var doc json.RawMessage
		err := decoder.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(doc) > 0 && string(doc) != "null" {
			docs = append(docs, doc)
		}
	}
}
