package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The ReplicaKeys as provider-aws v2.5.0 wrote them, created and Ready
// against moto, and waiting for their primary's ARN when the provider config's
// endpoint refused connections; recorded by make e2e-provider, one file a
// region.
var replicaFixtures = []string{
	filepath.Join("testdata", "provider-replicas", "ready"),
	filepath.Join("testdata", "provider-replicas", "unreachable"),
}

// TestReadObservedRecordedReplicas reads each recorded ReplicaKey as the
// function reads an observed replica: its key id and ARN are those of its
// status.atProvider, and its conditions those the provider wrote.
func TestReadObservedRecordedReplicas(t *testing.T) {
	var files []string
	for _, dir := range replicaFixtures {
		f, err := filepath.Glob(filepath.Join(dir, "*", "replicakey-*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) == 0 {
		t.Fatal("no recorded ReplicaKeys: run make e2e-provider E2E_RUN=Replica E2E_FLAGS=-update")
	}
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			region := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "replicakey-"), ".yaml")
			o := ReadObserved(observedFrom(t, map[string]string{replicaNamePrefix + region: string(b)}), "eu-west-1")
			r := o.Replicas[region]
			if r == nil {
				t.Fatalf("want the replica in %s read, got %+v", region, o.Replicas)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			id, _, _ := unstructured.NestedString(obj, "status", "atProvider", "id")
			arn, _, _ := unstructured.NestedString(obj, "status", "atProvider", "arn")
			if r.KeyID != id || r.ARN != arn {
				t.Errorf("replica in %s: want key id %q and ARN %q (status.atProvider's id and arn), got %q and %q", region, id, arn, r.KeyID, r.ARN)
			}
			ready := filepath.Base(filepath.Dir(filepath.Dir(path))) == "ready"
			if ready != r.Conditions.True(conditionReady) || ready != (arn != "" && strings.HasPrefix(id, "mrk-")) {
				t.Errorf("replica in %s: want Ready=%v with a multi-region key's id and ARN, got %+v, id %q, ARN %q", region, ready, r.Conditions, id, arn)
			}
		})
	}
}
