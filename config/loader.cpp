#include "config/loader.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

#include "common/redact.hpp"
#include "common/timefmt.hpp"
#include "config/catalog.hpp"

namespace peoplesync::config {
namespace {

using namespace std::string_literals;

std::string_view node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "something else";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

// The loader: walks the YAML tree once, building the typed config and
// collecting every error on the way.
class Loader {
 public:
  Loader(std::string file, const LoadOptions& options) : file_(std::move(file)), opt_(options) {}

  LoadResult run(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      error_at(e.mark, "", "YAML syntax error: " + e.msg);
      return finish();
    }
    if (!root.IsMap()) {
      error_at(root.Mark(), "", "the config must be a map with keys zoho, state, service, limits, streams");
      return finish();
    }
    keys(root, "", {"zoho", "people", "state", "service", "limits", "streams"});
    read_zoho(child(root, "zoho", "", true));
    read_people(root["people"]);
    read_state(root["state"]);
    read_service(root["service"]);
    read_limits(root["limits"]);
    read_streams(child(root, "streams", "", true), root.Mark());
    check_stream_graph();
    return finish();
  }

 private:
  // ---------- errors
  void error_at(const YAML::Mark& m, const std::string& path, std::string message) {
    ConfigError e;
    e.file = file_;
    e.line = m.is_null() ? 0 : m.line + 1;
    e.column = m.is_null() ? 0 : m.column + 1;
    e.path = path;
    e.message = std::move(message);
    errors_.push_back(std::move(e));
  }
  void error(const YAML::Node& n, const std::string& path, std::string message) {
    error_at(n.IsDefined() ? n.Mark() : YAML::Mark::null_mark(), path, std::move(message));
  }

