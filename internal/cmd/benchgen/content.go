package main

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
)

// The generators below imitate what /usr/lib and /usr/share hold, so that
// compressors face realistic input: text that xz shrinks about 4-6x,
// machine-code-like data about 2-3x, and some data that is already
// compressed (1x). Everything derives from a seeded PCG, so the bytes depend
// only on the seed and the file's index.

var baseWords = []string{
	"the", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "are",
	"be", "this", "by", "it", "or", "from", "an", "not", "if", "return", "func",
	"int", "char", "void", "const", "static", "struct", "error", "value", "size",
	"data", "buffer", "file", "path", "name", "type", "list", "config", "default",
	"server", "client", "request", "response", "handler", "context", "string",
	"options", "version", "package", "module", "import", "export", "class", "self",
	"true", "false", "null", "none", "else", "while", "break", "case", "switch",
	"public", "private", "unsigned", "long", "uint32_t", "uint64_t", "size_t",
	"init", "free", "alloc", "open", "close", "read", "write", "flush", "lock",
	"unlock", "state", "index", "count", "length", "offset", "header", "table",
	"entry", "node", "tree", "hash", "key", "map", "set", "get", "update", "delete",
	"message", "warning", "debug", "info", "log", "level", "format", "parse",
	"device", "network", "socket", "address", "port", "timeout", "retry", "user",
}

// vocab is the shared vocabulary: the base words and identifiers made of
// syllables, as symbol names and prose in real files are.
type vocab struct {
	words []string
	insns [][]byte // machine "instructions": short byte patterns shared by all binaries
	imms  [][]byte // operands: displacements, offsets and constants, most of them common
	nums  []string // numbers as they appear in text
	lines [][]byte // lines that recur across text files (licence headers, idioms)
	funcs [][]byte // code blocks that recur across binaries (stubs, inlined helpers)
}

func newVocab(seed uint64) *vocab {
	r := rand.New(rand.NewPCG(seed, 0x766f636162))
	syll := []string{"ba", "co", "de", "fi", "gu", "ha", "ji", "ka", "lo", "me", "nu", "po",
		"qu", "ri", "sa", "te", "vi", "wo", "xa", "ze", "str", "ptr", "buf", "ctx", "mgr", "obj"}
	v := &vocab{words: append([]string(nil), baseWords...)}
	for i := 0; i < 3000; i++ {
		n := 2 + r.IntN(3)
		w := ""
		for j := 0; j < n; j++ {
			if j > 0 && r.IntN(4) == 0 {
				w += "_"
			}
			w += syll[r.IntN(len(syll))]
		}
		v.words = append(v.words, w)
	}
	for i := 0; i < 1024; i++ {
		b := make([]byte, 1+r.IntN(6))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		v.insns = append(v.insns, b)
	}
	for i := 0; i < 4096; i++ {
		b := make([]byte, 1+r.IntN(4))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		v.imms = append(v.imms, b)
	}
	for i := 0; i < 1000; i++ {
		if r.IntN(3) == 0 {
			v.nums = append(v.nums, "0x"+strconv.FormatUint(uint64(r.Uint32()>>r.IntN(24)), 16))
		} else {
			v.nums = append(v.nums, strconv.Itoa(r.IntN(1<<r.IntN(20))))
		}
	}
	for i := 0; i < 6000; i++ {
		v.lines = append(v.lines, v.line(r, r.IntN(5)))
	}
	for i := 0; i < 6000; i++ {
		v.funcs = append(v.funcs, v.code(r, nil, 16+r.IntN(480)))
	}
	return v
}

// How often text lines and code blocks are taken from the shared library
// rather than made afresh, in percent: this sets the compression ratio.
const (
	textReuse = 60
	codeReuse = 70
)

// local is the part of a library that one region of a file uses most, so
// that repetitions are also near each other, as in real files; that is what
// gzip's 32 KiB window and zstd's small window can find.
type local struct {
	set  []int
	from int // the offset at which set was chosen
}

const (
	localSize   = 48
	localShare  = 75 // percent of picks from the local set
	localRegion = 256 << 10
)

// pick returns the index of a library item for the region at offset pos.
func (l *local) pick(r *rand.Rand, pos, n int) int {
	if l.set == nil || pos-l.from >= localRegion {
		l.set, l.from = l.set[:0], pos
		for i := 0; i < localSize; i++ {
			l.set = append(l.set, skewed(r, n))
		}
	}
	if r.IntN(100) < localShare {
		return l.set[r.IntN(len(l.set))]
	}
	return skewed(r, n)
}

