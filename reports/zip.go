package reports

import (
	"archive/zip"
	"cmp"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// WriteUnitsZIP writes one workbook per window unit (考勤月报-2026-10-民政局.xlsx), each with that
// unit's staff only, for sending each unit its own sheet. Staff without a unit go in a file of
// their own (未分配单位).
func WriteUnitsZIP(w io.Writer, in *MonthInput) error {
	var units []string
	for _, s := range in.Staff {
		if !slices.Contains(units, s.Unit) {
			units = append(units, s.Unit)
		}
	}
	coll := collate.New(language.SimplifiedChinese)
	slices.SortFunc(units, func(a, b string) int { return cmp.Or(coll.CompareString(a, b), strings.Compare(a, b)) })
	zw := zip.NewWriter(w)
	for _, u := range units {
		sub := in.Only(u, "")
		name := u
		if u == "" {
			// Only("", "") is everyone: narrow by hand to the staff without a unit.
			c := *in
			c.Staff = nil
			for _, s := range in.Staff {
				if s.Unit == "" {
					c.Staff = append(c.Staff, s)
				}
			}
			sub = c.onlyStaff()
			sub.Scope = "未分配单位"
			name = sub.Scope
		}
		rep := BuildMonth(sub)
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: "考勤月报-" + in.Month.String() + "-" + safeName(name) + ".xlsx",
			Method: zip.Deflate, Modified: zipTime(in.Generated), Flags: 0x800})
		if err != nil {
			return err
		}
		if err := rep.WriteXLSX(fw); err != nil {
			return err
		}
	}
	return zw.Close()
}

// onlyStaff keeps the results and corrections of in.Staff's members.
func (in *MonthInput) onlyStaff() *MonthInput {
	keep := map[string]bool{}
	for _, s := range in.Staff {
		keep[s.ID] = true
	}
	out := *in
	out.Results = nil
	for _, r := range in.Results {
		if keep[r.StaffID] {
			out.Results = append(out.Results, r)
		}
	}
	if in.Closing != nil {
		c := *in.Closing
		c.Corrections = nil
		for _, x := range in.Closing.Corrections {
			if keep[x.StaffID] {
				c.Corrections = append(c.Corrections, x)
			}
		}
		out.Closing = &c
	}
	return &out
}

func zipTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// safeName keeps a unit's name usable as a file name on every system.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < 0x20 {
			return '_'
		}
		return r
	}, s)
}
