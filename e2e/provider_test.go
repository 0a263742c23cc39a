//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
)

const (
	// The finalizer every managed resource reconciler adds, so that it can
	// delete (or keep) the external resource before the object goes.
	managedFinalizer = "finalizer.managedresource.crossplane.io"
	externalName     = "crossplane.io/external-name"
	account          = "123456789012"
)

// awsKey is a KMS key as the provider left it in the pretend AWS.
type awsKey struct {
	ID     string
	Region string
	// State is Enabled, or PendingDeletion once the provider deleted it.
	State string
	// Window is the deletion window the key was scheduled for deletion with.
	Window float64
}

// provider plays provider-aws for Keys and Aliases, with AWS as a map: it
// adds the managed resource finalizer, "creates" each Key (an id, an ARN)
// and reports it in the external-name annotation and status.atProvider with
// Ready and Synced, resolves each Alias's target key from its controller
// reference, and on deletion schedules the key's deletion or leaves it in
// AWS, as the resource's deletion and management policies say.
type provider struct {
	kube   client.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	keys map[types.UID]*awsKey // by the Key's UID
	err  error                 // the last error, for a failure message
}

func startProvider(kube client.Client) *provider {
	ctx, cancel := context.WithCancel(context.Background())
	p := &provider{kube: kube, cancel: cancel, done: make(chan struct{}), keys: map[types.UID]*awsKey{}}
	go func() {
		defer close(p.done)
		for {
			err := p.reconcile(ctx)
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
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

// key returns the pretend AWS key behind a Key, by the Key's UID.
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
	keys := &kmsv1.KeyList{}
	if err := p.kube.List(ctx, keys); err != nil {
		return err
	}
	for i := range keys.Items {
		if err := p.reconcileKey(ctx, &keys.Items[i]); err != nil {
			return err
		}
	}
	aliases := &kmsv1.AliasList{}
	if err := p.kube.List(ctx, aliases); err != nil {
		return err
	}
	for i := range aliases.Items {
		if err := p.reconcileAlias(ctx, &aliases.Items[i], keys.Items); err != nil {
			return err
		}
	}
	return nil
}

func (p *provider) reconcileKey(ctx context.Context, k *kmsv1.Key) error {
	p.mu.Lock()
	aws, exists := p.keys[k.UID]
	p.mu.Unlock()

	if !k.DeletionTimestamp.IsZero() {
		if exists && deletes(k.Spec.ResourceSpec) {
			p.mu.Lock()
			aws.State, aws.Window = "PendingDeletion", ptr.Deref(k.Spec.ForProvider.DeletionWindowInDays, 30)
			p.mu.Unlock()
		}
		return p.patch(ctx, k, func() { controllerutil.RemoveFinalizer(k, managedFinalizer) })
	}
	if !controllerutil.ContainsFinalizer(k, managedFinalizer) {
		return p.patch(ctx, k, func() { controllerutil.AddFinalizer(k, managedFinalizer) })
	}
	region := ptr.Deref(k.Spec.ForProvider.Region, "")
	if !exists {
		// A KMS key id is a UUID, as a Kubernetes UID is.
		aws = &awsKey{ID: string(k.UID), Region: region, State: "Enabled"}
		p.mu.Lock()
		p.keys[k.UID] = aws
		p.mu.Unlock()
	}
	if k.GetAnnotations()[externalName] != aws.ID {
		return p.patch(ctx, k, func() { metav1.SetMetaDataAnnotation(&k.ObjectMeta, externalName, aws.ID) })
	}
	orig := k.DeepCopy()
	k.Status.AtProvider.ID = ptr.To(aws.ID)
	k.Status.AtProvider.KeyID = ptr.To(aws.ID)
	k.Status.AtProvider.Arn = ptr.To("arn:aws:kms:" + aws.Region + ":" + account + ":key/" + aws.ID)
	k.Status.AtProvider.EnableKeyRotation = k.Spec.ForProvider.EnableKeyRotation
	k.Status.AtProvider.DeletionWindowInDays = k.Spec.ForProvider.DeletionWindowInDays
	k.Status.AtProvider.Policy = k.Spec.ForProvider.Policy
	k.SetConditions(xpv1.Available(), xpv1.ReconcileSuccess())
	if equality.Semantic.DeepEqual(orig.Status, k.Status) {
		return nil
	}
	return p.patchStatus(ctx, k, orig)
}

func (p *provider) reconcileAlias(ctx context.Context, a *kmsv1.Alias, keys []kmsv1.Key) error {
	if !a.DeletionTimestamp.IsZero() {
		return p.patch(ctx, a, func() { controllerutil.RemoveFinalizer(a, managedFinalizer) })
	}
	if !controllerutil.ContainsFinalizer(a, managedFinalizer) {
		return p.patch(ctx, a, func() { controllerutil.AddFinalizer(a, managedFinalizer) })
	}
	target := ptr.Deref(a.Spec.ForProvider.TargetKeyID, "")
	if target == "" {
		// The reference resolver: the Key with the same controller.
		s := a.Spec.ForProvider.TargetKeyIDSelector
		owner := metav1.GetControllerOf(a)
		for i := range keys {
			if s != nil && ptr.Deref(s.MatchControllerRef, false) && owner != nil && controlledBy(&keys[i], owner.UID) {
				target = keys[i].GetAnnotations()[externalName]
			}
		}
		if target == "" {
			return nil // Not resolvable yet: the provider would wait too.
		}
		return p.patch(ctx, a, func() { a.Spec.ForProvider.TargetKeyID = ptr.To(target) })
	}
	name := "alias/" + a.GetAnnotations()[externalName]
	region := ptr.Deref(a.Spec.ForProvider.Region, "")
	orig := a.DeepCopy()
	a.Status.AtProvider.ID = ptr.To(name)
	a.Status.AtProvider.Arn = ptr.To("arn:aws:kms:" + region + ":" + account + ":" + name)
	a.Status.AtProvider.TargetKeyID = ptr.To(target)
	a.SetConditions(xpv1.Available(), xpv1.ReconcileSuccess())
	if equality.Semantic.DeepEqual(orig.Status, a.Status) {
		return nil
	}
	return p.patchStatus(ctx, a, orig)
}

// deletes reports whether deleting the managed resource deletes the
// external resource: its deletion policy is Delete, and its management
// policies allow deletion.
func deletes(s xpv1.ResourceSpec) bool {
	if s.DeletionPolicy == xpv1.DeletionOrphan {
		return false
	}
	return len(s.ManagementPolicies) == 0 ||
		slices.Contains(s.ManagementPolicies, xpv1.ManagementActionAll) ||
		slices.Contains(s.ManagementPolicies, xpv1.ManagementActionDelete)
}

func controlledBy(o metav1.Object, uid types.UID) bool {
	c := metav1.GetControllerOf(o)
	return c != nil && c.UID == uid
}

// patch changes an object's metadata or spec with a merge patch.
func (p *provider) patch(ctx context.Context, o client.Object, change func()) error {
	orig, ok := o.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("cannot copy %T", o)
	}
	change()
	return client.IgnoreNotFound(p.kube.Patch(ctx, o, client.MergeFrom(orig), fieldOwner))
}

func (p *provider) patchStatus(ctx context.Context, o, orig client.Object) error {
	return client.IgnoreNotFound(p.kube.Status().Patch(ctx, o, client.MergeFrom(orig), fieldOwner))
}
