package csvio

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Stream reads CSV from r like Parse, but hands each data row to fn as it is read and keeps
// nothing, so that a file of millions of punches costs the memory of one row, not of the file.
// fn may keep the strings a Row returns but not the Row itself. Problems are returned in line
// order; a file without the required columns reads no row.
func Stream(file string, r io.Reader, fn func(Row), required ...string) Problems {
	br := bufio.NewReaderSize(r, 1<<16)
	if b, err := br.Peek(3); err == nil && string(b) == "\xEF\xBB\xBF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return Problems{{File: file, Line: 1, Msg: "empty file: expected a header row with columns " + strings.Join(required, ",")}}
	}
	if err != nil {
		return Problems{csvProblem(file, err)}
	}
	var ps Problems
	cols := map[string]int{}
	width := len(header)
	for i, h := range header {
		if !utf8.ValidString(h) {
			return Problems{{File: file, Msg: "is not UTF-8 text; save it as UTF-8 (a byte-order mark is allowed)"}}
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := cols[h]; dup {
			ps = append(ps, Problem{File: file, Line: 1, Msg: fmt.Sprintf("column %q appears twice in the header", h)})
			continue
		}
		cols[h] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		ps = append(ps, Problem{File: file, Line: 1, Msg: fmt.Sprintf("missing column %s in the header (the header must name %s)",
			strings.Join(quoteAll(missing), ", "), strings.Join(required, ","))})
	}
	if len(ps) > 0 {
		return ps
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// encoding/csv cannot resume reliably after a quoting error; report it and stop.
			ps = append(ps, csvProblem(file, err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < width {
			ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf("has %d fields, the header has %d", len(rec), width)})
			continue
		}
		if !validRecord(rec) {
			ps = append(ps, Problem{File: file, Line: line, Msg: "is not UTF-8 text; save the file as UTF-8"})
			continue
		}
		fn(Row{Line: line, fields: rec, cols: cols})
	}
	return ps
}

func validRecord(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// parseTimeFast parses "YYYY-MM-DD HH:MM:SS" like ParseTime, without time.Parse on the common
// path: a month of punches for ten thousand staff is millions of times.
func parseTimeFast(s string) (time.Time, error) {
	if len(s) == 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		se, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 &&
			d <= daysIn(y, time.Month(mo)) && h < 24 && mi < 60 && se < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC), nil
		}
	}
	return ParseTime(s)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }
