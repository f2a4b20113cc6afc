package admin

import (
	"context"

	"github.com/vcguard/vcguard/server/store"
)

// SetDeviceGroup moves a device to group ("" for none), audited in the
// same transaction. The group decides which of the policy's group
// overrides apply: the device's stream on this replica is told at once,
// and a stream elsewhere when the agent next connects (every stream hears
// its group after the hello; streams are renewed every
// --max-connection-age).
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
	told := 0
	if s.Hub != nil {
		told = s.Hub.SetGroup(id, group)
	}
	s.logger().Info("device group set", "device", id, "group", group, "by", by.Subject, "streams_told", told)
	return d, nil
}
