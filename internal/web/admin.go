package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Administration in the web (管理, admins only): staff (add, edit, move to another window, end
// date), windows and their units, and web accounts (add, disable, reset the password, role and
// window); and for everyone, changing one's own password. Every change goes through the same
// store checks as the CLI and is audited.

type adminData struct {
	Tab     string
	Notice  string
	Error   string
	Staff   []store.Staff
	Edit    *store.Staff // the staff member being edited (nil: a new one)
	Form    store.Staff  // the form's values
	Move    bool
	Query   string
	Windows []store.WindowInfo
	Units   []string
	Users   []store.User
	Roles   []option
	NewUser store.User
}

func (s *server) adminBase(r *http.Request, d *adminData) error {
	ctx := r.Context()
	var err error
	if d.Windows, err = s.st.Windows(ctx); err != nil {
		return err
	}
	for _, w := range d.Windows {
		if w.Unit != "" && !slices.Contains(d.Units, w.Unit) {
			d.Units = append(d.Units, w.Unit)
		}
	}
	slices.Sort(d.Units)
	for _, r := range store.Roles {
		d.Roles = append(d.Roles, option{Value: r, Label: roleNames[r]})
	}
	return nil
}

func (s *server) requireAdmin(w http.ResponseWriter, r *http.Request, u *session) bool {
	if !u.can("admin") {
		s.fail(w, r, false, http.StatusForbidden, "只有管理员可以管理人员、窗口和账号。")
		return false
	}
	return true
}

// --- staff ---

func (s *server) adminStaffPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) {
		return
	}
	d := adminData{Tab: "staff", Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if r.URL.Query().Get("saved") != "" {
		d.Notice = "已保存" + r.URL.Query().Get("saved") + "。相关窗口的考勤结果正在重新计算。"
	}
	if id := r.PathValue("id"); id != "" {
		st, err := s.st.GetStaff(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, false, http.StatusNotFound, "没有这位工作人员。")
			return
		}
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		d.Edit, d.Form = &st, st
	}
	s.showAdminStaff(w, r, u, http.StatusOK, d)
}

func (s *server) showAdminStaff(w http.ResponseWriter, r *http.Request, u *session, code int, d adminData) {
	if err := s.adminBase(r, &d); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	all, err := s.st.ListStaff(r.Context())
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	for _, st := range all {
		if d.Query == "" || strings.Contains(st.StaffID, d.Query) || strings.Contains(st.Name, d.Query) || st.Window == d.Query || st.Unit == d.Query {
			d.Staff = append(d.Staff, st)
		}
	}
	s.renderPage(w, code, "admin", &pageData{Title: "人员管理", U: u, Data: d})
}

func (s *server) adminStaffPost(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) || !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	st := store.Staff{StaffID: strings.TrimSpace(f.Get("staff_id")), Name: strings.TrimSpace(f.Get("name")), Window: strings.TrimSpace(f.Get("window")),
		Unit: strings.TrimSpace(f.Get("unit")), StartDate: f.Get("start_date"), EndDate: f.Get("end_date")}
	d := adminData{Tab: "staff", Form: st, Move: f.Get("move_window") != ""}
	if id := r.PathValue("id"); id != "" {
		old, err := s.st.GetStaff(r.Context(), id)
		if err != nil {
			s.fail(w, r, false, http.StatusNotFound, "没有这位工作人员。")
			return
		}
		d.Edit, st.StaffID, d.Form.StaffID = &old, id, id
	}
	if msg := staffProblem(st); msg != "" {
		d.Error = msg
		s.showAdminStaff(w, r, u, http.StatusUnprocessableEntity, d)
		return
	}
	if d.Edit == nil {
		if _, err := s.st.GetStaff(r.Context(), st.StaffID); err == nil {
			d.Error = "工号“" + st.StaffID + "”已有人使用；要修改请在列表中点“编辑”。"
			s.showAdminStaff(w, r, u, http.StatusUnprocessableEntity, d)
			return
		}
	}
	_, err := s.st.SaveStaff(r.Context(), st, u.name(), d.Move)
	switch {
	case errors.Is(err, store.ErrWindowMove):
		d.Error = "窗口“" + st.Window + "”属于另一个单位；如果这个窗口确实改属“" + st.Unit + "”，请勾选“窗口改属此单位”后再保存。"
		s.showAdminStaff(w, r, u, http.StatusConflict, d)
	case errors.Is(err, store.ErrBadInput):
		d.Error = "填写有误，请检查各项。"
		s.showAdminStaff(w, r, u, http.StatusUnprocessableEntity, d)
	case err != nil:
		s.serverError(w, r, false, err)
	default:
		s.o.Wake()
		s.dir.mu.Lock()
		s.dir.expires = s.dir.expires.AddDate(-1, 0, 0) // the filters' lists change
		s.dir.mu.Unlock()
		http.Redirect(w, r, "/admin/staff?"+url.Values{"saved": {st.Name + "（" + st.StaffID + "）"}}.Encode(), http.StatusSeeOther)
	}
}

