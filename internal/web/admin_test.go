package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestAdministration: an admin adds a staff member and a window head in the web; the staff
// member's checks are the roster's; the window head sees only their window; nobody but an admin
// administers; every change is audited.
func TestAdministration(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 8)
	admin := f.client(t).login("admin")
	post := func(c *client, path string, v url.Values) (*http.Response, string) {
		v.Set("csrf", c.csrf)
		return c.postForm(path, v)
	}
	for _, tc := range []struct {
		v    url.Values
		code int
		want string
	}{
		{url.Values{"staff_id": {"S0100"}, "name": {"王\u202e五"}, "window": {"W09"}, "unit": {"单位W09"}}, 422, "控制字符"},
		{url.Values{"staff_id": {"S0100"}, "name": {"王五"}, "window": {"W01"}, "unit": {"别的单位"}}, 409, "窗口改属此单位"},
		{url.Values{"staff_id": {"S0001"}, "name": {"王五"}, "window": {"W09"}, "unit": {"单位W09"}}, 422, "已有人使用"},
		{url.Values{"staff_id": {"S0100"}, "name": {"王五"}, "window": {"W09"}, "unit": {"单位W09"}, "start_date": {"2026-07-01"}}, 303, ""},
	} {
		resp, body := post(admin, "/admin/staff", tc.v)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("add staff %v: got %d, want %d with %q", tc.v, resp.StatusCode, tc.code, tc.want)
		}
	}
	if st, err := f.st.GetStaff(ctx, "S0100"); err != nil || st.Window != "W09" || st.Name != "王五" {
		t.Fatalf("staff added: %+v %v", st, err)
	}
	// Move S0100 to W01's unit's window W02 and give an end date.
	if resp, _ := post(admin, "/admin/staff/S0100", url.Values{"name": {"王五"}, "window": {"W02"}, "unit": {"单位W02"}, "end_date": {"2026-12-31"}}); resp.StatusCode != 303 {
		t.Errorf("move: got %d", resp.StatusCode)
	}
	if st, _ := f.st.GetStaff(ctx, "S0100"); st.Window != "W02" || st.EndDate != "2026-12-31" {
		t.Errorf("after the move: %+v", st)
	}
	for _, tc := range []struct {
		v    url.Values
		code int
		want string
	}{
		{url.Values{"name": {"head9"}, "role": {"window_head"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}, 422, "须选择其负责的窗口"},
		{url.Values{"name": {"head9"}, "role": {"window_head"}, "window": {"W09"}, "password": {"short"}, "password2": {"short"}}, 422, "至少 8 个字符"},
		{url.Values{"name": {"head9"}, "role": {"window_head"}, "window": {"W09"}, "password": {"long enough pw"}, "password2": {"other"}}, 422, "不一致"},
		{url.Values{"name": {"sup"}, "role": {"supervisor"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}, 409, "已被使用"},
		{url.Values{"name": {"head9"}, "role": {"window_head"}, "window": {"W02"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}, 303, ""},
	} {
		resp, body := post(admin, "/admin/users", tc.v)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("add user %v: got %d, want %d with %q", tc.v, resp.StatusCode, tc.code, tc.want)
		}
	}
	head := f.client(t)
	if resp, _ := head.postLogin(url.Values{"name": {"head9"}, "password": {"long enough pw"}}); resp.StatusCode != 303 {
		t.Fatalf("the new window head logs in: got %d", resp.StatusCode)
	}
	_, body := head.get("/today")
	if !strings.Contains(body, "王五") || strings.Contains(body, "员工S0001") {
		t.Errorf("the new head's today page: want W02 only (王五), not W01")
	}
	for _, p := range []string{"/admin/staff", "/admin/users", "/admin/windows"} {
		if resp, _ := head.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a window head at %s: got %d, want 403", p, resp.StatusCode)
		}
	}
	// Disable the account: its session ends at once.
	if resp, _ := post(admin, "/admin/users/head9", url.Values{"role": {"window_head"}, "window": {"W02"}, "disabled": {"1"}}); resp.StatusCode != 303 {
		t.Errorf("disable: got %d", resp.StatusCode)
	}
	if resp, _ := head.get("/today"); resp.StatusCode != http.StatusFound {
		t.Errorf("a disabled account's session: got %d, want the login", resp.StatusCode)
	}
	log, _ := f.st.AuditLog(ctx, 20)
	var got []string
	for _, e := range log {
		if e.Actor == "admin" && e.Entity != "session" {
			got = append(got, e.Action+" "+e.Entity)
		}
	}
	if strings.Join(got, ",") != "disable user,add user,move staff,add staff" {
		t.Errorf("audit: got %v", got)
	}
}

// TestChangePassword: everyone changes their own password; the wrong current password is
// refused; afterwards the old one no longer works.
func TestChangePassword(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("head")
	for _, tc := range []struct {
		v    url.Values
		code int
		want string
	}{
		{url.Values{"current": {"wrong"}, "new": {"a new password"}, "new2": {"a new password"}}, 422, "当前密码不对"},
		{url.Values{"current": {testPassword}, "new": {"a new password"}, "new2": {"another one"}}, 422, "不一致"},
		{url.Values{"current": {testPassword}, "new": {"a new password"}, "new2": {"a new password"}}, 303, ""},
	} {
		tc.v.Set("csrf", c.csrf)
		resp, body := c.postForm("/password", tc.v)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%v: got %d, want %d with %q", tc.v, resp.StatusCode, tc.code, tc.want)
		}
	}
	if resp, _ := f.client(t).postLogin(url.Values{"name": {"head"}, "password": {testPassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: got %d, want 401", resp.StatusCode)
	}
	if resp, _ := f.client(t).postLogin(url.Values{"name": {"head"}, "password": {"a new password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password: got %d, want 303", resp.StatusCode)
	}
}
