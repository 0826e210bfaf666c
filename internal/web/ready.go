package web

import (
	"errors"

	"github.com/kaoqin/kaoqin/internal/store"
)

// notReady is /readyz's answer for a failed check. A damaged database says why and what to do
// (the daemon refused it at start and serves only health, readiness and metrics); any other
// failure says only that the database is unavailable, since /readyz needs no login and a driver's
// error can name internal hosts.
func notReady(err error) string {
	if errors.Is(err, store.ErrDamaged) {
		return "database damaged: " + err.Error() + "\n"
	}
	return "database unavailable\n"
}
