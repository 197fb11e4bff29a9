package main

import (
	"encoding"
	"encoding/json"
	"io"
	"reflect"

	"github.com/spf13/cobra"
)

// writeJSON is how every command prints --json output: indented, without
// HTML escaping (a "<" in a description stays "<"), and with every nil
// slice or map written as [] or {}, so that scripts never have to tell
// null from an empty list.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(emptyCollections(reflect.ValueOf(v)).Interface())
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// emptyCollections returns v, or a copy of it in which every nil slice and
// nil map that encoding/json would write as null is empty instead. Values
// that marshal themselves are left alone, and so are unexported fields,
// which encoding/json skips anyway.
func emptyCollections(v reflect.Value) reflect.Value {
	if !v.IsValid() {
		return v
	}
	t := v.Type()
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return v
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		return emptyCollections(v.Elem())
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(emptyCollections(v.Elem()))
		return p
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return v // []byte is base64 text, not a list
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(emptyCollections(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(t).Elem()
		for i := range v.Len() {
			out.Index(i).Set(emptyCollections(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), emptyCollections(it.Value()))
		}
		return out
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.Anonymous && !f.IsExported() {
				return v // its promoted fields cannot be copied one by one
			}
		}
		out := reflect.New(t).Elem()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			out.Field(i).Set(emptyCollections(v.Field(i)))
		}
		return out
	}
	return v
}

// jsonAnnotation marks a command that has no JSON output. Every other
// command prints JSON when --json is given.
const jsonAnnotation = "debflow/json"

// withoutJSON marks cmd as having no JSON output, and says why: --json is
// then refused (exit 2) instead of being ignored.
func withoutJSON(cmd *cobra.Command, why string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[jsonAnnotation] = why
	return cmd
}

// refuseJSON is the usage error of a command without JSON output.
func refuseJSON(cmd *cobra.Command) error {
	why := cmd.Annotations[jsonAnnotation]
	return usagef("%s has no JSON output (%s): drop --json", cmd.CommandPath(), why)
}
