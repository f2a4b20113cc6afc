package vcguardv1

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Every detail kind of Event, in every variant EventType tells apart,
// names a type that EventTypes lists, and EventTypes lists nothing else.
func TestEventTypesListsEveryType(t *testing.T) {
	list := EventTypes()
	if !slices.IsSorted(list) {
		t.Errorf("EventTypes() is not sorted: %v", list)
	}
	named := map[string]bool{}
	oneof := (&Event{}).ProtoReflect().Descriptor().Oneofs().ByName("detail")
	if oneof == nil {
		t.Fatal("Event has no oneof detail")
	}
	fields := oneof.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		variants := []*Event{}
		switch f.Name() {
		case "app":
			for _, k := range []AppEvent_Kind{AppEvent_KIND_STARTED, AppEvent_KIND_STOPPED, AppEvent_KIND_VERDICT_CHANGED, AppEvent_KIND_UNSPECIFIED} {
				variants = append(variants, &Event{Detail: &Event_App{App: &AppEvent{Kind: k}}})
			}
		case "media":
			for _, kind := range []string{"camera", "microphone", "screen", "output_audio", "other"} {
				for _, on := range []bool{true, false} {
					variants = append(variants, &Event{Detail: &Event_Media{Media: &MediaEvent{On: on, Use: &MediaUse{Kind: kind}}}})
				}
			}
		default:
			e := &Event{}
			m := e.ProtoReflect()
			m.Set(f, protoreflect.ValueOfMessage(m.NewField(f).Message()))
			variants = append(variants, e)
		}
		for _, e := range variants {
			typ := EventType(e)
			if typ == "unknown" || !slices.Contains(list, typ) {
				t.Errorf("detail %s names type %q, which EventTypes() lacks", f.Name(), typ)
			}
			named[typ] = true
		}
	}
	for _, typ := range list {
		if !named[typ] {
			t.Errorf("EventTypes() lists %q, which no event is named", typ)
		}
	}
}
