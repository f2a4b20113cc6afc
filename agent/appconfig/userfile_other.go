//go:build !unix && !windows

package appconfig

import "fmt"

func readUserFile(path string, _ int, _ int64) ([]byte, error) {
	return nil, fmt.Errorf("open %s: %w", path, ErrUnsupported)
}

type userDir struct{}

func openUserDir(path string, _ int) (*userDir, error) {
	return nil, fmt.Errorf("open %s: %w", path, ErrUnsupported)
}

func (d *userDir) names() ([]string, error)               { return nil, ErrUnsupported }
func (d *userDir) readFile(string, int64) ([]byte, error) { return nil, ErrUnsupported }
func (d *userDir) Close() error                           { return nil }