  // A config that loads becomes the one whose secrets are scrubbed from all
  // output (it replaces the previous config's); one that does not load
  // leaves them alone, and its own secrets are scrubbed from its errors.
  LoadResult finish() {
    LoadResult r;
    const std::vector<std::string> secrets{cfg_.zoho.client_secret.value, cfg_.zoho.refresh_token.value};
    if (errors_.empty()) {
      set_config_secrets(secrets);
      cfg_.file = file_;
      r.config = std::make_shared<const Config>(std::move(cfg_));
    } else {
      for (ConfigError& e : errors_) e.message = redact_values(e.message, secrets);
      std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
      });
      r.errors = std::move(errors_);
    }
    return r;
  }

  static std::string join_path(const std::string& base, const std::string& key) {
    return base.empty() ? key : base + "." + key;
  }

  // ---------- structure helpers

  // Reports unknown and duplicate keys of a map.
  void keys(const YAML::Node& map, const std::string& path, std::initializer_list<std::string_view> allowed) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        error(kv.first, join_path(path, key), "duplicate key '" + key + "'");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string msg = "unknown key '" + key + "'";
      std::string_view best;
      std::size_t best_d = 3;
      for (auto a : allowed) {
        const std::size_t d = edit_distance(key, a);
        if (d < best_d) {
          best_d = d;
          best = a;
        }
      }
      if (!best.empty()) msg += " (did you mean '" + std::string(best) + "'?)";
      else {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        msg += " (allowed: " + join(names) + ")";
      }
      error(kv.first, join_path(path, key), msg);
    }
  }

  // A child of a map; reports it missing when required. Returns an undefined
  // node (operator! true) when absent.
  YAML::Node child(const YAML::Node& map, const std::string& key, const std::string& path, bool required) {
    if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node n = map[key];
    if (required && (!n.IsDefined() || n.IsNull())) {
      error(map, join_path(path, key), "missing required key '" + key + "'");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return n;
  }

  bool expect_map(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    error(n, path, "expected a map, got " + std::string(node_kind(n)));
    return false;
  }

  // Expands ${VAR} from the environment. `$${` is a literal "${".
  std::optional<std::string> expand(const YAML::Node& n, const std::string& path, std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '$' && in.substr(i, 3) == "$${") {
        out += "${";
        i += 2;
      } else if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
        const std::size_t close = in.find('}', i + 2);
        if (close == std::string_view::npos) {
          error(n, path, "unclosed '${' in value");
          return std::nullopt;
        }
        std::string name(in.substr(i + 2, close - i - 2));
        std::optional<std::string> fallback;  // ${VAR:-default}
        if (auto dash = name.find(":-"); dash != std::string::npos) {
          fallback = name.substr(dash + 2);
          name.resize(dash);
        }
        const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
        if (!valid) {
          error(n, path, "invalid environment variable name '${" + name + "}'");
          return std::nullopt;
        }
        auto value = opt_.getenv(name);
        if ((!value || value->empty()) && fallback) value = fallback;
        if (!value) {
          error(n, path, "environment variable " + name + " is not set");
          return std::nullopt;
        }
        out += *value;
        i = close;
      } else {
        out += in[i];
      }
    }
    return out;
  }

  // A scalar value, ${VAR}-expanded. Reports a wrong type.
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      error(n, path, "expected a single value, got " + std::string(node_kind(n)));
      return std::nullopt;
    }
    return expand(n, path, n.Scalar());
  }

  std::optional<std::string> opt_scalar(const YAML::Node& map, const std::string& key,
                                        const std::string& path, bool required = false) {
    YAML::Node n = child(map, key, path, required);
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    return scalar(n, join_path(path, key));
  }

  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar()) {  // a single value is a list of one
      auto v = scalar(n, path);
      if (!v) return std::nullopt;
      return std::vector<std::string>{*v};
    }
    if (!n.IsSequence()) {
      error(n, path, "expected a list, got " + std::string(node_kind(n)));
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
      auto v = scalar(n[i], path + "[" + std::to_string(i) + "]");
      if (v) out.push_back(*v);
    }
    return out;
  }

  std::optional<Duration> duration(const YAML::Node& map, const std::string& key, const std::string& path,
                                   bool allow_zero) {
    YAML::Node n = map.IsMap() ? map[key] : YAML::Node();
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    const std::string p = join_path(path, key);
    auto text = scalar(n, p);
    if (!text) return std::nullopt;
    auto d = parse_duration(*text);
    if (!d) {
      error(n, p, "bad duration '" + *text + "' (use a number with a unit: 250ms, 10s, 5m, 1h, 1d, 1h30m)");
      return std::nullopt;
    }
    if (!allow_zero && d->count() == 0) {
      error(n, p, "duration must be greater than zero");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::int64_t> integer(const YAML::Node& map, const std::string& key, const std::string& path,
                                      std::int64_t min, std::int64_t max) {
    YAML::Node n = map.IsMap() ? map[key] : YAML::Node();
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    const std::string p = join_path(path, key);
    auto text = scalar(n, p);
    if (!text) return std::nullopt;
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc{} || ptr != text->data() + text->size()) {
      error(n, p, "expected an integer, got '" + *text + "'");
      return std::nullopt;
    }
    if (v < min || v > max) {
      error(n, p, "value " + *text + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      return std::nullopt;
    }
    return v;
  }

  // https:// always; http:// only to a loopback host. Returns without trailing '/'.
  std::optional<std::string> url(const YAML::Node& map, const std::string& key, const std::string& path) {
    YAML::Node n = map.IsMap() ? map[key] : YAML::Node();
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    const std::string p = join_path(path, key);
    auto text = scalar(n, p);
    if (!text) return std::nullopt;
    std::string u = *text;
    const bool https = u.rfind("https://", 0) == 0;
    const bool http = u.rfind("http://", 0) == 0;
    if (!https && !http) {
      error(n, p, "expected an https:// URL, got '" + u + "'");
      return std::nullopt;
    }
    const std::size_t start = https ? 8 : 7;
    const std::size_t end = u.find_first_of("/?#", start);
    std::string authority = u.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (authority.find('@') != std::string::npos) {
      error(n, p, "URL must not carry credentials");
      return std::nullopt;
    }
    std::string host = authority;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
      const std::string port = host.substr(colon + 1);
      host = host.substr(0, colon);
      // from_chars, not stoul: a port of 30 digits threw std::out_of_range out
      // of the loader (`peoplesync check` died; found by fuzz/config.cpp).
      unsigned number = 0;
      const auto [end_digits, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
      if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          ec != std::errc{} || end_digits != port.data() + port.size() || number == 0 || number > 65535) {
        error(n, p, "bad port in URL '" + u + "'");
        return std::nullopt;
      }
    }
    if (host.empty()) {
      error(n, p, "URL has no host: '" + u + "'");
      return std::nullopt;
    }
    if (end != std::string::npos && u.find_first_of("?#", start) != std::string::npos) {
      error(n, p, "URL must not have a query or fragment: '" + u + "'");
      return std::nullopt;
    }
    if (http && !is_loopback_host(host)) {
      error(n, p, "http:// is allowed only for loopback hosts (localhost, 127.0.0.1, ::1); use https:// for '" +
                      host + "'");
      return std::nullopt;
    }
    while (u.size() > start && u.back() == '/') u.pop_back();
    return u;
  }

  // ---------- sections

  void read_zoho(const YAML::Node& z) {
    const std::string path = "zoho";
    if (!z.IsDefined()) return;
    if (!expect_map(z, path)) return;
    keys(z, path, {"data_center", "accounts_url", "crm_url", "people_url", "client_id", "client_secret",
                   "refresh_token_file", "refresh_token", "ca_file", "timeouts"});
    Zoho& out = cfg_.zoho;
    if (auto dc = opt_scalar(z, "data_center", path)) {
      if (auto found = find_data_center(*dc)) {
        out.data_center = found->dc;
      } else {
        std::vector<std::string> names;
        for (const auto& d : data_centers()) names.emplace_back(d.name);
        error(z["data_center"], "zoho.data_center", "unknown data centre '" + *dc + "' (known: " + join(names) + ")");
      }
    }
    const DataCenterHosts& hosts = hosts_of(out.data_center);
    out.accounts_url = url(z, "accounts_url", path).value_or(std::string(hosts.accounts_url));
    out.crm_url = url(z, "crm_url", path).value_or(std::string(hosts.crm_url));
    out.people_url = url(z, "people_url", path).value_or(std::string(hosts.people_url));

    if (auto id = opt_scalar(z, "client_id", path, true)) {
      if (id->empty()) error(z["client_id"], "zoho.client_id", "client_id is empty");
      out.client_id = *id;
    }
    read_client_secret(z);
    read_refresh_token(z);

    if (auto ca = opt_scalar(z, "ca_file", path)) {
      struct stat st {};
      if (::stat(ca->c_str(), &st) != 0) {
        error(z["ca_file"], "zoho.ca_file", "cannot read CA file " + *ca + ": " + std::strerror(errno));
      } else {
        out.ca_file = *ca;
      }
    }
    if (YAML::Node t = z["timeouts"]; t.IsDefined() && !t.IsNull()) {
      if (expect_map(t, "zoho.timeouts")) {
        keys(t, "zoho.timeouts", {"connect", "request"});
        if (auto d = duration(t, "connect", "zoho.timeouts", false)) out.timeouts.connect = *d;
        if (auto d = duration(t, "request", "zoho.timeouts", false)) out.timeouts.request = *d;
      }
    }
  }

  std::optional<std::string> credential(const std::string& name) {
    auto dir = opt_.getenv("CREDENTIALS_DIRECTORY");
    if (!dir || dir->empty()) return std::nullopt;
    const std::string file = *dir + "/" + name;
    std::ifstream in(file);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return s.substr(i);
  }

  void read_client_secret(const YAML::Node& z) {
    Secret& s = cfg_.zoho.client_secret;
    if (auto v = opt_scalar(z, "client_secret", "zoho")) {
      s.value = trim(*v);
      s.source = "zoho.client_secret";
      if (s.value.empty() && opt_.require_secrets) error(z["client_secret"], "zoho.client_secret", "the value is empty");
    } else if (auto c = credential("client_secret")) {
      s.value = trim(*c);
      s.source = "systemd credential client_secret";
    } else if (opt_.require_secrets && !z["client_secret"].IsDefined()) {
      error(z, "zoho.client_secret",
            "missing required key 'client_secret' (or the systemd credential client_secret)");
    }
  }

  void read_refresh_token(const YAML::Node& z) {
    Secret& s = cfg_.zoho.refresh_token;
    const YAML::Node file_node = z["refresh_token_file"];
    const YAML::Node inline_node = z["refresh_token"];
    if (file_node.IsDefined() && inline_node.IsDefined()) {
      error(inline_node, "zoho.refresh_token", "set only one of refresh_token_file and refresh_token");
      return;
    }
    if (file_node.IsDefined()) {
      auto path = scalar(file_node, "zoho.refresh_token_file");
      if (!path) return;
      s.source = "zoho.refresh_token_file " + *path;
      cfg_.zoho.refresh_token_file = *path;
      if (!opt_.require_secrets) return;
      struct stat st {};
      if (::stat(path->c_str(), &st) != 0) {
        error(file_node, "zoho.refresh_token_file",
              "cannot read refresh token file " + *path + ": " + std::strerror(errno));
        return;
      }
      if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        error(file_node, "zoho.refresh_token_file",
              "refresh token file " + *path + " is readable by group or others (mode " + mode +
                  "); run: chmod 600 " + *path);
        return;
      }
      std::ifstream in(*path);
      if (!in) {
        error(file_node, "zoho.refresh_token_file",
              "cannot read refresh token file " + *path + ": " + std::strerror(errno));
        return;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      s.value = trim(ss.str());
      if (s.value.empty()) error(file_node, "zoho.refresh_token_file", "refresh token file " + *path + " is empty");
    } else if (inline_node.IsDefined()) {
      auto v = scalar(inline_node, "zoho.refresh_token");
      if (!v) return;
      s.value = trim(*v);
      s.source = "zoho.refresh_token";
      if (s.value.empty() && opt_.require_secrets) error(inline_node, "zoho.refresh_token", "the value is empty");
    } else if (auto c = credential("refresh_token")) {
      s.value = trim(*c);
      s.source = "systemd credential refresh_token";
      if (s.value.empty()) error(z, "zoho.refresh_token", "the systemd credential refresh_token is empty");
    } else if (opt_.require_secrets) {
      error(z, "zoho.refresh_token",
            "missing refresh token: set zoho.refresh_token_file or zoho.refresh_token, or provide the "
            "systemd credential refresh_token ($CREDENTIALS_DIRECTORY/refresh_token)");
    }
  }

  void read_people(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!expect_map(n, "people")) return;
    keys(n, "people", {"date_format"});
    if (auto f = opt_scalar(n, "date_format", "people")) {
      if (!valid_date_pattern(*f))
        error(n["date_format"], "people.date_format",
              "'" + *f + "' is not a date pattern: use dd, MM or MMM, and yyyy with separators, as People's "
              "company date format shows them (dd-MMM-yyyy, dd/MM/yyyy, MM/dd/yyyy, yyyy-MM-dd)");
      else
        cfg_.people.date_format = *f;
    }
  }

  void read_state(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!expect_map(n, "state")) return;
    keys(n, "state", {"path"});
    if (auto p = opt_scalar(n, "path", "state")) {
      if (p->empty()) error(n["path"], "state.path", "state.path is empty");
      cfg_.state.path = *p;
    }
  }

  void read_service(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return;
    const std::string path = "service";
    if (!expect_map(n, path)) return;
    keys(n, path, {"poll_interval", "listen", "log_format", "log_level", "timezone_offset"});
    Service& s = cfg_.service;
    if (auto d = duration(n, "poll_interval", path, false)) s.poll_interval = *d;
    s.listen = ListenAddress{"127.0.0.1", 9464};
    if (auto l = opt_scalar(n, "listen", path)) {
      if (*l == "off") {
        s.listen.reset();
      } else if (auto addr = parse_listen(*l)) {
        s.listen = *addr;
      } else {
        error(n["listen"], "service.listen", "bad listen address '" + *l + "' (use HOST:PORT, [IPv6]:PORT or off)");
      }
    }
    if (auto f = opt_scalar(n, "log_format", path)) {
      if (*f == "text") s.log_format = LogFormat::text;
      else if (*f == "json") s.log_format = LogFormat::json;
      else error(n["log_format"], "service.log_format", "unknown log_format '" + *f + "' (text or json)");
    }
    if (auto l = opt_scalar(n, "log_level", path)) {
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (levels.count(*l)) s.log_level = *l;
      else error(n["log_level"], "service.log_level",
                 "unknown log_level '" + *l + "' (trace, debug, info, warn, error, critical, off)");
    }
    if (auto tz = opt_scalar(n, "timezone_offset", path)) {
      if (auto m = parse_offset(*tz)) s.timezone_offset_minutes = *m;
      else error(n["timezone_offset"], "service.timezone_offset",
                 "bad timezone_offset '" + *tz + "' (use +HH:MM or -HH:MM, e.g. \"+05:30\")");
    }
  }

  static std::optional<ListenAddress> parse_listen(const std::string& s) {
    std::string host, port;
    if (!s.empty() && s.front() == '[') {
      const auto close = s.find(']');
      if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
      host = s.substr(1, close - 1);
      port = s.substr(close + 2);
    } else {
      const auto colon = s.rfind(':');
      if (colon == std::string::npos) return std::nullopt;
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
    }
    if (host.empty() || port.empty()) return std::nullopt;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v > 65535) return std::nullopt;
    return ListenAddress{host, static_cast<std::uint16_t>(v)};
  }

  static std::optional<int> parse_offset(const std::string& s) {
    if (s == "Z" || s == "UTC") return 0;
    if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
    int h = 0, m = 0;
    if (std::from_chars(s.data() + 1, s.data() + 3, h).ec != std::errc{} ||
        std::from_chars(s.data() + 4, s.data() + 6, m).ec != std::errc{} || h > 14 || m > 59)
      return std::nullopt;
    const int total = h * 60 + m;
    return s[0] == '-' ? -total : total;
  }

  void read_limits(const YAML::Node& n) {
    for (const auto& e : endpoint_defaults()) cfg_.limits.emplace(std::string(e.name), e.limit);
    if (!n.IsDefined() || n.IsNull()) return;
    if (!expect_map(n, "limits")) return;
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const std::string name = kv.first.Scalar();
      const std::string path = "limits." + name;
      if (!seen.insert(name).second) {
        error(kv.first, path, "duplicate key '" + name + "'");
        continue;
      }
      const EndpointDefault* def = find_endpoint(name);
      if (!def) {
        std::vector<std::string> names;
        for (const auto& e : endpoint_defaults()) names.emplace_back(e.name);
        error(kv.first, path, "unknown endpoint '" + name + "' (known: " + join(names) + ")");
        continue;
      }
      const YAML::Node v = kv.second;
      if (!expect_map(v, path)) continue;
      Limit& lim = cfg_.limits[name];
      switch (def->kind) {
        case LimitKind::crm: keys(v, path, {"per_minute", "concurrency", "daily_credits"}); break;
        case LimitKind::people_endpoint: keys(v, path, {"per_minute", "lock"}); break;
        case LimitKind::people_daily: keys(v, path, {"daily_calls"}); break;
      }
      if (auto x = integer(v, "per_minute", path, 0, 100000)) lim.per_minute = static_cast<int>(*x);
      if (auto x = integer(v, "concurrency", path, 1, 1000)) lim.concurrency = static_cast<int>(*x);
      if (auto x = integer(v, "daily_credits", path, 0, 100'000'000)) lim.daily_credits = *x;
      if (auto x = integer(v, "daily_calls", path, 0, 100'000'000)) lim.daily_calls = *x;
      if (auto d = duration(v, "lock", path, true)) lim.lock = *d;
    }
  }

  // ---------- streams

  void read_streams(const YAML::Node& n, const YAML::Mark& root_mark) {
    if (!n.IsDefined()) return;
    if (!n.IsSequence()) {
      error(n, "streams", "expected a list of streams, got " + std::string(node_kind(n)));
      return;
    }
    if (n.size() == 0) {
      error_at(n.Mark().is_null() ? root_mark : n.Mark(), "streams", "no streams configured");
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) read_stream(n[i], "streams[" + std::to_string(i) + "]");
  }

  void read_stream(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path)) return;
    keys(n, path, {"name", "from", "to", "module", "map", "status", "on_delete", "poll_interval"});
    Stream s;
    s.mark = Mark{n.Mark().line + 1, n.Mark().column + 1};
    if (auto name = opt_scalar(n, "name", path, true)) {
      const bool valid = !name->empty() && name->size() <= 64 &&
                         std::all_of(name->begin(), name->end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                         });
      if (!valid) {
        error(n["name"], path + ".name", "stream name '" + *name + "' must be 1-64 letters, digits, '_' or '-'");
      } else if (std::any_of(cfg_.streams.begin(), cfg_.streams.end(),
                             [&](const Stream& o) { return o.name == *name; })) {
        error(n["name"], path + ".name", "duplicate stream name '" + *name + "'");
      }
      s.name = *name;
    }
    const bool has_from = read_source(child(n, "from", path, true), path + ".from", s);
    bool has_to = false;
    if (auto to = opt_scalar(n, "to", path, true)) {
      if (*to == "people.job") s.to = Target::people_job;
      else if (*to == "people.timelog") s.to = Target::people_timelog;
      else if (*to == "crm.update") s.to = Target::crm_update;
      else {
        error(n["to"], path + ".to", "unknown target '" + *to + "' (people.job, people.timelog, crm.update)");
      }
      has_to = (*to == "people.job" || *to == "people.timelog" || *to == "crm.update");
    }
    if (has_from && has_to) check_source_target(n, path, s);

    if (auto m = opt_scalar(n, "module", path)) {
      if (s.to != Target::crm_update) error(n["module"], path + ".module", "'module' applies only to to: crm.update");
      else if (m->empty()) error(n["module"], path + ".module", "module is empty");
      s.module = *m;
    } else if (has_to && s.to == Target::crm_update) {
      error(n, path + ".module", "missing required key 'module' (the CRM module to update, e.g. Deals)");
    }

    if (YAML::Node m = child(n, "map", path, true); m.IsDefined()) {
      if (expect_map(m, path + ".map")) read_map(m, path + ".map", s, has_to);
    }
    if (YAML::Node st = n["status"]; st.IsDefined() && !st.IsNull()) read_status(st, path + ".status", s);
    if (auto od = opt_scalar(n, "on_delete", path)) {
      const std::string p = path + ".on_delete";
      if (*od == "ignore") s.on_delete = OnDelete::ignore;
      else if (*od == "complete") s.on_delete = OnDelete::complete;
      else if (*od == "delete") s.on_delete = OnDelete::del;
      else error(n["on_delete"], p, "unknown on_delete '" + *od + "' (complete, delete, ignore)");
      if (!std::holds_alternative<CrmSource>(s.from) && s.on_delete != OnDelete::ignore)
        error(n["on_delete"], p, "on_delete applies only to streams that read from crm");
      else if (s.on_delete == OnDelete::complete && s.to != Target::people_job)
        error(n["on_delete"], p, "on_delete: complete applies only to to: people.job");
    }
    if (auto d = duration(n, "poll_interval", path, false)) s.poll_interval = *d;
    cfg_.streams.push_back(std::move(s));
    stream_paths_.push_back(path);
    stream_nodes_.push_back(n);
  }

  bool read_source(const YAML::Node& n, const std::string& path, Stream& s) {
    if (!n.IsDefined()) return false;
    if (!expect_map(n, path)) return false;
    const bool crm = n["crm"].IsDefined();
    const bool people = n["people"].IsDefined();
    if (crm == people) {
      error(n, path, "'from' needs exactly one of 'crm: MODULE' or 'people: jobs'");
      return false;
    }
    if (crm) {
      keys(n, path, {"crm", "fields", "where"});
      CrmSource src;
      if (auto m = opt_scalar(n, "crm", path)) src.module = *m;
      if (src.module.empty()) {
        error(n["crm"], path + ".crm", "crm module name is empty");
        return false;
      }
      if (YAML::Node f = n["fields"]; f.IsDefined() && !f.IsNull()) {
        if (auto list = string_list(f, path + ".fields")) {
          if (list->size() > 50) error(f, path + ".fields", "CRM accepts at most 50 fields, got " + std::to_string(list->size()));
          src.fields = *list;
        }
      }
      if (YAML::Node w = n["where"]; w.IsDefined() && !w.IsNull()) {
        if (expect_map(w, path + ".where")) {
          for (const auto& kv : w) {
            const std::string field = kv.first.Scalar();
            if (auto values = string_list(kv.second, path + ".where." + field)) {
              if (values->empty()) error(kv.second, path + ".where." + field, "empty list of accepted values");
              src.where.emplace_back(field, *values);
            }
          }
        }
      }
      s.from = std::move(src);
      return true;
    }
    keys(n, path, {"people", "of_stream"});
    PeopleSource src;
    if (auto e = opt_scalar(n, "people", path)) {
      if (*e == "jobs") src.entity = PeopleEntity::jobs;
      else {
        error(n["people"], path + ".people", "unknown People source '" + *e + "' (jobs)");
        return false;
      }
    }
    src.of_stream = opt_scalar(n, "of_stream", path);
    if (!src.of_stream) {
      error(n, path + ".of_stream", "missing required key 'of_stream' (the stream whose jobs to read)");
    }
    s.from = std::move(src);
    return true;
  }

  void check_source_target(const YAML::Node& n, const std::string& path, const Stream& s) {
    const bool from_crm = std::holds_alternative<CrmSource>(s.from);
    if (s.to == Target::crm_update && from_crm)
      error(n["to"], path + ".to", "crm.update needs from: {people: jobs, of_stream: ...}");
    if (s.to != Target::crm_update && !from_crm)
      error(n["to"], path + ".to", std::string(to_string(s.to)) + " needs from: {crm: MODULE}");
  }

  void read_status(const YAML::Node& n, const std::string& path, Stream& s) {
    if (!expect_map(n, path)) return;
    keys(n, path, {"field", "completed"});
    if (s.to != Target::people_job) {
      error(n, path, "'status' applies only to to: people.job");
      return;
    }
    StatusMapping st;
    if (auto f = opt_scalar(n, "field", path, true)) st.field = *f;
    if (YAML::Node c = child(n, "completed", path, true); c.IsDefined()) {
      if (auto list = string_list(c, path + ".completed")) {
        if (list->empty()) error(c, path + ".completed", "empty list of completed values");
        st.completed = *list;
      }
    }
    s.status = std::move(st);
  }

  // ---------- map templates and resolvers

  std::optional<Template> templ(const YAML::Node& n, const std::string& path) {
    auto text = scalar(n, path);
    if (!text) return std::nullopt;
    auto parsed = parse_template(*text);
    if (auto* err = std::get_if<TemplateError>(&parsed)) {
      error(n, path, "template \"" + *text + "\": " + err->message + " (at character " +
                         std::to_string(err->offset + 1) + ")");
      return std::nullopt;
    }
    return std::get<Template>(std::move(parsed));
  }

  std::optional<MapValue> map_value(const YAML::Node& n, const std::string& path) {
    MapValue v;
    v.mark = Mark{n.Mark().line + 1, n.Mark().column + 1};
    if (n.IsScalar()) {
      auto t = templ(n, path);
      if (!t) return std::nullopt;
      v.value = std::move(*t);
      return v;
    }
    if (n.IsSequence()) {
      MapList list;
      for (std::size_t i = 0; i < n.size(); ++i) {
        if (auto item = map_value(n[i], path + "[" + std::to_string(i) + "]")) list.push_back(std::move(*item));
      }
      v.value = std::move(list);
      return v;
    }
    if (!n.IsMap()) {
      error(n, path, "expected a template, a resolver, a list or a map, got " + std::string(node_kind(n)));
      return std::nullopt;
    }
    if (n.size() == 1) {
      const std::string key = n.begin()->first.Scalar();
      const YAML::Node body = n.begin()->second;
      const std::string p = path + "." + key;
      if (key == "resolve") return resolver_resolve(body, p, v);
      if (key == "lookup") return resolver_lookup(body, p, v);
      if (key == "project") return resolver_project(body, p, v);
    }
    MapObject obj;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (auto item = map_value(kv.second, path + "." + key)) obj.emplace_back(key, std::move(*item));
    }
    v.value = std::move(obj);
    return v;
  }

  std::optional<MapValue> resolver_resolve(const YAML::Node& n, const std::string& path, MapValue v) {
    if (!expect_map(n, path)) return std::nullopt;
    keys(n, path, {"service", "entity", "ref"});
    Resolve r;
    static const std::vector<std::string> services{"Zoho Projects", "Zoho CRM", "Zoho Books", "Zoho Invoice"};
    static const std::vector<std::string> entities{"client", "project", "job", "timelog"};
    bool ok = true;
    if (auto s = opt_scalar(n, "service", path, true)) {
      if (std::find(services.begin(), services.end(), *s) == services.end()) {
        error(n["service"], path + ".service", "unknown service '" + *s + "' (" + join(services) + ")");
        ok = false;
      }
      r.service = *s;
    } else {
      ok = false;
    }
    if (auto e = opt_scalar(n, "entity", path, true)) {
      if (std::find(entities.begin(), entities.end(), *e) == entities.end()) {
        error(n["entity"], path + ".entity", "unknown entity '" + *e + "' (" + join(entities) + ")");
        ok = false;
      }
      r.entity = *e;
    } else {
      ok = false;
    }
    YAML::Node ref = child(n, "ref", path, true);
    if (!ref.IsDefined()) return std::nullopt;
    auto t = templ(ref, path + ".ref");
    if (!t || !ok) return std::nullopt;
    r.ref = std::move(*t);
    v.value = std::move(r);
    return v;
  }

  std::optional<MapValue> resolver_lookup(const YAML::Node& n, const std::string& path, MapValue v) {
    if (!expect_map(n, path)) return std::nullopt;
    keys(n, path, {"stream", "key"});
    Lookup l;
    auto s = opt_scalar(n, "stream", path, true);
    YAML::Node key = child(n, "key", path, true);
    if (!s || !key.IsDefined()) return std::nullopt;
    auto t = templ(key, path + ".key");
    if (!t) return std::nullopt;
    l.stream = *s;
    l.key = std::move(*t);
    lookups_.push_back(PendingLookup{l.stream, n["stream"], path + ".stream"});
    v.value = std::move(l);
    return v;
  }

  std::optional<MapValue> resolver_project(const YAML::Node& n, const std::string& path, MapValue v) {
    if (!expect_map(n, path)) return std::nullopt;
    keys(n, path, {"name"});
    YAML::Node name = child(n, "name", path, true);
    if (!name.IsDefined()) return std::nullopt;
    auto t = templ(name, path + ".name");
    if (!t) return std::nullopt;
    v.value = ProjectByName{std::move(*t)};
    return v;
  }

  void read_map(const YAML::Node& m, const std::string& path, Stream& s, bool target_known) {
    lookups_.clear();
    for (const auto& kv : m) {
      const std::string key = kv.first.Scalar();
      if (auto v = map_value(kv.second, path + "." + key)) s.map.emplace_back(key, std::move(*v));
    }
    all_lookups_.insert(all_lookups_.end(), lookups_.begin(), lookups_.end());
    if (target_known) check_map_keys(m, path, s);
  }

  void check_map_keys(const YAML::Node& m, const std::string& path, const Stream& s) {
    auto has = [&](std::string_view k) {
      return std::any_of(s.map.begin(), s.map.end(), [&](const auto& e) { return e.first == k; }) ||
             m[std::string(k)].IsDefined();
    };
    std::vector<std::string_view> allowed;
    std::vector<std::string_view> required;
    switch (s.to) {
      case Target::people_job:
        // The documented labels of the P_TimesheetJob form, by their time
        // tracker names (PRODUCT.md "Writes"); the form has no description.
        allowed = {"jobName", "assignees", "projectId", "fromDate", "toDate", "ratePerHour"};
        required = {"jobName", "assignees"};
        break;
      case Target::people_timelog:
        allowed = {"user", "jobId", "date", "billableStatus", "hours", "startTime", "endTime", "workItem",
                   "description"};
        required = {"user", "jobId", "date"};
        if (!has("hours") && !(has("startTime") && has("endTime")))
          error(m, path, "people.timelog needs 'hours' or both 'startTime' and 'endTime'");
        break;
      case Target::crm_update:
        if (m.size() == 0) error(m, path, "crm.update needs at least one field to write");
        if (has("id")) error(m["id"], path + ".id", "'id' is set by peoplesync from the id map; remove it");
        return;
    }
    for (auto r : required)
      if (!has(r)) error(m, path, "missing required key '" + std::string(r) + "' for " + std::string(to_string(s.to)));
    for (const auto& kv : m) {
      const std::string key = kv.first.Scalar();
      if (s.to == Target::people_job && key == "description") {
        error(kv.first, path + "." + key,
              "People's job form (P_TimesheetJob) has no description field: a job written with one is refused "
              "(7013); remove it, or put what it says into jobName");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        error(kv.first, path + "." + key,
              "unknown " + std::string(to_string(s.to)) + " field '" + key + "' (allowed: " + join(names) + ")");
      }
    }
    if (s.to == Target::people_job) {
      const YAML::Node a = m["assignees"];
      if (a.IsDefined() && !a.IsSequence())
        error(a, path + ".assignees", "assignees must be a list of {assignedTo, hours, rate}");
      else if (a.IsDefined()) {
        for (std::size_t i = 0; i < a.size(); ++i) {
          const std::string p = path + ".assignees[" + std::to_string(i) + "]";
          if (!a[i].IsMap()) {
            error(a[i], p, "expected a map {assignedTo, hours, rate}");
            continue;
          }
          keys(a[i], p, {"assignedTo", "hours", "rate"});
          child(a[i], "assignedTo", p, true);
        }
      }
    }
  }

  // ---------- cross-stream checks: unknown lookups and cycles

  void check_stream_graph() {
    auto find = [&](const std::string& name) -> const Stream* {
      for (const auto& s : cfg_.streams)
        if (s.name == name) return &s;
      return nullptr;
    };
    std::vector<std::string> names;
    for (const auto& s : cfg_.streams) names.push_back(s.name);
    for (const auto& l : all_lookups_) {
      const Stream* target = find(l.stream);
      if (!target) {
        error(l.node, l.path, "lookup of unknown stream '" + l.stream + "' (streams: " + join(names) + ")");
      } else if (target->to == Target::crm_update) {
        error(l.node, l.path, "lookup of stream '" + l.stream + "', which writes to CRM, not People ids");
      }
    }
    for (std::size_t i = 0; i < cfg_.streams.size(); ++i) {
      const Stream& s = cfg_.streams[i];
      if (const auto* p = std::get_if<PeopleSource>(&s.from); p && p->of_stream) {
        const Stream* target = find(*p->of_stream);
        const YAML::Node node = stream_nodes_[i]["from"]["of_stream"];
        if (!target)
          error(node, stream_paths_[i] + ".from.of_stream",
                "of_stream names unknown stream '" + *p->of_stream + "' (streams: " + join(names) + ")");
        else if (target->to != Target::people_job)
          error(node, stream_paths_[i] + ".from.of_stream",
                "of_stream '" + *p->of_stream + "' must be a stream with to: people.job");
      }
    }
    // Depth-first search for a cycle; report it once, at its first stream.
    enum class Color { white, grey, black };
    std::map<std::string, Color> marks;
    std::vector<std::string> stack;
    std::set<std::string> reported;
    std::function<void(const Stream&)> visit = [&](const Stream& s) {
      marks[s.name] = Color::grey;
      stack.push_back(s.name);
      for (const auto& dep : s.depends_on()) {
        const Stream* d = find(dep);
        if (!d) continue;
        if (marks[dep] == Color::grey) {
          auto it = std::find(stack.begin(), stack.end(), dep);
          std::vector<std::string> cycle(it, stack.end());
          cycle.push_back(dep);
          if (reported.insert(dep).second) {
            std::size_t idx = static_cast<std::size_t>(d - cfg_.streams.data());
            error(stream_nodes_[idx], stream_paths_[idx], "cycle of lookups: " + join(cycle, " -> "));
          }
        } else if (marks[dep] == Color::white) {
          visit(*d);
        }
      }
      stack.pop_back();
      marks[s.name] = Color::black;
    };
    for (const auto& s : cfg_.streams) marks[s.name] = Color::white;
    for (const auto& s : cfg_.streams)
      if (marks[s.name] == Color::white) visit(s);
  }

  struct PendingLookup {
    std::string stream;
    YAML::Node node;
    std::string path;
  };

  std::string file_;
  const LoadOptions& opt_;
  Config cfg_;
  std::vector<ConfigError> errors_;
  std::vector<PendingLookup> lookups_;
  std::vector<PendingLookup> all_lookups_;
  std::vector<std::string> stream_paths_;
  std::vector<YAML::Node> stream_nodes_;
};

}  // namespace

