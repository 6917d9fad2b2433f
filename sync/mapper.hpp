#pragma once
// Turns one source record into the target fields of its stream: the `map`
// templates and resolvers of the config, the `where` filter and the `status`
// mapping. Resolution itself (People calls, the id map) is behind the
// Resolvers interface, so this file is pure and testable without a network.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/value.hpp"
#include "config/config.hpp"
#include "sync/mapping.hpp"

namespace peoplesync::sync {

// Answers the resolvers of a `map` during evaluation. nullopt means "not
// known (yet)": the record waits and is tried again, it is never written with
// an empty id.
class Resolvers {
 public:
  virtual ~Resolvers() = default;
  virtual std::optional<std::string> resolve(const std::string& service, const std::string& entity,
                                             const std::string& reference_id) = 0;
  virtual std::optional<std::string> lookup(const std::string& stream, const std::string& key) = 0;
  virtual std::optional<std::string> project(const std::string& name) = 0;
};

struct MapFailure {
  enum class Kind {
    invalid,  // the record cannot be mapped as it is (missing field, bad value): dead letter
    waiting,  // a reference or lookup is not available yet: park and retry later
  };
  Kind kind = Kind::invalid;
  std::string reason;
};

struct Mapped {
  Value fields;                       // an object: target field -> string / list / object
  std::optional<std::string> status;  // people.job with `status:`: "Completed" or "In-Progress"
  std::string hash;                   // of fields and status: equal hash = nothing to write
};

// One reference a record needs resolved (collected for a whole batch first).
struct ReferenceNeed {
  std::string service, entity, reference_id;
  bool operator<(const ReferenceNeed& o) const {
    return std::tie(service, entity, reference_id) < std::tie(o.service, o.entity, o.reference_id);
  }
};

// Does the record pass the stream's `where` filter (every field one of its values)?
bool passes_where(const config::Stream& s, const Value& record);

// The references of `resolve:` values a record needs; templates that cannot
// be rendered are skipped here (map_record reports them).
std::vector<ReferenceNeed> references_of(const config::Stream& s, const Value& record, const TemplateContext& ctx);

std::variant<Mapped, MapFailure> map_record(const config::Stream& s, const Value& record, const TemplateContext& ctx,
                                            Resolvers& resolvers);

// Source fields a CRM stream must ask for: the configured `fields`, plus
// every field its templates, `where` and `status` read (top-level names).
// Empty when the stream asks for all fields.
std::vector<std::string> needed_fields(const config::Stream& s);

// Every source field a CRM stream names (its `fields`, templates, `where`,
// `status`; top-level names), whether or not it asks for all fields.
std::vector<std::string> named_fields(const config::Stream& s);

// Canonical compact JSON of a Value (object keys sorted), and a stable hash.
std::string to_json(const Value& v);
std::string stable_hash(std::string_view text);

}  // namespace peoplesync::sync
