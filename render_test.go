package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// These tests run the real Crossplane CLI, pinned in the Makefile and
// installed by hack/install-crossplane.sh, against this function built and
// served as `crossplane render` expects: the path a user takes on a laptop.

// crossplaneCLI returns the CLI's path: $CROSSPLANE, else bin/crossplane.
// Under make test, which sets $CROSSPLANE and installs the pinned CLI
// there, a missing CLI fails the test; under a plain go test ./..., where
// bin/crossplane may not exist yet, the test is skipped, naming the target
// that runs it.
func crossplaneCLI(t *testing.T) string {
	t.Helper()
	cli, required := os.LookupEnv("CROSSPLANE")
	if !required {
		cli = filepath.Join("bin", "crossplane")
	}
	if _, err := os.Stat(cli); err != nil {
		if !required {
			t.Skipf("the Crossplane CLI is not installed at %s: make test installs it and runs this test (%v)", cli, err)
		}
		t.Fatalf("the Crossplane CLI is missing at %s, where $CROSSPLANE names it: run make test, which installs it (%v)", cli, err)
	}
	return cli
}

// startFunction builds this function and serves it without TLS on a free
// loopback port, as the Development runtime expects. It returns a
// functions.yaml that points the CLI at it.
func startFunction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "function")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("cannot build the function: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	cmd := exec.Command(bin, "--insecure", "--address="+addr, "--metrics-address=")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the function did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	fns, err := os.ReadFile(filepath.Join("example", "functions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("    render.crossplane.io/runtime-development-target: dns:///%s\n", addr)
	fns = bytes.Replace(fns, []byte("    render.crossplane.io/runtime: Development\n"),
		[]byte("    render.crossplane.io/runtime: Development\n"+target), 1)
	if !bytes.Contains(fns, []byte(target)) {
		t.Fatal("example/functions.yaml has no Development runtime annotation")
	}
	path := filepath.Join(dir, "functions.yaml")
	if err := os.WriteFile(path, fns, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs the CLI and returns its stdout and stderr.
func run(t *testing.T, cli string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// parseDocs splits a YAML stream into objects, keyed by kind.
func parseDocs(t *testing.T, out string) map[string]*unstructured.Unstructured {
	t.Helper()
	docs := map[string]*unstructured.Unstructured{}
	for _, d := range strings.Split(out, "\n---\n") {
		d = strings.TrimPrefix(strings.TrimSpace(d), "---")
		if strings.TrimSpace(d) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("cannot parse rendered document: %v\n%s", err, d)
		}
		// A replica and its alias are named by kind and composition
		// resource name: ReplicaKey/replica-us-east-1, Alias/alias-us-east-1.
		name := u.GetKind()
		if n := u.GetAnnotations()["crossplane.io/composition-resource-name"]; strings.Contains(n, "-") {
			name += "/" + n
		}
		if _, dup := docs[name]; dup {
			t.Fatalf("rendered two objects named %s", name)
		}
		docs[name] = u
	}
	return docs
}

func nested(t *testing.T, u *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil || !ok {
		t.Errorf("%s: want field %s, missing", u.GetKind(), strings.Join(path, "."))
	}
	return v
}

func condition(u *unstructured.Unstructured, typ string) (string, string) {
	s, r, _ := conditionMessage(u, typ)
	return s, r
}

func conditionMessage(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	cs, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
			return status, reason, message
		}
	}
	return "", "", ""
}

