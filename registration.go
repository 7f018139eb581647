package herald

// Paths of the device-facing HTTP API. All bodies are JSON.
const (
	// PathRegister: POST, header AppKeyHeader, optional device credential
	// (Authorization: Device ID:SECRET) → RegisterResponse. An optional
	// body names the registration's platform when it is not Herald's own
	// connection: {"platform":"webpush","webpush":<the browser's
	// PushSubscription.toJSON()>}, {"platform":"apns","apns":{"device_token",
	// "bundle_id","sandbox"}} or {"platform":"fcm","fcm":{"token"}}; the
	// messages of such a token go through that vendor (docs/platforms.md).
	PathRegister = "/device/v1/registrations"
	// PathRegistration + "/" + token: DELETE with the device credential.
	// PathRegistration + "/" + token + ":refresh": POST with the device
	// credential → RegisterResponse with the new token.
	PathRegistration = "/device/v1/registrations"
	// PathRegistration + "/" + token + PathTopics + "/" + topic: POST
	// subscribes the registration to the topic, DELETE unsubscribes it;
	// with the device credential → {}.
	PathTopics = "/topics"
	// PathRegistration + "/" + token + PathWebPush: POST with the device
	// credential and a WebPushRequest → WebPushResponse: a new Web Push
	// push endpoint (RFC 8030 push resource) delivering to the token.
	PathWebPush = "/webpush"
	// PathPush + id is a push endpoint: POST a Web Push message (RFC 8030
	// §5), GET the UnifiedPush discovery document.
	PathPush = "/push/"
	// PathPushMessage + id names a message accepted by a push endpoint
	// (the Location of its 201). Herald serves no method on it yet.
	PathPushMessage = "/push/message/"
	// PathConnect is the WebSocket endpoint (GET with Upgrade).
	PathConnect = "/device/v1/connect"
)

// AppKeyHeader carries the public app key on registration.
const AppKeyHeader = "X-Herald-App-Key"

// DeviceAuthScheme is the Authorization scheme of the device credential:
// "Authorization: Device <device_id>:<device_secret>".
const DeviceAuthScheme = "Device"

// RegisterResponse answers a registration or a refresh.
type RegisterResponse struct {
	Token     string `json:"token"`
	ProjectID string `json:"project_id"`
	// Device is set when the request carried no device credential and a new
	// device was created; the secret is shown only this once.
	Device *DeviceCredential `json:"device,omitempty"`
}

// DeviceCredential identifies a device on its connection.
type DeviceCredential struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// ErrorResponse is the error body of every non-FCM Herald API (device and
// admin): the same google.rpc.Status envelope the FCM surface uses, without
// FCM's detail.
type ErrorResponse struct {
	Error Status `json:"error"`
}

// Status is a google.rpc.Status.
type Status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

// WebPushRequest asks for a push endpoint (PathWebPush).
type WebPushRequest struct {
	// ApplicationServerKey, when set, restricts the endpoint to one
	// application server (RFC 8292 §4): its VAPID public key, a 65-byte
	// uncompressed P-256 point in base64url. Pushes must then carry a
	// VAPID authorization signed with that key.
	ApplicationServerKey string `json:"application_server_key,omitempty"`
}

// WebPushResponse answers PathWebPush.
type WebPushResponse struct {
	// Endpoint is the push endpoint's URL, <public URL>/push/<id>: what a
	// browser reports as PushSubscription.endpoint.
	Endpoint string `json:"endpoint"`
}
