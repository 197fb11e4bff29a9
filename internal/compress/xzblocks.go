package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Xz streams from blocks compressed apart. apt reads only the first stream
// of a file of concatenated xz streams (apt 2.6, checked with apt-get
// update), so an index kept in pieces is one stream with a block per
// piece: a change compresses its blocks again and the stream's index and
// footer, a few bytes per block, are written anew around the others.

// XzBlockInfo is what a stream's index records of one block.
type XzBlockInfo struct {
	Unpadded     int64 // block header, compressed data and check, without padding
	Uncompressed int64
}

// XzBlock compresses data into one complete xz block, as the streams of
// NewWriter hold them (LZMA2, CRC64 check), with its padding. The output
// depends only on data.
func XzBlock(data []byte) ([]byte, XzBlockInfo, error) {
	job := &chunkJob{data: data}
	if err := (&xzBlockEncoder{}).encode(new(bytes.Buffer), job); err != nil {
		return nil, XzBlockInfo{}, err
	}
	info := XzBlockInfo{
		Unpadded:     int64(binary.LittleEndian.Uint64(job.out[0:])),
		Uncompressed: int64(binary.LittleEndian.Uint64(job.out[8:])),
	}
	return job.out[16:], info, nil
}

// XzStreamParts returns one xz stream made of blocks from XzBlock, in
// order, as the parts to write one after the other: the stream header, the
// blocks (the caller's slices) and the index with the footer. Writing them
// so never holds a second copy of the blocks.
func XzStreamParts(blocks [][]byte, infos []XzBlockInfo) [][]byte {
	parts := make([][]byte, 0, len(blocks)+2)
	parts = append(parts, xzStreamHeader(xzCheckCRC64))
	parts = append(parts, blocks...)
	records := make([]xzRecord, len(infos))
	for i, in := range infos {
		records[i] = xzRecord{unpadded: uint64(in.Unpadded), uncompressed: uint64(in.Uncompressed)}
	}
	return append(parts, xzIndexAndFooter(records))
}

// ErrNotXzBlocks says a stream does not hold the blocks it was said to.
var ErrNotXzBlocks = errors.New("compress: not an xz stream of the given blocks")

// XzSplitBlocks returns the blocks of a stream written by XzStreamParts whose
// unpadded sizes are known, without decompressing them.
func XzSplitBlocks(stream []byte, unpadded []int64) ([][]byte, error) {
	hdr := xzStreamHeader(xzCheckCRC64)
	if len(stream) < len(hdr)+12 || string(stream[:len(hdr)]) != string(hdr) {
		return nil, ErrNotXzBlocks
	}
	off := int64(len(hdr))
	out := make([][]byte, len(unpadded))
	for i, u := range unpadded {
		padded := (u + 3) &^ 3
		if u < 0 || off+padded > int64(len(stream))-12 {
			return nil, ErrNotXzBlocks
		}
		out[i] = stream[off : off+padded]
		off += padded
	}
	return out, nil
}

// xzIndexAndFooter is the end of a stream: its index of the blocks and the
// stream footer.
func xzIndexAndFooter(records []xzRecord) []byte {
	idx := []byte{0x00}
	idx = appendUvarint(idx, uint64(len(records)))
	for _, r := range records {
		idx = appendUvarint(idx, r.unpadded)
		idx = appendUvarint(idx, r.uncompressed)
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = appendCRC32(idx, idx)
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[0:], uint32(len(idx)/4-1))
	copy(tail[4:], xzStreamFlags(xzCheckCRC64))
	footer := appendCRC32(nil, tail[:6])
	footer = append(footer, tail[:6]...)
	footer = append(footer, xzFooterMagic...)
	return append(idx, footer...)
}
