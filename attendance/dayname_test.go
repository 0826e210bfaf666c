package attendance

import "testing"

// TestDayName: holidays by their name, official make-up working days as 调休上班, overrides by
// their note (or whether they made a working day), ordinary days unnamed.
func TestDayName(t *testing.T) {
	cal, err := OfficialCalendar()
	if err != nil {
		t.Fatal(err)
	}
	cal = cal.WithOverrides(map[Date]bool{MakeDate(2026, 12, 31): false, MakeDate(2026, 12, 26): true}).
		WithNotes(map[Date]string{MakeDate(2026, 12, 31): "中心闭馆检修"})
	cases := []struct {
		d    Date
		want string
	}{
		{MakeDate(2026, 10, 1), "国庆节"},
		{MakeDate(2026, 10, 7), "国庆节"},
		{MakeDate(2026, 10, 10), "调休上班"},
		{MakeDate(2026, 9, 25), "中秋节"},
		{MakeDate(2026, 10, 8), ""},
		{MakeDate(2026, 10, 11), ""}, // an ordinary Sunday
		{MakeDate(2026, 12, 31), "中心闭馆检修"},
		{MakeDate(2026, 12, 26), "调整为工作日"},
	}
	for _, c := range cases {
		if got := cal.DayName(c.d); got != c.want {
			t.Errorf("%s: got %q, want %q", c.d, got, c.want)
		}
	}
	if WeekdayCalendar().DayName(MakeDate(2026, 10, 1)) != "" {
		t.Error("the weekday calendar names a day")
	}
}
