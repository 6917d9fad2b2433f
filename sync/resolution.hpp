#pragma once
// The answers a mapping needs from People, once per pass: foreign ids
// through getRecordIdsByReferenceIds (the state's cache first, then one call
// per <= 200 ids per service and entity), the id map of other streams
// (lookup), and People's projects (by name, and which are completed).
#include <boost/asio/awaitable.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/mapper.hpp"
#include "sync/pass.hpp"

namespace peoplesync::connectors {
class PeopleClient;
}

namespace peoplesync::sync {

class Resolution final : public Resolvers {
 public:
  Resolution(Pass& pass, connectors::PeopleClient& people) : pass_(pass), people_(people) {}

  // Forgets what the last pass learnt.
  void begin();

  std::optional<std::string> resolve(const std::string& service, const std::string& entity,
                                     const std::string& ref) override;
  std::optional<std::string> lookup(const std::string& stream, const std::string& key) override;
  std::optional<std::string> project(const std::string& name) override;

  // Resolves the references of a batch; false: a call failed (noted on rep).
  boost::asio::awaitable<bool> resolve_batch(const config::Stream& s, const std::vector<Work>& batch,
                                             StreamReport& rep);
  // Reads People's projects, once per pass; false: a call failed.
  boost::asio::awaitable<bool> load_projects(StreamReport& rep);
  bool project_completed(const std::string& id) const { return completed_projects_.count(id) > 0; }

 private:
  Pass& pass_;
  connectors::PeopleClient& people_;
  std::map<ReferenceNeed, std::string> answers_;  // resolved (non-empty) answers
  std::set<ReferenceNeed> unresolved_;            // asked in this pass, not synced by Zoho yet
  bool projects_loaded_ = false;
  std::map<std::string, std::string> project_by_name_;  // name -> id
  std::set<std::string> completed_projects_;             // ids
};

}  // namespace peoplesync::sync
