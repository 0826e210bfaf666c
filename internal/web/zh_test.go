package web

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestEntryMessagesInChinese submits each entry form with every field empty and then with bad
// values: every message the page shows is in Chinese (zh.go knows every message the checks give).
var quoted = regexp.MustCompile(`“[^”]*”`)

func TestEntryMessagesInChinese(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("hr")
	bad := map[string]string{"staff_id": "S9999", "type": "nope", "start": "2026-07-15T18:00", "end": "2026-07-15T08:00", "filed_at": "yesterday",
		"approvals": "boss", "phone_notice_at": "soon", "from": "2026-07-15T10:00", "to": "2026-07-15T09:00", "observation": "maybe",
		"clock": "nowhere", "reported_at": "2026-13-01T00:00", "time": "25:00", "reason": "", "day": "2026-02-30", "segment": "noon",
		"findings": "LATE;BOGUS", "late_minutes": "-3", "early_minutes": "x", "off_post": "9999", "leave_type": "personal"}
	errRE := regexp.MustCompile(`(?s)class="error"[^>]*>(.*?)</`)
	for _, k := range entryKinds {
		for name, vals := range map[string]url.Values{"empty": {}, "bad": {}} {
			vals.Set("csrf", c.csrf)
			if name == "bad" {
				for _, fl := range k.Fields(f.s) {
					if v, ok := bad[fl.Name]; ok {
						vals.Set(fl.Name, v)
					}
				}
			}
			resp, body := c.postForm("/entry/"+k.Name, vals)
			if resp.StatusCode != 422 {
				t.Errorf("%s %s: got %d, want 422", k.Name, name, resp.StatusCode)
				continue
			}
			for _, m := range errRE.FindAllStringSubmatch(body, -1) {
				msg := m[1]
				// What the user typed is quoted back “like this”; the words around it are Chinese.
				words := quoted.ReplaceAllString(msg, "")
				if w := asciiWord.FindString(visibleText(words)); w != "" || strings.Contains(msg, `&#34;`) || strings.Contains(msg, "“”") {
					t.Errorf("%s %s: message %q is not in Chinese (%q)", k.Name, name, msg, w)
				}
			}
		}
	}
}

// TestAuditWordsComplete reads the store's sources for every audit action, kind of record and
// field it writes, and finds each in zh.go: a new one without its words fails here.
func TestAuditWordsComplete(t *testing.T) {
	files, err := filepath.Glob("../store/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("store sources: %v", err)
	}
	action := regexp.MustCompile(`Action: *"([a-z_]+)"|updateUser\(ctx, [a-z]+, [a-z]+, "([a-z_]+)"`)
	entity := regexp.MustCompile(`Entity: *"([a-z_]+)"|Entity[A-Za-z]+ *= *"([a-z_]+)"`)
	jsonMap := regexp.MustCompile(`(?s)(?:jsonString|json\.Marshal)\(map\[string\]any\{(.*?)\}\)`)
	key := regexp.MustCompile(`"([a-z_]+)":`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range action.FindAllStringSubmatch(src, -1) {
			if a := m[1] + m[2]; actionNames[a] == "" {
				t.Errorf("%s: audit action %q has no words in actionNames", f, a)
			}
		}
		for _, m := range entity.FindAllStringSubmatch(src, -1) {
			if e := m[1] + m[2]; entityNames[e] == "" {
				t.Errorf("%s: audit entity %q has no words in entityNames", f, e)
			}
		}
		for _, m := range jsonMap.FindAllStringSubmatch(src, -1) {
			for _, k := range key.FindAllStringSubmatch(m[1], -1) {
				if k[1] != "id" && fieldNames[k[1]] == "" {
					t.Errorf("%s: audit field %q has no words in fieldNames", f, k[1])
				}
			}
		}
	}
	for code := range map[string]bool{"ABSENT": true, "EARLY": true, "EXEMPT": true, "LATE": true, "LEAVE": true, "LEAVE_UNRECOGNISED": true,
		"MISSING_IN": true, "MISSING_OUT": true, "OFF_POST": true} {
		if findingNames[code] == "" {
			t.Errorf("finding %s has no words", code)
		}
	}
}

