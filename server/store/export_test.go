package store

// SetPurgeBatch sets how many events one PurgeEvents statement deletes, so
// tests cross batch boundaries with a few rows.
func SetPurgeBatch(s *Store, n int) { s.purgeBatch = n }
