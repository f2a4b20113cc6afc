// Package fsperm keeps the agent's directories to the agent: a root
// service (SYSTEM on Windows) writes only into directories that it owns and
// that nobody else may write, and reads policy only from files nobody else
// may have written.
//
// On Linux and macOS that is the owner and the mode bits. On Windows, where
// files have access lists instead of modes, Protect gives a directory a
// protected DACL (SYSTEM and Administrators full control, inherited by
// everything created in it; optionally BUILTIN\Users read) so that nothing
// from %ProgramData%, where every user may create files and folders, is
// inherited; CheckNotWritableByOthers and CheckPrivate read a file's owner
// and DACL and refuse it when anyone else may write (or read) it.
//
// The ACL decoder (acl.go) carries no build tag: it is tested on every OS.
package fsperm
