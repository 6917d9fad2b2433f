#pragma once
// The typed, immutable configuration of peoplesync (PRODUCT.md "Config").
// Built only by load_config() (config/loader.hpp), which validates everything
// and fills every default; nothing reads raw YAML after start-up.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/template.hpp"

namespace peoplesync::config {

using Duration = std::chrono::milliseconds;

// Where a value came from in the YAML file (1-based, for messages).
struct Mark {
  int line = 0;
  int column = 0;
};

// A secret value. It has no operator<< and no formatter on purpose: print
// `source` (where it came from), never `value`.
struct Secret {
  std::string value;
  std::string source;  // e.g. "zoho.refresh_token_file /etc/peoplesync/refresh_token"
  bool empty() const { return value.empty(); }
};

enum class DataCenter { com, eu, in, com_au, jp, ca, sa, com_cn };

struct Timeouts {
  Duration connect{std::chrono::seconds{10}};
  Duration request{std::chrono::seconds{60}};
};

struct Zoho {
  DataCenter data_center = DataCenter::com;
  std::string accounts_url;  // no trailing slash
  std::string crm_url;
  std::string people_url;
  std::string client_id;
  Secret client_secret;
  Secret refresh_token;
  std::optional<std::string> refresh_token_file;  // where `auth --code` stores a new one
  std::optional<std::string> ca_file;
  Timeouts timeouts;
};

struct PeopleConfig {
  // The organisation's company date format (People > Settings): the forms API
  // reads job dates only in it (it has no dateFormat parameter).
  std::string date_format = "dd-MMM-yyyy";
};

struct StateConfig {
  std::string path = "/var/lib/peoplesync/state.db";
};

enum class LogFormat { text, json };

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
  std::uint16_t port = 0;
};

struct Service {
  Duration poll_interval{std::chrono::minutes{5}};
  std::optional<ListenAddress> listen;  // nullopt when "off"
  LogFormat log_format = LogFormat::text;
  std::string log_level = "info";
  int timezone_offset_minutes = 0;  // used by the |date filter
};

// The shaping parameters of one endpoint's bucket. Every known endpoint has
// an entry after loading (documented defaults, then the file's overrides).
struct Limit {
  int per_minute = 0;             // 0 = no per-minute threshold
  Duration lock{std::chrono::minutes{5}};
  int concurrency = 0;            // 0 = unbounded (People); CRM default 10
  std::int64_t daily_credits = 0; // CRM: credits per rolling 24 h; 0 = untracked
  std::int64_t daily_calls = 0;   // People: calls per rolling 24 h; 0 = untracked
};

// --- streams

struct CrmSource {
  std::string module;                 // "Deals", "Calls", any custom module
  std::vector<std::string> fields;    // empty = all
  // field -> accepted values; a record passes when every field matches one value
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
};

enum class PeopleEntity { jobs, projects };

struct PeopleSource {
  PeopleEntity entity = PeopleEntity::jobs;
  std::optional<std::string> of_stream;  // jobs written by that stream
};

using Source = std::variant<CrmSource, PeopleSource>;

enum class Target { people_job, people_timelog, crm_update };

struct Resolve {
  std::string service;  // "Zoho Projects", "Zoho CRM", "Zoho Books", "Zoho Invoice"
  std::string entity;   // "client", "project", "job", "timelog"
  Template ref;
};

struct Lookup {
  std::string stream;
  Template key;
};

struct ProjectByName {
  Template name;
};

struct MapValue;
using MapList = std::vector<MapValue>;
using MapObject = std::vector<std::pair<std::string, MapValue>>;

// One mapped value: a template, a resolver, or a list / object of values.
struct MapValue {
  std::variant<Template, Resolve, Lookup, ProjectByName, MapList, MapObject> value;
  Mark mark;

  // Declared here, defaulted in config.cpp: MapValue contains itself (through
  // MapObject's pairs), and clang with libstdc++ rejects the implicit ones
  // (pair<string, MapValue> is instantiated while MapValue's are checked).
  MapValue();
  MapValue(const MapValue&);
  MapValue(MapValue&&) noexcept;
  MapValue& operator=(const MapValue&);
  MapValue& operator=(MapValue&&) noexcept;
  ~MapValue();
};

struct StatusMapping {
  std::string field;                    // source field holding the status
  std::vector<std::string> completed;   // values that mean "Completed"
};

enum class OnDelete { ignore, complete, del };

struct Stream {
  std::string name;
  Mark mark;
  Source from;
  Target to = Target::people_job;
  std::optional<std::string> module;  // crm.update target module
  std::vector<std::pair<std::string, MapValue>> map;  // in file order
  std::optional<StatusMapping> status;
  OnDelete on_delete = OnDelete::ignore;
  std::optional<Duration> poll_interval;  // overrides service.poll_interval

  // Streams whose id map or jobs this stream needs (lookups and of_stream).
  std::vector<std::string> depends_on() const;
};

struct Config {
  std::string file;  // the path it was loaded from
  Zoho zoho;
  PeopleConfig people;
  StateConfig state;
  Service service;
  std::map<std::string, Limit> limits;  // endpoint -> limit, every known endpoint
  std::vector<Stream> streams;

  const Stream* find_stream(const std::string& name) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

std::string_view to_string(DataCenter dc);
std::string_view to_string(Target t);
std::string_view to_string(OnDelete d);
std::string_view to_string(LogFormat f);
// "5m", "1h30m", "250ms", "10s"
std::string format_duration(Duration d);
// One line describing a stream for `peoplesync check`.
std::string describe(const Stream& s);

// The settings a running daemon cannot take from a reloaded config (SIGHUP):
// the health server's address, log format and level, connection timeouts,
// the CA file and the state file are fixed when it starts. One line per
// setting that differs between `running` and `loaded`, e.g.
// "service.listen (127.0.0.1:9464 -> 0.0.0.0:9464)"; empty when none does.
std::vector<std::string> restart_only_changes(const Config& running, const Config& loaded);

}  // namespace peoplesync::config
