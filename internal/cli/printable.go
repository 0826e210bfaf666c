package cli

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable makes text that came from a clock (names, serial numbers, options, user ids) safe to
// print on a terminal: control characters, which a hostile or broken clock can use to move the
// cursor, rewrite earlier lines or retitle the window (ESC sequences, C1 controls such as CSI
// U+009B), and the invisible direction overrides that reorder what is shown, are written as Go
// escapes (\x1b, \u202e). Every other character, Chinese included, is kept as it is.
func printable(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r) || r == utf8.RuneError && n == 1 {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			// A byte that is not UTF-8, such as a raw 9B (CSI to an 8-bit terminal).
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r):
			b.WriteString(s[i : i+n])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\\':
		// Escaped too, so that a literal `\x1b` from the clock cannot pass for an escape.
		return true
	case unicode.IsControl(r): // C0, DEL, C1
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F,
		r == 0x061C, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