func TestRenderExamples(t *testing.T) {
	cli := crossplaneCLI(t)
	fns := startFunction(t)

	type args struct {
		xr          string
		composition string
		observed    string
	}
	type want struct {
		kinds []string
		// status of the XR after the render; nil entries must be absent.
		status map[string]any
		ready  string
		// available is the KeyAvailable condition's status and reason.
		available [2]string
		// checks on the composed resources.
		check func(t *testing.T, docs map[string]*unstructured.Unstructured)
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"Example": {
			reason: "The example XR renders into a Key with the computed policy and an Alias that selects it.",
			args:   args{xr: "example/xr.yaml", composition: "configuration/legacy/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/vault-backend", "kmsKeyId": nil, "kmsKeyArn": nil, "kmsKeyAliasArn": nil},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					key, alias := docs["Key"], docs["Alias"]
					if got := key.GetAPIVersion(); got != "kms.aws.upbound.io/v1beta1" {
						t.Errorf("Key apiVersion: want kms.aws.upbound.io/v1beta1, got %s", got)
					}
					for path, want := range map[string]any{
						"region":               "eu-west-1",
						"description":          "KMS key for Vault backend encryption",
						"deletionWindowInDays": float64(30),
						"enableKeyRotation":    true,
					} {
						if got := nested(t, key, "spec", "forProvider", path); got != want {
							t.Errorf("Key forProvider.%s: want %v, got %v", path, want, got)
						}
					}
					checkPolicy(t, nested(t, key, "spec", "forProvider", "policy"))
					if got := alias.GetAnnotations()["crossplane.io/external-name"]; got != "vault-backend" {
						t.Errorf("Alias external name: want vault-backend, got %q", got)
					}
					if got := nested(t, alias, "spec", "forProvider", "targetKeyIdSelector", "matchControllerRef"); got != true {
						t.Errorf("Alias targetKeyIdSelector.matchControllerRef: want true, got %v", got)
					}
				},
			},
		},
		"ExampleObserved": {
			reason: "With the provider's status in observed.yaml the XR reports all six status fields and is ready.",
			args:   args{xr: "example/xr.yaml", composition: "configuration/legacy/composition.yaml", observed: "example/observed.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    observedStatus,
				ready:     "True",
				available: [2]string{"True", "Available"},
				check:     targetsObservedKey,
			},
		},
		"ExampleFailing": {
			reason: "With the Key's create failed, as provider-aws wrote it, the XR says KeyAvailable=False, reason ProviderError.",
			args:   args{xr: "example/xr.yaml", composition: "configuration/legacy/composition.yaml", observed: "example/failing/observed.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/vault-backend", "kmsKeyId": nil},
				ready:     "False",
				available: [2]string{"False", "ProviderError"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					const want = "key: create failed: async create failed: failed to create the resource: creating KMS Key: operation error KMS: CreateKey"
					if _, _, msg := conditionMessage(docs["XKmsBackend"], "KeyAvailable"); !strings.HasPrefix(msg, want) {
						t.Errorf("KeyAvailable message: want it to start with %q, got %q", want, msg)
					}
				},
			},
		},
		"Namespaced": {
			reason: "A Crossplane v2 namespaced XR renders into namespaced Key and Alias in its namespace; Orphan becomes management policies without Delete.",
			args:   args{xr: "example/namespaced/xr.yaml", composition: "configuration/namespaced/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "KmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/vault-backend", "kmsKeyId": nil},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					for _, kind := range []string{"Key", "Alias"} {
						u := docs[kind]
						if u.GetAPIVersion() != "kms.aws.m.upbound.io/v1beta1" || u.GetNamespace() != "vault" {
							t.Errorf("%s: want kms.aws.m.upbound.io/v1beta1 in namespace vault, got %s in %q", kind, u.GetAPIVersion(), u.GetNamespace())
						}
						// The Key is created, the Alias first only observed.
						want := []any{"Observe", "Create", "Update", "LateInitialize"}
						if kind == "Alias" {
							want = []any{"Observe"}
						}
						if got := nested(t, u, "spec", "managementPolicies"); !cmp.Equal(got, want) {
							t.Errorf("%s managementPolicies: want %v, got %v", kind, want, got)
						}
						if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "deletionPolicy"); ok {
							t.Errorf("%s: namespaced resources have no deletionPolicy", kind)
						}
						if got := nested(t, u, "spec", "providerConfigRef", "kind"); got != "ClusterProviderConfig" {
							t.Errorf("%s providerConfigRef.kind: want ClusterProviderConfig, got %v", kind, got)
						}
					}
					checkPolicy(t, nested(t, docs["Key"], "spec", "forProvider", "policy"))
				},
			},
		},
		"NamespacedObserved": {
			reason: "With the provider's status the namespaced XR reports all six status fields and is ready.",
			args:   args{xr: "example/namespaced/xr.yaml", composition: "configuration/namespaced/composition.yaml", observed: "example/namespaced/observed.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "KmsBackend"},
				status:    observedStatus,
				ready:     "True",
				available: [2]string{"True", "Available"},
				check:     targetsObservedKey,
			},
		},
		"Adopt": {
			reason: "A claim adopting the Terraform module's key, with the key and its alias as provider-aws reports them observe-only: both adopted, managed in place without Create or Delete, the key's ids in status.",
			args:   args{xr: "example/adopt/xr.yaml", composition: "configuration/legacy/composition.yaml", observed: "example/adopt/observed.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
				ready:     "True",
				available: [2]string{"True", "Available"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					for _, kind := range []string{"Key", "Alias"} {
						u := docs[kind]
						if got := u.GetAnnotations()[adoptionAnnotation]; got != "Adopt" {
							t.Errorf("%s %s: want Adopt, got %q", kind, adoptionAnnotation, got)
						}
						if got := nested(t, u, "spec", "managementPolicies"); !cmp.Equal(got, []any{"Observe", "Update", "LateInitialize"}) {
							t.Errorf("%s managementPolicies: want Observe, Update, LateInitialize, got %v", kind, got)
						}
					}
					if got := docs["Key"].GetAnnotations()["crossplane.io/external-name"]; got != "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" {
						t.Errorf("Key external name: want the adopted key's id, got %q", got)
					}
					checkPolicy(t, nested(t, docs["Key"], "spec", "forProvider", "policy"))
				},
			},
		},
		"AliasExists": {
			reason: "An Alias that provider-aws found in AWS targeting another key: the XR is refused naming spec.aliasName, and the Alias stays observe-only with the refusal recorded.",
			args:   args{xr: "example/xr.yaml", composition: "configuration/legacy/composition.yaml", observed: "example/alias-exists/observed.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasArn": nil},
				ready:     "False",
				available: [2]string{"False", "Refused"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					alias := docs["Alias"]
					if got := alias.GetAnnotations()[adoptionAnnotation]; got != "Refuse" {
						t.Errorf("Alias %s: want Refuse, got %q", adoptionAnnotation, got)
					}
					if got := nested(t, alias, "spec", "managementPolicies"); !cmp.Equal(got, []any{"Observe"}) {
						t.Errorf("Alias managementPolicies: want Observe only, got %v", got)
					}
					status, reason, msg := conditionMessage(docs["XKmsBackend"], "SpecValid")
					if status != "False" || reason != "InvalidSpec" || !strings.HasPrefix(msg, "invalid spec: spec.aliasName: Forbidden: alias/vault-backend exists in AWS in eu-west-1, targets another key") {
						t.Errorf("SpecValid: want False, InvalidSpec, naming spec.aliasName; got %s, %s, %q", status, reason, msg)
					}
				},
			},
		},
		"AllowedServices": {
			reason: "A claim's allowedServices holds the users' and grants' statements to requests through those services in the key's region, with a Deny for anything else; the IAM evaluator judges the policy the CLI rendered.",
			args:   args{xr: "example/allowed-services/xr.yaml", composition: "configuration/legacy/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/orders-data"},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					var p PolicyDocument
					if err := json.Unmarshal([]byte(nested(t, docs["Key"], "spec", "forProvider", "policy").(string)), &p); err != nil {
						t.Fatal(err)
					}
					via := []any{"rds.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"}
					for _, s := range p.Statement {
						got := s.Condition["StringEquals"]["kms:ViaService"]
						switch s.Sid {
						case sidUsers, "KeyUsersPersistentResourceGrants":
							if !cmp.Equal(got, via) {
								t.Errorf("%s kms:ViaService: want %v, got %v", s.Sid, via, got)
							}
						case "DenyKeyUsersOutsideAllowedServices":
							if got := s.Condition["StringNotEquals"]["kms:ViaService"]; s.Effect != "Deny" || !cmp.Equal(got, via) {
								t.Errorf("%s: want a Deny outside kms:ViaService %v, got %s outside %v", s.Sid, via, s.Effect, got)
							}
						default:
							if got != nil {
								t.Errorf("%s: want no kms:ViaService, got %v", s.Sid, got)
							}
						}
					}
					// The claim as the function reads it, and the policy as
					// the CLI rendered it, judged request by request.
					data, err := os.ReadFile("example/allowed-services/xr.yaml")
					if err != nil {
						t.Fatal(err)
					}
					var xr struct{ Spec map[string]any }
					if err := yaml.Unmarshal(data, &xr); err != nil {
						t.Fatal(err)
					}
					spec, err := structpb.NewStruct(xr.Spec)
					if err != nil {
						t.Fatal(err)
					}
					raw, _ := ParseSpec(spec.GetFields())
					b, _, errs := Resolve(raw, defaultSettings())
					if len(errs) > 0 {
						t.Fatal(errs)
					}
					policy := nested(t, docs["Key"], "spec", "forProvider", "policy").(string)
					judge(t, []string{"the rendered example/allowed-services/xr.yaml"}, []string{policy}, [][]judged{model(b).requests()})
				},
			},
		},
		"Replicas": {
			reason: "A claim with two replica regions renders into a multi-region Key, a ReplicaKey per region that selects it, and the Alias; the replicas' aliases wait for their key id.",
			args:   args{xr: "example/replicas/xr.yaml", composition: "configuration/legacy/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "ReplicaKey/replica-eu-central-1", "ReplicaKey/replica-us-east-1", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/vault-backend", "replicas": nil},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check:     checkReplicas("kms.aws.upbound.io/v1beta1", ""),
			},
		},
		"ReplicasObserved": {
			reason: "With the provider's status for the key, replicas and aliases, every alias names the key id, the status lists both replicas, and the XR is ready.",
			args:   args{xr: "example/replicas/xr.yaml", composition: "configuration/legacy/composition.yaml", observed: "example/replicas/observed.yaml"},
			want: want{
				kinds:     replicaKinds("XKmsBackend"),
				status:    map[string]any{"kmsKeyId": "mrk-1234abcd12ab34cd56ef1234567890ab"},
				ready:     "True",
				available: [2]string{"True", "Available"},
				check:     checkObservedReplicas,
			},
		},
		"ReplicasNamespaced": {
			reason: "A namespaced XR's replicas are namespaced ReplicaKeys in its namespace.",
			args:   args{xr: "example/replicas/namespaced-xr.yaml", composition: "configuration/namespaced/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "KmsBackend", "ReplicaKey/replica-eu-central-1", "ReplicaKey/replica-us-east-1"},
				status:    map[string]any{"kmsKeyAliasName": "alias/vault-backend", "replicas": nil},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check:     checkReplicas("kms.aws.m.upbound.io/v1beta1", "vault"),
			},
		},
		"ReplicasNamespacedObserved": {
			reason: "A namespaced XR's replicas report into its status as the legacy XR's do.",
			args:   args{xr: "example/replicas/namespaced-xr.yaml", composition: "configuration/namespaced/composition.yaml", observed: "example/replicas/namespaced-observed.yaml"},
			want: want{
				kinds:     replicaKinds("KmsBackend"),
				status:    map[string]any{"kmsKeyId": "mrk-1234abcd12ab34cd56ef1234567890ab"},
				ready:     "True",
				available: [2]string{"True", "Available"},
				check:     checkObservedReplicas,
			},
		},
		"InputDefaults": {
			reason: "A claim without region, provider config, window or rotation renders with the platform's defaults from the function input, its tags over the platform's.",
			args:   args{xr: "example/guardrails/xr-defaults.yaml", composition: "example/guardrails/composition.yaml"},
			want: want{
				kinds:     []string{"Alias", "Key", "XKmsBackend"},
				status:    map[string]any{"kmsKeyAliasName": "alias/payments"},
				ready:     "False",
				available: [2]string{"False", "Creating"},
				check: func(t *testing.T, docs map[string]*unstructured.Unstructured) {
					key := docs["Key"]
					for path, want := range map[string]any{
						"region":               "eu-west-1",
						"deletionWindowInDays": float64(21),
						"enableKeyRotation":    true,
					} {
						if got := nested(t, key, "spec", "forProvider", path); got != want {
							t.Errorf("Key forProvider.%s: want the input's %v, got %v", path, want, got)
						}
					}
					wantTags := map[string]any{"managed-by": "crossplane", "cost-center": "payments", "team": "payments"}
					if got := nested(t, key, "spec", "forProvider", "tags"); !cmp.Equal(got, wantTags) {
						t.Errorf("Key tags: want the input's under the claim's %v, got %v", wantTags, got)
					}
					for _, kind := range []string{"Key", "Alias"} {
						if got := nested(t, docs[kind], "spec", "providerConfigRef", "name"); got != "aws-prod" {
							t.Errorf("%s providerConfigRef: want the input's aws-prod, got %v", kind, got)
						}
						if got := nested(t, docs[kind], "spec", "forProvider", "region"); got != "eu-west-1" {
							t.Errorf("%s region: want the input's eu-west-1, got %v", kind, got)
						}
					}
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			argv := []string{"render", tc.args.xr, tc.args.composition, fns, "--timeout=60s"}
			if tc.args.observed != "" {
				argv = append(argv, "--observed-resources="+tc.args.observed)
			}
			out, stderr, err := run(t, cli, argv...)
			if err != nil {
				t.Fatalf("%s\ncrossplane render: %v\n%s", tc.reason, err, stderr)
			}
			docs := parseDocs(t, out)
			kinds := make([]string, 0, len(docs))
			for k := range docs {
				kinds = append(kinds, k)
			}
			if diff := cmp.Diff(tc.want.kinds, slices.Sorted(slices.Values(kinds))); diff != "" {
				t.Fatalf("%s\nrendered kinds: -want, +got:\n%s", tc.reason, diff)
			}
			var xr *unstructured.Unstructured
			for _, u := range docs {
				if u.GetAPIVersion() == "kms.example.org/v1alpha1" || u.GetAPIVersion() == "kms.m.example.org/v1alpha1" {
					xr = u
				}
			}
			for k, want := range tc.want.status {
				got, ok, _ := unstructured.NestedFieldNoCopy(xr.Object, "status", k)
				switch {
				case want == nil && ok:
					t.Errorf("%s\nstatus.%s: want unset until known, got %v", tc.reason, k, got)
				case want != nil && got != want:
					t.Errorf("%s\nstatus.%s: want %v, got %v", tc.reason, k, want, got)
				}
			}
			if s, r := condition(xr, "SpecValid"); tc.want.available[1] != reasonRefused && (s != "True" || r != "Valid") {
				t.Errorf("%s\nSpecValid: want True/Valid, got %s/%s", tc.reason, s, r)
			}
			if s, _ := condition(xr, "Ready"); s != tc.want.ready {
				t.Errorf("%s\nReady: want %s, got %s", tc.reason, tc.want.ready, s)
			}
			if s, r := condition(xr, "KeyAvailable"); [2]string{s, r} != tc.want.available {
				t.Errorf("%s\nKeyAvailable: want %v, got %s/%s", tc.reason, tc.want.available, s, r)
			}
			tc.want.check(t, docs)
			validateAgainstProviderCRDs(t, cli, docs["Key"].GetAPIVersion(), out, slices.Contains(kinds, "ReplicaKey/replica-us-east-1"))
		})
	}

	// Refusals: the render fails with the function's Fatal result, which
	// names every problem.
	refusals := map[string]struct {
		reason          string
		xr, composition string
		flags           []string
		want            []string
	}{
		"AliasTaken": {
			reason:      "An alias another XR's Alias manages, as Crossplane answers the function's requirement, is refused, naming spec.aliasName and not the other claim.",
			xr:          "example/xr.yaml",
			composition: "configuration/legacy/composition.yaml",
			flags:       []string{"--required-resources=example/alias-taken/aliases.yaml"},
			want:        []string{`returned a fatal result: invalid spec: spec.aliasName: Forbidden: alias/vault-backend in eu-west-1, with provider config default, is already managed by another KmsBackend; choose another alias name`},
		},
		"Invalid": {
			reason:      "A claim with seven mistakes is refused, naming each field.",
			xr:          "example/xr-invalid.yaml",
			composition: "configuration/legacy/composition.yaml",
			want: []string{
				`returned a fatal result: invalid spec:`,
				`spec.aliasName: Invalid value: "aws/reserved": must not start with aws/`,
				`spec.deletionWindowInDays: Invalid value: 3: must be between 7 and 30`,
				`spec.rotationPeriodInDays: Forbidden: may only be set when enableKeyRotation is true`,
				`spec.adminUsers[0]: Invalid value: "arn:aws:iam::123456789012:group/admins": IAM groups cannot be principals`,
				`spec.standardUsers: Required value`,
				`spec.region: Invalid value: "europe"`,
				`spec.deletionPolicy: Unsupported value: "Keep"`,
			},
		},
		"GuardrailAllowedAccounts": {
			reason:      "A principal of an account outside the input's allowedAccountIds is refused, naming the ARN.",
			xr:          "example/guardrails/xr-foreign-account.yaml",
			composition: "example/guardrails/composition.yaml",
			want:        []string{`returned a fatal result: invalid spec: spec.standardUsers[1]: Invalid value: "arn:aws:iam::999999999999:role/partner-etl": account 999999999999 is not one the platform allows (123456789012)`},
		},
		"GuardrailMinDeletionWindow": {
			reason:      "A deletion window below the input's minDeletionWindowInDays is refused.",
			xr:          "example/guardrails/xr-short-window.yaml",
			composition: "example/guardrails/composition.yaml",
			want:        []string{`returned a fatal result: invalid spec: spec.deletionWindowInDays: Invalid value: 7: must be between 14 and 30 (the platform's minimum)`},
		},
		"InvalidInput": {
			reason:      "A mistake in the function input is the platform team's: every claim is refused, naming the input fields.",
			xr:          "example/guardrails/xr-defaults.yaml",
			composition: "example/guardrails/composition-invalid-input.yaml",
			want: []string{
				`returned a fatal result: invalid function input in the Composition:`,
				`input.guardrails.minDeletionWindowInDays: Invalid value: 3: must be between 7 and 30`,
				`input.defaults.region: Invalid value: "mars-1": must be an AWS region such as eu-west-1`,
			},
		},
	}
	for name, tc := range refusals {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := run(t, cli, append([]string{"render", tc.xr, tc.composition, fns, "--timeout=60s"}, tc.flags...)...)
			if err == nil {
				t.Fatalf("%s\ncrossplane render of %s: want a failure, got success", tc.reason, tc.xr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("%s\nwant %q in the message, got:\n%s", tc.reason, want, stderr)
				}
			}
		})
	}
}

