//go:build e2e_provider

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The replica regions of the replica scenarios; the last is removed in
// scenario 4.
var motoReplicaRegions = []string{"us-east-1", "eu-central-1"}

// withReplicas asks for a replica in each of motoReplicaRegions.
func withReplicas(spec map[string]any) {
	var regions []any
	for _, r := range motoReplicaRegions {
		regions = append(regions, r)
	}
	spec["replicaRegions"] = regions
}

// replicaKind returns the ReplicaKey kind of a flavour's group.
func replicaKind(f flavour) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: f.key.Group, Version: f.key.Version, Kind: "ReplicaKey"}
}

// aliasIn returns the one Alias composed for an app's object in a region.
func aliasIn(ctx context.Context, f flavour, ns, name, region string) (*unstructured.Unstructured, error) {
	return composedIn(ctx, f.alias, f.owned(ns, name), region)
}

// replicaIn returns the one ReplicaKey composed for an app's object in a
// region.
func replicaIn(ctx context.Context, f flavour, ns, name, region string) (*unstructured.Unstructured, error) {
	return composedIn(ctx, replicaKind(f), f.owned(ns, name), region)
}

// composedIn returns the one composed resource of a kind in a region.
func composedIn(ctx context.Context, gvk schema.GroupVersionKind, opts []client.ListOption, region string) (*unstructured.Unstructured, error) {
	l, err := composedList(ctx, gvk, opts)
	if err != nil {
		return nil, err
	}
	l = slices.DeleteFunc(l, func(a unstructured.Unstructured) bool {
		r, _, _ := unstructured.NestedString(a.Object, "spec", "forProvider", "region")
		return r != region
	})
	if len(l) != 1 {
		return nil, fmt.Errorf("want one %s in %s, got %d", gvk.Kind, region, len(l))
	}
	return &l[0], nil
}

func composedList(ctx context.Context, gvk schema.GroupVersionKind, opts []client.ListOption) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := cp.kube.List(ctx, l, opts...); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// The example claim against moto, in both flavours: it becomes Ready and
// nothing is written to KMS over three of the provider's polls, as against
// local-kms (TestExampleClaimOnProviderAWS), so that both emulators are
// seen to agree on the plain Key and Alias.
func TestExampleClaimOnMoto(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, "moto-"+f.name)
			s := newLane(t, ns, moto).story(f, ns, "vault-moto-"+f.name, secondUser)
			if !t.Run("1 Ready with the key in KMS", s.ready) || !t.Run("2 no write to KMS once Ready", s.steady) {
				return
			}
			key, alias := s.composed(t)
			deleteAndWait(t, s.app, key, alias)
		})
	}
}

// A claim (or namespaced XR) with replicas in two regions, on provider-aws'
// KMS and ReplicaKey controllers against moto, one scenario after another:
//
//  1. it becomes KeyAvailable=True; the primary is a multi-region key, each
//     replica region has a replica of it and an alias of the claim's name
//     targeting it, and status.replicas carries their ARNs;
//  2. once Ready, nothing is written to KMS, in any region, over three of
//     the provider's polls;
//  3. an edit (a user, the description, the window) reaches the policy of
//     the primary and of each replica, with one PutKeyPolicy per key;
//  4. removing a replica region schedules that replica's deletion with the
//     claim's window and deletes its alias there, and writes nothing else;
//  5. deleting the claim schedules the primary and the other replica for
//     deletion.
func TestReplicasOnMoto(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, "replicas-"+f.name)
			s := &replicaStory{story: *newLane(t, ns, moto).story(f, ns, "replicated-"+f.name, withReplicas)}
			for _, step := range []struct {
				name string
				run  func(*testing.T)
			}{
				{"1 Ready with a replica and an alias in each region", s.ready},
				{"2 no write to KMS in any region once Ready", s.steady},
				{"3 an edit reaches the primary and every replica", s.edit},
				{"4 removing a region schedules its replica's deletion", s.removeRegion},
				{"5 Delete schedules the primary and every replica", s.deleted},
			} {
				if !t.Run(step.name, step.run) {
					return
				}
			}
		})
	}
}

// replicaStory is a story whose claim has replicas.
type replicaStory struct {
	story
	regions []string // the replica regions the claim has now
}

