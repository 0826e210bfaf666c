package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/workflow"
)

// Staff self-service (issue 17): a staff member's own month with its evidence, their requests and
// annual leave, and the forms to file a leave request (with attachments), a clock-failure report
// and a 补卡. Filing and deciding are package workflow's; these handlers gather and show.

// AttachmentOptions bound what a leave request may carry.
type AttachmentOptions struct {
	// Dir keeps attachments as files there ("" keeps them in the database).
	Dir string
	// MaxBytes caps one attachment (5 MiB when 0).
	MaxBytes int64
}

func (s *server) attachmentMax() int64 {
	if s.o.Attachments.MaxBytes > 0 {
		return s.o.Attachments.MaxBytes
	}
	return 5 << 20
}

// uploadLimit bounds a multipart request: every attachment kind at its cap, and the fields.
func (s *server) uploadLimit() int64 {
	return min(int64(len(workflow.AttachmentKinds))*s.attachmentMax()+1<<20, maxUploadBody)
}

// uploadPaths take multipart bodies (securityHeaders refuses them elsewhere), up to
// maxUploadBody: four attachments at the configurable maximum of 8 MiB, and the fields.
var uploadPaths = map[string]bool{"/self/new/leave": true}

const maxUploadBody = 4*8<<20 + 1<<20

// workflowRoutes registers the self-service and approval pages.
func (s *server) workflowRoutes(page func(pattern string, h func(w http.ResponseWriter, r *http.Request, u *session))) {
	page("GET /self", s.selfPage)
	page("GET /self/new/{kind}", s.selfNewPage)
	page("POST /self/new/{kind}", s.selfNewPost)
	page("GET /attachments/{id}", s.attachmentGet)
	page("GET /approvals", s.approvalsPage)
	page("GET /approvals/{id}", s.approvalPage)
	page("POST /approvals/{id}", s.approvalPost)
	page("POST /approvals/{id}/phone", s.phoneNoticePost)
	page("GET /balances", s.balancesPage)
	page("POST /balances", s.balancesPost)
}

func (s *server) wallNow() time.Time { return store.Wall(s.o.Now(), s.st.Location()) }

var attachmentNames = map[string]string{"hospital_cert": "医院证明", "unit_cert": "窗口单位证明", "notice": "会议或培训通知", "study_cert": "函授学习证明"}

var punchNames = map[string]string{"am_in": "上午签到", "am_out": "上午签退", "pm_in": "下午签到", "pm_out": "下午签退"}

// requestRow is one request in a list.
type requestRow struct {
	ID       int64
	Kind     string
	What     string
	FiledAt  time.Time
	Late     bool
	State    string
	StateKey string
	Next     string
	Verdict  []string
}

func requestRowOf(q store.Request, name string) requestRow {
	return requestRow{ID: q.ID, Kind: workflow.Kind(q.Kind).Chinese(), What: workflow.Describe(q, name), FiledAt: q.FiledAt,
		Late: workflow.Kind(q.Kind) == workflow.KindLeave && q.FiledAt.After(q.Start), State: workflow.State(q.State).Chinese(),
		StateKey: q.State, Next: workflow.Step(q.NextStep).Chinese(), Verdict: plainReasons(q.Verdict)}
}

// reasonRule is the rule number the rule book's reasons start with ("R14："): pages show the
// reason in words only.
var reasonRule = regexp.MustCompile(`^R[0-9]+：`)

func plainReasons(rs []string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = reasonRule.ReplaceAllString(r, "")
	}
	return out
}

type selfData struct {
	Month    *staffData
	Requests []requestRow
	Balance  *store.Balance
	Year     int
}

