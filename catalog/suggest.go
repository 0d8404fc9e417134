package catalog

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo (at most a third of the word's length, and at most 2
// edits), or "" otherwise. Ties go to the earlier candidate, so the result
// is deterministic.
func suggest(word string, candidates []string) string {
	best, bestDist := "", 3
	limit := len(word)/3 + 1
	for _, c := range candidates {
		d := editDistance(word, c)
		if d < bestDist && d <= limit {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, by bytes (the
// catalog's keywords are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
