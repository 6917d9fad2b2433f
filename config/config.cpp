#include "config/config.hpp"

#include "config/catalog.hpp"

namespace peoplesync::config {

MapValue::MapValue() = default;
MapValue::MapValue(const MapValue&) = default;
MapValue::MapValue(MapValue&&) noexcept = default;
MapValue& MapValue::operator=(const MapValue&) = default;
MapValue& MapValue::operator=(MapValue&&) noexcept = default;
MapValue::~MapValue() = default;

namespace {

void collect_lookups(const MapValue& v, std::vector<std::string>& out) {
  if (const auto* l = std::get_if<Lookup>(&v.value)) {
    out.push_back(l->stream);
  } else if (const auto* list = std::get_if<MapList>(&v.value)) {
    for (const auto& item : *list) collect_lookups(item, out);
  } else if (const auto* obj = std::get_if<MapObject>(&v.value)) {
    for (const auto& [key, item] : *obj) collect_lookups(item, out);
  }
}

void count_resolvers(const MapValue& v, int& resolves, int& lookups, int& projects) {
  if (std::holds_alternative<Resolve>(v.value)) ++resolves;
  else if (std::holds_alternative<Lookup>(v.value)) ++lookups;
  else if (std::holds_alternative<ProjectByName>(v.value)) ++projects;
  else if (const auto* list = std::get_if<MapList>(&v.value)) {
    for (const auto& item : *list) count_resolvers(item, resolves, lookups, projects);
  } else if (const auto* obj = std::get_if<MapObject>(&v.value)) {
    for (const auto& [key, item] : *obj) count_resolvers(item, resolves, lookups, projects);
  }
}

}  // namespace

std::vector<std::string> Stream::depends_on() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : map) collect_lookups(value, out);
  if (const auto* p = std::get_if<PeopleSource>(&from); p && p->of_stream) out.push_back(*p->of_stream);
  return out;
}

const Stream* Config::find_stream(const std::string& name) const {
  for (const auto& s : streams)
    if (s.name == name) return &s;
  return nullptr;
}

std::string_view to_string(DataCenter dc) { return hosts_of(dc).name; }

std::string_view to_string(Target t) {
  switch (t) {
    case Target::people_job: return "people.job";
    case Target::people_timelog: return "people.timelog";
    case Target::crm_update: return "crm.update";
  }
  return "?";
}

std::string_view to_string(OnDelete d) {
  switch (d) {
    case OnDelete::ignore: return "ignore";
    case OnDelete::complete: return "complete";
    case OnDelete::del: return "delete";
  }
  return "?";
}

std::string_view to_string(LogFormat f) { return f == LogFormat::json ? "json" : "text"; }

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    std::int64_t ms;
    const char* name;
  };
  for (const Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"},
                       Unit{1, "ms"}}) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

std::string describe(const Stream& s) {
  std::string out = s.name + ": ";
  if (const auto* c = std::get_if<CrmSource>(&s.from)) {
    out += "crm " + c->module;
    if (!c->fields.empty()) out += " (" + std::to_string(c->fields.size()) + " fields)";
    for (const auto& [field, values] : c->where) out += " where " + field + " in " + std::to_string(values.size()) + " values";
  } else if (const auto* p = std::get_if<PeopleSource>(&s.from)) {
    out += "people jobs";
    if (p->of_stream) out += " of " + *p->of_stream;
  }
  out += " -> " + std::string(to_string(s.to));
  if (s.module) out += " " + *s.module;
  out += ", " + std::to_string(s.map.size()) + " mapped fields";
  int resolves = 0, lookups = 0, projects = 0;
  for (const auto& [key, value] : s.map) count_resolvers(value, resolves, lookups, projects);
  if (resolves) out += ", " + std::to_string(resolves) + " resolve";
  if (lookups) out += ", lookup " + [&] {
    std::string names;
    for (const auto& d : s.depends_on()) names += (names.empty() ? "" : ",") + d;
    return names;
  }();
  if (projects) out += ", " + std::to_string(projects) + " project-by-name";
  if (s.status) out += ", status from " + s.status->field;
  if (std::holds_alternative<CrmSource>(s.from)) out += ", on_delete " + std::string(to_string(s.on_delete));
  if (s.poll_interval) out += ", every " + format_duration(*s.poll_interval);
  return out;
}

namespace {

std::string listen_text(const std::optional<ListenAddress>& l) {
  if (!l) return "off";
  return (l->host.find(':') != std::string::npos ? "[" + l->host + "]" : l->host) + ":" + std::to_string(l->port);
}

std::string millis_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

std::vector<std::string> restart_only_changes(const Config& running, const Config& loaded) {
  std::vector<std::string> out;
  auto differs = [&](const char* name, const std::string& was, const std::string& now) {
    if (was != now) out.push_back(std::string(name) + " (" + was + " -> " + now + ")");
  };
  differs("service.listen", listen_text(running.service.listen), listen_text(loaded.service.listen));
  differs("service.log_format", running.service.log_format == LogFormat::json ? "json" : "text",
          loaded.service.log_format == LogFormat::json ? "json" : "text");
  differs("service.log_level", running.service.log_level, loaded.service.log_level);
  differs("zoho.timeouts.connect", millis_text(running.zoho.timeouts.connect), millis_text(loaded.zoho.timeouts.connect));
  differs("zoho.timeouts.request", millis_text(running.zoho.timeouts.request), millis_text(loaded.zoho.timeouts.request));
  differs("zoho.ca_file", running.zoho.ca_file.value_or("(system)"), loaded.zoho.ca_file.value_or("(system)"));
  differs("state.path", running.state.path, loaded.state.path);
  return out;
}

}  // namespace peoplesync::config
