package browsersite

// The tests build and query databases with modernc.org/sqlite, the pure-Go
// SQLite the server uses, to check the agent's own reader (sqlitefile.go)
// against it; the agent itself does not link it.
import _ "modernc.org/sqlite" // the "sqlite" database/sql driver
