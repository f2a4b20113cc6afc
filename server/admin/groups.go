package admin

import (
	"context"

	"github.com/vcguard/vcguard/server/store"
)

// SetDeviceGroup moves a device to group ("" for none), audited in the
// same transaction. The group decides which of the policy's group
// overrides apply; the agent learns it at its next certificate renewal.
func (s *Service) SetDeviceGroup(ctx context.Context, by Actor, id, group string) (store.Device, error) {
	if err := ValidateGroup(group); err != nil {
		return store.Device{}, err
	}
	rec, err := s.Store.DeviceRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	if rec.Group == group {
		return rec, nil
	}
	e, err := s.entry(by, "device_group_set", "device:"+id, map[string]any{"hostname": rec.Hostname, "from": rec.Group, "to": group})
	if err != nil {
		return rec, err
	}
	d, err := s.Store.SetDeviceGroup(ctx, id, group, e)
	if err != nil {
		return d, err
	}
	s.logger().Info("device group set", "device", id, "group", group, "by", by.Subject)
	return d, nil
}
