#pragma once
// People time logs, written with addupdatetimelogs: batches of at most 100
// items spanning at most 31 days, each item's result matched by the client;
// read back with gettimelogs (windows of 28 days) by user, job, date and
// hours, since real replies carry no workItem.
#include <map>
#include <string>
#include <vector>

#include "sync/target.hpp"

namespace peoplesync::connectors {
class PeopleClient;
struct PeopleTimelog;
struct TimelogInput;
}  // namespace peoplesync::connectors

namespace peoplesync::sync {

class PeopleTimelogTarget final : public Target {
 public:
  PeopleTimelogTarget(Pass& pass, connectors::PeopleClient& people) : pass_(pass), people_(people) {}

  boost::asio::awaitable<Step> write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                     StreamReport& rep, Shown& shown) override;
  boost::asio::awaitable<std::optional<std::vector<ReadBack>>> read_back(const config::Stream& s,
                                                                         const std::vector<state::OutboxEntry>& doubtful,
                                                                         std::set<std::string>& mapped,
                                                                         StreamReport& rep) override;
  boost::asio::awaitable<std::optional<connectors::CallError>> remove(const config::Stream& s, const std::string& key,
                                                                      const std::string& target_id, state::Commit& c,
                                                                      StreamReport& rep) override;

  // One item on its way into a bulk call.
  struct Item;

 private:
  boost::asio::awaitable<bool> send_batch(const config::Stream& s, std::vector<Item>& todo, std::size_t i,
                                          std::size_t j, state::Commit& c, StreamReport& rep, Step& result);
  boost::asio::awaitable<bool> fetch_logs(const std::string& user, const std::vector<state::OutboxEntry>& doubtful,
                                          std::vector<connectors::PeopleTimelog>& out, StreamReport& rep);

  Pass& pass_;
  connectors::PeopleClient& people_;
};

}  // namespace peoplesync::sync
