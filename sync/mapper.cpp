#include "sync/mapper.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/json.hpp"

namespace peoplesync::sync {
namespace {

using config::MapValue;

struct Evaluator {
  const config::Stream& stream;
  const Value& record;
  const TemplateContext& ctx;
  Resolvers& resolvers;
  std::optional<MapFailure> failure;

  std::optional<std::string> text(const config::Template& t, const std::string& where) {
    auto r = render(t, record, ctx);
    if (auto* e = std::get_if<MappingError>(&r)) {
      failure = MapFailure{MapFailure::Kind::invalid, where + ": " + e->reason};
      return std::nullopt;
    }
    return std::get<std::string>(std::move(r));
  }

  std::optional<Value> eval(const MapValue& mv, const std::string& where) {
    return std::visit(
        [&](const auto& v) -> std::optional<Value> {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, config::Template>) {
            auto s = text(v, where);
            if (!s) return std::nullopt;
            return Value::string(std::move(*s));
          } else if constexpr (std::is_same_v<T, config::Resolve>) {
            auto ref = text(v.ref, where);
            if (!ref) return std::nullopt;
            if (ref->empty()) {
              failure = MapFailure{MapFailure::Kind::invalid, where + ": the reference id is empty"};
              return std::nullopt;
            }
            auto id = resolvers.resolve(v.service, v.entity, *ref);
            if (!id) {
              failure = MapFailure{MapFailure::Kind::waiting, where + ": " + v.service + " " + v.entity + " " + *ref +
                                                                  " is not in People yet (Zoho has not synced it)"};
              return std::nullopt;
            }
            return Value::string(std::move(*id));
          } else if constexpr (std::is_same_v<T, config::Lookup>) {
            auto key = text(v.key, where);
            if (!key) return std::nullopt;
            auto id = resolvers.lookup(v.stream, *key);
            if (!id) {
              failure = MapFailure{MapFailure::Kind::waiting,
                                   where + ": stream " + v.stream + " has no People id for " + *key + " yet"};
              return std::nullopt;
            }
            return Value::string(std::move(*id));
          } else if constexpr (std::is_same_v<T, config::ProjectByName>) {
            auto name = text(v.name, where);
            if (!name) return std::nullopt;
            auto id = resolvers.project(*name);
            if (!id) {
              failure = MapFailure{MapFailure::Kind::waiting, where + ": no People project named '" + *name + "'"};
              return std::nullopt;
            }
            return Value::string(std::move(*id));
          } else if constexpr (std::is_same_v<T, config::MapList>) {
            Value::Array out;
            for (std::size_t i = 0; i < v.size(); ++i) {
              auto item = eval(v[i], where + "[" + std::to_string(i) + "]");
              if (!item) return std::nullopt;
              out.push_back(std::move(*item));
            }
            return Value::array(std::move(out));
          } else {
            Value::Object out;
            for (const auto& [k, item] : v) {
              auto x = eval(item, where + "." + k);
              if (!x) return std::nullopt;
              out.emplace(k, std::move(*x));
            }
            return Value::object(std::move(out));
          }
        },
        mv.value);
  }
};

void collect_refs(const MapValue& mv, const Value& record, const TemplateContext& ctx,
                  std::vector<ReferenceNeed>& out) {
  if (const auto* r = std::get_if<config::Resolve>(&mv.value)) {
    auto ref = render(r->ref, record, ctx);
    if (auto* s = std::get_if<std::string>(&ref); s && !s->empty()) out.push_back({r->service, r->entity, *s});
  } else if (const auto* l = std::get_if<config::MapList>(&mv.value)) {
    for (const auto& x : *l) collect_refs(x, record, ctx, out);
  } else if (const auto* o = std::get_if<config::MapObject>(&mv.value)) {
    for (const auto& [k, x] : *o) collect_refs(x, record, ctx, out);
  }
}

void collect_fields(const config::Template& t, std::set<std::string>& out) {
  for (const auto* f : t.fields())
    if (!f->path.empty()) out.insert(f->path.front());
}

void collect_fields(const MapValue& mv, std::set<std::string>& out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, config::Template>) collect_fields(v, out);
        else if constexpr (std::is_same_v<T, config::Resolve>) collect_fields(v.ref, out);
        else if constexpr (std::is_same_v<T, config::Lookup>) collect_fields(v.key, out);
        else if constexpr (std::is_same_v<T, config::ProjectByName>) collect_fields(v.name, out);
        else if constexpr (std::is_same_v<T, config::MapList>) {
          for (const auto& x : v) collect_fields(x, out);
        } else {
          for (const auto& [k, x] : v) collect_fields(x, out);
        }
      },
      mv.value);
}