// TestAuditPage: an entry, its withdrawal and a login read as Chinese sentences, filtered by
// person and kind, a page at a time.
func TestAuditPage(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 8)
	c := f.client(t).login("sup")
	resp, body := c.postForm("/entry/leave", url.Values{"csrf": {c.csrf}, "staff_id": {"S0005"}, "type": {"sick"}, "start": {"2026-07-15T08:30"},
		"end": {"2026-07-15T18:00"}, "approvals": {"window_head", "center_leader"}})
	if resp.StatusCode != 303 {
		t.Fatalf("leave: got %d: %s", resp.StatusCode, body)
	}
	slips, _ := f.st.ListLeaveSlips(ctx, store.EntryFilter{From: wall("2026-07-01 00:00:00"), To: wall("2026-08-01 00:00:00")})
	resp, _ = c.postForm(fmt.Sprintf("/entries/leave/%d/withdraw", slips[0].ID), url.Values{"csrf": {c.csrf}, "reason": {"录错了人"}})
	if resp.StatusCode != 303 {
		t.Fatalf("withdraw: got %d", resp.StatusCode)
	}
	admin := f.client(t).login("admin")
	_, body = admin.get("/audit?actor=sup&entity=leave_slip")
	for _, want := range []string{"录入", "撤销", "员工S0005（S0005）的请假条", "假别：病假", "审批：窗口负责人、中心分管领导", "原因：录错了人"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(body, "登录</td>") {
		t.Errorf("the kind filter let a login through")
	}
	if w := asciiWord.FindString(visibleText(strings.ReplaceAll(body, "S0005", ""))); w != "" {
		t.Errorf("audit page has the English word %q", w)
	}
	_, body = admin.get("/audit")
	if !strings.Contains(body, "登录") || !strings.Contains(body, "账号 sup 的登录") {
		t.Errorf("the unfiltered log lacks the logins")
	}
}

// TestPagesInChinese opens every page of the center's day as its users see them and finds no
// English word, rule number or record id in what they read.
func TestPagesInChinese(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 8)
	if _, err := f.st.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "S0002", From: wall("2026-07-15 09:30:00"), To: wall("2026-07-15 10:05:00")}}, "test"); err != nil {
		t.Fatal(err)
	}
	f.recompute(t)
	sup := f.client(t).login("sup")
	sup.postForm("/entry/leave", url.Values{"csrf": {sup.csrf}, "staff_id": {"S0005"}, "type": {"personal"}, "start": {"2026-07-15T08:30"},
		"end": {"2026-07-15T18:00"}, "filed_at": {"2026-07-15T09:00"}, "approvals": {"window_head"}})
	f.recompute(t)
	admin := f.client(t).login("admin")
	rule := regexp.MustCompile(`\bR\d+\b|［[^］]*］`)
	for _, tc := range []struct {
		c    *client
		path string
	}{
		{sup, "/today"}, {sup, "/today?date=2026-07-14"}, {sup, "/staff/S0002"}, {sup, "/staff/S0005?date=2026-07-15"},
		{sup, "/clocks"}, {sup, "/entries?kind=leave&from=2026-07-01&to=2026-07-31"}, {sup, "/entries?kind=patrol&from=2026-07-01&to=2026-07-31"},
		{sup, "/entries?kind=failure"}, {sup, "/entries?kind=signin"}, {sup, "/entry/leave"}, {sup, "/entry/patrol"}, {sup, "/entry/failure"},
		{sup, "/entry/signin"}, {admin, "/entry/correction"}, {admin, "/audit"}, {admin, "/admin/staff"}, {admin, "/admin/staff/S0001"},
		{admin, "/admin/windows"}, {admin, "/admin/users"}, {sup, "/password"}, {sup, "/nope"},
	} {
		_, body := tc.c.get(tc.path)
		txt := visibleText(body)
		for _, id := range []string{"S0001", "S0002", "S0005", "W01", "W02"} {
			txt = strings.ReplaceAll(txt, id, "")
		}
		if w := asciiWord.FindString(txt); w != "" {
			i := strings.Index(txt, w)
			t.Errorf("%s: English word %q: …%s…", tc.path, w, txt[max(0, i-60):min(len(txt), i+60)])
		}
		if m := rule.FindString(txt); m != "" {
			t.Errorf("%s: rule number or record id %q", tc.path, m)
		}
	}
}
