package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the daemon binary the crash tests build (kaoqinBinary): no test leaves files
// behind in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
