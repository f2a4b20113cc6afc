package store

// SetPurgeBatch sets how many events one PurgeEvents statement deletes, so
// tests cross batch boundaries with a few rows.
func SetPurgeBatch(s *Store, n int) { s.purgeBatch = n }

// RefuseAudit makes every insert into the audit log fail, as a full disk or
// a broken permission would, to prove that changes record their audit entry
// inside their own transaction.
func RefuseAudit(t interface{ Fatal(...any) }, s *Store) {
	stmts := []string{`CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END`}
	if s.dialect == dialectPostgres {
		stmts = []string{
			`CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log refused'; END $$`,
			`CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refused()`,
		}
	}
	for _, q := range stmts {
		if _, err := s.writeDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// RawTOTP returns an account's TOTP secret and pending secret as stored.
func RawTOTP(t interface{ Fatal(...any) }, s *Store, username string) (secret, pending string) {
	if err := s.db.QueryRow(`SELECT totp_secret, totp_pending FROM admins WHERE username = $1`, username).Scan(&secret, &pending); err != nil {
		t.Fatal(err)
	}
	return secret, pending
}

// SetRawTOTP stores an account's TOTP secret as given, bypassing sealing.
func SetRawTOTP(t interface{ Fatal(...any) }, s *Store, username, secret string) {
	if _, err := s.writeDB.Exec(`UPDATE admins SET totp_secret = $1 WHERE username = $2`, secret, username); err != nil {
		t.Fatal(err)
	}
}