// replicaKinds are the rendered objects of the replica examples once
// everything is observed: the XR of this kind, the Key and Alias, and a
// ReplicaKey and an Alias per replica region.
func replicaKinds(xr string) []string {
	return slices.Sorted(slices.Values([]string{
		"Alias", "Alias/alias-eu-central-1", "Alias/alias-us-east-1", "Key",
		"ReplicaKey/replica-eu-central-1", "ReplicaKey/replica-us-east-1", xr,
	}))
}

// checkReplicas checks the replica example's resources before anything is
// observed: a multi-region Key, and per region a ReplicaKey in that region
// selecting it, with the Key's policy, in the group and namespace given.
func checkReplicas(apiVersion, namespace string) func(*testing.T, map[string]*unstructured.Unstructured) {
	return func(t *testing.T, docs map[string]*unstructured.Unstructured) {
		t.Helper()
		key := docs["Key"]
		if got := nested(t, key, "spec", "forProvider", "multiRegion"); got != true {
			t.Errorf("Key multiRegion: want true, got %v", got)
		}
		for _, r := range []string{"eu-central-1", "us-east-1"} {
			rk := docs["ReplicaKey/replica-"+r]
			if rk.GetAPIVersion() != apiVersion || rk.GetNamespace() != namespace {
				t.Errorf("ReplicaKey in %s: want %s in %q, got %s in %q", r, apiVersion, namespace, rk.GetAPIVersion(), rk.GetNamespace())
			}
			if got := nested(t, rk, "spec", "forProvider", "region"); got != r {
				t.Errorf("ReplicaKey replica-%s region: got %v", r, got)
			}
			if got := nested(t, rk, "spec", "forProvider", "primaryKeyArnSelector", "matchControllerRef"); got != true {
				t.Errorf("ReplicaKey in %s primaryKeyArnSelector.matchControllerRef: want true, got %v", r, got)
			}
			if got, want := nested(t, rk, "spec", "forProvider", "policy"), nested(t, key, "spec", "forProvider", "policy"); got != want {
				t.Errorf("ReplicaKey in %s policy: want the Key's, got %v", r, got)
			}
		}
	}
}

