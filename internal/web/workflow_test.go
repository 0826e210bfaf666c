package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func (c *client) postMultipart(path string, fields map[string]string, files map[string][]byte) (*http.Response, string) {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", c.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, data := range files {
		fw, err := mw.CreateFormFile(k, k+".bin")
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return c.do("POST", path, &b, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// wlogin logs in as name and keeps the CSRF token from a page that account may open.
func (f *fixture) wlogin(t *testing.T, name string) *client {
	t.Helper()
	c := f.client(t)
	resp, body := c.postLogin(url.Values{"name": {name}, "password": {testPassword}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: got %d: %s", name, resp.StatusCode, body)
	}
	for _, p := range []string{"/self", "/approvals", "/today"} {
		if resp, body := c.get(p); resp.StatusCode == 200 {
			if m := csrfRE.FindStringSubmatch(body); m != nil {
				c.csrf = m[1]
				return c
			}
		}
	}
	t.Fatalf("login %s: no page with a CSRF token", name)
	return nil
}

var requestIDRE = regexp.MustCompile(`id="done-link">(\d+)<`)

func TestSelfLeaveAttachments(t *testing.T) {
	f := workflowFixture(t)
	f.s.o.Attachments.MaxBytes = 2000
	zs := f.wlogin(t, "zs")
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, bytes.Repeat([]byte{1}, 100)...)
	pdf := []byte("%PDF-1.7\n...")
	leaveFields := map[string]string{"type": "sick", "start": "2026-07-20 08:30", "end": "2026-07-24 18:00", "reason": "住院"}
	cases := []struct {
		name  string
		files map[string][]byte
		code  int
		want  string
	}{
		{"a PNG hospital certificate", map[string][]byte{"att_hospital_cert": png}, 200, "已提交"},
		{"PDF notice and certificate", map[string][]byte{"att_hospital_cert": pdf, "att_notice": pdf}, 200, "已提交"},
		{"no certificate: filed, warned", nil, 200, "缺少附件：医院证明"},
		{"a text file", map[string][]byte{"att_hospital_cert": []byte("I am a certificate")}, 422, "不是 PDF、JPEG 或 PNG 文件"},
		{"too large", map[string][]byte{"att_hospital_cert": append(pdf, bytes.Repeat([]byte{0}, 3000)...)}, 422, "超过上限"},
		{"empty", map[string][]byte{"att_hospital_cert": {}}, 422, "空文件"},
	}
	for _, c := range cases {
		resp, body := zs.postMultipart("/self/new/leave", leaveFields, c.files)
		if resp.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: got %d, want %d with %q", c.name, resp.StatusCode, c.code, c.want)
		}
	}
	// Multipart anywhere else is still refused.
	if resp, _ := zs.postMultipart("/entry/leave", nil, nil); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("multipart to /entry/leave: got %d, want 415", resp.StatusCode)
	}
	qs, err := f.st.ListRequests(ctx, store.RequestFilter{StaffID: "S0002"})
	if err != nil || len(qs) != 3 {
		t.Fatalf("requests stored: got %d, %v; want 3", len(qs), err)
	}
	q, _ := f.st.GetRequest(ctx, qs[len(qs)-1].ID)
	if len(q.Attachments) != 1 || q.Attachments[0].ContentType != "image/png" {
		t.Fatalf("attachment of the first request: %+v", q.Attachments)
	}
	path := "/attachments/" + itoa(q.Attachments[0].ID)
	if resp, body := zs.get(path); resp.StatusCode != 200 || body != string(png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the staff member downloads their attachment: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := f.wlogin(t, "s13").get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another staff member downloads it: got %d, want 404", resp.StatusCode)
	}
	if resp, _ := f.wlogin(t, "head").get(path); resp.StatusCode != 200 {
		t.Errorf("the window head downloads it: got %d, want 200", resp.StatusCode)
	}
}

func itoa(n int64) string { return formatInt(n) }

