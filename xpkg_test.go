package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// xpkg is what a package file holds: an OCI image written as a tarball, whose
// layers hold the package's YAML and, for a Function, the runtime.
type xpkg struct {
	// config is the image's configuration.
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Entrypoint   []string            `json:"Entrypoint"`
			User         string              `json:"User"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts"`
			Labels       map[string]string   `json:"Labels"`
		} `json:"config"`
	}
	// files maps each file of every layer to its header and content.
	files map[string]xpkgFile
}

type xpkgFile struct {
	mode int64
	data []byte
}

// readXpkg reads a package file with nothing but the standard library, so
// that the check does not share the code that wrote it.
func readXpkg(t *testing.T, path string) xpkg {
	t.Helper()
	entries := map[string][]byte{}
	for name, f := range readTar(t, path, false) {
		entries[name] = f.data
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("%s: want one image in manifest.json, got %v (%v)", path, manifest, err)
	}
	pkg := xpkg{files: map[string]xpkgFile{}}
	if err := json.Unmarshal(entries[manifest[0].Config], &pkg.config); err != nil {
		t.Fatalf("%s: image config: %v", path, err)
	}
	for _, l := range manifest[0].Layers {
		layer := filepath.Join(t.TempDir(), "layer")
		if err := os.WriteFile(layer, entries[l], 0o600); err != nil {
			t.Fatal(err)
		}
		for name, f := range readTar(t, layer, true) {
			pkg.files[strings.TrimPrefix(name, "/")] = f
		}
	}
	return pkg
}

func readTar(t *testing.T, path string, gzipped bool) map[string]xpkgFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // Read only.
	var r io.Reader = f
	if gzipped {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = gz
	}
	out := map[string]xpkgFile{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = xpkgFile{mode: h.Mode, data: b}
	}
}

// objects returns the kind and name of each object of the package's YAML.
func (p xpkg) objects(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	f, ok := p.files["package.yaml"]
	if !ok {
		t.Fatal("the package has no package.yaml")
	}
	out := map[string]*unstructured.Unstructured{}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(f.data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("package.yaml: %v", err)
		}
		out[u.GetKind()+"/"+u.GetName()] = u
	}
}

// TestPackages builds both packages with hack/xpkg.sh, as `make xpkg` does,
// and checks what they hold.
func TestPackages(t *testing.T) {
	cli, err := filepath.Abs(crossplaneCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("hack/xpkg.sh", out)
	cmd.Env = append(os.Environ(), "CROSSPLANE="+cli, "ARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/xpkg.sh: %v\n%s", err, b)
	}

	t.Run("Function", func(t *testing.T) {
		pkg := readXpkg(t, filepath.Join(out, "function-kms-backend-"+runtime.GOARCH+".xpkg"))
		objs := pkg.objects(t)
		for _, want := range []string{"Function/function-kms-backend", "CustomResourceDefinition/inputs.kmsbackend.fn.example.org"} {
			if objs[want] == nil {
				t.Errorf("package.yaml: want %s, got %v", want, slices.Sorted(maps.Keys(objs)))
			}
		}
		c := pkg.config
		if c.OS != "linux" || c.Architecture != runtime.GOARCH {
			t.Errorf("image platform: want linux/%s, got %s/%s", runtime.GOARCH, c.OS, c.Architecture)
		}
		if !slices.Equal(c.Config.Entrypoint, []string{"/function"}) {
			t.Errorf("image entrypoint: want [/function], got %v", c.Config.Entrypoint)
		}
		if c.Config.User != "65532:65532" {
			t.Errorf("image user: want distroless' nonroot 65532:65532, got %q", c.Config.User)
		}
		if _, ok := c.Config.ExposedPorts["9443/tcp"]; !ok {
			t.Errorf("image ports: want 9443/tcp, got %v", c.Config.ExposedPorts)
		}
		if !slices.Contains(slices.Collect(maps.Values(c.Config.Labels)), "base") {
			t.Errorf("image labels: want a layer labelled as the package's base layer, got %v", c.Config.Labels)
		}
		fn, ok := pkg.files["function"]
		if !ok {
			t.Fatalf("the image has no /function; files: %v", slices.Sorted(maps.Keys(pkg.files)))
		}
		if fn.mode&0o111 == 0 {
			t.Errorf("/function: want executable, got mode %o", fn.mode)
		}
		bin, err := elf.NewFile(bytes.NewReader(fn.data))
		if err != nil {
			t.Fatalf("/function is no ELF binary: %v", err)
		}
		if slices.ContainsFunc(bin.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
			t.Error("/function is dynamically linked; the empty base has no libc")
		}
	})

	configurations := map[string]struct {
		file, name, xrd, composition string
	}{
		"LegacyConfiguration":     {"configuration-kms-backend.xpkg", "configuration-kms-backend", "xkmsbackends.kms.example.org", "xkmsbackends.kms.example.org"},
		"NamespacedConfiguration": {"configuration-kms-backend-namespaced.xpkg", "configuration-kms-backend-namespaced", "kmsbackends.kms.m.example.org", "kmsbackends.kms.m.example.org"},
	}
	for name, c := range configurations {
		t.Run(name, func(t *testing.T) {
			objs := readXpkg(t, filepath.Join(out, c.file)).objects(t)
			for _, want := range []string{"Configuration/" + c.name, "CompositeResourceDefinition/" + c.xrd, "Composition/" + c.composition} {
				if objs[want] == nil {
					t.Fatalf("package.yaml: want %s, got %v", want, slices.Sorted(maps.Keys(objs)))
				}
			}
			deps, _, _ := unstructured.NestedSlice(objs["Configuration/"+c.name].Object, "spec", "dependsOn")
			var got []string
			for _, d := range deps {
				m, _ := d.(map[string]any)
				for _, k := range []string{"provider", "function"} {
					if v, ok := m[k].(string); ok {
						got = append(got, k+" "+v)
					}
				}
			}
			want := []string{"provider xpkg.upbound.io/upbound/provider-aws-kms", "function xpkg.example.org/function-kms-backend"}
			if !slices.Equal(got, want) {
				t.Errorf("dependsOn: want %v, got %v", want, got)
			}

			// Crossplane names a Function it installs as a dependency after
			// the package's repository, without the registry: the
			// Composition must call it by that name.
			steps, _, _ := unstructured.NestedSlice(objs["Composition/"+c.composition].Object, "spec", "pipeline")
			if len(steps) != 1 {
				t.Fatalf("pipeline: want one step, got %v", steps)
			}
			ref, _, _ := unstructured.NestedString(steps[0].(map[string]any), "functionRef", "name")
			if want := "function-kms-backend"; ref != want {
				t.Errorf("pipeline functionRef: want %q, the name Crossplane gives xpkg.example.org/function-kms-backend, got %q", want, ref)
			}
		})
	}
}
