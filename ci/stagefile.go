package ci

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/snapshot"
)

// SnapshotKey is the stage file's key that names the snapshot a stage
// serves.
const SnapshotKey = "snapshot"

// ReadStageSnapshot returns the snapshot a stage file names. The file is a
// YAML mapping; its other keys are not debflow's and are ignored.
func ReadStageSnapshot(data []byte) (string, error) {
	root, err := stageRoot(data)
	if err != nil {
		return "", err
	}
	if root == nil {
		return "", fmt.Errorf("%w: empty, want a %q key", ErrStageFile, SnapshotKey)
	}
	_, val, err := findSnapshotKey(root)
	if err != nil {
		return "", err
	}
	if val == nil {
		return "", fmt.Errorf("%w: no %q key", ErrStageFile, SnapshotKey)
	}
	if val.Kind != yaml.ScalarNode || val.ShortTag() == "!!null" {
		return "", fmt.Errorf("%w: line %d: %q must name a snapshot", ErrStageFile, val.Line, SnapshotKey)
	}
	if err := snapshot.ValidName(val.Value); err != nil {
		return "", fmt.Errorf("%w: line %d: %w", ErrStageFile, val.Line, err)
	}
	return val.Value, nil
}

// SetStageSnapshot returns the stage file with its snapshot key set to
// name, added when missing. Only the value changes: other keys, comments,
// quoting and layout stay as they were, byte for byte. When the file's
// layout makes that edit unsafe (a multi-line or tagged value, a flow
// mapping), the file is re-encoded from its YAML tree instead, which keeps
// keys, values and comments but may change indentation.
func SetStageSnapshot(data []byte, name string) ([]byte, error) {
	if err := snapshot.ValidName(name); err != nil {
		return nil, err
	}
	root, err := stageRoot(data)
	if err != nil {
		return nil, err
	}
	var key, val *yaml.Node
	if root != nil {
		if key, val, err = findSnapshotKey(root); err != nil {
			return nil, err
		}
	}
	if out, ok := editInPlace(data, root, key, val, name); ok && sameOtherKeys(data, out, name) {
		return out, nil
	}
	out, err := reencode(data, name)
	if err != nil {
		return nil, err
	}
	if !sameOtherKeys(data, out, name) {
		return nil, fmt.Errorf("%w: cannot set %q without changing other keys", ErrStageFile, SnapshotKey)
	}
	return out, nil
}

// stageRoot parses a stage file and returns its top mapping, or nil for an
// empty file.
func stageRoot(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStageFile, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: line %d: want a mapping with a %q key", ErrStageFile, root.Line, SnapshotKey)
	}
	return root, nil
}

// findSnapshotKey returns the snapshot key and value nodes of a mapping,
// nil when absent.
func findSnapshotKey(root *yaml.Node) (key, val *yaml.Node, err error) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Kind != yaml.ScalarNode || k.Value != SnapshotKey {
			continue
		}
		if key != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %q given twice", ErrStageFile, k.Line, SnapshotKey)
		}
		key, val = k, root.Content[i+1]
	}
	return key, val, nil
}

// editInPlace replaces the snapshot value's text on its line, or appends
// the key to a block mapping. ok is false when the layout is not one it
// handles; the caller checks the result anyway.
func editInPlace(data []byte, root, key, val *yaml.Node, name string) ([]byte, bool) {
	if root == nil || root.Style&yaml.FlowStyle != 0 {
		if root != nil {
			return nil, false
		}
		// An empty file, perhaps comments only: add the key at the end.
		return appendKey(data, name), true
	}
	if key == nil {
		return appendKey(data, name), true
	}
	if val.Kind != yaml.ScalarNode || val.Style&yaml.TaggedStyle != 0 || val.Anchor != "" || val.Line != key.Line {
		return nil, false
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if val.Line < 1 || val.Line > len(lines) {
		return nil, false
	}
	line := lines[val.Line-1]
	start, ok := runeOffset(line, val.Column-1)
	if !ok {
		return nil, false
	}
	end, text, ok := scalarEnd(line, start, val.Style, name)
	if !ok {
		return nil, false
	}
	var out bytes.Buffer
	for i, l := range lines {
		if i != val.Line-1 {
			out.Write(l)
			continue
		}
		out.Write(l[:start])
		out.WriteString(text)
		out.Write(l[end:])
	}
	return out.Bytes(), true
}

// runeOffset returns the byte offset of the n-th rune of line (yaml.v3
// counts columns in characters).
func runeOffset(line []byte, n int) (int, bool) {
	off := 0
	for i := 0; i < n; i++ {
		if off >= len(line) {
			return 0, false
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off, off <= len(line)
}

// scalarEnd finds where the one-line scalar starting at line[start:] ends
// and returns the replacement text for name in the same style.
func scalarEnd(line []byte, start int, style yaml.Style, name string) (int, string, bool) {
	rest := line[start:]
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		if len(rest) == 0 || rest[0] != '"' {
			return 0, "", false
		}
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				return start + i + 1, `"` + name + `"`, true
			}
		}
		return 0, "", false
	case style&yaml.SingleQuotedStyle != 0:
		if len(rest) == 0 || rest[0] != '\'' {
			return 0, "", false
		}
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return start + i + 1, "'" + name + "'", true
			}
		}
		return 0, "", false
	case style == 0:
		// A plain scalar ends at " #" (a comment) or at the end of the line.
		end := len(rest)
		if i := bytes.Index(rest, []byte(" #")); i >= 0 {
			end = i
		}
		if i := bytes.Index(rest, []byte("\t#")); i >= 0 && i < end {
			end = i
		}
		text := bytes.TrimRight(rest[:end], " \t\r\n")
		if len(text) == 0 {
			return 0, "", false
		}
		return start + len(text), name, true
	}
	return 0, "", false
}

// appendKey adds the snapshot key at the end of a block mapping.
func appendKey(data []byte, name string) []byte {
	out := append([]byte(nil), data...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, SnapshotKey+": \""+name+"\"\n"...)
}

// reencode sets the snapshot key in the YAML tree and encodes the tree.
func reencode(data []byte, name string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStageFile, err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode}
	}
	if len(doc.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	root := doc.Content[0]
	_, val, err := findSnapshotKey(root)
	if err != nil {
		return nil, err
	}
	if val == nil {
		val = &yaml.Node{}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: SnapshotKey}, val)
	}
	*val = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name, Style: yaml.DoubleQuotedStyle,
		LineComment: val.LineComment, HeadComment: val.HeadComment, FootComment: val.FootComment}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStageFile, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStageFile, err)
	}
	return []byte(b.String()), nil
}

// sameOtherKeys checks an edit: out names name, and every other key has
// the value it had in data.
func sameOtherKeys(data, out []byte, name string) bool {
	if got, err := ReadStageSnapshot(out); err != nil || got != name {
		return false
	}
	var a, b map[string]any
	if yaml.Unmarshal(data, &a) != nil || yaml.Unmarshal(out, &b) != nil {
		return false
	}
	delete(a, SnapshotKey)
	delete(b, SnapshotKey)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
