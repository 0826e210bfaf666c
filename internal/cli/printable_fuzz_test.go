package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPrintable: whatever a clock sends, what reaches the terminal is valid UTF-8 without a
// control character or direction override, and text that needs no escape is left as it is.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"ZK0001", "考勤机", "\x1b]0;x\x07", "\u009b31m", "\xff\x9b", `a\b`, "rlo\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("printable(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if r != '\\' && unsafeRune(r) {
				t.Fatalf("printable(%q) = %q keeps %U", s, out, r)
			}
		}
		clean := utf8.ValidString(s) && strings.IndexFunc(s, unsafeRune) < 0
		if clean != (out == s) {
			t.Fatalf("printable(%q) = %q: clean %v", s, out, clean)
		}
	})
}
