package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Sequences must never repeat for a token, not even across a crash. Pebble
// makes a batch visible to readers before its fsync completes, so a device
// may receive an entry that a crash then takes away; if the entry's sequence
// were given again to another message, the device would drop that message
// as a duplicate. So every open after a crash moves the sequences of all
// tokens past anything the crashed process could have handed out: each
// epoch starts at epoch<<32. A clean Close records that nothing is at risk,
// and the next open keeps the epoch.

// epochKey holds the epoch (uvarint) and a clean-shutdown flag (one byte).
var epochKey = []byte("z/epoch")

// epochShift: 2^32 sequences per token per epoch.
const epochShift = 32

// startEpoch reads the epoch, moves to the next one if the last shutdown
// was not clean, and durably marks this run as not yet cleanly closed. It
// returns the lowest sequence this run may hand out next (the floor).
func startEpoch(db *pebble.DB) (floor uint64, epoch uint64, err error) {
	v, closer, err := db.Get(epochKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		// A new store; nothing was handed out before.
	case err != nil:
		return 0, 0, fmt.Errorf("read epoch: %w", err)
	default:
		e, n := binary.Uvarint(v)
		if n <= 0 || len(v) != n+1 {
			closer.Close()
			return 0, 0, fmt.Errorf("read epoch: %w", errCorrupt)
		}
		clean := v[n] == 1
		closer.Close()
		epoch = e
		if !clean {
			epoch++
		}
	}
	if err := writeEpoch(db, epoch, false); err != nil {
		return 0, 0, err
	}
	return epoch << epochShift, epoch, nil
}

// writeEpoch durably records the epoch and whether the store was closed
// cleanly.
func writeEpoch(db *pebble.DB, epoch uint64, clean bool) error {
	v := binary.AppendUvarint(nil, epoch)
	if clean {
		v = append(v, 1)
	} else {
		v = append(v, 0)
	}
	if err := db.Set(epochKey, v, pebble.Sync); err != nil {
		return fmt.Errorf("write epoch: %w", err)
	}
	return nil
}
