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
	"k8s.io/apimachinery/pkg/util/uuid"
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

// awsKey is a KMS key in the pretend AWS.
type awsKey struct {
	ID     string
	Region string
	// State is Enabled, or PendingDeletion once it is scheduled for
	// deletion.
	State string
	// Window is the deletion window the key was scheduled for deletion with.
	Window int64
	// What DescribeKey, GetKeyPolicy and GetKeyRotationStatus answer.
	MultiRegion bool
	KeySpec     string
	KeyUsage    string
	Policy      string
	Rotation    bool
}

// place is where a key or an alias is in the pretend AWS: its region, and
// its id or its name (alias/...). A replica has its primary's id in
// another region.
type place struct {
	region, name string
}

// provider plays provider-aws for Keys, ReplicaKeys and Aliases of both
// groups, with AWS as maps, as crossplane-runtime's managed reconciler and
// provider-aws do: it adds the managed resource finalizer, resolves each
// ReplicaKey's primary key and each Alias's target key from its controller
// reference, observes the AWS resource the external-name annotation names,
// and then does what the resource's management policies allow: reports
// one that is missing, creates it (a Key's id goes to its external name),
// updates it to the spec, and reports it in status.atProvider with Ready
// and Synced; on deletion it schedules a key's or replica's deletion, or
// deletes an alias, or leaves it in AWS, as the resource's deletion and
// management policies say.
type provider struct {
	kube client.Client
	// reader lists the managed resources: the API server, or a cache of
	// it, which a real provider's informers are.
	reader client.Reader
	// every is the time between passes.
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards AWS: the provider holds it for a whole pass, so that a
	// scenario seeds or reads AWS between passes.
	mu      sync.Mutex
	keys    map[place]*awsKey
	aliases map[place]string // the target key id, by region and alias name
	// named is the AWS key each Key or ReplicaKey names or made, by its
	// UID; kept after the resource is gone, for the scenarios to read.
	named map[types.UID]place
	// passes counts the passes that went over every managed resource.
	passes int
	// writes counts the provider's writes to the API server.
	writes int
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
	return startSimulatedFrom(kube, kube, 200*time.Millisecond)
}

