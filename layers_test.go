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
// through parse and resolve to the outputs and back into the response. No
// two files use each other's names.
var layers = [][]string{
	// The request and the response: RunFunction and its steps.
	{"main.go", "fn.go", "input.go"},
	// What a Backend and the observed resources give: the key policy, the
	// composed resources, the XR's status and conditions, the refusals and
	// warnings that need the observed state (an edit's, an alias's owner,
	// adoption's), and what a response changes.
	{"policy.go", "compose.go", "status.go", "availability.go", "edits.go", "aliasowner.go", "adoption.go", "changelog.go"},
	// A RawSpec and the Settings resolved into a Backend.
	{"resolve.go"},
	// The function's input, the XR's spec and the observed resources, parsed.
	{"settings.go", "spec.go", "observed.go"},
	// The constraints of AWS and Kubernetes that values follow, the IAM
	// principals a claim names, and the partitions' DNS suffixes.
	{"constraints.go", "principals.go", "partition.go"},
	// The resolved Backend, and the names, limits and message helpers every
	// stage shares.
	{"backend.go", "names.go", "limits.go", "messages.go"},
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

	uses := map[[2]string]string{} // by user and definer: one name used
	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || !obj.Pos().IsValid() {
			continue
		}
		def := filepath.Base(fset.Position(obj.Pos()).Filename)
		use := fset.Position(id.Pos())
		user := filepath.Base(use.Filename)
		if layerOf[user] > layerOf[def] {
			t.Errorf("%s uses %s from %s, a layer above it", use, id.Name, def)
		}
		if user != def {
			uses[[2]string{user, def}] = id.Name
		}
	}
	for pair, name := range uses {
		if back, ok := uses[[2]string{pair[1], pair[0]}]; ok && pair[0] < pair[1] {
			t.Errorf("%s and %s use each other's names (%s, %s): one of them must not", pair[0], pair[1], name, back)
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
