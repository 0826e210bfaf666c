// Command kaoqin reads fingerprint time clocks and turns their punches into attendance records.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kaoqin/kaoqin/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
