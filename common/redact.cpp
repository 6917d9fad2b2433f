#include "common/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace peoplesync {
namespace {

constexpr std::size_t kMinSecretSize = 4;

struct Secrets {
  std::shared_mutex mutex;
  std::vector<std::string> config;         // of the config in force
  std::string token, previous_token;       // access tokens
  std::vector<std::string> values;         // all of the above, longest first (overlaps scrub fully)

  void rebuild() {  // unique lock held
    values = config;
    for (const std::string* t : {&token, &previous_token})
      if (!t->empty()) values.push_back(*t);
    std::sort(values.begin(), values.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    values.erase(std::unique(values.begin(), values.end()), values.end());
  }
};

Secrets& secrets() {
  static Secrets s;  // process-wide by nature: one redaction point for all sinks
  return s;
}

struct Marker {
  std::string_view text;   // matched case-insensitively
  bool needs_separator;    // key markers need ':' or '=' before the value
  bool value_has_spaces;   // header values run to the end of the line
};

constexpr std::array<Marker, 8> kMarkers{{
    {"zoho-oauthtoken ", false, false},
    {"bearer ", false, false},
    {"authorization", true, true},
    {"access_token", true, false},
    {"refresh_token", true, false},
    {"client_secret", true, false},
    {"authtoken", true, false},
    {"password", true, false},
}};

bool iequal_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  return true;
}

bool is_value_end(char c, bool spaces_allowed) {
  switch (c) {
    case '"': case '\'': case '&': case ',': case '}': case ']': case ';':
    case '\n': case '\r': case '\\':
      return true;
    case ' ': case '\t':
      return !spaces_allowed;
    default:
      return false;
  }
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

// Scrubs key/value pairs and token-shaped runs in one left-to-right pass.
std::string scrub_patterns(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    bool matched = false;
    for (const Marker& m : kMarkers) {
      if (!iequal_at(in, i, m.text)) continue;
      std::size_t j = i + m.text.size();
      bool separator = !m.needs_separator;
      while (j < in.size() && j - (i + m.text.size()) < 6 &&
             (in[j] == '"' || in[j] == '\'' || in[j] == ':' || in[j] == '=' || in[j] == ' ' ||
              in[j] == '\\')) {
        if (in[j] == ':' || in[j] == '=') separator = true;
        ++j;
      }
      if (!separator) continue;
      std::size_t k = j;
      while (k < in.size() && !is_value_end(in[k], m.value_has_spaces)) ++k;
      // Trailing spaces of a header value belong to the text, not the secret.
      while (m.value_has_spaces && k > j && in[k - 1] == ' ') --k;
      if (k == j) continue;
      out.append(in.substr(i, j - i));
      out.append(kRedacted);
      i = k;
      matched = true;
      break;
    }
    if (matched) continue;
    // Zoho token shape: 1000.<long run of token characters>
    if (in.compare(i, 5, "1000.") == 0 && (i == 0 || !is_token_char(in[i - 1]))) {
      std::size_t k = i + 5;
      while (k < in.size() && is_token_char(in[k])) ++k;
      if (k - i >= 25) {
        out.append(kRedacted);
        i = k;
        continue;
      }
    }
    out.push_back(in[i]);
    ++i;
  }
  return out;
}

}  // namespace

void set_config_secrets(const std::vector<std::string>& values) {
  Secrets& s = secrets();
  std::unique_lock lock(s.mutex);
  s.config.clear();
  for (const std::string& v : values)
    if (v.size() >= kMinSecretSize) s.config.push_back(v);
  s.rebuild();
}

void add_access_token(std::string_view token) {
  if (token.size() < kMinSecretSize) return;
  Secrets& s = secrets();
  std::unique_lock lock(s.mutex);
  if (token == s.token) return;
  s.previous_token = std::move(s.token);
  s.token = std::string(token);
  s.rebuild();
}

std::size_t registered_secret_count() {
  Secrets& s = secrets();
  std::shared_lock lock(s.mutex);
  return s.values.size();
}

std::string redact(std::string_view text) {
  // Patterns first: they remove whole header values, which may contain a
  // registered secret; then any registered secret left anywhere else.
  return redact_registered(scrub_patterns(text));
}

namespace {

// Replaces every occurrence of each value (longest first) in out.
void replace_values(std::string& out, const std::vector<std::string>& longest_first) {
  for (const std::string& secret : longest_first) {
    std::size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
}

}  // namespace

std::string redact_registered(std::string_view text) {
  std::string out(text);
  Secrets& s = secrets();
  std::shared_lock lock(s.mutex);
  replace_values(out, s.values);
  return out;
}

std::string redact_values(std::string_view text, const std::vector<std::string>& values) {
  std::vector<std::string> wanted;
  for (const std::string& v : values)
    if (v.size() >= kMinSecretSize) wanted.push_back(v);
  std::sort(wanted.begin(), wanted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out(text);
  replace_values(out, wanted);
  return out;
}

}  // namespace peoplesync