func formatInt(n int64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestWorkflowPagesByRole(t *testing.T) {
	f := workflowFixture(t)
	zs := f.wlogin(t, "zs")
	_, body := zs.postMultipart("/self/new/leave", map[string]string{"type": "personal", "start": "2026-07-16 08:30",
		"end": "2026-07-16 12:00", "reason": "办事"}, nil)
	m := requestIDRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("filing: %s", body)
	}
	detail := "/approvals/" + m[1]
	// Another window's unit leader and a staff member of another window see nothing; the staff
	// member cannot approve their own.
	unit2 := store.User{Name: "unit2", Role: store.RoleUnitLeader, Unit: "单位W02", PasswordHash: testHash}
	if err := f.st.AddUser(ctx, unit2, "test"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user, method, path string
		form               url.Values
		code               int
		want               string
	}{
		{"zs", "GET", "/today", nil, 403, ""},
		{"zs", "GET", "/self", nil, 200, "我的申请"},
		{"zs", "GET", detail, nil, 200, "等待窗口负责人审批"},
		{"zs", "POST", detail, url.Values{"action": {"approve"}}, 422, "不能审批自己的申请"},
		{"zs", "GET", "/entry/leave", nil, 403, ""},
		{"zs", "GET", "/api/v1/today", nil, 403, ""},
		{"lead", "POST", "/entry/leave", url.Values{"staff_id": {"S0001"}}, 403, ""},
		{"s13", "GET", detail, nil, 404, ""},
		{"unit2", "GET", detail, nil, 404, ""},
		{"unit2", "GET", "/today", nil, 403, ""},
		{"lead", "POST", detail, url.Values{"action": {"approve"}}, 422, "正等待窗口负责人审批"},
		{"head", "POST", detail, url.Values{"action": {"reject"}}, 422, "驳回须填写理由"},
		{"head", "POST", detail, url.Values{"action": {"approve"}, "comment": {"同意"}}, 303, ""},
		{"lead", "GET", "/approvals", nil, 200, "queue-" + m[1]},
		{"hr", "GET", "/balances", nil, 200, "年休假额度"},
		{"hr", "POST", "/balances", url.Values{"year": {"2026"}, "staff_id": {"S0002"}, "days": {"7.5"}}, 303, ""},
		{"hr", "POST", "/balances", url.Values{"year": {"2026"}, "staff_id": {"S0002"}, "days": {"1.25"}}, 422, "以半天计"},
		{"zs", "GET", "/self", nil, 200, "额度 7.5 天"},
		{"zs", "GET", "/balances", nil, 403, ""},
		{"sup", "POST", detail + "/phone", url.Values{"at": {"2026-07-15 09:00"}}, 303, ""},
		{"head", "POST", detail + "/phone", url.Values{"at": {"2026-07-15 09:00"}}, 422, "只有督查科"},
	}
	clients := map[string]*client{"zs": zs}
	for _, c := range cases {
		cl := clients[c.user]
		if cl == nil {
			cl = f.wlogin(t, c.user)
			clients[c.user] = cl
		}
		var resp *http.Response
		var body string
		if c.method == "GET" {
			resp, body = cl.get(c.path)
		} else {
			c.form.Set("csrf", cl.csrf)
			resp, body = cl.postForm(c.path, c.form)
		}
		if resp.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: got %d, want %d with %q", c.user, c.method, c.path, resp.StatusCode, c.code, c.want)
		}
	}
	_ = storetest.Location
}

