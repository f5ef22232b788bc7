// Package firestoreevent encodes and decodes the CloudEvents that Eventarc
// sends for Firestore document changes (google.cloud.firestore.document.v1.*),
// in both content types Eventarc uses: application/protobuf (the default for
// Firestore triggers) and application/json.
//
// The data is google.events.cloud.firestore.v1.DocumentEventData. Its Go
// bindings (google-cloudevents-go) are not served by the module proxy here,
// so the three-field outer message is encoded with protowire; its Document
// and Value messages have the same field numbers as the Firestore API's, so
// firestorepb's types carry them.
package firestoreevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Event types and content types of Eventarc's Firestore triggers.
const (
	TypeWritten     = "google.cloud.firestore.document.v1.written"
	ContentProtobuf = "application/protobuf"
	ContentJSON     = "application/json"
)

// Data is DocumentEventData: the document after the change (nil when
// deleted), before it (nil when created) and the changed field paths.
type Data struct {
	Value      *firestorepb.Document
	OldValue   *firestorepb.Document
	UpdateMask []string
}

// Field numbers of DocumentEventData and DocumentMask.
const (
	fieldValue      protowire.Number = 1
	fieldOldValue   protowire.Number = 2
	fieldUpdateMask protowire.Number = 3
	fieldFieldPaths protowire.Number = 1
)

// MarshalProto encodes the data as Eventarc's application/protobuf body.
func (d Data) MarshalProto() ([]byte, error) {
	var b []byte
	for _, f := range []struct {
		n   protowire.Number
		doc *firestorepb.Document
	}{{fieldValue, d.Value}, {fieldOldValue, d.OldValue}} {
		if f.doc == nil {
			continue
		}
		raw, err := proto.Marshal(f.doc)
		if err != nil {
			return nil, fmt.Errorf("firestoreevent.MarshalProto: %w", err)
		}
		b = protowire.AppendTag(b, f.n, protowire.BytesType)
		b = protowire.AppendBytes(b, raw)
	}
	if len(d.UpdateMask) > 0 {
		var mask []byte
		for _, p := range d.UpdateMask {
			mask = protowire.AppendTag(mask, fieldFieldPaths, protowire.BytesType)
			mask = protowire.AppendString(mask, p)
		}
		b = protowire.AppendTag(b, fieldUpdateMask, protowire.BytesType)
		b = protowire.AppendBytes(b, mask)
	}
	return b, nil
}

// jsonData is DocumentEventData in proto3 JSON.
type jsonData struct {
	Value      json.RawMessage `json:"value,omitempty"`
	OldValue   json.RawMessage `json:"oldValue,omitempty"`
	UpdateMask *struct {
		FieldPaths []string `json:"fieldPaths"`
	} `json:"updateMask,omitempty"`
}

// MarshalJSON encodes the data as Eventarc's application/json body.
func (d Data) MarshalJSON() ([]byte, error) {
	var out jsonData
	var err error
	if d.Value != nil {
		if out.Value, err = protojson.Marshal(d.Value); err != nil {
			return nil, fmt.Errorf("firestoreevent.MarshalJSON: %w", err)
		}
	}
	if d.OldValue != nil {
		if out.OldValue, err = protojson.Marshal(d.OldValue); err != nil {
			return nil, fmt.Errorf("firestoreevent.MarshalJSON: %w", err)
		}
	}
	if len(d.UpdateMask) > 0 {
		out.UpdateMask = &struct {
			FieldPaths []string `json:"fieldPaths"`
		}{d.UpdateMask}
	}
	return json.Marshal(out)
}

// Decode parses an event body of either content type.
func Decode(contentType string, body []byte) (Data, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Data{}, fmt.Errorf("firestoreevent.Decode: content type %q: %w", contentType, err)
	}
	switch mt {
	case ContentProtobuf:
		return decodeProto(body)
	case ContentJSON:
		return decodeJSON(body)
	}
	return Data{}, fmt.Errorf("firestoreevent.Decode: unsupported content type %q", mt)
}

func decodeProto(b []byte) (Data, error) {
	var d Data
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Data{}, fmt.Errorf("firestoreevent.Decode: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Data{}, fmt.Errorf("firestoreevent.Decode: %w", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return Data{}, fmt.Errorf("firestoreevent.Decode: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch num {
		case fieldValue, fieldOldValue:
			doc := new(firestorepb.Document)
			if err := proto.Unmarshal(v, doc); err != nil {
				return Data{}, fmt.Errorf("firestoreevent.Decode: document: %w", err)
			}
			if num == fieldValue {
				d.Value = doc
			} else {
				d.OldValue = doc
			}
		case fieldUpdateMask:
			paths, err := decodeMask(v)
			if err != nil {
				return Data{}, err
			}
			d.UpdateMask = paths
		}
	}
	return d, nil
}

