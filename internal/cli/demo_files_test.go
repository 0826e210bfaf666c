package cli

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"github.com/kaoqin/kaoqin/internal/demo"
)

// grid is a table as a file shows it: rows of cell texts.
type grid [][]string

// staffRows finds, in the tables of a file, the per-staff summary (the one whose header names 工号
// and 迟到次数) and returns its rows by staff id, each as header → text, up to its 合计 line or
// its end (returned under "合计" when there is one). Columns are found by their header, so a
// reordered or added column changes nothing.
func staffRows(t *testing.T, file string, tables []grid) map[string]map[string]string {
	t.Helper()
	for _, g := range tables {
		for hi, head := range g {
			cols := map[string]int{}
			for i, h := range head {
				cols[strings.Join(strings.Fields(h), "")] = i
			}
			idCol, ok1 := cols["工号"]
			_, ok2 := cols["迟到次数"]
			if !ok1 || !ok2 {
				continue
			}
			out := map[string]map[string]string{}
			for _, row := range g[hi+1:] {
				if idCol >= len(row) || strings.TrimSpace(row[idCol]) == "" {
					break
				}
				m := map[string]string{}
				for h, i := range cols {
					if i < len(row) {
						m[h] = strings.TrimSpace(row[i])
					}
				}
				id := strings.TrimSpace(row[idCol])
				out[id] = m
				if id == "合计" {
					break
				}
			}
			return out
		}
	}
	t.Fatalf("%s: no per-staff table (a header with 工号 and 迟到次数)", file)
	return nil
}

func csvTables(t *testing.T, path string) []grid {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []grid{rows}
}

func xlsxTables(t *testing.T, path string) []grid {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	var out []grid
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("%s: sheet %s: %v", path, sheet, err)
		}
		out = append(out, rows)
	}
	return out
}

func htmlTables(t *testing.T, path string) []grid {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []grid
	var text func(n *html.Node, b *strings.Builder)
	text = func(n *html.Node, b *strings.Builder) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			text(c, b)
		}
	}
	var rows func(n *html.Node, g *grid)
	rows = func(n *html.Node, g *grid) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var row []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					var b strings.Builder
					text(c, &b)
					row = append(row, strings.TrimSpace(b.String()))
					if span, _ := strconv.Atoi(attr(c, "colspan")); span > 1 {
						for i := 1; i < span; i++ {
							row = append(row, "")
						}
					}
				}
			}
			*g = append(*g, row)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rows(c, g)
		}
	}
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" {
			var g grid
			rows(n, &g)
			out = append(out, g)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// checkDemoFiles opens the XLSX, CSV and HTML reports the demo wrote and compares each staff
// member's totals, as the file shows them, with what the scenario played (the plan, not the
// engine): a report written from no results, or from the wrong ones, fails here.
func checkDemoFiles(t *testing.T, outDir string, sc *demo.Scenario) {
	t.Helper()
	for _, f := range []struct {
		ext  string
		read func(*testing.T, string) []grid
	}{{"xlsx", xlsxTables}, {"csv", csvTables}, {"html", htmlTables}} {
		path := filepath.Join(outDir, "考勤月报-"+demo.Month+"."+f.ext)
		rows := staffRows(t, path, f.read(t, path))
		total, hasTotal := rows["合计"]
		delete(rows, "合计")
		if len(rows) != len(sc.Staff) {
			var extra []string
			for id := range rows {
				if sc.Expect[id] == nil {
					extra = append(extra, id)
				}
			}
			t.Errorf("%s: %d staff rows, the plan has %d staff; not in the plan: %q", f.ext, len(rows), len(sc.Staff), extra)
		}
		sum := demo.Expect{}
		for id, ex := range sc.Expect {
			sum.SegmentsDue += ex.SegmentsDue
			sum.Late, sum.LateMinutes = sum.Late+ex.Late, sum.LateMinutes+ex.LateMinutes
			sum.Early, sum.EarlyMinutes = sum.Early+ex.Early, sum.EarlyMinutes+ex.EarlyMinutes
			sum.MissingPunches += ex.MissingPunches
			sum.AbsentSegments += ex.AbsentSegments
			sum.OffPost += ex.OffPost
			sum.Exempt += ex.Exempt
			sum.UnrecognisedSlips += ex.UnrecognisedSlips
			row, ok := rows[id]
			if !ok {
				t.Errorf("%s: no row for staff %s", f.ext, id)
				continue
			}
			compareTotals(t, f.ext+": staff "+id, row, ex)
		}
		if hasTotal {
			compareTotals(t, f.ext+": 合计", total, &sum)
		} else if f.ext != "csv" {
			t.Errorf("%s: no 合计 line under the per-staff table", f.ext)
		}
	}
}

// compareTotals compares the totals of one line of a file with the plan's.
func compareTotals(t *testing.T, what string, row map[string]string, ex *demo.Expect) {
	t.Helper()
	for _, c := range []struct {
		head string
		want float64
	}{
		{"应出勤天数", float64(ex.SegmentsDue) / 2},
		{"迟到次数", float64(ex.Late)}, {"迟到分钟", float64(ex.LateMinutes)},
		{"早退次数", float64(ex.Early)}, {"早退分钟", float64(ex.EarlyMinutes)},
		{"缺卡次数", float64(ex.MissingPunches)}, {"旷工天数", float64(ex.AbsentSegments) / 2},
		{"脱岗次数", float64(ex.OffPost)}, {"免责次数", float64(ex.Exempt)}, {"未认可假条", float64(ex.UnrecognisedSlips)},
	} {
		text, ok := row[c.head]
		if !ok {
			t.Errorf("%s: no column %s", what, c.head)
			continue
		}
		if text == "-" {
			text = "0" // the workbook prints zeros as "-" so that the other counts stand out
		}
		got, err := strconv.ParseFloat(text, 64)
		if err != nil || got != c.want {
			t.Errorf("%s: %s: got %q, want %v", what, c.head, text, c.want)
		}
	}
}
