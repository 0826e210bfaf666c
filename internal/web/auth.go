package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/kaoqin/kaoqin/internal/store"
)

// Accounts and sessions.
//
// A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure over TLS);
// the database keeps only its SHA-256, with the user and a per-session CSRF token, so that every
// daemon sharing one MySQL knows every session, and a copy of the table yields no usable cookie.
// Every POST, page or API, must carry the CSRF token: a form's hidden "csrf" field or the
// X-CSRF-Token header (the API gets it from the login answer or GET /api/v1/me).
//
// Failed logins are counted in the database, per user name and per client address, for the same
// reason as sessions: several daemons behind one address must not each allow their own quota.
// Five failures of one name within 15 minutes lock that name, 20 from one address lock the
// address (a service center's clerks share a NAT address: one clerk's typos must not lock the
// others out, but a guesser trying many names is still stopped). A locked login is refused
// before the password is checked, so bcrypt's cost is not spent on a guesser; each attempt is
// recorded before it is counted, so that parallel guesses cannot slip between a count and a record.

const (
	cookieName       = "kaoqin_session"
	failWindow       = 15 * time.Minute
	maxFailsPerUser  = 5
	maxFailsPerAddr  = 20
	bcryptCost       = 12
	csrfHeader       = "X-CSRF-Token"
	csrfField        = "csrf"
	maxPasswordBytes = 72 // bcrypt's limit
)

// HashPassword hashes a password with bcrypt for store.User.PasswordHash.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", errors.New("the password must be at least 8 characters")
	}
	if len(pw) > maxPasswordBytes {
		return "", errors.New("the password must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	return string(h), err
}

// dummyHash is compared against when the user does not exist, so that an unknown name takes as
// long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("kaoqin-no-such-user"), bcryptCost)

type session struct {
	store.Session
}

func (u *session) name() string { return u.User.Name }

// can tells whether the user's role may do what. Every role check of the web is made here, by
// the name of what is to be done:
//
//	today, staff, month, entry   see the day, a staff member, the month; enter slips and records
//	clocks, audit                see the clocks and the audit log
//	close, correct               close a month, correct a closed one
//	enroll, clockops             enrol clock user ids; read a clock now, set its time
//	admin                        staff, windows, units and web accounts
//	password                     change one's own password
func (u *session) can(what string) bool {
	if what == "password" {
		return true
	}
	if what == "self" { // one's own month and requests: accounts linked to a roster staff member
		return u.User.StaffID != ""
	}
	switch u.User.Role {
	case store.RoleAdmin:
		return true
	case store.RoleHR:
		return what != "accounts" && what != "admin" && what != "clockops"
	case store.RoleSupervisor:
		return what != "accounts" && what != "admin" && what != "close" && what != "correct" && what != "clockops"
	case store.RoleCenterLeader: // issue 17: approves; sees the center's days
		return what == "today" || what == "staff" || what == "month" || what == "approvals"
	case store.RoleUnitLeader:
		return what == "approvals"
	case store.RoleStaff: // their own month and requests only
		return what == "self"
	}
	// window_head: their own window's status, staff and entries only; approves its requests.
	return what == "today" || what == "staff" || what == "entry" || what == "month" || what == "approvals" ||
		what == "self" && u.User.StaffID != ""
}

// window is the window the user is limited to ("" for all).
func (u *session) window() string {
	if u.User.Role == store.RoleWindowHead {
		return u.User.Window
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// clientAddr is the peer's address. X-Forwarded-For is not believed: kaoqin is served directly.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auth wraps a handler that needs a login: without a live session a page redirects to the login
// (302) and the API answers 401; a POST without the session's CSRF token gets 403.
func (s *server) auth(api bool, h func(w http.ResponseWriter, r *http.Request, u *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var u *session
		if c, err := r.Cookie(cookieName); err == nil && len(c.Value) == 64 {
			id := tokenHash(c.Value)
			now := time.Now()
			sess, ok := s.sessions.get(id, now)
			if !ok {
				sess, err = s.st.GetSession(r.Context(), id)
			}
			switch {
			case ok:
				u = &session{sess}
			case err == nil:
				s.sessions.put(sess, now)
				u = &session{sess}
			case !errors.Is(err, store.ErrNotFound):
				s.log.Error("session lookup", "err", err)
				s.fail(w, r, api, http.StatusServiceUnavailable, "数据库暂时不可用")
				return
			}
		}
		if u == nil {
			if api {
				writeJSON(w, http.StatusUnauthorized, apiError{Error: "login required: POST /api/v1/login"})
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		if !u.mayOpen(r.Method, r.URL.Path) {
			s.fail(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, u)), api, http.StatusForbidden, "您的账号无权访问此页面。")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			tok := r.Header.Get(csrfHeader)
			if tok == "" && !api {
				var tooLarge *http.MaxBytesError
				if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
					// A request with attachments (issue 17): ParseForm leaves multipart bodies alone.
					r.Body = http.MaxBytesReader(w, r.Body, s.uploadLimit())
					// In memory up to the limit: the parts are never spooled to disk.
					if err := r.ParseMultipartForm(s.uploadLimit()); err != nil {
						s.fail(w, r, api, http.StatusRequestEntityTooLarge, "提交内容过大或格式不对")
						return
					}
				}
				if err := r.ParseForm(); errors.As(err, &tooLarge) {
					s.fail(w, r, api, http.StatusRequestEntityTooLarge, "提交内容过大")
					return
				}
				tok = r.PostFormValue(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(u.CSRF)) != 1 {
				s.fail(w, r, api, http.StatusForbidden, "缺少或错误的 CSRF 令牌：请刷新页面后重试")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, u)), u)
	})
}

// fail refuses a request: the API with its JSON error, a page with the error page (the
// navigation bar included when the user is logged in, so there is a way on).
func (s *server) fail(w http.ResponseWriter, r *http.Request, api bool, code int, msg string) {
	if api {
		writeJSON(w, code, apiError{Error: msg})
		return
	}
	u, _ := r.Context().Value(sessionKey{}).(*session)
	s.renderPage(w, code, "error", &pageData{Title: errorTitle(code), U: u, Data: errorData{Code: code, Title: errorTitle(code), Msg: msg}})
}

// notFound is the 404 page.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, false, http.StatusNotFound, "没有这个页面。请从上方的导航进入。")
}

