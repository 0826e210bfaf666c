package web

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestEntryProblems: each form says what is wrong next to the field, in Chinese, from the CSV
// import's checks.
func TestEntryProblems(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("sup")
	tests := []struct {
		kind  string
		form  url.Values
		field string
		want  string
	}{
		{"leave", url.Values{"staff_id": {"S0001"}, "type": {"sick"}, "start": {"2026-07-15 12:00"}, "end": {"2026-07-15 08:30"}}, "end", "早于开始时间"},
		{"leave", url.Values{"staff_id": {"S9999"}, "type": {"sick"}, "start": {"2026-07-15 08:30"}, "end": {"2026-07-15 12:00"}}, "staff_id", `工号“S9999”不在人员名单中`},
		{"leave", url.Values{"staff_id": {"S0001"}, "type": {"holiday"}, "start": {"2026-07-15 08:30"}, "end": {"2026-07-15 12:00"}}, "type", `未知的假别“holiday”`},
		{"leave", url.Values{"staff_id": {"S0001"}, "type": {"sick"}, "start": {"tomorrow"}, "end": {"2026-07-15 12:00"}}, "start", `格式不对`},
		{"patrol", url.Values{"staff_id": {"S0001"}, "from": {"2026-07-15 09:00"}, "to": {"2026-07-15 09:10"}, "observation": {"asleep"}}, "observation", "应为在岗或不在岗"},
		{"failure", url.Values{"staff_id": {"*"}, "clock": {"roof"}, "from": {"2026-07-15 08:00"}, "to": {"2026-07-15 09:00"}}, "clock", `打卡机“roof”未在配置中`},
		{"signin", url.Values{"staff_id": {"S0001"}, "time": {"2026-07-15 08:35"}}, "reason", "请填写原因"},
	}
	for _, tc := range tests {
		tc.form.Set("csrf", c.csrf)
		resp, body := c.postForm("/entry/"+tc.kind, tc.form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s %v: got %d, want 422", tc.kind, tc.form, resp.StatusCode)
			continue
		}
		// The message sits in the field's own block, after its input.
		i := strings.Index(body, `id="f-`+tc.field+`"`)
		j := strings.Index(body[max(i, 0):], `</div>`)
		if i < 0 || j < 0 || !strings.Contains(html.UnescapeString(body[i:i+j]), tc.want) {
			t.Errorf("%s: field %s does not say %q", tc.kind, tc.field, tc.want)
		}
	}
	// The API answers the same problems by field.
	resp, body := c.postJSON("/api/v1/entries/leave", map[string]any{"staff_id": "S0001", "type": "sick", "start": "2026-07-15 08:30",
		"end": "2026-07-15 12:00", "approvals": []string{"hospital_cert", "bribe"}})
	var got apiError
	json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got.Fields["approvals"], "bribe") {
		t.Errorf("API: got %d %s, want 422 naming the approvals", resp.StatusCode, body)
	}
}

// TestEntriesChangeResults: a leave slip, a patrol, a failure report and a manual sign-in each
// land in the store, in the audit log, wake the worker, and change the day.
func TestEntriesChangeResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, 10)
		c := f.client(t).login("sup")
		post := func(kind string, v url.Values) {
			t.Helper()
			v.Set("csrf", c.csrf)
			resp, body := c.postForm("/entry/"+kind, v)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: got %d: %s", kind, resp.StatusCode, body)
			}
			select {
			case <-f.woken:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the worker was not woken", kind)
			}
		}
		post("leave", url.Values{"staff_id": {"S0005"}, "type": {"sick"}, "start": {"2026-07-15T08:30"}, "end": {"2026-07-15T18:00"},
			"filed_at": {"2026-07-15 08:00"}, "approvals": {"window_head", "center_leader", "hospital_cert"}})
		post("signin", url.Values{"staff_id": {"S0010"}, "time": {"2026-07-15 08:33"}, "reason": {"手指受伤"}})
		post("failure", url.Values{"staff_id": {"*"}, "clock": {"hall"}, "from": {"2026-07-15 08:00"}, "to": {"2026-07-15 08:40"}, "reported_at": {"2026-07-15 08:45"}})
		post("patrol", url.Values{"staff_id": {"S0002"}, "from": {"2026-07-15 09:30"}, "to": {"2026-07-15 10:00"}, "observation": {"absent"}})
		f.recompute(t)
		resp, body := c.get("/api/v1/today")
		if resp.StatusCode != 200 {
			t.Fatalf("API today: %d", resp.StatusCode)
		}
		for _, want := range []string{`"state": "leave"`, "08:33签到", "脱岗1次"} {
			if !strings.Contains(body, want) {
				t.Errorf("today after the entries lacks %s: %s", want, body)
			}
		}
		log, _ := st.AuditLog(ctx, 20)
		seen := map[string]bool{}
		for _, e := range log {
			if e.Actor == "sup" {
				seen[e.Entity] = true
			}
		}
		for _, want := range []string{"leave_slip", "manual_signin", "failure_report", "patrol"} {
			if !seen[want] {
				t.Errorf("no audit entry by sup for %s (have %v)", want, seen)
			}
		}
	})
}

