// Package reports owns what the center reads about attendance: the monthly discipline report
// (rules.md R20) with its 考勤表 (a symbol per half-day) and charts, and the daily status of the
// windows, each in every format the center uses (XLSX printable on A4 and signed, CSV, printable
// HTML, JSON, server-side SVG, one workbook per unit, and plain text for the daily status). Reports speak
// Simplified Chinese; the counting rules of every column are written next to the code that
// counts them (see Totals).
//
// The package is fed, never reads: MonthInput and DayInput are plain values that the file path
// (kaoqin report … --staff … --punches …, through the classification engine) and the database
// path (stored results) both fill, so the report never depends on where a result came from.
// FromAttendance turns an engine result into the report's Result; everything else about the
// inputs is filled by the caller. Data flows one way: reports imports attendance and leave, and
// nothing to its left in the style guide's line imports reports.
package reports
