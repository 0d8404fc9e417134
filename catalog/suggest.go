package catalog

import "github.com/choreo-bus/choreo/topic"

// maxTypoDistance is the most edits suggest accepts between a word and the
// candidate it proposes.
const maxTypoDistance = 2

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo (at most a third of the word's length, and at most 2
// edits), or "" otherwise. Ties go to the earlier candidate, so the result
// is deterministic.
//
// Its cost is bounded whatever a catalog holds: words and candidates
// longer than the longest topic name are never typos of one another, and
// the distance is computed only as far as it can still be within
// maxTypoDistance, so one call costs time linear in the candidates' total
// length.
func suggest(word string, candidates []string) string {
	if len(word) > topic.MaxNameLen {
		return ""
	}
	limit := min(len(word)/3+1, maxTypoDistance)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if bestDist == 0 {
			break // an exact match; nothing comes closer
		}
		if len(c) > topic.MaxNameLen {
			continue
		}
		if d := boundedDistance(word, c, bestDist-1); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// boundedDistance returns the Levenshtein distance between a and b (by
// bytes: the catalog's keywords and topic names are ASCII) when it is at
// most k, and k+1 otherwise. It fills only the cells within k of the
// diagonal, which is all a distance of at most k can pass through, so it
// costs O(len(a)·k) instead of O(len(a)·len(b)).
func boundedDistance(a, b string, k int) int {
	if abs(len(a)-len(b)) > k {
		return k + 1
	}
	far := k + 1 // any value above k stands for "too far"
	prev := make([]int, len(b)+2)
	cur := make([]int, len(b)+2)
	for j := range prev {
		prev[j] = min(j, far)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-k), min(len(b), i+k)
		cur[lo-1] = far
		if lo == 1 {
			cur[0] = min(i, far)
		}
		rowMin := cur[lo-1]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost, far)
			rowMin = min(rowMin, cur[j])
		}
		cur[hi+1] = far // the cell right of the band, read by the next row
		if rowMin >= far {
			return far
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], far)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
