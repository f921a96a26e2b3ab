package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"
)

// Every operation of Store is timed by measuredStore: one the wrapper does
// not declare would be served by the embedded Store, unmeasured.
func TestMeasuredStoreTimesEveryOperation(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "measuredstore.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
			if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok && id.Name == "measuredStore" {
				declared[fn.Name.Name] = true
			}
		}
	}
	st := reflect.TypeFor[Store]()
	for i := range st.NumMethod() {
		if name := st.Method(i).Name; !declared[name] {
			t.Errorf("measuredStore does not time Store.%s", name)
		}
	}
}
