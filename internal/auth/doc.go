// Package auth issues and checks Herald's credentials: service-account keys
// in Google's JSON format, the RFC 7523 JWT-bearer token endpoint that turns
// a signed assertion into an access token, access-token verification, the
// admin token and the server secret kept in the data directory, and the
// small helpers (random tokens, hashed secrets, bearer headers) used by the
// other HTTP surfaces.
//
// Nothing in this package logs or returns a full token or secret in an
// error message.
package auth