func decodeMask(b []byte) ([]string, error) {
	var paths []string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("firestoreevent.Decode: mask: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldFieldPaths && typ == protowire.BytesType {
			s, n := protowire.ConsumeString(b)
			if n < 0 {
				return nil, fmt.Errorf("firestoreevent.Decode: mask: %w", protowire.ParseError(n))
			}
			paths = append(paths, s)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, fmt.Errorf("firestoreevent.Decode: mask: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return paths, nil
}

func decodeJSON(b []byte) (Data, error) {
	var in jsonData
	if err := json.Unmarshal(b, &in); err != nil {
		return Data{}, fmt.Errorf("firestoreevent.Decode: %w", err)
	}
	var d Data
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if len(in.Value) > 0 && string(in.Value) != "null" {
		d.Value = new(firestorepb.Document)
		if err := opts.Unmarshal(in.Value, d.Value); err != nil {
			return Data{}, fmt.Errorf("firestoreevent.Decode: value: %w", err)
		}
	}
	if len(in.OldValue) > 0 && string(in.OldValue) != "null" {
		d.OldValue = new(firestorepb.Document)
		if err := opts.Unmarshal(in.OldValue, d.OldValue); err != nil {
			return Data{}, fmt.Errorf("firestoreevent.Decode: oldValue: %w", err)
		}
	}
	if in.UpdateMask != nil {
		d.UpdateMask = in.UpdateMask.FieldPaths
	}
	return d, nil
}

// Source is the CloudEvent source Eventarc sets for a database.
func Source(project, database string) string {
	return fmt.Sprintf("//firestore.googleapis.com/projects/%s/databases/%s", project, database)
}

// NewEvent builds the event Eventarc would deliver for a change of the
// document at docPath (e.g. "responses/abc"), with the data in the given
// content type.
func NewEvent(id, project, database, docPath string, at time.Time, d Data, contentType string) (cloudevents.Event, error) {
	var body []byte
	var err error
	switch contentType {
	case ContentProtobuf:
		body, err = d.MarshalProto()
	case ContentJSON:
		body, err = d.MarshalJSON()
	default:
		err = fmt.Errorf("unsupported content type %q", contentType)
	}
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("firestoreevent.NewEvent: %w", err)
	}
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(TypeWritten)
	e.SetSource(Source(project, database))
	e.SetSubject("documents/" + docPath)
	e.SetTime(at)
	e.SetExtension("project", project)
	e.SetExtension("database", database)
	e.SetExtension("namespace", "(default)")
	e.SetExtension("document", docPath)
	e.SetExtension("location", "nam5")
	if err := e.SetData(contentType, body); err != nil {
		return cloudevents.Event{}, fmt.Errorf("firestoreevent.NewEvent: %w", err)
	}
	return e, nil
}

// DocumentPath returns the document path ("responses/abc") an event is
// about, from its subject.
func DocumentPath(e cloudevents.Event) (string, error) {
	p, ok := strings.CutPrefix(e.Subject(), "documents/")
	if !ok || p == "" {
		return "", fmt.Errorf("firestoreevent: subject %q is not a document", e.Subject())
	}
	return p, nil
}

// ErrUnsupportedValue means a Go value has no Firestore representation here.
var ErrUnsupportedValue = errors.New("unsupported Firestore value")

// Document builds a firestorepb.Document from a document's resource name,
// its data as the Go client returns it, and its times.
func Document(name string, data map[string]any, created, updated time.Time) (*firestorepb.Document, error) {
	fields, err := fieldsOf(data)
	if err != nil {
		return nil, err
	}
	return &firestorepb.Document{
		Name: name, Fields: fields,
		CreateTime: timestamppb.New(created), UpdateTime: timestamppb.New(updated),
	}, nil
}

func fieldsOf(m map[string]any) (map[string]*firestorepb.Value, error) {
	out := make(map[string]*firestorepb.Value, len(m))
	for k, v := range m {
		pv, err := valueOf(v)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		out[k] = pv
	}
	return out, nil
}

// valueOf converts the values the Firestore Go client decodes documents into.
func valueOf(v any) (*firestorepb.Value, error) {
	switch x := v.(type) {
	case nil:
		return &firestorepb.Value{ValueType: &firestorepb.Value_NullValue{NullValue: structpb.NullValue_NULL_VALUE}}, nil
	case bool:
		return &firestorepb.Value{ValueType: &firestorepb.Value_BooleanValue{BooleanValue: x}}, nil
	case int64:
		return &firestorepb.Value{ValueType: &firestorepb.Value_IntegerValue{IntegerValue: x}}, nil
	case int:
		return &firestorepb.Value{ValueType: &firestorepb.Value_IntegerValue{IntegerValue: int64(x)}}, nil
	case float64:
		return &firestorepb.Value{ValueType: &firestorepb.Value_DoubleValue{DoubleValue: x}}, nil
	case string:
		return &firestorepb.Value{ValueType: &firestorepb.Value_StringValue{StringValue: x}}, nil
	case []byte:
		return &firestorepb.Value{ValueType: &firestorepb.Value_BytesValue{BytesValue: x}}, nil
	case time.Time:
		return &firestorepb.Value{ValueType: &firestorepb.Value_TimestampValue{TimestampValue: timestamppb.New(x)}}, nil
	case *latlng.LatLng:
		return &firestorepb.Value{ValueType: &firestorepb.Value_GeoPointValue{GeoPointValue: x}}, nil
	case []any:
		arr := &firestorepb.ArrayValue{}
		for i, e := range x {
			pv, err := valueOf(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			arr.Values = append(arr.Values, pv)
		}
		return &firestorepb.Value{ValueType: &firestorepb.Value_ArrayValue{ArrayValue: arr}}, nil
	case map[string]any:
		fields, err := fieldsOf(x)
		if err != nil {
			return nil, err
		}
		return &firestorepb.Value{ValueType: &firestorepb.Value_MapValue{MapValue: &firestorepb.MapValue{Fields: fields}}}, nil
	}
	if r, ok := v.(*firestore.DocumentRef); ok {
		return &firestorepb.Value{ValueType: &firestorepb.Value_ReferenceValue{ReferenceValue: r.Path}}, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

// String returns a string field of a document ("" when absent).
func String(doc *firestorepb.Document, field string) string {
	if doc == nil {
		return ""
	}
	return doc.GetFields()[field].GetStringValue()
}
