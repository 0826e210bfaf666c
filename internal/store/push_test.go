package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func TestPushUnknownStampAndCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, at := range []string{"2026-07-06 08:00:00", "2026-07-06 08:00:10"} {
			if err := s.RecordUnknownPush(ctx, "NEWSN1", "192.0.2.7:5123", wall(at)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordUnknownPush(ctx, "LATER", "192.0.2.8:1", wall("2026-07-06 09:00:00")); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncClocks(ctx, []store.Clock{{Name: "lobby", Protocol: "zk-push", SerialNumber: "LATER"}}); err != nil {
			t.Fatal(err)
		}
		u, err := s.UnknownPushClocks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(u) != 1 || u[0].Serial != "NEWSN1" || u[0].Requests != 2 || store.WallString(u[0].FirstSeen) != "2026-07-06 08:00:00" ||
			store.WallString(u[0].LastSeen) != "2026-07-06 08:00:10" || u[0].RemoteAddr != "192.0.2.7:5123" {
			t.Errorf("unknown: got %+v, want NEWSN1 seen twice (LATER is configured now)", u)
		}

		if n, err := s.PushStamp(ctx, "lobby"); err != nil || n != 0 {
			t.Errorf("stamp before any upload: got %d %v, want 0", n, err)
		}
		for _, st := range []int64{500, 300, 0} {
			if err := s.RecordPushContact(ctx, "lobby", "192.0.2.8:1", wall("2026-07-06 09:00:00"), st); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.PushStamp(ctx, "lobby"); n != 500 {
			t.Errorf("stamp: got %d, want 500 (it never moves back)", n)
		}

		if has, _ := s.HasPushCommands(ctx, "lobby"); has {
			t.Error("commands before any queued: got true")
		}
		id1, err := s.QueuePushCommand(ctx, "lobby", "INFO", "test")
		if err != nil {
			t.Fatal(err)
		}
		id2, _ := s.QueuePushCommand(ctx, "lobby", "CHECK", "test")
		if _, err := s.QueuePushCommand(ctx, "other", "REBOOT", "test"); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakePushCommands(ctx, "lobby", 10, wall("2026-07-06 09:01:00"))
		if err != nil || len(got) != 2 || got[0].ID != id1 || got[1].ID != id2 || got[0].Command != "INFO" {
			t.Fatalf("take: got %v %v, want INFO, CHECK", got, err)
		}
		if again, _ := s.TakePushCommands(ctx, "lobby", 10, wall("2026-07-06 09:01:05")); len(again) != 0 {
			t.Errorf("take again: got %v, want none (each command is sent once)", again)
		}
		if err := s.RecordPushResult(ctx, "lobby", id1, 0, "~DeviceName=X\n", wall("2026-07-06 09:01:06")); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordPushResult(ctx, "other", id2, 0, "", wall("2026-07-06 09:01:06")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("result for another clock's command: got %v, want ErrNotFound", err)
		}
		list, err := s.PushCommands(ctx, "lobby", 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: got %v %v", list, err)
		}
		if done := list[1].DoneAt; done.IsZero() || store.WallString(done) != "2026-07-06 09:01:06" || list[1].Result != "~DeviceName=X\n" || list[1].ReturnCode != 0 {
			t.Errorf("INFO result: got %+v", list[1])
		}
		if !list[0].DoneAt.IsZero() || list[0].SentAt.IsZero() {
			t.Errorf("CHECK: got done, want sent only")
		}
	})
}

// OPERLOG and ATTPHOTO stamps are kept per clock, never move back, and leave the ATTLOG stamp
// alone; a flagged punch keeps its unread line.
func TestPushStampsAndUnreadPunch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if st, err := s.PushStamps(ctx, "lobby"); err != nil || st != (store.PushStamps{}) {
			t.Errorf("before any upload: got %+v %v, want zero", st, err)
		}
		for _, c := range []struct {
			table string
			stamp int64
		}{{"OPERLOG", 900}, {"OPERLOG", 100}, {"ATTPHOTO", 42}} {
			if err := s.RaisePushStamp(ctx, "lobby", c.table, c.stamp); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordPushContact(ctx, "lobby", "192.0.2.8:1", wall("2026-07-06 09:00:00"), 500); err != nil {
			t.Fatal(err)
		}
		if st, err := s.PushStamps(ctx, "lobby"); err != nil || st != (store.PushStamps{ATTLOG: 500, OPERLOG: 900, ATTPHOTO: 42}) {
			t.Errorf("stamps: got %+v %v, want ATTLOG 500, OPERLOG 900 (never back), ATTPHOTO 42", st, err)
		}
		if err := s.RaisePushStamp(ctx, "lobby", "ATTLOG", 1); err == nil {
			t.Error("ATTLOG through RaisePushStamp: got nil, want an error")
		}

		line := "1003\t2026-07-06 08:01:02\t0\t1\tA1\t0\t0"
		ps := []store.Punch{{Clock: "lobby", UserID: "1003", Time: wall("2026-07-06 08:01:02"), Verify: 0, Unread: line},
			{Clock: "lobby", UserID: "1004", Time: wall("2026-07-06 08:01:03"), Verify: 1}}
		if _, err := s.InsertPunches(ctx, ps, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Punches(ctx, "lobby", wall("2026-07-06 00:00:00"), wall("2026-07-07 00:00:00"))
		if err != nil || len(got) != 2 || got[0].Unread != line || got[1].Unread != "" {
			t.Errorf("punches: got %+v %v, want the first flagged with its line", got, err)
		}
		long := store.Punch{Clock: "lobby", UserID: "1005", Time: wall("2026-07-06 08:01:04"), Unread: strings.Repeat("x", 256)}
		if _, err := s.InsertPunches(ctx, []store.Punch{long}, nil); !errors.Is(err, store.ErrBadPunch) {
			t.Errorf("a 256-character unread line: got %v, want ErrBadPunch", err)
		}
	})
}