void write_value(json::Writer& w, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::null: w.null(); break;
    case Value::Kind::boolean: w.value(v.text() == "true"); break;
    case Value::Kind::number: w.value(v.text()); break;  // kept as text: ids exceed double precision
    case Value::Kind::string: w.value(v.text()); break;
    case Value::Kind::array:
      w.begin_array();
      for (const auto& x : *v.as_array()) write_value(w, x);
      w.end_array();
      break;
    case Value::Kind::object:
      w.begin_object();
      for (const auto& [k, x] : *v.as_object()) {  // std::map: keys sorted
        w.key(k);
        write_value(w, x);
      }
      w.end_object();
      break;
  }
}

}  // namespace

bool passes_where(const config::Stream& s, const Value& record) {
  const auto* crm = std::get_if<config::CrmSource>(&s.from);
  if (!crm) return true;
  for (const auto& [field, accepted] : crm->where) {
    const Value* v = record.get(field);
    if (!v || !v->is_scalar()) return false;
    if (std::find(accepted.begin(), accepted.end(), v->text()) == accepted.end()) return false;
  }
  return true;
}

std::vector<ReferenceNeed> references_of(const config::Stream& s, const Value& record, const TemplateContext& ctx) {
  std::vector<ReferenceNeed> out;
  for (const auto& [k, mv] : s.map) collect_refs(mv, record, ctx, out);
  return out;
}

std::variant<Mapped, MapFailure> map_record(const config::Stream& s, const Value& record, const TemplateContext& ctx,
                                            Resolvers& resolvers) {
  Evaluator ev{s, record, ctx, resolvers, std::nullopt};
  Value::Object fields;
  for (const auto& [target, mv] : s.map) {
    auto v = ev.eval(mv, target);
    if (!v) return *ev.failure;
    fields.emplace(target, std::move(*v));
  }
  Mapped m;
  m.fields = Value::object(std::move(fields));
  if (s.status) {
    const Value* v = record.get(s.status->field);
    const std::string text = v && v->is_scalar() ? v->text() : "";
    const bool done =
        std::find(s.status->completed.begin(), s.status->completed.end(), text) != s.status->completed.end();
    m.status = done ? "Completed" : "In-Progress";
  }
  m.hash = stable_hash(to_json(m.fields) + "|" + m.status.value_or(""));
  return m;
}

std::vector<std::string> named_fields(const config::Stream& s) {
  const auto* crm = std::get_if<config::CrmSource>(&s.from);
  if (!crm) return {};
  std::set<std::string> names(crm->fields.begin(), crm->fields.end());
  for (const auto& [k, mv] : s.map) collect_fields(mv, names);
  for (const auto& [field, values] : crm->where) names.insert(field);
  if (s.status) names.insert(s.status->field);
  names.erase("id");  // always sent by CRM
  names.insert("Modified_Time");
  return {names.begin(), names.end()};
}

std::vector<std::string> needed_fields(const config::Stream& s) {
  const auto* crm = std::get_if<config::CrmSource>(&s.from);
  if (!crm || crm->fields.empty()) return {};
  return named_fields(s);
}

std::string to_json(const Value& v) {
  json::Writer w;
  write_value(w, v);
  return w.str();
}

std::string stable_hash(std::string_view text) {
  // FNV-1a, 64 bits: stable across runs and builds (std::hash is not).
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace peoplesync::sync
