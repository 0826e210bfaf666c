package store_test

import (
	"errors"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestSaveStaffAndUsers: staff added and edited one at a time as the web's administration does,
// a window kept under its unit unless moved on purpose, accounts changed, each audited.
func TestSaveStaffAndUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		created, err := s.SaveStaff(ctx, store.Staff{StaffID: "S1", Name: "张三", Window: "综合", Unit: "市场监管局"}, "admin", false)
		if err != nil || !created {
			t.Fatalf("add: %v %v", created, err)
		}
		if _, err := s.SaveStaff(ctx, store.Staff{StaffID: "S2", Name: "李四", Window: "综合", Unit: "税务局"}, "admin", false); !errors.Is(err, store.ErrWindowMove) {
			t.Errorf("a second unit for the window: got %v, want ErrWindowMove", err)
		}
		if _, err := s.SaveStaff(ctx, store.Staff{StaffID: "S1", Name: "张三", Window: "不动产", Unit: "自然资源局", EndDate: "2020-01-01"}, "admin", false); err != nil {
			t.Fatalf("move: %v", err)
		}
		st, _ := s.GetStaff(ctx, "S1")
		if st.Window != "不动产" || st.Active || st.EndDate != "2020-01-01" {
			t.Errorf("after the move: %+v", st)
		}
		if _, err := s.SaveStaff(ctx, store.Staff{StaffID: "S3", Name: "\u202e", Window: "", Unit: "x"}, "admin", false); !errors.Is(err, store.ErrBadInput) {
			t.Errorf("empty window: got %v, want ErrBadInput", err)
		}
		if err := s.SetWindowUnit(ctx, "综合", "税务局", "admin"); err != nil {
			t.Fatal(err)
		}
		units, _ := s.WindowUnits(ctx)
		if units["综合"] != "税务局" {
			t.Errorf("window units: %v", units)
		}
		if err := s.AddUser(ctx, store.User{Name: "h", PasswordHash: "x", Role: store.RoleSupervisor}, "admin"); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateUser(ctx, store.User{Name: "h", Role: store.RoleWindowHead}, "admin"); !errors.Is(err, store.ErrBadInput) {
			t.Errorf("a window head without a window: got %v", err)
		}
		if err := s.UpdateUser(ctx, store.User{Name: "h", Role: store.RoleWindowHead, Window: "综合", Disabled: true}, "admin"); err != nil {
			t.Fatal(err)
		}
		u, _ := s.GetUser(ctx, "h")
		if u.Role != store.RoleWindowHead || u.Window != "综合" || !u.Disabled {
			t.Errorf("user after the update: %+v", u)
		}
		log, _ := s.AuditLog(ctx, 10)
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action+" "+e.Entity)
		}
		want := []string{"disable user", "add user", "update window", "move staff", "add staff"}
		for i, w := range want {
			if i >= len(actions) || actions[i] != w {
				t.Fatalf("audit: got %v, want %v first", actions, want)
			}
		}
	})
}
