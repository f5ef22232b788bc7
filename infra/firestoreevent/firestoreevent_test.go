package firestoreevent

import (
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func sample(t *testing.T) Data {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	newDoc, err := Document("projects/p/databases/(default)/documents/responses/job-1", map[string]any{
		"state":   "succeeded",
		"attempt": int64(2),
		"outputs": []any{map[string]any{"name": "job-1/out.jpg", "width": int64(512)}},
		"ok":      true,
		"ratio":   1.5,
		"when":    now,
		"nothing": nil,
	}, now, now)
	if err != nil {
		t.Fatal(err)
	}
	oldDoc, err := Document("projects/p/databases/(default)/documents/responses/job-1", map[string]any{
		"state": "running", "attempt": int64(2),
	}, now, now.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return Data{Value: newDoc, OldValue: oldDoc, UpdateMask: []string{"state", "outputs"}}
}

func TestRoundTrip(t *testing.T) {
	want := sample(t)
	for _, ct := range []string{ContentProtobuf, ContentJSON, "application/json; charset=utf-8"} {
		t.Run(ct, func(t *testing.T) {
			var body []byte
			var err error
			if ct == ContentProtobuf {
				body, err = want.MarshalProto()
			} else {
				body, err = want.MarshalJSON()
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(ct, body)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got.Value, want.Value) || !proto.Equal(got.OldValue, want.OldValue) {
				t.Errorf("documents differ after a round trip:\n got %v\nwant %v", got.Value, want.Value)
			}
			if len(got.UpdateMask) != 2 || got.UpdateMask[0] != "state" {
				t.Errorf("update mask %v", got.UpdateMask)
			}
			if String(got.Value, "state") != "succeeded" || String(got.OldValue, "state") != "running" {
				t.Errorf("state fields wrong")
			}
		})
	}
}

// eventarcDescriptor describes google.events.cloud.firestore.v1.DocumentEventData
// as data.proto defines it, over the Firestore API's Document, so the
// protobuf the project writes can be checked against a real protobuf
// implementation rather than against itself.
func eventarcDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	msg := func(name string, fields ...*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
		return &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields}
	}
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string, repeated bool) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), JsonName: proto.String(name)}
		f.Label = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
		if repeated {
			f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
		}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	msgType := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("test/eventarc_firestore.proto"),
		Package:    proto.String("google.events.cloud.firestore.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/firestore/v1/document.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			msg("DocumentEventData",
				field("value", 1, msgType, ".google.firestore.v1.Document", false),
				field("old_value", 2, msgType, ".google.firestore.v1.Document", false),
				field("update_mask", 3, msgType, ".google.events.cloud.firestore.v1.DocumentMask", false)),
			msg("DocumentMask", field("field_paths", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, "", true)),
		},
	}
	file, err := protodesc.NewFile(fd, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return file.Messages().ByName("DocumentEventData")
}

func TestProtobufMatchesEventarcSchema(t *testing.T) {
	desc := eventarcDescriptor(t)
	want := sample(t)

	// What Eventarc sends, built with a generic protobuf implementation.
	m := dynamicpb.NewMessage(desc)
	m.Set(desc.Fields().ByName("value"), protoreflect.ValueOfMessage(want.Value.ProtoReflect()))
	m.Set(desc.Fields().ByName("old_value"), protoreflect.ValueOfMessage(want.OldValue.ProtoReflect()))
	mask := dynamicpb.NewMessage(desc.Fields().ByName("update_mask").Message())
	paths := mask.NewField(mask.Descriptor().Fields().ByName("field_paths")).List()
	paths.Append(protoreflect.ValueOfString("state"))
	paths.Append(protoreflect.ValueOfString("outputs"))
	mask.Set(mask.Descriptor().Fields().ByName("field_paths"), protoreflect.ValueOfList(paths))
	m.Set(desc.Fields().ByName("update_mask"), protoreflect.ValueOfMessage(mask))
	eventarc, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(ContentProtobuf, eventarc)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.Value, want.Value) || !proto.Equal(got.OldValue, want.OldValue) || len(got.UpdateMask) != 2 {
		t.Fatalf("decoding Eventarc's protobuf lost data: %+v", got)
	}

	// And what this package writes parses as Eventarc's schema.
	ours, err := want.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	parsed := dynamicpb.NewMessage(desc)
	if err := proto.Unmarshal(ours, parsed); err != nil {
		t.Fatal(err)
	}
	value := parsed.Get(desc.Fields().ByName("value")).Message().Interface()
	var doc firestorepb.Document
	raw, _ := proto.Marshal(value)
	if err := proto.Unmarshal(raw, &doc); err != nil || !proto.Equal(&doc, want.Value) {
		t.Errorf("our protobuf does not parse as DocumentEventData: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, ct, body string }{
		{"unknown content type", "text/plain", "x"},
		{"bad json", ContentJSON, "{"},
		{"bad protobuf", ContentProtobuf, "\x0a\xff"},
		{"no content type", "", ""},
	}
	for _, tc := range tests {
		if _, err := Decode(tc.ct, []byte(tc.body)); err == nil {
			t.Errorf("%s: decoded", tc.name)
		}
	}
}

func TestNewEvent(t *testing.T) {
	e, err := NewEvent("ev-1", "proj", "(default)", "errors/job-9", time.Now(), sample(t), ContentProtobuf)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != TypeWritten || e.Source() != "//firestore.googleapis.com/projects/proj/databases/(default)" || e.Subject() != "documents/errors/job-9" {
		t.Errorf("attributes %v", e)
	}
	if p, err := DocumentPath(e); err != nil || p != "errors/job-9" {
		t.Errorf("DocumentPath = %q, %v", p, err)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("invalid CloudEvent: %v", err)
	}
}
