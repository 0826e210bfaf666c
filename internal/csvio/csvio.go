// Package csvio reads the project's CSV inputs (staff rosters, punches, leave slips, patrol
// records, failure reports, manual sign-ins): UTF-8 with an optional byte-order mark, a header row
// naming the columns in any order, extra columns ignored. Every problem is reported as
// "FILE:LINE: what is wrong", and a reader collects all of them rather than stopping at the first,
// so that a user fixes a file in one pass.
package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is the layout of every time in the project's CSV files: local wall clock, no zone.
const TimeLayout = "2006-01-02 15:04:05"

// DateLayout is the layout of dates.
const DateLayout = "2006-01-02"

// Problem is one thing wrong with one line of a file.
type Problem struct {
	File string
	Line int // 1-based line number in the file; 0 when the problem is about the whole file
	Msg  string
}

func (p Problem) Error() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Problems is every problem found in one or more files. It is an error when not empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// AsProblems extracts the problems from err, which may be Problems, a single Problem, or anything
// else (returned as one problem without a line).
func AsProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var p Problem
	if errors.As(err, &p) {
		return Problems{p}
	}
	return Problems{{Msg: err.Error()}}
}

// Row is one data row of a table, with its columns looked up by header name.
type Row struct {
	Line   int
	fields []string
	cols   map[string]int
}

// Get returns the value of column name (trimmed of surrounding spaces), or "" when the file has no
// such column or the row is short.
func (r Row) Get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// Has reports whether the file has column name.
func (r Row) Has(name string) bool {
	_, ok := r.cols[name]
	return ok
}

// Table is a parsed CSV file.
type Table struct {
	File string
	Cols map[string]int
	Rows []Row
}

// Problem builds a problem on the given line of this table's file.
func (t *Table) Problem(line int, format string, args ...any) Problem {
	return Problem{File: t.File, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ReadFile reads a CSV file and checks that it has the required columns.
func ReadFile(path string, required ...string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}}
	}
	return Parse(path, data, required...)
}

// Parse parses CSV data named file (for messages) and checks that it has the required columns.
// Blank lines are skipped. A row with fewer fields than the header is reported.
func Parse(file string, data []byte, required ...string) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8Valid(data) {
		return nil, Problems{{File: file, Msg: "is not UTF-8 text; save it as UTF-8 (a byte-order mark is allowed)"}}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	t := &Table{File: file, Cols: map[string]int{}}
	header, err := r.Read()
	if err == io.EOF {
		return nil, Problems{{File: file, Line: 1, Msg: "empty file: expected a header row with columns " + strings.Join(required, ",")}}
	}
	if err != nil {
		return nil, Problems{csvProblem(file, err)}
	}
	var ps Problems
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := t.Cols[h]; dup {
			ps = append(ps, Problem{File: file, Line: 1, Msg: fmt.Sprintf("column %q appears twice in the header", h)})
			continue
		}
		t.Cols[h] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := t.Cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		ps = append(ps, Problem{File: file, Line: 1, Msg: fmt.Sprintf("missing column %s in the header (the header must name %s)",
			strings.Join(quoteAll(missing), ", "), strings.Join(required, ","))})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			ps = append(ps, csvProblem(file, err))
			// encoding/csv cannot resume after a quoting error on the same record reliably;
			// stop here but report what was found so far.
			break
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < len(header) {
			ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		t.Rows = append(t.Rows, Row{Line: line, fields: rec, cols: t.Cols})
	}
	if len(ps) > 0 {
		return t, ps
	}
	return t, nil
}

func csvProblem(file string, err error) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problem{File: file, Line: pe.StartLine, Msg: pe.Err.Error()}
	}
	return Problem{File: file, Msg: err.Error()}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// ParseTime parses a local wall-clock time "YYYY-MM-DD HH:MM:SS". The result is a wall-clock time
// as the project carries them: a time.Time in time.UTC whose fields are the wall clock's.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q: want YYYY-MM-DD HH:MM:SS", s)
	}
	return t, nil
}

// ParseDate parses a date "YYYY-MM-DD" as midnight, wall clock (time.UTC).
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// Sort orders problems by file, then line, keeping the order of problems on one line.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}