func (s *server) selfPage(w http.ResponseWriter, r *http.Request, u *session) {
	if u.User.StaffID == "" || s.o.Workflow == nil {
		s.fail(w, r, false, http.StatusForbidden, "此账号没有关联工作人员，没有个人考勤。")
		return
	}
	m, err := s.monthParam(r, r.URL.Query().Get("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, "月份格式不对，应为 年-月，如 2026-07")
		return
	}
	ctx := r.Context()
	md, code, err := s.staffMonth(ctx, u, u.User.StaffID, m)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if code != 0 {
		s.fail(w, r, false, http.StatusNotFound, "人员名单中没有此账号关联的工号 "+u.User.StaffID+"，请联系管理员。")
		return
	}
	qs, err := s.st.ListRequests(ctx, store.RequestFilter{StaffID: u.User.StaffID, Limit: 100})
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	for i := range md.Results {
		for j := range md.Results[i].Evidence.Slips {
			sl := &md.Results[i].Evidence.Slips[j]
			sl.Reasons = plainReasons(sl.Reasons)
		}
	}
	d := &selfData{Month: md, Year: m.Year}
	for _, q := range qs {
		d.Requests = append(d.Requests, requestRowOf(q, md.Staff.Name))
	}
	if bs, err := s.st.AnnualLeave(ctx, u.User.StaffID, d.Year); err == nil && len(bs) == 1 {
		d.Balance = &bs[0]
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, false, err)
		return
	}
	s.renderPage(w, http.StatusOK, "self", &pageData{Title: "我的考勤 " + m.Chinese(), U: u, Data: d})
}

type selfOption struct{ Value, Label string }

type selfNewData struct {
	Kind        string
	Title       string
	Types       []selfOption
	Punches     []selfOption
	Attachments []selfOption
	Form        map[string]string
	Error       string
	MaxMB       string
	// Done is set after filing: the request and its route.
	Done *selfDone
}

type selfDone struct {
	ID       int64
	Steps    []string
	Warnings []string
	Minutes  int
}

var newTitles = map[string]string{"leave": "请假申请", "failure": "考勤机故障报告", "makeup": "补卡申请"}

func (s *server) newData(kind string) *selfNewData {
	d := &selfNewData{Kind: kind, Title: newTitles[kind], Form: map[string]string{},
		MaxMB: strconv.FormatFloat(float64(s.attachmentMax())/(1<<20), 'f', -1, 64)}
	for _, t := range leave.Types {
		d.Types = append(d.Types, selfOption{string(t), t.Chinese()})
	}
	for _, p := range []string{"am_in", "am_out", "pm_in", "pm_out"} {
		d.Punches = append(d.Punches, selfOption{p, punchNames[p]})
	}
	for _, k := range workflow.AttachmentKinds {
		d.Attachments = append(d.Attachments, selfOption{k, attachmentNames[k]})
	}
	return d
}

func (s *server) selfNewPage(w http.ResponseWriter, r *http.Request, u *session) {
	kind := r.PathValue("kind")
	if _, ok := newTitles[kind]; !ok {
		s.notFound(w, r)
		return
	}
	if u.User.StaffID == "" || s.o.Workflow == nil {
		s.fail(w, r, false, http.StatusForbidden, "此账号没有关联工作人员，不能提交申请。")
		return
	}
	d := s.newData(kind)
	d.Form["type"] = "personal"
	s.renderPage(w, http.StatusOK, "self_new", &pageData{Title: d.Title, U: u, Data: d})
}

// parseWall reads a form's "YYYY-MM-DD HH:MM" (or with a T, as a datetime-local input sends it).
func parseWall(v string) (time.Time, error) {
	v = strings.TrimSpace(strings.Replace(v, "T", " ", 1))
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("时间 %q 格式不对，应为 年-月-日 时:分，如 2026-07-16 08:30", v)
}

