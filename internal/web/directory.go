package web

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// directory is the windows and units of the roster, for the today page's filters; it is read
// at most every dayTTL, the roster changing rarely.
type directoryCache struct {
	mu      sync.Mutex
	expires time.Time
	windows []string
	units   []string
}

func (s *server) directory(ctx context.Context, u *session) (windows, units []string, err error) {
	c := &s.dir
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().After(c.expires) {
		staff, err := s.st.ListStaff(ctx)
		if err != nil {
			return nil, nil, err
		}
		var ws, us []string
		for _, st := range staff {
			if !st.Active {
				continue
			}
			if !slices.Contains(ws, st.Window) {
				ws = append(ws, st.Window)
			}
			if !slices.Contains(us, st.Unit) {
				us = append(us, st.Unit)
			}
		}
		coll := collate.New(language.SimplifiedChinese, collate.Numeric)
		slices.SortFunc(ws, coll.CompareString)
		slices.SortFunc(us, coll.CompareString)
		c.windows, c.units, c.expires = ws, us, time.Now().Add(dayTTL)
	}
	if u.window() != "" {
		return []string{u.window()}, nil, nil
	}
	return c.windows, c.units, nil
}

func urlQuery(s string) string { return url.QueryEscape(s) }
