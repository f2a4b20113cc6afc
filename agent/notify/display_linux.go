package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
)

// The freedesktop desktop notification service.
const (
	notificationsName  = "org.freedesktop.Notifications"
	notificationsPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notificationsIface = "org.freedesktop.Notifications"
)

// DBusDisplay shows messages through the org.freedesktop.Notifications
// service of a session bus: the desktop's notification daemon (GNOME
// Shell, KDE Plasma, dunst, mako, …).
type DBusDisplay struct {
	conn    *dbus.Conn
	appName string
	owned   bool // Close closes conn

	mu   sync.Mutex
	ids  map[string]uint32 // message key → notification id on screen
	urls map[uint32]string // notification id → its URL, for the default action
}

// NewDBusDisplay returns a display that notifies through conn, a session
// bus connection, in the name of appName ("vcguard"). Close does not
// close conn.
func NewDBusDisplay(conn *dbus.Conn, appName string) *DBusDisplay {
	return &DBusDisplay{conn: conn, appName: appName, ids: map[string]uint32{}, urls: map[uint32]string{}}
}

// ConnectSessionBus connects to the session bus at addr (a D-Bus address
// such as "unix:path=/run/user/1000/bus"), or to the user's session bus
// from DBUS_SESSION_BUS_ADDRESS when addr is "". The connection is the
// caller's own (not shared); close it when done.
func ConnectSessionBus(addr string) (*dbus.Conn, error) {
	var (
		conn *dbus.Conn
		err  error
	)
	if addr == "" {
		conn, err = dbus.ConnectSessionBus()
	} else {
		conn, err = dbus.Connect(addr)
	}
	if err != nil {
		where := addr
		if where == "" {
			where = "the session bus (DBUS_SESSION_BUS_ADDRESS)"
		}
		return nil, fmt.Errorf("connect to %s: %w; the notifier must run inside the user's desktop session", where, err)
	}
	return conn, nil
}

// OpenSystemDisplay connects to the user's session bus and returns a
// DBusDisplay that owns the connection.
func OpenSystemDisplay(appName string) (SystemDisplay, error) {
	conn, err := ConnectSessionBus("")
	if err != nil {
		return nil, err
	}
	d := NewDBusDisplay(conn, appName)
	d.owned = true
	return d, nil
}

// Close closes the bus connection if the display opened it.
func (d *DBusDisplay) Close() error {
	if d.owned {
		return d.conn.Close()
	}
	return nil
}

// Show shows m, replacing the notification shown earlier for m.Key.
func (d *DBusDisplay) Show(ctx context.Context, m Message) error {
	d.mu.Lock()
	replaces := d.ids[m.Key]
	d.mu.Unlock()
	id, err := d.Notify(ctx, m, replaces)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if replaces != 0 && replaces != id {
		delete(d.urls, replaces)
	}
	if m.Key != "" {
		d.ids[m.Key] = id
	}
	if m.URL != "" {
		d.urls[id] = m.URL
	}
	return nil
}

// Notify shows m in place of notification replacesID (0 for a new one)
// and returns the notification's id. It asks the server's capabilities
// first: the body is escaped where the server reads markup, and the
// action that opens m.URL is offered only where the server has actions.
// Critical messages stay until dismissed; others expire as the server
// decides.
func (d *DBusDisplay) Notify(ctx context.Context, m Message, replacesID uint32) (uint32, error) {
	obj := d.conn.Object(notificationsName, notificationsPath)
	var caps []string
	if err := obj.CallWithContext(ctx, notificationsIface+".GetCapabilities", 0).Store(&caps); err != nil {
		return 0, fmt.Errorf("ask the desktop notification service (%s) for its capabilities: %w", notificationsName, err)
	}
	body := m.Body
	if slices.Contains(caps, "body-markup") {
		body = markupEscape(body)
		if m.URL != "" && slices.Contains(caps, "body-hyperlinks") {
			u := markupEscape(m.URL)
			body = strings.ReplaceAll(body, u, `<a href="`+strings.ReplaceAll(u, `"`, "&quot;")+`">`+u+`</a>`)
		}
	}
	actions := []string{}
	if m.URL != "" && slices.Contains(caps, "actions") {
		label := m.URLLabel
		if label == "" {
			label = m.URL
		}
		actions = append(actions, "default", label)
	}
	icon := "dialog-warning"
	if m.Urgency == UrgencyLow {
		icon = "dialog-information"
	}
	hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(m.Urgency))}
	expire := int32(-1)
	if m.Urgency == UrgencyCritical {
		expire = 0
	}
	var id uint32
	err := obj.CallWithContext(ctx, notificationsIface+".Notify", 0,
		d.appName, replacesID, icon, m.Title, body, actions, hints, expire).Store(&id)
	if err != nil {
		return 0, fmt.Errorf("show notification %q through %s: %w", m.Title, notificationsName, err)
	}
	return id, nil
}

// Withdraw closes the notification shown for key, if any: call it when
// the finding goes away.
func (d *DBusDisplay) Withdraw(ctx context.Context, key string) error {
	d.mu.Lock()
	id, ok := d.ids[key]
	delete(d.ids, key)
	delete(d.urls, id)
	d.mu.Unlock()
	if !ok {
		return nil
	}
	err := d.conn.Object(notificationsName, notificationsPath).
		CallWithContext(ctx, notificationsIface+".CloseNotification", 0, id).Err
	if err != nil {
		return fmt.Errorf("close notification %d through %s: %w", id, notificationsName, err)
	}
	return nil
}

// WatchActions calls open with the URL of a notification whose default
// action the person invoked (clicked it), and forgets notifications the
// server reports closed, until ctx is done or the connection closes. open
// runs on WatchActions' goroutine.
func (d *DBusDisplay) WatchActions(ctx context.Context, open func(url string)) error {
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(notificationsPath),
		dbus.WithMatchInterface(notificationsIface),
	}
	if err := d.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return fmt.Errorf("subscribe to %s signals: %w", notificationsName, err)
	}
	ch := make(chan *dbus.Signal, 16)
	d.conn.Signal(ch)
	defer func() {
		d.conn.RemoveSignal(ch)
		// Best effort: the connection may be gone already.
		_ = d.conn.RemoveMatchSignalContext(context.WithoutCancel(ctx), match...)
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s, ok := <-ch:
			if !ok {
				return errors.New("session bus connection closed")
			}
			if s.Path != notificationsPath || len(s.Body) < 2 {
				continue
			}
			id, _ := s.Body[0].(uint32)
			switch s.Name {
			case notificationsIface + ".ActionInvoked":
				if action, _ := s.Body[1].(string); action == "default" {
					d.mu.Lock()
					u := d.urls[id]
					d.mu.Unlock()
					if u != "" {
						open(u)
					}
				}
			case notificationsIface + ".NotificationClosed":
				d.mu.Lock()
				delete(d.urls, id)
				for k, v := range d.ids {
					if v == id {
						delete(d.ids, k)
					}
				}
				d.mu.Unlock()
			}
		}
	}
}

// markupEscape escapes text for a notification body that the server
// reads as its small subset of HTML.
func markupEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
