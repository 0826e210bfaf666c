package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/devices/zkpush/pushemu"
	"github.com/kaoqin/kaoqin/internal/store"
)

// pushCommands are the commands an operator may queue for a push clock, by the word typed.
var pushCommands = map[string]string{"INFO": "INFO", "CHECK": "CHECK", "LOG": "LOG", "REBOOT": "REBOOT"}

// runDevicesCommand queues a command for a zk-push clock (it is sent at the clock's next poll), or
// lists the clock's commands and their results.
func runDevicesCommand(ctx context.Context, e *env, args []string) int {
	const usage = "devices command [--config FILE] NAME [INFO|CHECK|LOG|REBOOT | backfill --from YYYY-MM-DD --to YYYY-MM-DD]\n\n" +
		"Queues a command for a zk-push clock, sent when the clock next polls (every few seconds); without a\n" +
		"command, lists the clock's commands and their results. backfill makes the clock upload its punches\n" +
		"of the days from..to again (DATA QUERY ATTLOG); punches already stored are skipped."
	f := e.flags("devices command", usage)
	actor := f.String("actor", "cli", "who queues the command, for the audit log")
	from := f.String("from", "", "backfill: first `day` (YYYY-MM-DD)")
	to := f.String("to", "", "backfill: last `day` (YYYY-MM-DD), default the first")
	// Flags may come before or after the clock's name and the command.
	var rest []string
	for {
		if code, ok := f.parse(args); !ok {
			return code
		}
		if f.NArg() == 0 {
			break
		}
		rest = append(rest, f.Arg(0))
		args = f.Args()[1:]
	}
	if len(rest) == 0 {
		fmt.Fprintln(e.stderr, "kaoqin devices command: give the clock's name")
		return exitUsage
	}
	name := rest[0]
	cmd, code, ok := pushCommand(e, rest[1:], *from, *to)
	if !ok {
		return code
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	clock, found := cfg.Clock(name)
	if !found {
		fmt.Fprintf(e.stderr, "kaoqin devices command: no clock named %q in %s\n", name, configName(cfg))
		return exitUsage
	}
	if clock.Protocol != "zk-push" {
		fmt.Fprintf(e.stderr, "kaoqin devices command: clock %q is protocol %s; commands are queued for zk-push clocks only (use devices info/time/pull)\n", name, clock.Protocol)
		return exitUsage
	}
	s, code, ok := e.openStore(ctx, cfg, false)
	if !ok {
		return code
	}
	defer s.Close()
	if cmd == "" {
		return listPushCommands(ctx, e, s, name)
	}
	id, err := s.QueuePushCommand(ctx, name, cmd, *actor)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin devices command: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "queued command %d for %s: %s\n", id, name, strings.ReplaceAll(cmd, "\t", " "))
	return exitOK
}

// pushCommand turns the words after the clock's name into the command to queue ("" to list).
func pushCommand(e *env, words []string, from, to string) (string, int, bool) {
	backfill := len(words) == 1 && strings.EqualFold(words[0], "backfill")
	if (from != "" || to != "") && !backfill {
		fmt.Fprintln(e.stderr, "kaoqin devices command: --from and --to go with backfill")
		return "", exitUsage, false
	}
	if len(words) == 0 {
		return "", 0, true
	}
	if backfill {
		if to == "" {
			to = from
		}
		d0, err0 := time.Parse("2006-01-02", from)
		d1, err1 := time.Parse("2006-01-02", to)
		if err0 != nil || err1 != nil || d1.Before(d0) {
			fmt.Fprintln(e.stderr, "kaoqin devices command: backfill needs --from YYYY-MM-DD [--to YYYY-MM-DD], from not after to")
			return "", exitUsage, false
		}
		return zkpush.QueryATTLOG(d0, d1.Add(24*time.Hour-time.Second)), 0, true
	}
	cmd, ok := pushCommands[strings.ToUpper(strings.Join(words, " "))]
	if !ok {
		fmt.Fprintf(e.stderr, "kaoqin devices command: unknown command %q; use INFO, CHECK, LOG, REBOOT or backfill --from D --to D\n", strings.Join(words, " "))
		return "", exitUsage, false
	}
	return cmd, 0, true
}

func listPushCommands(ctx context.Context, e *env, s *store.Store, clock string) int {
	cmds, err := s.PushCommands(ctx, clock, 50)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin devices command: %v\n", err)
		return exitFail
	}
	if len(cmds) == 0 {
		fmt.Fprintf(e.stdout, "no commands for %s\n", clock)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%6s  %-19s  %-8s  %-19s  %6s  %s\n", "ID", "QUEUED", "STATE", "DONE", "RETURN", "COMMAND")
	for _, c := range cmds {
		state, done, ret := "queued", "", ""
		if !c.SentAt.IsZero() {
			state = "sent"
		}
		if !c.DoneAt.IsZero() {
			state, done, ret = "done", store.WallString(c.DoneAt), strconv.FormatInt(c.ReturnCode, 10)
		}
		fmt.Fprintf(e.stdout, "%6d  %-19s  %-8s  %-19s  %6s  %s\n", c.ID, store.WallString(c.QueuedAt), state, done, ret, strings.ReplaceAll(c.Command, "\t", " "))
		for _, l := range strings.Split(strings.TrimRight(c.Result, "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(e.stdout, "        %s\n", l)
			}
		}
	}
	return exitOK
}

