package carnet_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/carnet-sante/carnet"

// TestOneDoor checks, from the source, that patient data has one door: only cmd/carnet (which
// wires adapters) imports a concrete store or blob store, and no package but the service layer,
// the stores themselves, the outbox worker and cmd's wiring names the Store or Tx contract. A
// handler, page or job that tried to read storage around the service would fail this test.
func TestOneDoor(t *testing.T) {
	adapters := []string{"/internal/store/sqlite", "/internal/store/postgres", "/internal/store/sqldb", "/internal/blob/fs", "/internal/blob/s3"}
	mayNameStore := []string{"internal/service", "internal/store", "internal/notify", "cmd/carnet"}
	fset := token.NewFileSet()
	checked := 0
	err := filepath.Walk(".", func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() && (strings.HasPrefix(fi.Name(), ".") || fi.Name() == "node_modules" || fi.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if fi.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, a := range adapters {
				if p == module+a && dir != "cmd/carnet" && !strings.HasPrefix(dir, "internal/store/") {
					t.Errorf("%s imports %s: only cmd/carnet chooses adapters", path, p)
				}
			}
		}
		allowed := dir == "."
		for _, m := range mayNameStore {
			allowed = allowed || dir == m || strings.HasPrefix(dir, m+"/")
		}
		if allowed {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "carnet" && (sel.Sel.Name == "Store" || sel.Sel.Name == "Tx") {
				t.Errorf("%s: %s names carnet.%s: go through internal/service", path, fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d files checked: the walk is broken", checked)
	}
}
