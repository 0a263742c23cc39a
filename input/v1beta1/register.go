package v1beta1

import "k8s.io/apimachinery/pkg/runtime/schema"

// GroupVersion of the Input type, as a Composition's pipeline step names it.
var GroupVersion = schema.GroupVersion{Group: "kmsbackend.fn.example.org", Version: "v1beta1"}