// printUnknownPush lists the serial numbers of push clocks that called but are not configured.
func printUnknownPush(ctx context.Context, w io.Writer, s *store.Store) error {
	u, err := s.UnknownPushClocks(ctx)
	if err != nil {
		return err
	}
	if len(u) == 0 {
		fmt.Fprintln(w, "no unknown push clocks")
		return nil
	}
	fmt.Fprintln(w, "\nPush clocks that called but are not configured (add them as protocol: zk-push with serial_number):")
	fmt.Fprintf(w, "%-20s %-22s %8s  %-19s  %-19s\n", "SERIAL NUMBER", "REMOTE ADDRESS", "REQUESTS", "FIRST SEEN", "LAST SEEN")
	for _, c := range u {
		fmt.Fprintf(w, "%-20s %-22s %8d  %s  %s\n", c.Serial, c.RemoteAddr, c.Requests, store.WallString(c.FirstSeen), store.WallString(c.LastSeen))
	}
	return nil
}

// runSimZKPush runs an emulated PUSH clock against a server until interrupted.
func runSimZKPush(ctx context.Context, e *env, args []string) int {
	f := e.flags("sim zk-push", "sim zk-push --server http://127.0.0.1:8081 --sn SN [--punches FILE.csv] [--commkey KEY] [--batch N] [--clock-error 0s]\n"+
		"            [--fields 5|7|10] [--aspx] [--access-control] [--multiline-results]\n\n"+
		"Runs an emulated ZKTeco PUSH clock: it handshakes (taking its time from the server), uploads its punches\n"+
		"in batches, polls for commands and runs them. --fields, --aspx and --multiline-results send what older\n"+
		"or newer attendance firmware sends; --access-control is an access-control clock speaking PUSH 3.x\n"+
		"(registry, push, rtdata time, punches as rtlog events, DATA QUERY answered on querydata).")
	server := f.String("server", "http://127.0.0.1:8081", "the daemon's push listener `URL`")
	sn := f.String("sn", "", "the clock's serial `number`")
	punches := f.String("punches", "", "CSV `file` of punches to upload (user_id,time[,verify,state])")
	commKey := f.String("commkey", "", "comm `key` sent as pushcommkey")
	batch := f.Int("batch", 100, "most records per upload")
	clockErr := f.Duration("clock-error", 0, "how far the clock's time is off before the first handshake")
	fields := f.Int("fields", zkpush.CurrentATTLOG, "fields of an ATTLOG line: 5 (older firmware), 7 or 10 (face firmware)")
	aspx := f.Bool("aspx", false, "call the .aspx paths of older firmware (/iclock/cdata.aspx, …)")
	access := f.Bool("access-control", false, "an access-control clock speaking PUSH 3.x, uploading rtlog events")
	multiline := f.Bool("multiline-results", false, "write command results with each field on its own line")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *sn == "" {
		fmt.Fprintln(e.stderr, "kaoqin sim zk-push: --sn is required")
		return exitUsage
	}
	if *fields < 2 || *fields > zkpush.LongATTLOG {
		fmt.Fprintf(e.stderr, "kaoqin sim zk-push: --fields %d: want 2 to %d (firmware sends 5, 7 or 10)\n", *fields, zkpush.LongATTLOG)
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	clock := pushemu.New(pushemu.Config{Server: *server, SN: *sn, CommKey: *commKey, BatchSize: *batch,
		Location: cfg.Location(), ClockError: *clockErr, Client: &http.Client{Timeout: 30 * time.Second},
		ATTLOGFields: *fields, ASPX: *aspx, AccessControl: *access, MultiLineResults: *multiline})
	if *punches != "" {
		data, err := os.ReadFile(*punches)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim zk-push: %v\n", err)
			return exitUsage
		}
		if err := clock.LoadPunchesCSV(*punches, data); err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
	}
	fmt.Fprintf(e.stdout, "zk-push clock %s calling %s with %d punches\n", *sn, *server, clock.Pending())
	errs := make(chan error, 16)
	done := make(chan struct{})
	go func() { defer close(done); clock.Run(ctx, errs) }()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	reported := -1
	for {
		select {
		case <-ctx.Done():
			<-done
			fmt.Fprintf(e.stdout, "stopped with %d punches not acknowledged\n", clock.Pending())
			return exitOK
		case err := <-errs:
			fmt.Fprintf(e.stderr, "kaoqin sim zk-push: %v\n", err)
		case <-tick.C:
			if p := clock.Pending(); p != reported {
				reported = p
				fmt.Fprintf(e.stdout, "%s  clock time %s  online %v  pending %d\n", *sn, store.WallString(clock.Time()), clock.Online(), p)
			}
		}
	}
}
