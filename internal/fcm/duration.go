package fcm

// maxDurationSeconds is the range of google.protobuf.Duration (±10,000 years).
const maxDurationSeconds = 315_576_000_000

// durationValue is a parsed google.protobuf.Duration.
type durationValue struct {
	negative bool
	seconds  int64 // ≤ maxDurationSeconds
	nanos    int64 // < 1e9
}

// parseDuration parses a google.protobuf.Duration in its JSON form: an
// optional '-', whole seconds, optionally '.' and 1 to 9 digits, then 's'
// ("3s", "3.5s", "3.500000000s").
func parseDuration(s string) (durationValue, bool) {
	var d durationValue
	i := 0
	if i < len(s) && s[i] == '-' {
		d.negative = true
		i++
	}
	start := i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		d.seconds = d.seconds*10 + int64(s[i]-'0')
		if d.seconds > maxDurationSeconds {
			return d, false
		}
		i++
	}
	if i == start {
		return d, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		scale := int64(1e9)
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			if i-start == 9 {
				return d, false
			}
			scale /= 10
			d.nanos += int64(s[i]-'0') * scale
			i++
		}
		if i == start {
			return d, false
		}
	}
	if i != len(s)-1 || s[i] != 's' {
		return d, false
	}
	if d.seconds == maxDurationSeconds && d.nanos > 0 {
		return d, false
	}
	return d, true
}