func (s *replicaStory) ready(t *testing.T) {
	ctx := t.Context()
	s.regions = slices.Clone(motoReplicaRegions)
	s.story.ready(t)
	s.available(t)
	key, _ := s.composed(t)
	primary := s.describe(t)
	if !aws.ToBool(primary.MultiRegion) || primary.MultiRegionConfiguration == nil ||
		primary.MultiRegionConfiguration.MultiRegionKeyType != kmstypes.MultiRegionKeyTypePrimary {
		t.Fatalf("KMS key %s: want a multi-region primary key, got MultiRegion %v, %+v", s.keyID, aws.ToBool(primary.MultiRegion), primary.MultiRegionConfiguration)
	}
	var want []any
	for _, r := range s.regions {
		replica := s.replicaCheck(t, r, aws.ToString(primary.Arn))
		rk, err := replicaIn(ctx, s.f, s.ns, s.name, r)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := unstructured.NestedString(rk.Object, "status", "atProvider", "arn"); got != aws.ToString(replica.Arn) {
			t.Errorf("ReplicaKey in %s: want status.atProvider.arn %s, got %q", r, aws.ToString(replica.Arn), got)
		}
		a := s.aliasIn(t, r)
		if a == nil || a.TargetKeyID != s.keyID {
			t.Errorf("KMS alias alias/%s in %s: want it to target the replica %s, got %v", s.name, r, s.keyID, a)
			continue
		}
		want = append(want, map[string]any{"region": r, "keyArn": aws.ToString(replica.Arn), "aliasArn": a.ARN})
		// The replica, created and Ready, as provider-aws reports it.
		checkFixture(t, filepath.Join("..", "testdata", "provider-replicas", "ready", s.f.name, "replicakey-"+r+".yaml"), rk)
	}
	if got, _, _ := unstructured.NestedString(key.Object, "status", "atProvider", "arn"); got != aws.ToString(primary.Arn) {
		t.Errorf("Key: want status.atProvider.arn %s, got %q", aws.ToString(primary.Arn), got)
	}
	// The status lists the replicas by region.
	slices.SortFunc(want, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["region"].(string), b.(map[string]any)["region"].(string))
	})
	eventually(t, "status.replicas with each replica's key and alias ARN", func() error {
		s.get(t)
		got, _, _ := unstructured.NestedSlice(s.app.Object, "status", "replicas")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("status.replicas: want %v, got %v", want, got)
		}
		return nil
	})
}

// replicaCheck checks that moto has a replica of the primary in the region,
// with the primary's id, and returns its metadata.
func (s *replicaStory) replicaCheck(t *testing.T, region, primaryARN string) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := s.lane.kms(region).DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(s.keyID)})
	if err != nil {
		t.Fatalf("DescribeKey %s in %s: %v", s.keyID, region, err)
	}
	m := out.KeyMetadata
	c := m.MultiRegionConfiguration
	if c == nil || c.MultiRegionKeyType != kmstypes.MultiRegionKeyTypeReplica || c.PrimaryKey == nil || aws.ToString(c.PrimaryKey.Arn) != primaryARN {
		t.Fatalf("KMS key %s in %s: want a replica of %s, got %+v", s.keyID, region, primaryARN, c)
	}
	if m.KeyState != kmstypes.KeyStateEnabled {
		t.Errorf("KMS replica in %s: want Enabled, got %s", region, m.KeyState)
	}
	return m
}

