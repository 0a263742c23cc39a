//go:build e2e && !e2e_provider

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

const (
	// The finalizer every managed resource reconciler adds, so that it can
	// delete (or keep) the external resource before the object goes.
	managedFinalizer = "finalizer.managedresource.crossplane.io"
	account          = "123456789012"
)

// The ReplicaKey kinds of both flavours, which only the simulated provider
// plays: the emulator the real provider runs against cannot replicate keys.
var replicaKinds = []schema.GroupVersionKind{
	{Group: "kms.aws.upbound.io", Version: "v1beta1", Kind: "ReplicaKey"},
	{Group: "kms.aws.m.upbound.io", Version: "v1beta1", Kind: "ReplicaKey"},
}

// awsKey is a KMS key as the provider left it in the pretend AWS.
type awsKey struct {
	ID     string
	Region string
	// State is Enabled, or PendingDeletion once the provider deleted it.
	State string
	// Window is the deletion window the key was scheduled for deletion with.
	Window int64
}

// provider plays provider-aws for Keys, ReplicaKeys and Aliases of both
// groups, with AWS as a map: it adds the managed resource finalizer,
// "creates" each Key (an id, an ARN) and reports it in the external-name
// annotation and status.atProvider with Ready and Synced, resolves each
// ReplicaKey's primary key and each Alias's target key from its controller
// reference, and on deletion schedules a key's or replica's deletion or
// leaves it in AWS, as the resource's deletion and management policies say.
type provider struct {
	kube   client.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	keys map[types.UID]*awsKey // by the Key's or ReplicaKey's UID
}

// sim is the provider the simulated suite's scenarios read AWS from.
var sim *provider

// startProvider starts the simulated provider.
func (c *controlPlane) startProvider(_ context.Context) error {
	sim = startSimulated(c.kube)
	c.stops = append(c.stops, sim.stop)
	return nil
}

