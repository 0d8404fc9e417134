package bus

import "strings"

// ackPosition is what the bus needs from a JetStream message's reply
// subject: how often it was delivered and where it sits in its stream.
//
// jetstream.Msg.Metadata parses the same subject but allocates a
// MsgMetadata on every delivery and fills fields the bus never reads;
// this reads the two numbers in place.
type ackPosition struct {
	delivered uint64
	streamSeq uint64
}

// parseAckReply reads an ack reply subject in either form the server uses:
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>
//	$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>[.<token>...]
//
// ok is false for anything else (a core NATS message, a malformed reply).
func parseAckReply(reply string) (p ackPosition, ok bool) {
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return p, false
	}
	var deliveredAt int // token index of <delivered>
	switch tokens := strings.Count(reply, ".") + 1; {
	case tokens == 9:
		deliveredAt = 4
	case tokens >= 11:
		deliveredAt = 6
	default:
		return p, false
	}
	rest := reply
	for range deliveredAt {
		_, rest, _ = strings.Cut(rest, ".")
	}
	d, rest, _ := strings.Cut(rest, ".")
	seq, _, _ := strings.Cut(rest, ".")
	delivered64, okD := parseUint(d)
	seq64, okS := parseUint(seq)
	if !okD || !okS {
		return ackPosition{}, false
	}
	return ackPosition{delivered: delivered64, streamSeq: seq64}, true
}

// parseUint parses a non-empty run of ASCII digits.
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