// skewed picks an index in [0, n) with a heavy bias towards small ones, as
// word and opcode frequencies are.
func skewed(r *rand.Rand, n int) int {
	u := r.Float64()
	return int(u * u * u * float64(n))
}

func (v *vocab) word(r *rand.Rand) string { return v.words[skewed(r, len(v.words))] }

// line returns one line of source code or prose, indented.
func (v *vocab) line(r *rand.Rand, indent int) []byte {
	var b []byte
	for i := 0; i < indent; i++ {
		b = append(b, "    "...)
	}
	words := 2 + r.IntN(10)
	for i := 0; i < words; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		switch r.IntN(14) {
		case 0:
			b = append(b, v.nums[skewed(r, len(v.nums))]...)
		case 1:
			b = append(b, v.word(r)...)
			b = append(b, '(')
			b = append(b, v.word(r)...)
			b = append(b, ')')
		default:
			b = append(b, v.word(r)...)
		}
	}
	switch r.IntN(4) {
	case 0:
		b = append(b, ';')
	case 1:
		b = append(b, '.')
	}
	return append(b, '\n')
}

// text returns size bytes of source-code-like or prose-like lines, many
// of which recur, as they do in real trees.
func (v *vocab) text(r *rand.Rand, size int) []byte {
	b := make([]byte, 0, size+256)
	var l local
	for len(b) < size {
		if r.IntN(100) < textReuse {
			b = append(b, v.lines[l.pick(r, len(b), len(v.lines))]...)
		} else {
			b = append(b, v.line(r, r.IntN(5))...)
		}
	}
	return b[:size]
}

// code appends about n bytes of instructions with operands to b.
func (v *vocab) code(r *rand.Rand, b []byte, n int) []byte {
	end := len(b) + n
	for len(b) < end {
		b = append(b, v.insns[skewed(r, len(v.insns))]...)
		switch r.IntN(8) {
		case 0, 1, 2:
			b = append(b, v.imms[skewed(r, len(v.imms))]...)
		case 3:
			b = append(b, byte(r.Uint32()), byte(r.Uint32()))
		}
	}
	return b
}

// binary returns size bytes that look like an ELF object to a compressor:
// code made of common instruction patterns with random operands, string
// tables, pointer tables, zero padding and some high-entropy sections.
func (v *vocab) binary(r *rand.Rand, size int) []byte {
	b := make([]byte, 0, size+8192)
	var l local
	for len(b) < size {
		switch k := r.IntN(100); {
		case k < 62: // code: recurring blocks, some with patched operands, and fresh code
			end := len(b) + 256 + r.IntN(4096)
			for len(b) < end {
				if r.IntN(100) >= codeReuse {
					b = v.code(r, b, 16+r.IntN(256))
					continue
				}
				at := len(b)
				b = append(b, v.funcs[l.pick(r, len(b), len(v.funcs))]...)
				for n := r.IntN(3); n > 0; n-- {
					b[at+r.IntN(len(b)-at)] = byte(r.Uint32())
				}
			}
		case k < 76: // string table
			end := len(b) + 128 + r.IntN(2048)
			for len(b) < end {
				b = append(b, v.word(r)...)
				if r.IntN(2) == 0 {
					b = append(b, '_')
					b = append(b, v.word(r)...)
				}
				b = append(b, 0)
			}
		case k < 88: // pointer / relocation table
			base := r.Uint64() &^ 0xfff & 0x00007fffffffffff
			for n := 16 + r.IntN(256); n > 0; n-- {
				base += uint64(8 + 8*r.IntN(8))
				b = binary.LittleEndian.AppendUint64(b, base)
			}
		case k < 95: // padding
			for n := 16 * (1 + r.IntN(32)); n > 0; n-- {
				b = append(b, 0)
			}
		default: // constants, hashes, compressed debug data
			for n := 64 + r.IntN(1024); n > 0; n-- {
				b = append(b, byte(r.Uint32()))
			}
		}
	}
	return b[:size]
}

// random returns size incompressible bytes: images, fonts, archives.
func random(r *rand.Rand, size int) []byte {
	b := make([]byte, size+8)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:size]
}
