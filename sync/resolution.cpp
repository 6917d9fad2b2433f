#include "sync/resolution.hpp"

#include "common/text.hpp"
#include "connectors/people.hpp"
#include "state/store.hpp"

namespace peoplesync::sync {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::PeopleClient;

void Resolution::begin() {
  answers_.clear();
  unresolved_.clear();
  projects_loaded_ = false;
}

std::optional<std::string> Resolution::resolve(const std::string& service, const std::string& entity,
                                               const std::string& ref) {
  auto it = answers_.find({service, entity, ref});
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Resolution::lookup(const std::string& stream, const std::string& key) {
  if (auto e = pass_.store.id_map_get(stream, key)) return e->target_id;
  if (pass_.opt.dry_run && pass_.planned[stream].count(key)) return std::string("(new)");
  return std::nullopt;
}

std::optional<std::string> Resolution::project(const std::string& name) {
  auto it = project_by_name_.find(name);
  if (it == project_by_name_.end()) return std::nullopt;
  return it->second;
}

awaitable<bool> Resolution::load_projects(StreamReport& rep) {
  if (projects_loaded_) co_return true;
  project_by_name_.clear();
  completed_projects_.clear();
  for (int s_index = 0;; s_index += PeopleClient::kPageSize) {
    auto page = co_await pass_.limited(rep, [&] { return people_.get_projects(s_index, PeopleClient::kPageSize); });
    if (auto* e = std::get_if<CallError>(&page)) {
      pass_.note_error(rep, *e);
      co_return false;
    }
    auto& p = std::get<connectors::Page<connectors::PeopleProject>>(page);
    for (const auto& pr : p.items) {
      project_by_name_.emplace(pr.name, pr.id);
      if (connectors::project_completed(pr)) completed_projects_.insert(pr.id);
    }
    if (!p.more || p.items.empty()) break;
  }
  projects_loaded_ = true;
  co_return true;
}

awaitable<bool> Resolution::resolve_batch(const config::Stream& s, const std::vector<Work>& batch,
                                          StreamReport& rep) {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> wanted;
  for (const auto& w : batch)
    for (auto& need : references_of(s, w.record, pass_.ctx))
      if (!answers_.count(need) && !unresolved_.count(need))
        wanted[{need.service, need.entity}].insert(need.reference_id);
  for (auto& [se, ids_set] : wanted) {
    // Named references, not a structured binding: clang 14 (the fuzz build)
    // cannot capture those in the lambda below.
    const std::string& service = se.first;
    const std::string& entity = se.second;
    std::vector<std::string> ids(ids_set.begin(), ids_set.end());
    auto cached = pass_.store.ref_cache_get(service, entity, ids);
    std::vector<std::string> ask;
    std::map<std::string, int> attempts;
    for (const auto& id : ids) {
      auto it = cached.find(id);
      if (it != cached.end() && !it->second.people_id.empty()) {
        answers_[{service, entity, id}] = it->second.people_id;
      } else {
        ask.push_back(id);
        attempts[id] = it == cached.end() ? 0 : it->second.attempts;
      }
    }
    for (std::size_t i = 0; i < ask.size(); i += PeopleClient::kMaxReferenceIds) {
      const std::vector<std::string> chunk(
          ask.begin() + static_cast<std::ptrdiff_t>(i),
          ask.begin() + static_cast<std::ptrdiff_t>(std::min(ask.size(), i + PeopleClient::kMaxReferenceIds)));
      auto got = co_await pass_.limited(rep, [&] { return people_.record_ids_by_reference(service, entity, chunk); });
      if (auto* e = std::get_if<CallError>(&got)) {
        pass_.note_error(rep, *e);
        co_return false;
      }
      const auto& found = std::get<std::map<std::string, std::string>>(got);
      std::vector<state::RefCacheEntry> put;
      const std::int64_t now = to_unix_ms(pass_.clock.now());
      for (const auto& id : chunk) {
        auto it = found.find(id);
        const std::string people_id = it == found.end() ? "" : it->second;
        if (!people_id.empty()) answers_[{service, entity, id}] = people_id;
        else unresolved_.insert({service, entity, id});  // asked again next pass, not next batch
        put.push_back({service, entity, id, people_id, attempts[id] + 1, now});
      }
      if (!pass_.opt.dry_run) pass_.store.ref_cache_put(put);
    }
  }
  co_return true;
}

}  // namespace peoplesync::sync
