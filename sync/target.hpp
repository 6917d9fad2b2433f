#pragma once
// Where a stream writes: People jobs, People time logs, CRM records. A target
// owns its batching, its vendor's field names and status words, its
// per-item results and its read-back for reconcile. Every write it sends is
// stored as an outbox intent first; what People or CRM confirmed goes into
// the batch's commit (id map, outbox done) with the dead letters and parked
// records.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/result.hpp"
#include "sync/pass.hpp"

namespace peoplesync::state {
struct Commit;
struct OutboxEntry;
}  // namespace peoplesync::state

namespace peoplesync::sync {

// The id-map hash a record deleted at the source keeps when its target is
// kept (on_delete: complete): no mapping produces it, so a record restored
// at the source is written again.
inline constexpr std::string_view kDeletedHashPrefix = "deleted:";

// An in-doubt write found in the target by reading back.
struct ReadBack {
  std::int64_t intent = 0;  // the outbox row
  std::string target_id;
  std::string hash;         // the id-map hash the write was sent with
};

class Target {
 public:
  virtual ~Target() = default;

  // Before the stream reads its source: what the target must know for the
  // whole pass (CRM: the module's field types). false: a call failed (noted).
  virtual boost::asio::awaitable<bool> prepare(const config::Stream& s, StreamReport& rep);

  // Writes the mapped records of one batch (a dry run plans them). Records
  // that cannot be written go to parking or the dead letters through `c`.
  virtual boost::asio::awaitable<Step> write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                             StreamReport& rep, Shown& shown) = 0;

  // Sends what write() held back for a fuller batch (the end of a read).
  virtual boost::asio::awaitable<Step> flush(const config::Stream& s, StreamReport& rep, Shown& shown);

  // Finds the writes of in-doubt intents in the target; never one whose id
  // is in `mapped` (a target id answers for one intent only, and is added to
  // `mapped`). nullopt: a read failed (noted on rep).
  virtual boost::asio::awaitable<std::optional<std::vector<ReadBack>>> read_back(
      const config::Stream& s, const std::vector<state::OutboxEntry>& doubtful, std::set<std::string>& mapped,
      StreamReport& rep) = 0;

  // The record `key`, written as `target_id`, was deleted at the source:
  // removes it (or completes it, on_delete: complete) with its intent stored
  // first and its id-map change in `c`. Returns an error that is not
  // permanent (the stream stops); a permanent one is logged, the mapping
  // goes anyway.
  virtual boost::asio::awaitable<std::optional<connectors::CallError>> remove(const config::Stream& s,
                                                                              const std::string& key,
                                                                              const std::string& target_id,
                                                                              state::Commit& c, StreamReport& rep);
  // Dry run: what remove() would do, for the plan.
  virtual std::string remove_plan(const config::Stream& s) const;
};

}  // namespace peoplesync::sync

namespace peoplesync::sync {

// Stores the intent of one write (state "sent") before its request goes
// out; returns its outbox row.
std::int64_t store_intent(Pass& pass, const config::Stream& s, const std::string& key, std::string_view op,
                          const std::string& payload);

// A write of record w failed: permanent -> dead letter; in doubt -> the
// intent stays for reconcile and the batch goes on; otherwise the error is
// noted and the stream stops (the record is read again next time).
Step write_failed(Pass& pass, const config::Stream& s, const Work& w, const connectors::CallError& e,
                  state::Commit& c, StreamReport& rep, std::int64_t intent);

// Adds an in-doubt step's records to the batch's result.
void merge_doubt(Step& result, const Step& one);

}  // namespace peoplesync::sync