// TestCloseAndCorrect: HR closes a month (refused while results are provisional), then corrects a
// segment with a reason; the audit log has the old and the new values; a supervisor may do neither.
func TestCloseAndCorrect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, 4)
		// Move the dashboard to August, so that July has ended.
		f.s.o.Now = func() time.Time { return testNow.AddDate(0, 1, 0) }
		sup := f.client(t).login("sup")
		if resp, _ := sup.postForm("/month/2026-07/close", url.Values{"csrf": {sup.csrf}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("supervisor closing: got %d, want 403", resp.StatusCode)
		}
		hr := f.client(t).login("hr")
		resp, body := hr.postForm("/month/2026-07/close", url.Values{"csrf": {hr.csrf}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请在确认框中输入 2026-07") {
			t.Fatalf("closing without typing the month: got %d, want 422 asking for it", resp.StatusCode)
		}
		resp, body = hr.postForm("/month/2026-07/close", url.Values{"csrf": {hr.csrf}, "confirm": {"2026-07"}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "暂定") {
			t.Fatalf("closing with provisional results: got %d, want 409 naming them", resp.StatusCode)
		}
		if err := st.TouchClockRead(ctx, "hall", wall("2026-08-01 07:00:00")); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchClockRead(ctx, "side", wall("2026-08-01 07:00:00")); err != nil {
			t.Fatal(err)
		}
		f.worker = newWorker(f, testNow.AddDate(0, 1, 0))
		if _, err := f.worker.Finalize(ctx); err != nil {
			t.Fatal(err)
		}
		f.recompute(t)
		resp, body = hr.postForm("/month/2026-07/close", url.Values{"csrf": {hr.csrf}, "confirm": {"2026-07"}})
		if resp.StatusCode != http.StatusSeeOther {
			i := strings.Index(body, `class="error"`)
			t.Fatalf("close: got %d: %s", resp.StatusCode, body[i:i+400])
		}
		_, body = hr.get("/month?month=2026-07")
		if !strings.Contains(body, "由 hr 结账") {
			t.Errorf("month page does not say it is closed")
		}
		resp, body = hr.postForm("/entry/correction", url.Values{"csrf": {hr.csrf}, "staff_id": {"S0003"}, "day": {"2026-07-15"}, "segment": {"am"},
			"findings": {"LEAVE"}, "leave_type": {"sick"}, "reason": {"补交病假条"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("correction: got %d: %s", resp.StatusCode, body)
		}
		log, _ := st.AuditLog(ctx, 5)
		if log[0].Action != "correct" || !strings.Contains(log[0].OldValue, "LATE") || !strings.Contains(log[0].NewValue, "LEAVE") {
			t.Errorf("audit of the correction: got %+v", log[0])
		}
		_, body = hr.get("/audit")
		if !strings.Contains(body, "补交病假条") {
			t.Errorf("audit page lacks the correction's reason")
		}
		if resp, _ := sup.get("/entry/correction"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("supervisor's correction form: got %d, want 403", resp.StatusCode)
		}
		resp, body = hr.get("/month/2026-07/report.xlsx")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "PK") || !strings.Contains(resp.Header.Get("Content-Disposition"), "kaoqin-2026-07.xlsx") {
			t.Errorf("XLSX download: got %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		resp, body = hr.get("/month/2026-07/report.csv")
		if resp.StatusCode != 200 || !strings.Contains(body, "S0003") {
			t.Errorf("CSV download: got %d", resp.StatusCode)
		}
	})
}

func TestClocksAndEnroll(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	if _, err := f.st.InsertPunches(ctx, []store.Punch{{Clock: "hall", UserID: "77", Time: wall("2026-07-15 08:10:00")}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RecordUnknownPush(ctx, "CQZ7000001", "192.0.2.7:4370", wall("2026-07-15 08:20:00")); err != nil {
		t.Fatal(err)
	}
	c := f.client(t).login("admin")
	_, body := c.get("/clocks")
	for _, want := range []string{"hall", "side", "77", "打卡时段开始后未读取", "CQZ7000001", "<td>-93 秒</td>", "42%"} {
		if !strings.Contains(body, want) {
			t.Errorf("clocks page lacks %q", want)
		}
	}
	if strings.Contains(body, "%!") {
		t.Errorf("clocks page shows a formatting error:\n%s", body)
	}
	resp, _ := c.postForm("/clocks/enroll", url.Values{"csrf": {c.csrf}, "clock": {"hall"}, "clock_user_id": {"77"}, "staff_id": {"S0002"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enroll: got %d", resp.StatusCode)
	}
	unk, _ := f.st.UnknownUsers(ctx)
	if len(unk) != 0 {
		t.Errorf("unknown users after enrolling: %v", unk)
	}
	resp, body = c.get("/api/v1/clocks")
	if resp.StatusCode != 200 || !strings.Contains(body, `"name": "side"`) || !strings.Contains(body, `"serial_number": "CQZ7000001"`) {
		t.Errorf("API clocks: %d %s", resp.StatusCode, body)
	}
}
