package notify_test

import (
	"testing"

	"github.com/kaoqin/kaoqin/internal/notify"
)

// FuzzParseAudience: an audience from the config parses or is refused, never panics, and one that
// parses prints back as itself (the robots' matching relies on it).
func FuzzParseAudience(f *testing.F) {
	for _, s := range []string{"supervisor", "center_leader", "hr", "window_head", "window_head:民政", "unit_leader:民政局",
		"staff:1001", "*", "boss", "staff:", "window_head:", ":", "supervisor:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := notify.ParseAudience(s)
		if err != nil {
			return
		}
		if s != "*" && a.String() != s {
			t.Errorf("ParseAudience(%q).String() = %q", s, a.String())
		}
	})
}