std::string ConfigError::format() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  // Last line of defence: an error message never carries a secret value.
  // (Only registered values: key/value patterns would mangle messages that
  // name the secret keys themselves.)
  return redact_registered(out);
}

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

LoadResult load_config_text(std::string_view yaml, const std::string& file_name, const LoadOptions& options) {
  return Loader(file_name, options).run(yaml);
}

LoadResult load_config(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path);
  if (!in) {
    LoadResult r;
    r.errors.push_back(ConfigError{path, 0, 0, "", "cannot read config file: " + std::string(std::strerror(errno))});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_config_text(ss.str(), path, options);
}

std::string resolve_config_path(const std::optional<std::string>& flag, const GetEnv& getenv) {
  if (flag) return *flag;
  if (auto env = getenv("PEOPLESYNC_CONFIG"); env && !env->empty()) return *env;
  return "/etc/peoplesync/config.yaml";
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Duration total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    std::int64_t n = 0;
    if (std::from_chars(text.data() + start, text.data() + i, n).ec != std::errc{}) return std::nullopt;
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(ustart, i - ustart);
    std::int64_t ms_per = 0;
    if (unit == "ms") ms_per = 1;
    else if (unit == "s") ms_per = 1000;
    else if (unit == "m") ms_per = 60'000;
    else if (unit == "h") ms_per = 3'600'000;
    else if (unit == "d") ms_per = 86'400'000;
    else return std::nullopt;
    // At most 2^40 ms (~35 years) in all: n * ms_per overflowed before
    // ("424522204320d", found by fuzz/dates.cpp).
    constexpr std::int64_t kMaxMs = std::int64_t{1} << 40;
    if (n > kMaxMs / ms_per || total.count() + n * ms_per > kMaxMs) return std::nullopt;
    total += Duration{n * ms_per};
  }
  return total;
}

}  // namespace peoplesync::config
