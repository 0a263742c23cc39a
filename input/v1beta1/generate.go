//go:build generate

// Generate deepcopy methods and the Input CRD with controller-gen, pinned in
// tools/go.mod.
//go:generate go tool -modfile=../../tools/go.mod controller-gen object paths=./...
//go:generate go tool -modfile=../../tools/go.mod controller-gen crd paths=./... output:crd:artifacts:config=../../package/input

package v1beta1
