package main

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"go/types"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// layers are the function's files from the request's end to the words they
// share: a file may use the names of its own layer and of the layers after
// it, never of one before it, so that data flows one way, from the request
// through parse and resolve to the outputs and back into the response.
var layers = [][]string{
	// The request and the response.
	{"main.go", "fn.go"},
	// What a Backend and the observed resources give: the key policy, the
	// composed resources, the XR's status and conditions, the checks that
	// need the observed state, and what changes.
	{"policy.go", "compose.go", "status.go", "availability.go", "safety.go", "aliasowner.go", "adoption.go", "principals.go", "changes.go"},
	// A RawSpec and the Settings resolved into a Backend.
	{"resolve.go"},
	// The function's input, the XR's spec and the observed resources, parsed.
	{"settings.go", "spec.go", "observed.go"},
	// The rules of AWS and Kubernetes that values follow.
	{"rules.go", "arn.go", "partition.go"},
	// The resolved Backend and the names every stage shares.
	{"backend.go"},
}

func TestLayers(t *testing.T) {
	layerOf := map[string]int{}
	for i, files := range layers {
		for _, f := range files {
			layerOf[f] = i
		}
	}

	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "main" {
			continue
		}
		if _, ok := layerOf[name]; !ok {
			t.Errorf("%s is in no layer: add it to layers", name)
		}
		files = append(files, f)
	}

	// Only the package's own names matter, so imported packages are empty
	// stand-ins and the type errors they cause are ignored.
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: emptyPackages{}, Error: func(error) {}}
	pkg, _ := conf.Check("main", fset, files, info)

	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || !obj.Pos().IsValid() {
			continue
		}
		def := fset.Position(obj.Pos()).Filename
		use := fset.Position(id.Pos())
		if layerOf[filepath.Base(use.Filename)] > layerOf[filepath.Base(def)] {
			t.Errorf("%s uses %s from %s, a layer above it", use, id.Name, def)
		}
	}
}

// emptyPackages imports every package as an empty one, named as its path
// ends.
type emptyPackages struct{}

func (emptyPackages) Import(p string) (*types.Package, error) {
	name := path.Base(p)
	if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = path.Base(path.Dir(p))
	}
	pkg := types.NewPackage(p, name)
	pkg.MarkComplete()
	return pkg, nil
}