// aliasIn returns moto's alias of the story's name in a region, or nil.
func (s *replicaStory) aliasIn(t *testing.T, region string) *aliasEntry {
	t.Helper()
	a, err := emulatorAlias(t.Context(), s.lane.kms(region), "alias/"+s.name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// policyIn returns the key policy of the story's key in a region.
func (s *replicaStory) policyIn(t *testing.T, region string) (string, error) {
	out, err := s.lane.kms(region).GetKeyPolicy(t.Context(), &kms.GetKeyPolicyInput{KeyId: aws.String(s.keyID), PolicyName: aws.String("default")})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Policy), nil
}

func (s *replicaStory) edit(t *testing.T) {
	ctx := t.Context()
	mark := s.lane.rec.mark()
	s.story.edit(t)
	eventually(t, "the edit in each replica's key policy", func() error {
		for _, r := range s.regions {
			p, err := s.policyIn(t, r)
			if err != nil {
				return err
			}
			if users := principals(p, "KeyUsers"); !slices.Contains(users, addedUser) {
				return fmt.Errorf("KeyUsers in %s are %v", r, users)
			}
		}
		return nil
	})
	// Each replica has the Key's policy, as the function composed it.
	key, _ := s.composed(t)
	want, _, _ := unstructured.NestedString(key.Object, "spec", "forProvider", "policy")
	for _, r := range s.regions {
		rk, err := replicaIn(ctx, s.f, s.ns, s.name, r)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := unstructured.NestedString(rk.Object, "spec", "forProvider", "policy"); got != want {
			t.Errorf("ReplicaKey in %s: want the Key's policy, got %s", r, got)
		}
		p, err := s.policyIn(t, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameJSON(want, p); err != nil {
			t.Errorf("KMS key policy in %s: not the Key's: %v", r, err)
		}
	}
	// A poll more, for any write still to come.
	time.Sleep(providerPoll + providerPoll/2)
	calls := s.lane.rec.sinceIn(mark)
	t.Logf("the provider's KMS writes for the edit, by region: %v", regionWrites(calls))
	for _, r := range append([]string{emulatorRegion}, s.regions...) {
		if n := count(calls, r+" PutKeyPolicy"); n != 1 {
			t.Errorf("PutKeyPolicy in %s for the edit: want 1, got %d (every write: %v)", r, n, regionWrites(calls))
		}
	}
}

// regionWrites returns the writes among calls recorded by region
// (recorder.sinceIn).
func regionWrites(calls []string) []string {
	return slices.DeleteFunc(slices.Clone(calls), func(c string) bool {
		_, op, _ := strings.Cut(c, " ")
		return len(writes([]string{op})) == 0
	})
}

func (s *replicaStory) removeRegion(t *testing.T) {
	ctx := t.Context()
	removed := s.regions[len(s.regions)-1]
	rk, err := replicaIn(ctx, s.f, s.ns, s.name, removed)
	if err != nil {
		t.Fatal(err)
	}
	alias, err := aliasIn(ctx, s.f, s.ns, s.name, removed)
	if err != nil {
		t.Fatal(err)
	}
	s.get(t)
	mark := s.lane.rec.mark()
	orig := s.app.DeepCopy()
	s.regions = s.regions[:len(s.regions)-1]
	var regions []any
	for _, r := range s.regions {
		regions = append(regions, r)
	}
	s.app.Object["spec"].(map[string]any)["replicaRegions"] = regions
	requested := time.Now()
	if err := cp.kube.Patch(ctx, s.app, client.MergeFrom(orig), fieldOwner); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ReplicaKey and Alias in "+removed+" gone", func() error {
		for _, o := range []*unstructured.Unstructured{rk, alias} {
			if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy()); err == nil {
				return fmt.Errorf("%s %s still there", o.GetKind(), o.GetName())
			}
		}
		return nil
	})
	out, err := s.lane.kms(removed).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(s.keyID)})
	if err != nil {
		t.Fatal(err)
	}
	s.checkScheduled(t, removed, out.KeyMetadata, requested)
	if a := s.aliasIn(t, removed); a != nil {
		t.Errorf("KMS alias alias/%s in %s after removing the region: want none, got %v", s.name, removed, a)
	}
	// A poll more, for any write still to come.
	time.Sleep(providerPoll + providerPoll/2)
	calls := s.lane.rec.sinceIn(mark)
	w := regionWrites(calls)
	t.Logf("the provider's KMS writes for removing %s: %v", removed, w)
	for _, c := range w {
		if c != removed+" ScheduleKeyDeletion" && c != removed+" DeleteAlias" {
			t.Errorf("KMS write %q for removing the replica region %s: want only ScheduleKeyDeletion and DeleteAlias there (every write: %v)", c, removed, w)
		}
	}
	for _, op := range []string{"ScheduleKeyDeletion", "DeleteAlias"} {
		if n := count(calls, removed+" "+op); n != 1 {
			t.Errorf("%s in %s: want 1, got %d (every write: %v)", op, removed, n, w)
		}
	}
	for _, r := range s.regions {
		s.replicaCheck(t, r, aws.ToString(s.describe(t).Arn))
	}
	s.available(t)
	eventually(t, "status.replicas without "+removed, func() error {
		s.get(t)
		got, _, _ := unstructured.NestedSlice(s.app.Object, "status", "replicas")
		if len(got) != len(s.regions) {
			return fmt.Errorf("status.replicas: want %d, got %v", len(s.regions), got)
		}
		return nil
	})
}

