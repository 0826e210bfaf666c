// Package configs holds the project's bundled data: the State Council's official holiday calendar
// (holidays/, a copy of NateScarlet/holiday-cn under its MIT licence) beside the example config.
// It is the only Go file here, so that the data ships inside the binary and a deployment without
// network access still knows its holidays.
package configs

import (
	"embed"
	"io/fs"
)

//go:embed holidays/*.json
var holidays embed.FS

// Holidays is the official calendar, one holiday-cn JSON file per year ("2026.json" at its root).
var Holidays fs.FS = mustSub(holidays, "holidays")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // only on a bad constant path: a build-time mistake
	}
	return s
}
