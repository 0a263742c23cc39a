package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

func TestKeyAvailability(t *testing.T) {
	ok := Conditions{conditionReady: {Status: "True"}, conditionSynced: {Status: "True"}}
	cases := map[string]struct {
		reason   string
		o        Observed
		replicas []string
		want     Availability
	}{
		"ReplicaWaitedFor": {
			reason:   "A key with replicas is available only once each replica and its alias are.",
			o:        Observed{Key: &ObservedKey{Conditions: ok}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}}},
			replicas: []string{"us-east-1"},
			want:     Availability{Reason: reasonCreating, Message: "Waiting for the replica in us-east-1; its alias waits for it"},
		},
		"ReplicaAliasWaitedFor": {
			reason: "A replica's alias is waited for once the replica is available.",
			o: Observed{
				Key:      &ObservedKey{Conditions: ok},
				Replicas: map[string]*ObservedReplica{"eu-central-1": {Conditions: ok}, "us-east-1": {Conditions: ok}},
				Aliases:  map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}, "eu-central-1": {Conditions: ok}},
			},
			replicas: []string{"eu-central-1", "us-east-1"},
			want:     Availability{Reason: reasonCreating, Message: "Waiting for the alias in us-east-1"},
		},
		"ReplicasAvailable": {
			reason: "With every replica and alias Ready and Synced the key is available.",
			o: Observed{
				Key:      &ObservedKey{Conditions: ok},
				Replicas: map[string]*ObservedReplica{"us-east-1": {Conditions: ok}}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}, "us-east-1": {Conditions: ok}},
			},
			replicas: []string{"us-east-1"},
			want:     Availability{Available: true, Reason: reasonAvailable},
		},
		"ReplicaAliasFailed": {
			reason: "A replica's alias the provider failed on is a provider error naming its region.",
			o: Observed{
				Key:      &ObservedKey{Conditions: ok},
				Replicas: map[string]*ObservedReplica{"us-east-1": {Conditions: ok}},
				Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}, "us-east-1": {Conditions: Conditions{
					conditionSynced: {Status: "False", Reason: "ReconcileError", Message: "create failed: NotFoundException: key does not exist"},
				}}},
			},
			replicas: []string{"us-east-1"},
			want:     Availability{Reason: reasonProviderError, Message: "alias us-east-1: create failed: NotFoundException: key does not exist"},
		},
		"RemovedReplicaIgnored": {
			reason: "A replica of a region the claim no longer names does not count, even failing.",
			o: Observed{
				Key: &ObservedKey{Conditions: ok}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}},
				Replicas: map[string]*ObservedReplica{"us-east-1": {Conditions: Conditions{conditionSynced: {Status: "False", Message: "delete failed"}}}},
			},
			want: Availability{Available: true, Reason: reasonAvailable},
		},
		"NothingObserved": {
			reason: "Before the provider reports anything, the key is waited for.",
			want:   Availability{Reason: reasonCreating, Message: "Waiting for the key; the alias waits for the key"},
		},
		"BothAvailable": {
			reason: "A Key and an Alias both Ready and Synced make the key available.",
			o:      Observed{Key: &ObservedKey{Conditions: ok}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}}},
			want:   Availability{Available: true, Reason: reasonAvailable},
		},
		"ReadyButNotSynced": {
			reason: "Ready without Synced is not yet available: the provider has not confirmed the last change.",
			o: Observed{
				Key:     &ObservedKey{Conditions: Conditions{conditionReady: {Status: "True"}}},
				Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}},
			},
			want: Availability{Reason: reasonCreating, Message: "Waiting for the key"},
		},
		"AliasWaitsForKeyReference": {
			reason: "An Alias whose reference to the Key cannot be resolved yet is waiting, not failing.",
			o: Observed{Key: &ObservedKey{Conditions: ok}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: Conditions{conditionSynced: {
				Status: "False", Reason: "ReconcileError",
				Message: "cannot resolve references: mg.Spec.ForProvider.TargetKeyID: referenced field was empty (referenced resource may not yet be ready)",
			}}}}},
			want: Availability{Reason: reasonCreating, Message: "Waiting for the alias"},
		},
		"KeyNotSynced": {
			reason: "A Key whose Synced is False with an error is a provider error naming the key.",
			o: Observed{Key: &ObservedKey{Conditions: Conditions{
				conditionReady:  {Status: "True"},
				conditionSynced: {Status: "False", Reason: "ReconcileError", Message: "update failed: AccessDeniedException: not authorized"},
			}}},
			want: Availability{Reason: reasonProviderError, Message: "key: update failed: AccessDeniedException: not authorized"},
		},
		"AliasAsyncFailed": {
			reason: "An Alias whose LastAsyncOperation is False, not yet Synced, is a provider error naming the alias.",
			o: Observed{Key: &ObservedKey{Conditions: ok}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: Conditions{
				conditionLastAsync: {Status: "False", Reason: "AsyncCreateFailure", Message: "async create failed: AlreadyExistsException"},
			}}}},
			want: Availability{Reason: reasonProviderError, Message: "alias: async create failed: AlreadyExistsException"},
		},
		"StaleAsyncFailureOnceSynced": {
			reason: "A LastAsyncOperation left False by an earlier attempt does not count once the resource is Synced.",
			o: Observed{Key: &ObservedKey{Conditions: Conditions{
				conditionReady:     {Status: "True"},
				conditionSynced:    {Status: "True"},
				conditionLastAsync: {Status: "False", Message: "async update failed"},
			}}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Conditions: ok}}},
			want: Availability{Available: true, Reason: reasonAvailable},
		},
		"Paused": {
			reason: "A resource whose reconciliation is paused has not failed.",
			o: Observed{Key: &ObservedKey{Conditions: Conditions{
				conditionSynced: {Status: "False", Reason: reasonReconcilePaused, Message: "Reconciliation is paused"},
			}}},
			want: Availability{Reason: reasonCreating, Message: "Waiting for the key; the alias waits for the key"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.o.Region = "eu-west-1"
			if diff := cmp.Diff(tc.want, KeyAvailability(tc.o, append([]string{"eu-west-1"}, tc.replicas...), "vault-backend", "", Adoptions{})); diff != "" {
				t.Errorf("%s\nKeyAvailability(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStableMessage(t *testing.T) {
	cases := map[string]struct {
		reason string
		msg    string
		want   string
	}{
		"UpjetDiagnostics": {
			reason: "Terraform's diagnostics list, as upjet prints it, is unwrapped, and an empty request id dropped.",
			msg:    `async create failed: failed to create the resource: [{0 creating KMS Key: operation error KMS: CreateKey, https response error StatusCode: 0, RequestID: , request send failed  []}]`,
			want:   `async create failed: failed to create the resource: creating KMS Key: operation error KMS: CreateKey, https response error StatusCode: 0, request send failed`,
		},
		"RequestIDAndTime": {
			reason: "The request id and times, new on every attempt, are dropped.",
			msg:    "update failed: operation error KMS: PutKeyPolicy, https response error StatusCode: 400, RequestID: 5c0e2f16-9d3b-4a7e-8f51-0c2d1e3b4a59, MalformedPolicyDocumentException: Policy contains a statement with one or more invalid principals. at 2026-12-01T03:22:56.123Z",
			want:   "update failed: operation error KMS: PutKeyPolicy, https response error StatusCode: 400, MalformedPolicyDocumentException: Policy contains a statement with one or more invalid principals. at",
		},
		"Lines": {
			reason: "Line breaks and runs of spaces become one space.",
			msg:    "a\n\n  b\tc ",
			want:   "a b c",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := stableMessage(tc.msg); got != tc.want {
				t.Errorf("%s\nstableMessage(...):\n got %q\nwant %q", tc.reason, got, tc.want)
			}
		})
	}
	t.Run("Bounded", func(t *testing.T) {
		got := stableMessage(strings.Repeat("é", 5000))
		if n := len([]rune(got)); n != maxAvailabilityMessage || !strings.HasSuffix(got, "…") {
			t.Errorf("a long message: want %d characters ending in …, got %d", maxAvailabilityMessage, n)
		}
	})
}

// failureFixtures are the objects provider-aws v2.5.0 and Crossplane wrote
// when a claim's provider config pointed at an endpoint that refuses
// connections, recorded by make e2e-provider.
var failureFixtures = map[string]string{
	"legacy":     filepath.Join("testdata", "provider-failures", "unreachable", "legacy"),
	"namespaced": filepath.Join("testdata", "provider-failures", "unreachable", "namespaced"),
}

// loadStruct reads a YAML object from a file.
func loadStruct(t *testing.T, path string) *structpb.Struct {
	t.Helper()
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(j, s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// failureRequest is the function's request for a recorded failure: the XR,
// its Key and Alias as recorded, and Crossplane's answer listing the XR's
// own Alias. The XR's conditions are those of the reconcile before the
// failure was reported.
func failureRequest(t *testing.T, dir string) *fnv1.RunFunctionRequest {
	t.Helper()
	xr := loadStruct(t, filepath.Join(dir, "xr.yaml"))
	delete(xr.GetFields(), "status")
	alias := loadStruct(t, filepath.Join(dir, "alias.yaml"))
	r := crossplaneV2(&fnv1.RunFunctionRequest{Observed: &fnv1.State{
		Composite: &fnv1.Resource{Resource: xr},
		Resources: map[string]*fnv1.Resource{
			keyName:   {Resource: loadStruct(t, filepath.Join(dir, "key.yaml"))},
			aliasName: {Resource: alias},
		},
	}})
	r.RequiredResources[aliasesRequirement].Items = []*fnv1.Resource{{Resource: alias}}
	return r
}

func TestProviderFailures(t *testing.T) {
	for flavour, dir := range failureFixtures {
		t.Run(flavour, func(t *testing.T) {
			f := &Function{log: logging.NewNopLogger()}
			first, err := f.RunFunction(context.Background(), failureRequest(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			// The golden file shows the condition and the warning that
			// carry the provider's words to the claim.
			golden(t, filepath.Join("testdata", "responses", "ProviderFailure"+strings.ToUpper(flavour[:1])+flavour[1:]+".json"), first)

			// The next reconcile of the same failure: the XR carries the
			// condition the first set. The condition must not change, and
			// the warning, already on record, is not repeated.
			cond := responseCondition(first, conditionKeyAvailable)
			if cond.GetReason() != reasonProviderError || !strings.HasPrefix(cond.GetMessage(), "key: create failed: ") {
				t.Fatalf("want KeyAvailable=False, reason ProviderError, with the Key's error, got %v", cond)
			}
			again := failureRequest(t, dir)
			setXRCondition(t, again, cond)
			second, err := f.RunFunction(context.Background(), again)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cond, responseCondition(second, conditionKeyAvailable), protocmp.Transform()); diff != "" {
				t.Errorf("the condition changed on the second reconcile of one failure (-first, +second):\n%s", diff)
			}
			for _, r := range second.GetResults() {
				if r.GetReason() == reasonProviderError {
					t.Errorf("the second reconcile of one failure repeats its warning: %v", r)
				}
			}

			// The Key and the Alias recover: the condition turns True. (The
			// Alias, observed only when the failure was recorded, has since
			// been reported missing and created: it records Create, with
			// full management.)
			recovered := failureRequest(t, dir)
			setXRCondition(t, recovered, cond)
			alias := recovered.GetObserved().GetResources()[aliasName].GetResource().GetFields()
			alias["metadata"].GetStructValue().GetFields()["annotations"].GetStructValue().GetFields()[adoptionAnnotation] = structpb.NewStringValue(string(adoptionCreate))
			alias["spec"].GetStructValue().GetFields()["managementPolicies"] = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("*")}})
			for _, r := range recovered.GetObserved().GetResources() {
				st := r.GetResource().GetFields()["status"].GetStructValue()
				st.Fields["conditions"] = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
					conditionValue("Ready", "True", "Available", ""),
					conditionValue("Synced", "True", "ReconcileSuccess", ""),
				}})
			}
			third, err := f.RunFunction(context.Background(), recovered)
			if err != nil {
				t.Fatal(err)
			}
			if c := responseCondition(third, conditionKeyAvailable); c.GetStatus() != fnv1.Status_STATUS_CONDITION_TRUE || c.GetReason() != reasonAvailable {
				t.Errorf("once the Key and Alias recover, want KeyAvailable=True, reason Available, got %v", c)
			}
		})
	}
}

func responseCondition(rsp *fnv1.RunFunctionResponse, t string) *fnv1.Condition {
	for _, c := range rsp.GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

func conditionValue(t, status, reason, msg string) *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		"type": structpb.NewStringValue(t), "status": structpb.NewStringValue(status),
		"reason": structpb.NewStringValue(reason), "message": structpb.NewStringValue(msg),
	}})
}

// setXRCondition puts a condition the function returned on the observed
// XR, as Crossplane does.
func setXRCondition(t *testing.T, r *fnv1.RunFunctionRequest, c *fnv1.Condition) {
	t.Helper()
	status := "False"
	if c.GetStatus() == fnv1.Status_STATUS_CONDITION_TRUE {
		status = "True"
	}
	xr := proto.Clone(r.GetObserved().GetComposite().GetResource()).(*structpb.Struct)
	xr.Fields["status"] = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		"conditions": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
			conditionValue(c.GetType(), status, c.GetReason(), c.GetMessage()),
		}}),
	}})
	r.Observed.Composite.Resource = xr
}