// A 补卡 filed in the form the same day and accepted by 督查科 exempts the missed punch; a failure
// report is stamped with its filing time, never a typed one.
func TestSelfMakeupAndFailureForms(t *testing.T) {
	f := workflowFixture(t)
	if err := f.st.AddUser(ctx, store.User{Name: "s5", Role: store.RoleStaff, StaffID: "S0005", PasswordHash: testHash}, "test"); err != nil {
		t.Fatal(err)
	}
	s5 := f.wlogin(t, "s5")
	bad := []struct {
		kind string
		form url.Values
		want string
	}{
		{"makeup", url.Values{"date": {"2026-07-15"}, "punch": {"pm_out"}, "reason": {"x"}}, "还没有开始"},
		{"makeup", url.Values{"date": {"2026-07-12"}, "punch": {"am_in"}, "reason": {"x"}}, "不是工作日"},
		{"makeup", url.Values{"date": {"7月15日"}, "punch": {"am_in"}, "reason": {"x"}}, "格式不对"},
		{"failure", url.Values{"at": {"2026-07-15 11:00"}, "reason": {"识别不了"}}, "只能报告已经发生的故障"},
		{"failure", url.Values{"at": {"2026-07-15 08:05"}}, "请说明"},
	}
	for _, b := range bad {
		b.form.Set("csrf", s5.csrf)
		if resp, body := s5.postForm("/self/new/"+b.kind, b.form); resp.StatusCode != 422 || !strings.Contains(body, b.want) {
			t.Errorf("%s %v: got %d, want 422 with %q", b.kind, b.form, resp.StatusCode, b.want)
		}
	}
	resp, body := s5.postForm("/self/new/makeup", url.Values{"csrf": {s5.csrf}, "date": {"2026-07-15"}, "punch": {"am_in"}, "reason": {"指纹识别不了"}})
	m := requestIDRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, "督查科登记受理") {
		t.Fatalf("makeup filed: %d %s", resp.StatusCode, body)
	}
	sup := f.wlogin(t, "sup")
	if resp, body := sup.postForm("/approvals/"+m[1], url.Values{"csrf": {sup.csrf}, "action": {"approve"}, "comment": {"已核实"}}); resp.StatusCode != 303 {
		t.Fatalf("督查科 accepts: %d %s", resp.StatusCode, body)
	}
	f.recompute(t)
	f.invalidate()
	_, body = s5.get("/self?month=2026-07")
	row := regexp.MustCompile(`(?s)<tr id="day-2026-07-15-上午".*?</tr>`).FindString(body)
	if !strings.Contains(row, "故障免责") {
		t.Errorf("S0005's morning after the 补卡: %q, want 故障免责", row)
	}
	resp, body = s5.postForm("/self/new/failure", url.Values{"csrf": {s5.csrf}, "at": {"2026-07-15 08:05"}, "reason": {"考勤机黑屏"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "已提交") {
		t.Fatalf("failure report filed: %d", resp.StatusCode)
	}
	qs, _ := f.st.ListRequests(ctx, store.RequestFilter{StaffID: "S0005", Limit: 1})
	if len(qs) != 1 || qs[0].Kind != "failure" || !qs[0].FiledAt.Equal(wall("2026-07-15 10:40:00")) {
		t.Errorf("failure report: %+v, want filed at the page's now 2026-07-15 10:40", qs)
	}
}

// With workflow.attachments_dir, an attachment is a file named by its hash, not a row's blob,
// and is served from there.
func TestAttachmentsInDirectory(t *testing.T) {
	f := workflowFixture(t)
	dir := t.TempDir()
	f.s.o.Attachments.Dir = dir
	zs := f.wlogin(t, "zs")
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 500)...)
	resp, body := zs.postMultipart("/self/new/leave", map[string]string{"type": "meeting", "start": "2026-07-20 08:30",
		"end": "2026-07-20 12:00", "reason": "业务培训"}, map[string][]byte{"att_notice": jpeg, "att_unit_cert": jpeg})
	if resp.StatusCode != 200 || !strings.Contains(body, "已提交") || strings.Contains(body, "缺少附件") {
		t.Fatalf("filed: %d", resp.StatusCode)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".jpg") {
		t.Fatalf("directory holds %v, want one file (the same content twice is stored once)", entries)
	}
	qs, _ := f.st.ListRequests(ctx, store.RequestFilter{StaffID: "S0002"})
	q, _ := f.st.GetRequest(ctx, qs[0].ID)
	a, err := f.st.GetAttachment(ctx, q.Attachments[0].ID)
	if err != nil || len(a.Data) != 0 || a.Path != entries[0].Name() {
		t.Fatalf("stored attachment: %+v %v", a, err)
	}
	if resp, got := zs.get("/attachments/" + itoa(a.ID)); resp.StatusCode != 200 || got != string(jpeg) {
		t.Errorf("download from the directory: %d, %d bytes", resp.StatusCode, len(got))
	}
}
