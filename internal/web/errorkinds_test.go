package web

import (
	"testing"

	"github.com/kaoqin/kaoqin/ingest"
)

// Every kind of failed read the daemon counts has its words on the clocks page.
func TestErrorKindNamesComplete(t *testing.T) {
	for _, k := range ingest.ReadErrorKinds {
		if errorKindNames[k] == "" {
			t.Errorf("read error kind %q has no Chinese name in errorKindNames", k)
		}
	}
}
