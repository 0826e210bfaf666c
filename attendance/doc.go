// Package attendance owns the working time of the center and the classification of punches: the
// schedule (rules.md R1–R4, seasons per year), the working-day calendar (R5, the bundled official
// holidays plus a deployment's overrides), and the engine that turns one staff member's punches
// into one Result per working segment (R6–R11, R18), each with the evidence behind it.
//
// Everything here is a pure function of in-memory values; the only I/O is reading the embedded
// holiday files. Times are wall clock: a time.Time whose fields are the local clock's (the project
// carries them in time.UTC); the engine reads only those fields, never the instant.
//
// Import direction: package leave imports attendance, never the reverse. Leave slips, patrol
// records and failure reports are filed, checked and recognised in package leave (R9 reporting
// parties, R12–R17); what the engine needs to know about them is the small judged form defined
// here (Leave, Patrol, Failure), so the classification never depends on how a slip was approved.
// leave.Classify joins the two for callers that hold the raw records.
package attendance
