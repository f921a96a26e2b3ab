package redact

import "testing"

func TestURI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017"},
		{"mongodb://bob@db.example:27017/scwm", "mongodb://bob@db.example:27017/scwm"},
		{"mongodb://bob:s3cret@db.example:27017/scwm?replicaSet=rs0", "mongodb://bob:xxxxx@db.example:27017/scwm?replicaSet=rs0"},
		{"mongodb://bob:s3cret@db.example:%zz", "(unparseable URI)"},
	} {
		if got := URI(c.in); got != c.want {
			t.Errorf("URI(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
