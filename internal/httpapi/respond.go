package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/heraldpush/herald"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus writes the google.rpc.Status envelope of the admin and device APIs.
func writeStatus(w http.ResponseWriter, code int, status, message string) {
	writeJSON(w, code, herald.ErrorResponse{Error: herald.Status{Code: code, Message: message, Status: status}})
}

// readJSON decodes a bounded JSON body; an empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
