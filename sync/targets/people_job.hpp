#pragma once
// People jobs, written through the forms API (P_TimesheetJob): one
// insertRecord or updateRecord per job, a status change through
// modifyjobstatus. Assignees go to People as erecnos: each email or employee
// id is looked up once through People's employee records and kept in the
// state file (the reference cache, service "Zoho People", entity
// "employee"); a miss is asked again on the next pass, and an erecno People
// refuses is forgotten and looked up again.
#include <map>
#include <set>
#include <string>

#include "sync/resolution.hpp"
#include "sync/target.hpp"

namespace peoplesync::connectors {
class PeopleClient;
struct JobInput;
}  // namespace peoplesync::connectors
namespace peoplesync::state {
struct IdMapEntry;
}

namespace peoplesync::sync {

class PeopleJobTarget final : public Target {
 public:
  PeopleJobTarget(Pass& pass, connectors::PeopleClient& people, Resolution& resolution)
      : pass_(pass), people_(people), resolution_(resolution) {}

  // Forgets what the last pass learnt.
  void begin();

  boost::asio::awaitable<Step> write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                     StreamReport& rep, Shown& shown) override;
  boost::asio::awaitable<std::optional<std::vector<ReadBack>>> read_back(const config::Stream& s,
                                                                         const std::vector<state::OutboxEntry>& doubtful,
                                                                         std::set<std::string>& mapped,
                                                                         StreamReport& rep) override;
  boost::asio::awaitable<std::optional<connectors::CallError>> remove(const config::Stream& s, const std::string& key,
                                                                      const std::string& target_id, state::Commit& c,
                                                                      StreamReport& rep) override;
  std::string remove_plan(const config::Stream& s) const override;

 private:
  boost::asio::awaitable<Step> write_one(const config::Stream& s, Ready& item, state::Commit& c, StreamReport& rep,
                                         Shown& shown);
  void plan_change(const config::Stream& s, const Ready& item, const connectors::JobInput& in,
                   const std::optional<state::IdMapEntry>& existing, bool fields_change, bool status_change,
                   StreamReport& rep, Shown& shown);
  boost::asio::awaitable<Step> send_status(const config::Stream& s, Ready& item, const std::string& job_id,
                                           const std::string& hash, state::Commit& c, StreamReport& rep);
  boost::asio::awaitable<bool> resolve_assignees(const std::vector<Ready>& items, StreamReport& rep);
  std::optional<std::string> to_erecnos(connectors::JobInput& in) const;
  void forget_assignees(const connectors::JobInput& mapped);

  Pass& pass_;
  connectors::PeopleClient& people_;
  Resolution& resolution_;
  std::map<std::string, std::string> erecno_of_;  // assignee (email lowercased, or employee id) -> erecno
  std::set<std::string> employee_missing_;        // asked in this pass: People has no such employee
};

}  // namespace peoplesync::sync
