package pebblestore

// OpenWithIdleCache is Open with a small idle cache, to exercise its
// rotation.
var OpenWithIdleCache = open
