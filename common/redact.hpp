#pragma once
// The single redaction point. Every log line passes through redact() on its
// way to a sink (see log.cpp), and so does every message the CLI prints about
// config or vendor errors. It removes:
//  - the registered secret values: those of the config in force (client
//    secret, refresh token; set_config_secrets) and the current and previous
//    access token (add_access_token). Nothing else is kept, so the list stays
//    this size however many tokens a long-running daemon refreshes;
//  - the value after a credential-bearing key or header (access_token=,
//    "refresh_token":, client_secret, Authorization:, Zoho-oauthtoken, ...);
//  - anything shaped like a Zoho OAuth token ("1000." followed by a long run).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace peoplesync {

inline constexpr std::string_view kRedacted = "[redacted]";

// The secrets of the config in force, scrubbed from all output from now on.
// Each call replaces the previous config's (a reload replaces the config).
// Values shorter than 4 characters are ignored (they would scrub noise).
void set_config_secrets(const std::vector<std::string>& values);

// A new access token, scrubbed from now on together with the one before it
// (a call sent just before the refresh may still carry that one); older
// tokens are dropped. Shorter than 4 characters: ignored.
void add_access_token(std::string_view token);

// How many secret values are registered (tests: the list stays bounded).
std::size_t registered_secret_count();

// Returns text with every secret removed.
std::string redact(std::string_view text);

// Removes only the registered secret values, not key/value patterns: for
// messages that name secret keys themselves ("zoho.client_secret: ...").
std::string redact_registered(std::string_view text);

// Removes the given values (those shorter than 4 characters excepted), for
// secrets that are not registered: those of a config that failed to load.
std::string redact_values(std::string_view text, const std::vector<std::string>& values);

}  // namespace peoplesync