// staffProblem checks a staff member's fields as the roster import does ("" when all is well).
func staffProblem(st store.Staff) string {
	for _, f := range []struct{ label, v string }{{"工号", st.StaffID}, {"姓名", st.Name}, {"窗口", st.Window}, {"单位", st.Unit}} {
		switch {
		case f.v == "":
			return "请填写" + f.label + "。"
		case len(f.v) > 100:
			return f.label + "过长（最多 100 字节）。"
		}
		if _, bad := csvio.ForbiddenRune(f.v); bad {
			return f.label + "中有控制字符或方向控制字符，请删除后重新输入。"
		}
	}
	for _, d := range []struct{ label, v string }{{"入职日期", st.StartDate}, {"离岗日期", st.EndDate}} {
		if d.v == "" {
			continue
		}
		if _, err := attendance.ParseDate(d.v); err != nil {
			return d.label + "不对：应为 年-月-日。"
		}
	}
	if st.StartDate != "" && st.EndDate != "" && st.EndDate < st.StartDate {
		return "离岗日期早于入职日期。"
	}
	return ""
}

// --- windows ---

func (s *server) adminWindowsPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) {
		return
	}
	d := adminData{Tab: "windows"}
	if v := r.URL.Query().Get("saved"); v != "" {
		d.Notice = "已保存窗口“" + v + "”。"
	}
	s.showAdminWindows(w, r, u, http.StatusOK, d)
}

func (s *server) showAdminWindows(w http.ResponseWriter, r *http.Request, u *session, code int, d adminData) {
	if err := s.adminBase(r, &d); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	s.renderPage(w, code, "admin", &pageData{Title: "窗口与单位", U: u, Data: d})
}

func (s *server) adminWindowsPost(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) || !s.parseForm(w, r) {
		return
	}
	win, unit := strings.TrimSpace(r.PostFormValue("window")), strings.TrimSpace(r.PostFormValue("unit"))
	d := adminData{Tab: "windows", Form: store.Staff{Window: win, Unit: unit}}
	if msg := staffProblem(store.Staff{StaffID: "-", Name: "-", Window: win, Unit: unit}); msg != "" {
		d.Error = msg
		s.showAdminWindows(w, r, u, http.StatusUnprocessableEntity, d)
		return
	}
	if err := s.st.SetWindowUnit(r.Context(), win, unit, u.name()); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	s.days.invalidate()
	http.Redirect(w, r, "/admin/windows?"+url.Values{"saved": {win}}.Encode(), http.StatusSeeOther)
}

// --- accounts ---

func (s *server) adminUsersPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) {
		return
	}
	d := adminData{Tab: "users"}
	if v := r.URL.Query().Get("saved"); v != "" {
		d.Notice = "已保存账号“" + v + "”。"
	}
	s.showAdminUsers(w, r, u, http.StatusOK, d)
}