func (s *server) selfNewPost(w http.ResponseWriter, r *http.Request, u *session) {
	kind := r.PathValue("kind")
	if _, ok := newTitles[kind]; !ok {
		s.notFound(w, r)
		return
	}
	if u.User.StaffID == "" || s.o.Workflow == nil {
		s.fail(w, r, false, http.StatusForbidden, "此账号没有关联工作人员，不能提交申请。")
		return
	}
	d := s.newData(kind)
	for _, k := range []string{"type", "start", "end", "reason", "substitute", "at", "date", "punch"} {
		d.Form[k] = r.PostFormValue(k)
	}
	fail := func(code int, msg string) {
		d.Error = msg
		s.renderPage(w, code, "self_new", &pageData{Title: d.Title, U: u, Data: d})
	}
	now := s.wallNow()
	q := workflow.Request{Kind: workflow.Kind(kind), StaffID: u.User.StaffID, FiledAt: now, Reason: strings.TrimSpace(d.Form["reason"])}
	var err error
	switch q.Kind {
	case workflow.KindLeave:
		q.Type = leave.Type(d.Form["type"])
		q.Substitute = strings.TrimSpace(d.Form["substitute"])
		if utf8.RuneCountInString(q.Substitute) > 50 {
			fail(http.StatusUnprocessableEntity, "顶岗人员姓名过长")
			return
		}
		if q.Start, err = parseWall(d.Form["start"]); err == nil {
			q.End, err = parseWall(d.Form["end"])
		}
	case workflow.KindFailure:
		q.Start, err = parseWall(d.Form["at"])
	case workflow.KindMakeup:
		q.Punch = workflow.Punch(d.Form["punch"])
		q.Start, err = parseWall(d.Form["date"])
	}
	if err != nil {
		fail(http.StatusUnprocessableEntity, err.Error())
		return
	}
	var atts []store.Attachment
	if q.Kind == workflow.KindLeave && r.MultipartForm != nil {
		for _, k := range workflow.AttachmentKinds {
			for _, fh := range r.MultipartForm.File["att_"+k] {
				a, err := s.readAttachment(k, fh)
				if err != nil {
					fail(http.StatusUnprocessableEntity, err.Error())
					return
				}
				atts = append(atts, a)
			}
		}
	}
	id, rt, err := s.o.Workflow.File(r.Context(), q, atts, u.name())
	switch {
	case errors.Is(err, workflow.ErrBadRequest), errors.Is(err, store.ErrBadInput):
		fail(http.StatusUnprocessableEntity, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "workflow: bad request: "), "store: bad input: "))
		return
	case err != nil:
		s.serverError(w, r, false, err)
		return
	}
	done := &selfDone{ID: id, Warnings: rt.Warnings, Minutes: rt.Need.Minutes}
	for _, st := range rt.Steps {
		done.Steps = append(done.Steps, st.Chinese())
	}
	d.Done = done
	s.renderPage(w, http.StatusOK, "self_new", &pageData{Title: d.Title, U: u, Data: d})
}

// The formats an attachment may have, by their first bytes (the client's Content-Type is not
// believed).
var attachmentMagic = []struct {
	magic []byte
	ctype string
	ext   string
}{
	{[]byte("%PDF-"), "application/pdf", ".pdf"},
	{[]byte{0xFF, 0xD8, 0xFF}, "image/jpeg", ".jpg"},
	{[]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, "image/png", ".png"},
}

