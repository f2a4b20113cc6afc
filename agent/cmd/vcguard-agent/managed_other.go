//go:build !darwin && !windows

package main

// osManagedStore: Linux has no managed configuration store; MDM tools
// (Ansible, Puppet, …) write the configuration file.
func osManagedStore() managedStore { return nil }