func (s *server) showAdminUsers(w http.ResponseWriter, r *http.Request, u *session, code int, d adminData) {
	if err := s.adminBase(r, &d); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	var err error
	if d.Users, err = s.st.ListUsers(r.Context()); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	s.renderPage(w, code, "admin", &pageData{Title: "账号管理", U: u, Data: d})
}

// accountProblem checks an account's role and its window, unit or staff member against the
// roster ("" when all is well).
func (s *server) accountProblem(r *http.Request, nu store.User) string {
	if !slices.Contains(store.Roles, nu.Role) {
		return "请选择角色。"
	}
	d := adminData{}
	if err := s.adminBase(r, &d); err != nil {
		return "数据库暂时不可用。"
	}
	switch {
	case nu.Role == store.RoleWindowHead && !slices.ContainsFunc(d.Windows, func(w store.WindowInfo) bool { return w.Name == nu.Window }):
		return "窗口负责人须选择其负责的窗口。"
	case nu.Role != store.RoleWindowHead && nu.Window != "":
		return "只有窗口负责人才选择窗口。"
	case nu.Role == store.RoleUnitLeader && !slices.Contains(d.Units, nu.Unit):
		return "窗口单位领导须选择其单位。"
	case nu.Role != store.RoleUnitLeader && nu.Unit != "":
		return "只有窗口单位领导才选择单位。"
	case nu.Role == store.RoleStaff && nu.StaffID == "":
		return "工作人员账号须填写其工号。"
	}
	if nu.StaffID != "" {
		if _, err := s.st.GetStaff(r.Context(), nu.StaffID); err != nil {
			return "工号“" + nu.StaffID + "”不在人员名单中。"
		}
	}
	return ""
}

func passwordProblem(pw, again string) string {
	switch {
	case len([]rune(pw)) < 8:
		return "密码至少 8 个字符。"
	case len(pw) > maxPasswordBytes:
		return "密码最长 72 字节。"
	case pw != again:
		return "两次输入的新密码不一致。"
	}
	return ""
}

func (s *server) adminUsersPost(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) || !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	nu := store.User{Name: strings.TrimSpace(f.Get("name")), Role: f.Get("role"), Window: f.Get("window"), Unit: f.Get("unit"), StaffID: strings.TrimSpace(f.Get("staff_id"))}
	d := adminData{Tab: "users", NewUser: nu}
	fail := func(code int, msg string) {
		d.Error = msg
		s.showAdminUsers(w, r, u, code, d)
	}
	if nu.Name == "" || len(nu.Name) > 100 {
		fail(http.StatusUnprocessableEntity, "请填写用户名（最多 100 字节）。")
		return
	}
	if _, bad := csvio.ForbiddenRune(nu.Name); bad || strings.ContainsAny(nu.Name, " \u3000") {
		fail(http.StatusUnprocessableEntity, "用户名中不能有空格或控制字符。")
		return
	}
	if msg := s.accountProblem(r, nu); msg != "" {
		fail(http.StatusUnprocessableEntity, msg)
		return
	}
	if msg := passwordProblem(f.Get("password"), f.Get("password2")); msg != "" {
		fail(http.StatusUnprocessableEntity, msg)
		return
	}
	h, err := HashPassword(f.Get("password"))
	if err != nil {
		fail(http.StatusUnprocessableEntity, "密码不合要求。")
		return
	}
	nu.PasswordHash = h
	switch err := s.st.AddUser(r.Context(), nu, u.name()); {
	case errors.Is(err, store.ErrExists):
		fail(http.StatusConflict, "用户名“"+nu.Name+"”已被使用。")
	case errors.Is(err, store.ErrBadInput):
		fail(http.StatusUnprocessableEntity, "填写有误，请检查各项。")
	case err != nil:
		s.serverError(w, r, false, err)
	default:
		http.Redirect(w, r, "/admin/users?"+url.Values{"saved": {nu.Name}}.Encode(), http.StatusSeeOther)
	}
}