// checkObservedReplicas checks the replica example once everything is
// observed: each alias names the key id, and the status lists both
// replicas with their key and alias ARNs.
func checkObservedReplicas(t *testing.T, docs map[string]*unstructured.Unstructured) {
	t.Helper()
	const id = "mrk-1234abcd12ab34cd56ef1234567890ab"
	var replicas []any
	for _, r := range []string{"eu-central-1", "us-east-1"} {
		a := docs["Alias/alias-"+r]
		if got := nested(t, a, "spec", "forProvider", "region"); got != r {
			t.Errorf("Alias alias-%s region: got %v", r, got)
		}
		if got := nested(t, a, "spec", "forProvider", "targetKeyId"); got != id {
			t.Errorf("Alias alias-%s targetKeyId: want %s, got %v", r, id, got)
		}
		if got := nested(t, docs["ReplicaKey/replica-"+r], "spec", "forProvider", "primaryKeyArn"); got != "arn:aws:kms:eu-west-1:123456789012:key/"+id {
			t.Errorf("ReplicaKey replica-%s primaryKeyArn: want the Key's ARN, got %v", r, got)
		}
		replicas = append(replicas, map[string]any{
			"region":   r,
			"keyArn":   "arn:aws:kms:" + r + ":123456789012:key/" + id,
			"aliasArn": "arn:aws:kms:" + r + ":123456789012:alias/vault-backend",
		})
	}
	for _, u := range docs {
		if u.GetKind() == "XKmsBackend" || u.GetKind() == "KmsBackend" {
			if got := nested(t, u, "status", "replicas"); !cmp.Equal(got, replicas) {
				t.Errorf("status.replicas: want %v, got %v", replicas, got)
			}
		}
	}
}

