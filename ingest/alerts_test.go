package ingest

import (
	"os/exec"
	"testing"
)

// The alert rules in configs/alerts.yml, unit-tested by promtool (Debian's prometheus package;
// .ci/run installs it).
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: apt-get install prometheus (.ci/run does) to test configs/alerts.yml")
	}
	cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = "testdata"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "rules", "../configs/alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