// adminUserPost changes one account: its role, window, unit and state, or its password.
func (s *server) adminUserPost(w http.ResponseWriter, r *http.Request, u *session) {
	if !s.requireAdmin(w, r, u) || !s.parseForm(w, r) {
		return
	}
	name := r.PathValue("name")
	cur, err := s.st.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, false, http.StatusNotFound, "没有这个账号。")
		return
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	f := r.PostForm
	d := adminData{Tab: "users"}
	fail := func(code int, msg string) {
		d.Error = "账号“" + name + "”：" + msg
		s.showAdminUsers(w, r, u, code, d)
	}
	if f.Get("action") == "password" {
		if msg := passwordProblem(f.Get("password"), f.Get("password")); msg != "" {
			fail(http.StatusUnprocessableEntity, msg)
			return
		}
		h, err := HashPassword(f.Get("password"))
		if err == nil {
			err = s.st.SetPassword(r.Context(), name, h, u.name())
		}
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		s.sessions.forgetUser(name)
		http.Redirect(w, r, "/admin/users?"+url.Values{"saved": {name}}.Encode(), http.StatusSeeOther)
		return
	}
	nu := store.User{Name: name, Role: f.Get("role"), Window: f.Get("window"), Unit: f.Get("unit"), StaffID: strings.TrimSpace(f.Get("staff_id")),
		Disabled: f.Get("disabled") != "", Email: cur.Email}
	if name == u.name() && (nu.Disabled || nu.Role != store.RoleAdmin) {
		fail(http.StatusUnprocessableEntity, "不能停用自己的账号或取消自己的管理员角色。")
		return
	}
	if msg := s.accountProblem(r, nu); msg != "" {
		fail(http.StatusUnprocessableEntity, msg)
		return
	}
	if err := s.st.UpdateUser(r.Context(), nu, u.name()); err != nil {
		if errors.Is(err, store.ErrBadInput) {
			fail(http.StatusUnprocessableEntity, "填写有误，请检查各项。")
			return
		}
		s.serverError(w, r, false, err)
		return
	}
	s.sessions.forgetUser(name)
	http.Redirect(w, r, "/admin/users?"+url.Values{"saved": {name}}.Encode(), http.StatusSeeOther)
}

// --- one's own password ---

type passwordData struct {
	Error, Notice string
}

func (s *server) passwordPage(w http.ResponseWriter, r *http.Request, u *session) {
	s.renderPage(w, http.StatusOK, "password", &pageData{Title: "修改密码", U: u, Data: passwordData{}})
}

func (s *server) passwordPost(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("password") || !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	show := func(code int, msg string) {
		s.renderPage(w, code, "password", &pageData{Title: "修改密码", U: u, Data: passwordData{Error: msg}})
	}
	if msg := passwordProblem(f.Get("new"), f.Get("new2")); msg != "" {
		show(http.StatusUnprocessableEntity, msg)
		return
	}
	ctx := r.Context()
	// The current password is checked under the login's rate limit: a stolen session must not
	// become a way to guess it.
	att, err := s.st.ReserveLoginAttempt(ctx, u.name(), clientAddr(r), s.st.Now().Add(-failWindow))
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if att.ByUser > maxFailsPerUser || att.ByAddr > maxFailsPerAddr {
		s.st.ReleaseLoginAttempt(ctx, att.ID)
		show(http.StatusTooManyRequests, "密码错误次数过多，请 15 分钟后再试。")
		return
	}
	cur, err := s.st.GetUser(ctx, u.name())
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	s.passwordChecks.Add(1)
	if bcrypt.CompareHashAndPassword([]byte(cur.PasswordHash), []byte(f.Get("current"))) != nil {
		show(http.StatusUnprocessableEntity, "当前密码不对。")
		return
	}
	s.st.ReleaseLoginAttempt(ctx, att.ID)
	h, err := HashPassword(f.Get("new"))
	if err == nil {
		err = s.st.SetPassword(ctx, u.name(), h, u.name())
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	// SetPassword ended every session of the account, this one included: log in again.
	s.sessions.forgetUser(u.name())
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login?changed=1", http.StatusSeeOther)
}
