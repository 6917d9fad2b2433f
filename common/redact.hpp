#pragma once
// The single redaction point. Every log line passes through redact() on its
// way to a sink (see log.cpp), and so does every message the CLI prints about
// config or vendor errors. It removes:
//  - every secret value registered with add_secret() (client secret, refresh
//    token, each access token as it is obtained);
//  - the value after a credential-bearing key or header (access_token=,
//    "refresh_token":, client_secret, Authorization:, Zoho-oauthtoken, ...);
//  - anything shaped like a Zoho OAuth token ("1000." followed by a long run).
#include <string>
#include <string_view>

namespace peoplesync {

inline constexpr std::string_view kRedacted = "[redacted]";

// Registers a secret value to be scrubbed from all output from now on.
// Values shorter than 4 characters are ignored (they would scrub noise).
void add_secret(std::string_view value);

// Returns text with every secret removed.
std::string redact(std::string_view text);

// Removes only the registered secret values, not key/value patterns: for
// messages that name secret keys themselves ("zoho.client_secret: ...").
std::string redact_registered(std::string_view text);

}  // namespace peoplesync