// checkScheduled checks that a key is pending deletion with the claim's
// edited window.
func (s *replicaStory) checkScheduled(t *testing.T, region string, m *kmstypes.KeyMetadata, requested time.Time) {
	t.Helper()
	if m.KeyState != kmstypes.KeyStatePendingDeletion && m.KeyState != kmstypes.KeyStatePendingReplicaDeletion {
		t.Errorf("KMS key %s in %s: want it pending deletion, got %s", s.keyID, region, m.KeyState)
	}
	if m.KeyState == kmstypes.KeyStatePendingReplicaDeletion {
		return // AWS sets the primary's deletion date once its replicas are gone.
	}
	want := requested.Add(editedWindow * 24 * time.Hour)
	if m.DeletionDate == nil || m.DeletionDate.Before(want.Add(-time.Hour)) || m.DeletionDate.After(want.Add(time.Hour)) {
		t.Errorf("KMS key %s in %s: want a deletion date %d days from %s, got %v", s.keyID, region, editedWindow, requested.Format(time.RFC3339), m.DeletionDate)
	}
}

func (s *replicaStory) deleted(t *testing.T) {
	ctx := t.Context()
	key, alias := s.composed(t)
	composed := []*unstructured.Unstructured{key, alias}
	for _, r := range s.regions {
		rk, err := replicaIn(ctx, s.f, s.ns, s.name, r)
		if err != nil {
			t.Fatal(err)
		}
		a, err := aliasIn(ctx, s.f, s.ns, s.name, r)
		if err != nil {
			t.Fatal(err)
		}
		composed = append(composed, rk, a)
	}
	mark := s.lane.rec.mark()
	requested := time.Now()
	deleteAndWait(t, s.app, composed...)
	t.Logf("the provider's KMS writes for deleting the claim: %v", regionWrites(s.lane.rec.sinceIn(mark)))
	s.checkScheduled(t, emulatorRegion, s.describe(t), requested)
	for _, r := range s.regions {
		out, err := s.lane.kms(r).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(s.keyID)})
		if err != nil {
			t.Fatal(err)
		}
		s.checkScheduled(t, r, out.KeyMetadata, requested)
	}
	for _, r := range append([]string{emulatorRegion}, s.regions...) {
		if a := s.aliasIn(t, r); a != nil {
			t.Errorf("KMS alias alias/%s in %s after deleting the claim: want none, got %v", s.name, r, a)
		}
	}
}

// A claim (or namespaced XR) with a replica, on a provider config whose
// endpoint refuses connections: the primary key's create fails, and the
// ReplicaKey waits for the primary's ARN, as provider-aws reports it. The
// ReplicaKey is recorded in testdata/provider-replicas/unreachable/
// (go test -update rewrites it).
func TestReplicaFailureIsRecorded(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := namespace(t, "replica-unreachable-"+f.name)
			app := f.app(t, ns, "replica-unreachable", func(spec map[string]any) {
				spec["providerConfigName"] = configUnreachable
				spec["replicaRegions"] = []any{motoReplicaRegions[0]}
			})
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			var replica *unstructured.Unstructured
			eventually(t, "the ReplicaKey waiting for the primary's ARN", func() error {
				var err error
				if replica, err = replicaIn(ctx, f, ns, app.GetName(), motoReplicaRegions[0]); err != nil {
					return err
				}
				if st, reason, msg := condition(replica, "Synced"); st != "False" || !strings.Contains(msg, "referenced field was empty") {
					return fmt.Errorf("ReplicaKey Synced=%q (%s) %s", st, reason, msg)
				}
				return nil
			})
			if *update {
				time.Sleep(settle)
			}
			checkFixture(t, filepath.Join("..", "testdata", "provider-replicas", "unreachable", f.name, "replicakey-"+motoReplicaRegions[0]+".yaml"), replica)
		})
	}
}