// observedStatus is the XR's status once the Key and Alias of the examples'
// observed.yaml exist.
var observedStatus = map[string]any{
	"kmsKeyId":              "1234abcd-12ab-34cd-56ef-1234567890ab",
	"kmsKeyArn":             "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"kmsKeyAliasName":       "alias/vault-backend",
	"kmsKeyAliasArn":        "arn:aws:kms:eu-west-1:123456789012:alias/vault-backend",
	"kmsKeyRotationEnabled": true,
	"kmsKeyDeletionWindow":  float64(30),
}

// targetsObservedKey checks that the Alias names the observed Key's id.
func targetsObservedKey(t *testing.T, docs map[string]*unstructured.Unstructured) {
	t.Helper()
	if got := nested(t, docs["Alias"], "spec", "forProvider", "targetKeyId"); got != observedStatus["kmsKeyId"] {
		t.Errorf("Alias targetKeyId: want the observed key id, got %v", got)
	}
}

// checkPolicy checks the rendered policy's statements in order.
func checkPolicy(t *testing.T, v any) {
	t.Helper()
	s, _ := v.(string)
	var doc PolicyDocument
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("Key policy is not JSON: %v\n%s", err, s)
	}
	type stmt struct{ Sid, Principals string }
	got := make([]stmt, 0, len(doc.Statement))
	for _, st := range doc.Statement {
		got = append(got, stmt{st.Sid, strings.Join(st.Principal.AWS, ",")})
	}
	want := []stmt{
		{"EnableIAMUserPermissions", "arn:aws:iam::123456789012:root"},
		{"KeyAdministrators", "arn:aws:iam::123456789012:role/platform-admin"},
		{"KeyUsers", "arn:aws:iam::123456789012:role/vault-server"},
		{"KeyUsersPersistentResourceGrants", "arn:aws:iam::123456789012:role/vault-server"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policy statements: -want, +got:\n%s", diff)
	}
}

