package idempotency

// entryList is an intrusive doubly linked list of memEntry: moving an entry
// between lists or to the front costs no allocation, which keeps the
// MemoryStore's hot paths allocation-free. Not safe for concurrent use; the
// MemoryStore's mutex guards it.
type entryList struct {
	front, tail *memEntry
	n           int
}

func (l *entryList) pushFront(e *memEntry) {
	e.list = l
	e.prev = nil
	e.next = l.front
	if l.front != nil {
		l.front.prev = e
	} else {
		l.tail = e
	}
	l.front = e
	l.n++
}

// remove unlinks e from l; e must be in l.
func (l *entryList) remove(e *memEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.front = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next, e.list = nil, nil, nil
	l.n--
}

// back returns the entry written longest ago, or nil.
func (l *entryList) back() *memEntry { return l.tail }
