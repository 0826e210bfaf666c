package cli

import (
	"fmt"

	"github.com/kaoqin/kaoqin/internal/demo"
)

// demoPush is the demo's ZKTeco PUSH clock.
type demoPush struct{ d *demoRun }

func newDemoPush(d *demoRun) *demoPush { return &demoPush{d: d} }

func (p *demoPush) describe() string                { return "(none)" }
func (p *demoPush) configLine() string              { return "" }
func (p *demoPush) clockConfig(c demo.Clock) string { return "" }
func (p *demoPush) stop()                           {}
func (p *demoPush) punch(pp demo.Punch) error       { return fmt.Errorf("no push clock") }