func startSimulated(kube client.Client) *provider {
	ctx, cancel := context.WithCancel(context.Background())
	p := &provider{kube: kube, cancel: cancel, done: make(chan struct{}), keys: map[types.UID]*awsKey{}}
	go func() {
		defer close(p.done)
		for {
			// An error (a conflict, say) is retried on the next pass, as a
			// controller would.
			_ = p.reconcile(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *provider) stop() {
	p.cancel()
	<-p.done
}

// key returns the pretend AWS key behind a Key or ReplicaKey, by its UID.
func (p *provider) key(uid types.UID) (awsKey, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[uid]
	if !ok {
		return awsKey{}, false
	}
	return *k, true
}

func (p *provider) reconcile(ctx context.Context) error {
	var keys []unstructured.Unstructured
	for _, gvk := range keyKinds {
		l, err := p.list(ctx, gvk)
		if err != nil {
			return err
		}
		for i := range l {
			if err := p.reconcileKey(ctx, &l[i]); err != nil {
				return err
			}
		}
		keys = append(keys, l...)
	}
	for _, gvk := range replicaKinds {
		l, err := p.list(ctx, gvk)
		if err != nil {
			return err
		}
		for i := range l {
			if err := p.reconcileReplica(ctx, &l[i], keys); err != nil {
				return err
			}
		}
	}
	for _, gvk := range aliasKinds {
		l, err := p.list(ctx, gvk)
		if err != nil {
			return err
		}
		for i := range l {
			if err := p.reconcileAlias(ctx, &l[i], keys); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *provider) list(ctx context.Context, gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return l.Items, p.kube.List(ctx, l)
}

func (p *provider) reconcileKey(ctx context.Context, k *unstructured.Unstructured) error {
	p.mu.Lock()
	aws, exists := p.keys[k.GetUID()]
	p.mu.Unlock()

	if done, err := p.finalize(ctx, k, aws); done {
		return err
	}
	if pc, _, _ := unstructured.NestedString(k.Object, "spec", "providerConfigRef", "name"); !exists && pc == deniedProviderConfig {
		return p.fail(ctx, k, deniedMessage())
	}
	multiRegion, _, _ := unstructured.NestedBool(k.Object, "spec", "forProvider", "multiRegion")
	if !exists {
		// A KMS key id is a UUID, as a Kubernetes UID is; a multi-region
		// key's is mrk- and 32 hexadecimal digits.
		region, _, _ := unstructured.NestedString(k.Object, "spec", "forProvider", "region")
		id := string(k.GetUID())
		if multiRegion {
			id = "mrk-" + strings.ReplaceAll(id, "-", "")
		}
		aws = &awsKey{ID: id, Region: region, State: "Enabled"}
		p.mu.Lock()
		p.keys[k.GetUID()] = aws
		p.mu.Unlock()
	}
	if k.GetAnnotations()[externalName] != aws.ID {
		return p.patch(ctx, k, func() { setAnnotation(k, externalName, aws.ID) })
	}
	fp, _, _ := unstructured.NestedMap(k.Object, "spec", "forProvider")
	return p.report(ctx, k, map[string]any{
		"id":                   aws.ID,
		"keyId":                aws.ID,
		"arn":                  "arn:aws:kms:" + aws.Region + ":" + account + ":key/" + aws.ID,
		"enableKeyRotation":    fp["enableKeyRotation"],
		"deletionWindowInDays": fp["deletionWindowInDays"],
		"multiRegion":          multiRegion,
		"policy":               fp["policy"],
	})
}

// finalize does what a managed resource reconciler does first: once the
// resource is deleted, it schedules the deletion of the AWS key behind it
// (nil when there is none) with the resource's window, or keeps it, and
// removes the finalizer; before that, it adds the finalizer. It reports
// whether it did either.
func (p *provider) finalize(ctx context.Context, o *unstructured.Unstructured, aws *awsKey) (bool, error) {
	if o.GetDeletionTimestamp() != nil {
		if aws != nil && deletes(o) {
			// JSON numbers decode as int64 when they are whole.
			window, _, _ := unstructured.NestedInt64(o.Object, "spec", "forProvider", "deletionWindowInDays")
			p.mu.Lock()
			aws.State, aws.Window = "PendingDeletion", window
			p.mu.Unlock()
		}
		return true, p.patch(ctx, o, func() { controllerutil.RemoveFinalizer(o, managedFinalizer) })
	}
	if !controllerutil.ContainsFinalizer(o, managedFinalizer) {
		return true, p.patch(ctx, o, func() { controllerutil.AddFinalizer(o, managedFinalizer) })
	}
	return false, nil
}

// reconcileReplica resolves a ReplicaKey's primary key ARN, then "replicates"
// the primary into the replica's region: the same key id, a regional ARN.
func (p *provider) reconcileReplica(ctx context.Context, r *unstructured.Unstructured, keys []unstructured.Unstructured) error {
	p.mu.Lock()
	aws, exists := p.keys[r.GetUID()]
	p.mu.Unlock()

	if done, err := p.finalize(ctx, r, aws); done {
		return err
	}
	primary, _, _ := unstructured.NestedString(r.Object, "spec", "forProvider", "primaryKeyArn")
	if primary == "" {
		if arn := p.resolve(r, "primaryKeyArnSelector", keys, "status", "atProvider", "arn"); arn != "" {
			return p.patch(ctx, r, func() { _ = unstructured.SetNestedField(r.Object, arn, "spec", "forProvider", "primaryKeyArn") })
		}
		return nil // Not resolvable yet: the provider would wait too.
	}
	if !exists {
		region, _, _ := unstructured.NestedString(r.Object, "spec", "forProvider", "region")
		aws = &awsKey{ID: primary[strings.LastIndex(primary, "/")+1:], Region: region, State: "Enabled"}
		p.mu.Lock()
		p.keys[r.GetUID()] = aws
		p.mu.Unlock()
	}
	if r.GetAnnotations()[externalName] != aws.ID {
		return p.patch(ctx, r, func() { setAnnotation(r, externalName, aws.ID) })
	}
	return p.report(ctx, r, map[string]any{
		"id":    aws.ID,
		"keyId": aws.ID,
		"arn":   "arn:aws:kms:" + aws.Region + ":" + account + ":key/" + aws.ID,
	})
}

// resolve is the reference resolver: the value at path of the Key of the
// same group and namespace with the same controller as o, if o selects by
// controller reference in its selector field; empty until there is one.
func (p *provider) resolve(o *unstructured.Unstructured, selector string, keys []unstructured.Unstructured, path ...string) string {
	byController, _, _ := unstructured.NestedBool(o.Object, "spec", "forProvider", selector, "matchControllerRef")
	owner := metav1.GetControllerOf(o)
	if !byController || owner == nil {
		return ""
	}
	for i := range keys {
		k := &keys[i]
		if controlledBy(k, owner.UID) && k.GroupVersionKind().Group == o.GroupVersionKind().Group && k.GetNamespace() == o.GetNamespace() {
			v, _, _ := unstructured.NestedString(k.Object, path...)
			return v
		}
	}
	return ""
}

func (p *provider) reconcileAlias(ctx context.Context, a *unstructured.Unstructured, keys []unstructured.Unstructured) error {
	if done, err := p.finalize(ctx, a, nil); done {
		return err
	}
	target, _, _ := unstructured.NestedString(a.Object, "spec", "forProvider", "targetKeyId")
	if target == "" {
		if target = p.resolve(a, "targetKeyIdSelector", keys, "metadata", "annotations", externalName); target == "" {
			return nil // Not resolvable yet: the provider would wait too.
		}
		return p.patch(ctx, a, func() { _ = unstructured.SetNestedField(a.Object, target, "spec", "forProvider", "targetKeyId") })
	}
	name := "alias/" + a.GetAnnotations()[externalName]
	region, _, _ := unstructured.NestedString(a.Object, "spec", "forProvider", "region")
	return p.report(ctx, a, map[string]any{
		"id":          name,
		"arn":         "arn:aws:kms:" + region + ":" + account + ":" + name,
		"targetKeyId": target,
	})
}

// report writes status.atProvider and the Ready and Synced conditions, if
// they are not there already.
func (p *provider) report(ctx context.Context, o *unstructured.Unstructured, atProvider map[string]any) error {
	for k, v := range atProvider {
		if v == nil {
			delete(atProvider, k)
		}
	}
	cur, _, _ := unstructured.NestedMap(o.Object, "status", "atProvider")
	if st, _, _ := condition(o, "Ready"); st == "True" && equality.Semantic.DeepEqual(cur, atProvider) {
		return nil
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	status := map[string]any{
		"atProvider": atProvider,
		"conditions": []any{
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now},
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
		},
	}
	patch := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	b, err := patch.MarshalJSON()
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(p.kube.Status().Patch(ctx, o, client.RawPatch(types.MergePatchType, b), fieldOwner))
}

// deniedProviderConfig names the provider config whose credentials may not
// create keys: the provider reports each Key using it as failed.
const deniedProviderConfig = "denied"

// deniedMessage is the error provider-aws reports when its credentials may
// not create a key, written as provider-aws v2.5.0 writes its errors (see
// testdata/provider-failures), with a request id that changes every few
// seconds, as AWS's changes on every call.
func deniedMessage() string {
	id := fmt.Sprintf("%08x-1f2e-4d3c-8b7a-69584736251a", time.Now().Unix()/3)
	return "create failed: async create failed: failed to create the resource: [{0 creating KMS Key: operation error KMS: CreateKey, " +
		"https response error StatusCode: 400, RequestID: " + id + ", AccessDeniedException: User: " +
		"arn:aws:sts::" + account + ":assumed-role/crossplane-provider/session is not authorized to perform: kms:CreateKey " +
		"because no identity-based policy allows the kms:CreateKey action  []}]"
}

// fail writes the conditions upjet writes for a failed create, if the
// message is not there already.
func (p *provider) fail(ctx context.Context, o *unstructured.Unstructured, msg string) error {
	if _, _, cur := condition(o, "Synced"); cur == msg {
		return nil
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	status := map[string]any{
		"conditions": []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "Creating", "lastTransitionTime": now},
			map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": msg, "lastTransitionTime": now},
			map[string]any{"type": "LastAsyncOperation", "status": "False", "reason": "AsyncCreateFailure",
				"message": strings.TrimPrefix(msg, "create failed: "), "lastTransitionTime": now},
		},
	}
	patch := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	b, err := patch.MarshalJSON()
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(p.kube.Status().Patch(ctx, o, client.RawPatch(types.MergePatchType, b), fieldOwner))
}

// deletes reports whether deleting the managed resource deletes the
// external resource: its deletion policy is not Orphan, and its management
// policies allow deletion.
func deletes(mr *unstructured.Unstructured) bool {
	if dp, _, _ := unstructured.NestedString(mr.Object, "spec", "deletionPolicy"); dp == "Orphan" {
		return false
	}
	mp, ok, _ := unstructured.NestedStringSlice(mr.Object, "spec", "managementPolicies")
	return !ok || slices.Contains(mp, "*") || slices.Contains(mp, "Delete")
}

func controlledBy(o metav1.Object, uid types.UID) bool {
	c := metav1.GetControllerOf(o)
	return c != nil && c.UID == uid
}

func setAnnotation(o metav1.Object, k, v string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	o.SetAnnotations(a)
}

// patch changes an object's metadata or spec with a merge patch.
func (p *provider) patch(ctx context.Context, o *unstructured.Unstructured, change func()) error {
	orig := o.DeepCopy()
	change()
	return client.IgnoreNotFound(p.kube.Patch(ctx, o, client.MergeFrom(orig), fieldOwner))
}