type errorData struct {
	Code       int
	Title, Msg string
}

type sessionKey struct{}

type loginData struct {
	Next, Name, Error, CSRF, Notice string
}

// loginCookie carries the login form's CSRF token (double submit): there is no session yet to
// bind a token to, and a login forced from another site would put the victim in the attacker's
// account.
const loginCookie = "kaoqin_login"

// loginToken returns the login form's token, setting its cookie when the browser has none.
func (s *server) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	tok := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: s.o.Secure,
		SameSite: http.SameSiteStrictMode})
	return tok
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	d := loginData{Next: safeNext(r.URL.Query().Get("next")), CSRF: s.loginToken(w, r)}
	if r.URL.Query().Get("changed") != "" {
		d.Notice = "密码已修改，请用新密码登录。"
	}
	s.render(w, r, http.StatusOK, "login", nil, d)
}

// safeNext keeps a redirect after login on this site: a path of this site (with its query), parsed
// as a browser would see it. Control characters and whitespace are refused before parsing (a
// browser drops a tab or newline inside a URL, so "/\t/evil.example" becomes "//evil.example"), as
// are backslashes (read as slashes), a scheme, a host, and a path starting with "//".
func safeNext(n string) string {
	const fallback = "/today"
	if n == "" || len(n) > 2000 || !strings.HasPrefix(n, "/") {
		return fallback
	}
	for _, c := range n {
		if c < 0x21 || c == 0x7f || c == '\\' || unicode.IsSpace(c) || unicode.Is(unicode.Cf, c) {
			return fallback
		}
	}
	u, err := url.Parse(n)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.EscapedPath(), "/%2F") || strings.HasPrefix(u.EscapedPath(), "/%2f") {
		return fallback
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

var errLocked = errors.New("locked")

// authenticate checks a name and password against the rate limit and the database, and on success
// creates a session and sets its cookie.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request, name, pw string) (*store.Session, error) {
	ctx := r.Context()
	addr := clientAddr(r)
	since := s.st.Now().Add(-failWindow) // the store's clock: sessions and failures are compared with it
	// The attempt is counted before its password is checked (see store.ReserveLoginAttempt), so
	// that parallel guesses cannot all pass the check: at most maxFailsPerUser reach bcrypt.
	att, err := s.st.ReserveLoginAttempt(ctx, name, addr, since)
	if err != nil {
		return nil, err
	}
	if att.ByUser > maxFailsPerUser || att.ByAddr > maxFailsPerAddr {
		if err := s.st.ReleaseLoginAttempt(ctx, att.ID); err != nil {
			s.log.Warn("release login attempt", "err", err)
		}
		s.log.Warn("login refused: too many failures", "user", name, "addr", addr)
		return nil, errLocked
	}
	u, err := s.st.GetUser(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := dummyHash
	if err == nil {
		hash = []byte(u.PasswordHash)
	}
	s.passwordChecks.Add(1)
	ok := bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil && err == nil && !u.Disabled
	if !ok {
		s.log.Info("login failed", "user", name, "addr", addr)
		return nil, nil // the attempt stays, as a failure
	}
	if err := s.st.ClearLoginFailures(ctx, name); err != nil {
		return nil, err
	}
	// Logins are rare enough to carry the housekeeping: expired sessions and old failures go.
	if err := s.st.DeleteExpiredSessions(ctx, failWindow); err != nil {
		s.log.Warn("expire sessions", "err", err)
	}
	tok := randomHex(32)
	sess := &store.Session{IDHash: tokenHash(tok), User: u, CSRF: randomHex(32), Expires: s.st.Now().Add(s.o.SessionTTL)}
	sess.User.PasswordHash = ""
	if err := s.st.CreateSession(ctx, sess.IDHash, u.Name, sess.CSRF, sess.Expires, addr); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, Secure: s.o.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.o.SessionTTL / time.Second)})
	s.log.Info("login", "user", name, "addr", addr)
	return sess, nil
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	name, pw := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(loginCookie)
	if err != nil || len(c.Value) != 32 || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.render(w, r, http.StatusForbidden, "login", nil, loginData{Next: next, Name: name, CSRF: s.loginToken(w, r),
			Error: "登录表单已过期或来源不明，请重新登录。"})
		return
	}
	tok := c.Value
	sess, err := s.authenticate(w, r, name, pw)
	switch {
	case errors.Is(err, errLocked):
		s.render(w, r, http.StatusTooManyRequests, "login", nil, loginData{Next: next, Name: name, CSRF: tok, Error: "登录失败次数过多，请 15 分钟后再试。"})
	case err != nil:
		s.log.Error("login", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login", nil, loginData{Next: next, Name: name, CSRF: tok, Error: "数据库暂时不可用，请稍后再试。"})
	case sess == nil:
		s.render(w, r, http.StatusUnauthorized, "login", nil, loginData{Next: next, Name: name, CSRF: tok, Error: "用户名或密码错误。"})
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

type apiLoginAnswer struct {
	User      string `json:"user"`
	Role      string `json:"role"`
	Window    string `json:"window,omitempty"`
	CSRFToken string `json:"csrf_token"`
	Expires   string `json:"expires"`
}

func (s *server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	// A cross-site form can post text/plain but not application/json (that needs a CORS preflight,
	// which this server never grants): the content type is the API login's CSRF protection.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "Content-Type must be application/json"})
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body: want {\"name\": …, \"password\": …}"})
		return
	}
	sess, err := s.authenticate(w, r, strings.TrimSpace(in.Name), in.Password)
	switch {
	case errors.Is(err, errLocked):
		writeJSON(w, http.StatusTooManyRequests, apiError{Error: "too many failed logins; retry in 15 minutes"})
	case err != nil:
		s.log.Error("login", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "database unavailable"})
	case sess == nil:
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "wrong user name or password"})
	default:
		writeJSON(w, http.StatusOK, apiLoginAnswer{User: sess.User.Name, Role: sess.User.Role, Window: sess.User.Window,
			CSRFToken: sess.CSRF, Expires: store.WallString(sess.Expires)})
	}
}

func (s *server) apiMe(w http.ResponseWriter, r *http.Request, u *session) {
	writeJSON(w, http.StatusOK, apiLoginAnswer{User: u.User.Name, Role: u.User.Role, Window: u.User.Window,
		CSRFToken: u.CSRF, Expires: store.WallString(u.Expires)})
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, u *session) {
	s.sessions.forget(u.IDHash)
	if err := s.st.DeleteSession(r.Context(), u.IDHash, u.name()); err != nil {
		s.log.Error("logout", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.o.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
