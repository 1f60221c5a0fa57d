package domain

import "time"

// UploadStatus is what the server holds of an unfinished upload: enough
// for a client to resume it by sending only the missing chunks.
type UploadStatus struct {
	DZUUID      string
	TotalChunks int
	// Held lists the chunk indexes held as inclusive ranges [first, last],
	// ascending and not touching (adjacent runs are merged).
	Held      [][2]int
	Received  int   // distinct indexes held
	BytesHeld int64 // sum of the held chunks' sizes
	CreatedAt time.Time
}

// IndexRanges folds ascending, distinct indexes into inclusive runs:
// 0,1,3 → [0,1],[3,3].
func IndexRanges(idx []int) [][2]int {
	out := [][2]int{}
	for _, i := range idx {
		if n := len(out); n > 0 && out[n-1][1]+1 == i {
			out[n-1][1] = i
			continue
		}
		out = append(out, [2]int{i, i})
	}
	return out
}
