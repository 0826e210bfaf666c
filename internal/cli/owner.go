package cli

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kaoqin/kaoqin/internal/config"
)

// rootOnServiceDatabase tells, for a command run as root, whether the SQLite database belongs to
// another user (the service's): SQLite would then create files as root — the database itself on a
// first migrate, its -wal and -shm files otherwise — that the daemon cannot open, and it would stop
// or restart in a loop. It returns what to do instead, or "".
func rootOnServiceDatabase(cfg *config.Config) string {
	if cfg.Database.Driver != "sqlite" || os.Geteuid() != 0 {
		return ""
	}
	path := strings.TrimPrefix(cfg.Database.DSN, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || path == ":memory:" {
		return ""
	}
	// Not made yet: the directory's owner is who should make it.
	target := path
	fi, err := os.Stat(target)
	if err != nil {
		target = filepath.Dir(path)
		if fi, err = os.Stat(target); err != nil {
			return ""
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return ""
	}
	name := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return fmt.Sprintf("%s belongs to %s: run this command as that user (sudo -u %s kaoqin …); as root it would leave files there that the daemon cannot open", target, name, name)
}