// startSimulatedFrom starts a simulated provider that lists from reader
// and makes a pass every so often.
func startSimulatedFrom(kube client.Client, reader client.Reader, every time.Duration) *provider {
	ctx, cancel := context.WithCancel(context.Background())
	p := &provider{
		kube: kube, reader: reader, every: every, cancel: cancel, done: make(chan struct{}),
		keys: map[place]*awsKey{}, aliases: map[place]string{}, named: map[types.UID]place{},
	}
	go func() {
		defer close(p.done)
		for {
			// An error (a conflict, say) is retried on the next pass, as a
			// controller would.
			p.mu.Lock()
			if err := p.reconcile(ctx); err == nil {
				p.passes++
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(p.every):
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
	k, ok := p.keys[p.named[uid]]
	if !ok {
		return awsKey{}, false
	}
	return *k, true
}

// seedKey makes a key in the pretend AWS outside the cluster, as Terraform
// would have: enabled, symmetric, for encryption, single-region, with the
// default key policy. It returns the key.
func (p *provider) seedKey(region string) awsKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := newKey(string(uuid.NewUUID()), region, false)
	k.Policy = `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
	p.keys[place{region, k.ID}] = k
	return *k
}

// seedAlias makes alias/<name> in the pretend AWS outside the cluster,
// targeting the key of that id, as Terraform would have.
func (p *provider) seedAlias(region, name, keyID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aliases[place{region, "alias/" + name}] = keyID
}

// keyIn returns the pretend AWS key of that id in the region.
func (p *provider) keyIn(region, id string) (awsKey, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[place{region, id}]
	if !ok {
		return awsKey{}, false
	}
	return *k, true
}

// alias returns the id of the key alias/<name> targets in the example's
// region, where the scenarios that read aliases make them, and whether the
// pretend AWS has that alias.
func (p *provider) alias(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.aliases[place{exampleRegion, "alias/" + name}]
	return id, ok
}

// keyCount returns how many keys the pretend AWS holds, in every region
// and state.
func (p *provider) keyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// passCount returns how many passes over every managed resource the
// provider has made.
func (p *provider) passCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passes
}

func newKey(id, region string, multiRegion bool) *awsKey {
	return &awsKey{ID: id, Region: region, State: "Enabled", MultiRegion: multiRegion, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT"}
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
	return l.Items, p.reader.List(ctx, l)
}

// keyOf returns the AWS key a Key or ReplicaKey names: the key of its
// external name in its region, or, until the provider has written that,
// the key it made; nil when there is none.
func (p *provider) keyOf(o *unstructured.Unstructured) *awsKey {
	region, _, _ := unstructured.NestedString(o.Object, "spec", "forProvider", "region")
	if id := o.GetAnnotations()[externalName]; id != "" {
		p.named[o.GetUID()] = place{region, id}
	}
	pl, ok := p.named[o.GetUID()]
	if !ok {
		return nil
	}
	return p.keys[pl]
}

// exists reports whether provider-aws finds a key: a key pending deletion
// reads as missing (the Terraform provider's findKeyByID).
func exists(k *awsKey) bool { return k != nil && k.State != "PendingDeletion" }

// scheduleDeletion is what deleting a Key or ReplicaKey does to its AWS
// key: ScheduleKeyDeletion with the resource's window.
func scheduleDeletion(o *unstructured.Unstructured, k *awsKey) func() {
	return func() {
		if exists(k) {
			// JSON numbers decode as int64 when they are whole.
			k.Window, _, _ = unstructured.NestedInt64(o.Object, "spec", "forProvider", "deletionWindowInDays")
			k.State = "PendingDeletion"
		}
	}
}

func (p *provider) reconcileKey(ctx context.Context, k *unstructured.Unstructured) error {
	aws := p.keyOf(k)
	if done, err := p.finalize(ctx, k, scheduleDeletion(k, aws)); done {
		return err
	}
	fp, _, _ := unstructured.NestedMap(k.Object, "spec", "forProvider")
	multiRegion, _, _ := unstructured.NestedBool(fp, "multiRegion")
	created := false
	if !exists(aws) {
		if !allows(k, "Create") {
			return p.missing(ctx, k)
		}
		if pc, _, _ := unstructured.NestedString(k.Object, "spec", "providerConfigRef", "name"); pc == deniedProviderConfig {
			return p.fail(ctx, k, deniedMessage())
		}
		// A KMS key id is a UUID; a multi-region key's is mrk- and 32
		// hexadecimal digits.
		region, _, _ := unstructured.NestedString(fp, "region")
		id := string(uuid.NewUUID())
		if multiRegion {
			id = "mrk-" + strings.ReplaceAll(id, "-", "")
		}
		aws, created = newKey(id, region, multiRegion), true
		p.keys[place{region, id}] = aws
		p.named[k.GetUID()] = place{region, id}
	}
	if created || allows(k, "Update") {
		// CreateKey, or PutKeyPolicy and EnableKeyRotation on a key that
		// differs from the spec.
		aws.Policy, _, _ = unstructured.NestedString(fp, "policy")
		aws.Rotation, _, _ = unstructured.NestedBool(fp, "enableKeyRotation")
	}
	if k.GetAnnotations()[externalName] != aws.ID {
		return p.patch(ctx, k, func() { setAnnotation(k, externalName, aws.ID) })
	}
	return p.report(ctx, k, map[string]any{
		"id":                    aws.ID,
		"keyId":                 aws.ID,
		"arn":                   keyARN(aws.Region, aws.ID),
		"region":                aws.Region,
		"customerMasterKeySpec": aws.KeySpec,
		"keyUsage":              aws.KeyUsage,
		"isEnabled":             aws.State == "Enabled",
		"multiRegion":           aws.MultiRegion,
		"policy":                aws.Policy,
		"enableKeyRotation":     aws.Rotation,
		// Not in AWS: Terraform keeps the spec's in its state.
		"deletionWindowInDays": fp["deletionWindowInDays"],
	})
}

func keyARN(region, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

// finalize does what a managed resource reconciler does first: once the
// resource is deleted, it deletes the AWS resource behind it with remove,
// unless the resource's deletion and management policies keep it, and
// removes the finalizer; before that, it adds the finalizer. It reports
// whether it did either.
func (p *provider) finalize(ctx context.Context, o *unstructured.Unstructured, remove func()) (bool, error) {
	if o.GetDeletionTimestamp() != nil {
		if deletes(o) {
			remove()
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
	aws := p.keyOf(r)
	if done, err := p.finalize(ctx, r, scheduleDeletion(r, aws)); done {
		return err
	}
	primary, _, _ := unstructured.NestedString(r.Object, "spec", "forProvider", "primaryKeyArn")
	if primary == "" {
		if arn := p.resolve(r, "primaryKeyArnSelector", keys, "status", "atProvider", "arn"); arn != "" {
			return p.patch(ctx, r, func() { _ = unstructured.SetNestedField(r.Object, arn, "spec", "forProvider", "primaryKeyArn") })
		}
		return nil // Not resolvable yet: the provider would wait too.
	}
	created := false
	if !exists(aws) {
		if !allows(r, "Create") {
			return p.missing(ctx, r)
		}
		region, _, _ := unstructured.NestedString(r.Object, "spec", "forProvider", "region")
		aws, created = newKey(primary[strings.LastIndex(primary, "/")+1:], region, true), true
		p.keys[place{region, aws.ID}] = aws
		p.named[r.GetUID()] = place{region, aws.ID}
	}
	if created || allows(r, "Update") {
		aws.Policy, _, _ = unstructured.NestedString(r.Object, "spec", "forProvider", "policy")
	}
	if r.GetAnnotations()[externalName] != aws.ID {
		return p.patch(ctx, r, func() { setAnnotation(r, externalName, aws.ID) })
	}
	return p.report(ctx, r, map[string]any{
		"id":    aws.ID,
		"keyId": aws.ID,
		"arn":   keyARN(aws.Region, aws.ID),
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

// reconcileAlias resolves an Alias's target key id, then observes the
// alias its external name names. Like provider-aws, it takes an alias that
// exists in AWS as its own: CreateAlias is never called for it, and a
// different target is applied with UpdateAlias.
func (p *provider) reconcileAlias(ctx context.Context, a *unstructured.Unstructured, keys []unstructured.Unstructured) error {
	region, _, _ := unstructured.NestedString(a.Object, "spec", "forProvider", "region")
	name := "alias/" + a.GetAnnotations()[externalName]
	at := place{region, name}
	if done, err := p.finalize(ctx, a, func() { delete(p.aliases, at) }); done {
		return err
	}
	target, _, _ := unstructured.NestedString(a.Object, "spec", "forProvider", "targetKeyId")
	if target == "" {
		if target = p.resolve(a, "targetKeyIdSelector", keys, "metadata", "annotations", externalName); target == "" {
			return nil // Not resolvable yet: the provider would wait too.
		}
		return p.patch(ctx, a, func() { _ = unstructured.SetNestedField(a.Object, target, "spec", "forProvider", "targetKeyId") })
	}
	current, ok := p.aliases[at]
	switch {
	case !ok && !allows(a, "Create"):
		return p.missing(ctx, a)
	case !ok, current != target && allows(a, "Update"):
		p.aliases[at] = target
	}
	return p.report(ctx, a, map[string]any{
		"id":           name,
		"arn":          "arn:aws:kms:" + region + ":" + account + ":" + name,
		"targetKeyId":  p.aliases[at],
		"targetKeyArn": keyARN(region, p.aliases[at]),
	})
}

// missingMessage is what crossplane-runtime's managed reconciler writes,
// in a False Synced condition, for an observe-only resource whose external
// resource does not exist.
const missingMessage = "observe failed: external resource does not exist"

// missing writes Synced=False with missingMessage, if it is not there
// already, and leaves the other conditions as they are. crossplane-runtime
// writes it when the management policies are Observe only; the provider
// writes it as well for other policies without Create, where the real
// reconciler would go on to an update the provider does not play.
func (p *provider) missing(ctx context.Context, o *unstructured.Unstructured) error {
	if st, _, msg := condition(o, "Synced"); st == "False" && msg == missingMessage {
		return nil
	}
	cs, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	cs = slices.DeleteFunc(cs, func(c any) bool {
		m, _ := c.(map[string]any)
		return m["type"] == "Synced"
	})
	cs = append(cs, map[string]any{
		"type": "Synced", "status": "False", "reason": "ReconcileError", "message": missingMessage,
		"lastTransitionTime": metav1.Now().UTC().Format(time.RFC3339),
	})
	return p.writeStatus(ctx, o, map[string]any{"conditions": cs})
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
	ready, _, _ := condition(o, "Ready")
	synced, _, _ := condition(o, "Synced")
	if ready == "True" && synced == "True" && equality.Semantic.DeepEqual(cur, atProvider) {
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
	return p.writeStatus(ctx, o, status)
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
	return p.writeStatus(ctx, o, status)
}

// writeStatus merge-patches the status of a managed resource.
func (p *provider) writeStatus(ctx context.Context, o *unstructured.Unstructured, status map[string]any) error {
	patch := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	b, err := patch.MarshalJSON()
	if err != nil {
		return err
	}
	p.writes++
	return client.IgnoreNotFound(p.kube.Status().Patch(ctx, o, client.RawPatch(types.MergePatchType, b), fieldOwner))
}

// deletes reports whether deleting the managed resource deletes the
// external resource: its deletion policy is not Orphan, and its management
// policies allow deletion.
func deletes(mr *unstructured.Unstructured) bool {
	if dp, _, _ := unstructured.NestedString(mr.Object, "spec", "deletionPolicy"); dp == "Orphan" {
		return false
	}
	return allows(mr, "Delete")
}

// allows reports whether the managed resource's management policies allow
// the action: "*", the default, allows every one.
func allows(mr *unstructured.Unstructured, action string) bool {
	mp, ok, _ := unstructured.NestedStringSlice(mr.Object, "spec", "managementPolicies")
	return !ok || slices.Contains(mp, "*") || slices.Contains(mp, action)
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
	p.writes++
	return client.IgnoreNotFound(p.kube.Patch(ctx, o, client.MergeFrom(orig), fieldOwner))
}
