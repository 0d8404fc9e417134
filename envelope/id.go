package envelope

import (
	"crypto/rand"
	"sync/atomic"
	"time"
)

// NewID returns a new UUIDv7 string (RFC 9562) for Envelope.ID. The first 48
// bits are the Unix time in milliseconds and the next 12 a sub-millisecond
// counter, so IDs made by one process sort in creation order, as strings
// too; the remaining 62 bits are random. Safe for concurrent use.
//
// It runs on every publish, so it is written for that: one allocation (the
// string) and no lock.
func NewID() string {
	var u [16]byte
	// Since Go 1.24 crypto/rand.Read never fails (it crashes the program
	// instead), so there is no error to handle.
	_, _ = rand.Read(u[6:])
	stamp := nextV7Stamp()
	ms := stamp >> 12
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(stamp>>8)&0x0f // version 7, then the counter's top 4 bits
	u[7] = byte(stamp)
	u[8] = 0x80 | u[8]&0x3f // variant 10
	return formatUUID(&u)
}

// lastV7Stamp is the last stamp handed out: milliseconds << 12 | counter.
var lastV7Stamp atomic.Uint64

// nextV7Stamp returns a stamp greater than every earlier one. It starts
// from the clock (the counter is the fraction of the millisecond, in
// 4096ths) and moves one past the last stamp when the clock has not
// advanced, as RFC 9562 section 6.2 allows, so bursts within one
// millisecond still sort in order.
func nextV7Stamp() uint64 {
	now := time.Now()
	ms := uint64(now.UnixMilli())
	frac := uint64(now.Nanosecond()%1e6) * 4096 / 1e6
	stamp := ms<<12 | frac
	for {
		last := lastV7Stamp.Load()
		next := stamp
		if next <= last {
			next = last + 1
		}
		if lastV7Stamp.CompareAndSwap(last, next) {
			return next
		}
	}
}

// formatUUID writes u in the canonical 8-4-4-4-12 lower-case hex form.
func formatUUID(u *[16]byte) string {
	const hexDigits = "0123456789abcdef"
	var buf [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
	return string(buf[:])
}