func (s *server) readAttachment(kind string, fh *multipart.FileHeader) (store.Attachment, error) {
	name := filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
	if len(name) > 200 || !utf8.ValidString(name) {
		name = "附件"
	}
	label := attachmentNames[kind]
	max := s.attachmentMax()
	if fh.Size > max {
		return store.Attachment{}, fmt.Errorf("%s %s 大小 %.1f MB，超过上限 %.1f MB", label, name, float64(fh.Size)/(1<<20), float64(max)/(1<<20))
	}
	f, err := fh.Open()
	if err != nil {
		return store.Attachment{}, fmt.Errorf("读取附件 %s 失败：%v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return store.Attachment{}, fmt.Errorf("读取附件 %s 失败：%v", name, err)
	}
	if int64(len(data)) > max {
		return store.Attachment{}, fmt.Errorf("%s %s 超过大小上限 %.1f MB", label, name, float64(max)/(1<<20))
	}
	if len(data) == 0 {
		return store.Attachment{}, fmt.Errorf("%s %s 是空文件", label, name)
	}
	a := store.Attachment{Kind: kind, Filename: name, Size: int64(len(data))}
	ext := ""
	for _, m := range attachmentMagic {
		if bytes.HasPrefix(data, m.magic) {
			a.ContentType, ext = m.ctype, m.ext
			if filepath.Ext(name) == "" {
				a.Filename += m.ext
			}
			break
		}
	}
	if a.ContentType == "" {
		return store.Attachment{}, fmt.Errorf("%s %s 不是 PDF、JPEG 或 PNG 文件（按文件内容判断）", label, name)
	}
	sum := sha256.Sum256(data)
	a.SHA256 = hex.EncodeToString(sum[:])
	if dir := s.o.Attachments.Dir; dir != "" {
		// Content-addressed: the same file twice is one file; written whole before it is named.
		a.Path = a.SHA256 + ext // the type found in the content, whatever the name says
		if err := writeFileAtomic(filepath.Join(dir, a.Path), data); err != nil {
			return store.Attachment{}, fmt.Errorf("保存附件失败：%v", err)
		}
	} else {
		a.Data = data
	}
	return a, nil
}

func writeFileAtomic(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// mayView reports whether u may see request q: its staff member, the approvers of its window,
// unit and the center, the supervision section, HR and admins.
func mayView(u *session, q store.Request) bool {
	switch u.User.Role {
	case store.RoleAdmin, store.RoleHR, store.RoleSupervisor, store.RoleCenterLeader:
		return true
	case store.RoleWindowHead:
		if u.User.Window == q.Window {
			return true
		}
	case store.RoleUnitLeader:
		if u.User.Unit == q.Unit {
			return true
		}
	}
	return u.User.StaffID != "" && u.User.StaffID == q.StaffID
}

func (s *server) attachmentGet(w http.ResponseWriter, r *http.Request, u *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	a, err := s.st.GetAttachment(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	q, err := s.st.GetRequest(ctx, a.RequestID)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if !mayView(u, q) {
		s.notFound(w, r) // as for a missing one: ids tell nothing
		return
	}
	data := a.Data
	if a.Path != "" {
		if data, err = os.ReadFile(filepath.Join(s.o.Attachments.Dir, filepath.Base(a.Path))); err != nil {
			s.serverError(w, r, false, err)
			return
		}
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+urlPathEscape(a.Filename))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// The roles of issue 17 see only their own surfaces. The pages of the other roles check what
// they show by window, not by role, so the new roles are held to a list of paths here, in the
// one place every request passes (auth), rather than in each of those pages.
var (
	staffPaths        = []string{"/self", "/approvals/", "/attachments/", "/password", "/logout", "/api/v1/me", "/api/v1/logout"}
	unitLeaderPaths   = []string{"/approvals", "/attachments/", "/password", "/logout", "/api/v1/me", "/api/v1/logout", "/self"}
	centerLeaderPaths = []string{"/today", "/month", "/staff/", "/approvals", "/attachments/", "/password", "/logout", "/self",
		"/api/v1/me", "/api/v1/logout", "/api/v1/today", "/api/v1/month/", "/api/v1/staff/"}
)

// mayOpen reports whether u's role may open path at all (the page then checks the rest).
func (u *session) mayOpen(method, path string) bool {
	var allowed []string
	switch u.User.Role {
	case store.RoleStaff:
		allowed = staffPaths
	case store.RoleUnitLeader:
		allowed = unitLeaderPaths
	case store.RoleCenterLeader:
		if method != http.MethodGet && method != http.MethodHead && !strings.HasPrefix(path, "/approvals/") &&
			path != "/logout" && path != "/password" && path != "/api/v1/logout" && !strings.HasPrefix(path, "/self/") {
			return false // the center leader reads the center's days; enters nothing but decisions
		}
		allowed = centerLeaderPaths
	default:
		return true
	}
	if path == "/" {
		return true
	}
	for _, p := range allowed {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