// providerCRDs copies CRDs from the provider-aws module this function is
// built against into a directory for `crossplane beta validate`.
func providerCRDs(t *testing.T, files ...string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/upbound/provider-aws/v2").Output()
	if err != nil {
		t.Fatalf("cannot find the provider-aws module: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "package", "crds")
	dst := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// validate runs `crossplane beta validate` offline: the CLI's cache holds
// the Crossplane version's own CRDs, seeded by hack/install-crossplane.sh.
func validate(t *testing.T, cli, extensions, resources string) (string, error) {
	t.Helper()
	cache, err := filepath.Abs(filepath.Join(filepath.Dir(cli), "validate-cache"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, cli, "beta", "validate", extensions, resources, "--cache-dir="+cache)
	return stdout + stderr, err
}

// validateAgainstProviderCRDs checks the rendered Key and Alias, and the
// ReplicaKeys if there are replicas, against provider-aws' own CRD
// schemas, and checks that the check can fail.
func validateAgainstProviderCRDs(t *testing.T, cli, apiVersion, rendered string, replicas bool) {
	t.Helper()
	crds := providerCRDs(t, "kms.aws.upbound.io_keys.yaml", "kms.aws.upbound.io_aliases.yaml", "kms.aws.upbound.io_replicakeys.yaml",
		"kms.aws.m.upbound.io_keys.yaml", "kms.aws.m.upbound.io_aliases.yaml", "kms.aws.m.upbound.io_replicakeys.yaml")
	dir := t.TempDir()
	good := filepath.Join(dir, "rendered.yaml")
	if err := os.WriteFile(good, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := validate(t, cli, crds, good)
	if err != nil || !strings.Contains(out, "0 failure cases") {
		t.Fatalf("crossplane beta validate against provider CRDs: %v\n%s", err, out)
	}
	kinds := []string{"Key", "Alias"}
	if replicas {
		kinds = append(kinds, "ReplicaKey")
	}
	for _, kind := range kinds {
		if want := "[✓] " + apiVersion + ", Kind=" + kind; !strings.Contains(out, want) {
			t.Errorf("crossplane beta validate: want %q, got:\n%s", want, out)
		}
	}

	// The same output with a wrongly typed field must fail, or the check
	// above proves nothing. The Key and the ReplicaKeys have
	// deletionWindowInDays; the Aliases do not.
	bad := filepath.Join(dir, "bad.yaml")
	window := regexp.MustCompile(`deletionWindowInDays: [0-9]+`)
	broken := window.ReplaceAllString(rendered, "deletionWindowInDays: thirty")
	if broken == rendered {
		t.Fatal("the rendered Key has no deletionWindowInDays to break")
	}
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	windowed := []string{"Key"}
	if replicas {
		windowed = append(windowed, "ReplicaKey")
	}
	out, err = validate(t, cli, crds, bad)
	for _, kind := range windowed {
		if err == nil || !strings.Contains(out, "[x] schema validation error "+apiVersion+", Kind="+kind) || !strings.Contains(out, "spec.forProvider.deletionWindowInDays") {
			t.Errorf("crossplane beta validate of a broken %s: want a failure naming spec.forProvider.deletionWindowInDays, got %v\n%s", kind, err, out)
		}
	}
}

// TestIntegrationExamples checks that the integration examples are resources
// provider-aws accepts, so that a user can apply them as they are.
func TestIntegrationExamples(t *testing.T) {
	cli := crossplaneCLI(t)
	crds := providerCRDs(t, "s3.aws.upbound.io_bucketserversideencryptionconfigurations.yaml", "ec2.aws.upbound.io_ebsvolumes.yaml")
	for _, f := range []string{"s3-bucket-encryption.yaml", "ebs-volume.yaml"} {
		res, err := validate(t, cli, crds, filepath.Join("example", "integrations", f))
		if err != nil || !strings.Contains(res, "1 success cases") {
			t.Errorf("example/integrations/%s against provider-aws CRDs: %v\n%s", f, err, res)
		}
	}
}
